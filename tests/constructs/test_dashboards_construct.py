"""GrafanaDashboard: a ConfigMap holding one dashboard for the Grafana sidecar."""

from __future__ import annotations

import json

import pytest
from construct_helpers import new_chart, synth

from tripgen_cdk8s.lib.constructs import GrafanaDashboard, GrafanaDashboardProps
from tripgen_cdk8s.lib.constructs.dashboards import (
    Query,
    build,
    dashboard_json,
    datasource_ref,
    load_dashboard,
    queries_of,
    time_series,
)

QUERY = 'sum(rate(http_requests_total{namespace="ns"}[5m]))'


def dashboard(uid="svc-uid"):
    panel = time_series("Requests", (Query(QUERY, "rps"),), datasource=datasource_ref("prom"), unit="reqps")
    return build("Service", uid, tags=["svc"], description="d", rows=[("Traffic", [panel])])


def test_a_dashboard_without_uid_is_refused():
    chart = new_chart()
    with pytest.raises(ValueError, match="needs a uid"):
        GrafanaDashboard(chart, "d", GrafanaDashboardProps(name="d", dashboard=dashboard(uid="")))
    assert synth(chart) == {}


def test_the_config_map_has_the_sidecar_label_and_the_json_under_uid_json():
    chart = new_chart()
    d = GrafanaDashboard(chart, "d", GrafanaDashboardProps(name="svc-dashboard", dashboard=dashboard(),
                                                           labels={"team": "core"}))
    assert d.file_name == "svc-uid.json"
    cm = synth(chart)[("ConfigMap", "svc-dashboard")]
    assert cm["metadata"]["namespace"] == "ns"
    assert cm["metadata"]["labels"] == {"team": "core", "grafana_dashboard": "1"}
    assert "annotations" not in cm["metadata"]
    assert list(cm["data"]) == ["svc-uid.json"]
    assert cm["data"]["svc-uid.json"] == dashboard_json(dashboard()) == d.json
    loaded = json.loads(cm["data"]["svc-uid.json"])
    assert loaded["uid"] == "svc-uid" and loaded["title"] == "Service"
    assert queries_of(load_dashboard(cm["data"]["svc-uid.json"])) == [QUERY]


def test_folder_annotation_file_name_and_namespace():
    chart = new_chart()
    GrafanaDashboard(chart, "d", GrafanaDashboardProps(name="d", dashboard=dashboard(), folder="TripGen",
                                                       file_name="custom.json", namespace="monitoring"))
    cm = synth(chart)[("ConfigMap", "d")]
    assert cm["metadata"]["annotations"] == {"grafana_folder": "TripGen"}
    assert cm["metadata"]["namespace"] == "monitoring"
    assert list(cm["data"]) == ["custom.json"]


def test_query_namespace_matchers_follow_the_release_namespace():
    chart = new_chart()
    GrafanaDashboard(chart, "d", GrafanaDashboardProps(name="d", dashboard=dashboard()))
    synth(chart)
    [binding] = chart.values.bindings[("ConfigMap", "d")]
    assert binding.path == ("data", "svc-uid.json") and ".Release.Namespace" in binding.template
