"""TripGenPlatform: the namespace and the RBAC every TripGen service shares."""

from __future__ import annotations

from construct_helpers import new_chart, synth

from tripgen_cdk8s.tripgen.platform import READER_RULES, WRITER_RULES, PlatformProps, TripGenPlatform


def test_objects_in_order():
    chart = new_chart()
    platform = TripGenPlatform(chart, "platform", PlatformProps(
        namespace="ns", labels={"team": "platform"}, quota_requests_cpu="8", quota_requests_memory="16Gi",
        reader_service_accounts=("user-service-sa", "trip-service-sa")))
    assert platform.node.id == "platform" and len(platform.bindings) == 3
    objs = synth(chart)
    assert list(objs) == [
        ("Namespace", "ns"), ("ResourceQuota", "requests-quota"), ("LimitRange", "container-defaults"),
        ("ClusterRole", "ns-application-reader"), ("ClusterRole", "ns-application-writer"),
        ("ServiceAccount", "deployment-sa"), ("RoleBinding", "deployment-sa-application-writer-grant"),
        ("RoleBinding", "user-service-sa-application-reader-grant"), ("RoleBinding", "trip-service-sa-application-reader-grant")]
    assert objs[("ClusterRole", "ns-application-reader")]["rules"] == list(READER_RULES)
    assert objs[("ClusterRole", "ns-application-writer")]["rules"] == list(WRITER_RULES)
    sa = objs[("ServiceAccount", "deployment-sa")]
    assert sa["metadata"] == {"name": "deployment-sa", "namespace": "ns", "labels": {"team": "platform"}}
    assert sa["automountServiceAccountToken"] is False
    rb = objs[("RoleBinding", "deployment-sa-application-writer-grant")]
    assert rb["roleRef"]["name"] == "ns-application-writer"
    assert rb["subjects"] == [{"kind": "ServiceAccount", "name": "deployment-sa", "namespace": "ns"}]
    assert all(o["metadata"]["labels"]["team"] == "platform" for o in objs.values())


def test_without_quota_or_readers():
    chart = new_chart()
    TripGenPlatform(chart, "platform", PlatformProps(namespace="ns", pod_security="baseline"))
    objs = synth(chart)
    assert list(objs) == [
        ("Namespace", "ns"), ("LimitRange", "container-defaults"), ("ClusterRole", "ns-application-reader"),
        ("ClusterRole", "ns-application-writer"), ("ServiceAccount", "deployment-sa"),
        ("RoleBinding", "deployment-sa-application-writer-grant")]
    labels = objs[("Namespace", "ns")]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"
