"""PodWorkload: what Worker, Job, CronJob and StatefulService share (a ServiceAccount, a ConfigMap
consumed with ``envFrom``, one restricted main container, init containers and native sidecars,
connections, scheduling, and the Helm values of the container's image and resources).

Not exported as a construct of its own: subclasses produce the workload object and call
:meth:`PodWorkload.pod_template`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import constructs

from ..errors import ConstructError, check_props
from ..helmchart import HelmChart, Path, Resource, config_checksum, embeds_namespace
from ..labels import HELM_CHART, NAME, selector_labels, standard_labels
from ..model import Image, Resources
from .connections import KUBERNETES_API, Connectable, Connections
from .pod import (
    UID,
    Container,
    ContainerPort,
    EnvFrom,
    EnvValue,
    Probe,
    amounts,
    container_security_context,
    declare_container_values,
    empty_dirs,
    env_json,
    extra_containers,
    extra_volumes,
    pod_security_context,
    values_key,
)
from .scheduling import Scheduling


@dataclass(frozen=True, kw_only=True)
class PodProps:
    """The pod of a workload: ``name``, ``image`` and ``resources`` are required (keywords only).

    ``namespace``: default the chart's.  ``command`` / ``args``: default the image's.
    ``config``: settings rendered into the ``<name>-config`` ConfigMap and consumed with
    ``envFrom`` (its checksum is a pod annotation); default {}.  ``env``: variables from literal
    values, Secret keys or ConfigMap keys (:class:`EnvValue`); default none.  ``env_from``: whole
    Secrets / ConfigMaps (:class:`EnvFrom`); default none.  ``ports``: named container ports;
    default none.  ``liveness`` / ``readiness`` / ``startup``: :class:`Probe` s; default none.
    ``init_containers`` and ``sidecars`` (native: ``restartPolicy: Always``): :class:`Container` s;
    default none.  ``writable_paths``: emptyDir mounts (the root filesystem is read-only); default
    ``("/tmp",)``.  ``part_of``: the ``app.kubernetes.io/part-of`` label; default none.
    ``component``: default the kind's (``worker``, ``job``...).  ``pod_labels`` and ``annotations``
    (of the workload object): default none.  ``kubernetes_api_access``: mount a service-account
    token; default False.  ``termination_grace_period_seconds``: default 30.
    ``image_pull_secrets``: default none.  ``run_as_user``: UID and GID; default 10001.
    ``values_key``: the Helm values key of the image and resources (``<key>.image.tag``); default
    the name in camelCase.
    """

    name: str
    image: Image
    resources: Resources
    namespace: str = ""
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    config: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, EnvValue] = field(default_factory=dict)
    env_from: tuple[EnvFrom, ...] = ()
    ports: tuple[ContainerPort, ...] = ()
    liveness: Probe | None = None
    readiness: Probe | None = None
    startup: Probe | None = None
    init_containers: tuple[Container, ...] = ()
    sidecars: tuple[Container, ...] = ()
    writable_paths: tuple[str, ...] = ("/tmp",)
    part_of: str = ""
    component: str = ""
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    kubernetes_api_access: bool = False
    termination_grace_period_seconds: int = 30
    image_pull_secrets: tuple[str, ...] = ()
    run_as_user: int = UID
    values_key: str = ""


class PodWorkload(constructs.Construct):
    """The shared part of the pod workloads (see the module docstring).

    Public objects: :attr:`service_account` and :attr:`config_map` (plus the subclass's
    :attr:`workload`); use their ``add_json_patch`` for fields no prop covers.
    """

    COMPONENT = "workload"
    KIND = "Deployment"
    API_VERSION = "apps/v1"
    CONTAINER: Path = ("spec", "template", "spec", "containers", 0)
    workload: Resource
    """The workload object (Deployment, Job, CronJob, StatefulSet), set by the subclass."""

    def __init__(self, scope: constructs.Construct, id: str, props: PodProps) -> None:
        super().__init__(scope, id)
        check_props(self, props)
        for p in props.ports:
            if not 1 <= p.port <= 65535:
                raise ConstructError.of(self, "ports", p.port, "a port between 1 and 65535")
        names = [c.name for c in (*props.init_containers, *props.sidecars)] + [props.name]
        if len(set(names)) != len(names):
            raise ConstructError.of(self, "sidecars", names, "container names must be unique")
        self.props = props
        self.name = props.name
        chart = HelmChart.of(scope)
        self.helm_chart = chart
        self.namespace = props.namespace or chart.target_namespace
        self.labels = standard_labels(name=props.name, instance=chart.chart_name, version=chart.app_version,
                                      component=props.component or self.COMPONENT, part_of=props.part_of,
                                      chart=f"{chart.chart_name}-{chart.chart_version}")
        self.selector = selector_labels(name=props.name, instance=chart.chart_name)
        # no helm.sh/chart on the pods: a chart version bump alone must not change the pod template
        # (it would restart every pod, and start a blue-green rollout)
        self.pod_labels: dict[str, str] = {**{k: v for k, v in self.labels.items() if k != HELM_CHART}, **props.pod_labels}
        self.config: dict[str, str] = dict(props.config)
        self.support_annotations: dict[str, str] = self._support_annotations(props)
        """Annotations of the objects the pods need first (ServiceAccount, ConfigMap, their
        NetworkPolicy): a hook's lower weight, for a Job run as a hook."""
        self.connections = Connections(self, on_call=self._add_callee_url)
        self.scheduling = Scheduling(self.selector, owner=self)
        self.autoscaled = False
        self.workload_kind = self.KIND
        self.workload_api_version = self.API_VERSION
        self.values_key = props.values_key or values_key(props.name)
        self.service_account_name = f"{props.name}-sa"
        self.config_map_name = f"{props.name}-config"
        self._volumes = empty_dirs(props.writable_paths)
        ns = self.namespace
        self.service_account = Resource(chart, api_version="v1", kind="ServiceAccount", name=self.service_account_name,
                                        body={"automountServiceAccountToken": props.kubernetes_api_access},
                                        namespace=ns, labels=self.labels, annotations=self.support_annotations)
        self.config_map = Resource(chart, api_version="v1", kind="ConfigMap", name=self.config_map_name,
                                   body=lambda: {"data": dict(sorted(self.config.items()))}, namespace=ns,
                                   labels=self.labels, annotations=self.support_annotations)
        if props.kubernetes_api_access:
            self.connections.uses(KUBERNETES_API)
        chart.on_synth(self._declare_values)
        chart.on_synth(self._annotate_features)

    def _annotate_features(self) -> None:
        workload = getattr(self, "workload", None)
        if workload is not None:
            self.connections.annotate(workload.annotations)

    def _support_annotations(self, props: PodProps) -> dict[str, str]:
        """The annotations of the objects the pods need first; none unless the kind runs as a hook."""
        return {}

    # ------------------------------------------------------------------ intents

    @property
    def port(self) -> int | None:
        """The first container port, or None for a workload without one."""
        return self.props.ports[0].port if self.props.ports else None

    @property
    def peer_labels(self) -> dict[str, str]:
        """The labels other workloads' NetworkPolicies select this one's pods by."""
        return {NAME: self.name}

    def url(self) -> str:
        """The in-cluster URL of the workload's first port (a workload without a Service has none)."""
        raise ConstructError.of(self, "ports", self.props.ports, f"{self.KIND} {self.name} has no Service to call")

    def _add_callee_url(self, peer: Connectable) -> None:
        try:
            self.add_config(f"{peer.name.upper().replace('-', '_')}_URL", peer.url())
        except ConstructError:
            pass  # a peer without a Service: the egress rule is enough

    def add_config(self, key: str, value: str) -> None:
        """Add a setting to the ConfigMap (and so to the main container's environment)."""
        if key in self.config and self.config[key] != value:
            raise ConstructError.of(self, f"config.{key}", value, f"already set to {self.config[key]!r}")
        self.config[key] = value

    def add_volume(self, volume: dict[str, Any], mount: dict[str, Any]) -> None:
        """Add a pod volume and mount it into the main container."""
        if any(v["name"] == volume["name"] for v, _ in self._volumes):
            raise ConstructError.of(self, "volumes", volume["name"], "each volume name once")
        self._volumes.append((volume, mount))

    def mark_has_autoscaler(self) -> None:
        """An autoscaler owns the replica count (``spec.replicas`` left out); a second is refused."""
        if self.autoscaled:
            raise ConstructError.of(self, "autoscaler", self.name, "it already has an autoscaler (exactly one per workload)")
        self.autoscaled = True

    def config_checksum(self) -> str:
        """sha256 of the ConfigMap's data as produced (after any JSON patch on it)."""
        return config_checksum(self.config_map.to_json())

    # ------------------------------------------------------------------ synthesis

    def _declare_values(self) -> None:
        chart = self.helm_chart
        declare_container_values(chart, self.workload, self.CONTAINER, self.values_key, self.props.image,
                                 self.props.resources, f"{self.KIND} {self.name}")
        # last, once every construct has added its config: the checksum Helm computes from the rendered ConfigMap
        chart.on_synth(lambda: chart.bind_config_checksum(
            self.workload, (*self.CONTAINER[:-3], "metadata", "annotations", "checksum/config"), self.config_map,
            self.config_checksum()))
        for key, value in sorted(self.config.items()):
            if embeds_namespace(value, self.namespace):
                chart.bind_namespace(self.config_map, ("data", key), value)

    def main_container(self) -> dict[str, Any]:
        """The main container, restricted."""
        p = self.props
        c: dict[str, Any] = {"name": p.name, "image": p.image.reference, "imagePullPolicy": p.image.pull_policy}
        if p.command:
            c["command"] = list(p.command)
        if p.args:
            c["args"] = list(p.args)
        if p.ports:
            c["ports"] = [{"name": x.name, "containerPort": x.port, "protocol": "TCP"} for x in p.ports]
        c["envFrom"] = [{"configMapRef": {"name": self.config_map_name}}] + [e.to_json() for e in p.env_from]
        if p.env:
            c["env"] = env_json(p.env)
        for key, probe in (("startupProbe", p.startup), ("livenessProbe", p.liveness), ("readinessProbe", p.readiness)):
            if probe is not None:
                c[key] = probe.to_json()
        c["resources"] = {"requests": amounts(p.resources.requests), "limits": amounts(p.resources.limits)}
        c["securityContext"] = container_security_context(p.run_as_user)
        c["terminationMessagePolicy"] = "FallbackToLogsOnError"
        if self._volumes:
            c["volumeMounts"] = [dict(m) for _, m in self._volumes]
        return c

    def pod_spec(self, **extra: Any) -> dict[str, Any]:
        """The pod spec: restricted, its own ServiceAccount, no token unless asked; ``extra`` fields
        (``restartPolicy``) added."""
        p = self.props
        spec: dict[str, Any] = {
            "serviceAccountName": self.service_account_name,
            "automountServiceAccountToken": p.kubernetes_api_access,
            "terminationGracePeriodSeconds": p.termination_grace_period_seconds,
            "enableServiceLinks": False,
            "securityContext": pod_security_context(p.run_as_user),
            "containers": [self.main_container()],
            **extra,
            **self.scheduling.pod_spec_fields(),
        }
        if p.init_containers or p.sidecars:
            spec["initContainers"] = extra_containers(p.init_containers, p.sidecars, p.run_as_user)
        volumes = [dict(v) for v, _ in self._volumes]
        volumes += [v for v in extra_volumes(p.init_containers, p.sidecars) if all(v["name"] != w["name"] for w in volumes)]
        if volumes:
            spec["volumes"] = volumes
        if p.image_pull_secrets:
            spec["imagePullSecrets"] = [{"name": n} for n in p.image_pull_secrets]
        return spec

    def pod_template(self, **extra: Any) -> dict[str, Any]:
        """The pod template: labels, the config checksum annotation, :meth:`pod_spec`."""
        return {"metadata": {"labels": dict(self.pod_labels), "annotations": {"checksum/config": self.config_checksum()}},
                "spec": self.pod_spec(**extra)}
