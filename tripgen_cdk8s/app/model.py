"""The application model every app shares: one environment of an app as data.

An overlay (``overlays/<env>/config.py``) defines ``config``: a :class:`Project` (or an app layer's
own config object that turns itself into one with ``to_project()``, as TripGen's ``Environment``
does).  Everything environment-level is here, as data named in config and never inferred from an
environment's name: the guardrails, the GitOps settings (Argo CD project, app of apps, sync waves
and windows, destination cluster), the node pool the capacity report and check use.  This module
knows nothing of cdk8s (the ``build`` function does), of files, or of any one app.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..lib.model import SEMVER_TAG as SEMVER_TAG  # the default of Guardrails.release_tag_pattern
from ..lib.model import ChartMetadata, SyncWindow

if TYPE_CHECKING:  # cdk8s starts the jsii runtime: imported only when a project is synthesised
    import cdk8s

IN_CLUSTER = "https://kubernetes.default.svc"
IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
"""A well-formed image tag (what a registry accepts)."""
DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
"""An image digest."""


@dataclass(frozen=True)
class Guardrails:
    """Rules an environment enforces on its own objects, at synth (exit 2, one line naming the field
    and the guardrail) and in ``validate``.  The defaults enforce nothing beyond validity.

    ``immutable_image_tags``: every image is pinned by a digest or its tag matches
    ``release_tag_pattern`` (a regular expression; default :data:`SEMVER_TAG`), so ``latest``,
    ``nightly`` or ``edge`` never reach the environment; default False.
    ``require_digest``: every image is pinned by a digest (``@sha256:...``); default False.
    ``min_replicas``: the replica floor of every long-running workload (its ``replicas``, or the
    minimum of its autoscaler); default 1.
    ``require_default_deny``: the namespace has a default-deny NetworkPolicy selecting every pod;
    default False.
    ``require_pdb``: every autoscaled workload has a PodDisruptionBudget; default False.
    ``require_resources``: every container has CPU and memory requests and limits; default False.
    ``require_probes``: every container of a long-running workload has liveness and readiness
    probes (Jobs and CronJobs are exempt); default False.
    ``enforce_in_cluster``: also emit the per-object guardrails (image tags, digests, resources,
    probes) as a ValidatingAdmissionPolicy and binding for the namespace
    (:class:`~tripgen_cdk8s.lib.constructs.guardrail_policy.GuardrailPolicy`), so the API server
    refuses a workload that breaks one; needs a Kubernetes minimum of 1.30 or later (the charts'
    ``HelmChartProps.kubernetes``); default False.  docs/admission-policies.md.
    """

    immutable_image_tags: bool = False
    release_tag_pattern: str = SEMVER_TAG
    require_digest: bool = False
    min_replicas: int = 1
    require_default_deny: bool = False
    require_pdb: bool = False
    require_resources: bool = False
    require_probes: bool = False
    enforce_in_cluster: bool = False


@dataclass(frozen=True)
class Destination:
    """The cluster Argo CD deploys to: its API ``server`` URL (default the cluster Argo CD runs
    in) or, instead, the ``name`` of a cluster registered in Argo CD."""

    server: str = IN_CLUSTER
    name: str = ""


@dataclass(frozen=True)
class GitOps:
    """How Argo CD deploys the environment from git: ``repo_url`` and ``target_revision`` of the
    manifests repository, the ``argocd_namespace``, the AppProject name ``project`` (default
    ``<app>-<env>``, so each environment has its own project and two can share one Argo CD), the
    ``destination`` cluster, an optional ``sync_window``, the sync wave of each
    chart (``waves``, by chart name; others get ``default_wave``) and ``charts_path``, the
    repository path that holds ``<env>/<chart>/`` (default ``charts``).

    ``chart_registry``: ``oci://HOST/PATH``, where ``tripgen publish`` pushes the charts; when set,
    each chart's Application deploys the published chart (``repoURL: HOST/PATH/<env>``, ``chart:``
    its name, ``targetRevision:`` its version) instead of the git path, and the AppProject allows
    that registry as a source.  The root Application (the app of apps) stays on git.  Default ""
    (deploy from git)."""

    repo_url: str
    target_revision: str = "main"
    argocd_namespace: str = "argocd"
    project: str = ""
    destination: Destination = field(default_factory=Destination)
    sync_window: SyncWindow | None = None
    waves: Mapping[str, int] = field(default_factory=dict)
    default_wave: int = 1
    charts_path: str = "charts"
    chart_registry: str = ""


@dataclass(frozen=True)
class NodePool:
    """The nodes the environment's pods run on, for the capacity report and check: at most
    ``max_nodes`` nodes of ``allocatable_cpu`` / ``allocatable_memory`` each.  ``name`` is shown in
    reports."""

    name: str
    max_nodes: int
    allocatable_cpu: str
    allocatable_memory: str


@dataclass(frozen=True)
class Project:
    """One environment of an app: ``name`` (``charts/<name>/``) and ``build``, which adds the
    environment's HelmCharts to the cdk8s App it is given.

    Optional, with their defaults:
    ``app``: the application's name (the ``part-of`` label of the GitOps objects, the Argo CD
    names ``<app>-<env>-<chart>``); default the namespace of the first chart.
    ``namespace``: the namespace the environment deploys to; default the first chart's.
    ``version``: the version label of the environment-level objects; default the first chart's.
    ``guardrails``: :class:`Guardrails`; default none enforced.
    ``gitops``: :class:`GitOps`; default None (no ``argocd/`` manifests).
    ``node_pool``: :class:`NodePool` for the capacity report and check; default None (no capacity
    section in the environment README).
    ``readme``: write ``charts/<env>/README.md`` (services, capacity, topology); default True.
    ``overrides``: an app layer's own ``--set`` (returns the Project with the overrides applied,
    validated against the app's config); default None, where ``--set CHART.KEY=VALUE`` sets the
    chart's Helm value and re-renders exactly the fields bound to it.
    ``description``: a sentence about the app for generated descriptions; default the app name.
    ``chart_metadata``: :class:`~tripgen_cdk8s.lib.helmchart.ChartMetadata` (``home``, ``sources``,
    ``maintainers`` of every chart's Chart.yaml, unless a chart's props set its own); default None.
    """

    name: str
    build: Callable[[cdk8s.App], Any]
    app: str = ""
    namespace: str = ""
    version: str = ""
    guardrails: Guardrails = field(default_factory=Guardrails)
    gitops: GitOps | None = None
    node_pool: NodePool | None = None
    readme: bool = True
    overrides: Callable[[tuple[str, ...]], Project] | None = None
    description: str = ""
    warnings: tuple[str, ...] = ()
    chart_metadata: ChartMetadata | None = None


@runtime_checkable
class ProjectSource(Protocol):
    """An app layer's own config that turns into a :class:`Project` (TripGen's ``Environment``)."""

    name: str

    def to_project(self) -> Project:
        """The environment as a Project."""


DNS_LABEL = re.compile(r"^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
