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
    assert list(objs) == [("Namespace", "ns"), ("LimitRange", "container-defaults")]
    namespace = objs[("Namespace", "ns")]
    assert "namespace" not in namespace["metadata"]
    assert namespace["metadata"]["labels"] == {
        "team": "core", "kubernetes.io/metadata.name": "ns", "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "v1.29", "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted"}
    limits = objs[("LimitRange", "container-defaults")]
    assert limits["metadata"]["namespace"] == "ns" and limits["metadata"]["labels"] == {"team": "core"}
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
    assert list(objs) == [("Namespace", "ns"), ("ResourceQuota", "requests-quota"), ("LimitRange", "container-defaults")]
    labels = objs[("Namespace", "ns")]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["pod-security.kubernetes.io/warn"] == labels["pod-security.kubernetes.io/audit"] == "restricted"
    assert objs[("ResourceQuota", "requests-quota")]["spec"] == {"hard": {"requests.cpu": "4", "requests.memory": "8Gi"}}
    assert objs[("LimitRange", "container-defaults")]["spec"]["limits"][0]["default"] == {"cpu": "1"}
    assert objs[("LimitRange", "container-defaults")]["spec"]["limits"][0]["defaultRequest"] == {"cpu": "50m"}


def test_quota_only_when_both_values_are_set():
    chart = new_chart()
    assert AppNamespace(chart, "a", AppNamespaceProps(name="a", quota_requests_cpu="4")).quota is None
    assert AppNamespace(chart, "b", AppNamespaceProps(name="b", quota_requests_memory="8Gi",
                                                      limit_range_name="b-defaults")).quota is None
    assert not any(kind == "ResourceQuota" for kind, _ in synth(chart))


def test_cluster_role_grant_binds_inside_the_chart_namespace():
    chart = new_chart()
    grant = ClusterRoleGrant(chart, "reader", ClusterRoleGrantProps(role_name="reader", rules=RULES,
                                                                   labels={"a": "b"}))
    binding = grant.grant("web-sa")
    assert grant.bindings == [binding] and binding.name == "web-sa-reader-grant"
    objs = synth(chart)
    role = objs[("ClusterRole", "ns-reader")]
    assert "namespace" not in role["metadata"] and role["rules"] == [dict(r) for r in RULES]
    rb = objs[("RoleBinding", "web-sa-reader-grant")]
    assert rb["metadata"] == {"name": "web-sa-reader-grant", "namespace": "ns", "labels": {"a": "b"}}
    assert rb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "ns-reader"}
    assert rb["subjects"] == [{"kind": "ServiceAccount", "name": "web-sa", "namespace": "ns"}]
    name_template = '{{ printf "%s-reader" .Release.Namespace | toJson }}'
    assert [(b.path, b.template) for b in chart.values.bindings[("RoleBinding", "web-sa-reader-grant")]] == [
        (("roleRef", "name"), name_template), (("subjects", 0, "namespace"), "{{ .Release.Namespace }}")]
    [b] = chart.values.bindings[("ClusterRole", "ns-reader")]
    assert (b.path, b.template) == (("metadata", "name"), name_template)


def test_a_role_without_grants_has_no_bindings():
    chart = new_chart()
    ClusterRoleGrant(chart, "reader", ClusterRoleGrantProps(role_name="reader", rules=RULES))
    assert list(synth(chart)) == [("ClusterRole", "ns-reader")]


def test_a_namespace_other_than_the_charts_keeps_its_literal_name():
    chart = new_chart()
    AppNamespace(chart, "other", AppNamespaceProps(name="other"))
    objs = synth(chart)
    assert objs[("Namespace", "other")]["metadata"]["labels"]["kubernetes.io/metadata.name"] == "other"
    assert objs[("LimitRange", "container-defaults")]["metadata"]["namespace"] == "other"
    assert ("Namespace", "other") not in chart.values.bindings


def test_every_object_carries_the_standard_labels_by_default():
    chart = new_chart()
    AppNamespace(chart, "namespace", AppNamespaceProps(quota_requests_cpu="1", quota_requests_memory="1Gi"))
    ClusterRoleGrant(chart, "reader", ClusterRoleGrantProps(role_name="reader", rules=RULES)).grant("sa")
    for (kind, _), obj in synth(chart).items():
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "demo" and labels["helm.sh/chart"] == "demo-0.1.0", kind
        assert {"app.kubernetes.io/instance", "app.kubernetes.io/version", "app.kubernetes.io/component",
                "app.kubernetes.io/managed-by"} <= set(labels), kind


def test_the_namespace_object_is_optional():
    chart = new_chart()
    ns = AppNamespace(chart, "namespace", AppNamespaceProps(create_namespace=False))
    assert ns.namespace is None
    assert list(synth(chart)) == [("LimitRange", "container-defaults")]
    assert ("Namespace", "ns") not in chart.values.bindings


def test_quota_and_limit_range_names_do_not_embed_the_namespace():
    for namespace in ("ns", "other"):
        chart = new_chart()
        AppNamespace(chart, "namespace", AppNamespaceProps(name=namespace, quota_requests_cpu="1",
                                                           quota_requests_memory="1Gi"))
        names = {name for kind, name in synth(chart) if kind in ("ResourceQuota", "LimitRange")}
        assert names == {"requests-quota", "container-defaults"}
