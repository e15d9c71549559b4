"""The writer against a hostile or busy output directory (issue 21): planted staging markers and
records that name paths outside ``--out``, symlinks at temporary names, files users save while
synth stages, the journal that makes a companion file and the charts change together, and the
bounded copy of ``overlays/`` (unit tests, in-process, part of the mutation-testing selection)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import tree_bytes
from tripgen_cdk8s.app import releases
from tripgen_cdk8s.lib import writer
from tripgen_cdk8s.lib.errors import ConfigError

FILES = {"a/Chart.yaml": "name: a\n", "a/templates/x.yaml": "kind: X\n", "README.md": "# env\n"}


def plant_staging(out: Path, name: str, env: str, files: dict[str, str], intended: bool = True) -> Path:
    """A staging directory as a crashed writer leaves it (named in the intent record when ``intended``)."""
    staging = out / name
    if intended:
        writer._intend(out, name)
    staging.mkdir(parents=True)
    for rel, text in files.items():
        (staging / rel).parent.mkdir(parents=True, exist_ok=True)
        (staging / rel).write_text(text)
    (staging / writer.STAGING_MARKER).write_text(writer.MARKER_TEXT + env + "\n")
    return staging


# ---------------------------------------------------------------------------- defect 1: staging markers


@pytest.mark.parametrize("named", ["ABS", "../../x", "..", "prod/../../y", ".hidden", "a/b"])
def test_a_staging_marker_naming_a_path_is_not_ours_and_nothing_moves_out_of_out(tmp_path, named):
    out = tmp_path / "project" / "charts"
    writer.write_environment(out, "prod", FILES)
    target = tmp_path / "home" / "u" / ".ssh"
    target.parent.mkdir(parents=True)
    env = str(target) if named == "ABS" else named
    planted = plant_staging(out, ".tripgen-staging-x", env, {"old/authorized_keys": "ssh-ed25519 AAAA attacker\n"})
    before = tree_bytes(tmp_path)
    del before[f"project/charts/{writer.INTENT}"]  # the record naming the planted directory goes after recovery
    writer.write_environment(out, "prod", FILES)
    assert not target.exists() and not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
    assert (planted / "old" / "authorized_keys").read_text() == "ssh-ed25519 AAAA attacker\n"
    assert tree_bytes(tmp_path) == before
    assert writer._is_own_staging(planted) is None


def test_recovery_moves_back_only_an_old_tree_that_holds_our_record(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    foreign = plant_staging(out, ".tripgen-staging-a", "prod", {"old/authorized_keys": "key\n"})
    writer.recover(out)
    assert not (out / "prod").exists()  # an "old" tree without our record is not an environment of ours
    assert not foreign.exists() or (foreign / "old" / "authorized_keys").exists()
    ours = plant_staging(out, ".tripgen-staging-b", "dev", {"old/README.md": "# env\n",
                                                          f"old/{writer.RECORD}": writer.record_text({"README.md": ""})})
    writer.recover(out)
    assert (out / "dev" / "README.md").read_text() == "# env\n" and not ours.exists()


def test_environment_names_and_generated_paths_are_confined(tmp_path):
    out = tmp_path / "out"
    for env in ("../x", "/abs", "", ".tripgen-staging-x", "a/b"):
        with pytest.raises(writer.WriteRefused, match="not an environment name"):
            writer.write_environment(out, env, FILES)
    with pytest.raises(writer.WriteRefused, match="leads out of the environment directory"):
        writer.write_environment(out, "prod", {"../escape.yaml": "x\n"})
    assert not (tmp_path / "x").exists() and not (tmp_path / "escape.yaml").exists()
    assert writer.valid_env("prod") and writer.valid_env("eu-west_1.b") and not writer.valid_env("-x")
    assert writer.confined("a/b.yaml") and not writer.confined("a//b") and not writer.confined("./a")
    assert not writer.confined("a/../b") and not writer.confined("/a") and not writer.confined("")


# ---------------------------------------------------------------------------- defect 6: the record


def test_record_entries_outside_the_environment_and_symlinks_are_not_ours(tmp_path):
    out = tmp_path / "project" / "charts"
    writer.write_environment(out, "prod", FILES)
    secret = tmp_path / "secret"
    secret.write_text("password\n")
    prod = out / "prod"
    (prod / "link").symlink_to(secret)
    (prod / "sub").symlink_to(tmp_path)
    record = prod / writer.RECORD
    record.write_text(record.read_text() + "../../../secret\n/etc/passwd\nlink\nsub/secret\n")
    assert writer.read_record(prod) == set(FILES) | {"link", "sub/secret"}
    stale = writer.stale_files(out, "prod", FILES)
    assert stale == ["prod/.tripgen-files"]  # the record changed; nothing outside, no symlink target
    assert writer.read_owned(prod, "link") is None and writer.read_owned(prod, "sub/secret") is None
    assert writer.read_owned(prod, "../../../secret") is None and writer.read_owned(prod, "README.md") == "# env\n"
    writer.write_environment(out, "prod", FILES)
    assert secret.read_text() == "password\n"


def test_read_owned_reads_only_bounded_regular_files(tmp_path, monkeypatch):
    (tmp_path / "d").mkdir()
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "big").write_text("x" * 11)
    assert writer.read_owned(tmp_path, "d") is None and writer.read_owned(tmp_path, "fifo") is None
    assert writer.read_owned(tmp_path, "missing") is None
    monkeypatch.setattr(writer, "MAX_READ", 10)
    assert writer.read_owned(tmp_path, "big") is None
    (tmp_path / "ok").write_text("x" * 10)
    assert writer.read_owned(tmp_path, "ok") == "x" * 10


# ---------------------------------------------------------------------------- defect 2: temporary files


def test_replace_file_never_follows_a_symlink_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    d = tmp_path / "overlays" / "prod"
    d.mkdir(parents=True)
    target = d / "releases.yaml"
    target.write_text("old\n")
    os.chmod(target, 0o600)
    (d / ".releases.yaml.tripgen-tmp").symlink_to(victim)  # the old fixed name, planted
    writer.replace_file(target, "new\n")
    assert target.read_text() == "new\n" and victim.read_text() == "precious\n"
    assert (target.stat().st_mode & 0o777) == 0o600
    assert sorted(p.name for p in d.iterdir()) == [".releases.yaml.tripgen-tmp", "releases.yaml"]

    def failing_replace(src, dst):
        raise OSError(5, "Input/output error (injected)")

    monkeypatch.setattr(writer.os, "replace", failing_replace)
    with pytest.raises(OSError, match="injected"):
        writer.replace_file(target, "newer\n")
    assert target.read_text() == "new\n"
    assert sorted(p.name for p in d.iterdir()) == [".releases.yaml.tripgen-tmp", "releases.yaml"]


# ---------------------------------------------------------------------------- defect 5: files saved while staging


@pytest.mark.parametrize("fallback", [False, True], ids=["rename-exchange", "two-renames-fallback"])
def test_files_created_or_saved_by_rename_while_staging_survive_the_swap(tmp_path, monkeypatch, fallback):
    if fallback:
        monkeypatch.setattr(writer, "exchange", lambda a, b: False)
    out = tmp_path / "out"
    writer.write_environment(out, "prod", FILES)
    prod = out / "prod"
    (prod / "RUNBOOK.md").write_text("v1\n")
    (prod / "a" / "OWNERS").write_text("team\n")
    done: list[str] = []

    def meanwhile(rel: str) -> None:
        if done:
            return
        done.append(rel)
        (prod / "NEW.md").write_text("created during staging\n")
        (prod / "notes").mkdir()
        (prod / ".RUNBOOK.md.swp").write_text("v2\n")
        os.rename(prod / ".RUNBOOK.md.swp", prod / "RUNBOOK.md")  # an editor's save by rename
        (prod / "a" / "Chart.yaml.mine").write_text("x\n")
        os.rename(prod / "a" / "Chart.yaml.mine", prod / "a" / "Chart.yaml")  # a file we generated

    writer.write_environment(out, "prod", {**FILES, "README.md": "# env v2\n"}, on_file=meanwhile)
    assert (prod / "NEW.md").read_text() == "created during staging\n"
    assert (prod / "RUNBOOK.md").read_text() == "v2\n" and (prod / "a" / "OWNERS").read_text() == "team\n"
    assert (prod / "notes").is_dir()
    assert (prod / "README.md").read_text() == "# env v2\n" and (prod / "a" / "Chart.yaml").read_text() == "name: a\n"
    assert sorted(os.listdir(out)) == ["prod"]


def test_recovery_rescues_user_files_from_an_old_tree_swapped_out_before_a_crash(tmp_path):
    out = tmp_path / "out"
    writer.write_environment(out, "prod", FILES)
    staging = plant_staging(out, ".tripgen-staging-crash", "prod", {})
    old = staging / "tree"
    old.mkdir()
    (old / writer.RECORD).write_text(writer.record_text(FILES))
    (old / "README.md").write_text("# env\n")
    (old / "SAVED.md").write_text("saved while swapping\n")
    (staging / writer.NEW_TREE_ID).write_text("1:1\n")  # the new tree was another directory: this one is old
    writer.recover(out)
    assert (out / "prod" / "SAVED.md").read_text() == "saved while swapping\n" and not staging.exists()
    assert (out / "prod" / "README.md").read_text() == "# env\n"


# ---------------------------------------------------------------------------- defect 8: the journal


def companion_for(root: Path):
    def path_for(key: str, text: str) -> Path | None:
        return root / key / "releases.yaml" if key in ("prod", "dev") and text.startswith("services:") else None
    return path_for


def test_companions_and_charts_change_together_and_the_journal_is_gone_after(tmp_path):
    root = tmp_path / "project"
    (root / "prod").mkdir(parents=True)
    (root / "prod" / "releases.yaml").write_text("services: old\n")
    out = root / "charts"
    writer.write_environments(out, {"prod": FILES}, companions={"prod": "services: new\n"},
                              companion=companion_for(root))
    assert (root / "prod" / "releases.yaml").read_text() == "services: new\n"
    assert sorted(os.listdir(out)) == ["prod"] and sorted(os.listdir(root / "prod")) == ["releases.yaml"]
    with pytest.raises(writer.WriteRefused, match="not a file the journal may name"):
        writer.write_environments(out, {"prod": FILES}, companions={"qa": "services: x\n"},
                                  companion=companion_for(root))
    (root / "dev").mkdir()
    (root / "dev" / "releases.yaml").symlink_to(tmp_path / "victim")
    with pytest.raises(writer.WriteRefused, match="symlink"):
        writer.write_environments(out, {"dev": FILES}, companions={"dev": "services: x\n"},
                                  companion=companion_for(root))
    assert not (tmp_path / "victim").exists() and sorted(os.listdir(out)) == ["prod"]


def test_a_failed_companion_write_changes_nothing_and_leaves_no_journal(tmp_path, monkeypatch):
    root = tmp_path / "project"
    for env in ("prod", "dev"):
        (root / env).mkdir(parents=True)
        (root / env / "releases.yaml").write_text(f"services: {env} old\n")
    out = root / "charts"
    writer.write_environments(out, {"prod": FILES, "dev": FILES})
    before = tree_bytes(root)
    real = writer.os.replace

    def failing(src, dst):
        if str(dst).endswith("dev/releases.yaml"):
            raise OSError(28, "No space left on device (injected)")
        return real(src, dst)

    monkeypatch.setattr(writer.os, "replace", failing)
    with pytest.raises(OSError, match="injected"):
        writer.write_environments(out, {"prod": {"README.md": "v2\n"}, "dev": {"README.md": "v2\n"}},
                                  companions={"prod": "services: prod new\n", "dev": "services: dev new\n"},
                                  companion=companion_for(root))
    assert tree_bytes(root) == before


def test_a_journal_rolls_forward_only_when_it_is_provably_ours(tmp_path, monkeypatch):
    root = tmp_path / "project"
    (root / "prod").mkdir(parents=True)
    (root / "prod" / "releases.yaml").write_text("services: old\n")
    out = root / "charts"
    writer.write_environments(out, {"prod": FILES})
    old_charts = tree_bytes(out / "prod")
    # the state a SIGKILL right after the journal's commit leaves: staged, committed, nothing replaced or swapped
    staged = writer._stage(out, "prod", {"README.md": "v2\n"}, None)
    (out / writer.JOURNAL).write_text(writer._journal_text(out, [staged], {"prod": "services: new\n"}))
    assert (out / writer.JOURNAL).is_file() and tree_bytes(out / "prod") == old_charts
    journal = (out / writer.JOURNAL).read_text()
    # not provably ours: another directory, an unknown key, no companion mapping: left alone, nothing applied
    for bad in (journal.replace('"out": [', '"out": [1, '), journal.replace('"prod": "services', '"qa": "services')):
        (out / writer.JOURNAL).write_text(bad)
        writer.recover(out, companion_for(root))
        assert (out / writer.JOURNAL).read_text() == bad
        assert (root / "prod" / "releases.yaml").read_text() == "services: old\n"
    (out / writer.JOURNAL).write_text(journal)
    writer.recover(out, None)
    assert (out / writer.JOURNAL).exists() and (root / "prod" / "releases.yaml").read_text() == "services: old\n"
    (out / writer.JOURNAL).unlink()
    staged = writer._stage(out, "prod", {"README.md": "v2\n"}, None)
    (out / writer.JOURNAL).write_text(writer._journal_text(out, [staged], {"prod": "services: new\n"}))
    writer.recover(out, companion_for(root))
    assert (root / "prod" / "releases.yaml").read_text() == "services: new\n"
    assert tree_bytes(out / "prod") == {".tripgen-files": writer.record_text({"README.md": ""}).encode(),
                                        "README.md": b"v2\n"}
    assert sorted(os.listdir(out)) == ["prod"]
    # a journal a writer did not commit blocks a journalled write instead of being overwritten
    (out / writer.JOURNAL).write_text(json.dumps({"tool": "someone else"}))
    with pytest.raises(writer.WriteRefused, match="not a journal of this run"):
        writer.write_environments(out, {"prod": FILES}, companions={"prod": "services: x\n"},
                                  companion=companion_for(root))
    assert (out / writer.JOURNAL).read_text() == json.dumps({"tool": "someone else"})


# ---------------------------------------------------------------------------- defect 7: the overlays copy


def test_the_overlays_copy_holds_regular_files_only_and_is_bounded(tmp_path):
    src = tmp_path / "overlays"
    (src / "prod").mkdir(parents=True)
    (src / "prod" / "config.py").write_text("x = 1\n")
    (src / "prod" / "zero").symlink_to("/dev/zero")
    (src / "prod" / "secret").symlink_to(tmp_path / "secret")
    (tmp_path / "secret").write_text("password\n")
    (src / "linked").symlink_to(tmp_path)
    os.mkfifo(src / "prod" / "fifo")
    releases.copy_overlays(src, tmp_path / "copy")
    assert tree_bytes(tmp_path / "copy") == {"prod/config.py": b"x = 1\n"}
    with pytest.raises(ConfigError, match="too large"):
        releases.copy_overlays(src, tmp_path / "small", limit=3)


# ---------------------------------------------------------------------------- the intent record


def test_a_planted_staging_directory_the_intent_record_does_not_name_is_left_alone_with_a_warning(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    # everything a crashed run of ours would leave, marker and record included, but never named in the intent record
    planted = plant_staging(out, ".tripgen-staging-p", "prod", {"old/authorized_keys": "key\n",
                                                              f"old/{writer.RECORD}": writer.record_text({})},
                            intended=False)
    before = tree_bytes(planted)
    writer.write_environment(out, "dev", FILES)
    assert not (out / "prod").exists() and tree_bytes(planted) == before  # neither renamed nor removed
    warning = capsys.readouterr().err.strip().splitlines()
    assert warning == [f"warning: {planted}: not a staging directory {writer.INTENT} names; left alone "
                       "(remove it yourself if it is no one's)"]
    assert sorted(os.listdir(out)) == [".tripgen-staging-p", "dev"]  # the intent record is gone after the write


def test_the_intent_record_is_durable_before_the_staging_directory_exists(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    events: list[str] = []
    real_fsync, real_mkdir = os.fsync, os.mkdir
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])

    def mkdir(path, *args, **kwargs):
        if Path(path).name.startswith(writer.STAGING_PREFIX):
            events.append(f"mkdir {Path(path).name} named={Path(path).name in writer._read_intent(out)}")
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    writer.write_environments(out, {"prod": FILES, "dev": FILES})
    made = [e for e in events if e.startswith("mkdir")]
    assert len(made) == 2 and all(e.endswith("named=True") for e in made)
    assert events.index(made[0]) >= 2 and events[events.index(made[0]) - 2:events.index(made[0])] == ["fsync", "fsync"]
    assert sorted(os.listdir(out)) == ["dev", "prod"]


def test_recovery_trusts_only_complete_intent_lines_of_plain_staging_names(tmp_path):
    out = tmp_path / "out"
    writer.write_environment(out, "prod", FILES)
    empty = out / ".tripgen-staging-killed"  # killed between the mkdir and the marker
    empty.mkdir()
    torn = out / ".tripgen-staging-torn"  # its line was being written when the process died
    plant_staging(out, torn.name, "prod", {"tree/x": "x\n"}, intended=False)
    (out / writer.INTENT).write_text(writer.INTENT_HEADER + f"{empty.name}\n../prod\n/etc\n{torn.name}")
    assert writer._read_intent(out) == {empty.name}
    writer.recover(out)
    assert not empty.exists() and (torn / "tree" / "x").read_text() == "x\n"
    assert not (out / writer.INTENT).exists()
    # an intent record that is a symlink or another user's file names nothing, and blocks staging
    (out / writer.INTENT).symlink_to(tmp_path / "elsewhere")
    assert writer._read_intent(out) == set()
    with pytest.raises(OSError):
        writer._intend(out, ".tripgen-staging-x")
    assert not (tmp_path / "elsewhere").exists()


def test_a_journal_naming_a_staging_directory_the_intent_record_does_not_is_not_applied(tmp_path):
    root = tmp_path / "project"
    (root / "prod").mkdir(parents=True)
    (root / "prod" / "releases.yaml").write_text("services: old\n")
    out = root / "charts"
    writer.write_environments(out, {"prod": FILES})
    staged = writer._stage(out, "prod", {"README.md": "v2\n"}, None)
    (out / writer.JOURNAL).write_text(writer._journal_text(out, [staged], {"prod": "services: new\n"}))
    (out / writer.INTENT).write_text(writer.INTENT_HEADER)  # the record no longer names the staged tree
    writer.recover(out, companion_for(root))
    assert (root / "prod" / "releases.yaml").read_text() == "services: old\n" and (out / writer.JOURNAL).exists()
    assert staged.staging.exists()


# ---------------------------------------------------------------------------- the lock holder, encodings, full disk


def test_the_lock_holder_command_line_is_shown_with_escapes_not_raw_control_characters(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "out"
    out.mkdir()
    hold = ("import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDONLY); fcntl.flock(fd, fcntl.LOCK_EX); "
            "print('held', flush=True); time.sleep(30)")
    holder = subprocess.Popen([sys.executable, "-c", hold, str(out), "\x1b[2J\x1b]0;owned\x07", "\u2028\x85x"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        shown = writer._lock_holder(out)
        assert shown.startswith(f"pid {holder.pid} (") and shown.endswith("\\x1b[2J\\x1b]0;owned\\x07 \\u2028\\x85x)")
        assert all(c.isprintable() for c in shown)
        with pytest.raises(writer.WriteRefused) as refused:
            with writer.locked(out, timeout=0):
                pass
        assert all(c.isprintable() for c in str(refused.value)) and "\\x1b[2J" in str(refused.value)
    finally:
        holder.kill()
        holder.wait()
    assert writer.printable("a\tb\x1b\u200bc d") == "a\\tb\\x1b\\u200bc d"


def test_bytes_that_are_not_utf8_in_the_record_or_an_owned_file_are_refused_naming_the_file(tmp_path):
    out = tmp_path / "out"
    writer.write_environment(out, "prod", FILES)
    (out / "prod" / "photo.png").write_bytes(b"\x89PNG\xff\xfe")  # not ours: never read, carried over
    writer.write_environment(out, "prod", FILES)
    (out / "prod" / "README.md").write_bytes(b"# env\xff\n")
    before = tree_bytes(out)
    for call in (lambda: writer.stale_files(out, "prod", FILES), lambda: writer.write_environment(out, "prod", FILES),
                 lambda: writer.read_owned(out / "prod", "README.md")):
        with pytest.raises(writer.NotText, match=r"prod/README.md: not UTF-8 text \(byte 5\)"):
            call()
    assert tree_bytes(out) == before
    (out / "prod" / "README.md").write_text("# env\n")
    (out / "prod" / writer.RECORD).write_bytes(writer.record_text(FILES).encode() + b"\xc3(\n")
    with pytest.raises(writer.NotText, match=r"prod/\.tripgen-files: not UTF-8"):
        writer.stale_files(out, "prod", FILES)
    with pytest.raises(writer.NotText, match=r"prod/\.tripgen-files: not UTF-8"):
        writer.write_environment(out, "prod", FILES)
    assert sorted(os.listdir(out)) == ["prod"]


def test_a_failed_write_names_the_file(tmp_path, monkeypatch):
    import builtins
    import errno

    out = tmp_path / "out"
    writer.write_environment(out, "prod", FILES)
    before = tree_bytes(out)
    real_open = builtins.open

    class Full:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

    def full_open(path, mode="r", *args, **kwargs):
        handle = real_open(path, mode, *args, **kwargs)
        return Full(handle) if "w" in mode and str(path).endswith("README.md") else handle

    monkeypatch.setattr(builtins, "open", full_open)
    with pytest.raises(OSError) as failed:
        writer.write_environment(out, "prod", {**FILES, "README.md": "# env v2\n"})
    assert failed.value.errno == errno.ENOSPC and failed.value.filename == str(out / "prod" / "README.md")
    assert tree_bytes(out) == before
