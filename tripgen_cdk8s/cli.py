"""The ``tripgen`` command line: thin wrappers that parse, call the library, print, and exit.

Exit codes: 0 ok, 1 a check failed (``synth --check``, ``diff``, ``validate``), 2 bad config or usage.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from .lib.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from .app.capacity import CapacityReport
    from .app.pipeline import EnvironmentSynthesis


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _project(project: Path) -> Path:
    """The project directory: it must hold ``overlays/<env>/config.py``; otherwise exit 2."""
    from .app import loader as overlays

    root = project.resolve()
    if not root.is_dir():
        _fail(f"--project: {project} is not a directory")
    if not (root / "overlays").is_dir():
        _fail(f"--project: {project} has no overlays/ directory (overlays/<env>/config.py); "
              "run tripgen in the project directory or pass --project DIR")
    if not overlays.available(root):
        _fail(f"--project: {project}/overlays holds no <env>/config.py")
    return root


def _finite(option: str, value: float) -> float:
    """``value`` unless it is NaN (which every range comparison lets through)."""
    if value != value:
        raise click.BadParameter(f"{value} is not a number of seconds from 0 to 86400", param_hint=option)
    return value


def _shown(path: Path) -> str:
    """``path`` as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(path)


def _environments(root: Path, env: str) -> list[str]:
    from .app import loader as overlays

    envs = overlays.available(root)
    if env == "all":
        return envs
    if env not in envs:
        _fail(f"--env: invalid value {env!r}; allowed: {', '.join(envs + ['all'])}")
    return [env]


def _synthesize(root: Path, env_names: list[str], sets: tuple[str, ...]) -> list[EnvironmentSynthesis]:
    """Load, override, validate and synthesise every selected environment, or exit 2.

    Each ``--set`` applies to every selected environment whose chart has that key; one that no
    environment has is an error (the message of the environment nearest to having it)."""
    from .app import loader, pipeline
    from .app.overrides import NotApplicable

    results = []
    skipped: dict[str, list[NotApplicable]] = {}
    try:
        for name in env_names:
            project = loader.load(root, name)
            mine = list(sets)
            while True:
                try:
                    synthesis = pipeline.synthesize(project, root, tuple(mine))
                    break
                except NotApplicable as err:
                    if len(env_names) == 1 or err.assignment not in mine:
                        raise
                    skipped.setdefault(err.assignment, []).append(err)
                    mine.remove(err.assignment)
            for warning in synthesis.warnings:
                click.echo(warning, err=True)
            results.append(synthesis)
        for errors in skipped.values():
            if len(errors) == len(env_names):  # no environment has it: the error of one that has the chart
                raise next((e for e in errors if "unknown values key" in e.allowed), errors[0])
        clashes = pipeline.check_cluster_names(results)
        if clashes:
            raise ConfigError(f"environments ({len(clashes)} shared name{'s' if len(clashes) > 1 else ''})", clashes[0],
                              "allowed: cluster-scoped and Argo CD object names of one environment each")
        return results
    except (ConfigError, UsageError) as err:
        _fail(str(err))


def _example(*lines: str) -> str:
    """A click epilog: the command's examples, printed verbatim (``\\b`` keeps click from rewrapping)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


_DEBUG = click.option("--debug", is_flag=True, expose_value=False, is_eager=True,
                      help="On an internal error, show the Python traceback.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=_example(
    "tripgen synth                       # write charts/<env>/ for every environment",
    "tripgen validate                    # check them: helm, schemas, CRDs, invariants, checkov",
    "tripgen synth --help                # one command's options and examples"))
@click.version_option(package_name="tripgen-cdk8s")
@_DEBUG
def cli() -> None:
    """Generate Helm charts from the typed per-environment configs (overlays/<env>/config.py)."""


def _env_option(verb: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The ``--env ENV|all`` option, its help saying what the command does with the environment."""
    return click.option("--env", "env", default="all", show_default=True, metavar="ENV|all",
                        help=f"Environment to {verb} (every environment that has an overlay by default).")


