"""The typed, immutable configuration model of one TripGen environment, and its validation.

An overlay (``overlays/<env>/config.py``) builds one :class:`Environment`; :func:`validate`
checks every value and raises :class:`~tripgen_cdk8s.errors.ConfigError` naming the field path
(``services.trip-service.scaling.max_replicas``) and what is allowed.  This module knows nothing
of cdk8s or Helm.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Literal

from ..app.model import DIGEST as DIGEST
from ..app.model import IMAGE_TAG as IMAGE_TAG
from ..app.model import Guardrails as GenericGuardrails
from ..app.publish import parse_registry
from ..lib.errors import ConfigError
from ..lib.kubeversions import KubernetesVersions as KubernetesVersions

# The generic value types a TripGen config holds, re-exported: overlays import them from here.
from ..lib.model import ChartMetadata as ChartMetadata
from ..lib.model import EgressFeature as EgressFeature
from ..lib.model import HorizontalScaling as HorizontalScaling
from ..lib.model import Image as Image
from ..lib.model import IpBlock as IpBlock
from ..lib.model import Maintainer as Maintainer
from ..lib.model import PodsMetric as PodsMetric
from ..lib.model import ResourceAmounts as ResourceAmounts
from ..lib.model import Resources as Resources
from ..lib.model import SyncWindow as SyncWindow
from ..lib.quantities import byte_count, cpu_millicores, is_bytes, is_cpu

DNS_LABEL = re.compile(r"^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# A service name is also the prefix of <name>-secrets, <name>-config, ...: keep room for suffixes.
SERVICE_NAME = re.compile(r"^(?=.{1,50}$)[a-z]([-a-z0-9]*[a-z0-9])?$")
# A Grafana dashboard uid is at most 40 characters; the service dashboards' are tripgen-<env>-<service>.
DASHBOARD_UID_MAX = 40
# Characters YAML or a terminal treat as line breaks or controls: C0, DEL, C1 (U+0085 NEL is a YAML
# 1.1 line break), and the Unicode line and paragraph separators.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
ENV_VAR = re.compile(r"^[A-Z][A-Z0-9_]*$")
HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,63}$")
REPOSITORY = re.compile(r"^[a-z0-9]+(?:[._/-][a-z0-9]+)*$")
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
# Kubernetes label values: at most 63 characters, alphanumeric at both ends (labels, Chart versions).
LABEL_VALUE = re.compile(r"^(?=.{0,63}$)(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
# A qualified label key such as application-workload or example.com/pool.
LABEL_KEY = re.compile(r"^(([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?/)?"
                       r"(?=.{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
KEY_VAULT_OBJECT = re.compile(r"^[0-9A-Za-z-]{1,127}$")
SERVICE_PLACEHOLDER = "{service}"
SPRING_PROFILES = re.compile(r"^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$")
TIME_ZONE = re.compile(r"^[A-Za-z]+(/[A-Za-z0-9_+-]+)*$")
APPGW_CERTIFICATE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$")
WAF_POLICY_ID = re.compile(r"^(/subscriptions/[0-9a-f-]*/resourceGroups/[-\w.()]{1,90}/providers/"
                           r"Microsoft\.Network/ApplicationGatewayWebApplicationFirewallPolicies/[-\w.]{1,128})?$")
VM_SIZE = re.compile(r"^Standard_[A-Za-z0-9_]{1,60}$")
# The writer's placeholder form (tripgen_cdk8s.helm.PLACEHOLDER_PREFIX): refused in config text.
PLACEHOLDER_FORM = "TRIPGENHELMBINDING"
PULL_POLICIES = ("Always", "IfNotPresent", "Never")


@dataclass(frozen=True)
class QueueScaling:
    """Scaling through a KEDA ``ScaledObject`` on an Azure Service Bus queue (spec 3)."""

    min_replicas: int
    max_replicas: int
    cpu_utilization: int
    memory_utilization: int
    servicebus_namespace: str
    queue_name: str
    message_count: int
    scale_down_stabilization_seconds: int = 300


Scaling = HorizontalScaling | QueueScaling


@dataclass(frozen=True)
class PrivateEndpointStore:
    """A backing store reached through an Azure private endpoint (spec 7).

    ``kind`` decides the environment variables a service gets; ``key_vault_object`` names the
    Key Vault secret holding its credential: Key Vault object-name characters (letters, digits,
    ``-``), where the one placeholder ``{service}`` stands for the name of the service that attaches
    the store (``{service}-db-password`` -> ``trip-service-db-password``).
    """

    name: str
    kind: Literal["postgresql", "redis", "servicebus"]
    host: str
    port: int
    tls: bool
    subnet_cidr: str
    key_vault_object: str = ""
    extra_ports: tuple[int, ...] = ()
    existing_secret: str = ""
    existing_secret_key: str = ""


@dataclass(frozen=True)
class StoreAttachment:
    """A service's use of a store: which store, and the store-specific settings it needs."""

    store: str
    secret_alias: str
    database: str = ""
    username: str = ""
    redis_database: int = 0


@dataclass(frozen=True)
class KeyVaultSecret:
    """A plain Key Vault secret mounted as a file named ``alias`` (the property the app reads)."""

    object_name: str
    alias: str


@dataclass(frozen=True)
class SecretKeyRef:
    """A key of a Kubernetes Secret created outside the charts (dev), exposed as env var ``alias``.
    Only the Secret's name and key are in the chart, never a value."""

    secret: str
    key: str
    alias: str


Strategy = Literal["rolling", "blueGreen", "canary"]
STRATEGIES = ("rolling", "blueGreen", "canary")


