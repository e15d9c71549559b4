"""What every pod of every workload shares: environment sources, probes, extra containers, the
restricted security context and the Helm values of a container's image and resources.

Union-like classes in the style of cdk8s-plus: ``EnvValue.from_secret_value(...)``,
``EnvFrom.secret(...)``, ``Probe.http(...)``.  Plain frozen dataclasses without cdk8s, so a config
model can hold them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..helmchart import HelmChart, Path, Resource, values_ref
from ..model import Image, ResourceAmounts, Resources
from ..quantities import BYTES_ALLOWED, BYTES_PATTERN, CPU_ALLOWED, CPU_PATTERN

UID = 10001
"""The default UID and GID of every container (``run_as_user``)."""


@dataclass(frozen=True)
class EnvValue:
    """The value of one environment variable (use the static methods).

    Exactly one of ``value``, a Secret key (``secret`` + ``key``) or a ConfigMap key
    (``config_map`` + ``key``); ``optional`` (default False) lets the pod start without the key.
    """

    value: str | None = None
    secret: str = ""
    config_map: str = ""
    key: str = ""
    optional: bool = False

    @staticmethod
    def from_value(value: str) -> EnvValue:
        """A literal value (prefer the ConfigMap of ``config`` for settings)."""
        return EnvValue(value=value)

    @staticmethod
    def from_secret_value(secret: str, key: str, *, optional: bool = False) -> EnvValue:
        """Key ``key`` of the Secret ``secret`` (``secretKeyRef``; the Secret is created outside the chart)."""
        return EnvValue(secret=secret, key=key, optional=optional)

    @staticmethod
    def from_config_map(config_map: str, key: str, *, optional: bool = False) -> EnvValue:
        """Key ``key`` of the ConfigMap ``config_map`` (``configMapKeyRef``)."""
        return EnvValue(config_map=config_map, key=key, optional=optional)

    def to_json(self, name: str) -> dict[str, Any]:
        """The container ``env`` entry named ``name``."""
        if self.secret:
            ref: dict[str, Any] = {"name": self.secret, "key": self.key}
            if self.optional:
                ref["optional"] = True
            return {"name": name, "valueFrom": {"secretKeyRef": ref}}
        if self.config_map:
            ref = {"name": self.config_map, "key": self.key}
            if self.optional:
                ref["optional"] = True
            return {"name": name, "valueFrom": {"configMapKeyRef": ref}}
        return {"name": name, "value": self.value or ""}


@dataclass(frozen=True)
class EnvFrom:
    """A whole Secret or ConfigMap as environment variables (use :meth:`secret` / :meth:`config_map`);
    ``prefix`` (default none) is put before each key."""

    secret: str = ""
    config_map: str = ""
    prefix: str = ""

    @staticmethod
    def from_secret(secret: str, *, prefix: str = "") -> EnvFrom:
        """Every key of the Secret ``secret`` (``envFrom.secretRef``)."""
        return EnvFrom(secret=secret, prefix=prefix)

    @staticmethod
    def from_config_map(config_map: str, *, prefix: str = "") -> EnvFrom:
        """Every key of the ConfigMap ``config_map`` (``envFrom.configMapRef``)."""
        return EnvFrom(config_map=config_map, prefix=prefix)

    def to_json(self) -> dict[str, Any]:
        """The ``envFrom`` entry."""
        out: dict[str, Any] = ({"secretRef": {"name": self.secret}} if self.secret
                               else {"configMapRef": {"name": self.config_map}})
        if self.prefix:
            out["prefix"] = self.prefix
        return out


@dataclass(frozen=True)
class Probe:
    """A container probe (use the static methods): an HTTP GET, a command, a TCP connect or a gRPC
    health check.  ``port`` is a number or a declared port's name.  Defaults: every 10 s, 5 s
    timeout, 3 failures."""

    kind: str
    path: str = ""
    port: int | str = 0
    command: tuple[str, ...] = ()
    period_seconds: int = 10
    timeout_seconds: int = 5
    failure_threshold: int = 3

    @staticmethod
    def http(path: str, port: int | str, *, period_seconds: int = 10, timeout_seconds: int = 5,
             failure_threshold: int = 3) -> Probe:
        """``GET path`` on ``port`` must answer 2xx/3xx."""
        return Probe("http", path=path, port=port, period_seconds=period_seconds, timeout_seconds=timeout_seconds,
                     failure_threshold=failure_threshold)

    @staticmethod
    def exec(command: tuple[str, ...], *, period_seconds: int = 10, timeout_seconds: int = 5,
             failure_threshold: int = 3) -> Probe:
        """``command`` must exit 0 (a worker without a port: a heartbeat file, say)."""
        return Probe("exec", command=tuple(command), period_seconds=period_seconds, timeout_seconds=timeout_seconds,
                     failure_threshold=failure_threshold)

    @staticmethod
    def tcp(port: int | str, *, period_seconds: int = 10, timeout_seconds: int = 5, failure_threshold: int = 3) -> Probe:
        """A TCP connection to ``port`` must open."""
        return Probe("tcp", port=port, period_seconds=period_seconds, timeout_seconds=timeout_seconds,
                     failure_threshold=failure_threshold)

    @staticmethod
    def grpc(port: int, *, period_seconds: int = 10, timeout_seconds: int = 5, failure_threshold: int = 3) -> Probe:
        """The gRPC health service on ``port`` must report SERVING."""
        return Probe("grpc", port=port, period_seconds=period_seconds, timeout_seconds=timeout_seconds,
                     failure_threshold=failure_threshold)

    def to_json(self) -> dict[str, Any]:
        """The probe object."""
        handler: dict[str, Any]
        if self.kind == "http":
            handler = {"httpGet": {"path": self.path, "port": self.port, "scheme": "HTTP"}}
        elif self.kind == "exec":
            handler = {"exec": {"command": list(self.command)}}
        elif self.kind == "tcp":
            handler = {"tcpSocket": {"port": self.port}}
        else:
            handler = {"grpc": {"port": self.port}}
        return {**handler, "periodSeconds": self.period_seconds, "timeoutSeconds": self.timeout_seconds,
                "failureThreshold": self.failure_threshold, "successThreshold": 1}


@dataclass(frozen=True)
class ContainerPort:
    """A named container port (TCP)."""

    name: str
    port: int


@dataclass(frozen=True)
class Container:
    """An extra container of a pod: an init container (runs to completion first) or a native
    sidecar (an init container with ``restartPolicy: Always`` that runs beside the main one).

    ``name``, ``image`` and ``resources`` are required.  Defaults: the image's own ``command`` and
    ``args``; no ``env`` / ``env_from``; no ``ports``; no probes (``readiness`` / ``liveness``
    apply to sidecars only); ``writable_paths`` none (the root filesystem is read-only); the same
    restricted security context as the main container.
    """

    name: str
    image: Image
    resources: Resources
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: Mapping[str, EnvValue] = field(default_factory=dict)
    env_from: tuple[EnvFrom, ...] = ()
    ports: tuple[ContainerPort, ...] = ()
    readiness: Probe | None = None
    liveness: Probe | None = None
    writable_paths: tuple[str, ...] = ()


def amounts(a: ResourceAmounts) -> dict[str, str]:
    """One side (requests or limits) of a container's resources."""
    return {"cpu": a.cpu, "memory": a.memory, "ephemeral-storage": a.ephemeral_storage}