ENV_OPTION = _env_option("generate")
PROJECT_OPTION = click.option("--project", "project", type=click.Path(path_type=Path), default=Path("."),
                              show_default=True, help="The project directory, which holds overlays/<env>/config.py.")


def _common(fn: Any) -> Any:
    return PROJECT_OPTION(_DEBUG(fn))


@cli.command(epilog=_example(
    "tripgen synth                                   # every environment into charts/",
    "tripgen synth --env dev                         # one environment",
    "tripgen synth --check                           # CI: exit 1 when charts/ is stale",
    "tripgen synth --set trip-service.autoscaling.maxReplicas=12   # one value, this run only"))
@_common
@ENV_OPTION
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="Directory that receives <env>/<chart>/ (default: charts/ in the project).")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 listing stale files when --out differs.")
@click.option("--set", "sets", multiple=True, metavar="SERVICE.KEY=VALUE",
              help="Override a chart value for this run, e.g. trip-service.autoscaling.maxReplicas=12.")
@click.option("--lock-timeout", "lock_timeout", type=click.FloatRange(min=0, max=86400), default=30.0, show_default=True,
              callback=lambda _ctx, _param, value: _finite("--lock-timeout", value),
              help="Seconds to wait for another synth writing to --out before giving up (exit 2).")
def synth(project: Path, env: str, out: Path | None, check: bool, sets: tuple[str, ...], lock_timeout: float) -> None:
    """Synthesise the charts of one or every environment into OUT/<env>/.

    Writes only what it owns: in OUT, the <env>/ directories it generated before (or empty ones) and
    its own .tripgen-staging-* entries; in each, only the files its .tripgen-files record lists.
    Files it did not write are left in place."""
    from .lib.writer import session, stale_files, write_environments

    root = _project(project)
    out = out if out is not None else root / "charts"
    shown = _shown(out)
    if check:
        results = _committed(root, _synthesize(root, _environments(root, env), sets))
        if out.exists() and not out.is_dir():
            _fail(f"--out: {shown} is not a directory")
        stale = [path for name, _s, files in results for path in stale_files(out, name, files)]
        if stale:
            click.echo(f"{len(stale)} stale file(s) in {shown}/ (run `tripgen synth`):", err=True)
            for path in stale:
                click.echo(f"  {shown}/{path}", err=True)
            sys.exit(1)
        click.echo(f"{shown}/ is in sync with the config ({sum(len(f) for _n, _s, f in results)} files)")
        return
    # The inputs (overlays, releases.yaml) are read under the lock every writer of charts/ takes, so
    # a concurrent `release set` cannot slip in between this read and the write.
    with session(out, lock_timeout, _companion(root)):
        results = _committed(root, _synthesize(root, _environments(root, env), sets))
        changed = {path for name, _s, files in results for path in stale_files(out, name, files)}
        write_environments(out, {name: files for name, _s, files in results}, held=True)
    for name, synthesis, files in results:
        _report_written(shown, name, synthesis, files, changed)


def _committed(root: Path, syntheses: list[EnvironmentSynthesis],
               without_helm: Path | None = None) -> list[tuple[str, EnvironmentSynthesis, dict[str, str]]]:
    """(env, synthesis, every file synth commits in charts/<env>/, snapshots included), or exit 2.

    ``without_helm`` (validate's charts directory): when there is no helm, the snapshots cannot be
    rendered; they are taken as committed there (the helm check reports helm missing)."""
    from .app.pipeline import committed_files
    from .app.pipeline import files as environment_files
    from .lib.rendered import snapshot_path
    from .lib.validation import find_helm
    from .lib.writer import read_owned

    if without_helm is not None and find_helm(root) is None:
        out = []
        for s in syntheses:
            files = environment_files(s)
            for chart in s.charts:
                text = read_owned(without_helm / s.name, snapshot_path(chart.name))
                if text is not None:
                    files[snapshot_path(chart.name)] = text
            out.append((s.name, s, files))
        return out
    try:
        return [(s.name, s, committed_files(s, root)) for s in syntheses]
    except (ConfigError, UsageError) as err:
        _fail(_one_line(err))


