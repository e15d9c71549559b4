"""Config -> cdk8s App: one HelmChart per chart, composed from the generic constructs.

This is the TripGen layer: its conventions (Spring profile and port settings, the cache strategy,
Service Bus names, the actuator probe paths, Key Vault and workload identity, the App Gateway, the
AKS node pool, the platform chart, the alerts and dashboards) are decided here, from the config.
"""

from __future__ import annotations

import cdk8s

from ..app import pipeline
from ..app.gitops import GITOPS_DIR
from ..app.model import Destination, GitOps, NodePool, Project
from ..app.model import Guardrails as GenericGuardrails
from ..app.pipeline import EnvironmentSynthesis
from ..lib.azure import (
    AKS_AGENT_POOL_LABEL,
    WORKLOAD_IDENTITY_AUTHENTICATION,
    KeyVaultAccess,
    PrivateEndpointSecret,
    PrivateEndpointSecretProps,
    app_gateway_annotations,
    servicebus_queue_trigger,
)
from ..lib.constructs import (
    AlertmanagerConfig,
    AlertRules,
    AlertRulesProps,
    AllowAllPolicy,
    AllowAllPolicyProps,
    ApiIngress,
    ApiIngressProps,
    AutoscaledService,
    AutoscaledServiceProps,
    GrafanaDashboard,
    GrafanaDashboardProps,
    IngressRoute,
    MicroService,
    MicroServiceProps,
    NamespaceNetworkPolicies,
    NamespacePoliciesProps,
    PreviewAnalysis,
    ServiceNetworkPolicy,
    ServiceNetworkPolicyProps,
    ServiceScrape,
    ServiceScrapeProps,
    Strategy,
    ZoneSpreadPolicy,
    ZoneSpreadPolicyProps,
    nginx_annotations,
)
from ..lib.constructs.connections import KUBERNETES_API
from ..lib.constructs.microservice import SECRETS_MOUNT
from ..lib.constructs.strategy import AnyStrategy
from ..lib.errors import ConfigError
from ..lib.helmchart import HelmChart, HelmChartProps
from ..lib.labels import standard_labels
from ..lib.model import EgressFeature, HorizontalScaling, IpBlock, KedaScaling, Toleration
from ..lib.quantities import byte_count, cpu_millicores, format_bytes, format_millicores
from .config import (
    AppGatewayIngress,
    Environment,
    KeyVaultSecret,
    PrivateEndpointStore,
    QueueScaling,
    ServiceConfig,
    StoreAttachment,
    key_vault_object_name,
)
from .config import validate as validate_config
from .observability import (
    ALERT_GROUP,
    ALERT_RULES_NAME,
    APPINSIGHTS_ALIAS,
    HISTOGRAM_SETTING,
    alert_routing,
    alerts,
    deployments_dashboard,
    folder,
    preview_error_rate_query,
    service_dashboard,
    telemetry_config,
)
from .platform import PlatformProps, TripGenPlatform

PLATFORM_CHART = "tripgen-platform"
PART_OF = "tripgen"
HELPER_PREFIX = "tripgen"
CONFIG_IMPORT = f"optional:configtree:{SECRETS_MOUNT}/"
"""Spring reads every file under /mnt/secrets as a property (Key Vault CSI in prod, a Secret in dev)."""

DIGEST_WAIVER = ("CKV_K8S_43", "the release pipeline pins image.digest at deploy time; until then the tag is an "
                 "immutable release tag (mutable tags are refused in prod)")
API_TOKEN_WAIVER = ("CKV_K8S_38", "the service reads the Kubernetes API (bound to ClusterRole application-reader, "
                    "PP 7.2.2)")


def checkov_waivers(cfg: ServiceConfig) -> dict[str, str]:
    """checkov skip annotations, each with its reason, for the checks this workload knowingly fails."""
    waivers = []
    if not cfg.image.digest:
        waivers.append(DIGEST_WAIVER)
    if cfg.kubernetes_api_access:
        waivers.append(API_TOKEN_WAIVER)
    return {f"checkov.io/skip{i}": f"{check}={reason}" for i, (check, reason) in enumerate(waivers, start=1)}


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _cache_config(env: Environment) -> dict[str, str]:
    """The two-level cache strategy of PP 5.2.2 (Caffeine L1, Redis L2)."""
    c = env.cache
    return {
        "CACHE_L1_TYPE": "caffeine",
        "CACHE_L1_TTL": _duration(c.l1_ttl_seconds),
        "CACHE_L1_MAX_ENTRIES": str(c.l1_max_entries),
        "CACHE_L2_TYPE": "redis",
        "CACHE_L2_TTL": _duration(c.l2_ttl_seconds),
        "CACHE_TTL_USER_SESSION": _duration(c.user_session_ttl_seconds),
        "CACHE_TTL_LOCATION_DATA": _duration(c.location_data_ttl_seconds),
        "CACHE_TTL_AI_RESULTS": _duration(c.ai_results_ttl_seconds),
        "CACHE_TTL_STATIC_CONTENT": _duration(c.static_content_ttl_seconds),
    }


