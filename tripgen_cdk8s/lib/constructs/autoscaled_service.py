"""AutoscaledService: exactly one scaler (HPA or KEDA) and a PodDisruptionBudget for a workload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import constructs

from ..errors import ConstructError, check_props
from ..helmchart import HelmChart, Resource, ValueCheck
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
    """The ``target`` to scale and how (``HorizontalScaling`` or ``KedaScaling``, at least one
    metric or trigger), and its PodDisruptionBudget.

    ``disruption_budget``: emit the PDB; default True.  ``min_available``: its ``minAvailable``;
    default 1, and it must stay below the minimum replicas (a PDB at the minimum blocks every node
    drain): for a minimum of 1 say ``min_available=0``, ``max_unavailable=1`` or
    ``disruption_budget=False``.  ``max_unavailable``: use ``maxUnavailable`` instead of
    ``minAvailable``; default None.
    """

    target: Scalable
    scaling: HorizontalScaling | KedaScaling
    min_available: int = 1
    disruption_budget: bool = True
    max_unavailable: int | None = None


class AutoscaledService(constructs.Construct):
    """Scales a workload with exactly one scaler and, unless told not to, protects it with a PDB.

    ``HorizontalScaling`` emits an ``autoscaling/v2`` HPA (cpu, memory, then ``Pods``, ``Object``
    and ``External`` metrics, each only when given); ``KedaScaling`` a KEDA ``ScaledObject`` with
    the cpu and memory triggers when given plus the others, and their ``TriggerAuthentication`` when
    one is given.  Either way the target is marked (:meth:`~Scalable.mark_has_autoscaler`: its
    ``spec.replicas`` is left out).  The ``policy/v1`` PodDisruptionBudget has
    ``unhealthyPodEvictionPolicy: AlwaysAllow``.  The values ``autoscaling.*`` and
    ``podDisruptionBudget.*`` are this chart's.  Public objects: :attr:`scaler`,
    :attr:`trigger_authentication`, :attr:`pdb` (None without one).
    """

    def __init__(self, scope: constructs.Construct, id: str, props: AutoscaledServiceProps) -> None:
        super().__init__(scope, id)
        check_props(self, props)
        target, sc = props.target, props.scaling
        if sc.min_replicas < 0:
            raise ConstructError.of(self, "scaling.min_replicas", sc.min_replicas, "0 or more")
        if sc.max_replicas < max(sc.min_replicas, 1):
            raise ConstructError.of(self, "scaling.max_replicas", sc.max_replicas,
                                    f"at least min_replicas ({sc.min_replicas}) and 1; max_replicas is below min_replicas")
        if sc.metric_count == 0:
            what = "metric" if isinstance(sc, HorizontalScaling) else "trigger"
            raise ConstructError.of(self, "scaling", type(sc).__name__, f"at least one {what} (cpu, memory or another)")
        if props.disruption_budget:
            if props.max_unavailable is not None:
                if props.max_unavailable < 1:
                    raise ConstructError.of(self, "max_unavailable", props.max_unavailable, "1 or more")
            elif not 0 <= props.min_available < sc.min_replicas:
                raise ConstructError.of(
                    self, "min_available", props.min_available,
                    f"0 or more and below the minimum replicas ({sc.min_replicas}), otherwise node drains block; "
                    "or max_unavailable=1, or disruption_budget=False")
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
        self.pdb: Resource | None = None
        if props.disruption_budget:
            budget: dict[str, Any] = ({"maxUnavailable": props.max_unavailable} if props.max_unavailable is not None
                                      else {"minAvailable": props.min_available})
            self.pdb = Resource(chart, api_version="policy/v1", kind="PodDisruptionBudget", name=target.name, body={
                "spec": {**budget, "selector": {"matchLabels": dict(target.selector)},
                         "unhealthyPodEvictionPolicy": "AlwaysAllow"}}, **meta)
        chart.on_synth(self._declare_values)

    def _declare_values(self) -> None:
        chart, sc, p = self.helm_chart, self.scaling, self.props
        v = chart.values
        v.describe("autoscaling", "Horizontal autoscaling (HPA or KEDA ScaledObject, exactly one per workload)")
        v.add("autoscaling.minReplicas", sc.min_replicas, "Minimum number of replicas", minimum=min(1, sc.min_replicas))
        v.add("autoscaling.maxReplicas", sc.max_replicas, "Maximum number of replicas", minimum=1)
        v.rule(ValueCheck("autoscaling.maxReplicas", "at_least", "autoscaling.minReplicas",
                          "allowed: at least min_replicas ({other})"))
        if sc.cpu_utilization is not None:
            v.add("autoscaling.targetCPUUtilizationPercentage", sc.cpu_utilization,
                  "Target average CPU utilisation (percent of requests)", minimum=1, maximum=100)
        if sc.memory_utilization is not None:
            v.add("autoscaling.targetMemoryUtilizationPercentage", sc.memory_utilization,
                  "Target average memory utilisation (percent of requests)", minimum=1, maximum=100)
        if self.pdb is not None:
            v.describe("podDisruptionBudget", "PodDisruptionBudget protecting the service during node drains")
            if p.max_unavailable is not None:
                v.add("podDisruptionBudget.maxUnavailable", p.max_unavailable,
                      "Maximum unavailable pods during voluntary disruptions", minimum=1)
            else:
                v.add("podDisruptionBudget.minAvailable", p.min_available,
                      "Minimum available pods during voluntary disruptions (below autoscaling.minReplicas)", minimum=0)
                v.rule(ValueCheck("podDisruptionBudget.minAvailable", "below", "autoscaling.minReplicas",
                                  "allowed: below the minimum replicas ({other}), otherwise node drains block"))
        s = self.scaler
        resources = [(k, t) for k, t in (("CPU", sc.cpu_utilization), ("Memory", sc.memory_utilization)) if t is not None]
        if isinstance(sc, HorizontalScaling):
            chart.bind_value(s, ("spec", "minReplicas"), "autoscaling.minReplicas", sc.min_replicas)
            chart.bind_value(s, ("spec", "maxReplicas"), "autoscaling.maxReplicas", sc.max_replicas)
            for i, (k, t) in enumerate(resources):
                chart.bind_value(s, ("spec", "metrics", i, "resource", "target", "averageUtilization"),
                                 f"autoscaling.target{k}UtilizationPercentage", t)
        else:
            chart.bind_value(s, ("spec", "minReplicaCount"), "autoscaling.minReplicas", sc.min_replicas)
            chart.bind_value(s, ("spec", "maxReplicaCount"), "autoscaling.maxReplicas", sc.max_replicas)
            for i, (k, t) in enumerate(resources):
                chart.bind(s, ("spec", "triggers", i, "metadata", "value"),
                           f"{{{{ .Values.autoscaling.target{k}UtilizationPercentage | toString | quote }}}}", str(t))
        if self.pdb is not None:
            if p.max_unavailable is not None:
                chart.bind_value(self.pdb, ("spec", "maxUnavailable"), "podDisruptionBudget.maxUnavailable",
                                 p.max_unavailable)
            else:
                chart.bind_value(self.pdb, ("spec", "minAvailable"), "podDisruptionBudget.minAvailable", p.min_available)

    def _target_ref(self) -> dict[str, str]:
        t = self.target
        return {"apiVersion": t.workload_api_version, "kind": t.workload_kind, "name": t.name}

    def _hpa(self, sc: HorizontalScaling) -> dict[str, Any]:
        def resource(name: str, target: int) -> dict[str, Any]:
            return {"type": "Resource", "resource": {"name": name, "target": {"type": "Utilization",
                                                                              "averageUtilization": target}}}

        def target(value: str, average: bool) -> dict[str, Any]:
            return {"type": "AverageValue", "averageValue": value} if average else {"type": "Value", "value": value}

        def metric(name: str, selector: Any) -> dict[str, Any]:
            return {"name": name, "selector": {"matchLabels": dict(selector)}} if selector else {"name": name}

        metrics = [resource(n, t) for n, t in (("cpu", sc.cpu_utilization), ("memory", sc.memory_utilization))
                   if t is not None]
        metrics += [{"type": "Pods", "pods": {"metric": {"name": m.name},
                                              "target": {"type": "AverageValue", "averageValue": m.average_value}}}
                    for m in sc.pods_metrics]
        metrics += [{"type": "Object", "object": {
            "describedObject": {"apiVersion": m.api_version, "kind": m.kind, "name": m.object_name},
            "metric": metric(m.name, m.selector), "target": target(m.value, m.average)}} for m in sc.object_metrics]
        metrics += [{"type": "External", "external": {"metric": metric(m.name, m.selector),
                                                      "target": target(m.value, m.average)}}
                    for m in sc.external_metrics]
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
            {"type": name, "metricType": "Utilization", "metadata": {"value": str(t)}}
            for name, t in (("cpu", sc.cpu_utilization), ("memory", sc.memory_utilization)) if t is not None]
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
