"""The alert rules and the alert routing, proved by the real tools (TRIPGEN.md 9, 9.1).

`promtool test rules` runs the rule groups extracted from the rendered PrometheusRule against
synthetic series: each alert fires once its threshold has held for its `for` window (not one
evaluation earlier), stays silent just below the threshold, and stays silent for a breach shorter
than `for` (which the pending state proves was seen).  The AnalysisTemplate's preview 5xx query is
evaluated as a recording rule.  `amtool` checks the Alertmanager configuration the
AlertmanagerConfig turns into and tells which receivers each alert reaches.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from conftest import find, objects
from tripgen_cdk8s.lib import promtools

NS = "tripgen-prod"
SERVICES = ["user-service", "trip-service", "ai-service", "location-service"]
HORIZON = 40  # minutes of synthetic series


@pytest.fixture(scope="session")
def promtool() -> str:
    path = promtools.find_tool("promtool")
    assert path, f"promtool missing: {promtools.INSTALL_HINT}"
    return path


@pytest.fixture(scope="session")
def amtool() -> str:
    path = promtools.find_tool("amtool")
    assert path, f"amtool missing: {promtools.INSTALL_HINT}"
    return path


def rules() -> list[dict]:
    return find("prod", "PrometheusRule", "tripgen-alerts")["spec"]["groups"][0]["rules"]


def rule(name: str) -> dict:
    [r] = [r for r in rules() if r["alert"] == name]
    return r


def minutes(duration: str) -> int:
    m = re.fullmatch(r"(\d+)([mh])", duration)
    assert m, duration
    return int(m.group(1)) * (60 if m.group(2) == "h" else 1)


# ---------------------------------------------------------------------------- synthetic series


def counter(per_minute: list[float]) -> str:
    """A counter starting at 0 that grows by ``per_minute[i]`` in minute i (explicit values)."""
    total, values = 0.0, ["0"]
    for inc in per_minute:
        total += inc
        values.append(f"{total:g}")
    return " ".join(values)


def gauge(levels: list[float]) -> str:
    return " ".join(f"{v:g}" for v in levels)


def level(value: float, breach: float | None = None, start: int = 10, length: int = 0,
          baseline: float | None = None) -> list[float]:
    """``value`` for every minute; with ``breach``, ``baseline`` except ``breach`` for ``length``
    minutes from ``start``."""
    if breach is None:
        return [value] * (HORIZON + 1)
    base = value if baseline is None else baseline
    return [breach if start <= i < start + length else base for i in range(HORIZON + 1)]


def series(name: str, labels: dict[str, str], values: str) -> dict:
    body = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{body}}}", "values": values}


def http_series(service: str, error_ratio: list[float], avg_seconds: list[float]) -> list[dict]:
    """100 requests a minute to ``service``, ``error_ratio`` of them 5xx, averaging ``avg_seconds``."""
    labels = {"namespace": NS, "service": service, "pod": f"{service}-7d9f8-abcde", "uri": "/api"}
    errors = [100 * r for r in error_ratio]
    ok = [100 - e for e in errors]
    out = [series("http_server_requests_seconds_count", {**labels, "status": "500"}, counter(errors)),
           series("http_server_requests_seconds_count", {**labels, "status": "200"}, counter(ok))]
    out.append(series("http_server_requests_seconds_sum", {**labels, "status": "200"},
                      counter([100 * s for s in avg_seconds])))
    return out


def container_labels(service: str) -> dict[str, str]:
    return {"namespace": NS, "pod": f"{service}-7d9f8-abcde", "container": service}


def preview_noise(service: str) -> list[dict]:
    """The preview Service's scrape of the same pods, failing every request: never alerts."""
    return http_series(f"{service}-preview", level(1.0), level(60.0))


@dataclass(frozen=True)
class Scenario:
    """Input series per alert: sustained just above, sustained just below, a short breach.
    ``first_true`` is the first minute the expression holds for the sustained breach (rate
    windows fill from the series start; ratios of two rates are exact from minute 1)."""

    above: list[dict]
    below: list[dict]
    short: list[dict] | None
    first_true: int
    extra_labels: tuple[str, ...]


