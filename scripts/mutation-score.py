#!/usr/bin/env python3
"""The mutation-testing gate: run after `mutmut run` in the project root.

Reads mutmut's own results: the overall numbers from `mutmut export-cicd-stats`
(mutants/mutmut-cicd-stats.json, exported here) and, per module, mutmut's per-file results
(mutants/<module>.meta, classified with mutmut's own exit-code table).  The score is
killed / (killed + survived), timeouts counting as killed; mutants with no test, skipped or
suspicious ones are shown but are not in the score.  Prints a table and exits 1 when the score is
below --overall (default 0.80) or any module in scope ([tool.mutmut] only_mutate) is below
--per-module (default 0.75), when a module has no results or unchecked mutants (an incomplete
run), or when the `# pragma: no mutate` lines in the code differ from the list of equivalent
mutants in docs/equivalent-mutants.md (nothing may be excluded without a listed reason).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = ROOT / "docs" / "equivalent-mutants.md"
PRAGMA = "# pragma: no mutate"


def mutmut_status() -> Mapping[int | None, str]:
    from mutmut.stats import status_by_exit_code  # mutmut's own table (installed by `scripts/setup.sh test`)

    return status_by_exit_code


def module_counts(module: str, status_by_exit_code: Mapping[int | None, str]) -> dict[str, int] | None:
    meta = ROOT / "mutants" / (module + ".meta")
    if not meta.is_file():
        return None
    counts: dict[str, int] = {}
    for exit_code in json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"].values():
        status = status_by_exit_code[exit_code]
        counts[status] = counts.get(status, 0) + 1
    return counts


def score(killed: int, survived: int) -> float:
    return killed / (killed + survived) if killed + survived else 1.0


def pragma_lines(modules: list[str]) -> set[tuple[str, str]]:
    """(module, code without the pragma comment) of every excluded line."""
    found = set()
    for module in modules:
        for line in (ROOT / module).read_text(encoding="utf-8").splitlines():
            if PRAGMA in line:
                found.add((module, line.split(PRAGMA)[0].strip().rstrip("#").strip()))
    return found


def listed_equivalents() -> set[tuple[str, str]]:
    """(module, code) of every row of the equivalent-mutant table, each with a non-empty reason."""
    rows: set[tuple[str, str]] = set()
    if not EQUIVALENTS.is_file():
        return rows
    for line in EQUIVALENTS.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\| `([^`]+)` \| `(.+)` \| (.*) \|$", line)
        if m and m.group(3).strip():
            rows.add((m.group(1), m.group(2)))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--overall", type=float, default=0.80)
    parser.add_argument("--per-module", type=float, default=0.75)
    args = parser.parse_args()

    mutmut_cfg = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"]
    modules: list[str] = mutmut_cfg["only_mutate"]
    problems: list[str] = []
    for key in ("do_not_mutate", "do_not_mutate_patterns"):
        if mutmut_cfg.get(key):
            problems.append(f"[tool.mutmut] {key} is set: exclusions are `{PRAGMA}` lines listed in {EQUIVALENTS.name}")

    mutmut = Path(sys.executable).with_name("mutmut")
    export = subprocess.run([str(mutmut), "export-cicd-stats"], cwd=ROOT, capture_output=True, text=True, check=False)
    stats_path = ROOT / "mutants" / "mutmut-cicd-stats.json"
    if export.returncode != 0 or not stats_path.is_file():
        print(f"mutmut export-cicd-stats failed (run `mutmut run` first):\n{export.stdout}{export.stderr}", file=sys.stderr)
        return 1
    overall = json.loads(stats_path.read_text(encoding="utf-8"))

    status_by_exit_code = mutmut_status()
    header = f"{'module':<32} {'killed':>7} {'timeout':>7} {'survived':>8} {'no tests':>8} {'other':>6} {'score':>7}"
    print(header)
    print("-" * len(header))
    sums = {"killed": 0, "timeout": 0, "survived": 0}
    for module in modules:
        counts = module_counts(module, status_by_exit_code)
        if counts is None:
            problems.append(f"{module}: no mutmut results (mutants/{module}.meta missing)")
            continue
        killed, timeout, survived = counts.get("killed", 0), counts.get("timeout", 0), counts.get("survived", 0)
        no_tests = counts.get("no tests", 0)
        other = sum(counts.values()) - killed - timeout - survived - no_tests
        for key, value in (("killed", killed), ("timeout", timeout), ("survived", survived)):
            sums[key] += value
        module_score = score(killed + timeout, survived)
        print(f"{module:<32} {killed:>7} {timeout:>7} {survived:>8} {no_tests:>8} {other:>6} {module_score:>7.1%}")
        if counts.get("not checked", 0):
            problems.append(f"{module}: {counts['not checked']} mutants not checked (an interrupted run?)")
        if module_score < args.per_module:
            problems.append(f"{module}: {module_score:.1%} of mutants killed, below {args.per_module:.0%}")

    total_killed = overall["killed"] + overall["timeout"]
    total_score = score(total_killed, overall["survived"])
    print("-" * len(header))
    print(f"{'overall (mutmut-cicd-stats.json)':<32} {overall['killed']:>7} {overall['timeout']:>7} {overall['survived']:>8} "
          f"{overall['no_tests']:>8} {'':>6} {total_score:>7.1%}")
    if (sums["killed"], sums["timeout"], sums["survived"]) != (overall["killed"], overall["timeout"], overall["survived"]):
        problems.append(f"per-module results {sums} differ from mutmut-cicd-stats.json")
    if total_score < args.overall:
        problems.append(f"overall: {total_score:.1%} of mutants killed, below {args.overall:.0%}")

    in_code, listed = pragma_lines(modules), listed_equivalents()
    for module, code in sorted(in_code - listed):
        problems.append(f"{module}: `{code}` is excluded ({PRAGMA}) but not listed with a reason in {EQUIVALENTS.name}")
    for module, code in sorted(listed - in_code):
        problems.append(f"{EQUIVALENTS.name}: `{code}` ({module}) is listed but no such line carries {PRAGMA}")
    print(f"equivalent mutants excluded: {len(in_code)} lines, listed in {EQUIVALENTS.relative_to(ROOT)}")

    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
