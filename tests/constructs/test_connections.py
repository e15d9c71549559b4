"""Connections: egress and ingress intents, mirrored on workload peers."""

from __future__ import annotations

import pytest
from construct_helpers import new_chart, services

from tripgen_cdk8s.lib.constructs import Connectable, Connections
from tripgen_cdk8s.lib.constructs.connections import Rule
from tripgen_cdk8s.lib.model import IpBlock

SUBNET = IpBlock("10.0.2.0/24", description="db subnet")


def test_a_microservice_is_connectable_with_its_own_connections():
    chart = new_chart()
    service = services(chart)
    svc = service()
    assert isinstance(svc, Connectable) and isinstance(svc.connections, Connections)
    assert svc.connections.owner is svc and svc.peer_labels == {"app.kubernetes.io/name": "demo"}


def test_allow_to_a_workload_is_egress_on_the_caller_and_ingress_on_the_callee():
    chart = new_chart()
    service = services(chart)
    a, b = service("a"), service("b", port=9090)
    a.connections.allow_to(b)
    assert a.connections.egress == [Rule(b, (9090,))] and a.connections.ingress == []
    assert b.connections.ingress == [Rule(a, (9090,))] and b.connections.egress == []
    assert a.connections.callees == [b] and b.connections.callers == [a]


def test_explicit_ports_override_the_peer_port():
    chart = new_chart()
    service = services(chart)
    a, b = service("a"), service("b")
    a.connections.allow_to(b, (7000, 7001))
    assert b.connections.ingress == [Rule(a, (7000, 7001))]


def test_the_same_connection_twice_is_recorded_once():
    chart = new_chart()
    service = services(chart)
    a, b = service("a"), service("b")
    a.connections.allow_to(b)
    a.connections.allow_to(b)
    b.connections.allow_from(a)
    assert len(a.connections.egress) == 1 and len(b.connections.ingress) == 1
    assert a.config == {"B_URL": b.url()}


def test_allow_from_mirrors_allow_to():
    chart = new_chart()
    service = services(chart)
    a, b = service("a"), service("b")
    b.connections.allow_from(a)
    assert a.connections.egress == [Rule(b, (8080,))] and b.connections.ingress == [Rule(a, (8080,))]
    assert a.config["B_URL"] == "http://b.ns.svc.cluster.local:8080"


def test_ip_block_peers_need_ports_for_egress():
    chart = new_chart()
    service = services(chart)
    svc = service()
    with pytest.raises(ValueError, match="needs ports"):
        svc.connections.allow_to(SUBNET)
    svc.connections.allow_to(SUBNET, (5432,))
    assert svc.connections.egress == [Rule(SUBNET, (5432,))]
    assert svc.connections.callees == [] and svc.config == {}


def test_ingress_from_an_ip_block_defaults_to_the_owner_port():
    chart = new_chart()
    service = services(chart)
    svc = service(port=8443)
    svc.connections.allow_from(SUBNET)
    svc.connections.allow_from(IpBlock("10.9.0.0/16"), (9000,))
    assert svc.connections.ingress == [Rule(SUBNET, (8443,)), Rule(IpBlock("10.9.0.0/16"), (9000,))]
    assert svc.connections.callers == []


def test_internet_excludes_the_private_ranges():
    internet = IpBlock.internet(reason="the internet")
    assert internet.to_json() == {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}
    assert internet.description == "the internet"
    assert IpBlock("10.0.0.0/24").to_json() == {"cidr": "10.0.0.0/24"}


def test_calling_oneself_is_refused():
    chart = new_chart()
    service = services(chart)
    svc = service()
    with pytest.raises(ValueError, match="cannot call itself"):
        svc.connections.allow_to(svc)
    with pytest.raises(ValueError, match="cannot call itself"):
        svc.connections.allow_from(svc)
    assert svc.connections.egress == [] and svc.connections.ingress == []
