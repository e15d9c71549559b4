"""A service's port, probe paths and publicity are config, not constants: an internal-only service
on another port gets no Ingress path, and everything that reaches it follows its port."""

from __future__ import annotations

import dataclasses

import pytest

from conftest import ROOT
from tripgen_cdk8s.lib import validation as v
from tripgen_cdk8s.lib.errors import ConfigError
from tripgen_cdk8s.tripgen import overlays
from tripgen_cdk8s.tripgen.app import synthesize
from tripgen_cdk8s.tripgen.config import validate

PROD = overlays.load(ROOT, "prod")


def _internal_location(port: int = 9090) -> list[dict]:
    svc = dataclasses.replace(PROD.service("location-service"), api_prefixes=(), port=port,
                              liveness_path="/healthz", readiness_path="/ready")
    env = dataclasses.replace(PROD, services=tuple(svc if s.name == svc.name else s for s in PROD.services))
    return [o for c in synthesize(env).charts for o in c.objects]


def _get(objs: list[dict], kind: str, name: str) -> dict:
    [found] = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


@pytest.fixture(scope="module")
def objs() -> list[dict]:
    return _internal_location()


def test_an_internal_only_service_has_no_ingress_path(objs):
    ingress = _get(objs, "Ingress", "tripgen-api")
    backends = {p["backend"]["service"]["name"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]}
    assert "location-service" not in backends and backends == {"user-service", "trip-service", "ai-service"}


def test_the_port_reaches_container_service_preview_probes_urls_and_policies(objs):
    rollout = _get(objs, "Rollout", "location-service")
    [container] = rollout["spec"]["template"]["spec"]["containers"]
    assert container["ports"] == [{"containerPort": 9090, "name": "http", "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert _get(objs, "Service", "location-service")["spec"]["ports"][0]["port"] == 9090
    assert _get(objs, "Service", "location-service-preview")["spec"]["ports"][0]["port"] == 9090
    assert _get(objs, "ConfigMap", "location-service-config")["data"]["SERVER_PORT"] == "9090"
    trip_config = _get(objs, "ConfigMap", "trip-service-config")["data"]
    assert trip_config["LOCATION_SERVICE_URL"].endswith(":9090")
    assert trip_config["USER_SERVICE_URL"].endswith(":8080")
    callee_policy = _get(objs, "NetworkPolicy", "location-service")
    assert {p["port"] for r in callee_policy["spec"]["ingress"] for p in r["ports"]} == {9090}
    caller_policy = _get(objs, "NetworkPolicy", "trip-service")
    egress_ports = {p["port"] for r in caller_policy["spec"]["egress"] if "podSelector" in r["to"][0] for p in r["ports"]}
    assert egress_ports == {8080, 9090}
    app_policy = _get(objs, "NetworkPolicy", "production-network-policy")
    assert [p["port"] for p in app_policy["spec"]["ingress"][0]["ports"]] == [8080, 9090]


def test_the_objects_stay_valid(objs):
    assert v.check_builtin_schemas(objs) == []
    assert v.check_ports(objs) == [] and v.check_selectors(objs) == [] and v.check_network_coverage(objs, True) == []


def test_port_and_probe_paths_are_validated():
    svc = PROD.service("location-service")
    for change, field in (({"port": 80}, "port"), ({"port": 65536}, "port"), ({"liveness_path": "healthz"}, "liveness_path"),
                          ({"readiness_path": "/ready?x"}, "readiness_path")):
        bad = dataclasses.replace(PROD, services=tuple(dataclasses.replace(s, **change) if s is svc else s
                                                      for s in PROD.services))
        with pytest.raises(ConfigError) as err:
            validate(bad)
        assert err.value.field == f"services.location-service.{field}"
    nobody_public = dataclasses.replace(PROD, services=tuple(dataclasses.replace(s, api_prefixes=())
                                                             for s in PROD.services))
    with pytest.raises(ConfigError) as err:
        validate(nobody_public)
    assert err.value.field == "ingress" and "no service has api_prefixes" in str(err.value)
