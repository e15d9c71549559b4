"""Where does `synth` spend its time?  Profiles the tool on a generated N-service project.

    .venv/bin/python bench/profile_tool.py                  # N = 200
    .venv/bin/python bench/profile_tool.py -n 50 --no-experiments

Needs pyinstrument in the venv (``.venv/bin/pip install pyinstrument``).  Three passes, each a
fresh process running ``main.py synth --env prod --out <dir>`` in the generated project:

1. **pyinstrument** (1 ms sampling): every sample's stack is classified twice, by *phase* (import,
   config, build_app, HelmChart.synthesize, ArgoCD objects, Helm rendering, the environment
   README, file writes) and by *mechanism* (waiting for the Node kernel, jsii marshalling in
   Python, typeguard checks, PyYAML, tripgen_cdk8s.lib / tripgen_cdk8s.tripgen code, ...).  The
   full call tree goes to bench/results/profile-n<N>.txt.  Profiling inflates pure-Python time, not
   the time blocked on Node, so read its percentages with pass 2.
2. **timers** (no profiler): wall-clock timers around the same phases (config load + validate,
   build_app, HelmChart.synthesize and the Resource bodies it produces, helm environment_files /
   render_template / dump_yaml, the environment README, write_environments), around every jsii
   request (counted by kind: ``Create <fqn>``, ``Invoke <method>``...) and around the typeguard
   checks of the jsii bindings that are still called (``constructs.Construct``, ``cdk8s.Chart``...).
   Cheap enough to leave the proportions intact.
3. **experiments** (optional): whole-process wall time of variants that need no change in the
   repository, run interleaved with the unchanged tool: the unchanged tool with a private bytecode
   cache, and ``python -O`` with it (skips the typeguard checks of the generated jsii bindings).
   Each variant's output is compared byte for byte with the unchanged tool's.  The bytecode cache
   (PYTHONPYCACHEPREFIX in the work dir, warmed first) is there because ``-O`` needs ``.opt-1.pyc``
   files that site-packages lacks and PYTHONDONTWRITEBYTECODE=1 never writes.

The generated project and every output go to a temporary directory under ``--workdir`` (default
bench/results/, git-ignored), not /tmp: the files land on the filesystem a project's charts/ live
on, as with bench/run.py.  Writes bench/results/profile-n<N>.md (summary) and .txt (pyinstrument
tree).
"""

from __future__ import annotations

import argparse
import collections
import filecmp
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
ENV = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
SEP, ATTR = "\x00", "\x01"
LIB, TRIPGEN = "tripgen_cdk8s/lib/", "tripgen_cdk8s/tripgen/"


# ============================================================================= classification


def _parse(frame_info: str) -> tuple[str, str, str]:
    """(function, file path, class name) of a pyinstrument frame_info string."""
    ident, _, attrs = frame_info.partition(ATTR)
    parts = ident.split(SEP)
    cls = next((a[1:] for a in attrs.split(ATTR) if a.startswith("c")), "") if attrs else ""
    return parts[0], parts[1] if len(parts) > 1 else "", cls


PHASES = [  # (label, function, file suffix); the innermost match names the phase
    ("import: modules + jsii start", "_find_and_load", "<frozen importlib._bootstrap>"),
    ("config: load overlay + validate", "load", TRIPGEN + "overlays.py"),
    ("build_app: construct tree", "build_app", TRIPGEN + "app.py"),
    ("synthesize: HelmChart.synthesize (value producers + Resource bodies)", "synthesize", LIB + "helmchart.py"),
    ("synthesize: ArgoCD objects (_gitops)", "_gitops", TRIPGEN + "app.py"),
    ("synthesize: rest of app.synthesize", "synthesize", TRIPGEN + "app.py"),
    ("helm: environment_files (Chart.yaml, values, schema, NOTES, chart README)", "environment_files",
     LIB + "helm.py"),
    ("helm: render_template (copy, bindings, labels)", "render_template", LIB + "helm.py"),
    ("helm: dump_yaml", "dump_yaml", LIB + "helm.py"),
    ("README: topology.environment_readme", "environment_readme", TRIPGEN + "topology.py"),
    ("write: files to --out", "write_environments", LIB + "writer.py"),
    ("check: compare with charts/", "stale_files", LIB + "writer.py"),
]

