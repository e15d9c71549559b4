"""CronJob: a Job on a schedule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import constructs

from ..errors import ConstructError
from ..helmchart import Resource
from .job import JobProps, job_spec
from .workload import PodWorkload


@dataclass(frozen=True, kw_only=True)
class CronJobProps(JobProps):
    """A :class:`JobProps` pod run on ``schedule`` (cron syntax, required).

    ``time_zone``: an IANA zone; default ``Etc/UTC``.  ``concurrency_policy``: ``Forbid``
    (default), ``Allow`` or ``Replace``.  ``successful_jobs_history_limit`` 3 and
    ``failed_jobs_history_limit`` 1.  ``starting_deadline_seconds``: default 300.  ``suspend``:
    default False.  ``hook`` is not allowed (a schedule is not a sync).
    """

    schedule: str
    time_zone: str = "Etc/UTC"
    concurrency_policy: str = "Forbid"
    successful_jobs_history_limit: int = 3
    failed_jobs_history_limit: int = 1
    starting_deadline_seconds: int = 300
    suspend: bool = False


class CronJob(PodWorkload):
    """A ``batch/v1`` CronJob ``<name>`` with its ServiceAccount and ConfigMap, the same restricted
    pod as a service.  Values: ``<values_key>.image.*``, ``<values_key>.resources.*``."""

    COMPONENT = "cronjob"
    KIND = "CronJob"
    API_VERSION = "batch/v1"
    CONTAINER = ("spec", "jobTemplate", "spec", "template", "spec", "containers", 0)

    def __init__(self, scope: constructs.Construct, id: str, props: CronJobProps) -> None:
        super().__init__(scope, id, props)
        if props.hook is not None:
            raise ConstructError.of(self, "hook", props.hook, "None: a CronJob runs on its schedule, not on a sync")
        if len(props.schedule.split()) != 5 and not props.schedule.startswith("@"):
            raise ConstructError.of(self, "schedule", props.schedule, "five cron fields or a macro such as @daily")
        if props.concurrency_policy not in ("Allow", "Forbid", "Replace"):
            raise ConstructError.of(self, "concurrency_policy", props.concurrency_policy, "Allow, Forbid or Replace")
        self.cron_props = props
        self.workload = Resource(self.helm_chart, api_version=self.API_VERSION, kind=self.KIND, name=props.name,
                                 namespace=self.namespace, labels=self.labels, annotations=props.annotations,
                                 body=self._body)

    def _body(self) -> dict[str, Any]:
        p = self.cron_props
        return {"spec": {
            "schedule": p.schedule, "timeZone": p.time_zone, "concurrencyPolicy": p.concurrency_policy,
            "successfulJobsHistoryLimit": p.successful_jobs_history_limit,
            "failedJobsHistoryLimit": p.failed_jobs_history_limit,
            "startingDeadlineSeconds": p.starting_deadline_seconds, "suspend": p.suspend,
            "jobTemplate": {"metadata": {"labels": dict(self.labels)}, "spec": job_spec(self, p)}}}
