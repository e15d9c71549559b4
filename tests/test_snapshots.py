"""The rendered-object snapshots are what the committed charts render, for every app.

``synth`` (and ``release set`` / ``release promote``) write ``charts/<env>/.rendered/<chart>.yaml``
beside the charts: the objects ``helm template <chart> charts/<env>/<chart> --namespace <ns>``
renders from the committed chart (a plain manifest set: its objects), sorted, one document each,
dashboards as indented JSON.  These tests render each committed chart with the real helm and
compare with its committed snapshot, so a hand edit of a snapshot, or of a chart, fails here; a
config or library change that alters an object fails ``synth --check`` (tests/test_everyday.py).

By default: TripGen and the examples.  ``TRIPGEN_PROJECT=/path/to/project`` checks that project
instead (tests/test_everyday.py runs this file against a scratch copy after each everyday task).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest
import yaml

from conftest import HELM, ROOT
from tripgen_cdk8s.app import loader, pipeline
from tripgen_cdk8s.lib.rendered import RENDERED_DIR, header, helm_command, object_key, parse_documents, snapshot_text

PROJECT = os.environ.get("TRIPGEN_PROJECT")
PROJECTS = [Path(PROJECT).resolve()] if PROJECT else [ROOT, ROOT / "examples" / "bookstore", ROOT / "examples" / "newsletter"]


@cache
def synthesis(project: Path, env: str) -> pipeline.EnvironmentSynthesis:
    return pipeline.synthesize(loader.load(project, env), project)


def _charts() -> list[tuple[Path, str, str]]:
    return [(p, env, c.name) for p in PROJECTS for env in loader.available(p) for c in synthesis(p, env).charts]


CHARTS = _charts()


def _id(project: Path, env: str, chart: str) -> str:
    where = "tripgen" if project == ROOT else project.name
    return f"{where}:{env}/{chart}"


def rendered_from_charts(charts_dir: Path, env: str, chart: str, namespace: str | None) -> str:
    """The snapshot text of ``charts_dir/<env>/<chart>`` as committed: helm template with its own
    values (``namespace`` None: a plain manifest set, its objects as they are)."""
    directory = charts_dir / env / chart
    if namespace is None:
        objects = [o for f in sorted(directory.rglob("*.yaml")) for o in parse_documents(f.read_text(encoding="utf-8"))]
    else:
        assert HELM.is_file(), f"{HELM} missing: run scripts/install-helm.sh"
        proc = subprocess.run(helm_command(str(HELM), chart, str(directory), namespace), capture_output=True, text=True,
                              check=False)
        assert proc.returncode == 0, proc.stderr
        objects = parse_documents(proc.stdout)
    return snapshot_text(header(env, chart, namespace, len(objects)), objects)


def _namespace(project: Path, env: str, chart: str) -> str | None:
    [c] = [c for c in synthesis(project, env).charts if c.name == chart]
    return c.namespace if c.is_helm else None


def mismatch(charts_dir: Path, project: Path, env: str, chart: str) -> str | None:
    """None when the committed snapshot is what the committed chart renders, else a unified diff."""
    import difflib

    expected = rendered_from_charts(charts_dir, env, chart, _namespace(project, env, chart))
    path = charts_dir / env / RENDERED_DIR / f"{chart}.yaml"
    actual = path.read_text(encoding="utf-8") if path.is_file() else ""
    if actual == expected:
        return None
    return "".join(difflib.unified_diff(actual.splitlines(True), expected.splitlines(True), str(path), "helm template"))


HOW_TO_FIX = ("the committed snapshot is not what the committed chart renders: run `tripgen synth` (it writes both) "
              "and commit charts/; never edit charts/ by hand")


@pytest.mark.parametrize(("project", "env", "chart"), CHARTS, ids=[_id(*c) for c in CHARTS])
def test_snapshot_is_what_the_committed_chart_renders(project, env, chart):
    diff = mismatch(project / "charts", project, env, chart)
    assert diff is None, f"{HOW_TO_FIX}\n{diff}"


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: "tripgen" if p == ROOT else p.name)
def test_every_chart_has_one_snapshot_of_every_object_and_none_is_orphaned(project):
    for env in loader.available(project):
        charts = synthesis(project, env).charts
        on_disk = {p.name for p in (project / "charts" / env / RENDERED_DIR).glob("*")}
        assert on_disk == {f"{c.name}.yaml" for c in charts}
        for c in charts:
            snapshotted = {object_key(o) for o in parse_documents(
                (project / "charts" / env / RENDERED_DIR / f"{c.name}.yaml").read_text(encoding="utf-8"))}
            assert snapshotted == {object_key(o) for o in c.objects}, f"{env}/{c.name}"
        record = (project / "charts" / env / ".tripgen-files").read_text(encoding="utf-8").splitlines()
        assert {f"{RENDERED_DIR}/{c.name}.yaml" for c in charts} <= set(record), "snapshots are synth's files"


def _tripgen_only() -> None:
    if PROJECT:
        pytest.skip("a test of the snapshot test itself, on TripGen's charts")


def _prod_chart_with_autoscaling() -> tuple[str, str]:
    """A prod chart of TripGen whose values.yaml has autoscaling.maxReplicas that its HPA renders, and
    its value (read, not assumed)."""
    for chart in sorted(p.parent.name for p in (ROOT / "charts" / "prod").glob("*/values.yaml")):
        values = yaml.safe_load((ROOT / "charts" / "prod" / chart / "values.yaml").read_text(encoding="utf-8"))
        if isinstance(values.get("autoscaling"), dict) and "maxReplicas" in values["autoscaling"]:
            value = str(values["autoscaling"]["maxReplicas"])
            snapshot = (ROOT / "charts" / "prod" / RENDERED_DIR / f"{chart}.yaml").read_text(encoding="utf-8")
            if f"  maxReplicas: {value}\n" in snapshot:
                return chart, value
    raise AssertionError("no prod chart with autoscaling.maxReplicas")


def test_a_hand_edit_of_a_snapshot_fails(tmp_path):
    _tripgen_only()
    chart, max_replicas = _prod_chart_with_autoscaling()
    shutil.copytree(ROOT / "charts" / "prod", tmp_path / "prod")
    snapshot = tmp_path / "prod" / RENDERED_DIR / f"{chart}.yaml"
    text = snapshot.read_text(encoding="utf-8")
    assert f"  maxReplicas: {max_replicas}\n" in text
    assert mismatch(tmp_path, ROOT, "prod", chart) is None  # the copy passes as it is
    snapshot.write_text(text.replace(f"  maxReplicas: {max_replicas}\n", f"  maxReplicas: {int(max_replicas) + 1}\n"),
                        encoding="utf-8")
    diff = mismatch(tmp_path, ROOT, "prod", chart)
    assert diff is not None and f"+  maxReplicas: {max_replicas}" in diff and f"-  maxReplicas: {int(max_replicas) + 1}" in diff


def test_a_hand_edit_of_a_chart_fails(tmp_path):
    _tripgen_only()
    chart, max_replicas = _prod_chart_with_autoscaling()
    shutil.copytree(ROOT / "charts" / "prod", tmp_path / "prod")
    values = tmp_path / "prod" / chart / "values.yaml"
    text = values.read_text(encoding="utf-8")
    edited = re.sub(rf"(?m)^(  maxReplicas: ){max_replicas}$", rf"\g<1>{int(max_replicas) + 1}", text, count=1)
    assert edited != text
    values.write_text(edited, encoding="utf-8")
    diff = mismatch(tmp_path, ROOT, "prod", chart)
    assert diff is not None and f"+  maxReplicas: {int(max_replicas) + 1}" in diff


def test_a_dashboard_in_a_snapshot_is_indented_json_one_field_a_line():
    _tripgen_only()
    text = (ROOT / "charts" / "prod" / RENDERED_DIR / "trip-service.yaml").read_text(encoding="utf-8")
    [dashboard] = [o for o in parse_documents(text) if o["kind"] == "ConfigMap" and "dashboard" in o["metadata"]["name"]]
    [(key, body)] = dashboard["data"].items()
    assert key.endswith(".json") and body.startswith("{\n  ") and '\n  "panels": [\n' in body
    assert max(len(line) for line in body.splitlines()) < 300  # no 17 KB line


def test_no_pod_template_carries_the_chart_version_label():
    """A version bump alone never changes a pod template (it would restart every pod)."""
    for project in PROJECTS:
        for env in loader.available(project):
            for c in synthesis(project, env).helm_charts:
                for o in c.objects:
                    spec = o.get("spec") or {}
                    template = (spec.get("jobTemplate", {}).get("spec", {}) if o["kind"] == "CronJob" else spec).get("template")
                    if isinstance(template, dict) and "metadata" in template:
                        assert "helm.sh/chart" not in (template["metadata"].get("labels") or {}), f"{c.name}/{o['kind']}"
