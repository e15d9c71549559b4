"""Prometheus Operator objects: a ServiceMonitor per service and the TripGen alerts (section 9)."""

from __future__ import annotations

from dataclasses import dataclass

import cdk8s
import constructs

from ..helmchart import HelmChart
from .microservice import MicroService


class ServiceScrape(constructs.Construct):
    """A ``ServiceMonitor`` scraping a MicroService's Prometheus endpoint on port ``http``."""

    def __init__(self, scope: constructs.Construct, id: str, service: MicroService, *, path: str,
                 interval_seconds: int, api_version: str = "monitoring.coreos.com/v1") -> None:
        super().__init__(scope, id)
        self.monitor = cdk8s.ApiObject(
            self, "service-monitor", api_version=api_version, kind="ServiceMonitor",
            metadata=cdk8s.ApiObjectMetadata(name=service.name, namespace=service.namespace,
                                             labels=dict(service.labels)))
        spec = {
            "selector": {"matchLabels": dict(service.selector)},
            "namespaceSelector": {"matchNames": [service.namespace]},
            "endpoints": [{"port": "http", "path": path, "interval": f"{interval_seconds}s", "scheme": "http"}],
        }
        self.monitor.add_json_patch(cdk8s.JsonPatch.add("/spec", spec))
        HelmChart.of(self).bind_namespace_in(self.monitor, spec, ("spec",))


@dataclass(frozen=True)
class Alert:
    """One alerting rule."""

    name: str
    expr: str
    for_: str
    severity: str
    summary: str


def tripgen_alerts(namespace: str) -> list[Alert]:
    """The five alerts of PP 8.1.2 on Spring Boot, cAdvisor and kube-state-metrics series."""
    ns = f'namespace="{namespace}"'
    requests = f"http_server_requests_seconds_count{{{ns}}}"
    return [
        Alert("TripGenHighErrorRate",
              f'sum by (service) (rate(http_server_requests_seconds_count{{{ns}, status=~"5.."}}[5m]))'
              f" / sum by (service) (rate({requests}[5m])) > 0.05",
              "5m", "critical", "More than 5% of requests to {{ $labels.service }} fail (5xx) over 5 minutes"),
        Alert("TripGenHighResponseTime",
              f"sum by (service) (rate(http_server_requests_seconds_sum{{{ns}}}[5m]))"
              f" / sum by (service) (rate({requests}[5m])) > 5",
              "5m", "critical", "Average response time of {{ $labels.service }} is above 5 s over 5 minutes"),
        Alert("TripGenPodCrashLooping",
              f"increase(kube_pod_container_status_restarts_total{{{ns}}}[10m]) > 5",
              "1m", "critical", "Container {{ $labels.container }} of {{ $labels.pod }} restarted more than 5 times in 10 minutes"),
        Alert("TripGenHighCPU",
              f'sum by (pod, container) (rate(container_cpu_usage_seconds_total{{{ns}, container!=""}}[5m]))'
              f' / sum by (pod, container) (kube_pod_container_resource_limits{{{ns}, resource="cpu"}}) > 0.85',
              "10m", "warning", "{{ $labels.pod }} uses more than 85% of its CPU limit for 10 minutes"),
        Alert("TripGenHighMemory",
              f'sum by (pod, container) (container_memory_working_set_bytes{{{ns}, container!=""}})'
              f' / sum by (pod, container) (kube_pod_container_resource_limits{{{ns}, resource="memory"}}) > 0.9',
              "5m", "warning", "{{ $labels.pod }} uses more than 90% of its memory limit for 5 minutes"),
    ]


class AlertRules(constructs.Construct):
    """The ``PrometheusRule`` ``tripgen-alerts``."""

    def __init__(self, scope: constructs.Construct, id: str, *, namespace: str, labels: dict[str, str],
                 alerts: list[Alert]) -> None:
        super().__init__(scope, id)
        self.alerts = alerts
        self.rule = cdk8s.ApiObject(
            self, "prometheus-rule", api_version="monitoring.coreos.com/v1", kind="PrometheusRule",
            metadata=cdk8s.ApiObjectMetadata(name="tripgen-alerts", namespace=namespace, labels=dict(labels)))
        spec = {"groups": [{
            "name": "tripgen.rules",
            "rules": [{"alert": a.name, "expr": a.expr, "for": a.for_, "labels": {"severity": a.severity},
                       "annotations": {"summary": a.summary}} for a in alerts],
        }]}
        self.rule.add_json_patch(cdk8s.JsonPatch.add("/spec", spec))
        HelmChart.of(self).bind_namespace_in(self.rule, spec, ("spec",))
