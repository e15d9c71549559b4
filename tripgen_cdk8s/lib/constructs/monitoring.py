"""Prometheus Operator objects: a ServiceMonitor per workload and a PrometheusRule of alerts (the
alerts themselves come from the app layer)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import constructs

from ..errors import check_props
from ..helmchart import HelmChart, Resource


@runtime_checkable
class Scrapable(Protocol):
    """A workload with a Service port named ``http``: its name, namespace, labels and selector."""

    name: str
    namespace: str
    labels: dict[str, str]
    selector: dict[str, str]


@dataclass(frozen=True)
class ServiceScrapeProps:
    """Scrape ``target``'s port ``http`` at ``path`` (default ``/metrics``) every
    ``interval_seconds`` (default 30); ``api_version`` defaults to ``monitoring.coreos.com/v1``."""

    target: Scrapable
    path: str = "/metrics"
    interval_seconds: int = 30
    api_version: str = "monitoring.coreos.com/v1"


class ServiceScrape(constructs.Construct):
    """A ``ServiceMonitor`` ``<target>`` selecting the target's Service in its own namespace (which
    follows ``.Release.Namespace``)."""

    def __init__(self, scope: constructs.Construct, id: str, props: ServiceScrapeProps) -> None:
        super().__init__(scope, id)
        check_props(self, props)
        t = props.target
        chart = HelmChart.of(scope)
        spec = {
            "selector": {"matchLabels": dict(t.selector)},
            "namespaceSelector": {"matchNames": [t.namespace]},
            "endpoints": [{"port": "http", "path": props.path, "interval": f"{props.interval_seconds}s",
                           "scheme": "http"}],
        }
        self.monitor = Resource(chart, api_version=props.api_version, kind="ServiceMonitor", name=t.name,
                                namespace=t.namespace, labels=t.labels, body={"spec": spec})
        chart.bind_namespace_in(self.monitor, spec, ("spec",))


@dataclass(frozen=True)
class Alert:
    """One alerting rule.  ``labels`` are added to the alert, ``runbook`` is the page under the
    rules' runbook base URL (default: the alert name in lower case)."""

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

    ``group``: default ``<name>.rules``.  ``runbook_base_url``: every alert gets the annotation
    ``runbook_url: <base>#<runbook>``; empty (the default) adds none.  ``namespace``: default the
    chart's.
    """

    name: str
    alerts: tuple[Alert, ...]
    namespace: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    group: str = ""
    runbook_base_url: str = ""


def runbook_url(base: str, alert: Alert) -> str:
    """The runbook link of ``alert`` under ``base``."""
    return f"{base}#{alert.runbook or alert.name.lower()}"


class AlertRules(constructs.Construct):
    """A ``PrometheusRule`` with one group of alerting rules, each with ``for``, a ``severity``
    label, a summary and (with a base URL) a ``runbook_url``.  PromQL namespace matchers follow
    ``.Release.Namespace``."""

    def __init__(self, scope: constructs.Construct, id: str, props: AlertRulesProps) -> None:
        super().__init__(scope, id)
        check_props(self, props)
        chart = HelmChart.of(scope)
        self.props = props
        self.alerts = props.alerts
        rules = []
        for a in props.alerts:
            annotations = {"summary": a.summary}
            if props.runbook_base_url:
                annotations["runbook_url"] = runbook_url(props.runbook_base_url, a)
            rules.append({"alert": a.name, "expr": a.expr, "for": a.for_,
                          "labels": {**dict(a.labels), "severity": a.severity}, "annotations": annotations})
        spec: dict[str, Any] = {"groups": [{"name": props.group or f"{props.name}.rules", "rules": rules}]}
        self.rule = Resource(chart, api_version="monitoring.coreos.com/v1", kind="PrometheusRule", name=props.name,
                             namespace=props.namespace or chart.target_namespace,
                             labels=dict(props.labels) or chart.standard_labels("monitoring"),
                             body={"spec": spec})
        chart.bind_namespace_in(self.rule, spec, ("spec",))
