"""Every Prometheus metric name the generated alerts, dashboards and analyses may use, with the
exporter that really exposes it (TRIPGEN.md 9.2: "metric names the stack really exposes").

One list, so a typo or an invented metric in any query is caught by the tests, which parse every
query and look each selector's name up here.  Sources: Spring Boot actuator with Micrometer's
Prometheus registry (``http.server.requests`` timer with the percentiles histogram enabled, JVM
memory), the kubelet's cAdvisor endpoint, kube-state-metrics v2, the KEDA operator and the Argo
Rollouts controller.

Namespace labels: kube-state-metrics and the Argo Rollouts controller are scraped with
``honorLabels: true`` (their series keep the object's ``namespace``); the KEDA operator is scraped
without it, as in kube-prometheus-stack and KEDA's own dashboards, so its series carry the
ScaledObject's namespace as ``exported_namespace``.
"""

from __future__ import annotations

from dataclasses import dataclass

SPRING = "Spring Boot actuator (Micrometer Prometheus registry)"
CADVISOR = "cAdvisor (kubelet /metrics/cadvisor)"
KSM = "kube-state-metrics"
KEDA = "KEDA operator"
ROLLOUTS = "Argo Rollouts controller"


@dataclass(frozen=True)
class Metric:
    """A metric name, its type and where it comes from."""

    name: str
    type: str
    exporter: str


METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("http_server_requests_seconds_count", "counter", SPRING),
    Metric("http_server_requests_seconds_sum", "counter", SPRING),
    # Only with MANAGEMENT_METRICS_DISTRIBUTION_PERCENTILES_HISTOGRAM_HTTP_SERVER_REQUESTS=true.
    Metric("http_server_requests_seconds_bucket", "counter", SPRING),
    Metric("jvm_memory_used_bytes", "gauge", SPRING),
    Metric("jvm_memory_max_bytes", "gauge", SPRING),
    Metric("container_cpu_usage_seconds_total", "counter", CADVISOR),
    Metric("container_memory_working_set_bytes", "gauge", CADVISOR),
    Metric("kube_pod_container_status_restarts_total", "counter", KSM),
    Metric("kube_pod_container_resource_limits", "gauge", KSM),
    Metric("kube_horizontalpodautoscaler_status_current_replicas", "gauge", KSM),
    Metric("kube_deployment_status_replicas_available", "gauge", KSM),
    Metric("keda_scaler_metrics_value", "gauge", KEDA),
    Metric("rollout_info", "gauge", ROLLOUTS),
    Metric("rollout_events_total", "counter", ROLLOUTS),
    Metric("analysis_run_metric_phase", "gauge", ROLLOUTS),
)}


def exporter_of(name: str) -> str:
    """The exporter of metric ``name``; KeyError when the stack does not expose it."""
    return METRICS[name].exporter


def metric_names(expr: str) -> set[str]:
    """The metric names of every selector in the PromQL ``expr`` (parsed with ``promql-parser``,
    which raises on invalid PromQL; the parser is a test dependency)."""
    import promql_parser

    names: set[str] = set()

    def walk(node: object) -> None:
        if node is None or isinstance(node, (str, int, float, bool)):
            return
        kind = type(node).__name__
        if kind == "VectorSelector":
            name = getattr(node, "name", None)
            if name:
                names.add(str(name))
            return
        for attr in ("expr", "lhs", "rhs", "param", "vector_selector"):
            if hasattr(node, attr):
                walk(getattr(node, attr))
        if kind == "Call":
            for arg in getattr(node, "args", []) or []:
                walk(arg)

    walk(promql_parser.parse(expr))
    return names
