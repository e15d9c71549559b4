"""One environment of any app, from its Project to the files ``synth`` writes.

:func:`synthesize` runs the project's ``build`` in a fresh cdk8s App, synthesises every HelmChart,
applies ``--set`` overrides, and refuses (ConfigError, exit 2) what breaks the generic invariants,
the project's guardrails, a dead Ingress route, the node pool's capacity or the releases file;
then adds the Argo CD manifests when the project has GitOps settings.  :func:`files` is every file
of ``charts/<env>/``: the charts, ``argocd/`` and the environment README.  Every command
(``synth``, ``diff``, ``validate``, ``graph``, ``release``) goes through here, for every app.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..lib.errors import ConfigError
from ..lib.helmchart import SynthesizedChart
from .capacity import CapacityReport, capacity_report, check_capacity
from .guardrails import check_guardrails, check_ingress_routes, guard_values
from .model import DNS_LABEL, Project


@dataclass(frozen=True)
class EnvironmentSynthesis:
    """The charts of one environment (the Helm charts, then the Argo CD manifests when configured),
    the capacity report when the project names a node pool, and warnings for stderr."""

    project: Project
    charts: list[SynthesizedChart]
    warnings: list[str] = field(default_factory=list)
    capacity: CapacityReport | None = None

    @property
    def name(self) -> str:
        """The environment's name."""
        return self.project.name

    @property
    def helm_charts(self) -> list[SynthesizedChart]:
        """The Helm charts (not the Argo CD manifests)."""
        return [c for c in self.charts if c.is_helm]

    @property
    def objects(self) -> list[dict[str, Any]]:
        """Every object of the Helm charts, in chart order."""
        return [o for c in self.helm_charts for o in c.objects]


def build_charts(project: Project) -> list[SynthesizedChart]:
    """Run ``project.build`` in a fresh App and synthesise every HelmChart in it, in creation order."""
    import cdk8s

    from ..lib.helmchart import HelmChart

    if not DNS_LABEL.match(project.name):
        raise ConfigError("name", project.name, "allowed: a DNS label such as prod or dev")
    from .loader import user_code

    app = cdk8s.App()
    try:
        with user_code(f"overlays/{project.name}/config.py: build"):
            project.build(app)
            charts = [c for c in app.node.children if isinstance(c, HelmChart)]
            refused = add_guardrail_policy(project, charts)
            out = [] if refused else [SynthesizedChart.of(c, project.name) for c in charts]
    except ConfigError as err:  # a construct's own check (ConstructError) or a props error: add where
        converted = _user_error(err)
        raise (converted or err) from None
    except SystemExit as exc:
        raise ConfigError(f"overlays/{project.name}/config.py: build", f"SystemExit({exc.code})",
                          "allowed: a build function that returns, not one that exits") from None
    except Exception as exc:  # the build function is the team's code
        converted = _user_error(exc)
        if converted is None:
            raise
        raise converted from None
    if refused is not None:
        raise refused
    if not out:
        raise ConfigError("build", project.name, "allowed: a build function that adds at least one HelmChart")
    seen: set[str] = set()
    for chart in out:
        if not DNS_LABEL.match(chart.name):
            raise ConfigError(f"charts.{chart.name}", chart.name, "allowed: a DNS label as the chart name")
        if chart.name in seen:
            raise ConfigError(f"charts.{chart.name}", chart.name, "allowed: each chart name once")
        seen.add(chart.name)
    return out


