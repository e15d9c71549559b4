"""AutoscaledService: exactly one scaler (HPA or KEDA) and a PodDisruptionBudget for a workload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import constructs

from ..helmchart import HelmChart, Resource
from ..model import HorizontalScaling, KedaScaling


@runtime_checkable
class Scalable(Protocol):
    """A workload an autoscaler can own: its name, namespace, labels, selector, the kind and
    apiVersion of its scale target, and :meth:`mark_has_autoscaler`."""

    name: str
    namespace: str
    labels: dict[str, str]
    selector: dict[str, str]
    workload_kind: str
    workload_api_version: str

    def mark_has_autoscaler(self) -> None:
        """Leave the replica count to the autoscaler."""
        ...


@dataclass(frozen=True)
class AutoscaledServiceProps:
    """The ``target`` to scale, how (``HorizontalScaling`` or ``KedaScaling``), and the PDB's
    ``min_available`` (default 1; must stay below the minimum replicas)."""

    target: Scalable
    scaling: HorizontalScaling | KedaScaling
    min_available: int = 1


class AutoscaledService(constructs.Construct):
    """Scales a workload with exactly one scaler and protects it with a PDB.

    ``HorizontalScaling`` emits an ``autoscaling/v2`` HPA (cpu, memory, then ``Pods`` metrics);
    ``KedaScaling`` a KEDA ``ScaledObject`` with cpu and memory triggers plus the given ones, and
    their ``TriggerAuthentication`` when one is given.  Either way the target is marked
    (:meth:`~Scalable.mark_has_autoscaler`: its ``spec.replicas`` is left out) and a ``policy/v1``
    PodDisruptionBudget with ``unhealthyPodEvictionPolicy: AlwaysAllow`` is emitted.  The values
    ``autoscaling.*`` and ``podDisruptionBudget.minAvailable`` are this chart's.  A
    ``min_available`` not below the minimum replicas is refused (it would block every node drain).
    """

    def __init__(self, scope: constructs.Construct, id: str, props: AutoscaledServiceProps) -> None:
        super().__init__(scope, id)
        target, sc = props.target, props.scaling
        if sc.max_replicas < sc.min_replicas:
            raise ValueError(f"{target.name}: max_replicas {sc.max_replicas} is below min_replicas {sc.min_replicas}")
        if props.min_available >= sc.min_replicas:
            raise ValueError(f"{target.name}: min_available {props.min_available} must be below the minimum replicas "
                             f"({sc.min_replicas}), otherwise node drains block")
        target.mark_has_autoscaler()
        self.props = props
        self.target = target
        self.scaling = sc
        chart = HelmChart.of(scope)
        self.helm_chart = chart
        meta: dict[str, Any] = {"namespace": target.namespace, "labels": target.labels}
        self.trigger_authentication: Resource | None = None
        if isinstance(sc, HorizontalScaling):
            self.scaler = Resource(chart, api_version="autoscaling/v2", kind="HorizontalPodAutoscaler",
                                   name=target.name, body=self._hpa(sc), **meta)
        else:
            if sc.authentication is not None:
                self.trigger_authentication = Resource(
                    chart, api_version="keda.sh/v1alpha1", kind="TriggerAuthentication",
                    name=f"{target.name}-{sc.authentication_name}", body={"spec": dict(sc.authentication)}, **meta)
            self.scaler = Resource(chart, api_version="keda.sh/v1alpha1", kind="ScaledObject", name=target.name,
                                   body=self._keda(sc), **meta)
        self.pdb = Resource(chart, api_version="policy/v1", kind="PodDisruptionBudget", name=target.name, body={
            "spec": {"minAvailable": props.min_available, "selector": {"matchLabels": dict(target.selector)},
                     "unhealthyPodEvictionPolicy": "AlwaysAllow"}}, **meta)
        chart.on_synth(self._declare_values)

    def _declare_values(self) -> None:
        chart, sc = self.helm_chart, self.scaling
        v = chart.values
        v.describe("autoscaling", "Horizontal autoscaling (HPA or KEDA ScaledObject, exactly one per workload)")
        v.describe("podDisruptionBudget", "PodDisruptionBudget protecting the service during node drains")
        v.add("autoscaling.minReplicas", sc.min_replicas, "Minimum number of replicas", minimum=1)
        v.add("autoscaling.maxReplicas", sc.max_replicas, "Maximum number of replicas", minimum=1)
        v.add("autoscaling.targetCPUUtilizationPercentage", sc.cpu_utilization,
              "Target average CPU utilisation (percent of requests)", minimum=1, maximum=100)
        v.add("autoscaling.targetMemoryUtilizationPercentage", sc.memory_utilization,
              "Target average memory utilisation (percent of requests)", minimum=1, maximum=100)
        v.add("podDisruptionBudget.minAvailable", self.props.min_available,
              "Minimum available pods during voluntary disruptions (below autoscaling.minReplicas)", minimum=0)
        s = self.scaler
        if isinstance(sc, HorizontalScaling):
            chart.bind_value(s, ("spec", "minReplicas"), "autoscaling.minReplicas", sc.min_replicas)
            chart.bind_value(s, ("spec", "maxReplicas"), "autoscaling.maxReplicas", sc.max_replicas)
            chart.bind_value(s, ("spec", "metrics", 0, "resource", "target", "averageUtilization"),
                             "autoscaling.targetCPUUtilizationPercentage", sc.cpu_utilization)
            chart.bind_value(s, ("spec", "metrics", 1, "resource", "target", "averageUtilization"),
                             "autoscaling.targetMemoryUtilizationPercentage", sc.memory_utilization)
        else:
            chart.bind_value(s, ("spec", "minReplicaCount"), "autoscaling.minReplicas", sc.min_replicas)
            chart.bind_value(s, ("spec", "maxReplicaCount"), "autoscaling.maxReplicas", sc.max_replicas)
            chart.bind(s, ("spec", "triggers", 0, "metadata", "value"),
                       "{{ .Values.autoscaling.targetCPUUtilizationPercentage | toString | quote }}",
                       str(sc.cpu_utilization))
            chart.bind(s, ("spec", "triggers", 1, "metadata", "value"),
                       "{{ .Values.autoscaling.targetMemoryUtilizationPercentage | toString | quote }}",
                       str(sc.memory_utilization))
        chart.bind_value(self.pdb, ("spec", "minAvailable"), "podDisruptionBudget.minAvailable",
                         self.props.min_available)

    def _target_ref(self) -> dict[str, str]:
        t = self.target
        return {"apiVersion": t.workload_api_version, "kind": t.workload_kind, "name": t.name}

    def _hpa(self, sc: HorizontalScaling) -> dict[str, Any]:
        def resource(name: str, target: int) -> dict[str, Any]:
            return {"type": "Resource", "resource": {"name": name, "target": {"type": "Utilization",
                                                                              "averageUtilization": target}}}

        metrics = [resource("cpu", sc.cpu_utilization), resource("memory", sc.memory_utilization)]
        metrics += [{"type": "Pods", "pods": {"metric": {"name": m.name},
                                              "target": {"type": "AverageValue", "averageValue": m.average_value}}}
                    for m in sc.pods_metrics]
        return {"spec": {
            "scaleTargetRef": self._target_ref(),
            "minReplicas": sc.min_replicas,
            "maxReplicas": sc.max_replicas,
            "metrics": metrics,
            "behavior": {
                "scaleDown": {"stabilizationWindowSeconds": sc.scale_down_stabilization_seconds, "selectPolicy": "Max",
                              "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}]},
                "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 30},
                                         {"type": "Pods", "value": 2, "periodSeconds": 30}]},
            },
        }}

    def _keda(self, sc: KedaScaling) -> dict[str, Any]:
        triggers: list[dict[str, Any]] = [
            {"type": "cpu", "metricType": "Utilization", "metadata": {"value": str(sc.cpu_utilization)}},
            {"type": "memory", "metricType": "Utilization", "metadata": {"value": str(sc.memory_utilization)}},
        ]
        for trigger in sc.triggers:
            t = dict(trigger)
            if self.trigger_authentication is not None:
                t["authenticationRef"] = {"name": self.trigger_authentication.name}
            triggers.append(t)
        return {"spec": {
            "scaleTargetRef": self._target_ref(),
            "minReplicaCount": sc.min_replicas,
            "maxReplicaCount": sc.max_replicas,
            "advanced": {"horizontalPodAutoscalerConfig": {"behavior": {"scaleDown": {
                "stabilizationWindowSeconds": sc.scale_down_stabilization_seconds,
                "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}]}}}},
            "triggers": triggers,
        }}
