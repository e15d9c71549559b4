"""Each construct alone, in a bare cdk8s app: what it emits and what it refuses."""

from __future__ import annotations

import cdk8s
import pytest

from tripgen_cdk8s.tripgen.config import (
    HorizontalScaling,
    Image,
    KeyVaultSecret,
    PrivateEndpointStore,
    QueueScaling,
    ResourceAmounts,
    Resources,
    StoreAttachment,
)
from tripgen_cdk8s.lib.constructs import (
    AutoscaledService,
    AutoscaledServiceProps,
    KeyVaultAccess,
    MicroService,
    MicroServiceProps,
    PrivateEndpointSecret,
    PrivateEndpointSecretProps,
    ServiceNetworkPolicy,
    ZoneSpreadPolicy,
    ZoneSpreadPolicyProps,
)
from tripgen_cdk8s.lib.errors import ConfigError
from tripgen_cdk8s.lib.helmchart import HelmChart

RES = Resources(ResourceAmounts("200m", "512Mi"), ResourceAmounts("1", "1Gi", "1Gi"))
IMAGE = Image("registry.example.io", "demo", "v1.0.0")


def chart(name: str = "demo") -> HelmChart:
    return HelmChart(cdk8s.Testing.app(), name, namespace="ns", chart_version="0.1.0", app_version="v1.0.0",
                     description="demo")


def service(c: HelmChart, name: str = "demo", **kw) -> MicroService:
    return MicroService(c, name, MicroServiceProps(name=name, namespace="ns", image=IMAGE, resources=RES, **kw))


def by_kind(c: HelmChart) -> dict[str, dict]:
    c.finalize()
    return {o["kind"]: o for o in c.to_json()}


def test_microservice_emits_its_four_objects_with_fixed_replicas():
    c = chart()
    service(c, replicas=2, config={"A": "1"})
    objs = by_kind(c)
    assert set(objs) == {"ServiceAccount", "ConfigMap", "Deployment", "Service"}
    assert objs["Deployment"]["spec"]["replicas"] == 2
    assert objs["ConfigMap"]["data"] == {"A": "1"}
    assert objs["ServiceAccount"]["automountServiceAccountToken"] is False
    assert "replicaCount" in c.values.params


