"""Worker: a Deployment without a Service (a queue consumer, a scheduler loop)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import constructs

from ..errors import ConstructError
from ..helmchart import Resource
from .strategy import RollingStrategy, Strategy
from .workload import PodProps, PodWorkload


@dataclass(frozen=True, kw_only=True)
class WorkerProps(PodProps):
    """A :class:`~tripgen_cdk8s.lib.constructs.workload.PodProps` pod run as a Deployment.

    ``replicas``: the fixed count when nothing autoscales it; default 1.  ``strategy``: a
    ``Strategy.rolling()`` (default).  ``component`` defaults to ``worker``.  Probes are optional
    (``Probe.exec`` for a worker without a port).
    """

    replicas: int = 1
    strategy: RollingStrategy = field(default_factory=Strategy.rolling)


class Worker(PodWorkload):
    """A Deployment ``<name>`` with its ServiceAccount ``<name>-sa`` and ConfigMap
    ``<name>-config``, and no Service.  Scalable (:class:`AutoscaledService` with KEDA's queue
    triggers), connectable (``connections.allow_to(...)``; nothing can call it without a port) and
    schedulable.  Values: ``<values_key>.image.*``, ``<values_key>.resources.*`` and, when not
    autoscaled, ``<values_key>.replicaCount``.
    """

    COMPONENT = "worker"

    def __init__(self, scope: constructs.Construct, id: str, props: WorkerProps) -> None:
        super().__init__(scope, id, props)
        if props.replicas < 0:
            raise ConstructError.of(self, "replicas", props.replicas, "0 or more")
        self.worker_props = props
        self.workload = Resource(self.helm_chart, api_version=self.API_VERSION, kind=self.KIND, name=props.name,
                                 namespace=self.namespace, labels=self.labels, annotations=props.annotations,
                                 body=self._body)

    def _declare_values(self) -> None:
        super()._declare_values()
        if not self.autoscaled:
            key = f"{self.values_key}.replicaCount"
            self.helm_chart.values.add(key, self.worker_props.replicas, "Number of replicas (not autoscaled)", minimum=0)
            self.helm_chart.bind_value(self.workload, ("spec", "replicas"), key, self.worker_props.replicas)

    def _body(self) -> dict[str, Any]:
        s = self.worker_props.strategy
        spec: dict[str, Any] = {
            "revisionHistoryLimit": s.revision_history_limit,
            "progressDeadlineSeconds": s.progress_deadline_seconds,
            "selector": {"matchLabels": dict(self.selector)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": s.max_surge,
                                                                   "maxUnavailable": s.max_unavailable}},
            "template": self.pod_template(),
        }
        if not self.autoscaled:
            spec["replicas"] = self.worker_props.replicas
        return {"spec": spec}