def _report_written(shown: str, env: str, synthesis: EnvironmentSynthesis, files: dict[str, str], stale: set[str]) -> None:
    """One line per chart: ``wrote`` when any of its files (its snapshot included) changed, else
    ``unchanged``; then the environment's other files when they changed."""
    from .lib.rendered import snapshot_path

    for chart in synthesis.charts:
        mine = {rel for rel in files if rel.startswith(chart.name + "/")} | {snapshot_path(chart.name)}
        changed = any(f"{env}/{rel}" in stale for rel in mine)
        version = f", version {chart.version}" if chart.is_helm else ""
        click.echo(f"{'wrote' if changed else 'unchanged'} {shown}/{env}/{chart.name} "
                   f"({len(chart.objects)} objects, {len(mine)} files{version})")


@cli.command(epilog=_example(
    "tripgen diff --env prod                         # charts/prod/ on disk against the config",
    "tripgen diff --against origin/main              # object by object, from main's config to yours",
    "tripgen diff --against origin/main --format markdown > comment.md"))
@_common
@_env_option("compare")
@click.option("--charts", "charts_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The chart files on disk to compare with (default: charts/ in the project).")
@click.option("--set", "sets", multiple=True, metavar="SERVICE.KEY=VALUE", help="As for synth.")
@click.option("--against", "against", default=None, metavar="REF",
              help="Compare the objects the git revision REF's config renders with the working tree's.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text", show_default=True,
              help="With --against: plain text, or a pull-request comment in Markdown.")
@click.option("--object", "only", multiple=True, metavar="KIND/NAME",
              help="With --against: show only this object (repeatable), e.g. HorizontalPodAutoscaler/trip-service.")
def diff(project: Path, env: str, charts_dir: Path | None, sets: tuple[str, ...], against: str | None,
         fmt: str, only: tuple[str, ...]) -> None:
    """Show a unified diff from the chart files on disk to what the config generates (exit 1 if any);
    with --against REF, the object-level diff from REF's config to the working tree's (with any
    --set applied to the working tree's side)."""
    import difflib

    from .lib.writer import RECORD, read_owned, stale_files

    root = _project(project)
    if against is not None:
        _diff_against(root, env, against, fmt, sets, only)
    if fmt != "text":
        _fail("--format markdown needs --against REF")
    if only:
        _fail("--object needs --against REF")
    charts_dir = charts_dir if charts_dir is not None else root / "charts"
    shown = _shown(charts_dir)
    changed = 0
    for name, _s, files in _committed(root, _synthesize(root, _environments(root, env), sets)):
        for path in stale_files(charts_dir, name, files):
            rel = path.split("/", 1)[1]
            if rel == RECORD:
                continue
            text = read_owned(charts_dir / name, rel)  # never through a symlink, never out of charts/<env>/
            old = text.splitlines(keepends=True) if text is not None else []
            new = files[rel].splitlines(keepends=True) if rel in files else []
            a = _diff_label("a", charts_dir, shown, path) if text is not None else "/dev/null"
            b = _diff_label("b", charts_dir, shown, path) if rel in files else "/dev/null"
            click.echo("".join(difflib.unified_diff(old, new, a, b)), nl=False)
            changed += 1
    if changed:
        click.echo(f"{changed} file(s) differ; `tripgen synth` writes them", err=True)
        sys.exit(1)
    click.echo(f"{shown}/ is in sync with the config")


def _diff_label(side: str, charts_dir: Path, shown: str, path: str) -> str:
    """A unified diff's file name: ``a/charts/prod/x`` when the charts directory is inside the
    working directory; otherwise its clean absolute path (no ``a/`` prefix, no ``//``, no ``..``),
    as ``diff -u`` prints it."""
    import posixpath

    full = posixpath.normpath(f"{shown}/{path}")
    if full.startswith("/") or full == ".." or full.startswith("../"):
        return posixpath.normpath(f"{charts_dir.resolve().as_posix()}/{path}")
    return f"{side}/{full}"


