"""A project built directly from the constructs: what ``overlays/<env>/config.py`` defines when a
team uses the library without an app layer of its own.

``config = Project(name="prod", build=build)`` where ``build(app)`` adds :class:`HelmChart` s to the
cdk8s App and composes constructs in them.  ``tripgen synth`` then writes ``charts/<name>/<chart>/``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import ConfigError

if TYPE_CHECKING:  # cdk8s starts the jsii runtime: imported only when a project is synthesised
    import cdk8s

    from .helmchart import SynthesizedChart

DNS_LABEL = r"^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


@dataclass(frozen=True)
class Project:
    """One environment of an app: ``name`` (``charts/<name>/``) and ``build``, which adds the
    environment's HelmCharts to the App it is given."""

    name: str
    build: Callable[[cdk8s.App], Any]


@dataclass(frozen=True)
class ProjectSynthesis:
    """The charts of one :class:`Project` environment, ready for the writer."""

    project: Project
    charts: list[SynthesizedChart]
    warnings: list[str] = field(default_factory=list)


def synthesize(project: Project) -> ProjectSynthesis:
    """Run ``project.build`` in a fresh App and synthesise every HelmChart in it, in the order they
    were created.  A chart name used twice, a non-DNS name, or an App without charts is a
    ConfigError; so is an object that breaks the generic invariants (a selector matching no pods,
    a Service without endpoints, ...)."""
    import cdk8s

    from .helmchart import HelmChart, SynthesizedChart
    from .validation import check_invariants

    if not re.match(DNS_LABEL, project.name):
        raise ConfigError("name", project.name, "allowed: a DNS label such as prod or dev")
    app = cdk8s.App()
    project.build(app)
    charts = [c for c in app.node.children if isinstance(c, HelmChart)]
    if not charts:
        raise ConfigError("build", project.name, "allowed: a build function that adds at least one HelmChart")
    out = [SynthesizedChart.of(c, project.name) for c in charts]
    for chart in out:
        if not re.match(DNS_LABEL, chart.name):
            raise ConfigError(f"charts.{chart.name}", chart.name, "allowed: a DNS label as the chart name")
    problems = check_invariants([o for c in out for o in c.objects])
    if problems:
        raise ConfigError(f"charts ({len(problems)} invariant failures)", problems[0], "allowed: objects that hold "
                          "the generic invariants (run `tripgen validate` for the whole list)")
    return ProjectSynthesis(project, out)


def project_files(synthesis: ProjectSynthesis) -> dict[str, str]:
    """Every file of ``charts/<env>/``: each chart's files, by path relative to the directory."""
    from .helm import environment_files

    return environment_files(synthesis.charts)
