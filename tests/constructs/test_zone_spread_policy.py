"""ZoneSpreadPolicy: placement stated through each workload's scheduling intents."""

from __future__ import annotations

import pytest
from construct_helpers import new_chart, services, synth

from tripgen_cdk8s.lib.constructs import Schedulable, ZoneSpreadPolicy, ZoneSpreadPolicyProps
from tripgen_cdk8s.lib.constructs.scheduling import HOSTNAME, ZONE
from tripgen_cdk8s.lib.model import Toleration

POOL = Toleration("pool", "api")


def pod_spec(objs, name="demo"):
    return objs[("Deployment", name)]["spec"]["template"]["spec"]


def test_spread_separate_attract_and_tolerate():
    chart = new_chart()
    service = services(chart)
    svc = service()
    assert isinstance(svc, Schedulable)
    policy = ZoneSpreadPolicy(chart, "spread", ZoneSpreadPolicyProps(
        workloads=(svc,), node_label_key="agentpool", node_label_values=("api",), tolerations=(POOL,)))
    assert policy.workloads == [svc]
    spec = pod_spec(synth(chart))
    assert [(t["topologyKey"], t["whenUnsatisfiable"], t["maxSkew"]) for t in spec["topologySpreadConstraints"]] == [
        (ZONE, "DoNotSchedule", 1), (HOSTNAME, "ScheduleAnyway", 1)]
    assert all(t["labelSelector"]["matchLabels"] == svc.selector for t in spec["topologySpreadConstraints"])
    assert spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"] == [
        {"matchExpressions": [{"key": "agentpool", "operator": "In", "values": ["api"]}]}]
    [anti] = spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert anti["podAffinityTerm"] == {"topologyKey": HOSTNAME, "labelSelector": {"matchLabels": svc.selector}}
    assert spec["tolerations"] == [POOL.to_json()]


def test_without_a_node_pool_there_is_no_node_affinity():
    chart = new_chart()
    service = services(chart)
    svc = service()
    ZoneSpreadPolicy(chart, "spread", ZoneSpreadPolicyProps(workloads=(svc,), zone_when_unsatisfiable="ScheduleAnyway",
                                                            max_skew=2))
    spec = pod_spec(synth(chart))
    assert "nodeAffinity" not in spec["affinity"] and "tolerations" not in spec
    assert spec["topologySpreadConstraints"][0]["whenUnsatisfiable"] == "ScheduleAnyway"
    assert {t["maxSkew"] for t in spec["topologySpreadConstraints"]} == {2}


def test_apply_after_construction_and_before_synthesis():
    chart = new_chart()
    service = services(chart)
    svc = service()
    policy = ZoneSpreadPolicy(chart, "spread", ZoneSpreadPolicyProps())
    policy.apply(svc)
    assert policy.workloads == [svc]
    assert len(pod_spec(synth(chart))["topologySpreadConstraints"]) == 2


def test_intents_merge_with_other_callers():
    chart = new_chart()
    service = services(chart)
    svc = service()
    other = Toleration("spot", operator="Exists")
    svc.scheduling.tolerate(other)
    svc.scheduling.tolerate(POOL)  # stated by someone else before the policy
    ZoneSpreadPolicy(chart, "spread", ZoneSpreadPolicyProps(workloads=(svc,), tolerations=(POOL,)))
    ZoneSpreadPolicy(chart, "again", ZoneSpreadPolicyProps(workloads=(svc,), tolerations=(POOL,)))
    spec = pod_spec(synth(chart))
    assert spec["tolerations"] == [other.to_json(), POOL.to_json()]
    assert len(spec["topologySpreadConstraints"]) == 2
    assert len(spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]) == 1


def test_only_the_workloads_given_are_placed():
    chart = new_chart()
    service = services(chart)
    placed, free = service("placed"), service("free")
    ZoneSpreadPolicy(chart, "spread", ZoneSpreadPolicyProps(workloads=(placed,)))
    objs = synth(chart)
    assert "topologySpreadConstraints" in pod_spec(objs, "placed")
    assert "topologySpreadConstraints" not in pod_spec(objs, "free") and free.scheduling.pod_spec_fields() == {}


@pytest.mark.parametrize("props", [ZoneSpreadPolicyProps(zone_when_unsatisfiable="Never"),
                                   ZoneSpreadPolicyProps(node_label_key="pool"),
                                   ZoneSpreadPolicyProps(node_label_values=("a",))])
def test_invalid_props_are_refused(props):
    chart = new_chart()
    with pytest.raises(ValueError):
        ZoneSpreadPolicy(chart, "spread", props)