def scenario(alert: str, svc: str) -> Scenario:
    c = container_labels(svc)
    limit = {"cpu": [series("kube_pod_container_resource_limits", {**c, "resource": "cpu", "unit": "core"}, gauge(level(1)))],
             "memory": [series("kube_pod_container_resource_limits", {**c, "resource": "memory", "unit": "byte"},
                               gauge(level(1024 ** 3)))]}
    if alert == "TripGenHighErrorRate":
        return Scenario(http_series(svc, level(0.06), level(0.1)), 
                        http_series(svc, level(0.049), level(0.1)) + preview_noise(svc),
                        http_series(svc, level(0, breach=0.1, length=3), level(0.1)), 1, ())
    if alert == "TripGenHighResponseTime":
        return Scenario(http_series(svc, level(0), level(6.0)),
                        http_series(svc, level(0), level(4.9)) + preview_noise(svc),
                        http_series(svc, level(0), level(1.0, breach=10.0, length=3)), 1, ())
    if alert == "TripGenPodCrashLooping":
        name = "kube_pod_container_status_restarts_total"
        # One restart a minute: increase over 10m first exceeds 5 at minute 6.  Four in 10m stay below.
        return Scenario([series(name, c, counter(level(1)))], [series(name, c, counter(level(0.4)))], None,
                        6, ("pod", "container"))
    if alert == "TripGenHighCPU":
        name = "container_cpu_usage_seconds_total"
        # 0.9 cores of a 1-core limit; the 5m rate window is full (and above 0.85) from minute 5.
        return Scenario([series(name, c, counter(level(0.9 * 60)))] + limit["cpu"],
                        [series(name, c, counter(level(0.84 * 60)))] + limit["cpu"],
                        [series(name, c, counter(level(0.2 * 60, breach=0.95 * 60, length=8)))] + limit["cpu"],
                        5, ("pod", "container"))
    if alert == "TripGenHighMemory":
        name = "container_memory_working_set_bytes"
        gib = 1024 ** 3
        return Scenario([series(name, c, gauge(level(0.95 * gib)))] + limit["memory"],
                        [series(name, c, gauge(level(0.89 * gib)))] + limit["memory"],
                        [series(name, c, gauge(level(0.5 * gib, breach=0.95 * gib, length=3)))] + limit["memory"],
                        0, ("pod", "container"))
    raise AssertionError(alert)


ALERTS = ["TripGenHighErrorRate", "TripGenHighResponseTime", "TripGenPodCrashLooping", "TripGenHighCPU",
          "TripGenHighMemory"]


def expected_alert(alert: str, svc: str, extra: tuple[str, ...]) -> dict:
    r = rule(alert)
    labels = {"severity": r["labels"]["severity"], "namespace": NS, "service": svc}
    c = container_labels(svc)
    labels.update({k: c[k] for k in extra})

    def expand(text: str) -> str:
        return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], text)

    return {"exp_labels": labels, "exp_annotations": {k: expand(v) for k, v in r["annotations"].items()}}


def run_promtool_tests(promtool: str, tmp_path: Path, tests: list[dict], extra_rules: dict | None = None) -> None:
    rule_file = tmp_path / "rules.yaml"
    rule_file.write_text(yaml.safe_dump(promtools.rule_groups(objects("prod")), sort_keys=False), encoding="utf-8")
    files = [rule_file.name]
    if extra_rules:
        (tmp_path / "extra.yaml").write_text(yaml.safe_dump(extra_rules, sort_keys=False), encoding="utf-8")
        files.append("extra.yaml")
    test_file = tmp_path / "test.yaml"
    test_file.write_text(yaml.safe_dump({"rule_files": files, "evaluation_interval": "1m", "tests": tests},
                                        sort_keys=False), encoding="utf-8")
    proc = subprocess.run([promtool, "test", "rules", test_file.name], cwd=tmp_path, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_promtool_check_rules_passes_on_the_rendered_groups(promtool, tmp_path):
    assert promtools.check_rules(objects("prod")) == []
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(promtools.rule_groups(objects("prod"))), encoding="utf-8")
    proc = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "SUCCESS: 5 rules found" in proc.stdout, proc.stdout + proc.stderr


def test_promtool_check_rules_catches_a_broken_rule():
    broken = [{"kind": "PrometheusRule", "spec": {"groups": [{"name": "g", "rules": [
        {"alert": "Broken", "expr": "sum(rate(x[5m])", "for": "5m"}]}]}}]
    assert any("promtool check rules" in e for e in promtools.check_rules(broken))


@pytest.mark.parametrize("alert", ALERTS)
def test_every_alert_has_a_service_label_source_and_a_runbook(alert):
    r = rule(alert)
    assert r["annotations"]["runbook_url"] == (
        f"https://github.com/tripgen/k8s-manifests/blob/main/docs/runbooks.md#{alert.lower()}")
    assert "by (namespace, service)" in r["expr"] or '"service", "$1", "container"' in r["expr"]


