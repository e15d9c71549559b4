"""GuardrailPolicy: the per-object guardrails as ValidatingAdmissionPolicies and their bindings
(the CEL itself is proved against the real API server in tests/test_cluster_guardrails.py)."""

from __future__ import annotations

import pytest
from construct_helpers import new_chart, synth

from tripgen_cdk8s.lib.constructs import GuardrailPolicy, GuardrailPolicyProps
from tripgen_cdk8s.lib.constructs.guardrail_policy import SHAPES, cel_string, re2_problem
from tripgen_cdk8s.lib.errors import ConstructError
from tripgen_cdk8s.lib.kubeversions import KubernetesVersions

RANGE = KubernetesVersions("1.30", "1.37")
EVERY = GuardrailPolicyProps(immutable_image_tags=True, require_resources=True, require_probes=True)


def chart():
    return new_chart(kubernetes=RANGE)


def test_a_policy_and_a_binding_per_workload_shape_named_after_the_namespace():
    c = chart()
    policy = GuardrailPolicy(c, "guardrails", EVERY)
    objs = synth(c)
    assert list(objs) == [(kind, f"ns-guardrails-{shape}") for shape in ("long-running", "job", "cronjob")
                          for kind in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")]
    assert sorted(policy.policies) == sorted(policy.bindings) == ["cronjob", "job", "long-running"]
    for (kind, name), obj in objs.items():
        assert obj["apiVersion"] == "admissionregistration.k8s.io/v1"
        assert "namespace" not in obj["metadata"]  # cluster-scoped
        assert obj["metadata"]["labels"]["app.kubernetes.io/component"] == "guardrails"
        if kind == "ValidatingAdmissionPolicyBinding":
            assert obj["spec"] == {"policyName": name, "validationActions": ["Deny"], "matchResources": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ns"}}}}
    long_running = objs[("ValidatingAdmissionPolicy", "ns-guardrails-long-running")]["spec"]
    assert long_running["failurePolicy"] == "Fail"
    assert long_running["matchConstraints"]["resourceRules"] == [
        {"apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["deployments", "statefulsets", "daemonsets"],
         "operations": ["CREATE", "UPDATE"]},
        {"apiGroups": ["argoproj.io"], "apiVersions": ["*"], "resources": ["rollouts"], "operations": ["CREATE", "UPDATE"]}]
    assert [v["message"] for v in long_running["validations"]] == [
        "guardrail immutable_image_tags", "guardrail require_resources", "guardrail require_probes"]
    cron = objs[("ValidatingAdmissionPolicy", "ns-guardrails-cronjob")]["spec"]
    # Jobs and CronJobs are exempt from probes; a CronJob's pod spec is under its job template
    assert [v["message"] for v in cron["validations"]] == ["guardrail immutable_image_tags", "guardrail require_resources"]
    variables = {v["name"]: v["expression"] for v in cron["variables"]}
    assert variables["containers"] == "object.?spec.?jobTemplate.?spec.?template.?spec.?containers.orValue([])"
    assert "'spec.jobTemplate.spec.template.spec.containers['" in variables["resourceProblems"]


def test_only_the_guardrails_asked_for_and_nothing_without_one():
    c = chart()
    assert GuardrailPolicy(c, "none", GuardrailPolicyProps()).policies == {}
    probes = GuardrailPolicy(c, "probes", GuardrailPolicyProps(require_probes=True, namespace="other"))
    assert list(probes.policies) == ["long-running"]  # probes judge long-running workloads only
    objs = synth(c)
    assert list(objs) == [("ValidatingAdmissionPolicy", "other-guardrails-long-running"),
                          ("ValidatingAdmissionPolicyBinding", "other-guardrails-long-running")]
    # another namespace's names stay literal: no binding to the release namespace
    assert ("ValidatingAdmissionPolicy", "other-guardrails-long-running") not in c.values.bindings


def test_a_digest_requirement_makes_the_tag_rule_moot():
    c = chart()
    GuardrailPolicy(c, "g", GuardrailPolicyProps(immutable_image_tags=True, require_digest=True))
    spec = synth(c)[("ValidatingAdmissionPolicy", "ns-guardrails-job")]["spec"]
    assert [v["message"] for v in spec["validations"]] == ["guardrail require_digest"]


def test_the_names_and_the_selected_namespace_follow_the_release_namespace():
    c = chart()
    GuardrailPolicy(c, "g", GuardrailPolicyProps(require_resources=True))
    synth(c)
    template = '{{ printf "%s-guardrails-job" .Release.Namespace | toJson }}'
    policy = {b.path: b.template for b in c.values.bindings[("ValidatingAdmissionPolicy", "ns-guardrails-job")]}
    assert policy == {("metadata", "name"): template}
    binding = {b.path: b.template for b in c.values.bindings[("ValidatingAdmissionPolicyBinding", "ns-guardrails-job")]}
    assert binding == {("metadata", "name"): template, ("spec", "policyName"): template,
                       ("spec", "matchResources", "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"):
                       "{{ .Release.Namespace }}"}


def test_the_release_tag_pattern_is_anchored_and_quoted_in_cel():
    c = chart()
    GuardrailPolicy(c, "g", GuardrailPolicyProps(immutable_image_tags=True, release_tag_pattern=r"\d+'x"))
    spec = synth(c)[("ValidatingAdmissionPolicy", "ns-guardrails-job")]["spec"]
    [expr] = [v["expression"] for v in spec["variables"] if v["name"] == "tagProblems"]
    assert r".matches('^(?:\\d+\'x)')" in expr
    assert r"allowed: a release tag matching \\d+\'x or a digest'" in expr
    assert cel_string("a'b\\c\n") == r"'a\'b\\c\n'"


def test_kubernetes_before_1_30_is_refused():
    c = new_chart(kubernetes=KubernetesVersions("1.29", "1.37"))
    with pytest.raises(ConstructError) as err:
        GuardrailPolicy(c, "guardrails", EVERY)
    assert err.value.field == "demo/guardrails.kubernetes.minimum" and "1.30 or later" in str(err.value)


@pytest.mark.parametrize("pattern", [r"^(?=v)v\d+$", r"^(a)\1$", r"^\d+\Z", r"^(?!latest)"])
def test_a_pattern_re2_cannot_read_is_refused(pattern):
    assert re2_problem(pattern)
    with pytest.raises(ConstructError) as err:
        GuardrailPolicy(chart(), "guardrails", GuardrailPolicyProps(immutable_image_tags=True, release_tag_pattern=pattern))
    assert err.value.field == "demo/guardrails.release_tag_pattern"
    # with digests required the pattern is never used
    GuardrailPolicy(chart(), "g", GuardrailPolicyProps(immutable_image_tags=True, require_digest=True,
                                                       release_tag_pattern=pattern))


def test_the_shapes_are_the_workloads_the_guardrails_judge():
    from tripgen_cdk8s.app.guardrails import WORKLOADS

    kinds = {r[:-1].lower() for s in SHAPES for _, _, resources in s.rules for r in resources}
    assert kinds == {w.lower() for w in WORKLOADS}