IMPORT_SUB = [  # refine the import phase (innermost match)
    ("jsii: start Node (extract runtime, spawn, handshake)", "start", "jsii/_kernel/providers/process.py"),
    ("jsii: load assemblies into Node", "load", "jsii/_kernel/__init__.py"),
]


def phase_of(stack: list[tuple[str, str, str]]) -> str:
    phase = "other (interpreter, click, CLI glue)"
    for fn, path, _cls in reversed(stack):  # innermost phase wins (build_app runs inside app.synthesize)
        hit = next((label for label, f, suffix in PHASES if fn == f and path.endswith(suffix)), None)
        if hit:
            phase = hit
            break
    if phase.startswith("import"):
        for fn, path, _cls in reversed(stack):
            sub = next((label for label, f, suffix in IMPORT_SUB if fn == f and path.endswith(suffix)), None)
            if sub:
                return sub
        return "import: Python modules (exec/unmarshal)"
    return phase


def mechanism_of(stack: list[tuple[str, str, str]]) -> str:
    """What the leaf time is spent on, judged from the innermost frames outwards."""
    for fn, path, _cls in stack[-2:]:
        if fn in ("_next_message", "send") and path.endswith("jsii/_kernel/providers/process.py"):
            if stack[-1][0] in ("_next_message", "send") or stack[-1][1] == "<built-in>":
                # readline/flush on the kernel's pipes: Node working, plus the IPC and context switches
                return "waiting for the Node kernel (pipe readline/flush)"
    for fn, path, _cls in reversed(stack):
        if ("/typeguard/" in path or path.endswith("jsii/_type_checking.py")
                or fn in ("check_type", "get_type_hints", "cached_type_hints", "_typecheckingstub")):
            return "typeguard checks (type hints + check_type in jsii bindings)"
        if path.endswith("/typing.py"):
            return "typing module"
        if "/jsii/" in path or "/cattr" in path or "/attr/" in path:
            return "jsii marshalling (Python side)"
        if "/yaml/" in path:
            return "PyYAML (libyaml CSafeDumper + Python representer/serializer)"
        if path.endswith("/copy.py"):
            return "copy module"
        if "/json/" in path:
            return "json (dumps/loads)"
        if path.endswith(("/pathlib.py", "/shutil.py", "/tempfile.py")) or fn in ("write_text", "read_text"):
            return "file system (pathlib/shutil)"
        if "importlib" in path:
            return "module import machinery"
        if "/cdk8s/" in path or "/constructs/" in path:
            return "cdk8s/constructs Python bindings"
        if LIB in path:
            return "tripgen_cdk8s.lib code (constructs, HelmChart, helm, writer)"
        if TRIPGEN in path:
            return "tripgen_cdk8s.tripgen code (config, app, topology)"
        if "tripgen_cdk8s" in path:
            return "tripgen_cdk8s CLI"
        if "/overlays/" in path and path.endswith("config.py"):
            return "overlay configs (overlays/<env>/config.py)"
    return "other Python"
def analyse_session(session, top: int = 25) -> dict:  # type: ignore[no-untyped-def]
    phases: collections.Counter[str] = collections.Counter()
    mechanisms: collections.Counter[str] = collections.Counter()
    matrix: collections.Counter[tuple[str, str]] = collections.Counter()
    self_time: collections.Counter[str] = collections.Counter()
    entry: collections.Counter[str] = collections.Counter()  # first library call made by tripgen code
    total = 0.0
    for frames, t in session.frame_records:
        stack = [_parse(f) for f in frames]
        if not stack:
            continue
        total += t
        ph, mech = phase_of(stack), mechanism_of(stack)
        phases[ph] += t
        mechanisms[mech] += t
        matrix[(ph, mech)] += t
        fn, path, cls = stack[-1]
        self_time[f"{cls + '.' if cls else ''}{fn} ({_short(path)})"] += t
        for i in range(len(stack) - 1, 0, -1):  # innermost tripgen frame -> the library call it made
            if "tripgen_cdk8s" in stack[i - 1][1] and "tripgen_cdk8s" not in stack[i][1]:
                fn2, path2, cls2 = stack[i]
                entry[f"{stack[i - 1][0]} -> {cls2 + '.' if cls2 else ''}{fn2} ({_short(path2)})"] += t
                break
    return {"total": total, "duration": session.duration, "phases": phases.most_common(),
            "mechanisms": mechanisms.most_common(),
            "matrix": [(p, m, t) for (p, m), t in matrix.most_common()],
            "self": self_time.most_common(top), "entry": entry.most_common(top)}


