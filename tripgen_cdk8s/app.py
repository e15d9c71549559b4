"""Config -> cdk8s App: one HelmChart per chart, composed from the constructs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cdk8s

from .checks import capacity_report, check_capacity
from .config import AppGatewayIngress, Environment, KeyVaultSecret, validate
from .constructs import (
    AlertmanagerConfig,
    AlertRules,
    AlertRulesProps,
    AllowAllPolicy,
    ApiIngress,
    ApiIngressProps,
    ArgoApplication,
    ArgoApplicationProps,
    ArgoProject,
    ArgoProjectProps,
    AutoscaledService,
    AutoscaledServiceProps,
    GrafanaDashboard,
    GrafanaDashboardProps,
    KeyVaultAccess,
    MicroService,
    MicroServiceProps,
    NamespaceNetworkPolicies,
    NamespacePoliciesProps,
    PlatformProps,
    PrivateEndpointSecret,
    PrivateEndpointSecretProps,
    ResourceKind,
    ServiceNetworkPolicy,
    ServiceScrape,
    TripGenPlatform,
    ZoneSpreadPolicy,
    ZoneSpreadPolicyProps,
)
from .errors import ConfigError
from .helmchart import ChartValues, HelmChart, ManifestChart
from .labels import standard_labels
from .observability import (
    ALERT_GROUP,
    ALERT_RULES_NAME,
    APPINSIGHTS_ALIAS,
    HISTOGRAM_SETTING,
    alert_routing,
    alerts,
    deployments_dashboard,
    folder,
    service_dashboard,
    telemetry_config,
)
from .quantities import format_bytes, format_millicores

PLATFORM_CHART = "tripgen-platform"


@dataclass(frozen=True)
class SynthesizedChart:
    """One chart's synthesised objects and its Helm values/bindings, ready for the writer."""

    env: str
    name: str
    version: str
    app_version: str
    description: str
    namespace: str
    objects: list[dict[str, Any]]
    values: ChartValues
    notes: list[str]
    files: dict[tuple[str, str], str] | None = None

    @property
    def is_helm(self) -> bool:
        """A Helm chart (templated), or a plain manifest set (``files`` maps objects to paths)."""
        return self.files is None