@pytest.mark.parametrize("alert", ALERTS)
def test_alert_fires_once_the_threshold_has_held_for_its_for_window(promtool, tmp_path, alert):
    svc = SERVICES[ALERTS.index(alert) % 4]
    sc = scenario(alert, svc)
    fires_at = sc.first_true + minutes(rule(alert)["for"])
    exp = [expected_alert(alert, svc, sc.extra_labels)]
    run_promtool_tests(promtool, tmp_path, [{
        "interval": "1m", "input_series": sc.above,
        "alert_rule_test": [
            {"eval_time": f"{fires_at - 1}m", "alertname": alert, "exp_alerts": []},
            {"eval_time": f"{fires_at}m", "alertname": alert, "exp_alerts": exp},
            {"eval_time": f"{HORIZON - 5}m", "alertname": alert, "exp_alerts": exp},
        ]}])


@pytest.mark.parametrize("alert", ALERTS)
def test_alert_stays_silent_just_below_the_threshold(promtool, tmp_path, alert):
    svc = SERVICES[ALERTS.index(alert) % 4]
    sc = scenario(alert, svc)
    run_promtool_tests(promtool, tmp_path, [{
        "interval": "1m", "input_series": sc.below,
        "alert_rule_test": [{"eval_time": f"{m}m", "alertname": alert, "exp_alerts": []}
                            for m in range(0, HORIZON - 4, 3)],
        "promql_expr_test": [{"expr": f'ALERTS{{alertname="{alert}"}}', "eval_time": f"{HORIZON - 5}m",
                              "exp_samples": []}]}])


@pytest.mark.parametrize("alert", [a for a in ALERTS if a != "TripGenPodCrashLooping"])
def test_alert_stays_silent_for_a_breach_shorter_than_its_for_window(promtool, tmp_path, alert):
    """The breach is seen (the alert goes pending) but ends before ``for`` has passed.  (The
    crash-loop alert's ``for`` is one evaluation; its "shorter" case is the pending minute that the
    firing test checks.)"""
    svc = SERVICES[ALERTS.index(alert) % 4]
    sc = scenario(alert, svc)
    assert sc.short is not None
    run_promtool_tests(promtool, tmp_path, [{
        "interval": "1m", "input_series": sc.short,
        "alert_rule_test": [{"eval_time": f"{m}m", "alertname": alert, "exp_alerts": []} for m in range(0, HORIZON - 4)],
        # ... and it was a real breach: the alert was pending at some minute.
        "promql_expr_test": [{"expr": f'count(max_over_time(ALERTS{{alertname="{alert}", alertstate="pending"}}[30m]))',
                              "eval_time": "35m", "exp_samples": [{"labels": "{}", "value": 1}]}]}])


def test_preview_5xx_query_of_the_analysis_template_yields_the_expected_ratio(promtool, tmp_path):
    """Evaluated as a recording rule: 2 of 400 requests a minute fail on the preview -> 0.5 %;
    the active Service's errors do not count; no traffic at all gives 0, not an empty result."""
    metric = find("prod", "AnalysisTemplate", "user-service-preview-error-rate")["spec"]["metrics"][0]
    query = metric["provider"]["prometheus"]["query"].replace("{{args.service-name}}", "user-service-preview")
    assert metric["successCondition"] == "result[0] < 0.005"
    recording = {"groups": [{"name": "analysis", "rules": [{"record": "tripgen:preview_5xx_ratio", "expr": query}]}]}

    def traffic(service: str, errors: float, total: float) -> list[dict]:
        labels = {"namespace": NS, "service": service, "uri": "/api"}
        return [series("http_server_requests_seconds_count", {**labels, "status": "503"}, counter(level(errors))),
                series("http_server_requests_seconds_count", {**labels, "status": "200"},
                       counter(level(total - errors)))]

    run_promtool_tests(promtool, tmp_path, [
        {"interval": "1m",
         "input_series": traffic("user-service-preview", 2, 400) + traffic("user-service", 300, 400),
         "promql_expr_test": [{"expr": "tripgen:preview_5xx_ratio", "eval_time": "10m",
                               "exp_samples": [{"labels": "tripgen:preview_5xx_ratio", "value": 0.005}]}]},
        {"interval": "1m",
         "input_series": traffic("user-service-preview", 1, 400),
         "promql_expr_test": [{"expr": "tripgen:preview_5xx_ratio", "eval_time": "10m",
                               "exp_samples": [{"labels": "tripgen:preview_5xx_ratio", "value": 0.0025}]}]},
        {"interval": "1m",
         "input_series": traffic("user-service", 300, 400),
         "promql_expr_test": [{"expr": "tripgen:preview_5xx_ratio", "eval_time": "10m",
                               "exp_samples": [{"labels": "tripgen:preview_5xx_ratio", "value": 0}]}]},
    ], extra_rules=recording)