def _messaging_config(env: Environment) -> dict[str, str]:
    cfg = {}
    for q in env.messaging.queues:
        cfg[f"SERVICEBUS_QUEUE_{q.upper().replace('-', '_')}"] = q
    for t in env.messaging.topics:
        cfg[f"SERVICEBUS_TOPIC_{t.upper().replace('-', '_')}"] = t
    return cfg


def _chart_props(env: Environment, app_version: str, description: str) -> HelmChartProps:
    return HelmChartProps(namespace=env.namespace, version=env.chart_version, app_version=app_version,
                          description=description, environment=env.name, keywords=(PART_OF, env.name),
                          annotations={"tripgen.io/environment": env.name, "tripgen.io/generated-by": "tripgen-cdk8s"},
                          helper_prefix=HELPER_PREFIX, kubernetes=env.kubernetes)


def build(env: Environment, app: cdk8s.App) -> tuple[list[HelmChart], dict[str, MicroService]]:
    """Compose the Helm charts of ``env`` in ``app``: the platform chart first, then one per
    service; returns the charts and the services by name."""
    for cfg in env.services:
        if cfg.name in (PLATFORM_CHART, GITOPS_DIR):
            raise ConfigError(f"services.{cfg.name}.name", cfg.name,
                              f"allowed: a name other than the charts generated beside the services "
                              f"({PLATFORM_CHART}, {GITOPS_DIR})")
    platform = HelmChart(app, PLATFORM_CHART, _chart_props(env, env.chart_version,
                                                           "TripGen namespace, quota, RBAC, network, ingress and alerts"))
    charts: list[HelmChart] = [platform]
    services: dict[str, MicroService] = {}
    for cfg in env.services:
        chart = HelmChart(app, cfg.name, _chart_props(env, cfg.image.tag, f"TripGen {cfg.name}: {cfg.purpose}"))
        charts.append(chart)
        services[cfg.name] = _service(chart, cfg, env)
    for cfg in env.services:
        for callee in cfg.calls:
            services[cfg.name].connections.allow_to(services[callee])
    if env.network_policy == "default-deny":
        for cfg in env.services:
            svc = services[cfg.name]
            if cfg.external_egress:
                svc.connections.allow_to(IpBlock.internet(reason="HTTPS to " + ", ".join(cfg.external_egress)), (443,))
            for feature in _egress_features(cfg, env):
                svc.connections.allow_feature(feature)
            ServiceNetworkPolicy(svc.helm_chart, "network-policy", ServiceNetworkPolicyProps(workload=svc))
    _platform(platform, env, services)
    return charts, services


TELEMETRY = "telemetry"
"""The egress feature of a service sending Application Insights telemetry (TRIPGEN.md 6.8)."""


def _egress_features(cfg: ServiceConfig, env: Environment) -> list[EgressFeature]:
    """The egress of the features ``cfg`` turns on, with the destinations config names (TRIPGEN.md
    6.7-6.8): the API server for ``kubernetes_api_access``, the telemetry ingestion endpoint (or
    the Internet, with the reason config gives) for Application Insights.  A feature whose
    destination config leaves out gets no rule: the validate invariant then names it."""
    out = []
    cn = env.cluster_network
    if cfg.kubernetes_api_access and cn.api_server_cidrs:
        out.append(EgressFeature(KUBERNETES_API, tuple(IpBlock(c, description="Kubernetes API server")
                                                       for c in cn.api_server_cidrs), tuple(cn.api_server_ports)))
    t = env.telemetry
    if t is not None and env.monitoring is not None:
        if t.egress_cidrs:
            out.append(EgressFeature(TELEMETRY, tuple(IpBlock(c, description="telemetry ingestion endpoint")
                                                      for c in t.egress_cidrs), tuple(t.egress_ports)))
        elif t.internet_egress_reason.strip():
            out.append(EgressFeature(TELEMETRY, (IpBlock.internet(reason=t.internet_egress_reason),),
                                     tuple(t.egress_ports)))
    return out