def test_add_config_updates_the_checksum_so_pods_roll():
    c = chart()
    svc = service(c)
    before = by_kind(c)["Deployment"]["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    svc.add_config("NEW", "value")
    after = by_kind(c)["Deployment"]["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    assert before != after and after == svc.config_checksum()
    with pytest.raises(ValueError):
        svc.add_config("NEW", "other")


def test_autoscaled_service_drops_replicas_and_emits_hpa_and_pdb():
    c = chart()
    svc = service(c, replicas=3)
    AutoscaledService(c, "scale", AutoscaledServiceProps(
        service=svc, scaling=HorizontalScaling(3, 10, 70, 80), min_available=2))
    objs = by_kind(c)
    assert "replicas" not in objs["Deployment"]["spec"]
    assert "replicaCount" not in c.values.params
    assert objs["HorizontalPodAutoscaler"]["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    assert objs["PodDisruptionBudget"]["spec"]["minAvailable"] == 2


def test_autoscaled_service_refuses_a_pdb_that_blocks_drains():
    c = chart()
    with pytest.raises(ConfigError, match="below the minimum replicas"):
        AutoscaledService(c, "scale", AutoscaledServiceProps(
            service=service(c), scaling=HorizontalScaling(2, 5, 70, 80), min_available=2))


def test_autoscaled_service_refuses_a_second_scaler():
    c = chart()
    svc = service(c)
    AutoscaledService(c, "hpa", AutoscaledServiceProps(service=svc, scaling=HorizontalScaling(2, 5, 70, 80),
                                                       min_available=1))
    with pytest.raises(ConfigError, match="exactly one scaler"):
        AutoscaledService(c, "keda", AutoscaledServiceProps(
            service=svc, scaling=QueueScaling(2, 8, 80, 85, "sb", "q", 10), min_available=1))


def test_keda_scaling_emits_scaled_object_and_trigger_authentication_only():
    c = chart()
    AutoscaledService(c, "keda", AutoscaledServiceProps(
        service=service(c), scaling=QueueScaling(2, 8, 80, 85, "sb-x", "q", 10), min_available=1))
    objs = by_kind(c)
    assert "HorizontalPodAutoscaler" not in objs
    assert objs["ScaledObject"]["spec"]["triggers"][2]["metadata"]["queueName"] == "q"
    assert objs["TriggerAuthentication"]["spec"] == {"podIdentity": {"provider": "azure-workload"}}


def test_zone_spread_policy_is_applied_to_a_workload():
    c = chart()
    svc = service(c)
    policy = ZoneSpreadPolicy(c, "spread", ZoneSpreadPolicyProps(node_pool="pool-x"))
    assert "topologySpreadConstraints" not in by_kind(c)["Deployment"]["spec"]["template"]["spec"]
    policy.apply(svc)
    spec = by_kind(c)["Deployment"]["spec"]["template"]["spec"]
    assert [t["topologyKey"] for t in spec["topologySpreadConstraints"]] == [
        "topology.kubernetes.io/zone", "kubernetes.io/hostname"]
    assert spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == ["pool-x"]
    assert policy.workloads == [svc]


def test_private_endpoint_secret_wires_store_secret_config_and_egress():
    c = chart()
    svc = service(c)
    access = KeyVaultAccess("kv-x", "", "")
    store = PrivateEndpointStore("pg", "postgresql", "pg.example.com", 5432, True, "10.0.2.0/24", "{service}-db")
    PrivateEndpointSecret(c, "pg", PrivateEndpointSecretProps(
        service=svc, access=access, store=store,
        attachment=StoreAttachment("pg", "DB_PASSWORD", database="db", username="u")))
    PrivateEndpointSecret(c, "jwt", PrivateEndpointSecretProps(
        service=svc, access=access, secret=KeyVaultSecret("jwt-key", "JWT_SECRET")))
    objs = by_kind(c)
    params = objs["SecretProviderClass"]["spec"]["parameters"]
    assert "objectName: demo-db" in params["objects"] and "objectAlias: JWT_SECRET" in params["objects"]
    assert objs["ConfigMap"]["data"]["DB_HOST"] == "pg.example.com"
    assert "DB_PASSWORD" not in objs["ConfigMap"]["data"]
    assert svc.egress_rules == [("pg private endpoint", "10.0.2.0/24", (5432,))]
    pod = objs["Deployment"]["spec"]["template"]
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert sum(1 for v in pod["spec"]["volumes"] if "csi" in v) == 1


def test_network_intent_becomes_mirrored_policies():
    c1, c2 = chart("a"), chart("b")
    a, b = service(c1, "a"), service(c2, "b")
    a.allow_to(b)
    pa = ServiceNetworkPolicy(c1, "np", a, external_https=True).policy
    pb = ServiceNetworkPolicy(c2, "np", b, external_https=False).policy
    sa, sb = pa.to_json()["spec"], pb.to_json()["spec"]
    assert sa["egress"][0]["to"][0]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "b"}
    assert sa["egress"][-1]["ports"] == [{"protocol": "TCP", "port": 443}]
    assert sb["ingress"][0]["from"][0]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "a"}
    assert "egress" not in sb
    assert a.config["B_URL"] == "http://b.ns.svc.cluster.local:8080"
    with pytest.raises(ValueError):
        a.allow_to(a)


def test_manifest_json_equals_the_l1_manifest_of_the_same_struct():
    from cdk8s_plus_29 import k8s

    from tripgen_cdk8s.lib.constructs.microservice import int_ref, manifest_json, port_ref

    spec = k8s.DeploymentSpec(
        replicas=2,
        selector=k8s.LabelSelector(match_labels={"a": "b"}),
        strategy=k8s.DeploymentStrategy(type="RollingUpdate", rolling_update=k8s.RollingUpdateDeployment(
            max_surge=int_ref(1), max_unavailable=k8s.IntOrString.from_string("25%"))),
        template=k8s.PodTemplateSpec(metadata=k8s.ObjectMeta(labels={"a": "b"}), spec=k8s.PodSpec(containers=[
            k8s.Container(name="c", image="i", ports=[k8s.ContainerPort(name="http", container_port=8080)],
                          readiness_probe=k8s.Probe(http_get=k8s.HttpGetAction(path="/", port=port_ref("http"))),
                          resources=k8s.ResourceRequirements(requests={"cpu": k8s.Quantity.from_string("200m")}))])),
    )
    assert manifest_json(spec) == k8s.KubeDeployment.manifest(spec=spec)["spec"]