@dataclass(frozen=True)
class Synthesis:
    """All charts of one environment, plus warnings for stderr."""

    env: Environment
    charts: list[SynthesizedChart]
    warnings: list[str]


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _base_config(env: Environment, port: int) -> dict[str, str]:
    c = env.cache
    cfg = {
        "SERVER_PORT": str(port),
        "SPRING_PROFILES_ACTIVE": env.spring_profile,
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
    return cfg


def _messaging_config(env: Environment) -> dict[str, str]:
    cfg = {}
    for q in env.messaging.queues:
        cfg[f"SERVICEBUS_QUEUE_{q.upper().replace('-', '_')}"] = q
    for t in env.messaging.topics:
        cfg[f"SERVICEBUS_TOPIC_{t.upper().replace('-', '_')}"] = t
    return cfg


def build_app(env: Environment) -> tuple[cdk8s.App, list[HelmChart], dict[str, MicroService], list[str]]:
    """Compose the Helm charts of ``env``; returns the App, its charts (platform first), the
    services by name and the capacity warnings.  The ArgoCD objects follow in :func:`synthesize`,
    from the synthesised charts."""
    validate(env)
    for cfg in env.services:
        if cfg.name in (PLATFORM_CHART, GITOPS_DIR):
            raise ConfigError(f"services.{cfg.name}.name", cfg.name,
                              f"allowed: a name other than the charts generated beside the services "
                              f"({PLATFORM_CHART}, {GITOPS_DIR})")
    warnings = check_capacity(env)
    app = cdk8s.App()
    charts: list[HelmChart] = []
    services: dict[str, MicroService] = {}
    for cfg in env.services:
        chart = HelmChart(app, cfg.name, namespace=env.namespace, chart_version=env.chart_version,
                          app_version=cfg.image.tag, description=f"TripGen {cfg.name}: {cfg.purpose}")
        charts.append(chart)
        services[cfg.name] = _service(chart, cfg, env)
    for cfg in env.services:
        for callee in cfg.calls:
            services[cfg.name].allow_to(services[callee])
    if env.network_policy == "default-deny":
        for cfg in env.services:
            ServiceNetworkPolicy(services[cfg.name].chart, "network-policy", services[cfg.name],
                                 external_https=bool(cfg.external_egress))
    platform = _platform(app, env, services)
    charts.insert(0, platform)
    return app, charts, services, warnings


def _service(chart: HelmChart, cfg: Any, env: Environment) -> MicroService:
    config = _base_config(env, cfg.port)
    if any(env.store(a.store).kind == "servicebus" for a in cfg.stores):
        config.update(_messaging_config(env))
    svc = MicroService(chart, "service", MicroServiceProps(
        name=cfg.name, namespace=env.namespace, image=cfg.image, resources=cfg.resources,
        replicas=cfg.replicas, port=cfg.port, health_path=cfg.health_path, liveness_path=cfg.liveness_path,
        readiness_path=cfg.readiness_path, writable_paths=cfg.writable_paths,
        config=config, kubernetes_api_access=cfg.kubernetes_api_access,
        pod_labels={"tier": "application"}, strategy=cfg.strategy, rolling=env.rolling, delivery=env.delivery,
        image_pull_secrets=env.image_pull_secrets))
    if cfg.scaling is not None:
        AutoscaledService(chart, "autoscaling", AutoscaledServiceProps(
            service=svc, scaling=cfg.scaling, min_available=cfg.min_available or 0))
    if env.zone_spread:
        ZoneSpreadPolicy(chart, "zone-spread", ZoneSpreadPolicyProps(
            node_pool=env.node_pool.name, taint_key=env.node_pool.taint_key,
            taint_value=env.node_pool.taint_value)).apply(svc)
    access = None
    if env.key_vault is not None:
        access = KeyVaultAccess(env.key_vault.name, env.key_vault.tenant_id, cfg.identity_client_id)
    for att in cfg.stores:
        PrivateEndpointSecret(chart, f"store-{att.store}", PrivateEndpointSecretProps(
            service=svc, access=access, store=env.store(att.store), attachment=att))
    for sec in cfg.secrets:
        name = sec.object_name if isinstance(sec, KeyVaultSecret) else sec.alias.lower()
        PrivateEndpointSecret(chart, f"secret-{name}", PrivateEndpointSecretProps(service=svc, access=access, secret=sec))
    if env.monitoring is not None:
        ServiceScrape(chart, "monitoring", svc, path=cfg.metrics_path,
                      interval_seconds=env.monitoring.scrape_interval_seconds,
                      api_version=env.monitoring.service_monitor_api_version)
        _observe(chart, cfg, env, svc, access)
    return svc


def _observe(chart: HelmChart, cfg: Any, env: Environment, svc: MicroService, access: KeyVaultAccess | None) -> None:
    """TRIPGEN.md 9.2-9.3: the histogram the p95 panels need, the service's dashboard, and
    Application Insights (its connection string through Key Vault like every other secret)."""
    assert env.monitoring is not None
    svc.add_config(HISTOGRAM_SETTING, "true")
    if env.telemetry is not None:
        for key, value in telemetry_config(cfg, env.telemetry).items():
            svc.add_config(key, value)
        secret = KeyVaultSecret(object_name=env.telemetry.connection_string_object, alias=APPINSIGHTS_ALIAS)
        PrivateEndpointSecret(chart, "secret-appinsights", PrivateEndpointSecretProps(service=svc, access=access,
                                                                                       secret=secret))
    if env.monitoring.dashboards:
        GrafanaDashboard(chart, "dashboard", GrafanaDashboardProps(
            name=f"{cfg.name}-dashboard", namespace=env.namespace, labels=dict(svc.labels), folder=folder(env),
            dashboard=service_dashboard(env, cfg)))


def _platform(app: cdk8s.App, env: Environment, services: dict[str, MicroService]) -> HelmChart:
    platform = HelmChart(app, PLATFORM_CHART, namespace=env.namespace, chart_version=env.chart_version,
                         app_version=env.chart_version,
                         description="TripGen namespace, quota, RBAC, network, ingress and alerts")
    labels = standard_labels(name=PLATFORM_CHART, instance=PLATFORM_CHART, version=env.chart_version,
                             component="platform", chart=f"{PLATFORM_CHART}-{env.chart_version}")
    cap = capacity_report(env)
    TripGenPlatform(platform, "platform", PlatformProps(
        namespace=env.namespace, labels=labels, pod_security=env.pod_security, pod_security_warn=env.pod_security_warn,
        quota_requests_cpu=format_millicores(cap.allocatable_cpu_millicores) if env.resource_quota else None,
        quota_requests_memory=format_bytes(cap.allocatable_memory_bytes) if env.resource_quota else None,
        reader_service_accounts=tuple(services[c.name].service_account_name
                                      for c in env.services if c.kubernetes_api_access)))
    ing = env.ingress
    if env.network_policy == "default-deny":
        assert isinstance(ing, AppGatewayIngress)
        NamespaceNetworkPolicies(platform, "network", NamespacePoliciesProps(
            namespace=env.namespace, labels=labels, gateway_subnet_cidr=ing.gateway_subnet_cidr,
            monitoring_namespace=env.monitoring.namespace if env.monitoring else "monitoring",
            application_ports=tuple(sorted({c.port for c in env.services}))))
    else:
        AllowAllPolicy(platform, "network", namespace=env.namespace, labels=labels)
    if ing is not None:
        gateway = ing if isinstance(ing, AppGatewayIngress) else None
        ApiIngress(platform, "ingress", ApiIngressProps(
            name=ing.name, namespace=env.namespace, labels=labels, host=ing.host,
            tls_certificate=gateway.tls_certificate if gateway else "",
            waf_policy_id=gateway.waf_policy_id if gateway else "",
            request_timeout_seconds=ing.request_timeout_seconds, class_name=ing.class_name),
            routes=[(p, services[c.name]) for c in env.services for p in c.api_prefixes])
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
    return platform


GITOPS_DIR = "argocd"
CHARTS_DIR = "charts"


def _gitops(app: cdk8s.App, env: Environment, charts: list[SynthesizedChart],
            services: dict[str, MicroService]) -> ManifestChart:
    """AppProject, the root Application (app of apps) and one child Application per chart."""
    g = env.gitops
    out = ManifestChart(app, GITOPS_DIR, description=f"ArgoCD project and applications of tripgen-{env.name}")
    labels = standard_labels(name="tripgen", instance=f"tripgen-{env.name}", version=env.chart_version,
                             component="gitops", chart=f"{GITOPS_DIR}-{env.chart_version}")
    labels["app.kubernetes.io/managed-by"] = "tripgen-cdk8s"
    del labels["helm.sh/chart"]
    kinds = _kinds(charts)
    project = ArgoProject(out, "project", ArgoProjectProps(
        name=g.project, argocd_namespace=g.argocd_namespace, repo_url=g.repo_url,
        destination_namespace=env.namespace, labels=labels,
        namespaced_kinds=tuple(k for k, namespaced in kinds if namespaced),
        cluster_kinds=tuple(k for k, namespaced in kinds if not namespaced),
        sync_window=g.sync_window, description=f"TripGen {env.name}: the charts under {CHARTS_DIR}/{env.name}/"))
    bootstrap = ArgoProject(out, "bootstrap-project", ArgoProjectProps(
        name=f"{g.project}-apps", argocd_namespace=g.argocd_namespace, repo_url=g.repo_url,
        destination_namespace=g.argocd_namespace, labels=labels,
        namespaced_kinds=(ResourceKind("argoproj.io", "Application"),),
        description=f"TripGen {env.name}: the app-of-apps that creates the chart Applications"))
    root = ArgoApplication(out, "root", ArgoApplicationProps(
        name=f"tripgen-{env.name}", project=bootstrap, argocd_namespace=g.argocd_namespace, repo_url=g.repo_url,
        target_revision=g.target_revision, path=f"{CHARTS_DIR}/{env.name}/{GITOPS_DIR}/applications",
        destination_namespace=g.argocd_namespace, labels=labels, sync_options=("ServerSideApply=true",)))
    for obj in (project.api_object, bootstrap.api_object, root.api_object):
        out.place(obj, "bootstrap.yaml")
    waves = {c.name: c.sync_wave for c in env.services}
    for chart in charts:
        svc = services.get(chart.name)
        ignore: tuple[tuple[str, str, str], ...] = ()
        if svc is not None and svc.autoscaled:
            group = svc.workload_api_version.split("/")[0] if "/" in svc.workload_api_version else ""
            ignore = ((group, svc.workload_kind, svc.name),)
        child = ArgoApplication(out, f"app-{chart.name}", ArgoApplicationProps(
            name=f"tripgen-{env.name}-{chart.name}", project=project, argocd_namespace=g.argocd_namespace,
            repo_url=g.repo_url, target_revision=g.target_revision, path=f"{CHARTS_DIR}/{env.name}/{chart.name}",
            destination_namespace=env.namespace, labels=labels, helm_release=chart.name,
            sync_wave=waves.get(chart.name, g.platform_sync_wave), ignore_replicas_of=ignore))
        out.place(child.api_object, f"applications/{chart.name}.yaml")
    return out


CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


def _kinds(charts: list[SynthesizedChart]) -> list[tuple[ResourceKind, bool]]:
    """(group, kind) of every object the charts emit, and whether it is namespaced."""
    found = set()
    for chart in charts:
        for obj in chart.objects:
            api_version, kind = obj["apiVersion"], obj["kind"]
            group = api_version.split("/")[0] if "/" in api_version else ""
            found.add((ResourceKind(group, kind), kind not in CLUSTER_SCOPED))
    return sorted(found, key=lambda x: (x[0].group, x[0].kind))


def synthesize(env: Environment) -> Synthesis:
    """Build and synthesise every chart of ``env`` into plain objects, then its ArgoCD objects."""
    app, charts, services, warnings = build_app(env)
    out = []
    for chart in charts:
        chart.finalize()
        out.append(SynthesizedChart(env=env.name, name=chart.chart_name, version=chart.chart_version,
                                    app_version=chart.app_version, description=chart.description,
                                    namespace=chart.target_namespace, objects=list(chart.to_json()),
                                    values=chart.values, notes=chart.notes))
    gitops = _gitops(app, env, out, services)
    out.append(SynthesizedChart(env=env.name, name=gitops.chart_name, version=env.chart_version,
                                app_version=env.chart_version, description=gitops.description,
                                namespace=env.gitops.argocd_namespace, objects=list(gitops.to_json()),
                                values=ChartValues(), notes=[], files=dict(gitops.files)))
    return Synthesis(env=env, charts=out, warnings=warnings)
