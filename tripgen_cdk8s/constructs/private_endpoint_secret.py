"""PrivateEndpointSecret: a Key Vault-backed credential (and optionally a private-endpoint store)
attached to a MicroService through the Secrets Store CSI driver (TRIPGEN.md section 7)."""

from __future__ import annotations

from dataclasses import dataclass

import cdk8s
import constructs
import yaml

from ..config import KeyVaultSecret, PrivateEndpointStore, SecretKeyRef, StoreAttachment, key_vault_object_name
from ..helmchart import HelmChart
from .microservice import SECRETS_MOUNT, MicroService

CSI_DRIVER = "secrets-store.csi.k8s.io"
WORKLOAD_IDENTITY_LABEL = "azure.workload.identity/use"
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"


class _ParameterDumper(yaml.SafeDumper):
    """Indented sequences and literal blocks for multi-line strings: the layout the Azure provider's
    documentation uses for the ``objects`` parameter."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


_ParameterDumper.add_representer(
    str, lambda d, data: d.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None))


@dataclass(frozen=True)
class KeyVaultAccess:
    """The Key Vault a service reads and the workload identity it reads it with."""

    key_vault_name: str
    tenant_id: str
    client_id: str


class SecretProviderClass(constructs.Construct):
    """The one ``SecretProviderClass`` ``<service>-secrets`` of a service, its CSI volume at
    ``/mnt/secrets`` and its workload identity.  Created on first use by
    :class:`PrivateEndpointSecret`; every attachment adds Key Vault objects to it."""

    def __init__(self, scope: constructs.Construct, id: str, service: MicroService, access: KeyVaultAccess) -> None:
        super().__init__(scope, id)
        self.service = service
        self.access = access
        self.name = f"{service.name}-secrets"
        self.objects: list[tuple[str, str]] = []
        self._written = self.objects_parameter()
        chart = HelmChart.of(self)
        chart.values.add("workloadIdentity.clientId", access.client_id,
                         "Client ID of the service's user-assigned managed identity (set by the platform team)",
                         pattern="^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$")
        chart.values.add("workloadIdentity.tenantId", access.tenant_id, "Azure AD tenant of the Key Vault",
                         pattern="^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$")
        self.api_object = cdk8s.ApiObject(
            self,
            "secret-provider-class",
            api_version="secrets-store.csi.x-k8s.io/v1",
            kind="SecretProviderClass",
            metadata=cdk8s.ApiObjectMetadata(name=self.name, namespace=service.namespace, labels=dict(service.labels)),
        )
        self.api_object.add_json_patch(cdk8s.JsonPatch.add("/spec", self._spec()))
        chart.before_synth(self._write_objects)
        chart.bind_value(self.api_object, ("spec", "parameters", "clientID"), "workloadIdentity.clientId", access.client_id)
        chart.bind_value(self.api_object, ("spec", "parameters", "tenantId"), "workloadIdentity.tenantId", access.tenant_id)
        service.annotate_service_account(CLIENT_ID_ANNOTATION, access.client_id)
        chart.bind_value(service.service_account, ("metadata", "annotations", CLIENT_ID_ANNOTATION),
                         "workloadIdentity.clientId", access.client_id)
        service.add_pod_label(WORKLOAD_IDENTITY_LABEL, "true")
        service.add_config("SPRING_CONFIG_IMPORT", f"optional:configtree:{SECRETS_MOUNT}/")
        service.add_volume(
            {"name": "secrets", "csi": {"driver": CSI_DRIVER, "readOnly": True,
                                        "volumeAttributes": {"secretProviderClass": self.name}}},
            {"name": "secrets", "mountPath": SECRETS_MOUNT, "readOnly": True},
        )

    def _spec(self) -> dict[str, object]:
        return {
            "provider": "azure",
            "parameters": {
                "usePodIdentity": "false",
                "useVMManagedIdentity": "false",
                "clientID": self.access.client_id,
                "keyvaultName": self.access.key_vault_name,
                "tenantId": self.access.tenant_id,
                "cloudName": "AzurePublicCloud",
                "objects": self.objects_parameter(),
            },
        }

    def _write_objects(self) -> None:
        parameter = self.objects_parameter()
        if parameter != self._written:
            self.api_object.add_json_patch(cdk8s.JsonPatch.replace("/spec/parameters/objects", parameter))
            self._written = parameter

    def objects_parameter(self) -> str:
        """The provider's ``objects`` parameter: a YAML document (``array:`` of YAML documents, one
        per object) produced by the YAML emitter, so no name can inject keys or break the nesting."""
        items = [yaml.dump({"objectName": name, "objectType": "secret", "objectAlias": alias}, Dumper=_ParameterDumper,
                           sort_keys=False, width=10_000) for name, alias in self.objects]
        return yaml.dump({"array": items}, Dumper=_ParameterDumper, sort_keys=False, width=10_000)

    def add_object(self, object_name: str, alias: str) -> None:
        """Mount Key Vault secret ``object_name`` as the file ``/mnt/secrets/<alias>``."""
        if any(a == alias for _, a in self.objects):
            raise ValueError(f"{self.service.name}: secret alias {alias} used twice")
        self.objects.append((object_name, alias))  # written once, before synthesis

    @staticmethod
    def of(service: MicroService, access: KeyVaultAccess) -> SecretProviderClass:
        """The service's SecretProviderClass, created on first use."""
        if isinstance(service.secret_provider, SecretProviderClass):
            return service.secret_provider
        service.secret_provider = SecretProviderClass(service, "key-vault", service, access)
        return service.secret_provider


