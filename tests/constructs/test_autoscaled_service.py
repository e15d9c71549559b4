"""AutoscaledService: exactly one scaler (HPA or KEDA) and a PDB; the target leaves its replicas to it."""

from __future__ import annotations

import pytest
from construct_helpers import new_chart, services, synth

from tripgen_cdk8s.lib.constructs import AutoscaledService, AutoscaledServiceProps, Scalable, Strategy
from tripgen_cdk8s.lib.errors import ConfigError
from tripgen_cdk8s.lib.model import HorizontalScaling, KedaScaling, PodsMetric

HPA = HorizontalScaling(2, 6, 70, 80)
AUTH = {"podIdentity": {"provider": "azure-workload"}}
QUEUE = {"type": "azure-servicebus", "metadata": {"queueName": "q", "messageCount": "10"}}


def test_a_microservice_is_scalable():
    chart = new_chart()
    service = services(chart)
    assert isinstance(service(), Scalable)


def test_hpa_metrics_behaviour_and_target():
    chart = new_chart()
    service = services(chart)
    svc = service(replicas=3)
    scaled = AutoscaledService(chart, "scale", AutoscaledServiceProps(
        svc, HorizontalScaling(3, 10, 70, 80, pods_metrics=(PodsMetric("http_inflight", 20),),
                               scale_down_stabilization_seconds=120), min_available=2))
    assert scaled.node.id == "scale" and scaled.target is svc
    objs = synth(chart)
    spec = objs[("HorizontalPodAutoscaler", "demo")]["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "demo"}
    assert (spec["minReplicas"], spec["maxReplicas"]) == (3, 10)
    assert spec["metrics"] == [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}},
        {"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 80}}},
        {"type": "Pods", "pods": {"metric": {"name": "http_inflight"},
                                  "target": {"type": "AverageValue", "averageValue": 20}}}]
    assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 120
    assert spec["behavior"]["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert ("ScaledObject", "demo") not in objs
    pdb = objs[("PodDisruptionBudget", "demo")]["spec"]
    assert pdb == {"minAvailable": 2, "selector": {"matchLabels": dict(svc.selector)},
                   "unhealthyPodEvictionPolicy": "AlwaysAllow"}


def test_the_target_leaves_the_replica_count_to_the_autoscaler():
    chart = new_chart()
    service = services(chart)
    svc = service(replicas=3)
    AutoscaledService(chart, "scale", AutoscaledServiceProps(svc, HPA))
    objs = synth(chart)
    assert svc.autoscaled is True
    assert "replicas" not in objs[("Deployment", "demo")]["spec"]
    assert "replicaCount" not in chart.values.params
    assert all(b.path != ("spec", "replicas") for b in chart.values.bindings[("Deployment", "demo")])


def test_hpa_values_and_bindings():
    chart = new_chart()
    service = services(chart)
    AutoscaledService(chart, "scale", AutoscaledServiceProps(service(), HPA, min_available=1))
    synth(chart)
    params = chart.values.params
    assert {k: params[k].default for k in params if k.startswith(("autoscaling.", "podDisruptionBudget."))} == {
        "autoscaling.minReplicas": 2, "autoscaling.maxReplicas": 6, "autoscaling.targetCPUUtilizationPercentage": 70,
        "autoscaling.targetMemoryUtilizationPercentage": 80, "podDisruptionBudget.minAvailable": 1}
    hpa = {b.path: b.template for b in chart.values.bindings[("HorizontalPodAutoscaler", "demo")]}
    assert hpa[("spec", "minReplicas")] == "{{ .Values.autoscaling.minReplicas }}"
    assert hpa[("spec", "metrics", 1, "resource", "target", "averageUtilization")] == \
        "{{ .Values.autoscaling.targetMemoryUtilizationPercentage }}"
    [pdb] = chart.values.bindings[("PodDisruptionBudget", "demo")]
    assert (pdb.path, pdb.template) == (("spec", "minAvailable"), "{{ .Values.podDisruptionBudget.minAvailable }}")
    assert "autoscaling" in chart.values.groups and "podDisruptionBudget" in chart.values.groups


def test_keda_scaled_object_with_an_extra_trigger_and_its_authentication():
    chart = new_chart()
    service = services(chart)
    svc = service(strategy=Strategy.canary())
    scaled = AutoscaledService(chart, "scale", AutoscaledServiceProps(svc, KedaScaling(
        2, 8, 75, 85, triggers=(QUEUE,), authentication=AUTH)))
    objs = synth(chart)
    assert ("HorizontalPodAutoscaler", "demo") not in objs
    assert objs[("TriggerAuthentication", "demo-keda")]["spec"] == AUTH
    assert scaled.trigger_authentication is not None
    spec = objs[("ScaledObject", "demo")]["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "demo"}
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (2, 8)
    assert spec["triggers"] == [
        {"type": "cpu", "metricType": "Utilization", "metadata": {"value": "75"}},
        {"type": "memory", "metricType": "Utilization", "metadata": {"value": "85"}},
        {**QUEUE, "authenticationRef": {"name": "demo-keda"}}]
    assert "authenticationRef" not in QUEUE  # the given trigger is not modified
    assert spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"][
        "stabilizationWindowSeconds"] == 300
    assert "replicas" not in objs[("Rollout", "demo")]["spec"]
    keda = {b.path: b.template for b in chart.values.bindings[("ScaledObject", "demo")]}
    assert keda[("spec", "minReplicaCount")] == "{{ .Values.autoscaling.minReplicas }}"
    assert keda[("spec", "triggers", 0, "metadata", "value")] == \
        "{{ .Values.autoscaling.targetCPUUtilizationPercentage | toString | quote }}"


def test_keda_without_authentication_has_no_trigger_authentication():
    chart = new_chart()
    service = services(chart)
    AutoscaledService(chart, "scale", AutoscaledServiceProps(service(), KedaScaling(
        2, 8, 75, 85, triggers=(QUEUE,), authentication_name="unused")))
    objs = synth(chart)
    assert not any(kind == "TriggerAuthentication" for kind, _ in objs)
    assert objs[("ScaledObject", "demo")]["spec"]["triggers"][2] == QUEUE


def test_a_second_autoscaler_is_refused():
    chart = new_chart()
    service = services(chart)
    svc = service()
    AutoscaledService(chart, "hpa", AutoscaledServiceProps(svc, HPA))
    with pytest.raises(ValueError, match="already has an autoscaler"):
        AutoscaledService(chart, "keda", AutoscaledServiceProps(svc, KedaScaling(2, 8, 80, 85)))


@pytest.mark.parametrize("min_available", [2, 3])
def test_min_available_not_below_min_replicas_is_refused(min_available):
    chart = new_chart()
    service = services(chart)
    svc = service()
    with pytest.raises(ValueError, match=r"demo/scale\.min_available: invalid value \d; 0 or more and below the minimum replicas"):
        AutoscaledService(chart, "scale", AutoscaledServiceProps(svc, HorizontalScaling(2, 5, 70, 80), min_available))
    assert svc.autoscaled is False  # nothing was marked


def test_max_below_min_replicas_is_refused():
    chart = new_chart()
    service = services(chart)
    with pytest.raises(ValueError, match=r"demo/scale\.scaling\.max_replicas: invalid value 2; at least min_replicas \(3\)"):
        AutoscaledService(chart, "scale", AutoscaledServiceProps(service(), HorizontalScaling(3, 2, 70, 80)))


# ---------------------------------------------------------------------------- any metric mix, optional PDB


def test_an_hpa_on_custom_object_and_external_metrics_only(tmp_path):
    from test_workloads import round_trip

    from tripgen_cdk8s.lib.model import ExternalMetric, ObjectMetric

    chart = new_chart()
    svc = services(chart)(replicas=2)
    AutoscaledService(chart, "scale", AutoscaledServiceProps(svc, HorizontalScaling(
        2, 8, pods_metrics=(PodsMetric("inflight", 10),),
        object_metrics=(ObjectMetric("requests_per_second", "networking.k8s.io/v1", "Ingress", "web", "100"),),
        external_metrics=(ExternalMetric("queue_messages", "30", average=True, selector={"queue": "jobs"}),))))
    objs = synth(chart)
    metrics = objs[("HorizontalPodAutoscaler", "demo")]["spec"]["metrics"]
    assert [m["type"] for m in metrics] == ["Pods", "Object", "External"]
    assert metrics[1]["object"] == {
        "describedObject": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "web"},
        "metric": {"name": "requests_per_second"}, "target": {"type": "Value", "value": "100"}}
    assert metrics[2]["external"] == {"metric": {"name": "queue_messages", "selector": {"matchLabels": {"queue": "jobs"}}},
                                      "target": {"type": "AverageValue", "averageValue": "30"}}
    assert not any(k.startswith("autoscaling.target") for k in chart.values.params)
    assert round_trip(chart, tmp_path) == []


