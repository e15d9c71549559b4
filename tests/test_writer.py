"""The writer, unit by unit: the ownership record, foreign files carried over, refusals instead of
overwrites, recovery of only its own staging directories, the atomic exchange and its fallback."""

from __future__ import annotations

import os

import pytest

from conftest import tree_bytes
from tripgen_cdk8s.lib import writer

FILES = {"a/Chart.yaml": "name: a\n", "a/templates/x.yaml": "kind: X\n", "README.md": "# env\n"}


# ---------------------------------------------------------------------------- ownership (unit)


def test_the_record_lists_what_was_written_and_a_rewrite_removes_only_those(tmp_path):
    out = tmp_path / "out"
    writer.write_environment(out, "prod", FILES)
    assert writer.read_record(out / "prod") == set(FILES)
    runbook = out / "prod" / "a" / "RUNBOOK.md"
    runbook.write_text("call Alice\n")
    inode = runbook.stat().st_ino
    writer.write_environment(out, "prod", {"README.md": "# env v2\n"})
    assert not (out / "prod" / "a" / "Chart.yaml").exists()
    assert runbook.read_text() == "call Alice\n" and runbook.stat().st_ino == inode  # the same file, kept
    assert (out / "prod" / "README.md").read_text() == "# env v2\n"
    assert writer.stale_files(out, "prod", {"README.md": "# env v2\n"}) == []


def test_stale_files_ignores_foreign_files_and_reports_owned_leftovers(tmp_path):
    out = tmp_path / "out"
    writer.write_environment(out, "prod", FILES)
    (out / "prod" / "notes.txt").write_text("mine\n")
    assert writer.stale_files(out, "prod", FILES) == []
    assert writer.stale_files(out, "prod", {"README.md": "# env\n"}) == [
        "prod/.tripgen-files", "prod/a/Chart.yaml", "prod/a/templates/x.yaml"]


def test_a_directory_without_record_is_refused_unless_it_holds_exactly_the_generated_files(tmp_path):
    out = tmp_path / "out"
    (out / "prod").mkdir(parents=True)
    (out / "prod" / "cat.jpg").write_bytes(b"\xff\xd8 photo")
    with pytest.raises(writer.WriteRefused, match="cat.jpg"):
        writer.write_environment(out, "prod", FILES)
    assert tree_bytes(out) == {"prod/cat.jpg": b"\xff\xd8 photo"}
    legacy = tmp_path / "legacy"
    for rel, text in FILES.items():  # charts from before records existed, byte-identical
        (legacy / "prod" / rel).parent.mkdir(parents=True, exist_ok=True)
        (legacy / "prod" / rel).write_text(text)
    writer.write_environment(legacy, "prod", FILES)
    assert writer.read_record(legacy / "prod") == set(FILES)


def test_a_foreign_file_at_a_generated_path_is_refused_not_overwritten(tmp_path):
    out = tmp_path / "out"
    writer.write_environment(out, "prod", {"README.md": "# env\n"})
    (out / "prod" / "a").mkdir()
    (out / "prod" / "a" / "Chart.yaml").write_text("my own chart\n")
    with pytest.raises(writer.WriteRefused, match="a/Chart.yaml"):
        writer.write_environment(out, "prod", FILES)
    assert (out / "prod" / "a" / "Chart.yaml").read_text() == "my own chart\n"


def test_an_environment_path_that_is_a_file_or_symlink_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "prod").write_text("not a directory\n")
    with pytest.raises(writer.WriteRefused, match="not a directory"):
        writer.write_environment(out, "prod", FILES)
    (out / "prod").unlink()
    (tmp_path / "elsewhere").mkdir()
    (out / "prod").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(writer.WriteRefused, match="not a directory"):
        writer.write_environment(out, "prod", FILES)
    assert os.listdir(tmp_path / "elsewhere") == []


def test_recovery_removes_only_staging_directories_it_can_prove_are_its_own(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    ours = out / ".tripgen-staging-abc123"
    writer._intend(out, ours.name)  # named in the intent record before it is made, as the writer does
    (ours / "tree" / "x").mkdir(parents=True)
    (ours / writer.STAGING_MARKER).write_text(writer.MARKER_TEXT + "prod\n")
    lookalike = out / ".tripgen-staging-user"  # same prefix, no marker: not provably ours
    lookalike.mkdir()
    (lookalike / "data").write_text("keep\n")
    user_entries = {".new-prod/file": "a", ".old-prod/file": "b", ".new-x": "c", ".old-dev": "d", "photo.jpg": "e"}
    for rel, text in user_entries.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text)
    writer.write_environment(out, "prod", FILES)
    assert not ours.exists()
    assert (lookalike / "data").read_text() == "keep\n"
    for rel, text in user_entries.items():
        assert (out / rel).read_text() == text


def test_recovery_puts_back_a_directory_the_rename_fallback_moved_aside(tmp_path):
    out = tmp_path / "out"
    writer.write_environment(out, "prod", FILES)
    before = tree_bytes(out / "prod")
    staging = out / ".tripgen-staging-crashed"
    writer._intend(out, staging.name)
    staging.mkdir()
    (staging / writer.STAGING_MARKER).write_text(writer.MARKER_TEXT + "prod\n")
    os.rename(out / "prod", staging / "old")  # a crash between the fallback's two renames
    writer.recover(out)
    assert tree_bytes(out / "prod") == before and not staging.exists()


def test_the_fallback_without_rename_exchange_writes_the_same_tree(tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "exchange", lambda a, b: False)
    out = tmp_path / "out"
    writer.write_environment(out, "prod", FILES)
    (out / "prod" / "keep.md").write_text("mine\n")
    writer.write_environment(out, "prod", {"README.md": "# v2\n"})
    assert tree_bytes(out / "prod") == {".tripgen-files": writer.record_text({"README.md": ""}).encode(),
                                        "README.md": b"# v2\n", "keep.md": b"mine\n"}
    assert [p.name for p in out.iterdir()] == ["prod"]


def test_exchange_swaps_two_directories_atomically(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_text("a")
    (tmp_path / "b").mkdir()
    assert writer.exchange(tmp_path / "a", tmp_path / "b")  # ext4/tmpfs on Linux support it
    assert (tmp_path / "b" / "f").read_text() == "a" and os.listdir(tmp_path / "a") == []