def container_security_context(uid: int) -> dict[str, Any]:
    """The restricted Pod Security Standard for one container."""
    return {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
            "runAsUser": uid, "runAsGroup": uid, "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}}


def pod_security_context(uid: int) -> dict[str, Any]:
    """The restricted pod-level security context."""
    return {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": uid, "fsGroup": uid,
            "seccompProfile": {"type": "RuntimeDefault"}}


def volume_name(path: str) -> str:
    """The volume name of a writable path (``/app/logs`` -> ``app-logs``)."""
    return path.strip("/").replace("/", "-").replace("_", "-")


def empty_dirs(paths: tuple[str, ...]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(volume, mount) of an emptyDir per writable path."""
    return [({"name": volume_name(p), "emptyDir": {"sizeLimit": "256Mi"}}, {"name": volume_name(p), "mountPath": p})
            for p in paths]


def env_json(env: Mapping[str, EnvValue]) -> list[dict[str, Any]]:
    """The ``env`` list, in the order given."""
    return [v.to_json(k) for k, v in env.items()]


def extra_container(c: Container, uid: int, sidecar: bool) -> dict[str, Any]:
    """An init container or (``sidecar``) a native sidecar."""
    out: dict[str, Any] = {"name": c.name, "image": c.image.reference, "imagePullPolicy": c.image.pull_policy}
    if c.command:
        out["command"] = list(c.command)
    if c.args:
        out["args"] = list(c.args)
    if c.env:
        out["env"] = env_json(c.env)
    if c.env_from:
        out["envFrom"] = [e.to_json() for e in c.env_from]
    if c.ports:
        out["ports"] = [{"name": p.name, "containerPort": p.port, "protocol": "TCP"} for p in c.ports]
    if sidecar:
        out["restartPolicy"] = "Always"
        if c.readiness is not None:
            out["readinessProbe"] = c.readiness.to_json()
        if c.liveness is not None:
            out["livenessProbe"] = c.liveness.to_json()
    out["resources"] = {"requests": amounts(c.resources.requests), "limits": amounts(c.resources.limits)}
    out["securityContext"] = container_security_context(uid)
    out["terminationMessagePolicy"] = "FallbackToLogsOnError"
    if c.writable_paths:
        out["volumeMounts"] = [m for _, m in empty_dirs(c.writable_paths)]
    return out


def extra_containers(init: tuple[Container, ...], sidecars: tuple[Container, ...], uid: int) -> list[dict[str, Any]]:
    """``initContainers``: the init containers in order, then the native sidecars."""
    return [extra_container(c, uid, False) for c in init] + [extra_container(c, uid, True) for c in sidecars]


def extra_volumes(init: tuple[Container, ...], sidecars: tuple[Container, ...]) -> list[dict[str, Any]]:
    """The emptyDir volumes of the extra containers' writable paths (each once)."""
    seen: dict[str, dict[str, Any]] = {}
    for c in (*init, *sidecars):
        for v, _ in empty_dirs(c.writable_paths):
            seen.setdefault(v["name"], v)
    return list(seen.values())


def values_key(name: str) -> str:
    """The Helm values key of a workload named ``name``: camelCase (``db-migrate`` -> ``dbMigrate``)."""
    head, *rest = re.split(r"[-_.]", name)
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def declare_container_values(chart: HelmChart, obj: Resource, container: Path, prefix: str, image: Image,
                             resources: Resources, what: str) -> None:
    """Declare ``<prefix>.image.*`` and ``<prefix>.resources.*`` and bind the container at
    ``container`` of ``obj`` to them (``--set <prefix>.image.tag=X`` changes the image)."""
    v = chart.values
    v.describe(prefix, f"The {what}")
    v.describe(f"{prefix}.image", f"Container image of the {what}; the digest, when set, pins it instead of the tag")
    v.describe(f"{prefix}.resources", f"Container resource requests and limits of the {what}")
    v.add(f"{prefix}.image.registry", image.registry, "Container image registry", minLength=1)
    v.add(f"{prefix}.image.repository", image.repository, "Container image repository", minLength=1)
    v.add(f"{prefix}.image.tag", image.tag, "Container image tag (an immutable release tag)", minLength=1)
    v.add(f"{prefix}.image.digest", image.digest, "Container image digest (sha256:...); when set it wins over the tag",
          pattern="^(sha256:[a-f0-9]{64})?$")
    v.add(f"{prefix}.image.pullPolicy", image.pull_policy, "Container image pull policy",
          enum=["Always", "IfNotPresent", "Never"])
    i = f"{prefix}.image"
    reg, repo, tag, digest = (values_ref(f"{i}.{k}") for k in ("registry", "repository", "tag", "digest"))
    chart.bind(obj, (*container, "image"),
               f'{{{{ if {digest} }}}}{{{{ printf "%s/%s@%s" {reg} {repo} {digest} | quote }}}}'
               f'{{{{ else }}}}{{{{ printf "%s/%s:%s" {reg} {repo} {tag} | quote }}}}{{{{ end }}}}', image.reference,
               key=i)
    chart.bind_value(obj, (*container, "imagePullPolicy"), f"{i}.pullPolicy", image.pull_policy)
    for side in ("requests", "limits"):
        a: ResourceAmounts = getattr(resources, side)
        for key, value in (("cpu", a.cpu), ("memory", a.memory), ("ephemeral-storage", a.ephemeral_storage)):
            pattern, allowed = (CPU_PATTERN, CPU_ALLOWED) if key == "cpu" else (BYTES_PATTERN, BYTES_ALLOWED)
            v.add(f"{prefix}.resources.{side}.{key}", value, f"{key} {side} of the container", pattern=pattern,
                  allowed=allowed)
            chart.bind_value(obj, (*container, "resources", side, key), f"{prefix}.resources.{side}.{key}", value)