def test_cpu_only_hpa_binds_its_one_resource_metric():
    chart = new_chart()
    AutoscaledService(chart, "scale", AutoscaledServiceProps(services(chart)(), HorizontalScaling(2, 4, memory_utilization=75)))
    objs = synth(chart)
    [metric] = objs[("HorizontalPodAutoscaler", "demo")]["spec"]["metrics"]
    assert metric["resource"]["name"] == "memory"
    [b] = [b for b in chart.values.bindings[("HorizontalPodAutoscaler", "demo")] if b.key.startswith("autoscaling.target")]
    assert (b.path, b.key) == (("spec", "metrics", 0, "resource", "target", "averageUtilization"),
                               "autoscaling.targetMemoryUtilizationPercentage")


def test_keda_without_cpu_or_memory_triggers_and_without_a_trigger_at_all():
    chart = new_chart()
    AutoscaledService(chart, "scale", AutoscaledServiceProps(services(chart)(), KedaScaling(2, 5, triggers=(QUEUE,))))
    assert [t["type"] for t in synth(chart)[("ScaledObject", "demo")]["spec"]["triggers"]] == ["azure-servicebus"]
    chart = new_chart()
    with pytest.raises(ConfigError, match=r"demo/scale\.scaling: invalid value 'KedaScaling'; at least one trigger"):
        AutoscaledService(chart, "scale", AutoscaledServiceProps(services(chart)(), KedaScaling(2, 5)))


def test_the_pdb_is_optional_or_max_unavailable_for_a_minimum_of_one():
    chart = new_chart()
    AutoscaledService(chart, "scale", AutoscaledServiceProps(services(chart)(), HorizontalScaling(1, 3, 70),
                                                             disruption_budget=False))
    objs = synth(chart)
    assert ("PodDisruptionBudget", "demo") not in objs and "podDisruptionBudget.minAvailable" not in chart.values.params
    chart = new_chart()
    AutoscaledService(chart, "scale", AutoscaledServiceProps(services(chart)(), HorizontalScaling(1, 3, 70),
                                                             max_unavailable=1))
    pdb = synth(chart)[("PodDisruptionBudget", "demo")]["spec"]
    assert pdb["maxUnavailable"] == 1 and "minAvailable" not in pdb
    assert chart.values.params["podDisruptionBudget.maxUnavailable"].default == 1


def test_a_minimum_of_one_with_the_default_budget_tells_the_user_what_to_say():
    chart = new_chart()
    with pytest.raises(ConfigError, match="min_available=0|max_unavailable=1|disruption_budget=False"):
        AutoscaledService(chart, "scale", AutoscaledServiceProps(services(chart)(), HorizontalScaling(1, 3, 70)))