def add_guardrail_policy(project: Project, charts: list[Any]) -> ConfigError | None:
    """With ``guardrails.enforce_in_cluster``, add the :class:`GuardrailPolicy` of the project's
    namespace to the chart that creates the namespace (else the first chart deploying to it); the
    error (not raised: the caller reports it as the config's) when the charts' Kubernetes minimum
    predates ValidatingAdmissionPolicy v1."""
    g = project.guardrails
    if not g.enforce_in_cluster or not charts:
        return None
    from ..lib.constructs.guardrail_policy import MINIMUM_MINOR, GuardrailPolicy, GuardrailPolicyProps
    from ..lib.kubeversions import KubernetesVersions

    versions = KubernetesVersions.union([c.props.kubernetes for c in charts])
    if versions.minor(versions.minimum) < MINIMUM_MINOR:
        return ConfigError("guardrails.enforce_in_cluster", True, f"allowed: with a Kubernetes minimum of 1.{MINIMUM_MINOR} "
                           f"or later (ValidatingAdmissionPolicy is GA from 1.{MINIMUM_MINOR}; the charts' minimum is "
                           f"{versions.minimum}: HelmChartProps.kubernetes)")
    namespace = project.namespace or charts[0].target_namespace
    deploying = [c for c in charts if c.target_namespace == namespace] or charts
    home = next((c for c in deploying if any(r.kind == "Namespace" for r in c.resources)), deploying[0])
    GuardrailPolicy(home, "guardrail-policy", GuardrailPolicyProps(
        immutable_image_tags=g.immutable_image_tags, release_tag_pattern=g.release_tag_pattern,
        require_digest=g.require_digest, require_resources=g.require_resources, require_probes=g.require_probes,
        namespace=namespace))
    return None


def validate_project(project: Project) -> None:
    """The project's own data: guardrails that can be checked, a sync window that means what it says."""
    import re

    g = project.guardrails
    if isinstance(g.min_replicas, bool) or not isinstance(g.min_replicas, int) or not 1 <= g.min_replicas <= 1000:
        raise ConfigError("guardrails.min_replicas", g.min_replicas, "allowed: an integer from 1 to 1000")
    try:
        re.compile(g.release_tag_pattern)
    except (re.error, TypeError) as exc:
        raise ConfigError("guardrails.release_tag_pattern", g.release_tag_pattern,
                          f"allowed: a regular expression ({exc})") from None
    from .guardrails import portable_pattern_problem

    if problem := portable_pattern_problem(g.release_tag_pattern):
        raise ConfigError("guardrails.release_tag_pattern", g.release_tag_pattern,
                          f"allowed: a regular expression Python and Go read alike (the chart templates check it): {problem}")
    if not isinstance(g.enforce_in_cluster, bool):
        raise ConfigError("guardrails.enforce_in_cluster", g.enforce_in_cluster, "allowed: True or False")
    if g.enforce_in_cluster and g.immutable_image_tags and not g.require_digest:
        from ..lib.constructs.guardrail_policy import re2_problem

        problem = re2_problem(g.release_tag_pattern)
        if problem:
            raise ConfigError("guardrails.release_tag_pattern", g.release_tag_pattern,
                              f"allowed: with enforce_in_cluster, a pattern RE2 also reads ({problem})")
    if project.gitops is not None and project.gitops.chart_registry:
        from .publish import parse_registry

        parse_registry(project.gitops.chart_registry, "gitops.chart_registry")
    w = project.gitops.sync_window if project.gitops else None
    if w is not None and not (len(w.schedule.split()) == 5 and w.opens_once_a_day()):
        raise ConfigError("gitops.sync_window.schedule", w.schedule, "allowed: a five-field schedule that opens once "
                          "a day (Argo CD opens the window at every match); SyncWindow.weekly(start, end, days, ...)")


def check_values(charts: list[SynthesizedChart]) -> None:
    """Every chart's values (the defaults, with this run's ``--set``) against the checks its templates
    make at install time (the schema's patterns and bounds, the tag rule, min <= max, the PDB below the
    minimum): the first broken one is a ConfigError worded as ``helm template`` words it."""
    for chart in (c for c in charts if c.is_helm):
        for key, value, allowed in chart.values.problems():
            raise ConfigError(f"{chart.name}.{key}", value, allowed)


def check_objects(project: Project, objects: list[dict[str, Any]]) -> list[str]:
    """Every problem of the environment's objects: the generic invariants, dead Ingress routes and
    the project's guardrails (one line each)."""
    from ..lib.validation import check_invariants

    return [*check_invariants(objects), *check_ingress_routes(objects), *check_guardrails(objects, project.guardrails)]