def _diff_against(root: Path, env: str, ref: str, fmt: str, sets: tuple[str, ...], only: tuple[str, ...]) -> NoReturn:
    """``diff --against REF``: exit 0 equal, 1 different, 2 error (see :mod:`tripgen_cdk8s.objdiff`)."""
    from . import objdiff
    from .app import loader as overlays

    if env != "all" and env not in overlays.available(root):
        _fail(f"--env: invalid value {env!r}; allowed: {', '.join(overlays.available(root) + ['all'])}")
    wanted = set()
    for item in only:
        kind, slash, name = item.partition("/")
        if not (kind and slash and name) or "/" in name:
            _fail(f"--object: expected KIND/NAME (e.g. Deployment/trip-service), got {item!r}")
        wanted.add((kind, name))
    try:
        envs = overlays.available(root) if env == "all" else [env]
        old, new = objdiff.objects_against(root, ref, envs, sets)
    except (ConfigError, UsageError) as err:
        _fail(str(err))
    changes = [c for c in objdiff.compare(old, new) if not wanted or (c.kind, c.name) in wanted]
    text = objdiff.render_markdown(changes, ref, envs) if fmt == "markdown" else objdiff.render_text(changes, ref)
    click.echo(text, nl=False)
    sys.exit(1 if changes else 0)


@cli.command(epilog=_example(
    "tripgen graph --env dev                         # Mermaid source on stdout",
    "tripgen graph --env prod --format svg -o docs/topology-prod.svg"))
@_common
@click.option("--env", "env", default=None, metavar="ENV",
              help="Environment to draw (default: the project's first environment, prod when it has one).")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "svg"]), default="mermaid", show_default=True,
              help="Print the Mermaid source, or render it to SVG with mermaid-cli.")
@click.option("--output", "-o", "output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of stdout (required for svg).")
def graph(project: Path, env: str | None, fmt: str, output: Path | None) -> None:
    """Draw the topology the cluster will enforce (ingress paths, allowed calls, stores, scalers)."""
    from .app import topology
    from .lib.tools import tool_base

    root = _project(project)
    if env == "all":
        _fail("--env: graph draws one environment; allowed: " + ", ".join(_environments(root, "all")))
    [synthesis] = _synthesize(root, _environments(root, env or _environments(root, "all")[0]), ())
    text = topology.mermaid(synthesis.objects)
    if fmt == "mermaid":
        if output is None:
            click.echo(text, nl=False)
        else:
            output.write_text(text, encoding="utf-8")
        return
    if output is None:
        _fail("--format svg needs --output FILE")
    try:
        topology.render_svg(text, output, tool_base(root, str(topology.MMDC)) or root)
    except topology.MermaidRenderError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    click.echo(f"wrote {output}")


@cli.command(epilog=_example(
    "tripgen validate                                # every environment, offline",
    "tripgen validate --env prod",
    "tripgen validate --cluster --context my-aks --env prod   # server-side dry run, nothing persisted"))
@_common
@_env_option("check")
@click.option("--charts", "charts_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The generated charts to check (default: charts/ in the project).")
@click.option("--crds", "crd_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="A directory of CRDs to check custom resources against "
              "(default: the upstream CRDs vendored with the package).")
@click.option("--cluster", is_flag=True, help="Instead of the offline checks: a server-side dry run of every "
              "object and pod template against a real cluster (nothing is persisted).")
