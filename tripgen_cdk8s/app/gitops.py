"""The Argo CD manifests of an environment, for every app: ``charts/<env>/argocd/``.

``bootstrap.yaml`` holds the AppProject of the charts (the manifests repository as its only
source, the environment's namespace on the configured cluster as its only destination, a whitelist
of exactly the kinds the charts emit, cluster-scoped objects by name, which needs Argo CD 3.2 or
later; the sync window), a small AppProject for the app of apps, and
the root Application; ``applications/<chart>.yaml`` one child Application per chart with its sync
wave and ``ignoreDifferences`` on ``/spec/replicas`` of exactly the workloads an autoscaler owns
(found in the chart's objects).  One ``kubectl apply -f charts/<env>/argocd/bootstrap.yaml``
bootstraps an environment.

With ``GitOps.chart_registry`` (``oci://HOST/PATH``), each chart's Application deploys the chart
``tripgen publish`` pushed there (``repoURL: HOST/PATH/<env>``, Argo CD's form for a Helm repository
in an OCI registry, with ``chart`` and ``targetRevision`` the chart's name and version) and the
AppProject lists that registry among its sources; the root Application stays on git.
"""

from __future__ import annotations

from typing import Any

import cdk8s

from ..lib.constructs import ArgoApplication, ArgoApplicationProps, ArgoProject, ArgoProjectProps, ResourceKind
from ..lib.helmchart import ChartValues, ManifestChart, SynthesizedChart
from ..lib.labels import standard_labels
from .model import Project
from .publish import parse_registry

GITOPS_DIR = "argocd"
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                  "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "PriorityClass", "StorageClass"}
SCALERS = {"HorizontalPodAutoscaler": ("spec", "scaleTargetRef"), "ScaledObject": ("spec", "scaleTargetRef")}


def is_cluster_scoped(obj: dict[str, Any]) -> bool:
    """Whether ``obj`` is a cluster-scoped object (a Namespace, a ClusterRole...)."""
    return obj["kind"] in CLUSTER_SCOPED


def kinds(charts: list[SynthesizedChart]) -> list[tuple[ResourceKind, bool]]:
    """(group, kind) of every namespaced object the charts emit, and (group, kind, name) of every
    cluster-scoped one, with whether it is namespaced: the AppProject allows exactly those
    cluster objects by name (Argo CD 3.2 or later), not every object of their kind."""
    found = set()
    for chart in charts:
        for obj in chart.objects:
            api_version, kind = obj["apiVersion"], obj["kind"]
            group = api_version.split("/")[0] if "/" in api_version else ""
            if is_cluster_scoped(obj):
                found.add((ResourceKind(group, kind, obj["metadata"]["name"]), False))
            else:
                found.add((ResourceKind(group, kind), True))
    return sorted(found, key=lambda x: (x[0].group, x[0].kind, x[0].name))


def project_name(project: Project, charts: list[SynthesizedChart]) -> str:
    """The AppProject of the charts: ``gitops.project``, else ``<app>-<env>`` (each environment its
    own project, so two environments of an app can be bootstrapped in one Argo CD)."""
    g = project.gitops
    assert g is not None
    return g.project or f"{app_name(project, charts)}-{project.name}"


def autoscaled(objects: list[dict[str, Any]]) -> tuple[tuple[str, str, str], ...]:
    """(apiVersion, kind, name) of every workload an HPA or a KEDA ScaledObject scales."""
    out = []
    for obj in objects:
        if obj.get("kind") in SCALERS:
            ref = (obj.get("spec") or {}).get("scaleTargetRef") or {}
            out.append((str(ref.get("apiVersion", "apps/v1")), str(ref.get("kind", "Deployment")), str(ref["name"])))
    return tuple(dict.fromkeys(out))


def app_name(project: Project, charts: list[SynthesizedChart]) -> str:
    """The app's name: ``project.app``, else the namespace of the first chart."""
    return project.app or project.namespace or (charts[0].namespace if charts else project.name)


def gitops_chart(project: Project, charts: list[SynthesizedChart]) -> SynthesizedChart:
    """The environment's Argo CD objects as a plain manifest set (no Helm)."""
    g = project.gitops
    assert g is not None
    env = project.name
    app = app_name(project, charts)
    namespace = project.namespace or charts[0].namespace
    version = project.version or charts[0].version
    title = project.description or app
    argo_project = project_name(project, charts)
    server, cluster = g.destination.server, g.destination.name
    scope = cdk8s.App()
    out = ManifestChart(scope, GITOPS_DIR, description=f"ArgoCD project and applications of {app}-{env}")
    labels = standard_labels(name=app, instance=f"{app}-{env}", version=version, component="gitops",
                             chart=f"{GITOPS_DIR}-{version}", part_of=app)
    labels["app.kubernetes.io/managed-by"] = "tripgen-cdk8s"
    del labels["helm.sh/chart"]
    found = kinds(charts)
    registry = parse_registry(g.chart_registry, "gitops.chart_registry") if g.chart_registry else None
    chart_repo = registry.argocd_repo_url(env) if registry else ""
    chart_project = ArgoProject(out, "project", ArgoProjectProps(
        name=argo_project, argocd_namespace=g.argocd_namespace, repo_url=g.repo_url,
        destination_namespace=namespace, labels=labels,
        namespaced_kinds=tuple(k for k, namespaced in found if namespaced),
        cluster_kinds=tuple(k for k, namespaced in found if not namespaced),
        sync_window=g.sync_window, destination_server=server, destination_name=cluster,
        description=f"{title} {env}: the charts " + (f"in {registry.env_url(env)}" if registry
                                                     else f"under {g.charts_path}/{env}/"),
        source_repos=(chart_repo,) if chart_repo else ()))
    bootstrap = ArgoProject(out, "bootstrap-project", ArgoProjectProps(
        name=f"{argo_project}-apps", argocd_namespace=g.argocd_namespace, repo_url=g.repo_url,
        destination_namespace=g.argocd_namespace, labels=labels,
        namespaced_kinds=(ResourceKind("argoproj.io", "Application"),),
        description=f"{title} {env}: the app-of-apps that creates the chart Applications"))
    root = ArgoApplication(out, "root", ArgoApplicationProps(
        name=f"{app}-{env}", project=bootstrap, argocd_namespace=g.argocd_namespace, repo_url=g.repo_url,
        target_revision=g.target_revision, path=f"{g.charts_path}/{env}/{GITOPS_DIR}/applications",
        destination_namespace=g.argocd_namespace, labels=labels, sync_options=("ServerSideApply=true",)))
    for obj in (chart_project.api_object, bootstrap.api_object, root.api_object):
        out.place(obj, "bootstrap.yaml")
    for chart in charts:
        child = ArgoApplication(out, f"app-{chart.name}", ArgoApplicationProps(
            name=f"{app}-{env}-{chart.name}", project=chart_project, argocd_namespace=g.argocd_namespace,
            repo_url=chart_repo or g.repo_url, target_revision=chart.version if registry else g.target_revision,
            chart=chart.name if registry else None, path=f"{g.charts_path}/{env}/{chart.name}",
            destination_namespace=chart.namespace, labels=labels, helm_release=chart.name,
            sync_wave=g.waves.get(chart.name, g.default_wave), ignore_replicas=autoscaled(chart.objects),
            destination_server=server, destination_name=cluster))
        out.place(child.api_object, f"applications/{chart.name}.yaml")
    return SynthesizedChart(env=env, name=out.chart_name, version=version, app_version=version,
                            description=out.description, namespace=g.argocd_namespace, objects=list(out.to_json()),
                            values=ChartValues(), notes=[], files=dict(out.files))