@dataclass(frozen=True)
class ServiceConfig:
    """One TripGen microservice: image, sizing, scaling, probes, network intent and secrets.

    ``api_prefixes``: the Ingress paths routed to it; default () = internal-only (no Ingress path,
    reachable only by the services that ``calls`` it). ``port``: its HTTP port; default 8080.
    ``health_path``: the Spring actuator health base; ``liveness_path`` / ``readiness_path``
    override the probe paths (default ``<health_path>/liveness`` and ``/readiness``).
    """

    name: str
    purpose: str
    image: Image
    resources: Resources
    api_prefixes: tuple[str, ...] = ()
    replicas: int = 1
    port: int = 8080
    liveness_path: str = ""
    readiness_path: str = ""
    scaling: Scaling | None = None
    min_available: int | None = None
    health_path: str = "/actuator/health"
    metrics_path: str = "/actuator/prometheus"
    calls: tuple[str, ...] = ()
    external_egress: tuple[str, ...] = ()
    stores: tuple[StoreAttachment, ...] = ()
    secrets: tuple[KeyVaultSecret | SecretKeyRef, ...] = ()
    writable_paths: tuple[str, ...] = ("/tmp", "/app/logs")
    kubernetes_api_access: bool = False
    identity_client_id: str = ""
    strategy: str = "rolling"
    sync_wave: int = 1


@dataclass(frozen=True)
class NodePool:
    """The AKS node pool application pods run on, and its capacity (spec 4)."""

    name: str = "apppool"
    taint_key: str = "application-workload"
    taint_value: str = "true"
    vm_size: str = "Standard_D4s_v3"
    min_nodes: int = 3
    max_nodes: int = 10
    allocatable_cpu: str = "3600m"
    allocatable_memory: str = "12Gi"


@dataclass(frozen=True)
class AppGatewayIngress:
    """The Application Gateway Ingress of prod (spec 6)."""

    name: str
    host: str
    tls_certificate: str
    waf_policy_id: str
    request_timeout_seconds: int
    gateway_subnet_cidr: str
    class_name: str = "azure-application-gateway"


@dataclass(frozen=True)
class NginxIngress:
    """The ingress-nginx Ingress of dev (TRIPGEN.md section 6, dev); with default-deny the
    controller's namespace (``controller_namespace``, default ``ingress-nginx``) is let in."""

    name: str
    host: str
    request_timeout_seconds: int = 60
    class_name: str = "nginx"
    controller_namespace: str = "ingress-nginx"


@dataclass(frozen=True)
class RollingSettings:
    """RollingUpdate parameters of plain Deployments."""

    max_surge: int = 1
    max_unavailable: int = 0
    revision_history_limit: int = 10
    progress_deadline_seconds: int = 600


@dataclass(frozen=True)
class Delivery:
    """Argo Rollouts settings (TRIPGEN.md section 10)."""

    auto_promotion_enabled: bool = False
    scale_down_delay_seconds: int = 1800
    max_preview_error_rate: str = "0.005"
    prometheus_address: str = "http://prometheus-operated.monitoring.svc.cluster.local:9090"
    canary_steps: tuple[tuple[int, int], ...] = ((5, 600), (25, 900), (50, 1200))


@dataclass(frozen=True)
class GitOps:
    """Where ArgoCD runs, which repository and revision it syncs (TRIPGEN.md section 11), and the
    cluster it deploys to: ``destination_server`` (default the cluster Argo CD runs in), or a
    cluster registered in Argo CD by ``destination_name``.  ``chart_registry``
    (``oci://HOST/PATH``): deploy the charts ``tripgen publish`` pushed there instead of the git
    path (default "": from git; docs/publishing.md)."""

    repo_url: str = "https://github.com/tripgen/k8s-manifests"
    target_revision: str = "main"
    argocd_namespace: str = "argocd"
    project: str = "tripgen"
    sync_window: SyncWindow | None = None
    platform_sync_wave: int = 0
    destination_server: str = "https://kubernetes.default.svc"
    destination_name: str = ""
    chart_registry: str = ""


@dataclass(frozen=True)
class KeyVault:
    """The Key Vault every SecretProviderClass reads from, and the Azure AD tenant it lives in."""

    name: str
    tenant_id: str = ""


@dataclass(frozen=True)
class CachePolicy:
    """The two-level cache strategy of PP 5.2.2; all durations in seconds."""

    l1_ttl_seconds: int = 300
    l1_max_entries: int = 2000
    l2_ttl_seconds: int = 1800
    user_session_ttl_seconds: int = 1800
    location_data_ttl_seconds: int = 14400
    ai_results_ttl_seconds: int = 3600
    static_content_ttl_seconds: int = 86400


@dataclass(frozen=True)
class Messaging:
    """Service Bus queue and topic names (hyphenated, spec 8)."""

    queues: tuple[str, ...] = ("ai-schedule-generation", "location-search", "notification")
    topics: tuple[str, ...] = ("system-events",)


@dataclass(frozen=True)
class AlertRouting:
    """Alertmanager routing of the environment's alerts (TRIPGEN.md 9.1): critical alerts page
    PagerDuty and post to Teams, warnings post to Teams.  The receivers' credentials are keys of
    ``receivers_secret``, a Secret created outside the charts; only its name and keys are rendered."""

    name: str = "tripgen-alert-routing"
    receivers_secret: str = "alertmanager-receivers"
    pagerduty_key: str = "pagerduty-routing-key"
    teams_key: str = "teams-webhook-url"
    pagerduty_receiver: str = "pagerduty-critical"
    teams_receiver: str = "teams-oncall"
    group_wait_seconds: int = 30
    group_interval_seconds: int = 300
    critical_repeat_seconds: int = 1800
    warning_repeat_seconds: int = 14400


@dataclass(frozen=True)
class Monitoring:
    """Prometheus Operator settings (spec 9); ``alert_routing`` None renders no AlertmanagerConfig,
    ``dashboards`` False no Grafana dashboard ConfigMaps (TRIPGEN.md 9.1, 9.2)."""

    service_monitor_api_version: str = "monitoring.coreos.com/v1"
    scrape_interval_seconds: int = 30
    namespace: str = "monitoring"
    runbook_base_url: str = "https://github.com/tripgen/k8s-manifests/blob/main/docs/runbooks.md"
    alert_routing: AlertRouting | None = None
    dashboards: bool = True
    grafana_datasource_uid: str = "prometheus"


