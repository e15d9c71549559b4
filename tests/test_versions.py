"""Chart versions move with the chart's content, never restart pods by themselves, and Chart.yaml
says where the chart comes from (issue 20, item 3).  The git-repository test is in test_everyday.py."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from conftest import ROOT, synthesis
from tripgen_cdk8s.lib.helm import CONTENT_DIGEST_ANNOTATION, chart_files, content_digest, next_version, versioned

DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64


def committed(version: str, digest: str = DIGEST) -> dict:
    return {"version": version, "annotations": {CONTENT_DIGEST_ANNOTATION: digest}}


@pytest.mark.parametrize(("base", "digest", "old", "expected"), [
    ("1.0.0", DIGEST, None, "1.0.0"),  # first synth: the config's version
    ("1.0.0", DIGEST, committed("1.0.4"), "1.0.4"),  # same content: same version
    ("1.0.0", OTHER, committed("1.0.4"), "1.0.5"),  # other content: patch bump
    ("1.0.0", OTHER, {"version": "1.0.4"}, "1.0.5"),  # a chart from before digests: content unknown, bump
    ("2.0.0", DIGEST, committed("1.0.4"), "2.0.0"),  # the config raised the version: it wins
    ("2.0.0", OTHER, committed("1.0.4"), "2.0.0"),
    ("1.0.0", OTHER, committed("1.0.4-rc.1"), "1.0.5"),
    ("1.0.0", OTHER, committed("not-semver"), "1.0.0"),
])
def test_next_version(base, digest, old, expected):
    assert next_version(base, digest, old) == expected


def _chart(name: str = "trip-service"):
    [chart] = [c for c in synthesis("prod").charts if c.name == name]
    return chart


def test_the_digest_ignores_the_version_and_sees_any_other_change():
    chart = _chart()
    assert content_digest(chart) == content_digest(versioned(chart, committed("7.0.3", OTHER)))
    changed = dataclasses.replace(chart, description=chart.description + ".")
    assert content_digest(changed) != content_digest(chart)


def test_the_committed_charts_record_their_digest():
    for env in ("prod", "dev"):
        for chart in synthesis(env).helm_charts:
            meta = yaml.safe_load((ROOT / "charts" / env / chart.name / "Chart.yaml").read_text(encoding="utf-8"))
            assert meta["annotations"][CONTENT_DIGEST_ANNOTATION] == content_digest(chart)
            assert meta["version"] == chart.version


def _pod_templates(objects: list[dict]) -> list[dict]:
    out = []
    for o in objects:
        spec = o.get("spec") or {}
        if o["kind"] == "CronJob":
            spec = spec.get("jobTemplate", {}).get("spec", {})
        if isinstance(spec.get("template"), dict):
            out.append(spec["template"])
    return out


def test_a_version_bump_alone_changes_no_pod_template_but_the_other_objects_labels():
    chart = _chart()
    bumped = versioned(chart, committed("3.1.4", OTHER))
    assert bumped.version == "3.1.5"
    assert _pod_templates(bumped.objects) == _pod_templates(chart.objects) and _pod_templates(chart.objects)
    labels = {o["metadata"].get("labels", {}).get("helm.sh/chart") for o in bumped.objects}
    assert labels == {"trip-service-3.1.5"}
    files, bumped_files = chart_files(chart), chart_files(bumped)
    assert {rel for rel in files if files[rel] != bumped_files[rel]} == {"Chart.yaml"}  # the templates hold no version


def test_chart_yaml_has_home_sources_and_maintainers_from_the_config():
    meta = yaml.safe_load((ROOT / "charts" / "prod" / "trip-service" / "Chart.yaml").read_text(encoding="utf-8"))
    project = synthesis("prod").project.chart_metadata
    assert project is not None and project.home and project.sources and project.maintainers
    assert meta["home"] == project.home
    assert meta["sources"] == list(project.sources)
    assert meta["maintainers"] == [{k: v for k, v in dataclasses.asdict(m).items() if v} for m in project.maintainers]