def _short(path: str) -> str:
    for marker in ("site-packages/", f"{REPO}/", "lib/python3"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


# ============================================================================= inner modes


def _run_cli(project: Path, out: Path) -> None:
    os.chdir(project)
    sys.argv = ["main.py", "synth", "--env", "prod", "--out", str(out)]
    from tripgen_cdk8s.cli import main

    try:
        main()
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise


def inner_pyinstrument(project: Path, out: Path, report: Path, interval: float) -> None:
    from pyinstrument import Profiler

    profiler = Profiler(interval=interval)
    profiler.start()
    _run_cli(project, out)
    session = profiler.stop()
    result = analyse_session(session)
    result["text"] = profiler.output_text(unicode=True, color=False, show_all=False)
    report.write_text(json.dumps(result), encoding="utf-8")


class Timers:
    def __init__(self) -> None:
        self.seconds: collections.Counter[str] = collections.Counter()
        self.counts: collections.Counter[str] = collections.Counter()

    def wrap(self, owner, name: str, label: str, reentrant_guard: bool = False):  # type: ignore[no-untyped-def]
        original = getattr(owner, name)
        is_static = isinstance(owner, type) and isinstance(owner.__dict__.get(name), staticmethod)
        depth = [0]

        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            if reentrant_guard and depth[0]:
                return original(*args, **kwargs)
            depth[0] += 1
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                depth[0] -= 1
                self.seconds[label] += time.perf_counter() - start
                self.counts[label] += 1

        setattr(owner, name, staticmethod(wrapper) if is_static else wrapper)
        return original


def inner_timers(project: Path, out: Path, report: Path) -> None:
    """Phase timers, jsii request counts and typeguard checks, without a profiler."""
    t0 = time.perf_counter()
    timers = Timers()
    import jsii  # noqa: F401  (imported first so its request functions can be wrapped)
    from jsii._kernel import Kernel
    from jsii._kernel.providers import process

    t_jsii = time.perf_counter() - t0
    timers.wrap(process._NodeProcess, "start", "jsii: start Node (extract runtime, spawn, handshake)")
    timers.wrap(Kernel, "load", "jsii: load assemblies into Node (the first load starts Node)")
    timers.wrap(process._NodeProcess, "_next_message", "jsii: wait for Node (handshake + all requests)")
    kinds: collections.Counter[str] = collections.Counter()
    original_send = process._NodeProcess.send

    def send(self, request, response_type):  # type: ignore[no-untyped-def]
        name = type(request).__name__.replace("Request", "")
        detail = [str(getattr(request, a)) for a in ("fqn", "method", "property") if getattr(request, a, None)]
        kinds[" ".join([name, *detail])] += 1
        return original_send(self, request, response_type)

    process._NodeProcess.send = send
    timers.wrap(process._NodeProcess, "send", "jsii: requests (marshal + wait + unmarshal)")

    t1 = time.perf_counter()
    import typing

    import cdk8s
    import constructs

    import tripgen_cdk8s.app.topology as topology
    import tripgen_cdk8s.cli  # noqa: F401
    import tripgen_cdk8s.lib.helm as helm
    import tripgen_cdk8s.lib.helmchart as helmchart
    import tripgen_cdk8s.lib.writer as writer
    import tripgen_cdk8s.tripgen.app as app
    import tripgen_cdk8s.tripgen.overlays as overlays
    t_import = time.perf_counter() - t1

    # Every wrapped function is looked up at call time (module globals, class attributes, or a
    # function-level import in the CLI), so wrapping the attribute catches every call.
    timers.wrap(overlays, "load", "config: load overlay + validate")
    timers.wrap(app, "synthesize", "app.synthesize (build_app + objects + ArgoCD)")
    timers.wrap(app, "build_app", "build_app (construct tree)")
    timers.wrap(helmchart.HelmChart, "synthesize", "HelmChart.synthesize (value producers + Resource bodies)")
    timers.wrap(helmchart.Resource, "to_json", "Resource.to_json (object bodies, all charts)")
    timers.wrap(app, "_gitops", "_gitops (ArgoCD objects)")
    timers.wrap(helm, "environment_files", "helm: environment_files (all chart files)")
    timers.wrap(helm, "render_template", "helm: render_template (templates/*.yaml)")
    timers.wrap(helm, "dump_yaml", "helm: dump_yaml (templates + manifest sets)")
    timers.wrap(topology, "environment_readme", "topology.environment_readme (environment README)")
    timers.wrap(writer, "write_environments", "write: files to --out")
    timers.wrap(typing, "get_type_hints", "typing.get_type_hints (typeguard stubs)", reentrant_guard=True)

    # The generated jsii modules import check_type/cached_type_hints by value and hide their module
    # attributes (publication.publish()); patch the real globals of each module still in use.
    class _Globals:
        def __init__(self, d: dict) -> None:
            object.__setattr__(self, "d", d)

        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return self.d[name]

        def __setattr__(self, name: str, value: object) -> None:
            self.d[name] = value

    for cls in (cdk8s.Chart, constructs.Construct):
        g = cls.__init__.__globals__
        if callable(g.get("check_type")):
            timers.wrap(_Globals(g), "check_type", "check_type (typeguard)", reentrant_guard=True)
        if callable(g.get("cached_type_hints")):
            timers.wrap(_Globals(g), "cached_type_hints", "cached_type_hints (typeguard stubs)",
                        reentrant_guard=True)

    t2 = time.perf_counter()
    _run_cli(project, out)
    t_cli = time.perf_counter() - t2
    report.write_text(json.dumps({
        "import_jsii_python": t_jsii, "import_tool_and_cdk8s": t_import, "cli": t_cli,
        "total_in_process": time.perf_counter() - t0,
        "seconds": timers.seconds, "counts": timers.counts, "requests": kinds.most_common(),
        "wallclock_at_exit": time.time(),
    }), encoding="utf-8")


# ============================================================================= outer driver


def _inner(python: str, mode: str, project: Path, out: Path, report: Path,
           extra: list[str] | None = None) -> tuple[float, float]:
    argv = [python, str(Path(__file__)), "--inner", mode, "--project", str(project), "--out", str(out),
            "--report", str(report), *(extra or [])]
    if out.exists():
        shutil.rmtree(out)
    start, wall_start = time.perf_counter(), time.time()
    proc = subprocess.run(argv, env=ENV, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stderr[-3000:]}")
    return wall, wall_start
def _tool(python: str, project: Path, out: Path, flags: list[str] | None = None,
          env: dict[str, str] | None = None) -> float:
    if out.exists():
        shutil.rmtree(out)
    argv = [python, *(flags or []), str(REPO / "main.py"), "synth", "--env", "prod", "--out", str(out)]
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=project, env=env or ENV, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stderr[-3000:]}")
    return wall