def synthesize(project: Project, root: Path | None = None, sets: tuple[str, ...] = (),
               charts_dir: Path | None = None) -> EnvironmentSynthesis:
    """Synthesise ``project`` (with ``--set`` overrides): checked charts, or ConfigError.  With the
    project directory ``root``, an ``overlays/<env>/releases.yaml`` must be what the charts run.
    Chart versions follow the committed charts in ``charts_dir`` (default ``root/charts``)."""
    from .overrides import apply_values

    if sets and project.overrides is not None:
        project = project.overrides(sets)
    validate_project(project)
    charts = build_charts(project)
    guard_values(charts, project.guardrails)
    if sets and project.overrides is None:
        apply_values(charts, sets)
    try:
        # the releases file is checked on the committed config: a one-run --set image.tag is not a release
        report, warnings = _check(project, None if sets else root, charts)
    except ConfigError as err:
        if not sets:
            raise
        # a value set for this run broke a rule across objects: say which run's values did it
        raise ConfigError(f"--set {' '.join(sets)}: {err.field}", err.value, err.allowed) from None
    if charts_dir is None and root is not None:
        charts_dir = root / "charts"
    charts = _versioned(project, charts_dir, charts)
    if project.gitops is not None:
        from .gitops import gitops_chart

        charts = [*charts, gitops_chart(project, charts)]
    return EnvironmentSynthesis(project, charts, warnings, report)


def _versioned(project: Project, charts_dir: Path | None, charts: list[SynthesizedChart]) -> list[SynthesizedChart]:
    """Each chart with the project's Chart.yaml metadata (unless it has its own), its content digest
    and its version: the committed chart's in ``charts_dir/<env>/`` when the content is the same,
    its patch bumped when not (see :func:`tripgen_cdk8s.lib.helm.next_version`)."""
    import yaml

    from ..lib.helm import versioned
    from ..lib.writer import read_owned

    out = []
    for chart in charts:
        if chart.metadata is None and project.chart_metadata is not None:
            chart = dataclasses.replace(chart, metadata=project.chart_metadata)
        committed = None
        if charts_dir is not None:
            text = read_owned(charts_dir / project.name, f"{chart.name}/Chart.yaml")
            try:
                parsed = yaml.safe_load(text) if text is not None else None
            except yaml.YAMLError:
                parsed = None
            committed = parsed if isinstance(parsed, dict) else None
        out.append(versioned(chart, committed))
    return out


def _check(project: Project, root: Path | None, charts: list[SynthesizedChart]) -> tuple[CapacityReport | None, list[str]]:
    """The environment-wide checks: invariants, dead routes, guardrails, the values' install-time
    checks, capacity, releases."""
    objects = [o for c in charts for o in c.objects]
    problems = check_objects(project, objects)
    if problems:
        raise ConfigError(f"charts ({len(problems)} problem{'s' if len(problems) > 1 else ''})", problems[0],
                          "allowed: objects that hold the invariants and guardrails (`tripgen validate` lists all)")
    check_values(charts)  # before the capacity figures parse the quantities
    warnings = list(project.warnings)
    report = None
    if project.node_pool is not None:
        report = capacity_report(objects, project.node_pool)
        warnings += check_capacity(report, project.node_pool)
    if root is not None:
        from .releases import check_applied, load_releases, releases_path

        path = releases_path(root, project.name)
        if path.is_file():
            check_applied(load_releases(path), objects, project.name)
    return report, warnings


def _destination(synthesis: EnvironmentSynthesis) -> tuple[str, str]:
    g = synthesis.project.gitops
    return (g.destination.server, g.destination.name) if g is not None else ("", "")


