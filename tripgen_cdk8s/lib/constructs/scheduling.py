"""Where a workload's pods may run, stated as intents that merge (cdk8s-plus ``scheduling``)."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError, ConstructError
from ..model import Toleration

ZONE = "topology.kubernetes.io/zone"
HOSTNAME = "kubernetes.io/hostname"


class Scheduling:
    """The scheduling intents of one workload; each call adds to what is there, and an intent
    stated twice is kept once.  The pod spec fields are produced from them at synthesis.
    ``owner`` (the workload construct) names where a refused intent came from."""

    def __init__(self, selector: dict[str, str], owner: Any = None) -> None:
        self._selector = selector
        self._owner = owner
        self._spread: list[dict[str, Any]] = []
        self._tolerations: list[dict[str, Any]] = []
        self._required_nodes: list[dict[str, Any]] = []
        self._separate: list[dict[str, Any]] = []

    def _error(self, prop: str, value: object, allowed: str) -> ConfigError:
        if self._owner is not None:
            return ConstructError.of(self._owner, f"scheduling.{prop}", value, allowed)
        return ConfigError(f"scheduling.{prop}", value, allowed)

    @staticmethod
    def _add(items: list[dict[str, Any]], item: dict[str, Any]) -> None:
        if item not in items:
            items.append(item)

    def spread(self, topology_key: str = ZONE, *, max_skew: int = 1, when_unsatisfiable: str = "DoNotSchedule") -> None:
        """Spread the pods evenly over ``topology_key`` domains (zones by default)."""
        if when_unsatisfiable not in ("DoNotSchedule", "ScheduleAnyway"):
            raise self._error("spread.when_unsatisfiable", when_unsatisfiable,
                              "when_unsatisfiable must be DoNotSchedule or ScheduleAnyway")
        if max_skew < 1:
            raise self._error("spread.max_skew", max_skew, "max_skew must be at least 1")
        self._add(self._spread, {"maxSkew": max_skew, "topologyKey": topology_key,
                                 "whenUnsatisfiable": when_unsatisfiable,
                                 "labelSelector": {"matchLabels": dict(self._selector)}})

    def separate(self, topology_key: str = HOSTNAME, *, weight: int = 100) -> None:
        """Prefer not to put two of these pods in one ``topology_key`` domain (node by default)."""
        self._add(self._separate, {"weight": weight, "podAffinityTerm": {
            "topologyKey": topology_key, "labelSelector": {"matchLabels": dict(self._selector)}}})

    def tolerate(self, toleration: Toleration) -> None:
        """Let the pods run on nodes with the matching taint."""
        self._add(self._tolerations, toleration.to_json())

    def attract(self, label_key: str, values: tuple[str, ...]) -> None:
        """Require nodes whose label ``label_key`` is one of ``values`` (a node pool, say).  Several
        calls must all hold."""
        self._add(self._required_nodes, {"key": label_key, "operator": "In", "values": list(values)})

    def pod_spec_fields(self) -> dict[str, Any]:
        """``topologySpreadConstraints``, ``affinity`` and ``tolerations`` (only those stated)."""
        out: dict[str, Any] = {}
        if self._spread:
            out["topologySpreadConstraints"] = [dict(s) for s in self._spread]
        affinity: dict[str, Any] = {}
        if self._required_nodes:
            affinity["nodeAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [dict(e) for e in self._required_nodes]}]}}
        if self._separate:
            affinity["podAntiAffinity"] = {"preferredDuringSchedulingIgnoredDuringExecution":
                                           [dict(s) for s in self._separate]}
        if affinity:
            out["affinity"] = affinity
        if self._tolerations:
            out["tolerations"] = [dict(t) for t in self._tolerations]
        return out