@dataclass(frozen=True)
class Telemetry:
    """Application Insights per service (TRIPGEN.md 9.3): the connection string is the Key Vault
    object ``connection_string_object``, mounted like every other secret.

    Egress under ``network_policy="default-deny"`` (TRIPGEN.md 6.8, docs/network.md): every service
    sending telemetry may reach ``egress_cidrs`` (the Azure Monitor Private Link Scope's private
    endpoint subnet) on ``egress_ports`` (default 443); without a private link scope,
    ``internet_egress_reason`` declares Internet egress for telemetry instead (the reason is written
    into the NetworkPolicy).  One of the two is required under default-deny."""

    connection_string_object: str = "appinsights-connection-string"
    sampling_percentage: int = 10
    log_format: str = "ecs"
    egress_cidrs: tuple[str, ...] = ()
    egress_ports: tuple[int, ...] = (443,)
    internet_egress_reason: str = ""


@dataclass(frozen=True)
class ClusterNetwork:
    """Addresses of the cluster the network policies need (TRIPGEN.md 6.7, docs/network.md):
    ``api_server_cidrs``, the API server's address (on AKS its private IP or the API server
    subnet; NetworkPolicies match after ``kubernetes.default`` is translated to it) and
    ``api_server_ports`` (default 443).  Every service with ``kubernetes_api_access`` may reach
    them; under ``network_policy="default-deny"`` such a service needs at least one CIDR."""

    api_server_cidrs: tuple[str, ...] = ()
    api_server_ports: tuple[int, ...] = (443,)


@dataclass(frozen=True)
class Guardrails(GenericGuardrails):
    """The application model's guardrails (:class:`tripgen_cdk8s.app.model.Guardrails`: immutable
    image tags, digests, the replica floor, default deny, PDBs, resources, probes), checked on the
    objects of every app, plus TripGen's own:

    ``ingress_kinds``: the ingress config classes allowed (``AppGatewayIngress``, ``NginxIngress``);
    default () = any.
    """

    ingress_kinds: tuple[str, ...] = ()


INGRESS_KINDS = ("AppGatewayIngress", "NginxIngress")


TRIPGEN_CHART_METADATA = ChartMetadata(
    home="https://github.com/tripgen/k8s-manifests",
    sources=("https://github.com/tripgen/k8s-manifests",),
    maintainers=(Maintainer(name="devops-team", url="https://github.com/tripgen/k8s-manifests"),),
)


@dataclass(frozen=True)
class Environment:
    """Everything one environment's charts are generated from."""

    name: str
    namespace: str
    spring_profile: str
    pod_security: str
    services: tuple[ServiceConfig, ...]
    stores: tuple[PrivateEndpointStore, ...] = ()
    ingress: AppGatewayIngress | NginxIngress | None = None
    key_vault: KeyVault | None = None
    node_pool: NodePool = field(default_factory=NodePool)
    cache: CachePolicy = field(default_factory=CachePolicy)
    messaging: Messaging = field(default_factory=Messaging)
    monitoring: Monitoring | None = field(default_factory=Monitoring)
    chart_version: str = "1.0.0"
    # Chart.yaml's home, sources and maintainers (docs/spec: the GitOps repository; the approvers of a
    # production change, devops-team).  No email: the spec gives none.
    chart_metadata: ChartMetadata = field(default_factory=lambda: TRIPGEN_CHART_METADATA)
    # The supported Kubernetes minors: from 1.29, the version the charts were first written for, to
    # 1.37, the newest AKS release (AKS LTS 1.32-1.33 and standard 1.35-1.37 lie inside); README
    # "Kubernetes versions".  The charts' kubeVersion, Pod Security version and validate follow it.
    kubernetes: KubernetesVersions = field(default_factory=KubernetesVersions)
    guardrails: Guardrails = field(default_factory=Guardrails)
    zone_spread: bool = True
    pod_security_warn: str = "restricted"
    network_policy: str = "default-deny"
    resource_quota: bool = True
    image_pull_secrets: tuple[str, ...] = ()
    rolling: RollingSettings = field(default_factory=RollingSettings)
    delivery: Delivery = field(default_factory=Delivery)
    gitops: GitOps = field(default_factory=GitOps)
    telemetry: Telemetry | None = None
    cluster_network: ClusterNetwork = field(default_factory=ClusterNetwork)

    def to_project(self) -> Any:
        """This environment as the application model's Project (TripGen's conventions applied)."""
        from .app import to_project

        return to_project(self)

    def service(self, name: str) -> ServiceConfig:
        """The service called ``name``; ConfigError if there is none."""
        for svc in self.services:
            if svc.name == name:
                return svc
        raise ConfigError("services", name, f"known services are {', '.join(s.name for s in self.services)}")

    def store(self, name: str) -> PrivateEndpointStore:
        """The store called ``name``; ConfigError if there is none."""
        for st in self.stores:
            if st.name == name:
                return st
        raise ConfigError("stores", name, f"known stores are {', '.join(s.name for s in self.stores) or 'none'}")


# --------------------------------------------------------------------------- validation


def _fail(path: str, value: object, allowed: str) -> None:
    raise ConfigError(path, value, allowed)


