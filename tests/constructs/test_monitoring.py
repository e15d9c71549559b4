"""ServiceScrape (a ServiceMonitor) and AlertRules (a PrometheusRule)."""

from __future__ import annotations

from construct_helpers import new_chart, services, synth

from tripgen_cdk8s.lib.constructs import Alert, AlertRules, AlertRulesProps, Scrapable, ServiceScrape, ServiceScrapeProps

DOWN = Alert("ServiceDown", 'up{namespace="ns"} == 0', "5m", "critical", "a service is down")
SLOW = Alert("SlowRequests", "latency > 1", "10m", "warning", "slow", runbook="latency",
             labels=(("team", "core"),))


def test_service_scrape_selects_the_service_in_its_namespace():
    chart = new_chart()
    service = services(chart)
    svc = service()
    assert isinstance(svc, Scrapable)
    ServiceScrape(chart, "scrape", ServiceScrapeProps(svc))
    monitor = synth(chart)[("ServiceMonitor", "demo")]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["namespace"] == "ns" and monitor["metadata"]["labels"] == svc.labels
    assert monitor["spec"] == {
        "selector": {"matchLabels": svc.selector}, "namespaceSelector": {"matchNames": ["ns"]},
        "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s", "scheme": "http"}]}
    [binding] = chart.values.bindings[("ServiceMonitor", "demo")]
    assert binding.path == ("spec", "namespaceSelector", "matchNames", 0)
    assert binding.template == "{{ .Release.Namespace }}" and binding.expected == "ns"


def test_service_scrape_path_interval_and_api_version():
    chart = new_chart()
    service = services(chart)
    ServiceScrape(chart, "scrape", ServiceScrapeProps(service(), path="/prom", interval_seconds=15,
                                                      api_version="monitoring.example/v2"))
    monitor = synth(chart)[("ServiceMonitor", "demo")]
    assert monitor["apiVersion"] == "monitoring.example/v2"
    assert monitor["spec"]["endpoints"] == [{"port": "http", "path": "/prom", "interval": "15s", "scheme": "http"}]


def test_alert_rules_with_runbook_urls():
    chart = new_chart()
    AlertRules(chart, "alerts", AlertRulesProps(name="alerts", alerts=(DOWN, SLOW), group="svc",
                                                runbook_base_url="https://runbooks.example/svc",
                                                labels={"release": "kps"}))
    rule = synth(chart)[("PrometheusRule", "alerts")]
    assert rule["metadata"]["namespace"] == "ns" and rule["metadata"]["labels"] == {"release": "kps"}
    [group] = rule["spec"]["groups"]
    assert group["name"] == "svc"
    assert group["rules"] == [
        {"alert": "ServiceDown", "expr": 'up{namespace="ns"} == 0', "for": "5m", "labels": {"severity": "critical"},
         "annotations": {"summary": "a service is down", "runbook_url": "https://runbooks.example/svc#servicedown"}},
        {"alert": "SlowRequests", "expr": "latency > 1", "for": "10m",
         "labels": {"team": "core", "severity": "warning"},
         "annotations": {"summary": "slow", "runbook_url": "https://runbooks.example/svc#latency"}}]


def test_alert_rules_default_group_name_and_no_runbook():
    chart = new_chart()
    AlertRules(chart, "alerts", AlertRulesProps(name="svc-alerts", alerts=(SLOW,), namespace="mon"))
    rule = synth(chart)[("PrometheusRule", "svc-alerts")]
    assert rule["metadata"]["namespace"] == "mon"
    [group] = rule["spec"]["groups"]
    assert group["name"] == "svc-alerts.rules"
    assert group["rules"][0]["annotations"] == {"summary": "slow"}


def test_namespace_matchers_follow_the_release_namespace():
    chart = new_chart()
    AlertRules(chart, "alerts", AlertRulesProps(name="alerts", alerts=(DOWN, SLOW)))
    synth(chart)
    [binding] = chart.values.bindings[("PrometheusRule", "alerts")]
    assert binding.path == ("spec", "groups", 0, "rules", 0, "expr")
    assert binding.expected == 'up{namespace="ns"} == 0'
    assert binding.template == '{{ printf "up{namespace=\\"%s\\"} == 0" .Release.Namespace | toJson }}'
