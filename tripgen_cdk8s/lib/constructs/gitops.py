"""ArgoCD objects that deploy an environment's charts from git: an AppProject and Applications."""

from __future__ import annotations

from dataclasses import dataclass, field

import constructs

from ..errors import check_props
from ..helmchart import HelmChart, ManifestChart, Resource
from ..model import SyncWindow
from .autoscaled_service import Scalable

ARGO_API = "argoproj.io/v1alpha1"
IN_CLUSTER = "https://kubernetes.default.svc"
SYNC_WAVE = "argocd.argoproj.io/sync-wave"


def _chart(scope: constructs.Construct) -> HelmChart | ManifestChart:
    if isinstance(scope, (HelmChart, ManifestChart)):
        return scope
    return HelmChart.of(scope)


@dataclass(frozen=True)
class ResourceKind:
    """A (group, kind) pair for an AppProject whitelist; ``name`` (optional, cluster-scoped kinds
    only) restricts the entry to objects of that name (a glob in Go's ``filepath.Match`` syntax).
    Name restrictions need Argo CD 3.2 or later: an older Argo CD ignores the field and allows
    every object of the kind."""

    group: str
    kind: str
    name: str = ""


@dataclass(frozen=True)
class ArgoProjectProps:
    """The project's one source repository, one destination namespace, kinds and sync window."""

    name: str
    argocd_namespace: str
    repo_url: str
    destination_namespace: str
    labels: dict[str, str]
    namespaced_kinds: tuple[ResourceKind, ...]
    cluster_kinds: tuple[ResourceKind, ...] = ()
    sync_window: SyncWindow | None = None
    description: str = ""
    destination_server: str = IN_CLUSTER
    destination_name: str = ""
    source_repos: tuple[str, ...] = ()
    """Further sources besides ``repo_url`` (a Helm chart registry the Applications deploy from)."""


def destination(namespace: str, server: str, name: str) -> dict[str, str]:
    """An Argo CD destination: the cluster by ``name`` when given, else by its API ``server`` URL."""
    return {"name": name, "namespace": namespace} if name else {"server": server, "namespace": namespace}


class ArgoProject(constructs.Construct):
    """An ArgoCD ``AppProject``: the manifests repository as the only source, the environment
    namespace as the only destination, a whitelist of exactly the kinds the charts emit (cluster
    kinds restricted by name when :class:`ResourceKind` has one: Argo CD 3.2 or later), and an
    optional sync window."""

    def __init__(self, scope: constructs.Construct, id: str, props: ArgoProjectProps) -> None:
        super().__init__(scope, id)
        check_props(self, props)
        self.name = props.name

        def kinds(items: tuple[ResourceKind, ...]) -> list[dict[str, str]]:
            return [{"group": k.group, "kind": k.kind, **({"name": k.name} if k.name else {})}
                    for k in sorted(dict.fromkeys(items), key=lambda k: (k.group, k.kind, k.name))]

        spec: dict[str, object] = {
            "description": props.description,
            "sourceRepos": list(dict.fromkeys((props.repo_url, *props.source_repos))),
            "destinations": [destination(props.destination_namespace, props.destination_server, props.destination_name)],
            "clusterResourceWhitelist": kinds(props.cluster_kinds),
            "namespaceResourceWhitelist": kinds(props.namespaced_kinds),
        }
        if props.sync_window is not None:
            w = props.sync_window
            spec["syncWindows"] = [{"kind": w.kind, "schedule": w.schedule, "duration": w.duration,
                                    "applications": list(w.applications), "timeZone": w.time_zone,
                                    "manualSync": w.manual_sync}]
        self.api_object = Resource(_chart(scope), api_version=ARGO_API, kind="AppProject", name=props.name,
                                   namespace=props.argocd_namespace, labels=props.labels, body={"spec": spec})


@dataclass(frozen=True)
class ArgoApplicationProps:
    """One ArgoCD Application of a chart (or, for the root, of a directory of Applications)."""

    name: str
    project: ArgoProject
    argocd_namespace: str
    repo_url: str
    target_revision: str
    path: str
    destination_namespace: str
    labels: dict[str, str]
    sync_wave: int | None = None
    helm_release: str | None = None
    ignore_replicas_of: tuple[Scalable, ...] = ()
    ignore_replicas: tuple[tuple[str, str, str], ...] = ()
    sync_options: tuple[str, ...] = ("ServerSideApply=true", "RespectIgnoreDifferences=true")
    extra: dict[str, object] = field(default_factory=dict)
    destination_server: str = IN_CLUSTER
    destination_name: str = ""
    chart: str | None = None
    """A chart in a Helm repository (an OCI registry: ``repo_url`` without ``oci://``) instead of
    ``path`` in git; ``target_revision`` is then the chart's version."""


class ArgoApplication(constructs.Construct):
    """An ArgoCD ``Application``: automated sync with prune and selfHeal, server-side apply, and
    ``ignoreDifferences`` on ``/spec/replicas`` of exactly the autoscaled workloads given
    (``ignore_replicas_of``, or ``ignore_replicas`` as (apiVersion, kind, name)), so ArgoCD and the
    autoscaler never fight over the replica count."""

    def __init__(self, scope: constructs.Construct, id: str, props: ArgoApplicationProps) -> None:
        super().__init__(scope, id)
        check_props(self, props)
        self.name = props.name
        self.path = props.path
        source: dict[str, object] = {"repoURL": props.repo_url, "targetRevision": props.target_revision}
        if props.chart is not None:
            source["chart"] = props.chart
        else:
            source["path"] = props.path
        if props.helm_release is not None:
            source["helm"] = {"releaseName": props.helm_release, "valueFiles": ["values.yaml"]}
        spec: dict[str, object] = {
            "project": props.project.name,
            "source": source,
            "destination": destination(props.destination_namespace, props.destination_server, props.destination_name),
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True},
                           "syncOptions": list(props.sync_options)},
        }
        ignored = [*((w.workload_api_version, w.workload_kind, w.name) for w in props.ignore_replicas_of),
                   *props.ignore_replicas]
        if ignored:
            spec["ignoreDifferences"] = [
                {"group": api_version.split("/")[0] if "/" in api_version else "",
                 "kind": kind, "name": name, "jsonPointers": ["/spec/replicas"]}
                for api_version, kind, name in ignored]
        spec.update(props.extra)
        annotations = {SYNC_WAVE: str(props.sync_wave)} if props.sync_wave is not None else None
        self.api_object = Resource(_chart(scope), api_version=ARGO_API, kind="Application", name=props.name,
                                   namespace=props.argocd_namespace, labels=props.labels, annotations=annotations,
                                   finalizers=("resources-finalizer.argocd.argoproj.io",), body={"spec": spec})
