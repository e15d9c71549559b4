"""Prometheus Operator objects: a ServiceMonitor per service and a PrometheusRule of alerts (generic:
the alerts themselves come from the app layer, :mod:`tripgen_cdk8s.observability`)."""

from __future__ import annotations

from dataclasses import dataclass, field

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
    """One alerting rule.  ``expr`` must keep the labels routing groups by (``namespace`` and
    ``service``); ``labels`` are added to the alert, ``runbook`` is the page under the rules'
    runbook base URL."""

    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    runbook: str = ""
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class AlertRulesProps:
    """A ``PrometheusRule`` of one rule group.

    ``runbook_base_url``: every alert gets the annotation ``runbook_url: <base>#<runbook>``
    (``<runbook>`` defaults to the alert name in lower case); empty (the default) adds none.
    """

    name: str
    namespace: str
    alerts: tuple[Alert, ...]
    labels: dict[str, str] = field(default_factory=dict)
    group: str = ""  # default: "<name>.rules"
    runbook_base_url: str = ""


def runbook_url(base: str, alert: Alert) -> str:
    """The runbook link of ``alert`` under ``base``."""
    return f"{base}#{alert.runbook or alert.name.lower()}"


class AlertRules(constructs.Construct):
    """A ``PrometheusRule`` with one group of alerting rules, each with ``for``, a ``severity``
    label, a summary and (with a base URL) a ``runbook_url``."""

    def __init__(self, scope: constructs.Construct, id: str, props: AlertRulesProps) -> None:
        super().__init__(scope, id)
        self.props = props
        self.alerts = props.alerts
        self.rule = cdk8s.ApiObject(
            self, "prometheus-rule", api_version="monitoring.coreos.com/v1", kind="PrometheusRule",
            metadata=cdk8s.ApiObjectMetadata(name=props.name, namespace=props.namespace, labels=dict(props.labels)))
        rules = []
        for a in props.alerts:
            annotations = {"summary": a.summary}
            if props.runbook_base_url:
                annotations["runbook_url"] = runbook_url(props.runbook_base_url, a)
            rules.append({"alert": a.name, "expr": a.expr, "for": a.for_,
                          "labels": {**dict(a.labels), "severity": a.severity}, "annotations": annotations})
        spec = {"groups": [{"name": props.group or f"{props.name}.rules", "rules": rules}]}
        self.rule.add_json_patch(cdk8s.JsonPatch.add("/spec", spec))
        chart = cdk8s.Chart.of(self)
        if isinstance(chart, HelmChart):  # PromQL namespace matchers follow .Release.Namespace
            chart.bind_namespace_in(self.rule, spec, ("spec",))
