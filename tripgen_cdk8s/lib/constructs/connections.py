"""Who a workload talks to, stated as intents (cdk8s-plus ``connections``).

``svc.connections.allow_to(peer, ports=...)`` where ``peer`` is another workload (its pods, on its
port by default) or an :class:`~tripgen_cdk8s.lib.model.IpBlock` (a private endpoint's subnet, or
``IpBlock.internet(reason=...)``).  The mirror rule on a workload peer is recorded too, so each side's
NetworkPolicy (:class:`~tripgen_cdk8s.lib.constructs.network.ServiceNetworkPolicy`) is produced
from its own connections at synthesis.

Features a workload turns on that need egress outside the cluster (the Kubernetes API, telemetry,
a private endpoint) are typed: ``connections.uses("kubernetes-api")`` says the workload needs it,
``connections.allow_feature(EgressFeature("kubernetes-api", (IpBlock(api_server_cidr),)))`` allows
its egress.  The workload object carries the features it uses (annotation :data:`FEATURES`), its
NetworkPolicy the features it allows (:data:`FEATURE_EGRESS`), and the validate invariant
(:func:`tripgen_cdk8s.lib.validation.check_feature_egress`) refuses a feature used under an egress
deny without its egress.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ..errors import ConfigError
from ..model import FEATURE_EGRESS as FEATURE_EGRESS
from ..model import FEATURES as FEATURES
from ..model import INTERNET_EGRESS as INTERNET_EGRESS
from ..model import EgressFeature, IpBlock

KUBERNETES_API = "kubernetes-api"
"""The feature of a workload that mounts a service-account token to call the API server."""
FEATURE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@runtime_checkable
class Connectable(Protocol):
    """A workload other workloads can call: a name, pod labels to select it by, a port, and the
    :class:`Connections` that record its peers."""

    name: str
    connections: Connections

    @property
    def port(self) -> int | None:
        """The port callers use by default; None for a workload without one (a Worker)."""
        ...

    @property
    def peer_labels(self) -> dict[str, str]:
        """Labels selecting this workload's pods in another workload's NetworkPolicy."""
        ...

    def url(self) -> str:
        """The in-cluster URL of the workload."""
        ...


Peer = Connectable | IpBlock


@dataclass(frozen=True)
class Rule:
    """One allowed direction: ``peer`` on TCP ``ports``."""

    peer: Peer
    ports: tuple[int, ...]


class Connections:
    """The egress and ingress intents of one workload; ``on_call`` (optional) is told of each new
    workload the owner may call."""

    def __init__(self, owner: Connectable, on_call: Callable[[Connectable], None] | None = None) -> None:
        self.owner = owner
        self.egress: list[Rule] = []
        self.ingress: list[Rule] = []
        self.used: list[str] = []
        """The egress features the owner turns on (:meth:`uses`), in order."""
        self.features: dict[str, EgressFeature] = {}
        """The egress features allowed (:meth:`allow_feature`), by name."""
        self._on_call = on_call

    @staticmethod
    def _add(rules: list[Rule], rule: Rule) -> bool:
        if rule in rules:
            return False
        rules.append(rule)
        return True

    def allow_to(self, peer: Peer, ports: tuple[int, ...] | None = None) -> None:
        """The owner may open TCP connections to ``peer`` on ``ports`` (default: a workload's own port;
        required for an IpBlock).  For a workload peer, it may also accept them from the owner."""
        if isinstance(peer, IpBlock):
            if not ports:
                raise ConfigError(f"{self.owner.name}.connections.allow_to", peer.cidr, "an IP block needs ports")
            self._add(self.egress, Rule(peer, tuple(ports)))
            return
        if peer is self.owner:
            raise ConfigError(f"{self.owner.name}.connections.allow_to", peer.name, "another workload: it cannot call itself")
        rule_ports = tuple(ports) if ports else _default_ports(peer)
        if self._add(self.egress, Rule(peer, rule_ports)):
            peer.connections._add(peer.connections.ingress, Rule(self.owner, rule_ports))
            if self._on_call is not None:
                self._on_call(peer)

    def allow_from(self, peer: Peer, ports: tuple[int, ...] | None = None) -> None:
        """The owner accepts TCP connections from ``peer`` on ``ports`` (default: the owner's port);
        a workload peer is given the matching :meth:`allow_to`."""
        if isinstance(peer, IpBlock):
            self._add(self.ingress, Rule(peer, tuple(ports) if ports else _default_ports(self.owner)))
            return
        peer.connections.allow_to(self.owner, ports)

    def uses(self, feature: str) -> None:
        """The owner turns on ``feature`` (a name such as ``kubernetes-api``): under an egress deny it
        needs :meth:`allow_feature` with that name, or the validate invariant fails naming both."""
        if not isinstance(feature, str) or not FEATURE_NAME.match(feature):
            raise ConfigError(f"{self.owner.name}.connections.uses", feature, "a feature name (a DNS label)")
        if feature not in self.used:
            self.used.append(feature)

    def annotate(self, annotations: dict[str, str]) -> None:
        """Write the features the owner uses into the workload object's ``annotations`` (at synthesis)."""
        if self.used:
            annotations[FEATURES] = ",".join(self.used)

    def allow_feature(self, feature: EgressFeature) -> None:
        """Allow the egress ``feature`` needs: TCP ``feature.ports`` to each of its destinations
        (at least one), and record that the owner's policy serves it.  The owner then also
        :meth:`uses` it."""
        where = f"{self.owner.name}.connections.allow_feature({feature.name})"
        if not isinstance(feature.name, str) or not FEATURE_NAME.match(feature.name):
            raise ConfigError(f"{self.owner.name}.connections.allow_feature", feature.name, "a feature name (a DNS label)")
        if not feature.destinations:
            raise ConfigError(where, "no destinations", "at least one address block (the CIDR named in config, or "
                              "IpBlock.internet(reason=...))")
        if not feature.ports:
            raise ConfigError(where, "no ports", "at least one TCP port")
        for dest in feature.destinations:
            if not isinstance(dest, IpBlock):
                raise ConfigError(where, dest, "an IpBlock destination")
            self.allow_to(dest, tuple(feature.ports))
        self.features[feature.name] = feature
        self.uses(feature.name)

    @property
    def callers(self) -> list[Connectable]:
        """The workloads allowed to call the owner."""
        return [r.peer for r in self.ingress if not isinstance(r.peer, IpBlock)]

    @property
    def callees(self) -> list[Connectable]:
        """The workloads the owner may call."""
        return [r.peer for r in self.egress if not isinstance(r.peer, IpBlock)]


def _default_ports(workload: Connectable) -> tuple[int, ...]:
    if workload.port is None:
        raise ConfigError(f"{workload.name}.connections", "no ports", f"ports=...: {workload.name} has no default port")
    return (workload.port,)
