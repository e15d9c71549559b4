"""The ``tripgen`` command line: thin wrappers that parse, call the library, print, and exit.

Exit codes: 0 ok, 1 a check failed (``synth --check``, ``diff``, ``validate``), 2 bad config or usage.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from .errors import ConfigError, UsageError

if TYPE_CHECKING:
    from .app import Synthesis
    from .checks import CapacityReport
    from .config import Environment


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _project(project: Path) -> Path:
    """The project directory: it must hold ``overlays/<env>/config.py``; otherwise exit 2."""
    from . import overlays

    root = project.resolve()
    if not root.is_dir():
        _fail(f"--project: {project} is not a directory")
    if not (root / "overlays").is_dir():
        _fail(f"--project: {project} has no overlays/ directory (overlays/<env>/config.py); "
              "run tripgen in the project directory or pass --project DIR")
    if not overlays.available(root):
        _fail(f"--project: {project}/overlays holds no <env>/config.py")
    return root


def _shown(path: Path) -> str:
    """``path`` as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(path)


def _environments(root: Path, env: str) -> list[str]:
    from . import overlays

    envs = overlays.available(root)
    if env == "all":
        return envs
    if env not in envs:
        _fail(f"--env: invalid value {env!r}; allowed: {', '.join(envs + ['all'])}")
    return [env]


def _synthesize(root: Path, env_names: list[str], sets: tuple[str, ...]) -> list[tuple[str, Synthesis, dict[str, str]]]:
    """Load, override, validate and synthesise every selected environment, or exit 2."""
    from . import overlays

    try:
        envs = [overlays.load(root, name) for name in env_names]
        if sets:
            envs = _apply_sets(envs, sets)
        from .app import synthesize
        from .outputs import environment_files

        results = []
        for e in envs:
            synthesis = synthesize(e)
            for warning in synthesis.warnings:
                click.echo(warning, err=True)
            results.append((e.name, synthesis, environment_files(synthesis)))
        return results
    except (ConfigError, UsageError) as err:
        _fail(str(err))


def _apply_sets(envs: list[Environment], sets: tuple[str, ...]) -> list[Environment]:
    """Apply each ``--set`` to every selected environment whose chart has that key; a key that no
    environment has is an error (reported by the first environment that has the service)."""
    from .overrides import apply_overrides, parse_assignment, values_keys

    per_env: list[list[str]] = [[] for _ in envs]
    for text in sets:
        service, key, _raw = parse_assignment(text)
        targets = [i for i, e in enumerate(envs)
                   if any(s.name == service for s in e.services) and key in values_keys(e.service(service), e)]
        if not targets:
            owner = next((e for e in envs if any(s.name == service for s in e.services)), envs[0])
            apply_overrides(owner, [text])  # raises ConfigError naming the key and the nearest valid one
        for i in targets:
            per_env[i].append(text)
    return [apply_overrides(e, texts) if texts else e for e, texts in zip(envs, per_env, strict=True)]


_DEBUG = click.option("--debug", is_flag=True, expose_value=False, is_eager=True,
                      help="On an internal error, show the Python traceback.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tripgen-cdk8s")
@_DEBUG
def cli() -> None:
    """Generate Helm charts from the typed per-environment configs (overlays/<env>/config.py)."""


ENV_OPTION = click.option("--env", "env", default="all", show_default=True, metavar="ENV|all",
                          help="Environment to generate (every environment that has an overlay by default).")
PROJECT_OPTION = click.option("--project", "project", type=click.Path(path_type=Path), default=Path("."),
                              show_default=True, help="The project directory, which holds overlays/<env>/config.py.")


def _common(fn: Any) -> Any:
    return PROJECT_OPTION(_DEBUG(fn))


@cli.command()
@_common
@ENV_OPTION
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="Directory that receives <env>/<chart>/ (default: charts/ in the project).")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 listing stale files when --out differs.")
@click.option("--set", "sets", multiple=True, metavar="SERVICE.KEY=VALUE",
              help="Override a chart value for this run, e.g. trip-service.autoscaling.maxReplicas=12.")
@click.option("--lock-timeout", "lock_timeout", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="Seconds to wait for another synth writing to --out before giving up (exit 2).")
def synth(project: Path, env: str, out: Path | None, check: bool, sets: tuple[str, ...], lock_timeout: float) -> None:
    """Synthesise the charts of one or every environment into OUT/<env>/.

    Writes only what it owns: in OUT, the <env>/ directories it generated before (or empty ones) and
    its own .tripgen-staging-* entries; in each, only the files its .tripgen-files record lists.
    Files it did not write are left in place."""
    from .writer import stale_files, write_environments

    root = _project(project)
    out = out if out is not None else root / "charts"
    shown = _shown(out)
    results = _synthesize(root, _environments(root, env), sets)
    if check:
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
    write_environments(out, {name: files for name, _s, files in results}, lock_timeout=lock_timeout)
    for name, synthesis, files in results:
        for chart in synthesis.charts:
            count = sum(1 for rel in files if rel.startswith(chart.name + "/"))
            click.echo(f"wrote {shown}/{name}/{chart.name} ({len(chart.objects)} objects, {count} files)")