def _same_tree(a: Path, b: Path) -> bool:
    cmp = filecmp.dircmp(a, b)

    def ok(c: filecmp.dircmp) -> bool:  # type: ignore[type-arg]
        if c.left_only or c.right_only or c.funny_files:
            return False
        _match, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
        return not mismatch and not errors and all(ok(s) for s in c.subdirs.values())

    return ok(cmp)


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--services", "-n", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.001, help="pyinstrument sampling interval (s)")
    parser.add_argument("--no-experiments", action="store_true")
    parser.add_argument("--experiment-runs", type=int, default=2)
    default_python = REPO / ".venv" / "bin" / "python"
    parser.add_argument("--python", default=str(default_python) if default_python.exists() else sys.executable)
    parser.add_argument("--workdir", type=Path, default=RESULTS,
                        help="where the generated project and outputs go (default bench/results/, git-ignored: "
                             "the filesystem a project's charts/ live on)")
    parser.add_argument("--inner", choices=["pyinstrument", "timers"], help=argparse.SUPPRESS)
    parser.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--report", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.inner:
        sys.path.insert(0, str(REPO))
        if args.inner == "pyinstrument":
            inner_pyinstrument(args.project, args.out, args.report, args.interval)
        else:
            inner_timers(args.project, args.out, args.report)
        return 0

    sys.path.insert(0, str(BENCH))
    import generate

    n = args.services
    RESULTS.mkdir(exist_ok=True)
    args.workdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="tripgen-profile-", dir=args.workdir)).resolve()
    try:
        project = work / "project"
        generate.generate(project, n)
        python = args.python
        print(f"N={n} in {work}: warm-up", file=sys.stderr)
        plain = _tool(python, project, work / "out-plain")

        print("pass 1: pyinstrument", file=sys.stderr)
        prof_json = work / "prof.json"
        prof_wall, _ = _inner(python, "pyinstrument", project, work / "out-prof", prof_json,
                              extra=["--interval", str(args.interval)])
        prof = json.loads(prof_json.read_text())
        (RESULTS / f"profile-n{n}.txt").write_text(prof.pop("text"), encoding="utf-8")

        print("pass 2: timers", file=sys.stderr)
        tim_json = work / "timers.json"
        tim_wall, _ = _inner(python, "timers", project, work / "out-timers", tim_json)
        end_wall = time.time()
        tim = json.loads(tim_json.read_text())
        exit_s = max(0.0, end_wall - tim["wallclock_at_exit"])  # includes subprocess.run bookkeeping

        experiments: dict[str, list[float]] = {}
        same: dict[str, bool] = {}
        if not args.no_experiments:
            print("pass 3: experiments", file=sys.stderr)
            # A private bytecode cache (PYTHONPYCACHEPREFIX, writes allowed), warmed on a 4-service project:
            # -O needs .opt-1.pyc files, which site-packages lacks and PYTHONDONTWRITEBYTECODE=1 never
            # writes, so without it every -O run recompiles the jsii bindings.
            cached_env = {k: v for k, v in ENV.items() if k != "PYTHONDONTWRITEBYTECODE"}
            cached_env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
            small = work / "project-4"
            generate.generate(small, 4)

            def tool(tag: str, flags: list[str] | None = None, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
                return lambda proj, i: _tool(python, proj, work / f"out-{tag}-{i}", flags=flags, env=env)

            variants = {  # name -> (tag, runner)
                "unchanged": ("unchanged", tool("unchanged")),
                "unchanged, bytecode cache": ("pyc", tool("pyc", env=cached_env)),
                "python -O (typeguard stubs off), bytecode cache": ("O", tool("O", flags=["-O"], env=cached_env)),
            }
            for _tag, fn in variants.values():  # warm the bytecode caches (not measured)
                fn(small, "warm")
            for i in range(args.experiment_runs):
                for name, (_tag, fn) in variants.items():
                    experiments.setdefault(name, []).append(fn(project, i))
                    print(f"  {name}: {experiments[name][-1]:.2f} s", file=sys.stderr)
            tags = {name: tag for name, (tag, _fn) in variants.items() if name != "unchanged"}
            reference = work / "out-unchanged-0"
            for name, tag in tags.items():
                same[name] = _same_tree(reference, work / f"out-{tag}-0")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    text = render(n, plain, prof, prof_wall, tim, tim_wall, exit_s, experiments, same)
    print(text)
    (RESULTS / f"profile-n{n}.md").write_text(text, encoding="utf-8")
    print(f"wrote {RESULTS / f'profile-n{n}.md'} and profile-n{n}.txt", file=sys.stderr)
    return 0


def render(n: int, plain: float, prof: dict, prof_wall: float, tim: dict, tim_wall: float, exit_s: float,
           experiments: dict[str, list[float]], same: dict[str, bool]) -> str:
    total = prof["total"]
    lines = [f"# Profile of `synth --env prod` at N={n}", "",
             f"- Unprofiled whole process: {plain:.2f} s (warm-up run); under pyinstrument {prof_wall:.2f} s "
             f"({prof['duration']:.2f} s profiled; pure-Python parts are inflated by the profiler).", ""]
    lines += ["## pyinstrument: by phase", "", "| Phase | s | % |", "| --- | ---: | ---: |"]
    lines += [f"| {p} | {t:.2f} | {_pct(t, total)} |" for p, t in prof["phases"]]
    lines += ["", "## pyinstrument: by mechanism", "", "| Mechanism | s | % |", "| --- | ---: | ---: |"]
    lines += [f"| {m} | {t:.2f} | {_pct(t, total)} |" for m, t in prof["mechanisms"]]
    lines += ["", "## pyinstrument: phase x mechanism (>= 1%)", "", "| Phase | Mechanism | s | % |",
              "| --- | --- | ---: | ---: |"]
    lines += [f"| {p} | {m} | {t:.2f} | {_pct(t, total)} |" for p, m, t in prof["matrix"] if t >= total / 100]
    lines += ["", "## pyinstrument: library calls made from tripgen code (inclusive)", "",
              "| tripgen function -> library call | s | % |", "| --- | ---: | ---: |"]
    lines += [f"| `{k}` | {t:.2f} | {_pct(t, total)} |" for k, t in prof["entry"][:20]]
    lines += ["", "## pyinstrument: top self time", "", "| Function | s | % |", "| --- | ---: | ---: |"]
    lines += [f"| `{k}` | {t:.2f} | {_pct(t, total)} |" for k, t in prof["self"][:20]]

    secs, counts = tim["seconds"], tim["counts"]
    whole = tim_wall
    lines += ["", "## Timers (no profiler)", "",
              f"Whole process {whole:.2f} s. Rows are inclusive wall-clock timers; a row prefixed with `>` is "
              "inside the nearest row above it with one `>` less, so they do not add up. The `all ...` rows "
              "cut across the phases.", "", "| Timer | calls | s | % of process |", "| --- | ---: | ---: | ---: |"]
    startup = whole - tim["total_in_process"] - exit_s
    rows: list[tuple[str, int | None, float]] = [
        ("interpreter start-up + harness script import", None, startup),
        ("import jsii (Python package)", None, tim["import_jsii_python"]),
        ("import tripgen_cdk8s + cdk8s + constructs (incl. jsii start + assembly loads)", None,
         tim["import_tool_and_cdk8s"]),
    ]

    def timer(key: str, depth: int) -> None:
        rows.append(("> " * depth + key, counts.get(key), secs.get(key, 0.0)))

    timer("jsii: load assemblies into Node (the first load starts Node)", 1)
    timer("jsii: start Node (extract runtime, spawn, handshake)", 2)
    rows.append(("CLI run (config, build, synthesize, render, README, write)", None, tim["cli"]))
    for key, depth in (("config: load overlay + validate", 1),
                       ("app.synthesize (build_app + objects + ArgoCD)", 1),
                       ("build_app (construct tree)", 2),
                       ("HelmChart.synthesize (value producers + Resource bodies)", 2),
                       ("_gitops (ArgoCD objects)", 2),
                       ("Resource.to_json (object bodies, all charts)", 2),
                       ("helm: environment_files (all chart files)", 1),
                       ("helm: render_template (templates/*.yaml)", 2),
                       ("helm: dump_yaml (templates + manifest sets)", 2),
                       ("topology.environment_readme (environment README)", 1),
                       ("write: files to --out", 1)):
        timer(key, depth)
    rows.append(("exit (jsii kernel stop, interpreter teardown)", None, exit_s))
    for key in ("jsii: requests (marshal + wait + unmarshal)", "jsii: wait for Node (handshake + all requests)",
                "typing.get_type_hints (typeguard stubs)", "cached_type_hints (typeguard stubs)",
                "check_type (typeguard)"):
        rows.append(("all " + key, counts.get(key), secs.get(key, 0.0)))
    for label, c, s in rows:
        lines.append(f"| {label} | {c if c is not None else ''} | {s:.2f} | {_pct(s, whole)} |")
    reqs = tim["requests"]
    lines += ["", f"jsii requests: {sum(c for _k, c in reqs)} in total ({sum(c for _k, c in reqs) / n:.1f} per "
              "service); most frequent:", "", "| Request | count |", "| --- | ---: |"]
    lines += [f"| `{k}` | {c} |" for k, c in reqs[:15]]
    if experiments:
        base = statistics.median(experiments["unchanged"])
        lines += ["", "## Experiments (no code change; whole process, median of "
                  f"{len(experiments['unchanged'])} interleaved runs)", "",
                  "| Variant | median s | vs unchanged | output identical |", "| --- | ---: | ---: | --- |"]
        for name, walls in experiments.items():
            med = statistics.median(walls)
            lines.append(f"| {name} | {med:.2f} | {med / base:.2f} | {'' if name == 'unchanged' else same.get(name)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
