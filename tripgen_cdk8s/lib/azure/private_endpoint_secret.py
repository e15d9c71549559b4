"""PrivateEndpointSecret: a credential from Azure Key Vault (or an existing Secret) mounted as a file,
optionally with the private endpoint of the store it opens."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import constructs
import yaml

from ..constructs.microservice import MicroService
from ..errors import check_props
from ..helm import reads_as_non_string
from ..helmchart import HelmChart, Resource
from ..model import EgressFeature, IpBlock, SecretFile

CSI_DRIVER = "secrets-store.csi.k8s.io"
WORKLOAD_IDENTITY_LABEL = "azure.workload.identity/use"
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
GUID_PATTERN = "^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$"


class _ParameterDumper(yaml.SafeDumper):
    """Indented sequences and literal blocks for multi-line strings: the layout the Azure provider's
    documentation uses for the ``objects`` parameter."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


_ParameterDumper.add_representer(
    str, lambda d, data: d.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data
                                            else "'" if reads_as_non_string(data) else None))


@dataclass(frozen=True)
class KeyVaultAccess:
    """The Key Vault a workload reads and the workload identity (client ID) it reads it with."""

    key_vault_name: str
    tenant_id: str
    client_id: str


@dataclass(frozen=True)
class SecretProviderClassProps:
    """The workload whose Key Vault objects the class mounts, and how it reaches the vault."""

    workload: MicroService
    access: KeyVaultAccess


class SecretProviderClass(constructs.Construct):
    """The one ``SecretProviderClass`` ``<workload>-secrets`` of a workload, its CSI volume at
    ``/mnt/secrets`` and its workload identity (the ServiceAccount annotation and pod label; the
    client and tenant IDs are the values ``workloadIdentity.*``).  Use :meth:`of`, which creates it on
    first use; :meth:`add_object` adds Key Vault objects until synthesis."""

    def __init__(self, scope: constructs.Construct, id: str, props: SecretProviderClassProps) -> None:
        super().__init__(scope, id)
        check_props(self, props)
        w, access = props.workload, props.access
        self.workload = w
        self.access = access
        self.name = f"{w.name}-secrets"
        self.objects: list[tuple[str, str]] = []
        chart = HelmChart.of(w)
        self.helm_chart = chart
        self.api_object = Resource(chart, api_version="secrets-store.csi.x-k8s.io/v1", kind="SecretProviderClass",
                                   name=self.name, namespace=w.namespace, labels=w.labels, body=self._body)
        w.annotate_service_account(CLIENT_ID_ANNOTATION, access.client_id)
        w.add_pod_label(WORKLOAD_IDENTITY_LABEL, "true")
        w.mount_secrets(f"SecretProviderClass {self.name}", {"csi": {
            "driver": CSI_DRIVER, "readOnly": True, "volumeAttributes": {"secretProviderClass": self.name}}})
        chart.on_synth(self._declare_values)

    def _declare_values(self) -> None:
        chart, access = self.helm_chart, self.access
        chart.values.describe("workloadIdentity",
                              "Azure workload identity used to read Key Vault (not secrets: IDs assigned by Azure)")
        chart.values.add("workloadIdentity.clientId", access.client_id,
                         "Client ID of the service's user-assigned managed identity (set by the platform team)",
                         pattern=GUID_PATTERN)
        chart.values.add("workloadIdentity.tenantId", access.tenant_id, "Azure AD tenant of the Key Vault",
                         pattern=GUID_PATTERN)
        chart.bind_value(self.api_object, ("spec", "parameters", "clientID"), "workloadIdentity.clientId",
                         access.client_id)
        chart.bind_value(self.api_object, ("spec", "parameters", "tenantId"), "workloadIdentity.tenantId",
                         access.tenant_id)
        chart.bind_value(self.workload.service_account, ("metadata", "annotations", CLIENT_ID_ANNOTATION),
                         "workloadIdentity.clientId", access.client_id)

    def _body(self) -> dict[str, Any]:
        return {"spec": {
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
        }}

    def objects_parameter(self) -> str:
        """The provider's ``objects`` parameter: a YAML document (``array:`` of YAML documents, one
        per object) produced by the YAML emitter, so no name can inject keys or break the nesting."""
        items = [yaml.dump({"objectName": name, "objectType": "secret", "objectAlias": alias}, Dumper=_ParameterDumper,
                           sort_keys=False, width=10_000) for name, alias in self.objects]
        return yaml.dump({"array": items}, Dumper=_ParameterDumper, sort_keys=False, width=10_000)

    def add_object(self, object_name: str, alias: str) -> None:
        """Mount Key Vault secret ``object_name`` as the file ``/mnt/secrets/<alias>``."""
        if any(a == alias for _, a in self.objects):
            raise ValueError(f"{self.workload.name}: secret alias {alias} used twice")
        self.objects.append((object_name, alias))

    @staticmethod
    def of(workload: MicroService, access: KeyVaultAccess) -> SecretProviderClass:
        """The workload's SecretProviderClass, created on first use."""
        existing = getattr(workload, "_secret_provider_class", None)
        if isinstance(existing, SecretProviderClass):
            if existing.access != access:
                raise ValueError(f"{workload.name}: one Key Vault access per workload")
            return existing
        spc = SecretProviderClass(workload, "key-vault", SecretProviderClassProps(workload, access))
        workload._secret_provider_class = spc  # type: ignore[attr-defined]
        return spc


