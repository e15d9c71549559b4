"""ZoneSpreadPolicy: spread a workload over zones and nodes of its node pool (TRIPGEN.md section 4)."""

from __future__ import annotations

from dataclasses import dataclass

import constructs

from .microservice import MicroService


@dataclass(frozen=True)
class ZoneSpreadPolicyProps:
    """The node pool (name, taint) and how strict the zone spread is."""

    node_pool: str = "apppool"
    taint_key: str = "application-workload"
    taint_value: str = "true"
    zone_when_unsatisfiable: str = "DoNotSchedule"
    max_skew: int = 1


class ZoneSpreadPolicy(constructs.Construct):
    """A placement policy applied to workloads with :meth:`apply`, not copied into them.

    Each workload gets zone and hostname ``topologySpreadConstraints`` (maxSkew 1; the zone one
    DoNotSchedule in prod, the hostname one ScheduleAnyway), a preferred hostname anti-affinity,
    the toleration of the application pool's taint and a required node affinity to that pool, all
    selecting the workload's own pods.
    """

    def __init__(self, scope: constructs.Construct, id: str, props: ZoneSpreadPolicyProps) -> None:
        super().__init__(scope, id)
        if props.zone_when_unsatisfiable not in ("DoNotSchedule", "ScheduleAnyway"):
            raise ValueError("zone_when_unsatisfiable must be DoNotSchedule or ScheduleAnyway")
        self.props = props
        self.workloads: list[MicroService] = []

    def apply(self, workload: MicroService) -> None:
        """Constrain where ``workload``'s pods are scheduled."""
        p = self.props
        selector = {"matchLabels": dict(workload.selector)}
        workload.patch_pod_spec(
            "topologySpreadConstraints",
            [
                {"maxSkew": p.max_skew, "topologyKey": "topology.kubernetes.io/zone",
                 "whenUnsatisfiable": p.zone_when_unsatisfiable, "labelSelector": selector},
                {"maxSkew": p.max_skew, "topologyKey": "kubernetes.io/hostname",
                 "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": selector},
            ],
        )
        workload.patch_pod_spec(
            "affinity",
            {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {"matchExpressions": [
                                {"key": "kubernetes.azure.com/agentpool", "operator": "In", "values": [p.node_pool]}
                            ]}
                        ]
                    }
                },
                "podAntiAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {"weight": 100,
                         "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname", "labelSelector": selector}}
                    ]
                },
            },
        )
        workload.patch_pod_spec(
            "tolerations",
            [{"key": p.taint_key, "operator": "Equal", "value": p.taint_value, "effect": "NoSchedule"}],
        )
        self.workloads.append(workload)