# ---------------------------------------------------------------------------- routing (amtool)


@pytest.fixture(scope="session")
def routing_file(amtool, tmp_path_factory) -> Path:
    obj = find("prod", "AlertmanagerConfig", "tripgen-alert-routing")
    path = tmp_path_factory.mktemp("amtool") / "alertmanager.yaml"
    config = promtools.alertmanager_config(obj, teams_native=promtools.teams_supported(amtool))
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def test_amtool_check_config_accepts_the_routing(amtool, routing_file):
    proc = subprocess.run([amtool, "check-config", str(routing_file)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "SUCCESS" in proc.stdout, proc.stdout + proc.stderr
    assert promtools.check_routing(objects("prod")) == []


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize(("alert", "receivers"), [
    ("TripGenHighErrorRate", ["pagerduty-critical", "teams-oncall"]),
    ("TripGenHighResponseTime", ["pagerduty-critical", "teams-oncall"]),
    ("TripGenPodCrashLooping", ["pagerduty-critical", "teams-oncall"]),
    ("TripGenHighCPU", ["teams-oncall"]),
    ("TripGenHighMemory", ["teams-oncall"]),
])
def test_amtool_routes_each_alert_of_each_service_to_its_receivers(amtool, routing_file, service, alert, receivers):
    labels = {"alertname": alert, "namespace": NS, "service": service, "severity": rule(alert)["labels"]["severity"]}
    assert promtools.route_receivers(amtool, routing_file, labels) == receivers


def test_amtool_leaves_other_namespaces_alone(amtool, routing_file):
    labels = {"alertname": "TripGenHighErrorRate", "namespace": "tripgen-dev", "severity": "critical"}
    assert promtools.route_receivers(amtool, routing_file, labels) == ["null"]


def test_routing_validates_against_the_upstream_crd_strictly():
    from conftest import CRDS
    from tripgen_cdk8s.lib.validation import check_custom_resources

    obj = find("prod", "AlertmanagerConfig", "tripgen-alert-routing")
    assert check_custom_resources([obj], CRDS) == []
    wrong = yaml.safe_load(yaml.safe_dump(obj))
    wrong["spec"]["receivers"][0]["pagerdutyConfigs"][0]["routingKey"] = "plain-text-key"
    assert check_custom_resources([wrong], CRDS)
    wrong = yaml.safe_load(yaml.safe_dump(obj))
    wrong["spec"]["route"]["groupWait"] = "thirty seconds"
    assert check_custom_resources([wrong], CRDS)


def test_no_routing_object_in_dev():
    assert objects("dev", "AlertmanagerConfig") == []
    assert objects("dev", "PrometheusRule") == []


def test_the_readme_route_computation_agrees_with_amtool(amtool, routing_file):
    from tripgen_cdk8s.app.observability_report import route_receivers

    route = find("prod", "AlertmanagerConfig", "tripgen-alert-routing")["spec"]["route"]
    for severity in ("critical", "warning", "info"):
        labels = {"alertname": "X", "namespace": NS, "service": "trip-service", "severity": severity}
        assert route_receivers(route, labels) == promtools.route_receivers(amtool, routing_file, labels)


def test_validate_check_names_the_install_script_when_the_tools_are_missing(monkeypatch):
    monkeypatch.setattr(promtools, "find_tool", lambda name: None)
    assert promtools.check_alerting(objects("prod")) == [
        f"promtool and amtool not installed: {promtools.INSTALL_HINT}"]
    assert promtools.check_alerting(objects("dev")) == []  # nothing to check in dev


def test_validate_check_fails_on_a_broken_routing_tree():
    obj = yaml.safe_load(yaml.safe_dump(find("prod", "AlertmanagerConfig", "tripgen-alert-routing")))
    obj["spec"]["route"]["groupWait"] = "soon"
    errors = promtools.check_alerting([obj])
    assert errors and "amtool check-config" in errors[0]