def _strategy(cfg: ServiceConfig, env: Environment) -> AnyStrategy:
    r, d = env.rolling, env.delivery
    history, deadline = r.revision_history_limit, r.progress_deadline_seconds
    if cfg.strategy == "blueGreen":
        return Strategy.blue_green(
            auto_promotion_enabled=d.auto_promotion_enabled, scale_down_delay_seconds=d.scale_down_delay_seconds,
            analysis=PreviewAnalysis(prometheus_address=d.prometheus_address,
                                     query=preview_error_rate_query(env.namespace),
                                     max_value=d.max_preview_error_rate, metric_name="preview-5xx-rate"),
            revision_history_limit=history, progress_deadline_seconds=deadline)
    if cfg.strategy == "canary":
        return Strategy.canary(steps=d.canary_steps, revision_history_limit=history, progress_deadline_seconds=deadline)
    return Strategy.rolling(max_surge=r.max_surge, max_unavailable=r.max_unavailable, revision_history_limit=history,
                            progress_deadline_seconds=deadline)


def _service_config(cfg: ServiceConfig, env: Environment) -> dict[str, str]:
    """The settings a TripGen (Spring Boot) service reads: its port and profile, the cache strategy
    when it uses Redis, the Service Bus names when it uses Service Bus."""
    config = {"SERVER_PORT": str(cfg.port), "SPRING_PROFILES_ACTIVE": env.spring_profile}
    kinds = {env.store(a.store).kind for a in cfg.stores}
    if "redis" in kinds:
        config.update(_cache_config(env))
    if "servicebus" in kinds:
        config.update(_messaging_config(env))
    return config


def _store_settings(store: PrivateEndpointStore, att: StoreAttachment) -> dict[str, str]:
    """The non-secret connection settings a service reads for ``store`` (its credential is a file)."""
    if store.kind == "postgresql":
        settings = {"DB_HOST": store.host, "DB_PORT": str(store.port), "DB_NAME": att.database,
                    "DB_USERNAME": att.username}
        if store.tls:
            settings["DB_SSLMODE"] = "require"
        return settings
    if store.kind == "redis":
        return {"REDIS_HOST": store.host, "REDIS_PORT": str(store.port), "REDIS_DATABASE": str(att.redis_database),
                "SPRING_DATA_REDIS_SSL_ENABLED": "true" if store.tls else "false"}
    return {"SERVICE_BUS_NAMESPACE": store.host}


def _service(chart: HelmChart, cfg: ServiceConfig, env: Environment) -> MicroService:
    health = cfg.health_path.rstrip("/")
    svc = MicroService(chart, "service", MicroServiceProps(
        name=cfg.name, namespace=env.namespace, image=cfg.image, resources=cfg.resources, replicas=cfg.replicas,
        port=cfg.port, liveness_path=cfg.liveness_path or f"{health}/liveness",
        readiness_path=cfg.readiness_path or f"{health}/readiness", writable_paths=cfg.writable_paths,
        config=_service_config(cfg, env), strategy=_strategy(cfg, env), part_of=PART_OF,
        pod_labels={"tier": "application"}, workload_annotations=checkov_waivers(cfg),
        kubernetes_api_access=cfg.kubernetes_api_access, image_pull_secrets=env.image_pull_secrets))
    if cfg.scaling is not None:
        AutoscaledService(chart, "autoscaling", AutoscaledServiceProps(
            target=svc, scaling=_scaling(cfg.scaling), min_available=cfg.min_available or 0))
    if env.zone_spread:
        ZoneSpreadPolicy(chart, "zone-spread", ZoneSpreadPolicyProps(
            workloads=(svc,), node_label_key=AKS_AGENT_POOL_LABEL, node_label_values=(env.node_pool.name,),
            tolerations=(Toleration(env.node_pool.taint_key, env.node_pool.taint_value),)))
    access = None
    if env.key_vault is not None:
        access = KeyVaultAccess(env.key_vault.name, env.key_vault.tenant_id, cfg.identity_client_id)
    for att in cfg.stores:
        store = env.store(att.store)
        PrivateEndpointSecret(chart, f"store-{att.store}", PrivateEndpointSecretProps(
            workload=svc, alias=att.secret_alias, key_vault=access,
            object_name=key_vault_object_name(store.key_vault_object, svc.name) if access else "",
            existing_secret="" if access else store.existing_secret,
            existing_secret_key="" if access else store.existing_secret_key,
            endpoint=IpBlock(store.subnet_cidr, description=f"{store.name} private endpoint") if store.subnet_cidr
            else None, ports=(store.port, *store.extra_ports), settings=_store_settings(store, att),
            feature=f"store-{store.name}"))
    for sec in cfg.secrets:
        if isinstance(sec, KeyVaultSecret):
            PrivateEndpointSecret(chart, f"secret-{sec.object_name}", PrivateEndpointSecretProps(
                workload=svc, alias=sec.alias, key_vault=access, object_name=sec.object_name))
        else:
            PrivateEndpointSecret(chart, f"secret-{sec.alias.lower()}", PrivateEndpointSecretProps(
                workload=svc, alias=sec.alias, existing_secret=sec.secret, existing_secret_key=sec.key))
    if env.monitoring is not None:
        ServiceScrape(chart, "monitoring", ServiceScrapeProps(
            target=svc, path=cfg.metrics_path, interval_seconds=env.monitoring.scrape_interval_seconds,
            api_version=env.monitoring.service_monitor_api_version))
        _observe(chart, cfg, env, svc, access)
    if svc.secret_source is not None:
        svc.add_config("SPRING_CONFIG_IMPORT", CONFIG_IMPORT)
    return svc


