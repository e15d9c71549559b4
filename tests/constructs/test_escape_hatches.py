"""The escape hatches: a JSON patch (or an AWS CDK style override) on any emitted object, applied
when the object is produced (so the checks, the config checksum and the helm round trip see it),
refused on a field bound to a Helm value; and raw objects added to a chart."""

from __future__ import annotations

import pytest
from construct_helpers import new_chart, services, synth
from test_workloads import round_trip

from tripgen_cdk8s import ConfigError, JsonPatch
from tripgen_cdk8s.lib.validation import check_invariants


def test_add_replace_and_remove_patches_reach_the_object_and_the_helm_round_trip(tmp_path):
    chart = new_chart()
    svc = services(chart)()
    svc.workload.add_json_patch(
        JsonPatch.add("/spec/template/spec/dnsPolicy", "Default"),
        JsonPatch.add("/spec/template/spec/containers/0/args", ["--verbose"]),
        JsonPatch.replace("/spec/revisionHistoryLimit", 3),
        JsonPatch.remove("/spec/progressDeadlineSeconds"),
        JsonPatch.add("/metadata/annotations", {"team/owner": "books"}),
    )
    svc.service.add_override("spec.internalTrafficPolicy", "Local")
    svc.service.add_override("metadata.annotations.example\\.com/tier", "gold")
    objs = synth(chart)
    spec = objs[("Deployment", "demo")]["spec"]
    assert spec["template"]["spec"]["dnsPolicy"] == "Default" and spec["revisionHistoryLimit"] == 3
    assert "progressDeadlineSeconds" not in spec
    assert spec["template"]["spec"]["containers"][0]["args"] == ["--verbose"]
    assert objs[("Deployment", "demo")]["metadata"]["annotations"] == {"team/owner": "books"}
    assert objs[("Service", "demo")]["spec"]["internalTrafficPolicy"] == "Local"
    assert objs[("Service", "demo")]["metadata"]["annotations"] == {"example.com/tier": "gold"}
    assert round_trip(chart, tmp_path) == []


def test_a_patch_on_the_config_map_changes_the_config_checksum():
    plain, patched = new_chart(), new_chart()
    services(plain)(config={"A": "1"})
    svc = services(patched)(config={"A": "1"})
    svc.config_map.add_json_patch(JsonPatch.replace("/data/A", "2"))
    checksum = [synth(c)[("Deployment", "demo")]["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
                for c in (plain, patched)]
    assert checksum[0] != checksum[1]
    assert checksum[1] == svc.config_checksum()


def test_a_patch_runs_before_the_checks():
    chart = new_chart()
    svc = services(chart)()
    svc.service.add_json_patch(JsonPatch.replace("/spec/ports/0/targetPort", "metrics"))
    assert check_invariants(list(synth(chart).values())) == [
        "Service/demo: targetPort 'metrics' is not a port of Deployment/demo"]


@pytest.mark.parametrize(("path", "key"), [
    ("/spec/template/spec/containers/0/image", "image"),
    ("/spec/template/spec/containers/0/resources/limits/cpu", "resources.limits.cpu"),
    ("/spec/template/spec/containers/0/resources", "resources.requests.cpu"),
    ("/spec/replicas", "replicaCount"),
])
def test_a_patch_on_a_field_bound_to_a_helm_value_names_the_value(path, key):
    chart = new_chart()
    services(chart)().workload.add_json_patch(JsonPatch.replace(path, "x"))
    with pytest.raises(ConfigError, match=rf"^demo/Deployment/demo{path}: .*bound to the Helm value {key}; set {key}"):
        synth(chart)


def test_inserting_before_a_bound_list_item_is_refused_appending_is_not():
    chart = new_chart()
    svc = services(chart)()
    svc.workload.add_json_patch(JsonPatch.add("/spec/template/spec/containers/-", {"name": "x"}))
    synth(chart)  # appending leaves containers/0 where its bindings point
    chart = new_chart()
    services(chart)().workload.add_json_patch(JsonPatch.add("/spec/template/spec/containers/0", {"name": "x"}))
    with pytest.raises(ConfigError, match="bound to the Helm value"):
        synth(chart)


@pytest.mark.parametrize(("patch", "message"), [
    (JsonPatch.add("/spec/nothing/here", 1), "/spec/nothing does not exist"),
    (JsonPatch.replace("/spec/absent", 1), "the member does not exist"),
    (JsonPatch.remove("/spec/template/spec/containers/7"), "a list index below 1"),
])
def test_a_patch_that_does_not_fit_is_a_config_error(patch, message):
    chart = new_chart()
    services(chart)().workload.add_json_patch(patch)
    with pytest.raises(ConfigError, match=message):
        synth(chart)


def test_a_pointer_must_start_with_a_slash_and_patches_come_before_synthesis():
    chart = new_chart()
    svc = services(chart)()
    with pytest.raises(ConfigError, match="a JSON pointer"):
        svc.workload.add_json_patch(JsonPatch.add("spec/x", 1))
    synth(chart)
    with pytest.raises(ConfigError, match="before synthesis"):
        svc.workload.add_json_patch(JsonPatch.add("/spec/x", 1))


def test_a_raw_object_is_added_with_the_chart_namespace_and_standard_labels(tmp_path):
    chart = new_chart()
    chart.add_object({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": "extra", "labels": {"team": "books"}}, "data": {"a": "b"}})
    role = chart.add_object({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                             "metadata": {"name": "ns-extra"}, "rules": []}, namespaced=False)
    role.add_json_patch(JsonPatch.add("/rules/-", {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}))
    objs = synth(chart)
    cm = objs[("ConfigMap", "extra")]
    assert cm["metadata"]["namespace"] == "ns" and cm["data"] == {"a": "b"}
    assert cm["metadata"]["labels"]["team"] == "books" and cm["metadata"]["labels"]["app.kubernetes.io/name"] == "demo"
    assert "namespace" not in objs[("ClusterRole", "ns-extra")]["metadata"]
    assert objs[("ClusterRole", "ns-extra")]["rules"][0]["verbs"] == ["get"]
    assert round_trip(chart, tmp_path) == []


def test_a_raw_object_needs_its_identity():
    with pytest.raises(ConfigError, match=r"^demo\.add_object: .*a manifest with kind, metadata\.name$"):
        new_chart().add_object({"apiVersion": "v1"})


def test_every_construct_reaches_its_objects_through_public_accessors():
    from tripgen_cdk8s import AutoscaledService, AutoscaledServiceProps, HorizontalScaling, resource_of, resources_of

    chart = new_chart()
    svc = services(chart)()
    scaled = AutoscaledService(chart, "scale", AutoscaledServiceProps(svc, HorizontalScaling(2, 4, 70)))
    assert [r.key for r in resources_of(svc)] == [("ServiceAccount", "demo-sa"), ("ConfigMap", "demo-config"),
                                                  ("Deployment", "demo"), ("Service", "demo")]
    resource_of(scaled, "PodDisruptionBudget").add_json_patch(JsonPatch.add("/metadata/annotations", {"a": "b"}))
    assert synth(chart)[("PodDisruptionBudget", "demo")]["metadata"]["annotations"] == {"a": "b"}
    with pytest.raises(ConfigError, match=r"^demo/scale\.resource: invalid value 'Ingress/\*'; exactly one match among "
                                          r"HorizontalPodAutoscaler/demo, PodDisruptionBudget/demo \(0 found\)$"):
        resource_of(scaled, "Ingress")