@click.option("--context", default=None, help="With --cluster: the kubeconfig context (default: the current one).")
@click.option("--kubeconfig", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --cluster: the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).")
def validate(project: Path, env: str, charts_dir: Path | None, crd_dir: Path | None, cluster: bool,
             context: str | None, kubeconfig: Path | None) -> None:
    """Check the generated charts: helm, schemas, CRDs, cross-object invariants, checkov; or, with
    --cluster, a server-side dry run against a real cluster."""
    from .app.guardrails import check_guardrails, check_ingress_routes
    from .lib.validation import CRD_DIR, Check, environment_checks, run_checks
    from .lib.writer import stale_files

    root = _project(project)
    charts_dir = charts_dir if charts_dir is not None else root / "charts"
    if cluster:
        _validate_cluster(root, charts_dir, env, kubeconfig, context)
    if context is not None or kubeconfig is not None:
        _fail("--context and --kubeconfig need --cluster")
    crd_dir = crd_dir or CRD_DIR
    if not crd_dir.is_dir():
        _fail(f"--crds: {crd_dir} is not a directory of CRDs")
    failed = 0
    for name, synthesis, files in _committed(root, _synthesize(root, _environments(root, env), ()), charts_dir):
        g = synthesis.project.guardrails
        objects = synthesis.objects
        checks: list[Check] = [
            (f"{name}: charts/ in sync with the config", functools.partial(stale_files, charts_dir, name, files))]
        if synthesis.capacity is not None:
            report = synthesis.capacity
            checks.append((f"{name}: capacity at maxReplicas fits the node pool ({report.summary()})",
                           functools.partial(_capacity_errors, report)))
        checks.append((f"{name}: guardrails ({_guardrail_summary(g)})", functools.partial(check_guardrails, objects, g)))
        checks.append((f"{name}: every Ingress route reaches its workload under the NetworkPolicies",
                       functools.partial(check_ingress_routes, objects)))
        checks += environment_checks(root, charts_dir, name, synthesis.charts, crd_dir,
                                     require_default_deny=g.require_default_deny, echo=click.echo)
        failed += run_checks(checks, click.echo)
        for warning in synthesis.warnings:
            click.echo(warning)
    sys.exit(1 if failed else 0)


def _validate_cluster(root: Path, charts_dir: Path, env: str, kubeconfig: Path | None, context: str | None) -> NoReturn:
    """``validate --cluster``: every environment's charts rendered as Argo CD renders them and
    server-side applied with ``dryRun=All`` in sync order, then each pod template as a Pod.  A refusal
    the dry run itself causes (a namespace or ServiceAccount the same sync creates) is a ``skip``
    line with its reason, never ``ok``.  Exit 1 when the server refuses anything; 2 when the cluster
    cannot be reached."""
    from .lib.cluster import ApplyRefused, ChartSource, Cluster, ClusterError, dry_run, environment_sync, load_kubeconfig
    from .lib.validation import HELM_MISSING, find_helm

    helm = find_helm(root)
    if helm is None:
        _fail(HELM_MISSING)
    envs = _environments(root, env)
    try:
        server = Cluster(load_kubeconfig(kubeconfig, context))
        version = server.version()
    except ClusterError as err:
        _fail(str(err))
    failed = 0
    try:
        for synthesis in _synthesize(root, envs, ()):
            name = synthesis.name
            sources = [ChartSource(c.name, c.namespace, c.is_helm) for c in synthesis.charts]
            try:
                objs = [o for chart in environment_sync(helm, charts_dir / name, sources, version) for o in chart]
            except ApplyRefused as err:
                click.echo(f"FAIL {name}: {err}")
                failed += 1
                continue
            outcomes = dry_run(server, objs)
            for o in outcomes:
                if o.status == "failed":
                    click.echo(f"FAIL {o.message}")
                elif o.status == "skipped":
                    click.echo(f"skip {o.label}: {o.message}")
            count = {s: sum(1 for o in outcomes if o.status == s) for s in ("ok", "skipped", "failed")}
            failed += count["failed"]
            click.echo(f"{'FAIL' if count['failed'] else 'ok  '} {name}: server-side dry run on {server.creds.server} "
                       f"({version}): {count['ok']} accepted, {count['skipped']} skipped (not checked), "
                       f"{count['failed']} refused")
    except ClusterError as err:
        _fail(str(err))
    finally:
        server.close()
    sys.exit(1 if failed else 0)


def _guardrail_summary(g: Any) -> str:
    on = [f"min_replicas={g.min_replicas}"]
    on += [name for name in ("immutable_image_tags", "require_digest", "require_default_deny", "require_pdb",
                             "require_resources", "require_probes") if getattr(g, name)]
    return ", ".join(on)


def _capacity_errors(report: CapacityReport) -> list[str]:
    return [] if report.steady_fits() else [report.summary()]


