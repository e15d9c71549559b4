"""TRIPGEN.md 9.1-9.3 read back from the synthesised prod objects (dev: without them), the
environment README's alert and dashboard sections, the config validation of the new fields and
the generic constructs alone."""

from __future__ import annotations

import dataclasses
import json

import pytest

from conftest import ROOT, find, generated_files, objects
from tripgen_cdk8s.lib.errors import ConfigError
from tripgen_cdk8s.tripgen import overlays
from tripgen_cdk8s.tripgen.config import AlertRouting, Telemetry, validate

SERVICES = ["user-service", "trip-service", "ai-service", "location-service"]
NS = "tripgen-prod"


def config(env: str, name: str) -> dict:
    return find(env, "ConfigMap", f"{name}-config")["data"]


# ---------------------------------------------------------------- 9.1 alert routing


def test_alert_routing_object_of_9_1():
    obj = find("prod", "AlertmanagerConfig", "tripgen-alert-routing")
    assert obj["apiVersion"] == "monitoring.coreos.com/v1alpha1" and obj["metadata"]["namespace"] == NS
    route = obj["spec"]["route"]
    assert route["groupBy"] == ["alertname", "service"]
    assert (route["groupWait"], route["groupInterval"]) == ("30s", "5m")
    critical = [r for r in route["routes"] if {"name": "severity", "value": "critical", "matchType": "="} in r["matchers"]]
    assert [r["receiver"] for r in critical] == ["pagerduty-critical", "teams-oncall"]
    assert critical[0]["continue"] is True and critical[0]["repeatInterval"] == "30m"
    [warning] = [r for r in route["routes"] if {"name": "severity", "value": "warning", "matchType": "="} in r["matchers"]]
    assert warning["receiver"] == "teams-oncall" and warning["repeatInterval"] == "4h"


def test_receivers_are_secret_key_references_only():
    receivers = {r["name"]: r for r in find("prod", "AlertmanagerConfig", "tripgen-alert-routing")["spec"]["receivers"]}
    assert set(receivers) == {"pagerduty-critical", "teams-oncall"}
    [pd] = receivers["pagerduty-critical"]["pagerdutyConfigs"]
    assert pd["routingKey"] == {"name": "alertmanager-receivers", "key": "pagerduty-routing-key"}
    [teams] = receivers["teams-oncall"]["msteamsv2Configs"]
    assert teams["webhookURL"] == {"name": "alertmanager-receivers", "key": "teams-webhook-url"}
    for cfg in (pd, teams):  # nothing but Secret references and flags: no URL, no key in the chart
        assert all(isinstance(v, bool) or set(v) == {"name", "key"} for v in cfg.values())


def test_every_alert_carries_service_label_and_runbook_annotation():
    rules = find("prod", "PrometheusRule", "tripgen-alerts")["spec"]["groups"][0]["rules"]
    assert len(rules) == 5
    for r in rules:
        assert r["annotations"]["runbook_url"].startswith("https://github.com/tripgen/k8s-manifests/")
        assert r["labels"]["service"] == "{{ $labels.service }}"
        assert "service" in r["expr"] and "$labels.service" in r["annotations"]["summary"]
        assert "namespace" in r["expr"].split(">")[0]  # kept for the operator's namespace matcher


def test_dev_has_no_routing_dashboards_or_telemetry():
    assert objects("dev", "AlertmanagerConfig") == []
    for name in SERVICES:
        data = config("dev", name)
        assert not any(k.startswith("APPLICATIONINSIGHTS") for k in data)
        assert "LOGGING_STRUCTURED_FORMAT_CONSOLE" not in data


# ---------------------------------------------------------------- 9.2 dashboards (facts; the rest in test_dashboards)


@pytest.mark.parametrize("name", SERVICES)
def test_histogram_is_enabled_for_the_p95_panels(name):
    assert config("prod", name)["MANAGEMENT_METRICS_DISTRIBUTION_PERCENTILES_HISTOGRAM_HTTP_SERVER_REQUESTS"] == "true"


def test_dashboard_config_maps_have_the_sidecar_label_and_folder():
    maps = [o for o in objects("prod", "ConfigMap") if o["metadata"]["name"].endswith("-dashboard")]
    assert len(maps) == 5
    for cm in maps:
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert cm["metadata"]["annotations"]["grafana_folder"] == "TripGen prod"


# ---------------------------------------------------------------- 9.3 application telemetry


@pytest.mark.parametrize("name", SERVICES)
def test_application_insights_of_9_3(name):
    data = config("prod", name)
    assert data["APPLICATIONINSIGHTS_ROLE_NAME"] == name
    content = json.loads(data["APPLICATIONINSIGHTS_CONFIGURATION_CONTENT"])
    assert content["sampling"] == {"percentage": 10}
    assert content["connectionString"] == "${file:/mnt/secrets/APPLICATIONINSIGHTS_CONNECTION_STRING}"
    assert data["LOGGING_STRUCTURED_FORMAT_CONSOLE"] == "ecs"
    assert "APPLICATIONINSIGHTS_CONNECTION_STRING" not in data  # the secret is a file, never config
    spc = find("prod", "SecretProviderClass", f"{name}-secrets")["spec"]["parameters"]["objects"]
    assert "objectName: appinsights-connection-string" in spc
    assert "objectAlias: APPLICATIONINSIGHTS_CONNECTION_STRING" in spc


