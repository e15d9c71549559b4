"""How a workload is updated: a union-like class in the style of AWS CDK.

``Strategy.rolling()`` gives a Deployment with a RollingUpdate; ``Strategy.blue_green()`` and
``Strategy.canary()`` give an Argo Rollouts ``Rollout`` carrying exactly the pod template the
Deployment would have had.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ROLLOUT_API = "argoproj.io/v1alpha1"


@dataclass(frozen=True)
class PreviewAnalysis:
    """A Prometheus check of the preview before promotion (an ``AnalysisTemplate``).

    ``query`` is PromQL whose first result must satisfy ``result[0] < max_value``; the text
    ``{{args.service-name}}`` in it is replaced by Argo Rollouts with the preview Service's name.
    Defaults: five measurements one minute apart, no failure tolerated.
    """

    prometheus_address: str
    query: str
    max_value: str
    metric_name: str = "preview-check"
    interval: str = "1m"
    count: int = 5
    failure_limit: int = 0


@dataclass(frozen=True)
class RollingStrategy:
    """A Deployment's RollingUpdate (see :meth:`Strategy.rolling`)."""

    max_surge: int = 1
    max_unavailable: int = 0
    revision_history_limit: int = 10
    progress_deadline_seconds: int = 600

    kind = "Deployment"
    api_version = "apps/v1"


@dataclass(frozen=True)
class BlueGreenStrategy:
    """An Argo Rollouts blue-green update (see :meth:`Strategy.blue_green`)."""

    auto_promotion_enabled: bool = False
    scale_down_delay_seconds: int = 1800
    analysis: PreviewAnalysis | None = None
    revision_history_limit: int = 10
    progress_deadline_seconds: int = 600

    kind = "Rollout"
    api_version = ROLLOUT_API

    def to_json(self, active: str, preview: str, template: str | None) -> dict[str, Any]:
        """The Rollout's ``strategy``."""
        out: dict[str, Any] = {"activeService": active, "previewService": preview,
                               "autoPromotionEnabled": self.auto_promotion_enabled,
                               "scaleDownDelaySeconds": self.scale_down_delay_seconds}
        if template is not None:
            out["prePromotionAnalysis"] = {"templates": [{"templateName": template}],
                                           "args": [{"name": "service-name", "value": preview}]}
        return {"blueGreen": out}


def _duration(seconds: int) -> str:
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"


@dataclass(frozen=True)
class CanaryStrategy:
    """An Argo Rollouts canary (see :meth:`Strategy.canary`)."""

    steps: tuple[tuple[int, int], ...] = ((5, 600), (25, 900), (50, 1200))
    max_surge: str = "25%"
    max_unavailable: int = 0
    revision_history_limit: int = 10
    progress_deadline_seconds: int = 600

    kind = "Rollout"
    api_version = ROLLOUT_API

    def to_json(self) -> dict[str, Any]:
        """The Rollout's ``strategy``: each (weight, pause seconds) step, then full weight.  Without
        traffic routing the weights are replica ratios."""
        steps: list[dict[str, Any]] = []
        for weight, pause in self.steps:
            steps += [{"setWeight": weight}, {"pause": {"duration": _duration(pause)}}]
        steps.append({"setWeight": 100})
        return {"canary": {"maxSurge": self.max_surge, "maxUnavailable": self.max_unavailable, "steps": steps}}


AnyStrategy = RollingStrategy | BlueGreenStrategy | CanaryStrategy


class Strategy:
    """The update strategies of a workload (use the static methods)."""

    @staticmethod
    def rolling(*, max_surge: int = 1, max_unavailable: int = 0, revision_history_limit: int = 10,
                progress_deadline_seconds: int = 600) -> RollingStrategy:
        """A Deployment replaced pod by pod: at most ``max_surge`` extra pods (default 1) and
        ``max_unavailable`` missing ones (default 0)."""
        return RollingStrategy(max_surge, max_unavailable, revision_history_limit, progress_deadline_seconds)

    @staticmethod
    def blue_green(*, auto_promotion_enabled: bool = False, scale_down_delay_seconds: int = 1800,
                   analysis: PreviewAnalysis | None = None, revision_history_limit: int = 10,
                   progress_deadline_seconds: int = 600) -> BlueGreenStrategy:
        """A Rollout whose new version runs behind a ``<name>-preview`` Service until promoted
        (manually by default), optionally after ``analysis``; the old version is kept
        ``scale_down_delay_seconds`` (default 1800) for a fast rollback."""
        return BlueGreenStrategy(auto_promotion_enabled, scale_down_delay_seconds, analysis, revision_history_limit,
                                 progress_deadline_seconds)

    @staticmethod
    def canary(*, steps: tuple[tuple[int, int], ...] = ((5, 600), (25, 900), (50, 1200)), max_surge: str = "25%",
               revision_history_limit: int = 10, progress_deadline_seconds: int = 600) -> CanaryStrategy:
        """A Rollout that shifts ``steps`` of (weight percent, pause seconds), then 100 %."""
        return CanaryStrategy(steps, max_surge, 0, revision_history_limit, progress_deadline_seconds)