@cli.command(epilog=_example(
    "helm registry login ghcr.io          # once; publish uses helm's credentials",
    "tripgen publish --registry oci://ghcr.io/acme/charts --env prod",
    "# pushes oci://ghcr.io/acme/charts/prod/<chart>:<version> for every chart of charts/prod/"))
@_common
@click.option("--registry", "registry", required=True, metavar="oci://HOST/PATH",
              help="The OCI registry and repository path; each chart goes to PATH/<env>/<chart>:<version>.")
@click.option("--env", "env", default="all", show_default=True, metavar="ENV|all",
              help="Environment whose charts to publish (every environment that has an overlay by default).")
@click.option("--charts", "charts_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The charts to publish (default: charts/ in the project).")
@click.option("--plain-http", "plain_http", is_flag=True, help="Talk plain HTTP to the registry (no TLS).")
def publish(project: Path, registry: str, env: str, charts_dir: Path | None, plain_http: bool) -> None:
    """Package each Helm chart of charts/<env>/ and push it to an OCI registry.

    A chart version the registry already holds with the same content is skipped; one it holds with
    other content is refused (exit 2) and nothing is pushed. Registry errors are exit 2."""
    from .app.publish import Helm, charts_of, parse_registry
    from .app.publish import publish as publish_charts
    from .lib.validation import HELM_MISSING, find_helm

    root = _project(project)
    try:
        target = parse_registry(registry)
    except ConfigError as err:
        _fail(str(err))
    envs = _environments(root, env)
    helm = find_helm(root)
    if helm is None:
        _fail(HELM_MISSING)
    charts_dir = charts_dir if charts_dir is not None else root / "charts"
    try:
        charts = [chart for name in envs for chart in charts_of(charts_dir, name)]
        outcomes = publish_charts(Helm(helm, plain_http), target, charts, click.echo)
    except (ConfigError, UsageError) as err:
        _fail(_one_line(err))
    pushed = sum(1 for o in outcomes if o.action == "pushed")
    click.echo(f"{pushed} pushed, {len(outcomes) - pushed} already published, to {target.url}")


@cli.group(epilog=_example(
    "tripgen release set trip-service --env dev --tag v1.2.1",
    "tripgen release promote --from dev --to prod trip-service",
    "tripgen release show"))
@_DEBUG
def release() -> None:
    """Record, promote and show the image each service runs (overlays/<env>/releases.yaml)."""


def _replace_text(path: Path, text: str) -> None:
    """Write ``path`` atomically: an unpredictable temporary file created exclusively beside it (never
    through a symlink), then renamed over it; removed again on failure."""
    from .lib.writer import replace_file

    replace_file(path, text)


def _companion(root: Path) -> Any:
    """How the writer's journal names the releases file of an environment: the key is the
    environment, valid only when it has an overlay and the text is a well-formed releases file."""
    from .app import loader
    from .app.releases import parse_releases, releases_path

    def path_for(env: str, text: str) -> Path | None:
        if env not in loader.available(root):
            return None
        path = releases_path(root, env)
        try:
            parse_releases(text, path)
        except ConfigError:
            return None
        return path

    return path_for


@contextlib.contextmanager
def _release_session(root: Path) -> Iterator[None]:
    """The lock every writer of charts/ and releases.yaml takes, with recovery of a crashed run."""
    from .lib.writer import session

    with session(root / "charts", companion=_companion(root)):
        yield


def _write_releases(root: Path, new_texts: dict[str, str]) -> None:
    """Synthesise with the new releases first (exit 2, nothing written, on any error), then write the
    releases file(s) and charts/<env>/ together, so `synth --check` passes.  Runs inside
    :func:`_release_session` (the inputs were read under the lock); the writer's journal makes the
    two writes one: a crash leaves both old, or the next run completes both."""
    from .app.releases import synthesize_with
    from .lib.writer import write_environments

    try:
        syntheses = synthesize_with(root, new_texts)
    except (ConfigError, UsageError) as err:
        _fail(str(err))
    from .lib.writer import stale_files

    results = _committed(root, [syntheses[env] for env in new_texts])
    files = {env: files for env, _s, files in results}
    changed = {path for env, _s, env_files in results for path in stale_files(root / "charts", env, env_files)}
    write_environments(root / "charts", files, held=True, companions=new_texts, companion=_companion(root))
    for env, synthesis, env_files in results:
        click.echo(f"wrote overlays/{env}/releases.yaml")
        _report_written("charts", env, synthesis, env_files, changed)


