"""Benchmark tripgen-cdk8s against a plain cdk8s app; prints a markdown table.

    .venv/bin/python bench/run.py            # 1 warm-up + 5 measured rounds, N = 4, 50, 200
    .venv/bin/python bench/run.py --quick    # smoke test: 1 warm-up + 2 rounds, N = 4, 50
    .venv/bin/python bench/run.py --runs 7 --runs-large 3

Every case is a whole process (interpreter start, jsii/Node start, synth, file writes, exit).
All cases run once as a warm-up round (not counted), then ``--runs`` measured rounds; each round
runs every case once, tool and baseline alternating, and odd rounds run the cases in reverse order
so neither side always runs first.  The table goes to stdout and to bench/results/latest.md (raw
numbers to latest.json).

Memory: a jsii process tree is Python -> node (jsii-runtime.js wrapper) -> node (program.js, the
kernel).  ``wait4``/``/usr/bin/time -f %M`` would give only the largest *single* process.  A
sampler thread therefore reads ``VmHWM`` (each process's own peak RSS, kept by the kernel) of the
Python process and of every descendant every 20 ms (new descendants found by a /proc scan every
100 ms) and reports Python's peak, the Node processes' summed peaks, and their sum.  The sum of
per-process peaks is an upper bound of the tree's simultaneous peak (the processes need not peak
at the same moment), so it is the conservative number to hold against a limit.  Peak RSS is the
maximum over the measured runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402

ENV = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
SAMPLE_INTERVAL = 0.02
SCAN_INTERVAL = 0.1


# ----------------------------------------------------------------------------- process-tree memory


def _status(pid: int) -> dict[str, str]:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                out[key] = value.strip()
    except OSError:
        pass
    return out


def _kib(value: str | None) -> int:
    return int(value.split()[0]) if value else 0


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


class TreeSampler(threading.Thread):
    """Peak RSS (VmHWM) of a process and all its descendants, per process."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.hwm: dict[int, int] = {}  # pid -> KiB
        self.names: dict[int, str] = {}
        self.max_simultaneous = 0  # KiB, max over samples of the summed VmRSS
        self._halt = threading.Event()

    def _scan(self) -> None:
        children = _children_map()
        todo, seen = [self.root], set()
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue
            seen.add(pid)
            self.hwm.setdefault(pid, 0)
            todo += children.get(pid, [])

    def sample(self) -> None:
        rss_sum = 0
        for pid in list(self.hwm):
            st = _status(pid)
            if "VmHWM" not in st:  # exited (or zombie)
                continue
            self.names.setdefault(pid, st.get("Name", "?"))
            self.hwm[pid] = max(self.hwm[pid], _kib(st["VmHWM"]))
            rss_sum += _kib(st.get("VmRSS"))
        self.max_simultaneous = max(self.max_simultaneous, rss_sum)

    def run(self) -> None:
        next_scan = 0.0
        while not self._halt.is_set():
            now = time.monotonic()
            if now >= next_scan:
                self._scan()
                next_scan = now + SCAN_INTERVAL
            self.sample()
            self._halt.wait(SAMPLE_INTERVAL)

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def python_kib(self) -> int:
        return self.hwm.get(self.root, 0)

    def node_kib(self) -> int:
        return sum(v for pid, v in self.hwm.items() if pid != self.root and self.names.get(pid, "").startswith("node"))

    def other_kib(self) -> int:
        return sum(v for pid, v in self.hwm.items() if pid != self.root and not self.names.get(pid, "").startswith("node"))


# ----------------------------------------------------------------------------- cases and runs


@dataclass
class Run:
    wall: float
    rc: int
    python_mb: float
    node_mb: float
    other_mb: float
    tree_mb: float  # python + node + other peaks
    simultaneous_mb: float  # max summed VmRSS seen in one sample (a lower bound)
    wait4_maxrss_mb: float  # largest single process (what /usr/bin/time -f %M shows)
    cpu: float  # user + sys of Python and the descendants it reaped