@dataclass(frozen=True)
class PrivateEndpointSecretProps:
    """Attach either a private-endpoint ``store`` (with the service's ``attachment`` to it) or a
    plain Key Vault ``secret`` to ``service``."""

    service: MicroService
    access: KeyVaultAccess | None
    store: PrivateEndpointStore | None = None
    attachment: StoreAttachment | None = None
    secret: KeyVaultSecret | SecretKeyRef | None = None


class PrivateEndpointSecret(constructs.Construct):
    """A credential from Key Vault, and for a store its connection settings and egress rule.

    For a store: the non-secret settings (``DB_HOST``, ``REDIS_PORT``...) go into the ConfigMap,
    the credential into the SecretProviderClass with ``objectAlias`` = the property the app reads,
    and the service may reach the store's subnet on its port(s).  For a plain secret, only the
    SecretProviderClass entry.  With Key Vault (prod) secrets never become environment variables
    or Kubernetes Secrets.  Without Key Vault (``access`` None, dev) the credential comes from a
    Kubernetes Secret created outside the charts, referenced by name and key only and mounted as a
    file under ``/mnt/secrets`` like in prod.
    """

    def __init__(self, scope: constructs.Construct, id: str, props: PrivateEndpointSecretProps) -> None:
        super().__init__(scope, id)
        svc = props.service
        if props.secret is not None:
            if isinstance(props.secret, SecretKeyRef):
                svc.add_secret_file(props.secret.alias, props.secret.secret, props.secret.key)
            elif props.access is None:
                raise ValueError("a Key Vault secret needs KeyVaultAccess")
            else:
                SecretProviderClass.of(svc, props.access).add_object(props.secret.object_name, props.secret.alias)
            return
        store, att = props.store, props.attachment
        if store is None or att is None:
            raise ValueError("PrivateEndpointSecret needs a secret, or a store with its attachment")
        if props.access is not None:
            SecretProviderClass.of(svc, props.access).add_object(
                key_vault_object_name(store.key_vault_object, svc.name), att.secret_alias)
        else:
            svc.add_secret_file(att.secret_alias, store.existing_secret, store.existing_secret_key)
        if store.kind == "postgresql":
            for key, value in (("DB_HOST", store.host), ("DB_PORT", str(store.port)),
                               ("DB_NAME", att.database), ("DB_USERNAME", att.username)):
                svc.add_config(key, value)
            if store.tls:
                svc.add_config("DB_SSLMODE", "require")
        elif store.kind == "redis":
            for key, value in (("REDIS_HOST", store.host), ("REDIS_PORT", str(store.port)),
                               ("REDIS_DATABASE", str(att.redis_database)),
                               ("SPRING_DATA_REDIS_SSL_ENABLED", "true" if store.tls else "false")):
                svc.add_config(key, value)
        else:
            svc.add_config("SERVICE_BUS_NAMESPACE", store.host)
        svc.allow_egress(store.subnet_cidr, (store.port, *store.extra_ports), f"{store.name} private endpoint")
        self.store = store
