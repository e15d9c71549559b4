"""Synth-time invariants that span objects: capacity of the node pool (TRIPGEN.md section 4).

The capacity numbers are computed once here; the check and any report use the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..lib.errors import ConfigError
from ..lib.quantities import byte_count, cpu_millicores, format_bytes, format_millicores
from .config import Environment


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

    @property
    def steady_cpu(self) -> int:
        return sum(s.cpu_millicores for s in self.services)

    @property
    def steady_memory(self) -> int:
        return sum(s.memory_bytes for s in self.services)

    @property
    def largest(self) -> ServiceCapacity:
        """The service whose doubled fleet costs most during a blue-green rollout."""
        return max(self.services, key=lambda s: (s.cpu_millicores / self.allocatable_cpu_millicores
                                                + s.memory_bytes / self.allocatable_memory_bytes, s.name))

    @property
    def peak_cpu(self) -> int:
        return self.steady_cpu + self.largest.cpu_millicores

    @property
    def peak_memory(self) -> int:
        return self.steady_memory + self.largest.memory_bytes

    def steady_fits(self) -> bool:
        return self.steady_cpu <= self.allocatable_cpu_millicores and self.steady_memory <= self.allocatable_memory_bytes

    def peak_fits(self) -> bool:
        return self.peak_cpu <= self.allocatable_cpu_millicores and self.peak_memory <= self.allocatable_memory_bytes

    def summary(self) -> str:
        return (f"steady {format_millicores(self.steady_cpu)} CPU / {format_bytes(self.steady_memory)}, "
                f"blue-green peak {format_millicores(self.peak_cpu)} / {format_bytes(self.peak_memory)}, "
                f"allocatable {format_millicores(self.allocatable_cpu_millicores)} / "
                f"{format_bytes(self.allocatable_memory_bytes)}")


def capacity_report(env: Environment) -> CapacityReport:
    """Every service at its maximum replicas (fixed replicas when not autoscaled)."""
    rows = []
    for svc in env.services:
        n = svc.scaling.max_replicas if svc.scaling else svc.replicas
        rows.append(ServiceCapacity(svc.name, n, n * cpu_millicores(svc.resources.requests.cpu),
                                    n * byte_count(svc.resources.requests.memory)))
    pool = env.node_pool
    return CapacityReport(tuple(rows), pool.max_nodes * cpu_millicores(pool.allocatable_cpu),
                          pool.max_nodes * byte_count(pool.allocatable_memory))


def check_capacity(env: Environment) -> list[str]:
    """Raise ConfigError when the steady state at every maxReplicas does not fit the node pool;
    return warnings (the blue-green peak not fitting)."""
    report = capacity_report(env)
    if not report.steady_fits():
        raise ConfigError("services.*.scaling.max_replicas", report.summary(),
                          f"allowed: sum of maxReplicas x requests within {env.node_pool.max_nodes} x "
                          f"{env.node_pool.name} nodes")
    if not report.peak_fits():
        return [f"warning: capacity: a blue-green rollout of {report.largest.name} does not fit: {report.summary()}"]
    return []