@dataclass
class Case:
    key: str
    label: str
    side: str  # "tool" or "baseline"
    n: int
    argv: list[str]
    cwd: Path
    out: Path | None  # removed before each run
    runs: int
    results: list[Run] = field(default_factory=list)
    verified: str = ""

    def walls(self) -> list[float]:
        return [r.wall for r in self.results]

    def median(self) -> float:
        return statistics.median(self.walls())

    def minimum(self) -> float:
        return min(self.walls())

    def peak(self, attr: str = "tree_mb") -> float:
        return max(getattr(r, attr) for r in self.results)


def run_once(case: Case) -> Run:
    if case.out is not None and case.out.exists():
        shutil.rmtree(case.out)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(case.argv, cwd=case.cwd, env=ENV, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
        rc = proc.returncode
        if rc != 0 and not (case.key == "check" and rc == 1):
            err.seek(0)
            raise SystemExit(f"{case.label}: exit {rc}\n{' '.join(case.argv)}\n{err.read().decode()[-3000:]}")
    mb = 1 / 1024
    py, node, other = sampler.python_kib() * mb, sampler.node_kib() * mb, sampler.other_kib() * mb
    return Run(wall=wall, rc=rc, python_mb=py, node_mb=node, other_mb=other, tree_mb=py + node + other,
               simultaneous_mb=sampler.max_simultaneous * mb, wait4_maxrss_mb=usage.ru_maxrss * mb,
               cpu=usage.ru_utime + usage.ru_stime)


def verify(case: Case) -> str:
    """A one-line check that the warm-up output is what the case claims to produce."""
    if case.out is None:
        return "no output (check)"
    if case.side == "baseline":
        objects = sum(line.startswith("kind: ") for p in case.out.glob("*.yaml")
                      for line in p.read_text().splitlines())
        if objects != 5 * case.n:
            raise SystemExit(f"{case.label}: expected {5 * case.n} objects, found {objects}")
        return f"{objects} objects in {len(list(case.out.glob('*.yaml')))} YAML files"
    envs = sorted(p for p in case.out.iterdir() if p.is_dir())
    charts = {e.name: sum(1 for p in e.iterdir() if p.is_dir()) for e in envs}
    files = sum(1 for _ in case.out.rglob("*") if _.is_file())
    if case.n and charts.get("prod", 0) < case.n + 1:  # a chart per service + the platform chart (+ others)
        raise SystemExit(f"{case.label}: expected at least {case.n + 1} charts in prod/, found {charts}")
    return ", ".join(f"{env}: {count} charts" for env, count in charts.items()) + f"; {files} files"


def build_cases(python: str, sizes: list[int], runs: int, runs_large: int, work: Path) -> list[Case]:
    main_py = str(REPO / "main.py")
    baseline_py = str(BENCH / "baseline.py")
    large = max(sizes)
    cases = [
        Case("default", "tool: `synth` (default config, all envs)", "tool", 0,
             [python, main_py, "synth", "--out", str(work / "out-default")], REPO, work / "out-default", runs),
        Case("check", "tool: `synth --check` (repo charts/)", "tool", 0,
             [python, main_py, "synth", "--check"], REPO, None, runs),
    ]
    for n in sizes:
        project = work / f"project-n{n}"
        generate.generate(project, n)
        r = runs_large if n == large and len(sizes) > 1 else runs
        cases.append(Case(f"tool-{n}", f"tool: `synth --env prod`, N={n}", "tool", n,
                          [python, main_py, "synth", "--env", "prod", "--out", str(work / f"out-tool-{n}")],
                          project, work / f"out-tool-{n}", r))
        cases.append(Case(f"baseline-{n}", f"baseline: plain cdk8s, N={n}", "baseline", n,
                          [python, baseline_py, "--services", str(n), "--out", str(work / f"out-baseline-{n}")],
                          REPO, work / f"out-baseline-{n}", r))
    # Alternate tool and baseline: default, baseline-4, check, tool-4, baseline-50, tool-50, ...
    by_key = {c.key: c for c in cases}
    order = [by_key["default"]]
    if 4 in sizes:
        order += [by_key["baseline-4"], by_key["check"], by_key["tool-4"]]
    else:
        order += [by_key["check"]]
    for n in sizes:
        if n == 4:
            continue
        order += [by_key[f"baseline-{n}"], by_key[f"tool-{n}"]]
    return order


# ----------------------------------------------------------------------------- report


def _version(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, env=ENV, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def environment_lines(python: str) -> list[str]:
    node = shutil.which("node") or "node"
    pkgs = _version([python, "-c", "import importlib.metadata as m; print(', '.join(f'{p} {m.version(p)}' for p in "
                     "('cdk8s', 'cdk8s-plus-29', 'jsii', 'constructs', 'PyYAML')))"])
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    return [
        f"- Date: {dt.datetime.now().isoformat(timespec='seconds')}",
        f"- Machine: {platform.platform()}, {os.cpu_count()} cores ({affinity} usable), "
        f"{platform.processor() or platform.machine()}",
        f"- Python: {_version([python, '-c', 'import sys; print(sys.version.split()[0])'])} ({python})",
        f"- Node: {_version([node, '--version'])} ({node})",
        f"- Packages: {pkgs}",
        f"- PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '(unset)')} "
        "(when set, tripgen_cdk8s is byte-compiled on every run; site-packages ship .pyc files)",
    ]


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def report(cases: list[Case], python: str, load: tuple[tuple[float, ...], tuple[float, ...]], notes: list[str],
           elapsed: float) -> str:
    by_key = {c.key: c for c in cases}
    sizes = sorted(c.n for c in cases if c.key.startswith("tool-"))
    lines = ["# tripgen-cdk8s benchmark", ""]
    lines += environment_lines(python)
    lines += [f"- Load average before / after: {' '.join(f'{x:.2f}' for x in load[0])} / "
              f"{' '.join(f'{x:.2f}' for x in load[1])}; total benchmark time {elapsed:.0f} s",
              "- Wall time: whole process, median and min of the measured runs after 1 warm-up round; tool and "
              "baseline runs interleaved.",
              "- Peak RSS: max over runs of (Python VmHWM + the summed VmHWM of the two Node processes jsii starts: "
              "the jsii-runtime.js wrapper and the kernel), sampled every 20 ms from /proc; an upper bound of the "
              "tree's simultaneous peak. `simult.` is the largest summed VmRSS seen in one sample (a lower bound); "
              "`max 1 proc` is the largest single process, what `/usr/bin/time -f %M` would report. "
              "CPU s: user+sys of Python and the Node processes it reaped (median).", ""]
    lines += ["| Case | Runs | Median s | Min s | Max s | CPU s | Peak RSS Py+Node MB | Python MB | Node MB "
              "| simult. MB | max 1 proc MB | Output |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for c in cases:
        lines.append(
            f"| {c.label} | {len(c.results)} | {c.median():.2f} | {c.minimum():.2f} | {max(c.walls()):.2f} | "
            f"{statistics.median(r.cpu for r in c.results):.2f} | {c.peak():.0f} | {c.peak('python_mb'):.0f} | "
            f"{c.peak('node_mb'):.0f} | {c.peak('simultaneous_mb'):.0f} | {c.peak('wait4_maxrss_mb'):.0f} | "
            f"{c.verified} |")
    lines += ["", "Ratios of wall times (median of each side; min of each side), with the ratio of median CPU "
              "seconds as a cross-check that other load on the machine distorts less. Pass/fail uses the "
              "median wall-time ratio.", "",
              "| Ratio | Median | Min | CPU | Target | Result |", "| --- | ---: | ---: | ---: | --- | --- |"]

    def cpu(c: Case) -> float:
        return statistics.median(r.cpu for r in c.results)

    def row(name: str, a: Case, b: Case, target: float | None = None) -> None:
        med, mn = _ratio(a.median(), b.median()), _ratio(a.minimum(), b.minimum())
        verdict = ("PASS" if med <= target else "FAIL") if target is not None else ""
        lines.append(f"| {name} | {med:.2f} | {mn:.2f} | {_ratio(cpu(a), cpu(b)):.2f} | "
                     f"{f'<= {target}' if target else ''} | {verdict} |")

    if "baseline-4" in by_key:
        row("default synth / baseline N=4", by_key["default"], by_key["baseline-4"], 1.3)
    row("synth --check / default synth", by_key["check"], by_key["default"], 1.05)
    for n in sizes:
        row(f"tool / baseline, N={n}", by_key[f"tool-{n}"], by_key[f"baseline-{n}"], 1.3 if n == 200 else None)
    if 50 in sizes and 200 in sizes:
        row("tool time(200) / time(50)", by_key["tool-200"], by_key["tool-50"], 4.5)
        row("baseline time(200) / time(50)", by_key["baseline-200"], by_key["baseline-50"])
    if 200 in sizes:
        peak = by_key["tool-200"].peak()
        base = by_key["baseline-200"].peak()
        lines.append(f"| tool peak RSS Py+Node MB, N=200 (baseline {base:.0f}) | {peak:.0f} | | | < 300 | "
                     f"{'PASS' if peak < 300 else 'FAIL'} |")
    cores = os.cpu_count() or 1
    if max(load[0][0], load[1][0]) > cores / 2:
        notes.append(f"The machine was busy (1-minute load average up to {max(load[0][0], load[1][0]):.1f} on {cores} "
                     "cores): absolute times are inflated and noisy; the interleaved ratios and the CPU column "
                     "are the more reliable numbers.")
    if notes:
        lines += [""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=None, help="measured rounds after the warm-up (default 5, --quick 2)")
    parser.add_argument("--runs-large", type=int, default=None,
                        help="measured runs for the largest N (default: --runs); for a slow 200-service run")
    parser.add_argument("--quick", action="store_true", help="smoke test: 2 measured rounds, N = 4 and 50")
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=None,
                        help="comma-separated service counts (default 4,50,200; must include 4)")
    default_python = REPO / ".venv" / "bin" / "python"
    parser.add_argument("--python", default=str(default_python) if default_python.exists() else sys.executable)
    parser.add_argument("--keep", action="store_true", help="keep the temporary projects and outputs")
    parser.add_argument("--workdir", type=Path, default=REPO / "bench" / "results",
                        help="where the generated projects and outputs go (default bench/results/, git-ignored: "
                             "the filesystem a project's charts/ live on)")
    args = parser.parse_args(argv)
    runs = args.runs if args.runs is not None else (2 if args.quick else 5)
    if runs < 1:
        parser.error("--runs must be at least 1")
    sizes = args.sizes or ([4, 50] if args.quick else [4, 50, 200])
    if 4 not in sizes:
        parser.error("--sizes must include 4 (the baseline the default synth is compared with)")
    runs_large = args.runs_large if args.runs_large is not None else runs
    notes = []
    if runs_large != runs:
        notes.append(f"N={max(sizes)} measured {runs_large} times (other cases {runs}).")

    args.workdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="tripgen-bench-", dir=args.workdir))
    started = time.perf_counter()
    load_before = os.getloadavg()
    try:
        cases = build_cases(args.python, sorted(sizes), runs, runs_large, work)
        print(f"warm-up ({len(cases)} cases) in {work}", file=sys.stderr)
        for c in cases:
            r = run_once(c)
            c.verified = verify(c)
            if c.key == "check" and r.rc == 1:
                notes.append("`synth --check` exited 1: charts/ is stale (timing still valid: it does the same work).")
            print(f"  {c.key}: {r.wall:.2f} s, {r.tree_mb:.0f} MB, {c.verified}", file=sys.stderr)
        for rnd in range(max(runs, runs_large)):
            order = cases if rnd % 2 == 0 else list(reversed(cases))
            for c in order:
                if len(c.results) < c.runs:
                    c.results.append(run_once(c))
            print(f"round {rnd + 1}: " + ", ".join(f"{c.key} {c.results[-1].wall:.2f}" for c in cases
                                                 if c.results), file=sys.stderr)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    text = report(cases, args.python, (load_before, os.getloadavg()), notes, time.perf_counter() - started)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.md").write_text(text, encoding="utf-8")
    raw = [{"key": c.key, "label": c.label, "n": c.n, "argv": c.argv, "cwd": str(c.cwd),
            "runs": [asdict(r) for r in c.results]} for c in cases]
    (RESULTS / "latest.json").write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS / 'latest.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
