"""PrivateEndpointSecret and SecretProviderClass (lib/azure): Key Vault secrets as files."""

from __future__ import annotations

import pytest
import yaml
from construct_helpers import new_chart, services, synth

from tripgen_cdk8s.lib.azure import (
    CLIENT_ID_ANNOTATION,
    WORKLOAD_IDENTITY_LABEL,
    KeyVaultAccess,
    PrivateEndpointSecret,
    PrivateEndpointSecretProps,
    SecretProviderClass,
)
from tripgen_cdk8s.lib.constructs.connections import Rule
from tripgen_cdk8s.lib.model import IpBlock

CLIENT = "11111111-2222-3333-4444-555555555555"
TENANT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
ACCESS = KeyVaultAccess("kv-demo", TENANT, CLIENT)
SUBNET = IpBlock("10.0.2.0/24", description="postgres private endpoint")


def secret(scope, svc, alias, **kw):
    return PrivateEndpointSecret(scope, alias, PrivateEndpointSecretProps(workload=svc, alias=alias, **kw))


def objects_of(spc_obj):
    doc = yaml.safe_load(spc_obj["spec"]["parameters"]["objects"])
    return [yaml.safe_load(item) for item in doc["array"]]


def test_key_vault_objects_go_to_one_secret_provider_class_per_workload():
    chart = new_chart()
    service = services(chart)
    web, api = service("web", writable_paths=()), service("api")
    secret(chart, web, "DB_PASSWORD", key_vault=ACCESS, object_name="web-db")
    secret(chart, web, "JWT_KEY", key_vault=ACCESS, object_name="jwt")
    secret(chart, api, "API_KEY", key_vault=ACCESS, object_name="api-key")
    spc = SecretProviderClass.of(web, ACCESS)
    assert spc.objects == [("web-db", "DB_PASSWORD"), ("jwt", "JWT_KEY")]
    objs = synth(chart)
    assert [name for kind, name in objs if kind == "SecretProviderClass"] == ["web-secrets", "api-secrets"]
    obj = objs[("SecretProviderClass", "web-secrets")]
    assert obj["apiVersion"] == "secrets-store.csi.x-k8s.io/v1" and obj["metadata"]["namespace"] == "ns"
    params = obj["spec"]["parameters"]
    assert obj["spec"]["provider"] == "azure"
    assert (params["keyvaultName"], params["tenantId"], params["clientID"]) == ("kv-demo", TENANT, CLIENT)
    assert (params["usePodIdentity"], params["useVMManagedIdentity"]) == ("false", "false")
    assert objects_of(obj) == [{"objectName": "web-db", "objectType": "secret", "objectAlias": "DB_PASSWORD"},
                               {"objectName": "jwt", "objectType": "secret", "objectAlias": "JWT_KEY"}]
    assert objects_of(objs[("SecretProviderClass", "api-secrets")]) == [
        {"objectName": "api-key", "objectType": "secret", "objectAlias": "API_KEY"}]


def test_workload_identity_label_annotation_and_csi_volume():
    chart = new_chart()
    service = services(chart)
    svc = service(writable_paths=())
    secret(chart, svc, "P", key_vault=ACCESS, object_name="p")
    objs = synth(chart)
    assert objs[("ServiceAccount", "demo-sa")]["metadata"]["annotations"] == {CLIENT_ID_ANNOTATION: CLIENT}
    pod = objs[("Deployment", "demo")]["spec"]["template"]
    assert pod["metadata"]["labels"][WORKLOAD_IDENTITY_LABEL] == "true"
    assert pod["spec"]["volumes"] == [{"name": "secrets", "csi": {
        "driver": "secrets-store.csi.k8s.io", "readOnly": True,
        "volumeAttributes": {"secretProviderClass": "demo-secrets"}}}]
    assert pod["spec"]["containers"][0]["volumeMounts"] == [
        {"name": "secrets", "mountPath": "/mnt/secrets", "readOnly": True}]
    assert svc.secret_source == "SecretProviderClass demo-secrets"


