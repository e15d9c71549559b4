"""StatefulService: a StatefulSet with volume claim templates and its headless Service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import constructs

from ..errors import ConstructError
from ..helmchart import Resource
from .workload import PodProps, PodWorkload


@dataclass(frozen=True)
class VolumeClaim:
    """A PersistentVolumeClaim template: ``name``, mounted at ``mount_path``, of ``size``
    (``10Gi``).  ``storage_class``: default the cluster's default class; ``access_modes``: default
    ``("ReadWriteOnce",)``."""

    name: str
    mount_path: str
    size: str
    storage_class: str = ""
    access_modes: tuple[str, ...] = ("ReadWriteOnce",)

    def to_json(self, labels: dict[str, str]) -> dict[str, Any]:
        """The ``volumeClaimTemplates`` entry."""
        spec: dict[str, Any] = {"accessModes": list(self.access_modes), "resources": {"requests": {"storage": self.size}}}
        if self.storage_class:
            spec["storageClassName"] = self.storage_class
        return {"metadata": {"name": self.name, "labels": dict(labels)}, "spec": spec}


@dataclass(frozen=True, kw_only=True)
class StatefulServiceProps(PodProps):
    """A :class:`~tripgen_cdk8s.lib.constructs.workload.PodProps` pod run as a StatefulSet.

    ``ports``: at least one (the headless Service's).  ``volume_claims``: the per-pod
    :class:`VolumeClaim` s; default none.  ``replicas``: default 1.  ``pod_management_policy``:
    ``OrderedReady`` (default) or ``Parallel``.  ``component`` defaults to ``database``.
    """

    volume_claims: tuple[VolumeClaim, ...] = ()
    replicas: int = 1
    pod_management_policy: str = "OrderedReady"


class StatefulService(PodWorkload):
    """A StatefulSet ``<name>`` with stable pod names ``<name>-0``... reached through the headless
    Service ``<name>-headless`` (``<name>-0.<name>-headless.<namespace>.svc``), one
    PersistentVolumeClaim per pod and claim template, its ServiceAccount and ConfigMap.  Scalable,
    connectable (:meth:`url` is the headless Service on the first port), schedulable.
    """

    COMPONENT = "database"
    KIND = "StatefulSet"

    def __init__(self, scope: constructs.Construct, id: str, props: StatefulServiceProps) -> None:
        super().__init__(scope, id, props)
        if not props.ports:
            raise ConstructError.of(self, "ports", props.ports, "at least one port (the headless Service's)")
        if props.pod_management_policy not in ("OrderedReady", "Parallel"):
            raise ConstructError.of(self, "pod_management_policy", props.pod_management_policy, "OrderedReady or Parallel")
        self._claim_mounts = [{"name": c.name, "mountPath": c.mount_path} for c in props.volume_claims]
        self.stateful_props = props
        self.headless_service_name = f"{props.name}-headless"
        chart = self.helm_chart
        self.service = Resource(chart, api_version="v1", kind="Service", name=self.headless_service_name,
                                namespace=self.namespace, labels=self.labels, body={"spec": {
                                    "clusterIP": "None", "publishNotReadyAddresses": True,
                                    "selector": dict(self.selector),
                                    "ports": [{"name": p.name, "port": p.port, "targetPort": p.name, "protocol": "TCP"}
                                              for p in props.ports]}})
        self.workload = Resource(chart, api_version=self.API_VERSION, kind=self.KIND, name=props.name,
                                 namespace=self.namespace, labels=self.labels, annotations=props.annotations,
                                 body=self._body)

    def url(self) -> str:
        """The headless Service's URL on the first port (any ready pod)."""
        return f"http://{self.headless_service_name}.{self.namespace}.svc.cluster.local:{self.port}"

    def main_container(self) -> dict[str, Any]:
        c = super().main_container()
        if self._claim_mounts:  # each claim template's volume, mounted
            c["volumeMounts"] = [*c.get("volumeMounts", []), *self._claim_mounts]
        return c

    def _declare_values(self) -> None:
        super()._declare_values()
        if not self.autoscaled:
            key = f"{self.values_key}.replicaCount"
            self.helm_chart.values.add(key, self.stateful_props.replicas, "Number of replicas (not autoscaled)", minimum=0)
            self.helm_chart.bind_value(self.workload, ("spec", "replicas"), key, self.stateful_props.replicas)

    def _body(self) -> dict[str, Any]:
        p = self.stateful_props
        spec: dict[str, Any] = {
            "serviceName": self.headless_service_name,
            "podManagementPolicy": p.pod_management_policy,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": dict(self.selector)},
            "updateStrategy": {"type": "RollingUpdate"},
            "template": self.pod_template(),
        }
        if p.volume_claims:
            spec["volumeClaimTemplates"] = [c.to_json(self.selector) for c in p.volume_claims]
        if not self.autoscaled:
            spec["replicas"] = p.replicas
        return {"spec": spec}
