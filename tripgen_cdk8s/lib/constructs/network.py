"""Network intent as NetworkPolicies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import constructs

from ..errors import check_props
from ..helmchart import HelmChart, Resource
from ..model import IpBlock
from .connections import FEATURE_EGRESS, INTERNET_EGRESS, Connectable, Rule

NAMESPACE_LABEL = "kubernetes.io/metadata.name"


def _tcp(ports: tuple[int, ...]) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": p} for p in ports]


def _peer(peer: Any) -> dict[str, Any]:
    if isinstance(peer, IpBlock):
        return {"ipBlock": peer.to_json()}
    return {"podSelector": {"matchLabels": dict(peer.peer_labels)}}


@dataclass(frozen=True)
class ServiceNetworkPolicyProps:
    """The workload whose :attr:`connections` the policy enforces (a MicroService, say)."""

    workload: Connectable


class ServiceNetworkPolicy(constructs.Construct):
    """The NetworkPolicy ``<workload>`` produced at synthesis from the workload's connections.

    Ingress from every calling workload on the ports it was allowed (one rule, callers sorted by
    name), then from allowed IP blocks; egress to each callee (sorted by name), then to each IP
    block in the order allowed.  Annotations: the egress features the policy serves
    (``network.tripgen-cdk8s.io/feature-egress``) and the reasons of any Internet egress
    (``network.tripgen-cdk8s.io/internet-egress``).  Both directions are listed in ``policyTypes``, so anything not
    allowed is denied.  The policy of a :class:`Job` run as a hook is a hook too, one weight
    before the Job (it carries the workload's ``support_annotations``).
    """

    def __init__(self, scope: constructs.Construct, id: str, props: ServiceNetworkPolicyProps) -> None:
        super().__init__(scope, id)
        check_props(self, props)
        w = props.workload
        self.workload = w
        chart = HelmChart.of(scope)
        self.policy = Resource(chart, api_version="networking.k8s.io/v1", kind="NetworkPolicy", name=w.name,
                               namespace=getattr(w, "namespace", chart.target_namespace),
                               labels=getattr(w, "labels", {}) or chart.standard_labels("network"), body=self._body,
                               annotations=getattr(w, "support_annotations", None))
        chart.on_synth(self._annotate)

    def _annotate(self) -> None:
        """The features whose egress the policy allows, and the reasons of its Internet egress."""
        c = self.workload.connections
        if c.features:
            self.policy.annotations[FEATURE_EGRESS] = ",".join(sorted(c.features))
        reasons = [r.peer.description for r in c.egress if isinstance(r.peer, IpBlock) and r.peer.is_internet]
        if reasons:
            self.policy.annotations[INTERNET_EGRESS] = "; ".join(dict.fromkeys(reasons))

    def _body(self) -> dict[str, Any]:
        c = self.workload.connections

        def by_name(rules: list[Rule]) -> list[Rule]:
            workloads = [r for r in rules if not isinstance(r.peer, IpBlock)]
            return sorted(workloads, key=lambda r: r.peer.name if not isinstance(r.peer, IpBlock) else "")

        ingress: list[dict[str, Any]] = []
        callers = by_name(c.ingress)
        if callers:
            ports: list[int] = []
            for r in callers:
                ports += [p for p in r.ports if p not in ports]
            ingress.append({"from": [_peer(r.peer) for r in callers], "ports": _tcp(tuple(ports))})
        ingress += [{"from": [_peer(r.peer)], "ports": _tcp(r.ports)} for r in c.ingress if isinstance(r.peer, IpBlock)]
        egress = [{"to": [_peer(r.peer)], "ports": _tcp(r.ports)} for r in by_name(c.egress)]
        for r in c.egress:  # two features going to the same block on the same ports render one rule
            rule = {"to": [_peer(r.peer)], "ports": _tcp(r.ports)}
            if isinstance(r.peer, IpBlock) and rule not in egress:
                egress.append(rule)
        spec: dict[str, Any] = {"podSelector": {"matchLabels": dict(getattr(self.workload, "selector", {}))},
                                "policyTypes": ["Ingress", "Egress"]}
        if ingress:
            spec["ingress"] = ingress
        if egress:
            spec["egress"] = egress
        return {"spec": spec}


@dataclass(frozen=True)
class NamespacePoliciesProps:
    """The namespace-wide policies (``labels``: default the chart's standard labels, component
    ``network``): ``default-deny``, ``allow-dns`` and, when ``application_ports`` is set,
    ``policy_name`` letting the pods labelled ``application_selector`` accept those ports from
    ``sources``: namespace names or IP blocks (an ingress controller's, monitoring's), in order.

    Defaults: no application policy; ``policy_name`` ``allow-application-ingress``;
    ``application_selector`` ``{"tier": "application"}``; ``sources`` ``("kube-system",)``.
    """

    namespace: str
    labels: Mapping[str, str] = field(default_factory=dict)
    application_ports: tuple[int, ...] = ()
    sources: tuple[str | IpBlock, ...] = ("kube-system",)
    policy_name: str = "allow-application-ingress"
    application_selector: Mapping[str, str] = field(default_factory=lambda: {"tier": "application"})


class NamespaceNetworkPolicies(constructs.Construct):
    """``default-deny`` (every pod, both directions), ``allow-dns`` (all pods to kube-dns on 53
    UDP/TCP) and the application ingress policy (see :class:`NamespacePoliciesProps`)."""

    def __init__(self, scope: constructs.Construct, id: str, props: NamespacePoliciesProps) -> None:
        super().__init__(scope, id)
        check_props(self, props)
        chart = HelmChart.of(scope)
        labels = dict(props.labels) or chart.standard_labels("network")

        def policy(name: str, spec: dict[str, Any]) -> Resource:
            return Resource(chart, api_version="networking.k8s.io/v1", kind="NetworkPolicy", name=name,
                            namespace=props.namespace, labels=labels, body={"spec": spec})

        def namespace_peer(name: str) -> dict[str, Any]:
            return {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: name}}}

        self.default_deny = policy("default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
        self.allow_dns = policy("allow-dns", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
            "to": [{"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}]})
        self.application: Resource | None = None
        if props.application_ports:
            sources = [{"ipBlock": s.to_json()} if isinstance(s, IpBlock) else namespace_peer(s)
                       for s in props.sources]
            self.application = policy(props.policy_name, {
                "podSelector": {"matchLabels": dict(props.application_selector)}, "policyTypes": ["Ingress"],
                "ingress": [{"from": sources, "ports": _tcp(tuple(sorted(set(props.application_ports))))}]})


@dataclass(frozen=True)
class AllowAllPolicyProps:
    """The namespace and name of a policy that allows everything (default name ``allow-all``);
    ``labels`` default to the chart's standard labels (component ``network``)."""

    namespace: str
    labels: Mapping[str, str] = field(default_factory=dict)
    name: str = "allow-all"


class AllowAllPolicy(constructs.Construct):
    """A NetworkPolicy selecting every pod that allows all ingress and egress (a development
    namespace without default-deny, made explicit)."""

    def __init__(self, scope: constructs.Construct, id: str, props: AllowAllPolicyProps) -> None:
        super().__init__(scope, id)
        check_props(self, props)
        chart = HelmChart.of(scope)
        self.policy = Resource(chart, api_version="networking.k8s.io/v1", kind="NetworkPolicy",
                               name=props.name, namespace=props.namespace,
                               labels=dict(props.labels) or chart.standard_labels("network"),
                               body={"spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                                              "ingress": [{}], "egress": [{}]}})
