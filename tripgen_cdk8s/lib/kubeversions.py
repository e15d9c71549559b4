"""The Kubernetes versions a project's charts support: a minimum and a maximum minor.

The charts' ``kubeVersion`` (a lower bound only: a newer cluster is judged by ``validate``, not
refused by Helm), the namespaces' Pod Security ``enforce-version`` and ``tripgen validate`` (the
strict schemas of every minor in the range) follow it.  The schemas are those kubernetes-validate
ships, so the range must lie within its versions (1.25-1.37 in the pinned release).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ConfigError

SCHEMA_MINORS = range(25, 38)
"""The minors whose schemas kubernetes-validate ships (1.25-1.37)."""
_MINOR = re.compile(r"^1\.(0|[1-9]\d{0,2})$")


@dataclass(frozen=True)
class KubernetesVersions:
    """``minimum`` and ``maximum``: minors such as ``"1.29"``; default 1.29 (the oldest the charts
    were written for) to 1.37 (the newest AKS release, December 2026)."""

    minimum: str = "1.29"
    maximum: str = "1.37"

    def __post_init__(self) -> None:
        allowed = f"allowed: a minor 1.{SCHEMA_MINORS[0]} to 1.{SCHEMA_MINORS[-1]} (the schemas kubernetes-validate ships)"
        for name in ("minimum", "maximum"):
            value = getattr(self, name)
            m = _MINOR.match(value) if isinstance(value, str) else None
            if not m or int(m.group(1)) not in SCHEMA_MINORS:
                raise ConfigError(f"kubernetes.{name}", value, allowed)
        if self.minor(self.minimum) > self.minor(self.maximum):
            raise ConfigError("kubernetes.maximum", self.maximum, f"allowed: at least the minimum {self.minimum}")

    @staticmethod
    def minor(version: str) -> int:
        """18 of ``1.18``."""
        return int(version.split(".")[1])

    @property
    def minors(self) -> list[str]:
        """Every minor of the range, oldest first."""
        return [f"1.{m}" for m in range(self.minor(self.minimum), self.minor(self.maximum) + 1)]

    @property
    def kube_version(self) -> str:
        """Chart.yaml's ``kubeVersion``: the lower bound only (``>=1.29.0-0``, pre-releases included,
        as AKS reports ``v1.29.x`` without one but others add ``-eks...``)."""
        return f">={self.minimum}.0-0"

    @property
    def pod_security_version(self) -> str:
        """The Pod Security ``enforce-version``: the policy as of the minimum, the same on every
        cluster of the range."""
        return f"v{self.minimum}"

    def __str__(self) -> str:
        return self.minimum if self.minimum == self.maximum else f"{self.minimum}-{self.maximum}"

    @staticmethod
    def union(ranges: list[KubernetesVersions]) -> KubernetesVersions:
        """The smallest range containing every range of ``ranges`` (the default range when empty)."""
        if not ranges:
            return KubernetesVersions()
        lo = min(ranges, key=lambda r: r.minor(r.minimum)).minimum
        hi = max(ranges, key=lambda r: r.minor(r.maximum)).maximum
        return KubernetesVersions(lo, hi)