@dataclass(frozen=True)
class PrivateEndpointSecretProps:
    """A credential for ``workload``, mounted as the file ``/mnt/secrets/<alias>``.

    From Key Vault: ``key_vault`` and ``object_name``.  Without Key Vault: ``existing_secret`` and
    ``existing_secret_key``, a Secret created outside the charts (only its name and key are written).
    ``endpoint`` and ``ports``: the private endpoint the credential opens (egress is allowed to it);
    default none.  ``feature``: the name of the egress feature the store is (``store-postgresql``):
    the workload :meth:`~Connections.uses` it, and the endpoint's egress is allowed as that feature
    (``connections.allow_feature``), so the validate invariant refuses a store without its egress
    under a default deny; default "" (a plain ``allow_to`` of the endpoint).  ``settings``: the
    non-secret connection settings (host, port...) for the workload's
    ConfigMap; default none.
    """

    workload: MicroService
    alias: str
    key_vault: KeyVaultAccess | None = None
    object_name: str = ""
    existing_secret: str = ""
    existing_secret_key: str = ""
    endpoint: IpBlock | None = None
    ports: tuple[int, ...] = ()
    settings: Mapping[str, str] = field(default_factory=dict)
    feature: str = ""


class PrivateEndpointSecret(constructs.Construct):
    """A credential from Key Vault (through the workload's :class:`SecretProviderClass`, with
    ``objectAlias`` = the file the app reads) or from an existing Secret, never an environment
    variable or a Secret the chart writes; plus, for a store behind a private endpoint, its settings
    in the ConfigMap and ``connections.allow_to`` its subnet on its ports."""

    def __init__(self, scope: constructs.Construct, id: str, props: PrivateEndpointSecretProps) -> None:
        super().__init__(scope, id)
        check_props(self, props)
        w = props.workload
        if props.key_vault is not None:
            if not props.object_name or props.existing_secret:
                raise ValueError(f"{w.name}: a Key Vault secret needs object_name (and no existing_secret)")
            SecretProviderClass.of(w, props.key_vault).add_object(props.object_name, props.alias)
        elif props.existing_secret and props.existing_secret_key:
            w.add_secret_file(SecretFile(props.existing_secret, props.existing_secret_key, props.alias))
        else:
            raise ValueError(f"{w.name}: secret {props.alias} needs key_vault and object_name, or existing_secret "
                             "and existing_secret_key")
        for key, value in props.settings.items():
            w.add_config(key, value)
        if props.feature and props.endpoint is not None:
            w.connections.allow_feature(EgressFeature(props.feature, (props.endpoint,), tuple(props.ports)))
        elif props.feature:
            w.connections.uses(props.feature)
        elif props.endpoint is not None:
            w.connections.allow_to(props.endpoint, props.ports)
        self.props = props
