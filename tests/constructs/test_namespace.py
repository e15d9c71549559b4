"""AppNamespace and ClusterRoleGrant."""

from __future__ import annotations

from construct_helpers import new_chart, synth

from tripgen_cdk8s.lib.constructs import AppNamespace, AppNamespaceProps, ClusterRoleGrant, ClusterRoleGrantProps

RULES = ({"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},)


def test_namespace_with_pod_security_labels_and_limit_range_but_no_quota():
    chart = new_chart()
    ns = AppNamespace(chart, "namespace", AppNamespaceProps(labels={"team": "core"}))
    assert ns.name == "ns" and ns.quota is None
    objs = synth(chart)
    assert list(objs) == [("Namespace", "ns"), ("LimitRange", "ns-limits")]
    namespace = objs[("Namespace", "ns")]
    assert "namespace" not in namespace["metadata"]
    assert namespace["metadata"]["labels"] == {
        "team": "core", "kubernetes.io/metadata.name": "ns", "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "v1.29", "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted"}
    limits = objs[("LimitRange", "ns-limits")]
    assert limits["metadata"]["namespace"] == "ns"
    assert limits["spec"] == {"limits": [{
        "type": "Container", "default": {"cpu": "500m", "memory": "512Mi", "ephemeral-storage": "1Gi"},
        "defaultRequest": {"cpu": "100m", "memory": "256Mi", "ephemeral-storage": "256Mi"}}]}


def test_the_namespace_name_follows_the_release_namespace():
    chart = new_chart()
    AppNamespace(chart, "namespace", AppNamespaceProps())
    synth(chart)
    bindings = {b.path: (b.template, b.expected) for b in chart.values.bindings[("Namespace", "ns")]}
    assert bindings == {("metadata", "name"): ("{{ .Release.Namespace }}", "ns"),
                        ("metadata", "labels", "kubernetes.io/metadata.name"): ("{{ .Release.Namespace }}", "ns")}


def test_levels_quota_and_container_defaults():
    chart = new_chart()
    ns = AppNamespace(chart, "namespace", AppNamespaceProps(
        name="ns", pod_security="baseline", pod_security_warn="restricted", quota_requests_cpu="4",
        quota_requests_memory="8Gi", default_limits={"cpu": "1"}, default_requests={"cpu": "50m"}))
    assert ns.quota is not None
    objs = synth(chart)
    assert list(objs) == [("Namespace", "ns"), ("ResourceQuota", "ns-quota"), ("LimitRange", "ns-limits")]
    labels = objs[("Namespace", "ns")]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["pod-security.kubernetes.io/warn"] == labels["pod-security.kubernetes.io/audit"] == "restricted"
    assert objs[("ResourceQuota", "ns-quota")]["spec"] == {"hard": {"requests.cpu": "4", "requests.memory": "8Gi"}}
    assert objs[("LimitRange", "ns-limits")]["spec"]["limits"][0]["default"] == {"cpu": "1"}
    assert objs[("LimitRange", "ns-limits")]["spec"]["limits"][0]["defaultRequest"] == {"cpu": "50m"}


def test_quota_only_when_both_values_are_set():
    chart = new_chart()
    assert AppNamespace(chart, "a", AppNamespaceProps(name="a", quota_requests_cpu="4")).quota is None
    assert AppNamespace(chart, "b", AppNamespaceProps(name="b", quota_requests_memory="8Gi")).quota is None
    assert not any(kind == "ResourceQuota" for kind, _ in synth(chart))


def test_cluster_role_grant_binds_inside_the_chart_namespace():
    chart = new_chart()
    grant = ClusterRoleGrant(chart, "reader", ClusterRoleGrantProps(role_name="reader", rules=RULES,
                                                                   labels={"a": "b"}))
    binding = grant.grant("web-sa")
    assert grant.bindings == [binding] and binding.name == "web-sa-reader"
    objs = synth(chart)
    role = objs[("ClusterRole", "reader")]
    assert "namespace" not in role["metadata"] and role["rules"] == [dict(r) for r in RULES]
    rb = objs[("RoleBinding", "web-sa-reader")]
    assert rb["metadata"] == {"name": "web-sa-reader", "namespace": "ns", "labels": {"a": "b"}}
    assert rb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "reader"}
    assert rb["subjects"] == [{"kind": "ServiceAccount", "name": "web-sa", "namespace": "ns"}]
    [b] = chart.values.bindings[("RoleBinding", "web-sa-reader")]
    assert (b.path, b.template) == (("subjects", 0, "namespace"), "{{ .Release.Namespace }}")


def test_a_role_without_grants_has_no_bindings():
    chart = new_chart()
    ClusterRoleGrant(chart, "reader", ClusterRoleGrantProps(role_name="reader", rules=RULES))
    assert list(synth(chart)) == [("ClusterRole", "reader")]


def test_a_namespace_other_than_the_charts_keeps_its_literal_name():
    chart = new_chart()
    AppNamespace(chart, "other", AppNamespaceProps(name="other"))
    objs = synth(chart)
    assert objs[("Namespace", "other")]["metadata"]["labels"]["kubernetes.io/metadata.name"] == "other"
    assert objs[("LimitRange", "other-limits")]["metadata"]["namespace"] == "other"
    assert ("Namespace", "other") not in chart.values.bindings
