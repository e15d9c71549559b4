"""Grafana dashboards (TRIPGEN.md 9.2) built with grafana-foundation-sdk, read back from the
rendered ConfigMaps: sidecar label and folder, a lossless round trip through the SDK's model,
every query valid PromQL on metrics the stack exposes, bounds taken from the chart's own config."""

from __future__ import annotations

import dataclasses
import json

import pytest

from conftest import ROOT, find, objects
from tripgen_cdk8s.lib.constructs.dashboards import dashboard_json, load_dashboard, queries_of
from tripgen_cdk8s.tripgen import overlays
from tripgen_cdk8s.tripgen.app import synthesize
from tripgen_cdk8s.tripgen.metrics_catalog import METRICS, exporter_of, metric_names

SERVICES = ["user-service", "trip-service", "ai-service", "location-service"]
NS = "tripgen-prod"


def dashboard_maps(env: str) -> list[dict]:
    return [o for o in objects(env, "ConfigMap") if (o["metadata"].get("labels") or {}).get("grafana_dashboard") == "1"]


def dashboard_of(cm: dict) -> dict:
    [(_key, text)] = cm["data"].items()
    return json.loads(text)


def panels(d: dict) -> dict[str, dict]:
    return {p["title"]: p for p in d["panels"] if p["type"] != "row"}


def test_four_service_dashboards_and_one_deployments_dashboard_in_prod():
    names = sorted(o["metadata"]["name"] for o in dashboard_maps("prod"))
    assert names == sorted([f"{s}-dashboard" for s in SERVICES] + ["deployments-dashboard"])
    for cm in dashboard_maps("prod"):
        assert cm["metadata"]["annotations"] == {"grafana_folder": "TripGen prod"}
        assert cm["metadata"]["namespace"] == NS
        [(key, _text)] = cm["data"].items()
        assert key == f"{dashboard_of(cm)['uid']}.json"


def test_no_dashboards_in_dev():
    assert dashboard_maps("dev") == []


@pytest.mark.parametrize("name", [f"{s}-dashboard" for s in SERVICES] + ["deployments-dashboard"])
def test_dashboard_json_round_trips_through_the_sdk_model_identically(name):
    text = find("prod", "ConfigMap", name)["data"]
    [(_key, raw)] = text.items()
    model = load_dashboard(raw)
    assert dashboard_json(model) == raw
    assert model.uid and model.title and model.panels


@pytest.mark.parametrize("name", [f"{s}-dashboard" for s in SERVICES] + ["deployments-dashboard"])
def test_every_query_parses_and_uses_only_metrics_the_stack_exposes(name):
    [(_key, raw)] = find("prod", "ConfigMap", name)["data"].items()
    queries = queries_of(load_dashboard(raw))
    assert len(queries) >= 3
    for q in queries:
        names = metric_names(q)  # raises on invalid PromQL
        assert names, q
        unknown = names - set(METRICS)
        assert not unknown, f"{name}: {q}: metric(s) not exposed by the stack: {unknown}"


def test_alert_and_analysis_queries_use_only_known_metrics_too():
    queries = [r["expr"] for r in find("prod", "PrometheusRule", "tripgen-alerts")["spec"]["groups"][0]["rules"]]
    queries += [m["provider"]["prometheus"]["query"].replace("{{args.service-name}}", "x")
                for o in objects("prod", "AnalysisTemplate") for m in o["spec"]["metrics"]]
    for q in queries:
        for metric in metric_names(q):
            assert exporter_of(metric)


def test_the_catalog_names_an_exporter_for_every_metric_and_rejects_invented_ones():
    assert {m.exporter for m in METRICS.values()} == {
        "Spring Boot actuator (Micrometer Prometheus registry)", "cAdvisor (kubelet /metrics/cadvisor)",
        "kube-state-metrics", "KEDA operator", "Argo Rollouts controller"}
    with pytest.raises(KeyError):
        exporter_of("http_requests_total")


@pytest.mark.parametrize("service", SERVICES)
def test_service_dashboard_panels_of_section_9_2(service):
    d = dashboard_of(find("prod", "ConfigMap", f"{service}-dashboard"))
    p = panels(d)
    for title in ("Request rate", "5xx ratio", "p95 latency", "JVM heap used vs max", "CPU per pod",
                  "Memory per pod", "Replicas", "Rollout phase"):
        assert title in p, title
    assert "http_server_requests_seconds_bucket" in p["p95 latency"]["targets"][0]["expr"]
    assert p["p95 latency"]["targets"][0]["expr"].startswith("histogram_quantile(0.95,")
    heap = [t["expr"] for t in p["JVM heap used vs max"]["targets"]]
    assert any("jvm_memory_used_bytes" in e for e in heap) and any("jvm_memory_max_bytes" in e for e in heap)
    assert ("Service Bus queue ai-schedule-generation (as KEDA sees it)" in p) is (service == "ai-service")
    assert "rollout_info" in p["Rollout phase"]["targets"][0]["expr"]
    assert d["uid"] == f"tripgen-prod-{service}" and "tripgen" in d["tags"]


