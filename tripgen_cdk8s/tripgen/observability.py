"""TripGen's observability (TRIPGEN.md 9, 9.1-9.3): the five alerts, their routing, the Grafana
dashboards and the Application Insights settings, built from the environment's config.  This is
the app layer; the constructs it feeds (:mod:`.constructs.monitoring`,
:mod:`.constructs.alertmanager_config`, :mod:`.constructs.dashboards`) know nothing of TripGen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from grafana_foundation_sdk.models import dashboard as grafana

from ..lib.constructs.alertmanager_config import AlertmanagerConfigProps, Receiver, Route, SecretKey
from ..lib.constructs.dashboards import Bound, Query, build, datasource_ref, stat_panel, time_series
from ..lib.constructs.microservice import SECRETS_MOUNT
from ..lib.constructs.monitoring import Alert
from ..lib.quantities import byte_count, cpu_millicores
from .config import AlertRouting, Environment, HorizontalScaling, QueueScaling, ServiceConfig, Telemetry

ALERT_RULES_NAME = "tripgen-alerts"
ALERT_GROUP = "tripgen.rules"
HISTOGRAM_SETTING = "MANAGEMENT_METRICS_DISTRIBUTION_PERCENTILES_HISTOGRAM_HTTP_SERVER_REQUESTS"
APPINSIGHTS_ALIAS = "APPLICATIONINSIGHTS_CONNECTION_STRING"
SERVICE_LABEL = "{{ $labels.service }}"


@dataclass(frozen=True)
class Thresholds:
    """The alert thresholds of PP 8.1.2 (TRIPGEN.md 9); the dashboards draw the same lines."""

    error_ratio: float = 0.05
    response_seconds: float = 5.0
    restarts: int = 5
    cpu_ratio: float = 0.85
    memory_ratio: float = 0.9


THRESHOLDS = Thresholds()


def preview_error_rate_query(namespace: str) -> str:
    """PromQL: the share of 5xx responses (Spring's ``http_server_requests_seconds_count``) of the
    preview Service's pods over 2 minutes (TRIPGEN.md 10).

    No traffic or no 5xx series gives 0 rather than an empty result (which would fail the
    analysis for lack of data, not for errors).  ``{{args.service-name}}`` is filled by Argo Rollouts.
    """
    sel = f'namespace="{namespace}", service="{{{{args.service-name}}}}"'
    return (f'(sum(rate(http_server_requests_seconds_count{{{sel}, status=~"5.."}}[2m])) or vector(0))'
            f" / (sum(rate(http_server_requests_seconds_count{{{sel}}}[2m])) > 0 or vector(1))")


def _fmt(value: float) -> str:
    return f"{value:g}"


def alerts(env: Environment, t: Thresholds = THRESHOLDS) -> tuple[Alert, ...]:
    """The five alerts on Spring Boot, cAdvisor and kube-state-metrics series.  Every expression
    keeps ``namespace`` (the operator routes an AlertmanagerConfig's alerts by it) and yields a
    ``service`` label: the scrape target's Service for HTTP metrics, the container name (which is
    the service name) for container metrics.  Only the environment's own services are watched, so
    the preview Services of blue-green rollouts (scraped too) never page."""
    ns = env.namespace
    names = "|".join(s.name for s in env.services)
    http = f'namespace="{ns}", service=~"{names}"'
    pods = f'namespace="{ns}", container=~"{names}"'
    by_service = "sum by (namespace, service)"
    by_container = "sum by (namespace, pod, container)"

    def per_container(expr: str) -> str:
        return f'label_replace({expr}, "service", "$1", "container", "(.+)")'

    alerts = (
        Alert("TripGenHighErrorRate",
              f'{by_service} (rate(http_server_requests_seconds_count{{{http}, status=~"5.."}}[5m]))'
              f" / {by_service} (rate(http_server_requests_seconds_count{{{http}}}[5m])) > {_fmt(t.error_ratio)}",
              "5m", "critical",
              f"More than {_fmt(t.error_ratio * 100)}% of requests to {{{{ $labels.service }}}} fail (5xx) over 5 minutes"),
        Alert("TripGenHighResponseTime",
              f"{by_service} (rate(http_server_requests_seconds_sum{{{http}}}[5m]))"
              f" / {by_service} (rate(http_server_requests_seconds_count{{{http}}}[5m])) > {_fmt(t.response_seconds)}",
              "5m", "critical",
              f"Average response time of {{{{ $labels.service }}}} is above {_fmt(t.response_seconds)} s over 5 minutes"),
        Alert("TripGenPodCrashLooping",
              per_container(f"{by_container} (increase(kube_pod_container_status_restarts_total{{{pods}}}[10m]))")
              + f" > {t.restarts}",
              "1m", "critical",
              f"{{{{ $labels.service }}}} pod {{{{ $labels.pod }}}} restarted more than {t.restarts} times in 10 minutes"),
        Alert("TripGenHighCPU",
              per_container(f"{by_container} (rate(container_cpu_usage_seconds_total{{{pods}}}[5m]))"
                            f' / {by_container} (kube_pod_container_resource_limits{{{pods}, resource="cpu"}})')
              + f" > {_fmt(t.cpu_ratio)}",
              "10m", "warning",
              f"{{{{ $labels.service }}}} pod {{{{ $labels.pod }}}} uses more than {_fmt(t.cpu_ratio * 100)}% of its "
              "CPU limit for 10 minutes"),
        Alert("TripGenHighMemory",
              per_container(f"{by_container} (container_memory_working_set_bytes{{{pods}}})"
                            f' / {by_container} (kube_pod_container_resource_limits{{{pods}, resource="memory"}})')
              + f" > {_fmt(t.memory_ratio)}",
              "5m", "warning",
              f"{{{{ $labels.service }}}} pod {{{{ $labels.pod }}}} uses more than {_fmt(t.memory_ratio * 100)}% of its "
              "memory limit for 5 minutes"),
    )
    # The label is stated on the rule too, so the rendered object shows what routing groups by.
    return tuple(replace(a, labels=(("service", SERVICE_LABEL),)) for a in alerts)


def _duration(seconds: int) -> str:
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def alert_routing(env: Environment, routing: AlertRouting, labels: dict[str, str]) -> AlertmanagerConfigProps:
    """TRIPGEN.md 9.1: critical -> PagerDuty and, continuing, Teams; warning -> Teams.  Alerts of
    no known severity fall through to Teams rather than being dropped."""
    r = routing
    critical, warning = (("severity", "critical"),), (("severity", "warning"),)
    return AlertmanagerConfigProps(
        name=r.name, namespace=env.namespace, labels=labels, receiver=r.teams_receiver,
        receivers=(Receiver.pagerduty(r.pagerduty_receiver, SecretKey(r.receivers_secret, r.pagerduty_key)),
                   Receiver.teams(r.teams_receiver, SecretKey(r.receivers_secret, r.teams_key))),
        routes=(Route(r.pagerduty_receiver, critical, _duration(r.critical_repeat_seconds), continue_=True),
                Route(r.teams_receiver, critical, _duration(r.critical_repeat_seconds)),
                Route(r.teams_receiver, warning, _duration(r.warning_repeat_seconds))),
        group_by=("alertname", "service"), group_wait=_duration(r.group_wait_seconds),
        group_interval=_duration(r.group_interval_seconds), repeat_interval=_duration(r.warning_repeat_seconds))


# ---------------------------------------------------------------------------- telemetry


def telemetry_config(service: ServiceConfig, telemetry: Telemetry) -> dict[str, str]:
    """Application Insights Java agent settings (TRIPGEN.md 9.3): the agent reads the connection
    string from the Key Vault file mounted under /mnt/secrets (``${file:...}``), samples
    ``sampling_percentage`` % of requests, reports ``service.name`` as its cloud role; Spring Boot
    logs JSON on stdout for Container Insights."""
    content = {"connectionString": f"${{file:{SECRETS_MOUNT}/{APPINSIGHTS_ALIAS}}}",
               "sampling": {"percentage": telemetry.sampling_percentage}}
    return {
        "APPLICATIONINSIGHTS_ROLE_NAME": service.name,
        "APPLICATIONINSIGHTS_CONFIGURATION_CONTENT": json.dumps(content, sort_keys=True, separators=(",", ":")),
        "LOGGING_STRUCTURED_FORMAT_CONSOLE": telemetry.log_format,
    }


# ---------------------------------------------------------------------------- dashboards


def _cores(quantity: str) -> float:
    return cpu_millicores(quantity) / 1000


def folder(env: Environment) -> str:
    """The Grafana folder of the environment's dashboards."""
    return f"TripGen {env.name}"


def service_dashboard(env: Environment, svc: ServiceConfig, t: Thresholds = THRESHOLDS) -> grafana.Dashboard:
    """Request rate, 5xx ratio, p95 latency, JVM heap, CPU and memory against the service's
    requests and limits, replicas against the scaler's min and max, (KEDA) the queue depth, and the
    Rollout's phase; every bound is read from ``svc`` (the same config the chart is built from)."""
    assert env.monitoring is not None
    ds = datasource_ref(env.monitoring.grafana_datasource_uid)
    ns, name = env.namespace, svc.name
    http = f'namespace="{ns}", service="{name}"'
    pods = f'namespace="{ns}", container="{name}"'
    res = svc.resources
    cpu_req, cpu_lim = _cores(res.requests.cpu), _cores(res.limits.cpu)
    mem_req, mem_lim = byte_count(res.requests.memory), byte_count(res.limits.memory)
    traffic = [
        time_series("Request rate", (Query(f"sum by (status) (rate(http_server_requests_seconds_count{{{http}}}[5m]))",
                                           "{{status}}"),), datasource=ds, unit="reqps", width=8),
        time_series("5xx ratio", (Query(
            f'sum(rate(http_server_requests_seconds_count{{{http}, status=~"5.."}}[5m]))'
            f" / sum(rate(http_server_requests_seconds_count{{{http}}}[5m]))", "5xx"),),
            datasource=ds, unit="percentunit", width=8,
            bounds=(Bound(t.error_ratio, "red", "TripGenHighErrorRate"),),
            description=f"Share of 5xx responses; the critical alert fires above {_fmt(t.error_ratio * 100)} % for 5 minutes."),
        time_series("p95 latency", (
            Query(f"histogram_quantile(0.95, sum by (le) (rate(http_server_requests_seconds_bucket{{{http}}}[5m])))", "p95"),
            Query(f"sum(rate(http_server_requests_seconds_sum{{{http}}}[5m]))"
                  f" / sum(rate(http_server_requests_seconds_count{{{http}}}[5m]))", "average")),
            datasource=ds, unit="s", width=8, bounds=(Bound(t.response_seconds, "red", "TripGenHighResponseTime"),),
            description=f"The critical alert fires when the average stays above {_fmt(t.response_seconds)} s for 5 minutes."),
    ]
    resources = [
        time_series("JVM heap used vs max", (
            Query(f'sum by (pod) (jvm_memory_used_bytes{{{http}, area="heap"}})', "used {{pod}}"),
            Query(f'sum by (pod) (jvm_memory_max_bytes{{{http}, area="heap"}})', "max {{pod}}")),
            datasource=ds, unit="bytes", width=8),
        time_series("CPU per pod", (Query(f"sum by (pod) (rate(container_cpu_usage_seconds_total{{{pods}}}[5m]))",
                                          "{{pod}}"),),
                    datasource=ds, unit="cores", width=8, maximum=cpu_lim,
                    bounds=(Bound(cpu_req, "yellow", "request"), Bound(cpu_lim * t.cpu_ratio, "orange", "alert"),
                            Bound(cpu_lim, "red", "limit")),
                    description=f"Request {res.requests.cpu}, limit {res.limits.cpu} (axis top); "
                                f"the warning fires above {_fmt(t.cpu_ratio * 100)} % of the limit for 10 minutes."),
        time_series("Memory per pod", (Query(f"sum by (pod) (container_memory_working_set_bytes{{{pods}}})", "{{pod}}"),),
                    datasource=ds, unit="bytes", width=8, maximum=float(mem_lim),
                    bounds=(Bound(float(mem_req), "yellow", "request"),
                            Bound(mem_lim * t.memory_ratio, "orange", "alert"), Bound(float(mem_lim), "red", "limit")),
                    description=f"Request {res.requests.memory}, limit {res.limits.memory} (axis top); "
                                f"the warning fires above {_fmt(t.memory_ratio * 100)} % of the limit for 5 minutes."),
    ]
    scaling: list[Any] = []
    sc = svc.scaling
    if isinstance(sc, (HorizontalScaling, QueueScaling)):
        hpa = f"keda-hpa-{name}" if isinstance(sc, QueueScaling) else name
        scaling.append(time_series("Replicas", (Query(
            f'sum(kube_horizontalpodautoscaler_status_current_replicas{{namespace="{ns}", horizontalpodautoscaler="{hpa}"}})',
            "current"),), datasource=ds, unit="none", width=12, minimum=0, maximum=float(sc.max_replicas),
            bounds=(Bound(float(sc.min_replicas), "blue", "min"), Bound(float(sc.max_replicas), "red", "max")),
            description=f"Scaler range {sc.min_replicas}-{sc.max_replicas} (axis top = max)."))
    else:
        scaling.append(time_series("Replicas", (Query(
            f'sum(kube_deployment_status_replicas_available{{namespace="{ns}", deployment="{name}"}})', "available"),),
            datasource=ds, unit="none", width=12, bounds=(Bound(float(svc.replicas), "blue", "replicas"),)))
    if isinstance(sc, QueueScaling):
        scaling.append(time_series(f"Service Bus queue {sc.queue_name} (as KEDA sees it)", (Query(
            f'sum by (metric) (keda_scaler_metrics_value{{exported_namespace="{ns}", scaledObject="{name}"}})',
            "{{metric}}"),), datasource=ds, unit="none", width=12,
            bounds=(Bound(float(sc.message_count), "orange", "messages per replica"),),
            description=f"KEDA adds a replica per {sc.message_count} messages, up to {sc.max_replicas}."))
    if svc.strategy != "rolling":
        scaling.append(stat_panel("Rollout phase", (Query(
            f'max by (phase) (rollout_info{{namespace="{ns}", name="{name}"}})', "{{phase}}"),), datasource=ds, width=12))
    return build(f"TripGen {env.name} / {name}", f"tripgen-{env.name}-{name}", tags=["tripgen", env.name, name],
                 description=f"{name}: {svc.purpose} (generated from overlays/{env.name}/config.py)",
                 rows=[("Traffic", traffic), ("Resources", resources), ("Scaling and delivery", scaling)])


def deployments_dashboard(env: Environment) -> grafana.Dashboard:
    """DP 5.1.1 on Argo Rollouts metrics: rollout phase per service, analysis-run results,
    aborted rollouts, preview vs active 5xx ratio."""
    assert env.monitoring is not None
    ds = datasource_ref(env.monitoring.grafana_datasource_uid)
    ns = env.namespace
    names = "|".join(s.name for s in env.services)
    preview = preview_error_rate_query(ns).replace("{{args.service-name}}", "$service-preview")
    active = preview_error_rate_query(ns).replace("{{args.service-name}}", "$service")
    max_rate = float(env.delivery.max_preview_error_rate)
    panels = [
        stat_panel("Rollout phase per service", (Query(
            f'max by (name, phase) (rollout_info{{namespace="{ns}", name=~"{names}"}})', "{{name}}: {{phase}}"),),
            datasource=ds, width=12),
        time_series("Analysis runs by result", (Query(
            f'count by (phase) (analysis_run_metric_phase{{namespace="{ns}"}} == 1)', "{{phase}}"),),
            datasource=ds, unit="none", width=12),
        time_series("Aborted rollouts (1 h)", (Query(
            f'sum by (name) (increase(rollout_events_total{{namespace="{ns}", reason="RolloutAborted"}}[1h]))', "{{name}}"),),
            datasource=ds, unit="none", width=12),
    ]
    ratio = [time_series(f"Preview vs active 5xx ratio: {s.name}", (
        Query(preview.replace("$service", s.name), "preview"), Query(active.replace("$service", s.name), "active")),
        datasource=ds, unit="percentunit", width=12, bounds=(Bound(max_rate, "red", "analysis limit"),),
        description=f"The pre-promotion analysis fails above {_fmt(max_rate * 100)} %.")
        for s in env.services if s.strategy != "rolling"]
    return build(f"TripGen {env.name} / deployments", f"tripgen-{env.name}-deployments",
                 tags=["tripgen", env.name, "deployments"],
                 description="Argo Rollouts: phases, analysis runs, aborts, preview against active (DP 5.1.1)",
                 rows=[("Rollouts", panels), ("Blue-green analysis", ratio)])
