"""Snapshots of what the cluster gets: the objects of every chart as rendered, one snapshot per chart.

For each Helm chart, the generated chart directory (what `synth` would write for the config in the
working tree, not the committed copy) is rendered with `helm template <chart> --namespace <env ns>`
and the chart's own values; the ArgoCD manifests are applied as they are. The objects are written
as plain YAML, sorted by kind, namespace and name, keys sorted, one `---` document each with a
`# Kind namespace/name` line, to tests/snapshots/test_snapshots/.

`charts/` holds the templates (a template change shows there, `synth --check` guards it); these
snapshots hold the objects (a cluster change shows here). After an intended change run
`.venv/bin/python -m pytest tests/test_snapshots.py --snapshot-update` and review both diffs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from conftest import (
    ENVIRONMENTS,
    HELM,
    ROOT,
    SNAPSHOTS,
    generated_files,
    object_key,
    objects_yaml,
    parse_all,
    synthesis,
)

FOLDER = SNAPSHOTS / Path(__file__).stem
HOW_TO_UPDATE = (
    "the rendered objects differ from the reviewed snapshot. If the change is intended, run\n"
    "    .venv/bin/python -m pytest tests/test_snapshots.py --snapshot-update\n"
    "and commit tests/snapshots/ with the change (review its diff: it is what the cluster gets)."
)


CHARTS = [(env, chart.name) for env in ENVIRONMENTS for chart in synthesis(env).charts]


def snapshot_id(env: str, chart: str) -> str:
    return f"{env}__{chart}"


def snapshot_file(env: str, chart: str) -> Path:
    return FOLDER / f"test_rendered_objects_match_snapshot[{snapshot_id(env, chart)}].yaml"


@cache
def _written_environment(env: str, base: str) -> Path:
    """The generated files of ``env`` written under ``base`` (what `synth` would write)."""
    out = Path(base) / env
    for rel, text in generated_files(env).items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return out


def rendered_objects(env: str, chart_name: str, base: Path) -> list[dict]:
    """The objects the cluster gets from one chart of the generated environment."""
    [chart] = [c for c in synthesis(env).charts if c.name == chart_name]
    directory = _written_environment(env, str(base)) / chart_name
    if not chart.is_helm:  # plain manifests, applied as they are
        return [o for f in sorted(directory.rglob("*.yaml")) for o in parse_all(f.read_text())]
    assert HELM.is_file(), f"{HELM} missing: run scripts/install-helm.sh"
    proc = subprocess.run([str(HELM), "template", chart_name, str(directory), "--namespace", synthesis(env).project.namespace],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return parse_all(proc.stdout)


def render_snapshot(env: str, chart_name: str, objects: list[dict]) -> str:
    """Plain YAML in a stable order: a header, then one document per object sorted by kind/namespace/name."""
    [chart] = [c for c in synthesis(env).charts if c.name == chart_name]
    how = (f"helm template {chart_name} charts/{env}/{chart_name} --namespace {synthesis(env).project.namespace}"
           if chart.is_helm else f"the plain manifests of charts/{env}/{chart_name}")
    return objects_yaml(f"{len(objects)} objects of charts/{env}/{chart_name}, as the cluster gets them: {how}",
                        objects)


@pytest.fixture(scope="module")
def render_base(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("rendered")


@pytest.mark.parametrize(("env", "chart"), CHARTS, ids=[snapshot_id(e, c) for e, c in CHARTS])
def test_rendered_objects_match_snapshot(env, chart, objects_snapshot, render_base):
    rendered = render_snapshot(env, chart, rendered_objects(env, chart, render_base))
    assert rendered == objects_snapshot, HOW_TO_UPDATE


def test_every_object_of_every_chart_is_in_a_snapshot_and_no_snapshot_is_orphaned():
    on_disk = {p.name for p in FOLDER.glob("*")}
    expected = {snapshot_file(e, c).name for e, c in CHARTS}
    assert expected - on_disk == set(), "charts without a snapshot (run with --snapshot-update)"
    assert on_disk - expected == set(), "snapshots of charts the generator no longer writes"
    for env in ENVIRONMENTS:
        snapshotted = {object_key(o) for e, c in CHARTS if e == env
                       for o in parse_all(snapshot_file(e, c).read_text())}
        synthesised = {object_key(o) for c in synthesis(env).charts for o in c.objects}
        assert snapshotted == synthesised
    assert sum(len(c.objects) for env in ENVIRONMENTS for c in synthesis(env).charts) >= 90


def test_no_snapshot_is_a_copy_of_a_chart_file():
    chart_files = {hashlib.sha256(p.read_bytes()).hexdigest() for p in (ROOT / "charts").rglob("*") if p.is_file()}
    copies = [p.name for p in FOLDER.glob("*") if hashlib.sha256(p.read_bytes()).hexdigest() in chart_files]
    assert copies == []


def test_a_changed_overlay_value_fails_the_snapshot_test(tmp_path):
    """In a copy of the project, one changed number in the overlay fails the snapshot of its chart, and
    the failure says how to update; the committed charts/ are not what is rendered."""
    copy = tmp_path / "project"
    (copy / "tests").mkdir(parents=True)
    for name in ("conftest.py", "test_snapshots.py"):
        shutil.copy2(ROOT / "tests" / name, copy / "tests" / name)
    shutil.copytree(SNAPSHOTS, copy / "tests" / "snapshots")
    for name in ("overlays", "charts"):
        shutil.copytree(ROOT / name, copy / name)
    shutil.copy2(ROOT / "pyproject.toml", copy / "pyproject.toml")
    (copy / ".tools").symlink_to(ROOT / ".tools")
    cfg = copy / "overlays" / "prod" / "config.py"
    cfg.write_text(cfg.read_text().replace("max_replicas=15", "max_replicas=14", 1))
    proc = subprocess.run([sys.executable, "-m", "pytest", "tests/test_snapshots.py", "-p", "no:cacheprovider",
                           "-k", "test_rendered_objects_match_snapshot and prod__trip-service"],
                          cwd=copy, capture_output=True, text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
                          check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "1 failed" in out
    assert "--snapshot-update" in out
    assert "-   maxReplicas: 15" in out and "+   maxReplicas: 14" in out
