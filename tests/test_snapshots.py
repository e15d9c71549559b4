"""Every rendered chart file is pinned by a reviewed snapshot under tests/snapshots/."""

from __future__ import annotations

from pathlib import Path

import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from conftest import ENVIRONMENTS, ROOT, generated_files

SNAPSHOTS = ROOT / "tests" / "snapshots"


class ChartFileSnapshot(SingleFileSnapshotExtension):
    """One text snapshot file per rendered chart file, in tests/snapshots/<test module>/."""

    _write_mode = WriteMode.TEXT
    file_extension = "snap"

    @classmethod
    def dirname(cls, *, test_location) -> str:  # type: ignore[no-untyped-def]
        return str(SNAPSHOTS / test_location.basename)


RENDERED = [(env, rel) for env in ENVIRONMENTS for rel in sorted(generated_files(env))]


def snapshot_id(env: str, rel: str) -> str:
    return f"{env}__{rel.replace('/', '__')}"


@pytest.fixture()
def chart_snapshot(snapshot):  # type: ignore[no-untyped-def]
    return snapshot.use_extension(ChartFileSnapshot)


@pytest.mark.parametrize(("env", "rel"), RENDERED, ids=[snapshot_id(e, r) for e, r in RENDERED])
def test_rendered_file_matches_snapshot(env, rel, chart_snapshot):
    assert generated_files(env)[rel] == chart_snapshot


def test_every_rendered_yaml_file_has_a_snapshot_and_no_snapshot_is_orphaned():
    folder = SNAPSHOTS / Path(__file__).stem
    on_disk = {p.name for p in folder.glob("*.snap")}
    expected = {f"test_rendered_file_matches_snapshot[{snapshot_id(e, r)}].snap" for e, r in RENDERED}
    assert sum(r.endswith(".yaml") for _e, r in RENDERED) >= 40
    assert expected - on_disk == set(), "rendered files without a snapshot"
    assert on_disk - expected == set(), "snapshots of files the generator no longer writes"
