"""ZoneSpreadPolicy: spread workloads over zones and nodes, optionally pinned to a node pool."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import constructs

from ..errors import ConstructError, check_props
from ..model import Toleration
from .scheduling import HOSTNAME, ZONE, Scheduling


@runtime_checkable
class Schedulable(Protocol):
    """A workload with :class:`~tripgen_cdk8s.lib.constructs.scheduling.Scheduling` intents."""

    name: str
    scheduling: Scheduling


@dataclass(frozen=True)
class ZoneSpreadPolicyProps:
    """Which workloads, how strict the zone spread is, and the node pool they run on.

    ``workloads``: the workloads to place (more with :meth:`ZoneSpreadPolicy.apply`); default none.
    ``zone_when_unsatisfiable``: ``DoNotSchedule`` (default) or ``ScheduleAnyway``; ``max_skew`` 1.
    ``node_label_key`` / ``node_label_values``: require nodes with that label (a node pool); default
    none.  ``tolerations``: taints the pods tolerate (a dedicated pool's); default none.
    """

    workloads: tuple[Schedulable, ...] = ()
    zone_when_unsatisfiable: str = "DoNotSchedule"
    max_skew: int = 1
    node_label_key: str = ""
    node_label_values: tuple[str, ...] = ()
    tolerations: tuple[Toleration, ...] = ()


class ZoneSpreadPolicy(constructs.Construct):
    """A placement policy stated through each workload's scheduling intents, which merge with any
    others: zone ``topologySpreadConstraints`` (``zone_when_unsatisfiable``) and hostname ones
    (ScheduleAnyway), a preferred hostname anti-affinity, the node-pool affinity and tolerations;
    all select the workload's own pods."""

    def __init__(self, scope: constructs.Construct, id: str, props: ZoneSpreadPolicyProps) -> None:
        super().__init__(scope, id)
        check_props(self, props)
        if props.zone_when_unsatisfiable not in ("DoNotSchedule", "ScheduleAnyway"):
            raise ConstructError.of(self, "zone_when_unsatisfiable", props.zone_when_unsatisfiable,
                                    "DoNotSchedule or ScheduleAnyway")
        if bool(props.node_label_key) != bool(props.node_label_values):
            raise ConstructError.of(self, "node_label_values", props.node_label_values,
                                    "node_label_key and node_label_values go together")
        self.props = props
        self.workloads: list[Schedulable] = []
        for workload in props.workloads:
            self.apply(workload)

    def apply(self, workload: Schedulable) -> None:
        """Constrain where ``workload``'s pods are scheduled."""
        p = self.props
        s = workload.scheduling
        s.spread(ZONE, max_skew=p.max_skew, when_unsatisfiable=p.zone_when_unsatisfiable)
        s.spread(HOSTNAME, max_skew=p.max_skew, when_unsatisfiable="ScheduleAnyway")
        if p.node_label_key:
            s.attract(p.node_label_key, p.node_label_values)
        s.separate(HOSTNAME)
        for toleration in p.tolerations:
            s.tolerate(toleration)
        self.workloads.append(workload)
