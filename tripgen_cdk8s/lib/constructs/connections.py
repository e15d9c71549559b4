"""Who a workload talks to, stated as intents (cdk8s-plus ``connections``).

``svc.connections.allow_to(peer, ports=...)`` where ``peer`` is another workload (its pods, on its
port by default) or an :class:`~tripgen_cdk8s.lib.model.IpBlock` (a private endpoint's subnet, or
``IpBlock.internet()``).  The mirror rule on a workload peer is recorded too, so each side's
NetworkPolicy (:class:`~tripgen_cdk8s.lib.constructs.network.ServiceNetworkPolicy`) is produced
from its own connections at synthesis.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ..errors import ConfigError
from ..model import IpBlock


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
