"""Config -> cdk8s App: one HelmChart per chart, composed from the constructs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cdk8s  # noqa: E402

from .checks import capacity_report, check_capacity  # noqa: E402
from .config import Environment, validate  # noqa: E402
from .constructs import (  # noqa: E402
    AlertRules,
    ApiIngress,
    ApiIngressProps,
    AutoscaledService,
    AutoscaledServiceProps,
    KeyVaultAccess,
    MicroService,
    MicroServiceProps,
    NamespaceNetworkPolicies,
    NamespacePoliciesProps,
    PlatformProps,
    PrivateEndpointSecret,
    PrivateEndpointSecretProps,
    ServiceNetworkPolicy,
    ServiceScrape,
    TripGenPlatform,
    ZoneSpreadPolicy,
    ZoneSpreadPolicyProps,
    tripgen_alerts,
)
from .helmchart import ChartValues, HelmChart  # noqa: E402
from .labels import standard_labels  # noqa: E402
from .quantities import format_bytes, format_millicores  # noqa: E402

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


def _base_config(env: Environment) -> dict[str, str]:
    c = env.cache
    cfg = {
        "SERVER_PORT": "8080",
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


def build_app(env: Environment) -> tuple[cdk8s.App, list[HelmChart], list[str]]:
    """Compose the constructs for ``env``; returns the App, its charts and capacity warnings."""
    validate(env)
    warnings = check_capacity(env)
    app = cdk8s.App()
    charts: list[HelmChart] = []
    services: dict[str, MicroService] = {}
    spread = None
    for cfg in env.services:
        chart = HelmChart(app, cfg.name, namespace=env.namespace, chart_version=env.chart_version,
                          app_version=cfg.image.tag, description=f"TripGen {cfg.name}: {cfg.purpose}")
        charts.append(chart)
        config = _base_config(env)
        if any(env.store(a.store).kind == "servicebus" for a in cfg.stores):
            config.update(_messaging_config(env))
        svc = MicroService(chart, "service", MicroServiceProps(
            name=cfg.name, namespace=env.namespace, image=cfg.image, resources=cfg.resources,
            replicas=cfg.replicas, health_path=cfg.health_path, writable_paths=cfg.writable_paths,
            config=config, kubernetes_api_access=cfg.kubernetes_api_access,
            pod_labels={"tier": "application"}))
        services[cfg.name] = svc
        if cfg.scaling is not None:
            AutoscaledService(chart, "autoscaling", AutoscaledServiceProps(
                service=svc, scaling=cfg.scaling, min_available=cfg.min_available or 0))
        if env.zone_spread:
            spread = ZoneSpreadPolicy(chart, "zone-spread", ZoneSpreadPolicyProps(
                node_pool=env.node_pool.name, taint_key=env.node_pool.taint_key,
                taint_value=env.node_pool.taint_value))
            spread.apply(svc)
        if env.key_vault is not None:
            access = KeyVaultAccess(env.key_vault.name, env.key_vault.tenant_id, cfg.identity_client_id)
            for att in cfg.stores:
                PrivateEndpointSecret(chart, f"store-{att.store}", PrivateEndpointSecretProps(
                    service=svc, access=access, store=env.store(att.store), attachment=att))
            for sec in cfg.secrets:
                PrivateEndpointSecret(chart, f"secret-{sec.object_name}", PrivateEndpointSecretProps(
                    service=svc, access=access, secret=sec))
        ServiceScrape(chart, "monitoring", svc, path=cfg.metrics_path,
                      interval_seconds=env.monitoring.scrape_interval_seconds,
                      api_version=env.monitoring.service_monitor_api_version)
    for cfg in env.services:
        for callee in cfg.calls:
            services[cfg.name].allow_to(services[callee])
    for cfg in env.services:
        ServiceNetworkPolicy(services[cfg.name].chart, "network-policy", services[cfg.name],
                             external_https=bool(cfg.external_egress))

    platform = HelmChart(app, PLATFORM_CHART, namespace=env.namespace, chart_version=env.chart_version,
                         app_version=env.chart_version, description="TripGen namespace, quota, RBAC, network, ingress and alerts")
    charts.insert(0, platform)
    labels = standard_labels(name=PLATFORM_CHART, instance=PLATFORM_CHART, version=env.chart_version,
                             component="platform", chart=f"{PLATFORM_CHART}-{env.chart_version}")
    cap = capacity_report(env)
    TripGenPlatform(platform, "platform", PlatformProps(
        namespace=env.namespace, labels=labels, pod_security=env.pod_security,
        quota_requests_cpu=format_millicores(cap.allocatable_cpu_millicores),
        quota_requests_memory=format_bytes(cap.allocatable_memory_bytes),
        reader_service_accounts=tuple(services[c.name].service_account_name
                                      for c in env.services if c.kubernetes_api_access)))
    if env.ingress is not None:
        ing = env.ingress
        NamespaceNetworkPolicies(platform, "network", NamespacePoliciesProps(
            namespace=env.namespace, labels=labels, gateway_subnet_cidr=ing.gateway_subnet_cidr,
            monitoring_namespace=env.monitoring.namespace))
        ApiIngress(platform, "ingress", ApiIngressProps(
            name=ing.name, namespace=env.namespace, labels=labels, host=ing.host,
            tls_certificate=ing.tls_certificate, waf_policy_id=ing.waf_policy_id,
            request_timeout_seconds=ing.request_timeout_seconds, class_name=ing.class_name),
            routes=[(p, services[c.name]) for c in env.services for p in c.api_prefixes])
    AlertRules(platform, "alerts", namespace=env.namespace, labels=labels, alerts=tripgen_alerts(env.namespace))
    return app, charts, warnings


def synthesize(env: Environment) -> Synthesis:
    """Build and synthesise every chart of ``env`` into plain objects."""
    _app, charts, warnings = build_app(env)
    out = []
    for chart in charts:
        objects = [dict(o) for o in chart.to_json()]
        out.append(SynthesizedChart(env=env.name, name=chart.chart_name, version=chart.chart_version,
                                    app_version=chart.app_version, description=chart.description,
                                    namespace=chart.target_namespace, objects=objects, values=chart.values,
                                    notes=chart.notes))
    return Synthesis(env=env, charts=out, warnings=warnings)
