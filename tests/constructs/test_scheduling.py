"""Scheduling: intents that merge into the pod spec fields."""

from __future__ import annotations

import pytest
from construct_helpers import new_chart, services, synth

from tripgen_cdk8s.lib.constructs import Scheduling
from tripgen_cdk8s.lib.constructs.scheduling import HOSTNAME, ZONE
from tripgen_cdk8s.lib.model import Toleration

SELECTOR = {"app.kubernetes.io/name": "demo"}


def test_nothing_stated_gives_no_fields():
    assert Scheduling(SELECTOR).pod_spec_fields() == {}


def test_spread_separate_attract_and_tolerate_give_the_pod_spec_fields():
    s = Scheduling(SELECTOR)
    s.spread()
    s.spread(HOSTNAME, max_skew=2, when_unsatisfiable="ScheduleAnyway")
    s.separate()
    s.attract("pool", ("a", "b"))
    s.tolerate(Toleration("dedicated", "api"))
    s.tolerate(Toleration("spot", operator="Exists", effect="NoExecute"))
    assert s.pod_spec_fields() == {
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule",
             "labelSelector": {"matchLabels": SELECTOR}},
            {"maxSkew": 2, "topologyKey": HOSTNAME, "whenUnsatisfiable": "ScheduleAnyway",
             "labelSelector": {"matchLabels": SELECTOR}}],
        "affinity": {
            "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["a", "b"]}]}]}},
            "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 100, "podAffinityTerm": {"topologyKey": HOSTNAME,
                                                    "labelSelector": {"matchLabels": SELECTOR}}}]}},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "effect": "NoSchedule", "value": "api"},
                        {"key": "spot", "operator": "Exists", "effect": "NoExecute"}],
    }


def test_the_same_intent_twice_is_kept_once_and_different_ones_add_up():
    s = Scheduling(SELECTOR)
    for _ in range(2):
        s.spread()
        s.separate()
        s.attract("pool", ("a",))
        s.tolerate(Toleration("dedicated", "api"))
    s.attract("arch", ("amd64",))
    out = s.pod_spec_fields()
    assert len(out["topologySpreadConstraints"]) == 1 and len(out["tolerations"]) == 1
    assert len(out["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]) == 1
    [term] = out["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert [e["key"] for e in term["matchExpressions"]] == ["pool", "arch"]  # all must hold: one term


def test_the_fields_are_copies():
    s = Scheduling(SELECTOR)
    s.spread()
    s.pod_spec_fields()["topologySpreadConstraints"][0]["maxSkew"] = 9
    assert s.pod_spec_fields()["topologySpreadConstraints"][0]["maxSkew"] == 1


@pytest.mark.parametrize("kwargs", [{"when_unsatisfiable": "Sometimes"}, {"max_skew": 0}])
def test_an_invalid_spread_is_refused(kwargs):
    with pytest.raises(ValueError):
        Scheduling(SELECTOR).spread(**kwargs)


def test_a_microservice_takes_its_scheduling_into_the_pod_spec():
    chart = new_chart()
    service = services(chart)
    svc = service()
    svc.scheduling.tolerate(Toleration("gpu", operator="Exists"))
    pod = synth(chart)[("Deployment", "demo")]["spec"]["template"]["spec"]
    assert pod["tolerations"] == [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert "affinity" not in pod and "topologySpreadConstraints" not in pod