def _scaling(sc: HorizontalScaling | QueueScaling) -> HorizontalScaling | KedaScaling:
    """A Service Bus queue scaler is KEDA's ``azure-servicebus`` trigger with workload identity."""
    if isinstance(sc, HorizontalScaling):
        return sc
    return KedaScaling(
        min_replicas=sc.min_replicas, max_replicas=sc.max_replicas, cpu_utilization=sc.cpu_utilization,
        memory_utilization=sc.memory_utilization, scale_down_stabilization_seconds=sc.scale_down_stabilization_seconds,
        triggers=(servicebus_queue_trigger(namespace=sc.servicebus_namespace, queue=sc.queue_name,
                                           message_count=sc.message_count),),
        authentication=WORKLOAD_IDENTITY_AUTHENTICATION, authentication_name="servicebus")


def _observe(chart: HelmChart, cfg: ServiceConfig, env: Environment, svc: MicroService,
             access: KeyVaultAccess | None) -> None:
    """TRIPGEN.md 9.2-9.3: the histogram the p95 panels need, the service's dashboard, and
    Application Insights (its connection string through Key Vault like every other secret)."""
    assert env.monitoring is not None
    svc.add_config(HISTOGRAM_SETTING, "true")
    if env.telemetry is not None:
        svc.connections.uses(TELEMETRY)
        for key, value in telemetry_config(cfg, env.telemetry).items():
            svc.add_config(key, value)
        PrivateEndpointSecret(chart, "secret-appinsights", PrivateEndpointSecretProps(
            workload=svc, alias=APPINSIGHTS_ALIAS, key_vault=access,
            object_name=env.telemetry.connection_string_object))
    if env.monitoring.dashboards:
        GrafanaDashboard(chart, "dashboard", GrafanaDashboardProps(
            name=f"{cfg.name}-dashboard", namespace=env.namespace, labels=dict(svc.labels), folder=folder(env),
            dashboard=service_dashboard(env, cfg)))