def _int(path: str, value: object, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        _fail(path, value, f"allowed: an integer from {lo} to {hi}")


def _str(path: str, value: object, pattern: re.Pattern[str], allowed: str) -> None:
    if not isinstance(value, str) or not pattern.match(value):
        _fail(path, value, f"allowed: {allowed}")


def _unique(path: str, values: tuple[object, ...] | list[object], allowed: str) -> None:
    """Each of ``values`` once: a repeated entry would render twice (two volumes of one name, two
    Ingress paths for one prefix, ...) or make a lookup by name ambiguous."""
    seen: set[object] = set()
    for i, value in enumerate(values):
        if value in seen:
            _fail(f"{path}[{i}]", value, f"allowed: {allowed}")
        seen.add(value)


def _cidr(path: str, value: object) -> None:
    try:
        ipaddress.ip_network(str(value), strict=True)
    except ValueError:
        _fail(path, value, "allowed: an IPv4 network in CIDR notation such as 10.0.2.0/24")
    if not isinstance(value, str):
        _fail(path, value, "allowed: a CIDR string")


def _check_text(path: str, value: object) -> None:
    """Every string of the config, wherever it lands: no control characters (a newline would
    inject YAML or a header), and never the writer's placeholder form."""
    if isinstance(value, str):
        if CONTROL.search(value):
            _fail(path, value, "allowed: text without control characters (newline, tab, U+0085, U+2028, ...)")
        if PLACEHOLDER_FORM in value.upper():
            _fail(path, value, f"allowed: text without {PLACEHOLDER_FORM} (reserved for the chart writer)")
    elif is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            _check_text(f"{path}.{f.name}" if path else f.name, getattr(value, f.name))
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            name = getattr(item, "name", None)
            keyed = path in ("services", "stores") and isinstance(name, str)
            _check_text(f"{path}.{name}" if keyed else f"{path}[{i}]", item)


def key_vault_object_name(template: str, service: str) -> str:
    """The Key Vault object a store's ``key_vault_object`` names for ``service``."""
    return template.replace(SERVICE_PLACEHOLDER, service)


def _check_types(path: str, obj: object) -> None:
    """Reject values of the wrong Python type before any range check (mutations, --set)."""
    if not is_dataclass(obj):
        return
    for f in fields(obj):
        value = getattr(obj, f.name)
        if isinstance(f.type, str) and f.type in ("int", "str", "bool"):
            expected = {"int": int, "str": str, "bool": bool}[f.type]
            ok = isinstance(value, expected) and (f.type == "bool" or not isinstance(value, bool))
            if not ok:
                _fail(f"{path}.{f.name}" if path else f.name, value, f"allowed: a value of type {f.type}")


def _validate_resources(path: str, res: Resources) -> None:
    for side in ("requests", "limits"):
        amounts = getattr(res, side)
        _check_types(f"{path}.{side}", amounts)
        if not is_cpu(amounts.cpu):
            _fail(f"{path}.{side}.cpu", amounts.cpu, "allowed: a CPU quantity such as 200m, 1 or 1.5")
        for name in ("memory", "ephemeral_storage"):
            v = getattr(amounts, name)
            if not is_bytes(v):
                _fail(f"{path}.{side}.{name}", v, "allowed: a binary quantity such as 512Mi or 2Gi")
    for name, conv in (("cpu", cpu_millicores), ("memory", byte_count), ("ephemeral_storage", byte_count)):
        req, lim = getattr(res.requests, name), getattr(res.limits, name)
        if conv(req) > conv(lim):
            _fail(f"{path}.requests.{name}", req, f"allowed: at most the limit {lim}")


def _validate_image(path: str, image: Image, env: Environment) -> None:
    _check_types(path, image)
    _str(f"{path}.registry", image.registry, HOSTNAME, "a registry host name such as acrtrpgenprod.azurecr.io")
    _str(f"{path}.repository", image.repository, REPOSITORY, "a lower-case repository path")
    _str(f"{path}.tag", image.tag, IMAGE_TAG, "a Docker tag (letters, digits, '.', '_', '-')")
    # The tag is the chart's appVersion and so the app.kubernetes.io/version label.
    _str(f"{path}.tag", image.tag, LABEL_VALUE, "a tag that is also a Kubernetes label value: at most 63 "
         "characters, letters, digits, '.', '_', '-', starting and ending with a letter or digit")
    g = env.guardrails
    if g.immutable_image_tags and not image.digest and not re.match(g.release_tag_pattern, image.tag):
        _fail(f"{path}.tag", image.tag, "allowed with guardrails.immutable_image_tags: a release tag matching "
              f"{g.release_tag_pattern}, or a digest")
    if g.require_digest and not image.digest:
        _fail(f"{path}.digest", image.digest, "allowed with guardrails.require_digest: sha256:<64 hex digits>")
    if image.digest and not DIGEST.match(image.digest):
        _fail(f"{path}.digest", image.digest, "allowed: empty or sha256:<64 hex digits>")
    if image.pull_policy not in PULL_POLICIES:
        _fail(f"{path}.pull_policy", image.pull_policy, f"allowed: {', '.join(PULL_POLICIES)}")


def _validate_scaling(path: str, svc: ServiceConfig, env: Environment) -> None:
    sc = svc.scaling
    if sc is None:
        return
    if not isinstance(sc, (HorizontalScaling, QueueScaling)):
        _fail(path, sc, "allowed: HorizontalScaling, QueueScaling or None")
    _check_types(path, sc)
    _int(f"{path}.min_replicas", sc.min_replicas, 1, 1000)
    _int(f"{path}.max_replicas", sc.max_replicas, 1, 1000)
    if sc.max_replicas < sc.min_replicas:
        _fail(f"{path}.max_replicas", sc.max_replicas, f"allowed: at least min_replicas ({sc.min_replicas})")
    if sc.min_replicas < env.guardrails.min_replicas:
        _fail(f"{path}.min_replicas", sc.min_replicas,
              f"allowed by guardrails.min_replicas: at least {env.guardrails.min_replicas}")
    _int(f"{path}.cpu_utilization", sc.cpu_utilization, 1, 100)
    _int(f"{path}.memory_utilization", sc.memory_utilization, 1, 100)
    _int(f"{path}.scale_down_stabilization_seconds", sc.scale_down_stabilization_seconds, 0, 3600)
    if isinstance(sc, HorizontalScaling):
        if not isinstance(sc.pods_metrics, tuple):
            _fail(f"{path}.pods_metrics", sc.pods_metrics, "allowed: a tuple of PodsMetric")
        for i, m in enumerate(sc.pods_metrics):
            _str(f"{path}.pods_metrics[{i}].name", m.name, METRIC_NAME, "a Prometheus metric name")
            _int(f"{path}.pods_metrics[{i}].average_value", m.average_value, 1, 1_000_000)
    else:
        _str(f"{path}.servicebus_namespace", sc.servicebus_namespace, DNS_LABEL, "a Service Bus namespace name")
        if sc.queue_name not in env.messaging.queues:
            _fail(f"{path}.queue_name", sc.queue_name, f"allowed: one of the queues {', '.join(env.messaging.queues)}")
        _int(f"{path}.message_count", sc.message_count, 1, 100_000)


def _validate_service(path: str, svc: ServiceConfig, env: Environment, names: set[str]) -> None:
    _check_types(path, svc)
    _str(f"{path}.name", svc.name, SERVICE_NAME, "a DNS-1035 label of at most 50 characters (lower-case letters, "
         "digits, '-', starting with a letter: it is a Service name)")
    uid = f"tripgen-{env.name}-{svc.name}"
    if env.monitoring is not None and env.monitoring.dashboards and len(uid) > DASHBOARD_UID_MAX:
        _fail(f"{path}.name", svc.name, f"allowed: at most {DASHBOARD_UID_MAX - len(uid) + len(svc.name)} characters "
              f"in {env.name} (its Grafana dashboard uid {uid} must be at most {DASHBOARD_UID_MAX})")
    _validate_image(f"{path}.image", svc.image, env)
    _validate_resources(f"{path}.resources", svc.resources)
    _int(f"{path}.replicas", svc.replicas, 1, 1000)
    _int(f"{path}.port", svc.port, 1024, 65535)
    for i, p in enumerate(svc.api_prefixes):
        if not isinstance(p, str) or not re.match(r"^/[A-Za-z0-9/_.-]*$", p):
            _fail(f"{path}.api_prefixes[{i}]", p, "allowed: an absolute URL path such as /api/v1/users")
    for attr in ("health_path", "metrics_path", "liveness_path", "readiness_path"):
        v = getattr(svc, attr)
        if attr.endswith("ness_path") and v == "":
            continue  # derived from health_path
        if not re.match(r"^/[A-Za-z0-9/_.-]*$", v):
            _fail(f"{path}.{attr}", v, "allowed: an absolute URL path")
    _validate_scaling(f"{path}.scaling", svc, env)
    if svc.scaling is None and svc.replicas < env.guardrails.min_replicas:
        _fail(f"{path}.replicas", svc.replicas, f"allowed by guardrails.min_replicas: at least {env.guardrails.min_replicas}")
    if svc.min_available is not None:
        _int(f"{path}.min_available", svc.min_available, 0, 1000)
        floor = svc.scaling.min_replicas if svc.scaling else svc.replicas
        if svc.min_available >= floor:
            _fail(
                f"{path}.min_available",
                svc.min_available,
                f"allowed: below the minimum replicas ({floor}), otherwise node drains block",
            )
    _unique(f"{path}.calls", svc.calls, "each callee once")
    _unique(f"{path}.external_egress", svc.external_egress, "each host once")
    _unique(f"{path}.writable_paths", svc.writable_paths, "each path once (each becomes an emptyDir volume)")
    _unique(f"{path}.stores", [a.store for a in svc.stores], "each store once per service")
    if isinstance(svc.scaling, HorizontalScaling):
        _unique(f"{path}.scaling.pods_metrics", [m.name for m in svc.scaling.pods_metrics], "each metric once")
    for i, callee in enumerate(svc.calls):
        if callee not in names or callee == svc.name:
            _fail(f"{path}.calls[{i}]", callee, f"allowed: another service ({', '.join(sorted(names - {svc.name}))})")
    for i, host in enumerate(svc.external_egress):
        _str(f"{path}.external_egress[{i}]", host, HOSTNAME, "an external host name")
    store_names = {s.name for s in env.stores}
    for i, att in enumerate(svc.stores):
        if att.store not in store_names:
            _fail(f"{path}.stores[{i}].store", att.store, f"allowed: {', '.join(sorted(store_names)) or 'no stores defined'}")
        _str(f"{path}.stores[{i}].secret_alias", att.secret_alias, ENV_VAR, "an environment-variable name")
        if env.store(att.store).kind == "postgresql":
            _str(f"{path}.stores[{i}].database", att.database, re.compile(r"^[a-z_][a-z0-9_]*$"), "a database name")
            _str(f"{path}.stores[{i}].username", att.username, re.compile(r"^[a-z_][a-z0-9_]*$"), "a role name")
        _int(f"{path}.stores[{i}].redis_database", att.redis_database, 0, 0)
    for i, sec in enumerate(svc.secrets):
        if isinstance(sec, KeyVaultSecret):
            _str(f"{path}.secrets[{i}].object_name", sec.object_name, KEY_VAULT_OBJECT,
                 "a Key Vault object name (letters, digits, hyphens)")
        elif isinstance(sec, SecretKeyRef):
            _str(f"{path}.secrets[{i}].secret", sec.secret, DNS_SUBDOMAIN, "a Secret name (DNS subdomain)")
            _str(f"{path}.secrets[{i}].key", sec.key, re.compile(r"^[-._a-zA-Z0-9]{1,253}$"), "a Secret key")
        else:
            _fail(f"{path}.secrets[{i}]", sec, "allowed: KeyVaultSecret or SecretKeyRef")
        _str(f"{path}.secrets[{i}].alias", sec.alias, ENV_VAR, "an environment-variable name")
    aliases = [a.secret_alias for a in svc.stores] + [s.alias for s in svc.secrets]
    if len(set(aliases)) != len(aliases):
        _fail(f"{path}.secrets", aliases, "allowed: each alias (file name under /mnt/secrets) once")
    if env.key_vault is not None:
        vault_objects = [(f"{path}.stores[{i}]", key_vault_object_name(env.store(a.store).key_vault_object, svc.name))
                         for i, a in enumerate(svc.stores)]
        vault_objects += [(f"{path}.secrets[{i}].object_name", s.object_name)
                          for i, s in enumerate(svc.secrets) if isinstance(s, KeyVaultSecret)]
        seen: set[str] = set()
        for field_path, obj_name in vault_objects:
            if not KEY_VAULT_OBJECT.match(obj_name):
                _fail(field_path, obj_name, "allowed: a Key Vault object name of at most 127 letters, digits and '-' "
                      "(with {service} replaced by the service name)")
            if obj_name in seen:
                _fail(field_path, obj_name, "allowed: each Key Vault object once per service "
                      "(one object under two aliases: mount it once and read one alias)")
            seen.add(obj_name)
    chart_label = f"{svc.name}-{env.chart_version}"
    if not LABEL_VALUE.match(chart_label):
        _fail(f"{path}.name", svc.name, f"allowed: a name short enough that the label helm.sh/chart={chart_label} "
              "has at most 63 characters")
    for i, wp in enumerate(svc.writable_paths):
        if not isinstance(wp, str) or not re.match(r"^/[a-z0-9/_-]+$", wp):
            _fail(f"{path}.writable_paths[{i}]", wp, "allowed: an absolute directory path")
    if svc.strategy not in STRATEGIES:
        _fail(f"{path}.strategy", svc.strategy, f"allowed: {', '.join(STRATEGIES)}")
    _int(f"{path}.sync_wave", svc.sync_wave, -100, 100)
    for i, sec in enumerate(svc.secrets):
        if isinstance(sec, KeyVaultSecret) and env.key_vault is None:
            _fail(f"{path}.secrets[{i}]", sec.object_name, "allowed: SecretKeyRef (this environment has no key_vault)")
        if isinstance(sec, SecretKeyRef) and env.key_vault is not None:
            _fail(f"{path}.secrets[{i}]", sec.secret, "allowed: KeyVaultSecret (with key_vault, secrets come from Key Vault only)")
    if svc.identity_client_id and not GUID.match(svc.identity_client_id):
        _fail(f"{path}.identity_client_id", svc.identity_client_id, "allowed: empty or a lower-case GUID")


def validate(env: Environment) -> Environment:
    """Check every value of ``env``; return it unchanged or raise ConfigError."""
    _check_types("", env)
    _check_text("", env)
    _str("name", env.name, DNS_LABEL, "a DNS label such as prod or dev")
    _str("namespace", env.namespace, DNS_LABEL, "a DNS label")
    _str("spring_profile", env.spring_profile, SPRING_PROFILES, "Spring profile names separated by commas")
    if env.pod_security not in ("restricted", "baseline"):
        _fail("pod_security", env.pod_security, "allowed: restricted, baseline")
    _str("chart_version", env.chart_version, re.compile(r"^(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})$"),
         "a SemVer version such as 1.0.0 (numbers of at most 4 digits)")
    if not env.services:
        _fail("services", env.services, "allowed: at least one service")
    names = [s.name for s in env.services]
    if len(set(names)) != len(names):
        _fail("services", names, "allowed: each service name once")
    for svc in env.services:  # a blue-green service also has the Service <name>-preview
        if svc.strategy == "blueGreen" and f"{svc.name}-preview" in names:
            _fail(f"services.{svc.name}-preview.name", f"{svc.name}-preview",
                  f"allowed: a name other than {svc.name}-preview, the preview Service of the blue-green {svc.name}")
    _unique("stores", [st.name for st in env.stores], "each store name once")
    _unique("image_pull_secrets", env.image_pull_secrets, "each Secret once")
    _unique("messaging", env.messaging.queues + env.messaging.topics, "each queue or topic name once")
    if env.ingress is not None and not any(svc.api_prefixes for svc in env.services):
        _fail("ingress", type(env.ingress).__name__, "allowed: None when no service has api_prefixes (nothing to route)")
    owners: dict[str, str] = {}
    for svc in env.services:
        for i, prefix in enumerate(svc.api_prefixes):
            if prefix in owners:
                _fail(f"services.{svc.name}.api_prefixes[{i}]", prefix,
                      f"allowed: a path prefix no other service routes ({owners[prefix]} has it)")
            owners[prefix] = svc.name
    for st in env.stores:
        p = f"stores.{st.name}"
        _check_types(p, st)
        if st.kind not in ("postgresql", "redis", "servicebus"):
            _fail(f"{p}.kind", st.kind, "allowed: postgresql, redis, servicebus")
        _str(f"{p}.host", st.host, HOSTNAME, "a fully-qualified host name")
        _int(f"{p}.port", st.port, 1, 65535)
        for j, extra in enumerate(st.extra_ports):
            _int(f"{p}.extra_ports[{j}]", extra, 1, 65535)
        if st.subnet_cidr or env.network_policy == "default-deny":
            _cidr(f"{p}.subnet_cidr", st.subnet_cidr)
        if env.key_vault is None and not (st.existing_secret and st.existing_secret_key):
            _fail(f"{p}.existing_secret", st.existing_secret, "allowed: the Secret (and key) holding the credential, "
                  "required without key_vault")
        if env.key_vault is not None and not st.key_vault_object:
            _fail(f"{p}.key_vault_object", st.key_vault_object, "allowed: the Key Vault object holding the credential")
        if st.key_vault_object and not KEY_VAULT_OBJECT.match(key_vault_object_name(st.key_vault_object, "s")):
            _fail(f"{p}.key_vault_object", st.key_vault_object, "allowed: Key Vault object-name characters "
                  "(letters, digits, '-'), with {service} as the only placeholder")
        _str(f"{p}.name", st.name, DNS_LABEL, "a DNS label (lower-case letters, digits, '-')")
        if st.existing_secret:
            _str(f"{p}.existing_secret", st.existing_secret, DNS_SUBDOMAIN, "a Secret name (DNS subdomain)")
        if st.existing_secret_key:
            _str(f"{p}.existing_secret_key", st.existing_secret_key, re.compile(r"^[-._a-zA-Z0-9]{1,253}$"),
                 "a Secret key (letters, digits, '-', '_', '.')")
    np_ = env.node_pool
    _check_types("node_pool", np_)
    _str("node_pool.name", np_.name, re.compile(r"^[a-z][a-z0-9]{0,11}$"),
         "an AKS node pool name (lower-case letters and digits, at most 12, starting with a letter)")
    _str("node_pool.taint_key", np_.taint_key, LABEL_KEY, "a taint key (a qualified label key)")
    _str("node_pool.taint_value", np_.taint_value, LABEL_VALUE, "a taint value (a label value)")
    _str("node_pool.vm_size", np_.vm_size, VM_SIZE, "an Azure VM size such as Standard_D4s_v3")
    _int("node_pool.min_nodes", np_.min_nodes, 1, 1000)
    _int("node_pool.max_nodes", np_.max_nodes, np_.min_nodes, 1000)
    if not is_cpu(np_.allocatable_cpu):
        _fail("node_pool.allocatable_cpu", np_.allocatable_cpu, "allowed: a CPU quantity such as 3600m")
    if not is_bytes(np_.allocatable_memory):
        _fail("node_pool.allocatable_memory", np_.allocatable_memory, "allowed: a binary quantity such as 12Gi")
    if env.ingress is not None:
        ing = env.ingress
        _check_types("ingress", ing)
        _str("ingress.name", ing.name, DNS_SUBDOMAIN, "an Ingress name (DNS subdomain)")
        _str("ingress.class_name", ing.class_name, DNS_SUBDOMAIN, "an IngressClass name (DNS subdomain)")
        _str("ingress.host", ing.host, HOSTNAME, "a host name such as api.tripgen.com")
        if isinstance(ing, NginxIngress):
            _str("ingress.controller_namespace", ing.controller_namespace, DNS_LABEL,
                 "the namespace of the ingress-nginx controller (let in by default-deny)")
        _int("ingress.request_timeout_seconds", ing.request_timeout_seconds, 1, 3600)
        if isinstance(ing, AppGatewayIngress):
            _cidr("ingress.gateway_subnet_cidr", ing.gateway_subnet_cidr)
            _str("ingress.tls_certificate", ing.tls_certificate, APPGW_CERTIFICATE,
                 "an Application Gateway SSL certificate name (letters, digits, '.', '_', '-'; at most 80)")
            _str("ingress.waf_policy_id", ing.waf_policy_id, WAF_POLICY_ID, "empty or the resource ID of an "
                 "ApplicationGatewayWebApplicationFirewallPolicies object")
    if env.pod_security_warn not in ("restricted", "baseline"):
        _fail("pod_security_warn", env.pod_security_warn, "allowed: restricted, baseline")
    if env.network_policy not in ("default-deny", "allow-all"):
        _fail("network_policy", env.network_policy, "allowed: default-deny, allow-all")
    gr = env.guardrails
    _check_types("guardrails", gr)
    _int("guardrails.min_replicas", gr.min_replicas, 1, 100)
    for i, kind in enumerate(gr.ingress_kinds):
        if kind not in INGRESS_KINDS:
            _fail(f"guardrails.ingress_kinds[{i}]", kind, f"allowed: {', '.join(INGRESS_KINDS)}")
    if gr.require_default_deny and env.network_policy != "default-deny":
        _fail("network_policy", env.network_policy, "allowed with guardrails.require_default_deny: default-deny")
    if gr.ingress_kinds and env.ingress is not None and type(env.ingress).__name__ not in gr.ingress_kinds:
        _fail("ingress", type(env.ingress).__name__, f"allowed by guardrails.ingress_kinds: {', '.join(gr.ingress_kinds)}")
    for i, name in enumerate(env.image_pull_secrets):
        _str(f"image_pull_secrets[{i}]", name, DNS_SUBDOMAIN, "a Secret name (DNS subdomain)")
    r = env.rolling
    _int("rolling.max_surge", r.max_surge, 0, 100)
    _int("rolling.max_unavailable", r.max_unavailable, 0, 100)
    if r.max_surge == 0 and r.max_unavailable == 0:
        _fail("rolling.max_unavailable", 0, "allowed: at least 1 when max_surge is 0")
    _int("rolling.revision_history_limit", r.revision_history_limit, 0, 100)
    _int("rolling.progress_deadline_seconds", r.progress_deadline_seconds, 60, 7200)
    d = env.delivery
    _int("delivery.scale_down_delay_seconds", d.scale_down_delay_seconds, 0, 86400)
    _str("delivery.max_preview_error_rate", d.max_preview_error_rate, re.compile(r"^0(\.[0-9]+)?$|^1$"),
         "a ratio between 0 and 1 such as 0.005")
    _str("delivery.prometheus_address", d.prometheus_address, re.compile(r"^https?://[^\s]+$"), "an http(s) URL")
    last = 0
    for i, (weight, pause) in enumerate(d.canary_steps):
        _int(f"delivery.canary_steps[{i}].weight", weight, last + 1, 99)
        _int(f"delivery.canary_steps[{i}].pause_seconds", pause, 0, 86400)
        last = weight
    g = env.gitops
    _str("gitops.repo_url", g.repo_url, re.compile(r"^(https://|ssh://|git@)[^\s]+$"), "a git repository URL")
    _str("gitops.target_revision", g.target_revision, re.compile(r"^[A-Za-z0-9._/-]+$"), "a branch, tag or commit")
    _str("gitops.argocd_namespace", g.argocd_namespace, DNS_LABEL, "a namespace")
    _str("gitops.project", g.project, DNS_LABEL, "an AppProject name")
    if g.chart_registry:
        parse_registry(g.chart_registry, "gitops.chart_registry")
    if env.monitoring is not None:
        _str("monitoring.namespace", env.monitoring.namespace, DNS_LABEL, "a namespace")
    if g.sync_window is not None:
        w = g.sync_window
        if w.kind not in ("allow", "deny"):
            _fail("gitops.sync_window.kind", w.kind, "allowed: allow, deny")
        _str("gitops.sync_window.schedule", w.schedule, re.compile(r"^\S+( \S+){4}$"), "a five-field cron schedule")
        _str("gitops.sync_window.duration", w.duration, re.compile(r"^[0-9]+[hm]$"), "a duration such as 2h")
        if not w.opens_once_a_day():
            _fail("gitops.sync_window.schedule", w.schedule, "allowed: a window that opens once a day (one minute "
                  "and hour; Argo CD opens it at every match, so '0 2-4 * * 1-5' with 2h allows 02:00-06:00); "
                  "write it as SyncWindow.weekly(start='02:00', end='04:00', days='Mon-Fri', ...)")
        _str("gitops.sync_window.time_zone", w.time_zone, TIME_ZONE, "an IANA time zone such as Asia/Seoul")
        for i, pattern in enumerate(w.applications):
            _str(f"gitops.sync_window.applications[{i}]", pattern, re.compile(r"^[a-z0-9*?][-a-z0-9*?.]{0,252}$"),
                 "an Application name or glob such as * or tripgen-*")
    if env.key_vault is not None:
        _str("key_vault.name", env.key_vault.name, re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$"),
             "3-24 letters, digits and hyphens (Key Vault names have no underscores)")
        if env.key_vault.tenant_id and not GUID.match(env.key_vault.tenant_id):
            _fail("key_vault.tenant_id", env.key_vault.tenant_id, "allowed: empty or a lower-case GUID")
    mon = env.monitoring if env.monitoring is not None else Monitoring()
    if mon.service_monitor_api_version not in ("monitoring.coreos.com/v1", "azmonitoring.coreos.com/v1"):
        _fail("monitoring.service_monitor_api_version", mon.service_monitor_api_version,
              "allowed: monitoring.coreos.com/v1, azmonitoring.coreos.com/v1")
    _int("monitoring.scrape_interval_seconds", mon.scrape_interval_seconds, 5, 3600)
    _validate_observability(env, mon)
    cache = env.cache
    _check_types("cache", cache)
    for f in fields(cache):
        _int(f"cache.{f.name}", getattr(cache, f.name), 1, 10_000_000)
    for i, q in enumerate(env.messaging.queues + env.messaging.topics):
        _str(f"messaging[{i}]", q, DNS_LABEL, "a hyphenated queue or topic name")
    for svc in env.services:
        _validate_service(f"services.{svc.name}", svc, env, set(names))
    _validate_feature_egress(env)
    return env


def _egress_cidrs(path: str, values: tuple[str, ...]) -> None:
    if not isinstance(values, tuple):
        _fail(path, values, "allowed: a tuple of CIDRs")
    for i, cidr in enumerate(values):
        _cidr(f"{path}[{i}]", cidr)
        if str(cidr).endswith("/0"):
            _fail(f"{path}[{i}]", cidr, "allowed: an address block narrower than the Internet (declare Internet "
                  "egress with its reason instead)")


def _ports(path: str, values: tuple[int, ...]) -> None:
    if not isinstance(values, tuple) or not values:
        _fail(path, values, "allowed: a tuple of at least one TCP port")
    for i, port in enumerate(values):
        _int(f"{path}[{i}]", port, 1, 65535)


def _validate_feature_egress(env: Environment) -> None:
    """Every feature a service turns on has its egress under default-deny (TRIPGEN.md 6.7-6.8): the
    Kubernetes API (``kubernetes_api_access``) the API server's CIDRs, telemetry its ingestion
    endpoint's CIDRs or a declared Internet egress."""
    cn = env.cluster_network
    _check_types("cluster_network", cn)
    _egress_cidrs("cluster_network.api_server_cidrs", cn.api_server_cidrs)
    _ports("cluster_network.api_server_ports", cn.api_server_ports)
    t = env.telemetry
    if t is not None:
        _egress_cidrs("telemetry.egress_cidrs", t.egress_cidrs)
        _ports("telemetry.egress_ports", t.egress_ports)
        if t.internet_egress_reason and t.egress_cidrs:
            _fail("telemetry.internet_egress_reason", t.internet_egress_reason, "allowed: empty when egress_cidrs "
                  "names the ingestion endpoint (one destination for telemetry)")
    if env.network_policy != "default-deny":
        return
    for svc in env.services:
        if svc.kubernetes_api_access and not cn.api_server_cidrs:
            _fail(f"services.{svc.name}.kubernetes_api_access", True, f"allowed with network_policy default-deny: "
                  f"the egress of {svc.name}'s feature kubernetes-api, cluster_network.api_server_cidrs (the API "
                  "server's address); without it the default deny blocks the API")
    if t is not None and env.monitoring is not None and not (t.egress_cidrs or t.internet_egress_reason.strip()):
        users = ", ".join(s.name for s in env.services)
        _fail("telemetry.egress_cidrs", (), f"allowed with network_policy default-deny: the egress of the feature "
              f"telemetry of {users}: the ingestion endpoint's CIDRs (egress_cidrs) or Internet egress with "
              "a reason (internet_egress_reason)")


def _validate_observability(env: Environment, mon: Monitoring) -> None:
    """Alert routing, dashboards and telemetry (TRIPGEN.md 9.1-9.3)."""
    _check_types("monitoring", mon)
    _str("monitoring.runbook_base_url", mon.runbook_base_url, re.compile(r"^https?://[^\s{}]+$"),
         "an http(s) URL without '{' or '}' (the alert annotations are Prometheus templates)")
    _str("monitoring.grafana_datasource_uid", mon.grafana_datasource_uid, re.compile(r"^[a-zA-Z0-9_-]{1,40}$"),
         "a Grafana data source UID")
    r = mon.alert_routing
    if r is not None:
        _check_types("monitoring.alert_routing", r)
        for name in ("name", "receivers_secret", "pagerduty_receiver", "teams_receiver"):
            _str(f"monitoring.alert_routing.{name}", getattr(r, name), DNS_LABEL, "a DNS label")
        for name in ("pagerduty_key", "teams_key"):
            _str(f"monitoring.alert_routing.{name}", getattr(r, name), re.compile(r"^[-._a-zA-Z0-9]{1,253}$"),
                 "a Secret key")
        if r.pagerduty_receiver == r.teams_receiver:
            _fail("monitoring.alert_routing.teams_receiver", r.teams_receiver, "allowed: a name other than the PagerDuty one")
        _int("monitoring.alert_routing.group_wait_seconds", r.group_wait_seconds, 0, 3600)
        for name in ("group_interval_seconds", "critical_repeat_seconds", "warning_repeat_seconds"):
            _int(f"monitoring.alert_routing.{name}", getattr(r, name), 1, 7 * 86400)
    t = env.telemetry
    if t is not None:
        _check_types("telemetry", t)
        if env.key_vault is None:
            _fail("telemetry", "Telemetry", "allowed: None (the connection string comes from key_vault, which this "
                  "environment has not)")
        _str("telemetry.connection_string_object", t.connection_string_object, KEY_VAULT_OBJECT,
             "a Key Vault object name (letters, digits, hyphens)")
        _int("telemetry.sampling_percentage", t.sampling_percentage, 1, 100)
        if t.log_format not in ("ecs", "logstash", "gelf"):
            _fail("telemetry.log_format", t.log_format, "allowed: ecs, logstash, gelf")