@cli.command()
@_common
@ENV_OPTION
@click.option("--charts", "charts_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The committed charts to compare with (default: charts/ in the project).")
@click.option("--set", "sets", multiple=True, metavar="SERVICE.KEY=VALUE", help="As for synth.")
def diff(project: Path, env: str, charts_dir: Path | None, sets: tuple[str, ...]) -> None:
    """Show a unified diff from the committed charts to what the config generates (exit 1 if any)."""
    import difflib

    from .writer import RECORD, stale_files

    root = _project(project)
    charts_dir = charts_dir if charts_dir is not None else root / "charts"
    shown = _shown(charts_dir)
    changed = 0
    for name, _synthesis, files in _synthesize(root, _environments(root, env), sets):
        for path in stale_files(charts_dir, name, files):
            rel = path.split("/", 1)[1]
            if rel == RECORD:
                continue
            old_file = charts_dir / path
            old = old_file.read_text(encoding="utf-8").splitlines(keepends=True) if old_file.is_file() else []
            new = files[rel].splitlines(keepends=True) if rel in files else []
            a = f"a/{shown}/{path}" if old_file.is_file() else "/dev/null"
            b = f"b/{shown}/{path}" if rel in files else "/dev/null"
            click.echo("".join(difflib.unified_diff(old, new, a, b)), nl=False)
            changed += 1
    if changed:
        click.echo(f"{changed} file(s) differ; `tripgen synth` writes them", err=True)
        sys.exit(1)
    click.echo(f"{shown}/ is in sync with the config")


@cli.command()
@_common
@click.option("--env", "env", default="prod", show_default=True, metavar="ENV", help="Environment to draw.")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "svg"]), default="mermaid", show_default=True,
              help="Print the Mermaid source, or render it to SVG with mermaid-cli.")
@click.option("--output", "-o", "output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of stdout (required for svg).")
def graph(project: Path, env: str, fmt: str, output: Path | None) -> None:
    """Draw the topology the cluster will enforce (ingress paths, allowed calls, stores, scalers)."""
    from . import topology
    from .tools import tool_base

    root = _project(project)
    if env == "all":
        _fail("--env: graph draws one environment; allowed: " + ", ".join(_environments(root, "all")))
    [(_name, synthesis, _files)] = _synthesize(root, _environments(root, env), ())
    text = topology.mermaid([o for c in synthesis.charts for o in c.objects])
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


@cli.command()
@_common
@ENV_OPTION
@click.option("--charts", "charts_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The generated charts to check (default: charts/ in the project).")
@click.option("--crds", "crd_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="A directory of CRDs to check custom resources against "
              "(default: the upstream CRDs vendored with the package).")
def validate(project: Path, env: str, charts_dir: Path | None, crd_dir: Path | None) -> None:
    """Check the generated charts: helm, schemas, CRDs, cross-object invariants, checkov."""
    from .checks import capacity_report
    from .validation import CRD_DIR, Check, environment_checks, run_checks
    from .writer import stale_files

    root = _project(project)
    charts_dir = charts_dir if charts_dir is not None else root / "charts"
    crd_dir = crd_dir or CRD_DIR
    if not crd_dir.is_dir():
        _fail(f"--crds: {crd_dir} is not a directory of CRDs")
    failed = 0
    for name, synthesis, files in _synthesize(root, _environments(root, env), ()):
        report = capacity_report(synthesis.env)
        checks: list[Check] = [
            (f"{name}: charts/ in sync with the config", functools.partial(stale_files, charts_dir, name, files)),
            (f"{name}: capacity at maxReplicas fits the node pool ({report.summary()})",
             functools.partial(_capacity_errors, report)),
            *environment_checks(root, charts_dir, name, synthesis.charts, crd_dir,
                                require_default_deny=synthesis.env.guardrails.require_default_deny, echo=click.echo),
        ]
        failed += run_checks(checks, click.echo)
        for warning in synthesis.warnings:
            click.echo(warning)
    sys.exit(1 if failed else 0)


def _capacity_errors(report: CapacityReport) -> list[str]:
    return [] if report.steady_fits() else [report.summary()]


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def main() -> None:
    """Console-script entry point: user-caused failures are one line and exit 2; an internal error is
    one line and exit 1 (``--debug`` shows its traceback); never a Python or JavaScript stack otherwise."""
    from .writer import WriteRefused

    debug = "--debug" in sys.argv[1:]
    try:
        cli.main(prog_name="tripgen")
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