def check_cluster_names(syntheses: list[EnvironmentSynthesis]) -> list[str]:
    """Two environments of an app deployed to one cluster share no object names there: no
    cluster-scoped object (Namespace, ClusterRole...) and no Argo CD object (AppProject,
    Application, in the shared Argo CD namespace) of one environment has the name of the other's,
    so both can be bootstrapped side by side (the second would otherwise take over, or fight over,
    the first's objects).  Environments deploying to different clusters (``gitops.destination``)
    are not compared.  One line per name, naming both environments."""
    from .gitops import is_cluster_scoped

    owners: dict[tuple[tuple[str, str], str, str | None, str], str] = {}
    errors = []
    for s in syntheses:
        dest = _destination(s)
        shared = [(o, False) for c in s.helm_charts for o in c.objects if is_cluster_scoped(o)]
        shared += [(o, True) for c in s.charts if not c.is_helm for o in c.objects]
        for obj, argo in shared:
            ns = obj["metadata"].get("namespace") if argo else None
            key = (dest, obj["kind"], ns, obj["metadata"]["name"])
            other = owners.setdefault(key, s.name)
            if other != s.name:
                where = f" in namespace {ns}" if ns else ""
                fix = ("gitops.project or the app's name per environment" if argo else
                       "environment-scoped names (ClusterRoleGrant prefixes the namespace) and one namespace per environment")
                errors.append(f"{obj['kind']}/{obj['metadata']['name']}{where}: emitted by environments {other} and "
                              f"{s.name}, which deploy to one cluster; allowed: a name of one environment ({fix})")
    return errors


def files(synthesis: EnvironmentSynthesis) -> dict[str, str]:
    """Every file of ``charts/<env>/``, by relative path: each chart's files, ``argocd/`` and (unless
    the project turns it off) ``README.md`` with the services, capacity and topology, built from the
    synthesised objects."""
    from ..lib import helm
    from . import topology
    from .gitops import app_name

    out = helm.environment_files(synthesis.charts)
    p = synthesis.project
    if p.readme:
        helm_charts = synthesis.helm_charts
        out["README.md"] = topology.environment_readme(
            p.name, synthesis.objects, synthesis.capacity, p.namespace or helm_charts[0].namespace,
            title=p.description or app_name(p, helm_charts))
    return out


def committed_files(synthesis: EnvironmentSynthesis, root: Path) -> dict[str, str]:
    """Every file ``synth`` commits in ``charts/<env>/``: :func:`files` plus the rendered-object
    snapshot of each chart (``.rendered/<chart>.yaml``, rendered with helm: $TRIPGEN_HELM, the
    project's .tools/bin/helm, else helm on PATH; UsageError when there is none)."""
    from ..lib.rendered import render_environment
    from ..lib.validation import find_helm

    out = files(synthesis)
    out.update(render_environment(find_helm(root), synthesis.name, out, synthesis.charts))
    return out


def replace(project: Project, **changes: Any) -> Project:
    """``project`` with ``changes`` (a typed ``dataclasses.replace``)."""
    return dataclasses.replace(project, **changes)


PACKAGE_DIR = Path(__file__).resolve().parent.parent


def _in_package(filename: str) -> bool:
    try:
        return Path(filename).resolve().is_relative_to(PACKAGE_DIR)
    except (OSError, ValueError):
        return False


def _is_library(filename: str) -> bool:
    """A frame of this package, an installed library (jsii, cdk8s) or the standard library."""
    import sys
    import sysconfig

    if filename.startswith("<") or _in_package(filename) or "site-packages" in filename:
        return True
    stdlib = sysconfig.get_paths()["stdlib"]
    return filename.startswith((stdlib, sys.base_prefix))


def _user_error(exc: BaseException) -> ConfigError | None:
    """A mistake made in the build function, as one line naming the file and line of the team's
    code where it happened: a props class called with a field it does not have or without one it
    needs (:func:`tripgen_cdk8s.lib.errors.user_error`, with the nearest field name), an exception
    raised in the team's own code, or a construct's own check.  None for anything else (a defect
    of the library: an internal error)."""
    import traceback

    from ..lib.errors import user_error

    frames = traceback.extract_tb(exc.__traceback__)
    user = [f for f in frames if not _is_library(f.filename)]
    where = f"{Path(user[-1].filename).name}:{user[-1].lineno}" if user else "build"
    props = user_error(exc)
    if props is not None:
        return ConfigError(f"{where}: {props.field}", props.value, props.allowed) if user else props
    raised_in_user_code = bool(frames) and not _is_library(frames[-1].filename)
    if not (raised_in_user_code or isinstance(exc, ValueError)):
        return None
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return ConfigError(where, type(exc).__name__, text)