def _steps(panel: dict) -> list[float]:
    return [s["value"] for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"] if s["value"] is not None]


@pytest.mark.parametrize("service", SERVICES)
def test_bounds_are_the_charts_own_requests_limits_and_scaler_range(service):
    from tripgen_cdk8s.lib.quantities import byte_count, cpu_millicores

    rollout = find("prod", "Rollout", service)
    res = rollout["spec"]["template"]["spec"]["containers"][0]["resources"]
    p = panels(dashboard_of(find("prod", "ConfigMap", f"{service}-dashboard")))
    cpu_req, cpu_lim = cpu_millicores(res["requests"]["cpu"]) / 1000, cpu_millicores(res["limits"]["cpu"]) / 1000
    assert cpu_req in _steps(p["CPU per pod"]) and cpu_lim in _steps(p["CPU per pod"])
    assert p["CPU per pod"]["fieldConfig"]["defaults"]["max"] == cpu_lim
    mem_req, mem_lim = byte_count(res["requests"]["memory"]), byte_count(res["limits"]["memory"])
    assert mem_req in _steps(p["Memory per pod"]) and mem_lim in _steps(p["Memory per pod"])
    kind = "ScaledObject" if service == "ai-service" else "HorizontalPodAutoscaler"
    scaler = find("prod", kind, service)["spec"]
    lo = scaler.get("minReplicas", scaler.get("minReplicaCount"))
    hi = scaler.get("maxReplicas", scaler.get("maxReplicaCount"))
    assert _steps(p["Replicas"]) == [lo, hi] and p["Replicas"]["fieldConfig"]["defaults"]["max"] == hi


def test_a_config_change_moves_the_dashboard():
    env = overlays.load(ROOT, "prod")
    trip = env.service("trip-service")
    assert trip.scaling is not None
    changed = dataclasses.replace(env, services=tuple(
        dataclasses.replace(s, scaling=dataclasses.replace(trip.scaling, max_replicas=12)) if s.name == "trip-service"
        else s for s in env.services))
    [cm] = [o for c in synthesize(changed).charts for o in c.objects
            if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "trip-service-dashboard"]
    replicas = panels(dashboard_of(cm))["Replicas"]
    assert _steps(replicas)[-1] == 12 and replicas["fieldConfig"]["defaults"]["max"] == 12


def test_deployments_dashboard_of_dp_5_1_1():
    p = panels(dashboard_of(find("prod", "ConfigMap", "deployments-dashboard")))
    assert "rollout_info" in p["Rollout phase per service"]["targets"][0]["expr"]
    assert "analysis_run_metric_phase" in p["Analysis runs by result"]["targets"][0]["expr"]
    assert 'reason="RolloutAborted"' in p["Aborted rollouts (1 h)"]["targets"][0]["expr"]
    for s in SERVICES:
        ratio = p[f"Preview vs active 5xx ratio: {s}"]
        exprs = [t["expr"] for t in ratio["targets"]]
        assert f'service="{s}-preview"' in exprs[0] and f'service="{s}"' in exprs[1]
        assert _steps(ratio) == [0.005]


def test_dashboard_construct_needs_a_uid_and_labels_the_config_map():
    import cdk8s

    from tripgen_cdk8s.lib.constructs import GrafanaDashboard, GrafanaDashboardProps
    from tripgen_cdk8s.lib.constructs.dashboards import build
    from tripgen_cdk8s.lib.helmchart import HelmChart, HelmChartProps

    chart = HelmChart(cdk8s.Testing.app(), "test", HelmChartProps(namespace="ns", version="0.1.0"))
    with pytest.raises(ValueError, match="uid"):
        GrafanaDashboard(chart, "no-uid", GrafanaDashboardProps(name="x", namespace="ns", dashboard=build(
            "T", "", tags=[], description="", rows=[])))
    GrafanaDashboard(chart, "ok", GrafanaDashboardProps(name="y", namespace="ns", dashboard=build(
        "T", "t-uid", tags=[], description="", rows=[])))
    [cm] = cdk8s.Testing.synth(chart)
    # without labels of its own it carries the chart's standard labels, plus the sidecar's
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1" and "annotations" not in cm["metadata"]
    assert cm["metadata"]["labels"]["app.kubernetes.io/component"] == "dashboard"
    assert list(cm["data"]) == ["t-uid.json"]


def test_the_catalog_lists_exactly_the_metrics_the_generated_queries_use():
    used: set[str] = set()
    for cm in dashboard_maps("prod"):
        [(_key, raw)] = cm["data"].items()
        for q in queries_of(load_dashboard(raw)):
            used |= metric_names(q)
    for r in find("prod", "PrometheusRule", "tripgen-alerts")["spec"]["groups"][0]["rules"]:
        used |= metric_names(r["expr"])
    for o in objects("prod", "AnalysisTemplate"):
        for m in o["spec"]["metrics"]:
            used |= metric_names(m["provider"]["prometheus"]["query"].replace("{{args.service-name}}", "x"))
    # the one extra: the replicas panel of a service without autoscaler (none in prod)
    assert set(METRICS) - used == {"kube_deployment_status_replicas_available"} and used <= set(METRICS)


def test_a_fixed_size_rolling_service_gets_its_replica_count_and_no_rollout_panel():
    from tripgen_cdk8s.tripgen.observability import service_dashboard

    env = overlays.load(ROOT, "prod")
    svc = dataclasses.replace(env.service("location-service"), scaling=None, min_available=None, strategy="rolling",
                              replicas=4)
    d = json.loads(dashboard_json(service_dashboard(env, svc)))
    p = panels(d)
    assert "Rollout phase" not in p
    assert "kube_deployment_status_replicas_available" in p["Replicas"]["targets"][0]["expr"]
    assert _steps(p["Replicas"]) == [4]
