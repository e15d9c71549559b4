"""Capacity of the node pool: every workload at its maximum replicas against what the nodes offer.

Computed from the synthesised objects (the requests of every container of a long-running
workload, times its autoscaler's maximum or its fixed replicas) and the project's
:class:`~tripgen_cdk8s.app.model.NodePool`; the synth-time check, ``validate`` and the environment
README use the same figures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..lib.errors import ConfigError
from ..lib.quantities import byte_count, cpu_millicores, format_bytes, format_millicores
from .model import NodePool

LONG_RUNNING = ("Deployment", "Rollout", "StatefulSet")


@dataclass(frozen=True)
class ServiceCapacity:
    """One service at its maximum replicas."""

    name: str
    max_replicas: int
    cpu_millicores: int
    memory_bytes: int


@dataclass(frozen=True)
class CapacityReport:
    """Requests of every service at maxReplicas against the node pool's allocatable."""

    services: tuple[ServiceCapacity, ...]
    allocatable_cpu_millicores: int
    allocatable_memory_bytes: int
    blue_green: tuple[str, ...] | None = None
    """The services a blue-green rollout runs twice during a switch; ``None``: assume every service."""

    @property
    def doubled(self) -> tuple[ServiceCapacity, ...]:
        """The services whose fleet a rollout runs twice (blue-green); rolling updates add one pod at most."""
        if self.blue_green is None:
            return self.services
        return tuple(s for s in self.services if s.name in self.blue_green)

    @property
    def has_peak(self) -> bool:
        """Whether a rollout can double a fleet at all (an environment that only rolls has no peak)."""
        return bool(self.doubled)

    @property
    def steady_cpu(self) -> int:
        return sum(s.cpu_millicores for s in self.services)

    @property
    def steady_memory(self) -> int:
        return sum(s.memory_bytes for s in self.services)

    @property
    def largest(self) -> ServiceCapacity:
        """The service whose doubled fleet costs most during a blue-green rollout."""
        return max(self.doubled or self.services, key=lambda s: (s.cpu_millicores / self.allocatable_cpu_millicores
                                                + s.memory_bytes / self.allocatable_memory_bytes, s.name))

    @property
    def peak_cpu(self) -> int:
        return self.steady_cpu + (self.largest.cpu_millicores if self.has_peak else 0)

    @property
    def peak_memory(self) -> int:
        return self.steady_memory + (self.largest.memory_bytes if self.has_peak else 0)

    def steady_fits(self) -> bool:
        return self.steady_cpu <= self.allocatable_cpu_millicores and self.steady_memory <= self.allocatable_memory_bytes

    def peak_fits(self) -> bool:
        return self.peak_cpu <= self.allocatable_cpu_millicores and self.peak_memory <= self.allocatable_memory_bytes

    def summary(self) -> str:
        return (f"steady {format_millicores(self.steady_cpu)} CPU / {format_bytes(self.steady_memory)}, "
                f"blue-green peak {format_millicores(self.peak_cpu)} / {format_bytes(self.peak_memory)}, "
                f"allocatable {format_millicores(self.allocatable_cpu_millicores)} / "
                f"{format_bytes(self.allocatable_memory_bytes)}")


def _requests(pod_spec: dict[str, Any], key: str, parse: Callable[[str], int]) -> int:
    """The pod's request of ``key``: its containers' sum (native sidecars included)."""
    containers = [*(pod_spec.get("containers") or []),
                  *(c for c in pod_spec.get("initContainers") or [] if c.get("restartPolicy") == "Always")]
    return sum(parse(str(((c.get("resources") or {}).get("requests") or {}).get(key, "0"))) for c in containers)


def capacity_report(objects: list[dict[str, Any]], pool: NodePool) -> CapacityReport:
    """Every long-running workload at its maximum replicas (its autoscaler's, else its fixed count)."""
    maxima: dict[tuple[str, str], int] = {}
    for obj in objects:
        spec = obj.get("spec") or {}
        if obj.get("kind") == "HorizontalPodAutoscaler":
            maxima[(spec["scaleTargetRef"]["kind"], spec["scaleTargetRef"]["name"])] = int(spec["maxReplicas"])
        elif obj.get("kind") == "ScaledObject":
            ref = spec["scaleTargetRef"]
            maxima[(ref.get("kind", "Deployment"), ref["name"])] = int(spec.get("maxReplicaCount", 100))
    rows = []
    blue_green = tuple(sorted(obj["metadata"]["name"] for obj in objects if obj.get("kind") == "Rollout"
                              and "blueGreen" in ((obj.get("spec") or {}).get("strategy") or {})))
    for obj in objects:
        if obj.get("kind") not in LONG_RUNNING:
            continue
        name = obj["metadata"]["name"]
        n = maxima.get((obj["kind"], name), int((obj.get("spec") or {}).get("replicas", 1)))
        pod = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
        rows.append(ServiceCapacity(name, n, n * _requests(pod, "cpu", cpu_millicores),
                                    n * _requests(pod, "memory", byte_count)))
    return CapacityReport(tuple(rows), pool.max_nodes * cpu_millicores(pool.allocatable_cpu),
                          pool.max_nodes * byte_count(pool.allocatable_memory), blue_green)


def check_capacity(report: CapacityReport, pool: NodePool) -> list[str]:
    """Raise ConfigError when the steady state at every maximum does not fit the node pool; return
    warnings (the peak of a rollout that doubles the largest workload not fitting)."""
    if not report.services:
        return []
    if not report.steady_fits():
        raise ConfigError("node_pool", report.summary(),
                          f"allowed: sum of maxReplicas x requests within {pool.max_nodes} x {pool.name} nodes")
    if not report.peak_fits():
        return [f"warning: capacity: a blue-green rollout of {report.largest.name} does not fit: {report.summary()}"]
    return []
