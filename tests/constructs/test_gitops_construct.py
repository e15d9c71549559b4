"""ArgoProject and ArgoApplication in a ManifestChart (plain manifests, no Helm)."""

from __future__ import annotations

import cdk8s
from construct_helpers import new_chart, services

from tripgen_cdk8s.lib.constructs import (
    ArgoApplication,
    ArgoApplicationProps,
    ArgoProject,
    ArgoProjectProps,
    AutoscaledService,
    AutoscaledServiceProps,
    ResourceKind,
    Strategy,
)
from tripgen_cdk8s.lib.helmchart import ManifestChart
from tripgen_cdk8s.lib.model import HorizontalScaling, SyncWindow

REPO = "https://git.example.com/manifests.git"


def manifests():
    return ManifestChart(cdk8s.Testing.app(), "argocd", description="ArgoCD objects")


def project(scope, **kw):
    return ArgoProject(scope, "project", ArgoProjectProps(
        name="tripgen", argocd_namespace="argocd", repo_url=REPO, destination_namespace="app", labels={"a": "b"},
        namespaced_kinds=(ResourceKind("apps", "Deployment"), ResourceKind("", "Service"), ResourceKind("", "ConfigMap")),
        **kw))


def by_key(chart):
    return {(o["kind"], o["metadata"]["name"]): o for o in chart.to_json()}


def test_project_whitelists_the_kinds_sorted_with_one_source_and_destination():
    m = manifests()
    p = project(m, cluster_kinds=(ResourceKind("", "Namespace"),), description="d")
    assert p.name == "tripgen"
    obj = by_key(m)[("AppProject", "tripgen")]
    assert obj["apiVersion"] == "argoproj.io/v1alpha1"
    assert obj["metadata"] == {"name": "tripgen", "namespace": "argocd", "labels": {"a": "b"}}
    assert obj["spec"] == {
        "description": "d", "sourceRepos": [REPO],
        "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "app"}],
        "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
        "namespaceResourceWhitelist": [{"group": "", "kind": "ConfigMap"}, {"group": "", "kind": "Service"},
                                       {"group": "apps", "kind": "Deployment"}]}


def test_project_sync_window():
    m = manifests()
    project(m, sync_window=SyncWindow("deny", "0 22 * * *", "8h", "Europe/Berlin"))
    assert by_key(m)[("AppProject", "tripgen")]["spec"]["syncWindows"] == [
        {"kind": "deny", "schedule": "0 22 * * *", "duration": "8h", "applications": ["*"],
         "timeZone": "Europe/Berlin", "manualSync": False}]


def test_application_sync_wave_finalizer_and_ignore_differences_of_scalable_workloads():
    chart = new_chart()
    service = services(chart)
    deployment, rollout = service("api"), service("worker", strategy=Strategy.canary())
    AutoscaledService(chart, "scale", AutoscaledServiceProps(deployment, HorizontalScaling(2, 4, 70, 80)))
    m = manifests()
    p = project(m)
    app = ArgoApplication(m, "app", ArgoApplicationProps(
        name="demo", project=p, argocd_namespace="argocd", repo_url=REPO, target_revision="main",
        path="charts/prod/demo", destination_namespace="app", labels={"a": "b"}, sync_wave=2, helm_release="demo",
        ignore_replicas_of=(deployment, rollout)))
    assert (app.name, app.path) == ("demo", "charts/prod/demo")
    obj = by_key(m)[("Application", "demo")]
    assert obj["metadata"]["annotations"] == {"argocd.argoproj.io/sync-wave": "2"}
    assert obj["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
    spec = obj["spec"]
    assert spec["project"] == "tripgen"
    assert spec["source"] == {"repoURL": REPO, "targetRevision": "main", "path": "charts/prod/demo",
                              "helm": {"releaseName": "demo", "valueFiles": ["values.yaml"]}}
    assert spec["destination"] == {"server": "https://kubernetes.default.svc", "namespace": "app"}
    assert spec["syncPolicy"] == {"automated": {"prune": True, "selfHeal": True},
                                  "syncOptions": ["ServerSideApply=true", "RespectIgnoreDifferences=true"]}
    assert spec["ignoreDifferences"] == [
        {"group": "apps", "kind": "Deployment", "name": "api", "jsonPointers": ["/spec/replicas"]},
        {"group": "argoproj.io", "kind": "Rollout", "name": "worker", "jsonPointers": ["/spec/replicas"]}]


def test_a_plain_application_has_no_wave_helm_or_ignore_differences():
    m = manifests()
    ArgoApplication(m, "root", ArgoApplicationProps(
        name="root", project=project(m), argocd_namespace="argocd", repo_url=REPO, target_revision="main",
        path="apps", destination_namespace="argocd", labels={}, sync_options=("CreateNamespace=false",),
        extra={"revisionHistoryLimit": 3}))
    obj = by_key(m)[("Application", "root")]
    assert "annotations" not in obj["metadata"]
    assert "helm" not in obj["spec"]["source"] and "ignoreDifferences" not in obj["spec"]
    assert obj["spec"]["syncPolicy"]["syncOptions"] == ["CreateNamespace=false"]
    assert obj["spec"]["revisionHistoryLimit"] == 3


def test_objects_can_be_placed_in_files():
    m = manifests()
    p = project(m)
    m.place(p.api_object, "project.yaml")
    assert m.files == {("AppProject", "tripgen"): "project.yaml"}
    assert [o["kind"] for o in m.to_json()] == ["AppProject"]


def test_an_application_of_a_chart_in_a_helm_repository_and_a_project_that_allows_it():
    m = manifests()
    p = project(m, source_repos=("registry.example/charts/prod", REPO))
    ArgoApplication(m, "app", ArgoApplicationProps(
        name="demo", project=p, argocd_namespace="argocd", repo_url="registry.example/charts/prod",
        target_revision="1.4.2", chart="demo", path="charts/prod/demo", destination_namespace="app", labels={},
        helm_release="demo"))
    objs = by_key(m)
    assert objs[("AppProject", "tripgen")]["spec"]["sourceRepos"] == [REPO, "registry.example/charts/prod"]
    assert objs[("Application", "demo")]["spec"]["source"] == {
        "repoURL": "registry.example/charts/prod", "chart": "demo", "targetRevision": "1.4.2",
        "helm": {"releaseName": "demo", "valueFiles": ["values.yaml"]}}