@release.command("set", epilog=_example(
    "tripgen release set trip-service --env dev --tag v1.2.1 --digest sha256:<64 hex digits>",
    "tripgen release set trip-service --env prod --tag v1.2.2     # drops the old digest"))
@_common
@click.argument("service")
@click.option("--env", "env", required=True, metavar="ENV", help="Environment whose releases file to edit.")
@click.option("--tag", "tag", default=None, help="Immutable release tag; alone, it also drops the old digest.")
@click.option("--digest", "digest", default=None, metavar="sha256:...", help="Image digest that pins the image.")
def release_set(project: Path, service: str, env: str, tag: str | None, digest: str | None) -> None:
    """Record SERVICE's image (tag and/or digest) in ENV and re-synthesise ENV (exit 2 on bad input)."""
    from .app.releases import planned_set

    root = _project(project)
    [name] = _environments(root, env)
    with _release_session(root):
        try:
            texts = planned_set(root, name, service, tag, digest)
        except (ConfigError, UsageError) as err:
            _fail(str(err))
        _write_releases(root, texts)


@release.command("promote", epilog=_example(
    "tripgen release promote --from dev --to prod                 # every service both have",
    "tripgen release promote --from dev --to prod trip-service    # only the ones named"))
@_common
@click.argument("services", nargs=-1, metavar="[SERVICE ...]")
@click.option("--from", "source", required=True, metavar="ENV", help="Environment to copy the releases from.")
@click.option("--to", "target", required=True, metavar="ENV", help="Environment to copy them to.")
def release_promote(project: Path, services: tuple[str, ...], source: str, target: str) -> None:
    """Copy tags and digests of SERVICEs (default: all) from --from to --to and re-synthesise --to."""
    from .app.releases import planned_promote

    root = _project(project)
    [src] = _environments(root, source)
    [dst] = _environments(root, target)
    with _release_session(root):
        try:
            texts = planned_promote(root, src, dst, services)
        except (ConfigError, UsageError) as err:
            _fail(str(err))
        _write_releases(root, texts)


@release.command("show", epilog=_example(
    "tripgen release show",
    "tripgen release show --env prod"))
@_common
@_env_option("show")
def release_show(project: Path, env: str) -> None:
    """Print the releases of one or every environment as a table."""
    from .app.releases import rows

    root = _project(project)
    try:
        table = rows(root, _environments(root, env))
    except (ConfigError, UsageError) as err:
        _fail(str(err))
    header = ["ENV", "SERVICE", "TAG", "DIGEST", "IMAGE"]
    widths = [max(len(r[i]) for r in [header, *table]) for i in range(len(header))]
    for r in [header, *table]:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def main() -> None:
    """Console-script entry point: user-caused failures are one line and exit 2; an internal error is
    one line and exit 1 (``--debug`` shows its traceback); never a Python or JavaScript stack otherwise."""
    from .lib.writer import WriteRefused

    debug = "--debug" in sys.argv[1:]
    try:
        code = cli.main(prog_name="tripgen", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except click.ClickException as err:  # a usage error: one line, with the command to get help
        where = f" (see `{err.ctx.command_path} --help`)" if isinstance(err, click.UsageError) and err.ctx else ""
        _fail(_one_line(click.ClickException(err.format_message())) + where)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except (ConfigError, UsageError, WriteRefused) as err:
        _fail(_one_line(err))
    except OSError as err:  # the file system said no: read-only, not a directory, no space, ...
        if debug:
            raise
        where = f"{err.filename}: " if err.filename else ""
        _fail(f"{where}{err.strerror or _one_line(err)}")
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as err:
        if debug:
            raise
        click.echo(f"error: internal error ({type(err).__name__}: {_one_line(err)}); "
                   "rerun with --debug for the traceback and report it", err=True)
        sys.exit(1)