def _platform(platform: HelmChart, env: Environment, services: dict[str, MicroService]) -> None:
    labels = standard_labels(name=PLATFORM_CHART, instance=PLATFORM_CHART, version=env.chart_version,
                             component="platform", chart=f"{PLATFORM_CHART}-{env.chart_version}", part_of=PART_OF)
    pool = env.node_pool
    TripGenPlatform(platform, "platform", PlatformProps(
        namespace=env.namespace, labels=labels, pod_security=env.pod_security, pod_security_warn=env.pod_security_warn,
        quota_requests_cpu=format_millicores(pool.max_nodes * cpu_millicores(pool.allocatable_cpu))
        if env.resource_quota else None,
        quota_requests_memory=format_bytes(pool.max_nodes * byte_count(pool.allocatable_memory))
        if env.resource_quota else None,
        reader_service_accounts=tuple(services[c.name].service_account_name
                                      for c in env.services if c.kubernetes_api_access)))
    ing = env.ingress
    monitoring_namespace = env.monitoring.namespace if env.monitoring else "monitoring"
    if env.network_policy == "default-deny":
        entry: str | IpBlock = (IpBlock(ing.gateway_subnet_cidr, description="Application Gateway subnet")
                                if isinstance(ing, AppGatewayIngress)
                                else ing.controller_namespace if ing is not None else monitoring_namespace)
        NamespaceNetworkPolicies(platform, "network", NamespacePoliciesProps(
            namespace=env.namespace, labels=labels, policy_name="production-network-policy",
            sources=tuple(dict.fromkeys(("kube-system", entry, monitoring_namespace))),
            application_ports=tuple(sorted({c.port for c in env.services}))))
    else:
        AllowAllPolicy(platform, "network", AllowAllPolicyProps(namespace=env.namespace, labels=labels,
                                                                name="dev-basic-policy"))
    if ing is not None:
        if isinstance(ing, AppGatewayIngress):
            annotations = app_gateway_annotations(tls_certificate=ing.tls_certificate, waf_policy_id=ing.waf_policy_id,
                                                  request_timeout_seconds=ing.request_timeout_seconds)
        else:
            annotations = nginx_annotations(ing.request_timeout_seconds)
        ApiIngress(platform, "ingress", ApiIngressProps(
            name=ing.name, namespace=env.namespace, labels=labels, host=ing.host, class_name=ing.class_name,
            annotations=annotations,
            routes=tuple(IngressRoute(p, services[c.name]) for c in env.services for p in c.api_prefixes)))
    if env.monitoring is not None:
        AlertRules(platform, "alerts", AlertRulesProps(
            name=ALERT_RULES_NAME, namespace=env.namespace, labels=labels, group=ALERT_GROUP, alerts=alerts(env),
            runbook_base_url=env.monitoring.runbook_base_url))
        if env.monitoring.alert_routing is not None:
            AlertmanagerConfig(platform, "alert-routing", alert_routing(env, env.monitoring.alert_routing, labels))
        if env.monitoring.dashboards:
            GrafanaDashboard(platform, "deployments-dashboard", GrafanaDashboardProps(
                name="deployments-dashboard", namespace=env.namespace, labels=labels, folder=folder(env),
                dashboard=deployments_dashboard(env)))


def to_project(env: Environment) -> Project:
    """The TripGen environment ``env`` (validated) as the application model's Project: TripGen's
    charts, and its guardrails, GitOps settings and node pool as data."""
    env = validate_config(env)
    g = env.gitops
    pool = env.node_pool
    gr = env.guardrails
    waves = {PLATFORM_CHART: g.platform_sync_wave, **{c.name: c.sync_wave for c in env.services}}

    def build_env(app: cdk8s.App) -> None:
        build(env, app)

    def overrides(sets: tuple[str, ...]) -> Project:
        from .overrides import apply_overrides

        return to_project(apply_overrides(env, list(sets)))

    return Project(
        name=env.name, build=build_env, app=PART_OF, namespace=env.namespace, version=env.chart_version,
        description="TripGen", chart_metadata=env.chart_metadata,
        guardrails=GenericGuardrails(
            immutable_image_tags=gr.immutable_image_tags, release_tag_pattern=gr.release_tag_pattern,
            require_digest=gr.require_digest, min_replicas=gr.min_replicas,
            require_default_deny=gr.require_default_deny, require_pdb=gr.require_pdb,
            require_resources=gr.require_resources, require_probes=gr.require_probes,
            enforce_in_cluster=gr.enforce_in_cluster),
        gitops=GitOps(repo_url=g.repo_url, target_revision=g.target_revision, argocd_namespace=g.argocd_namespace,
                      project=g.project, sync_window=g.sync_window, waves=waves, default_wave=g.platform_sync_wave,
                      destination=Destination(server=g.destination_server, name=g.destination_name),
                      chart_registry=g.chart_registry),
        node_pool=NodePool(name=pool.name, max_nodes=pool.max_nodes, allocatable_cpu=pool.allocatable_cpu,
                           allocatable_memory=pool.allocatable_memory),
        overrides=overrides)


def synthesize(env: Environment) -> EnvironmentSynthesis:
    """Synthesise every chart of ``env`` and its Argo CD objects (the application model's pipeline)."""
    return pipeline.synthesize(to_project(env))
