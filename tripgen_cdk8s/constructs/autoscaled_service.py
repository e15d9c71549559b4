"""AutoscaledService: exactly one scaler (HPA or KEDA) and a PodDisruptionBudget for a MicroService."""

from __future__ import annotations

from dataclasses import dataclass

import cdk8s
import constructs
from cdk8s_plus_29 import k8s

from ..config import HorizontalScaling, QueueScaling
from ..errors import ConfigError
from ..helmchart import HelmChart
from .microservice import MicroService


@dataclass(frozen=True)
class AutoscaledServiceProps:
    """The service to scale, how (HPA or KEDA queue scaling), and the PDB's ``min_available``."""

    service: MicroService
    scaling: HorizontalScaling | QueueScaling
    min_available: int
    identity_provider: str = "azure-workload"


class AutoscaledService(constructs.Construct):
    """Scales a :class:`MicroService` with exactly one scaler and protects it with a PDB.

    ``HorizontalScaling`` emits an ``autoscaling/v2`` HPA (cpu, memory, then ``Pods`` metrics);
    ``QueueScaling`` a KEDA ``ScaledObject`` with cpu, memory and ``azure-servicebus`` triggers
    plus its ``TriggerAuthentication`` (workload identity).  Either way the workload loses
    ``spec.replicas`` and a ``policy/v1`` PodDisruptionBudget with ``unhealthyPodEvictionPolicy:
    AlwaysAllow`` is emitted.  A ``min_available`` that is not below the minimum replicas is refused
    (it would block every node drain); so is a second scaler on the same workload.
    """

    def __init__(self, scope: constructs.Construct, id: str, props: AutoscaledServiceProps) -> None:
        super().__init__(scope, id)
        svc, sc = props.service, props.scaling
        if svc.autoscaled:
            raise ConfigError(f"services.{svc.name}.scaling", type(sc).__name__,
                              "allowed: exactly one scaler per workload (HPA or KEDA, never both)")
        if props.min_available >= sc.min_replicas:
            raise ConfigError(f"services.{svc.name}.min_available", props.min_available,
                              f"allowed: below the minimum replicas ({sc.min_replicas}), otherwise node drains block")
        self.service = svc
        self.scaling = sc
        chart = HelmChart.of(self)
        v = chart.values
        v.add("autoscaling.minReplicas", sc.min_replicas, "Minimum number of replicas", minimum=1)
        v.add("autoscaling.maxReplicas", sc.max_replicas, "Maximum number of replicas", minimum=1)
        v.add("autoscaling.targetCPUUtilizationPercentage", sc.cpu_utilization,
              "Target average CPU utilisation (percent of requests)", minimum=1, maximum=100)
        v.add("autoscaling.targetMemoryUtilizationPercentage", sc.memory_utilization,
              "Target average memory utilisation (percent of requests)", minimum=1, maximum=100)
        svc.remove_replicas()
        if isinstance(sc, HorizontalScaling):
            self.scaler: cdk8s.ApiObject = self._hpa(chart, sc)
        else:
            self.scaler = self._keda(chart, sc, props.identity_provider)
        v.add("podDisruptionBudget.minAvailable", props.min_available,
              "Minimum available pods during voluntary disruptions (below autoscaling.minReplicas)", minimum=0)
        self.pdb = k8s.KubePodDisruptionBudget(
            self,
            "pdb",
            metadata=k8s.ObjectMeta(name=svc.name, namespace=svc.namespace, labels=dict(svc.labels)),
            spec=k8s.PodDisruptionBudgetSpec(
                min_available=k8s.IntOrString.from_number(props.min_available),
                selector=k8s.LabelSelector(match_labels=dict(svc.selector)),
                unhealthy_pod_eviction_policy="AlwaysAllow",
            ),
        )
        chart.bind_value(self.pdb, ("spec", "minAvailable"), "podDisruptionBudget.minAvailable", props.min_available)

    def _resource_metric(self, name: str, target: int) -> k8s.MetricSpecV2:
        return k8s.MetricSpecV2(
            type="Resource",
            resource=k8s.ResourceMetricSourceV2(
                name=name, target=k8s.MetricTargetV2(type="Utilization", average_utilization=target)
            ),
        )

    def _hpa(self, chart: HelmChart, sc: HorizontalScaling) -> k8s.KubeHorizontalPodAutoscalerV2:
        svc = self.service
        metrics = [self._resource_metric("cpu", sc.cpu_utilization), self._resource_metric("memory", sc.memory_utilization)]
        for m in sc.pods_metrics:
            metrics.append(
                k8s.MetricSpecV2(
                    type="Pods",
                    pods=k8s.PodsMetricSourceV2(
                        metric=k8s.MetricIdentifierV2(name=m.name),
                        target=k8s.MetricTargetV2(type="AverageValue", average_value=k8s.Quantity.from_number(m.average_value)),
                    ),
                )
            )
        hpa = k8s.KubeHorizontalPodAutoscalerV2(
            self,
            "hpa",
            metadata=k8s.ObjectMeta(name=svc.name, namespace=svc.namespace, labels=dict(svc.labels)),
            spec=k8s.HorizontalPodAutoscalerSpecV2(
                scale_target_ref=k8s.CrossVersionObjectReferenceV2(
                    api_version=svc.workload_api_version, kind=svc.workload_kind, name=svc.name),
                min_replicas=sc.min_replicas,
                max_replicas=sc.max_replicas,
                metrics=metrics,
                behavior=k8s.HorizontalPodAutoscalerBehaviorV2(
                    scale_down=k8s.HpaScalingRulesV2(
                        stabilization_window_seconds=sc.scale_down_stabilization_seconds,
                        select_policy="Max",
                        policies=[k8s.HpaScalingPolicyV2(type="Percent", value=50, period_seconds=60)],
                    ),
                    scale_up=k8s.HpaScalingRulesV2(
                        stabilization_window_seconds=0,
                        select_policy="Max",
                        policies=[
                            k8s.HpaScalingPolicyV2(type="Percent", value=100, period_seconds=30),
                            k8s.HpaScalingPolicyV2(type="Pods", value=2, period_seconds=30),
                        ],
                    ),
                ),
            ),
        )
        chart.bind_value(hpa, ("spec", "minReplicas"), "autoscaling.minReplicas", sc.min_replicas)
        chart.bind_value(hpa, ("spec", "maxReplicas"), "autoscaling.maxReplicas", sc.max_replicas)
        for i, key in ((0, "autoscaling.targetCPUUtilizationPercentage"), (1, "autoscaling.targetMemoryUtilizationPercentage")):
            chart.bind_value(hpa, ("spec", "metrics", i, "resource", "target", "averageUtilization"), key,
                             sc.cpu_utilization if i == 0 else sc.memory_utilization)
        return hpa

    def _keda(self, chart: HelmChart, sc: QueueScaling, identity_provider: str) -> cdk8s.ApiObject:
        svc = self.service
        auth_name = f"{svc.name}-servicebus"
        self.trigger_authentication = cdk8s.ApiObject(
            self,
            "trigger-authentication",
            api_version="keda.sh/v1alpha1",
            kind="TriggerAuthentication",
            metadata=cdk8s.ApiObjectMetadata(name=auth_name, namespace=svc.namespace, labels=dict(svc.labels)),
        )
        self.trigger_authentication.add_json_patch(
            cdk8s.JsonPatch.add("/spec", {"podIdentity": {"provider": identity_provider}})
        )
        so = cdk8s.ApiObject(
            self,
            "scaled-object",
            api_version="keda.sh/v1alpha1",
            kind="ScaledObject",
            metadata=cdk8s.ApiObjectMetadata(name=svc.name, namespace=svc.namespace, labels=dict(svc.labels)),
        )
        spec = {
            "scaleTargetRef": {"apiVersion": svc.workload_api_version, "kind": svc.workload_kind, "name": svc.name},
            "minReplicaCount": sc.min_replicas,
            "maxReplicaCount": sc.max_replicas,
            "advanced": {
                "horizontalPodAutoscalerConfig": {
                    "behavior": {
                        "scaleDown": {
                            "stabilizationWindowSeconds": sc.scale_down_stabilization_seconds,
                            "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}],
                        }
                    }
                }
            },
            "triggers": [
                {"type": "cpu", "metricType": "Utilization", "metadata": {"value": str(sc.cpu_utilization)}},
                {"type": "memory", "metricType": "Utilization", "metadata": {"value": str(sc.memory_utilization)}},
                {
                    "type": "azure-servicebus",
                    "metadata": {
                        "namespace": sc.servicebus_namespace,
                        "queueName": sc.queue_name,
                        "messageCount": str(sc.message_count),
                    },
                    "authenticationRef": {"name": auth_name},
                },
            ],
        }
        so.add_json_patch(cdk8s.JsonPatch.add("/spec", spec))
        chart.bind_value(so, ("spec", "minReplicaCount"), "autoscaling.minReplicas", sc.min_replicas)
        chart.bind_value(so, ("spec", "maxReplicaCount"), "autoscaling.maxReplicas", sc.max_replicas)
        chart.bind(so, ("spec", "triggers", 0, "metadata", "value"),
                   "{{ .Values.autoscaling.targetCPUUtilizationPercentage | toString | quote }}", str(sc.cpu_utilization))
        chart.bind(so, ("spec", "triggers", 1, "metadata", "value"),
                   "{{ .Values.autoscaling.targetMemoryUtilizationPercentage | toString | quote }}",
                   str(sc.memory_utilization))
        return so
