"""ApiIngress: one Ingress with a Prefix rule per route, sorted by path."""

from __future__ import annotations

import pytest
from construct_helpers import new_chart, services, synth

from tripgen_cdk8s.lib.constructs import ApiIngress, ApiIngressProps, IngressRoute, Routable, nginx_annotations


def paths(objs, name="api"):
    [rule] = objs[("Ingress", name)]["spec"]["rules"]
    return [(p["path"], p["backend"]["service"]["name"], p["backend"]["service"]["port"]["number"])
            for p in rule["http"]["paths"]]


def test_routes_are_sorted_by_path():
    chart = new_chart()
    service = services(chart)
    users, trips = service("users"), service("trips", port=9000)
    assert isinstance(users, Routable)
    ingress = ApiIngress(chart, "ingress", ApiIngressProps(name="api", host="api.example.com", routes=(
        IngressRoute("/users", users), IngressRoute("/api/trips", trips))))
    assert [r.path for r in ingress.routes] == ["/users", "/api/trips"]
    objs = synth(chart)
    obj = objs[("Ingress", "api")]
    assert obj["metadata"]["namespace"] == "ns" and "annotations" not in obj["metadata"]
    assert obj["spec"]["ingressClassName"] == "nginx"
    assert obj["spec"]["rules"][0]["host"] == "api.example.com"
    assert paths(objs) == [("/api/trips", "trips", 9000), ("/users", "users", 8080)]
    assert all(p["pathType"] == "Prefix" for p in obj["spec"]["rules"][0]["http"]["paths"])


def test_add_route_after_construction():
    chart = new_chart()
    service = services(chart)
    ingress = ApiIngress(chart, "ingress", ApiIngressProps(name="api", host="h", class_name="internal",
                                                           namespace="edge", labels={"x": "y"}))
    ingress.add_route("/b", service("b"))
    ingress.add_route("/a", service("a"))
    objs = synth(chart)
    assert paths(objs) == [("/a", "a", 8080), ("/b", "b", 8080)]
    meta = objs[("Ingress", "api")]["metadata"]
    assert (meta["namespace"], meta["labels"]) == ("edge", {"x": "y"})
    assert objs[("Ingress", "api")]["spec"]["ingressClassName"] == "internal"


def test_a_path_routed_twice_is_refused():
    chart = new_chart()
    service = services(chart)
    a = service("a")
    with pytest.raises(ValueError, match="path /a routed twice"):
        ApiIngress(chart, "ingress", ApiIngressProps(name="api", host="h", routes=(
            IngressRoute("/a", a), IngressRoute("/a", service("b")))))
    ingress = ApiIngress(chart, "other", ApiIngressProps(name="other", host="h", routes=(IngressRoute("/a", a),)))
    with pytest.raises(ValueError, match="routed twice"):
        ingress.add_route("/a", a)


def test_a_path_without_leading_slash_is_refused():
    chart = new_chart()
    service = services(chart)
    ingress = ApiIngress(chart, "ingress", ApiIngressProps(name="api", host="h"))
    with pytest.raises(ValueError, match="must start with /"):
        ingress.add_route("users", service())
    assert ingress.routes == []


def test_an_ingress_without_routes_cannot_be_synthesised():
    chart = new_chart()
    ApiIngress(chart, "ingress", ApiIngressProps(name="api", host="h"))
    with pytest.raises(ValueError, match="no routes"):
        synth(chart)


def test_nginx_annotations():
    chart = new_chart()
    service = services(chart)
    assert nginx_annotations() == {"nginx.ingress.kubernetes.io/proxy-read-timeout": "60",
                                   "nginx.ingress.kubernetes.io/proxy-send-timeout": "60"}
    annotations = nginx_annotations(request_timeout_seconds=15)
    assert set(annotations.values()) == {"15"}
    ApiIngress(chart, "ingress", ApiIngressProps(name="api", host="h", annotations=annotations,
                                                 routes=(IngressRoute("/", service()),)))
    assert synth(chart)[("Ingress", "api")]["metadata"]["annotations"] == annotations