def test_workload_identity_values_bindings_and_description():
    chart = new_chart()
    service = services(chart)
    svc = service()
    secret(chart, svc, "P", key_vault=ACCESS, object_name="p")
    synth(chart)
    params = chart.values.params
    assert params["workloadIdentity.clientId"].default == CLIENT
    assert params["workloadIdentity.tenantId"].default == TENANT
    assert params["workloadIdentity.clientId"].schema["pattern"].startswith("^([0-9a-f]{8}")
    assert "workloadIdentity" in chart.values.groups
    spc = {b.path: b.template for b in chart.values.bindings[("SecretProviderClass", "demo-secrets")]}
    assert spc == {("spec", "parameters", "clientID"): "{{ .Values.workloadIdentity.clientId | quote }}",
                   ("spec", "parameters", "tenantId"): "{{ .Values.workloadIdentity.tenantId | quote }}"}
    [sa] = chart.values.bindings[("ServiceAccount", "demo-sa")]
    assert sa.path == ("metadata", "annotations", CLIENT_ID_ANNOTATION)


def test_existing_secret_mode_mounts_the_secret_without_key_vault():
    chart = new_chart()
    service = services(chart)
    svc = service(writable_paths=())
    secret(chart, svc, "DB_PASSWORD", existing_secret="db-credentials", existing_secret_key="password")
    objs = synth(chart)
    assert not any(kind == "SecretProviderClass" for kind, _ in objs)
    pod = objs[("Deployment", "demo")]["spec"]["template"]
    assert WORKLOAD_IDENTITY_LABEL not in pod["metadata"]["labels"]
    assert pod["spec"]["volumes"][0]["secret"]["secretName"] == "db-credentials"
    assert pod["spec"]["volumes"][0]["secret"]["items"] == [{"key": "password", "path": "DB_PASSWORD"}]
    assert "workloadIdentity.clientId" not in chart.values.params


def test_key_vault_and_an_existing_secret_cannot_be_mixed_on_one_workload():
    chart = new_chart()
    service = services(chart)
    svc = service()
    secret(chart, svc, "A", key_vault=ACCESS, object_name="a")
    with pytest.raises(ValueError, match="secret_files: invalid value 'Secret .*; one source per service"):
        secret(chart, svc, "B", existing_secret="s", existing_secret_key="k")


def test_the_endpoint_becomes_egress_and_settings_go_to_the_config_map():
    chart = new_chart()
    service = services(chart)
    svc = service()
    secret(chart, svc, "DB_PASSWORD", key_vault=ACCESS, object_name="db", endpoint=SUBNET, ports=(5432,),
           settings={"DB_HOST": "pg.example.com", "DB_PORT": "5432"})
    assert svc.connections.egress == [Rule(SUBNET, (5432,))]
    data = synth(chart)[("ConfigMap", "demo-config")]["data"]
    assert data == {"DB_HOST": "pg.example.com", "DB_PORT": "5432"}  # the password is a file, never config


def test_an_endpoint_without_ports_is_refused():
    chart = new_chart()
    service = services(chart)
    with pytest.raises(ValueError, match="needs ports"):
        secret(chart, service(), "P", key_vault=ACCESS, object_name="p", endpoint=SUBNET)


def test_a_duplicate_alias_is_refused():
    chart = new_chart()
    service = services(chart)
    svc = service()
    secret(chart, svc, "P", key_vault=ACCESS, object_name="one")
    with pytest.raises(ValueError, match="secret alias P used twice"):
        PrivateEndpointSecret(chart, "again", PrivateEndpointSecretProps(svc, "P", key_vault=ACCESS, object_name="two"))


def test_a_second_key_vault_access_on_one_workload_is_refused():
    chart = new_chart()
    service = services(chart)
    svc = service()
    secret(chart, svc, "A", key_vault=ACCESS, object_name="a")
    with pytest.raises(ValueError, match="one Key Vault access per workload"):
        secret(chart, svc, "B", key_vault=KeyVaultAccess("kv-other", TENANT, CLIENT), object_name="b")


@pytest.mark.parametrize("kw", [
    {"key_vault": ACCESS},
    {"key_vault": ACCESS, "object_name": "x", "existing_secret": "s"},
    {},
    {"existing_secret": "s"},
    {"existing_secret_key": "k"},
])
def test_an_incomplete_source_is_refused(kw):
    chart = new_chart()
    service = services(chart)
    with pytest.raises(ValueError, match="needs"):
        secret(chart, service(), "P", **kw)


def test_objects_parameter_is_yaml_so_names_cannot_inject_keys():
    chart = new_chart()
    service = services(chart)
    svc = service()
    secret(chart, svc, "A", key_vault=ACCESS, object_name="evil\nobjectType: cert")
    spc = SecretProviderClass.of(svc, ACCESS)
    [obj] = [yaml.safe_load(i) for i in yaml.safe_load(spc.objects_parameter())["array"]]
    assert obj == {"objectName": "evil\nobjectType: cert", "objectType": "secret", "objectAlias": "A"}
