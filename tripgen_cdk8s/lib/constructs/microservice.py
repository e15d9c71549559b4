"""MicroService: one HTTP service as ServiceAccount, ConfigMap, workload and Service."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import constructs

from ..errors import ConstructError, check_props
from ..helmchart import HelmChart, Resource, config_checksum, embeds_namespace
from ..labels import HELM_CHART, NAME, selector_labels, standard_labels
from ..model import Image, Resources, SecretFile
from ..quantities import BYTES_ALLOWED, BYTES_PATTERN, CPU_ALLOWED, CPU_PATTERN
from .connections import KUBERNETES_API, Connectable, Connections
from .pod import Container, EnvFrom, EnvValue, env_json, extra_containers, extra_volumes
from .scheduling import Scheduling
from .strategy import AnyStrategy, BlueGreenStrategy, CanaryStrategy, RollingStrategy, Strategy

HTTP_PORT = 8080
"""The default HTTP port of a MicroService (``MicroServiceProps.port``)."""
UID = 10001
SECRETS_MOUNT = "/mnt/secrets"
"""Where secret files are mounted (:meth:`MicroService.add_secret_file`, Key Vault CSI volumes)."""
SECRETS_VOLUME = "secrets"


@dataclass(frozen=True)
class MicroServiceProps:
    """What a MicroService needs: ``name``, ``image`` and ``resources``; everything else has a default.

    ``namespace``: default the chart's namespace.
    ``port``: the container's HTTP port (named ``http``) and the Service's port; default 8080.
    ``liveness_path`` / ``readiness_path``: the HTTP probe paths; default ``/healthz`` and
    ``/readyz`` (the startup probe uses the liveness path).
    ``replicas``: the fixed replica count when nothing autoscales the service; default 1.
    ``writable_paths``: emptyDir mounts (the root filesystem is read-only); default ``("/tmp",)``.
    ``config``: the non-secret environment, rendered into the ``<name>-config`` ConfigMap; default {}.
    ``strategy``: :class:`~tripgen_cdk8s.lib.constructs.strategy.Strategy`; default ``Strategy.rolling()``.
    ``part_of``: the ``app.kubernetes.io/part-of`` label; default none.  ``component``: default ``backend``.
    ``pod_labels``: extra pod labels; default none.  ``workload_annotations``: annotations of the
    Deployment/Rollout (checkov waivers, say); default none.
    ``kubernetes_api_access``: mount a service-account token; default False.
    ``termination_grace_period_seconds`` (45) and ``pre_stop_sleep_seconds`` (10): the drain.
    ``image_pull_secrets``: default none.  ``run_as_user``: the UID and GID; default 10001.
    ``env``: variables from Secret keys, ConfigMap keys or literals (:class:`EnvValue`); default none.
    ``env_from``: whole Secrets / ConfigMaps after the service's own ConfigMap (:class:`EnvFrom`);
    default none.  ``init_containers`` / ``sidecars`` (native, ``restartPolicy: Always``):
    :class:`Container` s; default none.
    """

    name: str
    image: Image
    resources: Resources
    namespace: str = ""
    port: int = HTTP_PORT
    liveness_path: str = "/healthz"
    readiness_path: str = "/readyz"
    replicas: int = 1
    writable_paths: tuple[str, ...] = ("/tmp",)
    config: Mapping[str, str] = field(default_factory=dict)
    strategy: AnyStrategy = field(default_factory=Strategy.rolling)
    part_of: str = ""
    component: str = "backend"
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    workload_annotations: Mapping[str, str] = field(default_factory=dict)
    kubernetes_api_access: bool = False
    termination_grace_period_seconds: int = 45
    pre_stop_sleep_seconds: int = 10
    image_pull_secrets: tuple[str, ...] = ()
    run_as_user: int = UID
    env: Mapping[str, EnvValue] = field(default_factory=dict)
    env_from: tuple[EnvFrom, ...] = ()
    init_containers: tuple[Container, ...] = ()
    sidecars: tuple[Container, ...] = ()


def volume_name(path: str) -> str:
    """The volume name of a writable path (``/app/logs`` -> ``app-logs``)."""
    return path.strip("/").replace("/", "-").replace("_", "-")


class MicroService(constructs.Construct):
    """A microservice listening on ``props.port`` (named ``http``; 8080 by default).

    Emits a ServiceAccount ``<name>-sa``, a ConfigMap ``<name>-config`` consumed with ``envFrom``
    (its checksum is a pod annotation, so a config change rolls the pods), the workload (a
    Deployment, or for a blue-green or canary :class:`Strategy` an Argo Rollouts ``Rollout`` with the
    same pod template) with startup/liveness/readiness probes, a preStop drain, the restricted pod
    security standard with emptyDir mounts for the writable paths, and a ClusterIP Service
    ``<name>``.  Blue-green adds the ``<name>-preview`` Service and, with an analysis, its
    ``AnalysisTemplate``.

    Intents other constructs (or the app) state on it: :attr:`connections` (``allow_to`` /
    ``allow_from``), :attr:`scheduling` (``spread``, ``tolerate``, ``attract``, ``separate``),
    :meth:`add_config`, :meth:`add_pod_label`, :meth:`add_volume`, :meth:`add_secret_file`,
    :meth:`annotate_service_account` and :meth:`mark_has_autoscaler`.  Every object is produced
    once, at synthesis, from that state.
    """

    def __init__(self, scope: constructs.Construct, id: str, props: MicroServiceProps) -> None:
        super().__init__(scope, id)
        check_props(self, props)
        if not 1 <= props.port <= 65535:
            raise ConstructError.of(self, "port", props.port, "a port between 1 and 65535")
        for prop, path in (("liveness_path", props.liveness_path), ("readiness_path", props.readiness_path)):
            if not path.startswith("/"):
                raise ConstructError.of(self, prop, path, "a path starting with /")
        if props.replicas < 0:
            raise ConstructError.of(self, "replicas", props.replicas, "0 or more")
        self.props = props
        self.name = props.name
        chart = HelmChart.of(scope)
        self.helm_chart = chart
        self.namespace = props.namespace or chart.target_namespace
        self.port = props.port
        self.strategy = props.strategy
        self.labels = standard_labels(name=props.name, instance=chart.chart_name, version=chart.app_version,
                                      component=props.component, part_of=props.part_of,
                                      chart=f"{chart.chart_name}-{chart.chart_version}")
        self.selector = selector_labels(name=props.name, instance=chart.chart_name)
        # no helm.sh/chart on the pods: a chart version bump alone must not change the pod template
        # (it would restart every pod, and start a blue-green rollout)
        self.pod_labels: dict[str, str] = {**{k: v for k, v in self.labels.items() if k != HELM_CHART}, **props.pod_labels}
        self.config: dict[str, str] = dict(props.config)
        self.connections = Connections(self, on_call=self._add_callee_url)
        self.scheduling = Scheduling(self.selector, owner=self)
        self.autoscaled = False
        self.service_account_name = f"{props.name}-sa"
        self.config_map_name = f"{props.name}-config"
        self.workload_kind = props.strategy.kind
        self.workload_api_version = props.strategy.api_version
        self._volumes: list[tuple[dict[str, Any], dict[str, Any]]] = [
            ({"name": volume_name(p), "emptyDir": {"sizeLimit": "256Mi"}}, {"name": volume_name(p), "mountPath": p})
            for p in props.writable_paths]
        self._secret_items: list[dict[str, str]] | None = None
        self.secret_source: str | None = None

        ns, labels = self.namespace, self.labels
        self.service_account = Resource(chart, api_version="v1", kind="ServiceAccount", name=self.service_account_name,
                                        body={"automountServiceAccountToken": props.kubernetes_api_access},
                                        namespace=ns, labels=labels)
        self.config_map = Resource(chart, api_version="v1", kind="ConfigMap", name=self.config_map_name,
                                   body=lambda: {"data": dict(sorted(self.config.items()))}, namespace=ns, labels=labels)
        self.preview_service: Resource | None = None
        self.analysis_template: Resource | None = None
        if isinstance(props.strategy, BlueGreenStrategy):
            self.preview_service = Resource(chart, api_version="v1", kind="Service", name=f"{props.name}-preview",
                                            body=self._service_body(), namespace=ns, labels=labels)
            if props.strategy.analysis is not None:
                self.analysis_template = Resource(chart, api_version=props.strategy.api_version, kind="AnalysisTemplate",
                                                  name=f"{props.name}-preview-error-rate", body=self._analysis_body(),
                                                  namespace=ns, labels=labels)
        self.workload = Resource(chart, api_version=self.workload_api_version, kind=self.workload_kind,
                                 name=props.name, annotations=props.workload_annotations, body=self._workload_body,
                                 namespace=ns, labels=labels)
        self.service = Resource(chart, api_version="v1", kind="Service", name=props.name, body=self._service_body(),
                                namespace=ns, labels=labels)
        if props.kubernetes_api_access:
            self.connections.uses(KUBERNETES_API)
        chart.on_synth(self._declare_values)
        chart.on_synth(lambda: self.connections.annotate(self.workload.annotations))

    # ------------------------------------------------------------------ intents

    @property
    def peer_labels(self) -> dict[str, str]:
        """The labels other workloads' NetworkPolicies select this one's pods by."""
        return {NAME: self.name}

    def url(self) -> str:
        """The in-cluster URL other services use to call this one."""
        return f"http://{self.name}.{self.namespace}.svc.cluster.local:{self.port}"

    def _add_callee_url(self, peer: Connectable) -> None:
        """After ``connections.allow_to(workload)``: the callee's URL as ``<CALLEE>_URL``."""
        self.add_config(f"{peer.name.upper().replace('-', '_')}_URL", peer.url())

    def add_config(self, key: str, value: str) -> None:
        """Add a non-secret setting to the ConfigMap (and so to the container environment)."""
        if key in self.config and self.config[key] != value:
            raise ConstructError.of(self, f"config.{key}", value, f"already set to {self.config[key]!r}")
        self.config[key] = value

    def add_pod_label(self, key: str, value: str) -> None:
        """Add a label to the pods (not to the selector)."""
        self.pod_labels[key] = value

    def add_volume(self, volume: dict[str, Any], mount: dict[str, Any]) -> None:
        """Add a pod volume and mount it into the container."""
        if any(v["name"] == volume["name"] for v, _ in self._volumes):
            raise ConstructError.of(self, "volumes", volume["name"], "each volume name once")
        self._volumes.append((volume, mount))

    def mount_secrets(self, source: str, volume: dict[str, Any]) -> bool:
        """Mount the one secrets volume (``/mnt/secrets``, read-only) with ``volume`` as its source;
        ``source`` names who provides it.  False when it is already mounted from that source; a
        second source is refused (all secret files of a service come from one place)."""
        if self.secret_source is not None:
            if self.secret_source != source:
                raise ConstructError.of(self, "secret_files", source,
                                        f"one source per service; they come from {self.secret_source}")
            return False
        self.secret_source = source
        self.add_volume({"name": SECRETS_VOLUME, **volume},
                        {"name": SECRETS_VOLUME, "mountPath": SECRETS_MOUNT, "readOnly": True})
        return True

    def add_secret_file(self, file: SecretFile) -> None:
        """Mount key ``file.key`` of the existing Secret ``file.secret`` as ``/mnt/secrets/<alias>``
        (the Secret is created outside the charts: only its name and key are written here)."""
        items: list[dict[str, str]] = []
        if self.mount_secrets(f"Secret {file.secret}", {"secret": {"secretName": file.secret, "defaultMode": 0o440,
                                                                     "items": items}}):
            self._secret_items = items
        assert self._secret_items is not None
        if any(i["path"] == file.alias for i in self._secret_items):
            raise ConstructError.of(self, "secret_files", file.alias, "each alias once")
        self._secret_items.append({"key": file.key, "path": file.alias})

    def annotate_service_account(self, key: str, value: str) -> None:
        """Add an annotation to the service's ServiceAccount."""
        self.service_account.annotations[key] = value

    def mark_has_autoscaler(self) -> None:
        """An autoscaler owns the replica count: ``spec.replicas`` and the ``replicaCount`` value are
        left out.  A second autoscaler is refused."""
        if self.autoscaled:
            raise ConstructError.of(self, "autoscaler", self.name, "it already has an autoscaler (exactly one per workload)")
        self.autoscaled = True

    def config_checksum(self) -> str:
        """sha256 of the ConfigMap data as produced (after any JSON patch on it); the pod annotation
        that rolls pods on config change."""
        return config_checksum(self.config_map.to_json())

    # ------------------------------------------------------------------ synthesis

    def _declare_values(self) -> None:
        chart, p = self.helm_chart, self.props
        v = chart.values
        v.describe("image", "Container image; the digest, when set, pins the image instead of the tag")
        v.describe("resources", "Container resource requests and limits")
        v.describe("resources.requests", "Resources the scheduler reserves for the container")
        v.describe("resources.limits", "Hard limits of the container")
        v.add("image.registry", p.image.registry, "Container image registry", minLength=1)
        v.add("image.repository", p.image.repository, "Container image repository", minLength=1)
        v.add("image.tag", p.image.tag, "Container image tag (an immutable release tag)", minLength=1)
        v.add("image.digest", p.image.digest,
              "Container image digest (sha256:...); when set it is used instead of the tag",
              pattern="^(sha256:[a-f0-9]{64})?$")
        v.add("image.pullPolicy", p.image.pull_policy, "Container image pull policy",
              enum=["Always", "IfNotPresent", "Never"])
        for side in ("requests", "limits"):
            amounts = getattr(p.resources, side)
            v.add(f"resources.{side}.cpu", amounts.cpu, f"CPU {side} of the container", pattern=CPU_PATTERN,
                  allowed=CPU_ALLOWED)
            v.add(f"resources.{side}.memory", amounts.memory, f"Memory {side} of the container", pattern=BYTES_PATTERN,
                  allowed=BYTES_ALLOWED)
            v.add(f"resources.{side}.ephemeral-storage", amounts.ephemeral_storage,
                  f"Ephemeral storage {side} of the container", pattern=BYTES_PATTERN, allowed=BYTES_ALLOWED)
        dep = self.workload
        container: tuple[str | int, ...] = ("spec", "template", "spec", "containers", 0)
        chart.bind(dep, container + ("image",), f'{{{{ include "{chart.helper_prefix}.image" . | quote }}}}',
                   p.image.reference, key="image")
        chart.bind_value(dep, container + ("imagePullPolicy",), "image.pullPolicy", p.image.pull_policy)
        for side in ("requests", "limits"):
            amounts = getattr(p.resources, side)
            for key, attr in (("cpu", "cpu"), ("memory", "memory"), ("ephemeral-storage", "ephemeral_storage")):
                chart.bind_value(dep, container + ("resources", side, key), f"resources.{side}.{key}",
                                 getattr(amounts, attr))
        # last, once every construct has added its config: the checksum Helm computes from the rendered ConfigMap
        chart.on_synth(lambda: chart.bind_config_checksum(
            self.workload, ("spec", "template", "metadata", "annotations", "checksum/config"), self.config_map,
            self.config_checksum()))
        if not self.autoscaled:
            v.add("replicaCount", p.replicas, "Number of replicas (the service is not autoscaled)", minimum=1)
            chart.bind_value(dep, ("spec", "replicas"), "replicaCount", p.replicas)
        if self.analysis_template is not None:  # PromQL namespace matchers follow .Release.Namespace
            chart.bind_namespace_in(self.analysis_template, self._analysis_body()["spec"], ("spec",))
        # Config values that embed the namespace (the URLs of the services this one calls) follow
        # the release namespace, and so does the checksum Helm computes from the rendered ConfigMap.
        for key, value in sorted(self.config.items()):
            if embeds_namespace(value, self.namespace):
                chart.bind_namespace(self.config_map, ("data", key), value)

    def _service_body(self) -> dict[str, Any]:
        return {"spec": {"type": "ClusterIP", "selector": dict(self.selector),
                         "ports": [{"name": "http", "port": self.port, "targetPort": "http", "protocol": "TCP"}]}}

    def _analysis_body(self) -> dict[str, Any]:
        assert isinstance(self.strategy, BlueGreenStrategy) and self.strategy.analysis is not None
        a = self.strategy.analysis
        return {"spec": {"args": [{"name": "service-name"}], "metrics": [{
            "name": a.metric_name, "interval": a.interval, "count": a.count, "failureLimit": a.failure_limit,
            "successCondition": f"result[0] < {a.max_value}",
            "provider": {"prometheus": {"address": a.prometheus_address, "query": a.query}}}]}}

    def _probe(self, path: str, period: int, failures: int) -> dict[str, Any]:
        return {"httpGet": {"path": path, "port": "http", "scheme": "HTTP"}, "periodSeconds": period,
                "timeoutSeconds": 5, "failureThreshold": failures, "successThreshold": 1}

    def _pod_spec(self) -> dict[str, Any]:
        p = self.props
        res = p.resources

        def amounts(a: Any) -> dict[str, str]:
            return {"cpu": a.cpu, "memory": a.memory, "ephemeral-storage": a.ephemeral_storage}

        container: dict[str, Any] = {
            "name": p.name,
            "image": p.image.reference,
            "imagePullPolicy": p.image.pull_policy,
            "ports": [{"name": "http", "containerPort": p.port, "protocol": "TCP"}],
            "envFrom": [{"configMapRef": {"name": self.config_map_name}}] + [e.to_json() for e in p.env_from],
            "startupProbe": self._probe(p.liveness_path, 10, 18),
            "livenessProbe": self._probe(p.liveness_path, 30, 3),
            "readinessProbe": self._probe(p.readiness_path, 10, 3),
            "lifecycle": {"preStop": {"exec": {"command": ["sleep", str(p.pre_stop_sleep_seconds)]}}},
            "resources": {"requests": amounts(res.requests), "limits": amounts(res.limits)},
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                "runAsNonRoot": True, "runAsUser": p.run_as_user, "runAsGroup": p.run_as_user,
                                "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
            "terminationMessagePolicy": "FallbackToLogsOnError",
        }
        if p.env:
            container["env"] = env_json(p.env)
        if self._volumes:
            container["volumeMounts"] = [dict(m) for _, m in self._volumes]
        spec: dict[str, Any] = {
            "serviceAccountName": self.service_account_name,
            "automountServiceAccountToken": p.kubernetes_api_access,
            "terminationGracePeriodSeconds": p.termination_grace_period_seconds,
            "enableServiceLinks": False,
            "securityContext": {"runAsNonRoot": True, "runAsUser": p.run_as_user, "runAsGroup": p.run_as_user,
                                "fsGroup": p.run_as_user, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [container],
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

    def _workload_body(self) -> dict[str, Any]:
        s = self.strategy
        spec: dict[str, Any] = {
            "revisionHistoryLimit": s.revision_history_limit,
            "progressDeadlineSeconds": s.progress_deadline_seconds,
            "selector": {"matchLabels": dict(self.selector)},
            "template": {"metadata": {"labels": dict(self.pod_labels),
                                      "annotations": {"checksum/config": self.config_checksum()}},
                         "spec": self._pod_spec()},
        }
        if not self.autoscaled:
            spec["replicas"] = self.props.replicas
        if isinstance(s, RollingStrategy):
            spec["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": s.max_surge,
                                                                           "maxUnavailable": s.max_unavailable}}
        elif isinstance(s, BlueGreenStrategy):
            assert self.preview_service is not None
            template = self.analysis_template.name if self.analysis_template is not None else None
            spec["strategy"] = s.to_json(self.name, self.preview_service.name, template)
        elif isinstance(s, CanaryStrategy):
            spec["strategy"] = s.to_json()
        return {"spec": spec}
