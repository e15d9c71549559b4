"""Where does `synth` spend its time?  Profiles the tool on a generated N-service project.

    .venv/bin/python bench/profile_tool.py                  # N = 200
    .venv/bin/python bench/profile_tool.py --services 50 --no-experiments

Needs pyinstrument in the venv (``.venv/bin/pip install pyinstrument``).  Three passes, each a
fresh process running ``main.py synth --env prod --out <tmp>`` in the generated project:

1. **pyinstrument** (1 ms sampling): every sample's stack is classified twice, by *phase* (import,
   config, build_app, to_json, Helm rendering, file writes) and by *mechanism* (waiting for the
   Node kernel, jsii marshalling in Python, typeguard checks, PyYAML, deepcopy, ...).  The full
   call tree goes to bench/results/profile-n<N>.txt.  Profiling inflates pure-Python time (here
   roughly 1.5-2x), not the time blocked on Node, so read its percentages with pass 2.
2. **timers** (no profiler): wall-clock timers around the same phases and around every jsii
   request, with request counts by type.  Cheap enough to leave the proportions intact.
3. **experiments** (optional): whole-process wall time of variants that need no change in the
   repository, run interleaved with the unchanged tool: ``python -O`` (skips the typeguard checks
   of the generated jsii bindings); PyYAML's libyaml ``CSafeDumper`` patched into
   ``helm.dump_yaml``; memoised ``Quantity``/``IntOrString`` factories and ``ApiObject.kind/name``
   (patched into the libraries from outside); and all three.  Each variant's output is compared
   byte for byte with the unchanged tool's.  Except "unchanged", the variants run with a private
   bytecode cache (PYTHONPYCACHEPREFIX in the temp dir, warmed first): ``-O`` needs ``.opt-1.pyc``
   files that site-packages lacks and PYTHONDONTWRITEBYTECODE=1 never writes.

Writes bench/results/profile-n<N>.md (summary) and .txt (pyinstrument tree).
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


# ============================================================================= classification


def _parse(frame_info: str) -> tuple[str, str, str]:
    """(function, file path, class name) of a pyinstrument frame_info string."""
    ident, _, attrs = frame_info.partition(ATTR)
    parts = ident.split(SEP)
    cls = next((a[1:] for a in attrs.split(ATTR) if a.startswith("c")), "") if attrs else ""
    return parts[0], parts[1] if len(parts) > 1 else "", cls


PHASES = [  # (label, function, file suffix); the innermost match names the phase
    ("import: modules + jsii start", "_find_and_load", "<frozen importlib._bootstrap>"),
    ("config: load overlay + validate", "load", "tripgen_cdk8s/overlays.py"),
    ("build_app: constructs (jsii objects, patches)", "build_app", "tripgen_cdk8s/app.py"),
    ("synthesize: chart.to_json()", "synthesize", "tripgen_cdk8s/app.py"),
    ("helm: render chart files", "environment_files", "tripgen_cdk8s/helm.py"),
    ("write: files to --out", "write_environments", "tripgen_cdk8s/writer.py"),
    ("check: compare with charts/", "stale_files", "tripgen_cdk8s/writer.py"),
]

IMPORT_SUB = [  # refine the import phase (innermost match)
    ("jsii: start Node (extract runtime, spawn, handshake)", "start", "jsii/_kernel/providers/process.py"),
    ("jsii: load assemblies into Node", "load", "jsii/_kernel/__init__.py"),
]


def phase_of(stack: list[tuple[str, str, str]]) -> str:
    phase = "other (interpreter, click, CLI glue)"
    for fn, path, _cls in reversed(stack):  # innermost phase wins (build_app runs inside synthesize)
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
        if "/typeguard/" in path or fn in ("check_type", "get_type_hints", "_typecheckingstub"):
            return "typeguard checks (get_type_hints + check_type in jsii bindings)"
        if path.endswith("/typing.py"):
            return "typing: Optional[...]/cast in jsii struct getters"
        if "/jsii/" in path or "/cattr" in path or "/attr/" in path:
            return "jsii marshalling (Python side)"
        if "/yaml/" in path:
            return "PyYAML (pure-Python dump)"
        if path.endswith("/copy.py"):
            return "copy.deepcopy"
        if "/json/" in path:
            return "json (dumps/loads)"
        if path.endswith(("/pathlib.py", "/shutil.py", "/tempfile.py")) or fn in ("write_text", "read_text"):
            return "file system (pathlib/shutil)"
        if "importlib" in path:
            return "module import machinery"
        if "/cdk8s_plus_29/" in path or "/cdk8s/" in path or "/constructs/" in path:
            return "cdk8s/constructs Python bindings"
        if "tripgen_cdk8s" in path:
            return "tripgen_cdk8s Python code"
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
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
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
    """Phase timers and jsii request counts, without a profiler."""
    t0 = time.perf_counter()
    timers = Timers()
    import jsii  # noqa: F401  (imported first so its request functions can be wrapped)
    from jsii._kernel import Kernel
    from jsii._kernel.providers import process

    t_jsii = time.perf_counter() - t0
    timers.wrap(process._NodeProcess, "start", "jsii: start Node (extract runtime, spawn, handshake)")
    timers.wrap(Kernel, "load", "jsii: load assemblies into Node")
    timers.wrap(process._NodeProcess, "_next_message", "jsii: wait for Node (all requests)")
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

    import tripgen_cdk8s.cli  # noqa: F401
    import tripgen_cdk8s.lib.helm as helm
    import tripgen_cdk8s.lib.writer as writer
    import tripgen_cdk8s.tripgen.app as app
    import tripgen_cdk8s.tripgen.overlays as overlays
    t_import = time.perf_counter() - t1

    timers.wrap(overlays, "load", "config: load overlay + validate")
    timers.wrap(app, "build_app", "build_app (construct tree)")
    timers.wrap(app, "synthesize", "synthesize (build_app + to_json)")
    timers.wrap(cdk8s.Chart, "to_json", "chart.to_json()")
    timers.wrap(helm, "environment_files", "helm: render chart files")
    timers.wrap(helm, "dump_yaml", "helm: dump_yaml (inside render)")
    timers.wrap(helm, "render_template", "helm: render_template (inside render)")
    timers.wrap(helm.copy, "deepcopy", "copy.deepcopy (all callers)", reentrant_guard=True)
    timers.wrap(writer, "write_environments", "write: files to --out")
    timers.wrap(cdk8s.ApiObject, "add_json_patch", "ApiObject.add_json_patch (inside build_app)")
    for op in ("add", "replace", "remove"):
        timers.wrap(cdk8s.JsonPatch, op, "JsonPatch.add/replace/remove (inside build_app)")
    timers.wrap(typing, "get_type_hints", "typing.get_type_hints (typeguard stubs)", reentrant_guard=True)
    import cdk8s_plus_29.k8s as k8s_mod
    import constructs

    # The generated modules hide their helpers (publication.publish()); patch the real globals.
    class _Globals:
        def __init__(self, d: dict) -> None:
            object.__setattr__(self, "d", d)

        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return self.d[name]

        def __setattr__(self, name: str, value: object) -> None:
            self.d[name] = value

    for cls in (k8s_mod.ObjectMeta, cdk8s.ApiObject, constructs.Construct):
        g = cls.__init__.__globals__
        if callable(g.get("check_type")):
            timers.wrap(_Globals(g), "check_type", "check_type (typeguard)", reentrant_guard=True)

    t2 = time.perf_counter()
    _run_cli(project, out)
    t_cli = time.perf_counter() - t2
    report.write_text(json.dumps({
        "import_jsii_python": t_jsii, "import_tool_and_cdk8s": t_import, "cli": t_cli,
        "total_in_process": time.perf_counter() - t0,
        "seconds": timers.seconds, "counts": timers.counts, "requests": kinds.most_common(),
        "wallclock_at_exit": time.time(),
    }), encoding="utf-8")


def inner_variant(project: Path, out: Path, cyaml: bool, cache: bool) -> None:
    """The unchanged tool with library-level patches applied from outside (nothing in the repo changes).

    ``cyaml``: helm.dump_yaml uses libyaml's CSafeDumper with the same str representer.
    ``cache``: memoise ``k8s.Quantity.from_string`` / ``k8s.IntOrString.from_number/from_string``
    (immutable value objects, shared between structs) and each ApiObject's ``kind``/``name``
    (read by HelmChart.bind), i.e. what a change in the tool that avoids those round trips would save.
    """
    if cyaml:
        import yaml

        import tripgen_cdk8s.lib.helm as helm

        class CDumper(yaml.CSafeDumper):
            pass

        CDumper.add_representer(str, helm._str_representer)

        def dump_yaml(data):  # type: ignore[no-untyped-def]
            return yaml.dump(data, Dumper=CDumper, sort_keys=True, default_flow_style=False, width=10_000,
                             allow_unicode=True)

        helm.dump_yaml = dump_yaml
    if cache:
        import functools

        import cdk8s
        from cdk8s_plus_29 import k8s

        for cls, name in ((k8s.Quantity, "from_string"), (k8s.IntOrString, "from_number"),
                          (k8s.IntOrString, "from_string")):
            setattr(cls, name, staticmethod(functools.lru_cache(maxsize=None)(getattr(cls, name))))
        for attr in ("kind", "name"):
            getter = getattr(cdk8s.ApiObject, attr).fget

            def cached(self, _getter=getter, _key=f"_bench_{attr}"):  # type: ignore[no-untyped-def]
                try:
                    return self.__dict__[_key]
                except KeyError:
                    value = self.__dict__[_key] = _getter(self)
                    return value

            setattr(cdk8s.ApiObject, attr, property(cached))
    _run_cli(project, out)


# ============================================================================= outer driver


def _inner(python: str, mode: str, project: Path, out: Path, report: Path | None = None,
           extra: list[str] | None = None, flags: list[str] | None = None,
           env: dict[str, str] | None = None) -> tuple[float, float]:
    argv = [python, *(flags or []), str(Path(__file__)), "--inner", mode, "--project", str(project),
            "--out", str(out), *(["--report", str(report)] if report else []), *(extra or [])]
    if out.exists():
        shutil.rmtree(out)
    start, wall_start = time.perf_counter(), time.time()
    proc = subprocess.run(argv, env=env or ENV, capture_output=True, text=True)
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
    parser.add_argument("--inner", choices=["pyinstrument", "timers", "variant"], help=argparse.SUPPRESS)
    parser.add_argument("--cyaml", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cache", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--report", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.inner:
        sys.path.insert(0, str(REPO))
        if args.inner == "pyinstrument":
            inner_pyinstrument(args.project, args.out, args.report, args.interval)
        elif args.inner == "timers":
            inner_timers(args.project, args.out, args.report)
        else:
            inner_variant(args.project, args.out, cyaml=args.cyaml, cache=args.cache)
        return 0

    sys.path.insert(0, str(BENCH))
    import generate

    n = args.services
    RESULTS.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="tripgen-profile-"))
    try:
        project = work / "project"
        generate.generate(project, n)
        python = args.python
        print(f"N={n}: warm-up", file=sys.stderr)
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
            # writes, so without it every -O run recompiles the 4 MB cdk8s_plus_29 bindings.
            cached_env = {k: v for k, v in ENV.items() if k != "PYTHONDONTWRITEBYTECODE"}
            cached_env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
            small = work / "project-4"
            generate.generate(small, 4)

            def tool(tag: str, flags: list[str] | None = None, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
                return lambda proj, i: _tool(python, proj, work / f"out-{tag}-{i}", flags=flags, env=env)

            def variant(tag: str, extra: list[str], flags: list[str] | None = None):  # type: ignore[no-untyped-def]
                return lambda proj, i: _inner(python, "variant", proj, work / f"out-{tag}-{i}", extra=extra,
                                              flags=flags, env=cached_env)[0]

            variants = {  # name -> (tag, runner)
                "unchanged": ("unchanged", tool("unchanged")),
                "unchanged, bytecode cache": ("pyc", tool("pyc", env=cached_env)),
                "python -O, bytecode cache": ("O", tool("O", flags=["-O"], env=cached_env)),
                "CSafeDumper in dump_yaml, bytecode cache": ("cyaml", variant("cyaml", ["--cyaml"])),
                "cached Quantity/IntOrString factories + ApiObject kind/name, bytecode cache":
                    ("cache", variant("cache", ["--cache"])),
                "-O + CSafeDumper + caches, bytecode cache": ("all", variant("all", ["--cyaml", "--cache"], ["-O"])),
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
              f"Whole process {whole:.2f} s. Rows are inclusive wall-clock timers; indented rows are inside the row "
              "above them, so they do not add up.", "", "| Timer | calls | s | % of process |",
              "| --- | ---: | ---: | ---: |"]
    startup = whole - tim["total_in_process"] - exit_s
    rows = [
        ("interpreter start-up + harness script import", None, startup),
        ("import jsii (Python package)", None, tim["import_jsii_python"]),
        ("import tripgen_cdk8s + cdk8s + cdk8s_plus_29 (incl. jsii start + assembly loads)", None,
         tim["import_tool_and_cdk8s"]),
    ]
    for key in ("jsii: start Node (extract runtime, spawn, handshake)", "jsii: load assemblies into Node"):
        rows.append(("  " + key, counts.get(key), secs.get(key, 0.0)))
    rows.append(("CLI run (config, build, synth, render, write)", None, tim["cli"]))
    for key in ("config: load overlay + validate", "synthesize (build_app + to_json)", "build_app (construct tree)",
                "ApiObject.add_json_patch (inside build_app)", "JsonPatch.add/replace/remove (inside build_app)",
                "chart.to_json()", "helm: render chart files", "helm: render_template (inside render)",
                "copy.deepcopy (all callers)", "helm: dump_yaml (inside render)",
                "write: files to --out"):
        rows.append(("  " + key, counts.get(key), secs.get(key, 0.0)))
    rows.append(("exit (jsii kernel stop, interpreter teardown)", None, exit_s))
    for key in ("jsii: requests (marshal + wait + unmarshal)", "jsii: wait for Node (all requests)",
                "typing.get_type_hints (typeguard stubs)", "check_type (typeguard)"):
        rows.append(("all " + key, counts.get(key), secs.get(key, 0.0)))
    for label, c, s in rows:
        lines.append(f"| {label} | {c if c is not None else ''} | {s:.2f} | {_pct(s, whole)} |")
    reqs = tim["requests"]
    lines += ["", f"jsii requests: {sum(c for _k, c in reqs)} in total ({sum(c for _k, c in reqs) / n:.0f} per "
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