# ---------------------------------------------------------------- reviewers: the environment README


def test_environment_readme_lists_alerts_with_routes_and_dashboards():
    readme = generated_files("prod")["README.md"]
    assert "## Alerts" in readme and "## Dashboards" in readme
    for alert, route in (("TripGenHighErrorRate", "pagerduty-critical, teams-oncall"),
                         ("TripGenHighCPU", "teams-oncall")):
        [line] = [line for line in readme.splitlines() if line.startswith(f"| {alert} ")]
        assert route in line
    for name in SERVICES:
        assert f"`{name}-dashboard`" in readme
    assert "`deployments-dashboard`" in readme
    dev = generated_files("dev")["README.md"]
    assert "## Alerts" not in dev


# ---------------------------------------------------------------- config validation


def _prod():
    return overlays.load(ROOT, "prod")


@pytest.mark.parametrize(("change", "field"), [
    ({"teams_receiver": "pagerduty-critical"}, "monitoring.alert_routing.teams_receiver"),
    ({"receivers_secret": "Alertmanager_Receivers"}, "monitoring.alert_routing.receivers_secret"),
    ({"critical_repeat_seconds": 0}, "monitoring.alert_routing.critical_repeat_seconds"),
    ({"group_wait_seconds": "30s"}, "monitoring.alert_routing.group_wait_seconds"),
])
def test_bad_routing_values_are_refused_with_their_field(change, field):
    env = _prod()
    assert env.monitoring is not None and env.monitoring.alert_routing is not None
    bad = dataclasses.replace(env, monitoring=dataclasses.replace(
        env.monitoring, alert_routing=dataclasses.replace(env.monitoring.alert_routing, **change)))
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        validate(bad)


def test_bad_telemetry_and_runbook_values_are_refused():
    env = _prod()
    with pytest.raises(ConfigError, match=r"telemetry\.sampling_percentage"):
        validate(dataclasses.replace(env, telemetry=Telemetry(sampling_percentage=0)))
    with pytest.raises(ConfigError, match=r"monitoring\.runbook_base_url"):
        assert env.monitoring is not None
        validate(dataclasses.replace(env, monitoring=dataclasses.replace(env.monitoring, runbook_base_url="runbooks")))
    dev = overlays.load(ROOT, "dev")
    with pytest.raises(ConfigError, match="telemetry"):
        validate(dataclasses.replace(dev, telemetry=Telemetry()))


def test_routing_defaults_are_the_spec():
    r = AlertRouting()
    assert (r.group_wait_seconds, r.group_interval_seconds, r.critical_repeat_seconds, r.warning_repeat_seconds) == (
        30, 300, 1800, 14400)


# ---------------------------------------------------------------- the generic constructs alone


def test_alertmanager_config_construct_refuses_an_unknown_receiver():
    import cdk8s

    from tripgen_cdk8s.lib.constructs import AlertmanagerConfig, AlertmanagerConfigProps, Receiver, Route, SecretKey
    from tripgen_cdk8s.lib.helmchart import HelmChart, HelmChartProps

    chart = HelmChart(cdk8s.Testing.app(), "test", HelmChartProps(namespace="ns", version="0.1.0"))
    teams = Receiver.teams("chat", SecretKey("s", "k"))
    with pytest.raises(ValueError, match="unknown receiver 'pager'"):
        AlertmanagerConfig(chart, "bad", AlertmanagerConfigProps(
            name="r", namespace="ns", receiver="chat", receivers=(teams,), routes=(Route("pager", (("severity", "x"),)),)))
    AlertmanagerConfig(chart, "ok", AlertmanagerConfigProps(name="r2", namespace="ns", receiver="chat", receivers=(teams,)))
    [obj] = cdk8s.Testing.synth(chart)
    assert obj["spec"]["route"] == {"receiver": "chat", "groupBy": ["alertname"], "groupWait": "30s",
                                    "groupInterval": "5m", "repeatInterval": "4h"}


def test_alert_rules_construct_without_runbook_base_adds_no_runbook():
    import cdk8s

    from tripgen_cdk8s.lib.constructs import Alert, AlertRules, AlertRulesProps
    from tripgen_cdk8s.lib.helmchart import HelmChart, HelmChartProps

    chart = HelmChart(cdk8s.Testing.app(), "test", HelmChartProps(namespace="ns", version="0.1.0"))
    AlertRules(chart, "rules", AlertRulesProps(name="x", namespace="ns", alerts=(
        Alert("A", "up == 0", "1m", "warning", "down", labels=(("team", "t"),)),)))
    [obj] = cdk8s.Testing.synth(chart)
    [rule] = obj["spec"]["groups"][0]["rules"]
    assert obj["spec"]["groups"][0]["name"] == "x.rules"
    assert rule["annotations"] == {"summary": "down"} and rule["labels"] == {"team": "t", "severity": "warning"}
