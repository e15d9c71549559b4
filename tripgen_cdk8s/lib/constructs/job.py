"""Job: a pod run to completion, optionally as a hook that runs before (or after) each sync."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import constructs

from ..errors import ConstructError
from ..helmchart import Resource
from .workload import PodProps, PodWorkload

ARGOCD_HOOK = "argocd.argoproj.io/hook"
ARGOCD_HOOK_DELETE_POLICY = "argocd.argoproj.io/hook-delete-policy"
ARGOCD_SYNC_WAVE = "argocd.argoproj.io/sync-wave"
HELM_HOOK = "helm.sh/hook"
HELM_HOOK_WEIGHT = "helm.sh/hook-weight"
HELM_HOOK_DELETE_POLICY = "helm.sh/hook-delete-policy"


@dataclass(frozen=True)
class Hook:
    """When a Job runs relative to a sync (use :meth:`pre_sync` / :meth:`post_sync`).

    Both tools are told: Argo CD (``argocd.argoproj.io/hook``, which it prefers over Helm's) and
    Helm (``helm.sh/hook``, for ``helm install`` / ``upgrade``).  A previous run is deleted just
    before the next is created (``BeforeHookCreation`` / ``before-hook-creation``), so its logs
    stay readable until then.  ``weight`` orders hooks of the same phase (default 0); the objects
    the Job's pods need (its ServiceAccount, ConfigMap and NetworkPolicy) are hooks of the same
    phase with ``weight - 1``, so they exist before the Job even on the very first sync, when none
    of the chart's other objects do yet.
    """

    argocd_phase: str
    helm_events: str
    weight: int = 0

    @staticmethod
    def pre_sync(weight: int = 0) -> Hook:
        """Before every sync: Argo CD ``PreSync``, Helm ``pre-install,pre-upgrade`` (a database migration)."""
        return Hook("PreSync", "pre-install,pre-upgrade", weight)

    @staticmethod
    def post_sync(weight: int = 0) -> Hook:
        """After every successful sync: Argo CD ``PostSync``, Helm ``post-install,post-upgrade`` (a smoke test)."""
        return Hook("PostSync", "post-install,post-upgrade", weight)

    def annotations(self, weight: int | None = None) -> dict[str, str]:
        """The hook annotations, with ``weight`` (default this hook's) as sync wave and hook weight."""
        w = str(self.weight if weight is None else weight)
        return {ARGOCD_HOOK: self.argocd_phase, ARGOCD_HOOK_DELETE_POLICY: "BeforeHookCreation", ARGOCD_SYNC_WAVE: w,
                HELM_HOOK: self.helm_events, HELM_HOOK_WEIGHT: w, HELM_HOOK_DELETE_POLICY: "before-hook-creation"}


@dataclass(frozen=True, kw_only=True)
class JobProps(PodProps):
    """A :class:`~tripgen_cdk8s.lib.constructs.workload.PodProps` pod run to completion.

    ``hook``: run as a :class:`Hook` (``Hook.pre_sync()`` for a migration); default None (a plain
    Job, created once).  ``backoff_limit``: retries; default 2.  ``active_deadline_seconds``: the
    time limit; default 1800.  ``ttl_seconds_after_finished``: default None (kept; a hook's is
    deleted before its next run).  ``restart_policy``: ``Never`` (default) or ``OnFailure``.
    ``writable_paths`` defaults to ``("/tmp",)``, ``component`` to ``job``.
    """

    hook: Hook | None = None
    backoff_limit: int = 2
    active_deadline_seconds: int = 1800
    ttl_seconds_after_finished: int | None = None
    restart_policy: str = "Never"


def job_spec(job: PodWorkload, props: JobProps) -> dict[str, Any]:
    """The Job spec of ``job`` (shared with CronJob's ``jobTemplate``)."""
    if props.restart_policy not in ("Never", "OnFailure"):
        raise ConstructError.of(job, "restart_policy", props.restart_policy, "Never or OnFailure")
    spec: dict[str, Any] = {"backoffLimit": props.backoff_limit, "activeDeadlineSeconds": props.active_deadline_seconds,
                            "template": job.pod_template(restartPolicy=props.restart_policy)}
    if props.ttl_seconds_after_finished is not None:
        spec["ttlSecondsAfterFinished"] = props.ttl_seconds_after_finished
    return spec


class Job(PodWorkload):
    """A ``batch/v1`` Job ``<name>`` with its ServiceAccount ``<name>-sa`` and ConfigMap
    ``<name>-config``, the same restricted pod as a service.  With a :class:`Hook` the Job and those
    objects (and a :class:`ServiceNetworkPolicy` of it) carry the hook annotations; a hook gets its
    own ServiceAccount and ConfigMap rather than sharing a service's, because a hook object is
    replaced on every run.  Values: ``<values_key>.image.*`` and ``<values_key>.resources.*``.
    """

    COMPONENT = "job"
    KIND = "Job"
    API_VERSION = "batch/v1"

    def __init__(self, scope: constructs.Construct, id: str, props: JobProps) -> None:
        super().__init__(scope, id, props)
        hook = props.hook
        if props.backoff_limit < 0:
            raise ConstructError.of(self, "backoff_limit", props.backoff_limit, "0 or more")
        self.job_props = props
        annotations = {**props.annotations, **(hook.annotations() if hook is not None else {})}
        self.workload = Resource(self.helm_chart, api_version=self.API_VERSION, kind=self.KIND, name=props.name,
                                 namespace=self.namespace, labels=self.labels, annotations=annotations,
                                 body=lambda: {"spec": job_spec(self, props)})

    def _support_annotations(self, props: PodProps) -> dict[str, str]:
        """A hook's ServiceAccount, ConfigMap and NetworkPolicy: the same hook, one weight earlier."""
        hook = props.hook if isinstance(props, JobProps) else None
        return hook.annotations(hook.weight - 1) if hook is not None else {}
