"""ServiceNetworkPolicy (from connections, at synthesis), NamespaceNetworkPolicies and AllowAllPolicy."""

from __future__ import annotations

from construct_helpers import new_chart, services, synth

from tripgen_cdk8s.lib.constructs import (
    AllowAllPolicy,
    AllowAllPolicyProps,
    NamespaceNetworkPolicies,
    NamespacePoliciesProps,
    ServiceNetworkPolicy,
    ServiceNetworkPolicyProps,
)
from tripgen_cdk8s.lib.model import IpBlock

SUBNET = IpBlock("10.0.2.0/24")


def selects(name):
    return {"podSelector": {"matchLabels": {"app.kubernetes.io/name": name}}}


def tcp(*ports):
    return [{"protocol": "TCP", "port": p} for p in ports]


def test_workload_peers_give_ingress_on_the_callee_and_egress_on_the_caller():
    chart = new_chart()
    service = services(chart)
    a, b = service("a"), service("b", port=9090)
    ServiceNetworkPolicy(chart, "a-policy", ServiceNetworkPolicyProps(a))
    ServiceNetworkPolicy(chart, "b-policy", ServiceNetworkPolicyProps(b))
    a.connections.allow_to(b)  # declared after the policies: they are produced at synthesis
    objs = synth(chart)
    pa, pb = objs[("NetworkPolicy", "a")], objs[("NetworkPolicy", "b")]
    assert pa["metadata"]["namespace"] == "ns" and pa["metadata"]["labels"] == a.labels
    assert pa["spec"] == {"podSelector": {"matchLabels": a.selector}, "policyTypes": ["Ingress", "Egress"],
                          "egress": [{"to": [selects("b")], "ports": tcp(9090)}]}
    assert pb["spec"] == {"podSelector": {"matchLabels": b.selector}, "policyTypes": ["Ingress", "Egress"],
                          "ingress": [{"from": [selects("a")], "ports": tcp(9090)}]}


def test_no_connections_denies_everything():
    chart = new_chart()
    service = services(chart)
    svc = service()
    policy = ServiceNetworkPolicy(chart, "np", ServiceNetworkPolicyProps(svc))
    assert policy.workload is svc
    spec = synth(chart)[("NetworkPolicy", "demo")]["spec"]
    assert spec == {"podSelector": {"matchLabels": svc.selector}, "policyTypes": ["Ingress", "Egress"]}


def test_callers_share_one_ingress_rule_sorted_by_name_then_ip_blocks():
    chart = new_chart()
    service = services(chart)
    target = service("target")
    zeta, alpha, mid = service("zeta"), service("alpha"), service("mid")
    for caller, ports in ((zeta, None), (alpha, (9000,)), (mid, None)):
        caller.connections.allow_to(target, ports)
    target.connections.allow_from(SUBNET)
    ServiceNetworkPolicy(chart, "np", ServiceNetworkPolicyProps(target))
    ingress = synth(chart)[("NetworkPolicy", "target")]["spec"]["ingress"]
    assert ingress == [{"from": [selects("alpha"), selects("mid"), selects("zeta")], "ports": tcp(9000, 8080)},
                       {"from": [{"ipBlock": {"cidr": "10.0.2.0/24"}}], "ports": tcp(8080)}]


def test_egress_to_callees_sorted_by_name_then_ip_blocks_in_order():
    chart = new_chart()
    service = services(chart)
    caller = service("caller")
    caller.connections.allow_to(IpBlock.internet(reason="the internet"), (443,))
    caller.connections.allow_to(service("zeta"))
    caller.connections.allow_to(SUBNET, (5432, 6432))
    caller.connections.allow_to(service("alpha", port=7000))
    ServiceNetworkPolicy(chart, "np", ServiceNetworkPolicyProps(caller))
    egress = synth(chart)[("NetworkPolicy", "caller")]["spec"]["egress"]
    assert egress == [
        {"to": [selects("alpha")], "ports": tcp(7000)},
        {"to": [selects("zeta")], "ports": tcp(8080)},
        {"to": [{"ipBlock": IpBlock.internet(reason="the internet").to_json()}], "ports": tcp(443)},
        {"to": [{"ipBlock": {"cidr": "10.0.2.0/24"}}], "ports": tcp(5432, 6432)}]


def test_policies_in_two_charts_mirror_each_other():
    chart = new_chart()
    service = services(chart)
    c1, c2 = new_chart("one"), new_chart("two")
    a, b = service("a", scope=c1), service("b", scope=c2)
    ServiceNetworkPolicy(c1, "np", ServiceNetworkPolicyProps(a))
    ServiceNetworkPolicy(c2, "np", ServiceNetworkPolicyProps(b))
    b.connections.allow_from(a)
    assert synth(c1)[("NetworkPolicy", "a")]["spec"]["egress"] == [{"to": [selects("b")], "ports": tcp(8080)}]
    assert synth(c2)[("NetworkPolicy", "b")]["spec"]["ingress"] == [{"from": [selects("a")], "ports": tcp(8080)}]


def test_namespace_policies_default_deny_and_dns_only():
    chart = new_chart()
    policies = NamespaceNetworkPolicies(chart, "policies", NamespacePoliciesProps(namespace="app", labels={"x": "y"}))
    assert policies.application is None
    objs = synth(chart)
    assert list(objs) == [("NetworkPolicy", "default-deny"), ("NetworkPolicy", "allow-dns")]
    deny, dns = objs[("NetworkPolicy", "default-deny")], objs[("NetworkPolicy", "allow-dns")]
    assert deny["metadata"] == {"name": "default-deny", "namespace": "app", "labels": {"x": "y"}}
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert dns["spec"] == {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}]}


def test_the_application_policy_takes_namespace_and_ip_block_sources_in_order():
    chart = new_chart()
    NamespaceNetworkPolicies(chart, "policies", NamespacePoliciesProps(
        namespace="app", application_ports=(8080, 80, 8080), sources=("ingress-nginx", SUBNET, "monitoring"),
        policy_name="allow-app", application_selector={"tier": "web"}))
    objs = synth(chart)
    assert list(objs)[-1] == ("NetworkPolicy", "allow-app")
    assert objs[("NetworkPolicy", "allow-app")]["spec"] == {
        "podSelector": {"matchLabels": {"tier": "web"}}, "policyTypes": ["Ingress"],
        "ingress": [{"from": [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}},
            {"ipBlock": {"cidr": "10.0.2.0/24"}},
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
            "ports": tcp(80, 8080)}]}


def test_the_application_policy_defaults():
    chart = new_chart()
    NamespaceNetworkPolicies(chart, "policies", NamespacePoliciesProps(namespace="app", application_ports=(8080,)))
    spec = synth(chart)[("NetworkPolicy", "allow-application-ingress")]["spec"]
    assert spec["podSelector"] == {"matchLabels": {"tier": "application"}}
    assert spec["ingress"][0]["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}]


def test_allow_all_policy():
    chart = new_chart()
    AllowAllPolicy(chart, "open", AllowAllPolicyProps(namespace="dev"))
    AllowAllPolicy(chart, "named", AllowAllPolicyProps(namespace="dev", name="open", labels={"a": "b"}))
    objs = synth(chart)
    for name in ("allow-all", "open"):
        assert objs[("NetworkPolicy", name)]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                                                         "ingress": [{}], "egress": [{}]}
    assert objs[("NetworkPolicy", "open")]["metadata"]["labels"] == {"a": "b"}
    assert objs[("NetworkPolicy", "allow-all")]["metadata"]["labels"]["app.kubernetes.io/component"] == "network"
