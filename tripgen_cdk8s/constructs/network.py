"""Network intent as NetworkPolicies (TRIPGEN.md section 6)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import constructs
from cdk8s_plus_29 import k8s

from ..labels import NAME
from .microservice import HTTP_PORT, MicroService, int_ref

PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
NAMESPACE_LABEL = "kubernetes.io/metadata.name"


@functools.cache
def _tcp(port: int) -> k8s.NetworkPolicyPort:
    return k8s.NetworkPolicyPort(protocol="TCP", port=int_ref(port))


def _pods_of(service: MicroService) -> k8s.NetworkPolicyPeer:
    return k8s.NetworkPolicyPeer(pod_selector=k8s.LabelSelector(match_labels={NAME: service.name}))


class ServiceNetworkPolicy(constructs.Construct):
    """The NetworkPolicy ``<service>`` that turns a MicroService's declared intent into rules.

    Ingress on 8080 from every caller (``allow_from``), egress on 8080 to every callee
    (``allow_to``), egress to private-endpoint subnets on their ports, and external HTTPS (443 to
    everything but the private ranges) only when ``external_https`` is set.  Create it after the
    service's intent is declared.
    """

    def __init__(self, scope: constructs.Construct, id: str, service: MicroService, *, external_https: bool) -> None:
        super().__init__(scope, id)
        ingress = []
        if service.callers:
            ingress.append(k8s.NetworkPolicyIngressRule(
                from_=[_pods_of(c) for c in sorted(service.callers, key=lambda s: s.name)], ports=[_tcp(service.port)]))
        egress = []
        for callee in sorted(service.callees, key=lambda s: s.name):
            egress.append(k8s.NetworkPolicyEgressRule(to=[_pods_of(callee)], ports=[_tcp(callee.port)]))
        for _description, cidr, ports in service.egress_rules:
            egress.append(k8s.NetworkPolicyEgressRule(
                to=[k8s.NetworkPolicyPeer(ip_block=k8s.IpBlock(cidr=cidr))], ports=[_tcp(p) for p in ports]))
        if external_https:
            egress.append(k8s.NetworkPolicyEgressRule(
                to=[k8s.NetworkPolicyPeer(ip_block=k8s.IpBlock(cidr="0.0.0.0/0", except_=list(PRIVATE_RANGES)))],
                ports=[_tcp(443)]))
        self.policy = k8s.KubeNetworkPolicy(
            self,
            "policy",
            metadata=k8s.ObjectMeta(name=service.name, namespace=service.namespace, labels=dict(service.labels)),
            spec=k8s.NetworkPolicySpec(
                pod_selector=k8s.LabelSelector(match_labels=dict(service.selector)),
                policy_types=["Ingress", "Egress"],
                ingress=ingress or None,
                egress=egress or None,
            ),
        )


@dataclass(frozen=True)
class NamespacePoliciesProps:
    """Namespace, labels, and the sources the platform lets in (gateway subnet, monitoring) on the
    application ports (default ``(8080,)``: the ports the services listen on)."""

    namespace: str
    labels: dict[str, str]
    gateway_subnet_cidr: str
    monitoring_namespace: str = "monitoring"
    policy_name: str = "production-network-policy"
    application_ports: tuple[int, ...] = (HTTP_PORT,)


class NamespaceNetworkPolicies(constructs.Construct):
    """The namespace-wide policies: ``default-deny`` (everything, both directions),
    ``allow-dns`` (all pods to kube-dns on 53 UDP/TCP) and ``production-network-policy``
    (application pods accept their application ports from kube-system, the App Gateway subnet and
    monitoring)."""

    def __init__(self, scope: constructs.Construct, id: str, props: NamespacePoliciesProps) -> None:
        super().__init__(scope, id)

        def meta(name: str) -> k8s.ObjectMeta:
            return k8s.ObjectMeta(name=name, namespace=props.namespace, labels=dict(props.labels))

        def namespace_peer(name: str) -> k8s.NetworkPolicyPeer:
            return k8s.NetworkPolicyPeer(namespace_selector=k8s.LabelSelector(match_labels={NAMESPACE_LABEL: name}))

        self.default_deny = k8s.KubeNetworkPolicy(
            self, "default-deny", metadata=meta("default-deny"),
            spec=k8s.NetworkPolicySpec(pod_selector=k8s.LabelSelector(), policy_types=["Ingress", "Egress"]))
        self.allow_dns = k8s.KubeNetworkPolicy(
            self, "allow-dns", metadata=meta("allow-dns"),
            spec=k8s.NetworkPolicySpec(
                pod_selector=k8s.LabelSelector(),
                policy_types=["Egress"],
                egress=[k8s.NetworkPolicyEgressRule(
                    to=[k8s.NetworkPolicyPeer(
                        namespace_selector=k8s.LabelSelector(match_labels={NAMESPACE_LABEL: "kube-system"}),
                        pod_selector=k8s.LabelSelector(match_labels={"k8s-app": "kube-dns"}))],
                    ports=[k8s.NetworkPolicyPort(protocol="UDP", port=k8s.IntOrString.from_number(53)),
                           k8s.NetworkPolicyPort(protocol="TCP", port=k8s.IntOrString.from_number(53))])],
            ))
        self.application = k8s.KubeNetworkPolicy(
            self, "application", metadata=meta(props.policy_name),
            spec=k8s.NetworkPolicySpec(
                pod_selector=k8s.LabelSelector(match_labels={"tier": "application"}),
                policy_types=["Ingress"],
                ingress=[k8s.NetworkPolicyIngressRule(
                    from_=[namespace_peer("kube-system"),
                           k8s.NetworkPolicyPeer(ip_block=k8s.IpBlock(cidr=props.gateway_subnet_cidr)),
                           namespace_peer(props.monitoring_namespace)],
                    ports=[_tcp(port) for port in sorted(set(props.application_ports))])],
            ))


class AllowAllPolicy(constructs.Construct):
    """The dev policy ``dev-basic-policy`` (PD 7.2.1): every pod may send and receive anything."""

    def __init__(self, scope: constructs.Construct, id: str, *, namespace: str, labels: dict[str, str],
                 name: str = "dev-basic-policy") -> None:
        super().__init__(scope, id)
        self.policy = k8s.KubeNetworkPolicy(
            self, "policy", metadata=k8s.ObjectMeta(name=name, namespace=namespace, labels=dict(labels)),
            spec=k8s.NetworkPolicySpec(pod_selector=k8s.LabelSelector(), policy_types=["Ingress", "Egress"],
                                       ingress=[k8s.NetworkPolicyIngressRule()],
                                       egress=[k8s.NetworkPolicyEgressRule()]))
