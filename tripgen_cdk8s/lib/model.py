"""The value types the generic constructs take: images, resources, scaling, network peers.

Plain frozen dataclasses with no cdk8s in them, so a config model (an app layer's, or a team's own)
can hold them and tests can build them without jsii.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SEMVER_TAG = (r"^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
              r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$")
"""The default release-tag pattern: a semantic version (``1.4.2``, ``v1.2.0``, ``2.0.0-rc.1``)."""


@dataclass(frozen=True)
class ResourceAmounts:
    """CPU, memory and ephemeral storage for one side (requests or limits) of a container."""

    cpu: str
    memory: str
    ephemeral_storage: str = "256Mi"


@dataclass(frozen=True)
class Resources:
    """Container requests and limits."""

    requests: ResourceAmounts
    limits: ResourceAmounts

    @classmethod
    def sized(cls, cpu: str, memory: str, cpu_limit: str, memory_limit: str,
              ephemeral_storage: str = "256Mi", ephemeral_storage_limit: str = "1Gi") -> Resources:
        """Requests and limits from "cpu / memory" columns; ephemeral storage defaults to 256Mi / 1Gi."""
        return cls(ResourceAmounts(cpu, memory, ephemeral_storage), ResourceAmounts(cpu_limit, memory_limit,
                                                                                    ephemeral_storage_limit))


@dataclass(frozen=True)
class Image:
    """A container image; ``digest`` (``sha256:...``) pins it and wins over ``tag`` when set.
    ``pull_policy`` defaults to ``IfNotPresent``."""

    registry: str
    repository: str
    tag: str
    digest: str = ""
    pull_policy: str = "IfNotPresent"

    @property
    def reference(self) -> str:
        """``registry/repository@digest``, or ``registry/repository:tag`` without a digest."""
        ref = f"{self.registry}/{self.repository}"
        return f"{ref}@{self.digest}" if self.digest else f"{ref}:{self.tag}"


@dataclass(frozen=True)
class PodsMetric:
    """A per-pod custom metric served by the custom-metrics adapter, with its average target."""

    name: str
    average_value: int


@dataclass(frozen=True)
class ObjectMetric:
    """A metric describing one Kubernetes object (an Ingress's requests per second, say): ``name``,
    the object (``api_version``, ``kind``, ``object_name``) and its target ``value`` (a quantity),
    or with ``average`` True the value divided by the pod count (``AverageValue``)."""

    name: str
    api_version: str
    kind: str
    object_name: str
    value: str
    average: bool = False
    selector: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExternalMetric:
    """A metric from outside the cluster served by an external-metrics adapter (a queue's length):
    ``name``, an optional label ``selector`` and the target ``value`` (a quantity), or with
    ``average`` True per pod (``AverageValue``)."""

    name: str
    value: str
    average: bool = False
    selector: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HorizontalScaling:
    """Scaling through an ``autoscaling/v2`` HorizontalPodAutoscaler on any mix of metrics, at least
    one: cpu and memory utilisation targets (percent of requests; each default None, not used),
    then ``pods_metrics``, ``object_metrics`` and ``external_metrics`` (default none);
    scale-down stabilisation defaults to 300 s."""

    min_replicas: int
    max_replicas: int
    cpu_utilization: int | None = None
    memory_utilization: int | None = None
    pods_metrics: tuple[PodsMetric, ...] = ()
    scale_down_stabilization_seconds: int = 300
    object_metrics: tuple[ObjectMetric, ...] = ()
    external_metrics: tuple[ExternalMetric, ...] = ()

    @property
    def metric_count(self) -> int:
        """How many metrics the HPA has."""
        return ((self.cpu_utilization is not None) + (self.memory_utilization is not None) + len(self.pods_metrics)
                + len(self.object_metrics) + len(self.external_metrics))


@dataclass(frozen=True)
class KedaScaling:
    """Scaling through a KEDA ``ScaledObject`` on at least one trigger: cpu and memory utilisation
    triggers (each default None, not used), then ``triggers`` of any KEDA type (each a KEDA
    trigger without ``authenticationRef``: type, metadata...; default none).

    ``authentication``: the spec of a ``TriggerAuthentication`` (``<workload>-<authentication_name>``)
    every extra trigger references; default None (no TriggerAuthentication).  Scale-down
    stabilisation defaults to 300 s.
    """

    min_replicas: int
    max_replicas: int
    cpu_utilization: int | None = None
    memory_utilization: int | None = None
    triggers: tuple[Mapping[str, Any], ...] = ()
    authentication: Mapping[str, Any] | None = None
    authentication_name: str = "keda"
    scale_down_stabilization_seconds: int = 300

    @property
    def metric_count(self) -> int:
        """How many triggers the ScaledObject has."""
        return (self.cpu_utilization is not None) + (self.memory_utilization is not None) + len(self.triggers)


FEATURES = "network.tripgen-cdk8s.io/features"
"""Annotation of a workload object: the egress features it turns on, comma-separated."""
FEATURE_EGRESS = "network.tripgen-cdk8s.io/feature-egress"
"""Annotation of a NetworkPolicy: the egress features whose destinations it allows, comma-separated."""
INTERNET_EGRESS = "network.tripgen-cdk8s.io/internet-egress"
"""Annotation of a NetworkPolicy allowing Internet egress: the reason(s) config gave."""


@dataclass(frozen=True)
class IpBlock:
    """A network peer outside the cluster: ``cidr`` minus the ``except_`` ranges."""

    cidr: str
    except_: tuple[str, ...] = ()
    description: str = ""

    PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")

    @staticmethod
    def internet(reason: str) -> IpBlock:
        """Every IPv4 address except the private ranges (RFC 1918), allowed for ``reason`` (required:
        the hosts or the purpose, written into the NetworkPolicy as the annotation
        ``network.tripgen-cdk8s.io/internet-egress``; the validate invariant refuses Internet egress
        without one)."""
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError("IpBlock.internet(reason=...): Internet egress needs a reason (the hosts or the purpose)")
        return IpBlock("0.0.0.0/0", IpBlock.PRIVATE_RANGES, reason)

    @property
    def is_internet(self) -> bool:
        """Whether the block is the whole address space (``0.0.0.0/0`` or ``::/0``, minus exceptions)."""
        return self.cidr.endswith("/0")

    def to_json(self) -> dict[str, Any]:
        """The NetworkPolicy ``ipBlock``."""
        out: dict[str, Any] = {"cidr": self.cidr}
        if self.except_:
            out["except"] = list(self.except_)
        return out


@dataclass(frozen=True)
class EgressFeature:
    """A feature a workload turns on that needs egress outside the cluster, and where that egress
    goes: ``name`` (``kubernetes-api``, ``telemetry``, ``store-postgresql``...), the
    ``destinations`` (address blocks named in config: the API server's CIDR, the telemetry
    endpoint's ranges, a private endpoint's subnet, or ``IpBlock.internet(reason=...)``) and TCP
    ``ports`` (default 443).  ``connections.allow_feature(feature)`` allows the egress and records
    that the workload's policy serves the feature; ``connections.uses(name)`` records that the
    workload turns it on (a MicroService with ``kubernetes_api_access`` does so itself)."""

    name: str
    destinations: tuple[IpBlock, ...]
    ports: tuple[int, ...] = (443,)


@dataclass(frozen=True)
class Toleration:
    """A pod toleration; ``operator`` defaults to ``Equal``, ``effect`` to ``NoSchedule``."""

    key: str
    value: str = ""
    operator: str = "Equal"
    effect: str = "NoSchedule"

    def to_json(self) -> dict[str, Any]:
        out = {"key": self.key, "operator": self.operator, "effect": self.effect}
        if self.operator == "Equal":
            out["value"] = self.value
        return out


@dataclass(frozen=True)
class SecretFile:
    """A key of a Kubernetes Secret created outside the charts, mounted as a file ``alias``."""

    secret: str
    key: str
    alias: str




DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")


@dataclass(frozen=True)
class SyncWindow:
    """An ArgoCD sync window: ``kind`` allow or deny, a cron ``schedule`` at which the window opens,
    how long it stays open (``duration`` such as ``2h``), its ``time_zone``; ``applications``
    (globs) default to all.  ``manual_sync``: whether a person may still sync by hand while the
    window blocks automated syncs (the break-glass for an approved hotfix); default False.

    Argo CD opens the window at every time the schedule matches, for ``duration`` each: a schedule
    of ``0 2-4 * * 1-5`` with ``2h`` opens at 02:00, 03:00 and 04:00 and allows 02:00-06:00.
    :meth:`weekly` writes the schedule from what a person means (``02:00``-``04:00``, ``Mon-Fri``).
    """

    kind: str
    schedule: str
    duration: str
    time_zone: str
    applications: tuple[str, ...] = ("*",)
    manual_sync: bool = False

    @classmethod
    def weekly(cls, start: str, end: str, days: str, time_zone: str, *, kind: str = "allow",
               manual_sync: bool = False, applications: tuple[str, ...] = ("*",)) -> SyncWindow:
        """The window open from ``start`` to ``end`` (``HH:MM``, the same day; ``end`` after
        ``start``) on ``days`` (``Mon-Fri``, ``Sat,Sun``, ``Mon``), in ``time_zone``: one opening per
        day, at ``start``, lasting ``end - start``."""
        import re

        times = []
        for label, text in (("start", start), ("end", end)):
            m = re.fullmatch(r"([01][0-9]|2[0-3]):([0-5][0-9])", text)
            if not m:
                raise ValueError(f"SyncWindow.weekly {label}: {text!r} is not HH:MM (00:00-23:59)")
            times.append(int(m[1]) * 60 + int(m[2]))
        if times[1] <= times[0]:
            raise ValueError(f"SyncWindow.weekly: end {end} is not after start {start} (the same day)")
        cron_days = []
        for part in days.split(","):
            ends = part.split("-")
            if len(ends) > 2 or any(e not in DAYS for e in ends):
                raise ValueError(f"SyncWindow.weekly days: {days!r}; allowed: names {', '.join(DAYS)}, ranges "
                                 "such as Mon-Fri, lists such as Sat,Sun")
            cron_days.append("-".join(str(DAYS.index(e)) for e in ends))
        minutes = times[1] - times[0]
        duration = f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"
        schedule = f"{times[0] % 60} {times[0] // 60} * * {','.join(cron_days)}"
        return cls(kind=kind, schedule=schedule, duration=duration, time_zone=time_zone, applications=applications,
                   manual_sync=manual_sync)

    def opens_once_a_day(self) -> bool:
        """Whether the schedule opens the window at one minute of one hour (so ``duration`` is the
        whole window); a list, range or step in those fields opens it several times."""
        minute, hour = self.schedule.split()[:2]
        return minute.isdigit() and hour.isdigit()


@dataclass(frozen=True)
class Maintainer:
    """One entry of Chart.yaml's ``maintainers``: a name, and optionally an email and a URL."""

    name: str
    email: str = ""
    url: str = ""


@dataclass(frozen=True)
class ChartMetadata:
    """What Chart.yaml says about where a chart comes from: ``home`` (the project's URL),
    ``sources`` (URLs of its source code) and ``maintainers``."""

    home: str = ""
    sources: tuple[str, ...] = ()
    maintainers: tuple[Maintainer, ...] = ()
