"""MicroService: one Spring Boot service as Deployment, Service, ServiceAccount and ConfigMap."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import cdk8s
import constructs
from cdk8s_plus_29 import k8s

from ..config import Delivery, Image, Resources, RollingSettings
from ..helmchart import HelmChart, embeds_namespace
from ..labels import selector_labels, standard_labels

HTTP_PORT = 8080
"""The default HTTP port of a MicroService (``MicroServiceProps.port``)."""
UID = 10001
SECRETS_MOUNT = "/mnt/secrets"


@dataclass(frozen=True)
class MicroServiceProps:
    """What a MicroService needs.

    ``port`` is the container's HTTP port (named ``http``) and the Service's port; default 8080;
    ``health_path`` is the actuator health base (``/actuator/health``, or under a context path);
    ``liveness_path`` / ``readiness_path`` are the probe paths; default ``<health_path>/liveness``
    and ``<health_path>/readiness`` (the startup probe uses the liveness path);
    ``replicas`` is the fixed replica count when nothing autoscales the service;
    ``writable_paths`` become emptyDir mounts (the root filesystem is read-only);
    ``config`` is the non-secret environment, rendered into the ``<name>-config`` ConfigMap;
    ``strategy`` is ``rolling`` (a Deployment with the ``rolling`` settings), ``blueGreen`` or
    ``canary`` (an Argo Rollouts ``Rollout`` with the ``delivery`` settings and the same pod template).
    """

    name: str
    namespace: str
    image: Image
    resources: Resources
    replicas: int = 1
    port: int = HTTP_PORT
    health_path: str = "/actuator/health"
    liveness_path: str = ""
    readiness_path: str = ""
    writable_paths: tuple[str, ...] = ("/tmp", "/app/logs")
    config: dict[str, str] = field(default_factory=dict)
    kubernetes_api_access: bool = False
    component: str = "backend"
    pod_labels: dict[str, str] = field(default_factory=dict)
    termination_grace_period_seconds: int = 45
    pre_stop_sleep_seconds: int = 10
    strategy: str = "rolling"
    rolling: RollingSettings = field(default_factory=RollingSettings)
    delivery: Delivery = field(default_factory=Delivery)
    image_pull_secrets: tuple[str, ...] = ()


DIGEST_WAIVER = ("CKV_K8S_43", "the release pipeline pins image.digest at deploy time; until then the tag is an "
                 "immutable release tag (mutable tags are refused in prod)")
API_TOKEN_WAIVER = ("CKV_K8S_38", "the service reads the Kubernetes API (bound to ClusterRole application-reader, PP 7.2.2)")


def checkov_waivers(image: Image, kubernetes_api_access: bool) -> dict[str, str]:
    """checkov skip annotations, each with its reason, for the checks this workload knowingly fails."""
    waivers = []
    if not image.digest:
        waivers.append(DIGEST_WAIVER)
    if kubernetes_api_access:
        waivers.append(API_TOKEN_WAIVER)
    return {f"checkov.io/skip{i}": f"{check}={reason}" for i, (check, reason) in enumerate(waivers, start=1)}


# The value behind each Quantity / IntOrString the factories below made (they live for the process).
_UNION_VALUES: dict[int, str | int] = {}


@functools.cache
def _q(value: str) -> k8s.Quantity:
    """A Quantity, created once per distinct value (each creation is a round trip to jsii)."""
    quantity = k8s.Quantity.from_string(value)
    _UNION_VALUES[id(quantity)] = value
    return quantity


@functools.cache
def port_ref(name: str) -> k8s.IntOrString:
    """A named port reference, created once per name."""
    ref = k8s.IntOrString.from_string(name)
    _UNION_VALUES[id(ref)] = name
    return ref


@functools.cache
def int_ref(value: int) -> k8s.IntOrString:
    """A numeric IntOrString, created once per value."""
    ref = k8s.IntOrString.from_number(value)
    _UNION_VALUES[id(ref)] = value
    return ref


def manifest_json(value: Any) -> Any:
    """The Kubernetes JSON of a typed L1 struct, converted in Python through jsii's own name
    mapping (``from_`` -> ``from``, ``image_pull_policy`` -> ``imagePullPolicy``) instead of a
    round trip to the jsii kernel; what the L1 ``manifest()`` returns, key for key."""
    mapping = getattr(type(value), "__jsii_name_mapping__", None)
    if mapping is not None:
        return {mapping[k]: manifest_json(v) for k, v in value._values.items() if v is not None}
    if isinstance(value, list):
        return [manifest_json(v) for v in value]
    if isinstance(value, dict):
        return {k: manifest_json(v) for k, v in value.items()}
    if isinstance(value, (k8s.Quantity, k8s.IntOrString)):
        known = _UNION_VALUES.get(id(value))
        return known if known is not None else value.value
    return value


def _volume_name(path: str) -> str:
    return path.strip("/").replace("/", "-").replace("_", "-")


def _escape(key: str) -> str:
    """A map key as a JSON-pointer segment."""
    return key.replace("~", "~0").replace("/", "~1")


class MicroService(constructs.Construct):
    """A microservice listening on ``props.port`` (named ``http``; 8080 by default).

    Emits a ServiceAccount ``<name>-sa``, a ConfigMap ``<name>-config`` consumed with ``envFrom``
    (its checksum is a pod annotation, so a config change rolls the pods), the workload (a
    Deployment, or for the ``blueGreen`` / ``canary`` strategies an Argo Rollouts ``Rollout``, see
    :mod:`.progressive_delivery`) with startup/liveness/readiness probes, a preStop drain, the restricted pod security of TRIPGEN.md
    section 5 with emptyDir mounts for the writable paths, and a ClusterIP Service ``<name>``.

    Other constructs attach to it: :meth:`add_config`, :meth:`add_pod_label`, :meth:`add_volume`,
    :meth:`annotate_service_account`, and the network intent :meth:`allow_to` /
    :meth:`allow_from`, which :class:`~tripgen_cdk8s.constructs.network.ServiceNetworkPolicy`
    turns into NetworkPolicies.
    """

    def __init__(self, scope: constructs.Construct, id: str, props: MicroServiceProps) -> None:
        super().__init__(scope, id)
        self.props = props
        self.name = props.name
        self.namespace = props.namespace
        self.port = props.port
        chart = HelmChart.of(self)
        self.chart = chart
        self.labels = standard_labels(
            name=props.name,
            instance=chart.chart_name,
            version=chart.app_version,
            component=props.component,
            chart=f"{chart.chart_name}-{chart.chart_version}",
        )
        self.selector = selector_labels(name=props.name, instance=chart.chart_name)
        self.pod_labels: dict[str, str] = {**self.labels, **props.pod_labels}
        self.config: dict[str, str] = dict(props.config)
        self.callees: list[MicroService] = []
        self.callers: list[MicroService] = []
        self.egress_rules: list[tuple[str, str, tuple[int, ...]]] = []
        self.volumes: list[str] = []
        self.preview_service_name: str | None = None
        self.secret_files: list[tuple[str, str, str]] = []
        self.secret_provider: object | None = None  # the SecretProviderClass construct, once attached
        self._secret_volume_index = -1
        self.autoscaled = False
        self.service_account_name = f"{props.name}-sa"
        self.config_map_name = f"{props.name}-config"

        self._declare_values()
        self.service_account = k8s.KubeServiceAccount(
            self,
            "service-account",
            metadata=self._meta(self.service_account_name),
            automount_service_account_token=props.kubernetes_api_access,
        )
        self.config_map = k8s.KubeConfigMap(
            self, "config-map", metadata=self._meta(self.config_map_name), data=dict(sorted(self.config.items()))
        )
        self.workload = self._workload()
        # kept in Python: every read of an ApiObject property is a round trip to jsii
        self.workload_kind = "Deployment" if props.strategy == "rolling" else "Rollout"
        self.workload_api_version = "apps/v1" if props.strategy == "rolling" else "argoproj.io/v1alpha1"
        self.service = k8s.KubeService(
            self,
            "service",
            metadata=self._meta(props.name),
            spec=k8s.ServiceSpec(
                type="ClusterIP",
                selector=self.selector,
                ports=[
                    k8s.ServicePort(
                        name="http", port=props.port, target_port=port_ref("http"), protocol="TCP"
                    )
                ],
            ),
        )
        self._bind_values()
        self._synthesised_config = dict(self.config)
        chart.before_synth(self._write_config)
        chart.before_synth(self._bind_namespace_references)

    # ------------------------------------------------------------------ construction

    def _meta(self, name: str) -> k8s.ObjectMeta:
        return k8s.ObjectMeta(name=name, namespace=self.namespace, labels=dict(self.labels))

    def _declare_values(self) -> None:
        v, p = self.chart.values, self.props
        v.add("image.registry", p.image.registry, "Container image registry", minLength=1)
        v.add("image.repository", p.image.repository, "Container image repository", minLength=1)
        v.add("image.tag", p.image.tag, "Container image tag (an immutable release tag)", minLength=1)
        v.add(
            "image.digest",
            p.image.digest,
            "Container image digest (sha256:...); when set it is used instead of the tag",
            pattern="^(sha256:[a-f0-9]{64})?$",
        )
        v.add("image.pullPolicy", p.image.pull_policy, "Container image pull policy",
              enum=["Always", "IfNotPresent", "Never"])
        for side in ("requests", "limits"):
            amounts = getattr(p.resources, side)
            v.add(f"resources.{side}.cpu", amounts.cpu, f"CPU {side} of the container")
            v.add(f"resources.{side}.memory", amounts.memory, f"Memory {side} of the container")
            v.add(f"resources.{side}.ephemeral-storage", amounts.ephemeral_storage,
                  f"Ephemeral storage {side} of the container")

    def _image_ref(self) -> str:
        img = self.props.image
        ref = f"{img.registry}/{img.repository}"
        return f"{ref}@{img.digest}" if img.digest else f"{ref}:{img.tag}"

    def _probe(self, path: str, period: int, timeout: int, failures: int) -> k8s.Probe:
        return k8s.Probe(
            http_get=k8s.HttpGetAction(path=path, port=port_ref("http"), scheme="HTTP"),
            period_seconds=period,
            timeout_seconds=timeout,
            failure_threshold=failures,
            success_threshold=1,
        )

    def _workload(self) -> cdk8s.ApiObject:
        p = self.props
        health = p.health_path.rstrip("/")
        liveness = p.liveness_path or f"{health}/liveness"
        readiness = p.readiness_path or f"{health}/readiness"
        mounts = [k8s.VolumeMount(name=_volume_name(path), mount_path=path) for path in p.writable_paths]
        volumes = [
            k8s.Volume(name=_volume_name(path), empty_dir=k8s.EmptyDirVolumeSource(size_limit=_q("256Mi")))
            for path in p.writable_paths
        ]
        self.volumes = [_volume_name(path) for path in p.writable_paths]
        res = p.resources
        container = k8s.Container(
            name=p.name,
            image=self._image_ref(),
            image_pull_policy=p.image.pull_policy,
            ports=[k8s.ContainerPort(name="http", container_port=p.port, protocol="TCP")],
            env_from=[k8s.EnvFromSource(config_map_ref=k8s.ConfigMapEnvSource(name=self.config_map_name))],
            startup_probe=self._probe(liveness, period=10, timeout=5, failures=18),
            liveness_probe=self._probe(liveness, period=30, timeout=5, failures=3),
            readiness_probe=self._probe(readiness, period=10, timeout=5, failures=3),
            lifecycle=k8s.Lifecycle(
                pre_stop=k8s.LifecycleHandler(exec=k8s.ExecAction(command=["sleep", str(p.pre_stop_sleep_seconds)]))
            ),
            resources=k8s.ResourceRequirements(
                requests={
                    "cpu": _q(res.requests.cpu),
                    "memory": _q(res.requests.memory),
                    "ephemeral-storage": _q(res.requests.ephemeral_storage),
                },
                limits={
                    "cpu": _q(res.limits.cpu),
                    "memory": _q(res.limits.memory),
                    "ephemeral-storage": _q(res.limits.ephemeral_storage),
                },
            ),
            security_context=k8s.SecurityContext(
                allow_privilege_escalation=False,
                read_only_root_filesystem=True,
                run_as_non_root=True,
                run_as_user=UID,
                run_as_group=UID,
                capabilities=k8s.Capabilities(drop=["ALL"]),
                seccomp_profile=k8s.SeccompProfile(type="RuntimeDefault"),
            ),
            volume_mounts=mounts,
            termination_message_policy="FallbackToLogsOnError",
        )
        meta = self._meta(p.name)
        waivers = checkov_waivers(p.image, p.kubernetes_api_access)
        if waivers:
            meta = k8s.ObjectMeta(name=p.name, namespace=self.namespace, labels=dict(self.labels), annotations=waivers)
        # A Rollout carries exactly the pod template a Deployment would: the typed L1 Deployment spec
        # is either the workload's or, converted to JSON, the Rollout's.
        spec = k8s.DeploymentSpec(
                replicas=p.replicas,
                revision_history_limit=p.rolling.revision_history_limit,
                progress_deadline_seconds=p.rolling.progress_deadline_seconds,
                selector=k8s.LabelSelector(match_labels=self.selector),
                strategy=k8s.DeploymentStrategy(
                    type="RollingUpdate",
                    rolling_update=k8s.RollingUpdateDeployment(
                        max_surge=int_ref(p.rolling.max_surge),
                        max_unavailable=int_ref(p.rolling.max_unavailable),
                    ),
                ),
                template=k8s.PodTemplateSpec(
                    metadata=k8s.ObjectMeta(
                        labels=dict(self.pod_labels), annotations={"checksum/config": self.config_checksum()}
                    ),
                    spec=k8s.PodSpec(
                        service_account_name=self.service_account_name,
                        automount_service_account_token=p.kubernetes_api_access,
                        termination_grace_period_seconds=p.termination_grace_period_seconds,
                        enable_service_links=False,
                        security_context=k8s.PodSecurityContext(
                            run_as_non_root=True,
                            run_as_user=UID,
                            run_as_group=UID,
                            fs_group=UID,
                            seccomp_profile=k8s.SeccompProfile(type="RuntimeDefault"),
                        ),
                        containers=[container],
                        volumes=volumes,
                        image_pull_secrets=[k8s.LocalObjectReference(name=n) for n in p.image_pull_secrets] or None,
                    ),
                ),
            )
        if p.strategy == "rolling":
            return k8s.KubeDeployment(self, "deployment", metadata=meta, spec=spec)
        from .progressive_delivery import rollout

        return rollout(self, {"metadata": manifest_json(meta), "spec": manifest_json(spec)})

    def _bind_values(self) -> None:
        chart, dep = self.chart, self.workload
        container: tuple[str | int, ...] = ("spec", "template", "spec", "containers", 0)
        chart.bind(dep, container + ("image",), '{{ include "tripgen.image" . | quote }}', self._image_ref())
        chart.bind_value(dep, container + ("imagePullPolicy",), "image.pullPolicy", self.props.image.pull_policy)
        for side in ("requests", "limits"):
            amounts = getattr(self.props.resources, side)
            for key, attr in (("cpu", "cpu"), ("memory", "memory"), ("ephemeral-storage", "ephemeral_storage")):
                chart.bind_value(dep, container + ("resources", side, key), f"resources.{side}.{key}",
                                 getattr(amounts, attr))
        if not self.autoscaled:
            chart.values.add("replicaCount", self.props.replicas, "Number of replicas (the service is not autoscaled)",
                             minimum=1)
            chart.bind_value(dep, ("spec", "replicas"), "replicaCount", self.props.replicas)

    # ------------------------------------------------------------------ attachment API

    def _write_config(self) -> None:
        """Put the final ConfigMap data and its checksum in place (one patch each)."""
        if self.config == self._synthesised_config:
            return
        self.config_map.add_json_patch(cdk8s.JsonPatch.replace("/data", dict(sorted(self.config.items()))))
        self.workload.add_json_patch(
            cdk8s.JsonPatch.replace("/spec/template/metadata/annotations/checksum~1config", self.config_checksum()))
        self._synthesised_config = dict(self.config)

    def _bind_namespace_references(self) -> None:
        """Config values that embed the namespace (the URLs of the services this one calls) follow
        the release namespace; the checksum stays that of the environment's own values."""
        self.chart.unbind(self.config_map, ("data",))
        for key, value in sorted(self.config.items()):
            if embeds_namespace(value, self.namespace):
                self.chart.bind_namespace(self.config_map, ("data", key), value)

    def config_checksum(self) -> str:
        """sha256 of the ConfigMap data; the pod annotation that rolls pods on config change."""
        return hashlib.sha256(json.dumps(self.config, sort_keys=True).encode()).hexdigest()

    def add_config(self, key: str, value: str) -> None:
        """Add a non-secret setting to the ConfigMap (and so to the container environment)."""
        if key in self.config and self.config[key] != value:
            raise ValueError(f"{self.name}: config {key} set twice ({self.config[key]!r}, {value!r})")
        self.config[key] = value  # written to the ConfigMap and checksum once, before synthesis

    def add_pod_label(self, key: str, value: str) -> None:
        """Add a label to the pods (not to the selector)."""
        self.pod_labels[key] = value
        self.workload.add_json_patch(cdk8s.JsonPatch.add(f"/spec/template/metadata/labels/{_escape(key)}", value))

    def add_volume(self, volume: dict[str, object], mount: dict[str, object]) -> None:
        """Add a pod volume and mount it into the container."""
        self.volumes.append(str(volume["name"]))
        self.workload.add_json_patch(cdk8s.JsonPatch.add("/spec/template/spec/volumes/-", volume))
        self.workload.add_json_patch(
            cdk8s.JsonPatch.add("/spec/template/spec/containers/0/volumeMounts/-", mount)
        )

    def add_secret_file(self, name: str, secret: str, key: str) -> None:
        """Mount key ``key`` of the existing Secret ``secret`` as the file ``/mnt/secrets/<name>``
        (dev: the Secret is created outside the charts; only its name and key are written here).
        Spring reads it through the same configtree import as the Key Vault files of prod."""
        if not self.secret_files:
            self.add_config("SPRING_CONFIG_IMPORT", f"optional:configtree:{SECRETS_MOUNT}/")
            self._secret_volume_index = len(self.volumes)
            self.add_volume({"name": "secrets", "secret": {"secretName": secret, "defaultMode": 0o440, "items": []}},
                            {"name": "secrets", "mountPath": SECRETS_MOUNT, "readOnly": True})
        elif self.secret_files[0][1] != secret:
            raise ValueError(f"{self.name}: all secret files must come from one Secret ({self.secret_files[0][1]})")
        self.secret_files.append((name, secret, key))
        self.workload.add_json_patch(cdk8s.JsonPatch.add(
            f"/spec/template/spec/volumes/{self._secret_volume_index}/secret/items/-", {"key": key, "path": name}))

    def patch_pod_spec(self, key: str, value: object) -> None:
        """Set one field of the pod spec (scheduling constraints and the like)."""
        self.workload.add_json_patch(cdk8s.JsonPatch.add(f"/spec/template/spec/{key}", value))

    def annotate_service_account(self, key: str, value: str) -> None:
        """Add an annotation to the service's ServiceAccount."""
        self.service_account.metadata.add_annotation(key, value)

    def remove_replicas(self) -> None:
        """Let an autoscaler own the replica count: ``spec.replicas`` is dropped (TRIPGEN.md 3)."""
        if self.autoscaled:
            return
        self.autoscaled = True
        self.workload.add_json_patch(cdk8s.JsonPatch.remove("/spec/replicas"))
        bindings = self.chart.values.bindings.get((self.workload_kind, self.name), [])
        bindings[:] = [b for b in bindings if b.path != ("spec", "replicas")]
        self.chart.values.params.pop("replicaCount", None)

    def url(self) -> str:
        """The in-cluster URL other services use to call this one."""
        return f"http://{self.name}.{self.namespace}.svc.cluster.local:{self.port}"

    def allow_to(self, callee: MicroService) -> None:
        """This service calls ``callee`` on its port: egress here, ingress there, and its URL in config."""
        if callee is self:
            raise ValueError(f"{self.name} cannot call itself")
        if callee not in self.callees:
            self.callees.append(callee)
            callee.callers.append(self)
            self.add_config(f"{callee.name.upper().replace('-', '_')}_URL", callee.url())

    def allow_from(self, caller: MicroService) -> None:
        """``caller`` may call this service (the mirror of :meth:`allow_to`)."""
        caller.allow_to(self)

    def allow_egress(self, cidr: str, ports: tuple[int, ...], description: str) -> None:
        """Allow TCP egress to ``cidr`` on ``ports`` (a private endpoint, or 0.0.0.0/0 for HTTPS)."""
        self.egress_rules.append((description, cidr, ports))
