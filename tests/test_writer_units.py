"""The writer's pieces one by one, with exact messages and the files left on disk: the walk of an
environment directory, the ownership proof without a record, carrying foreign files over (links,
copies, symlinks, empty directories), staging (prefix, marker, modes), recovery that only touches
provably-own staging directories, the atomic exchange and its errors, and the lock (unit tests,
in-process, part of the mutation-testing selection)."""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import tree_bytes
from tripgen_cdk8s.lib import writer

FILES = {"a/Chart.yaml": "name: a\n", "a/templates/x.yaml": "kind: X\n", "README.md": "# env\n"}


def write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def refusal(out: Path, files: dict[str, str], env: str = "prod") -> str:
    with pytest.raises(writer.WriteRefused) as err:
        writer.write_environment(out, env, files)
    return str(err.value)


# ---------------------------------------------------------------------------- the walk


def test_existing_lists_files_symlinks_and_empty_directories(tmp_path):
    root = tmp_path / "env"
    write_tree(root, {"a/b.txt": "b", "top.txt": "t"})
    (root / "e").mkdir()
    (root / "x" / "y").mkdir(parents=True)
    (tmp_path / "target").mkdir()
    (root / "ln").symlink_to(tmp_path / "target")
    (root / "a" / "flink").symlink_to(root / "top.txt")
    assert writer._existing(root) == ({"a/b.txt", "top.txt", "ln", "a/flink"}, {"e", "x/y"})
    empty = tmp_path / "empty"
    empty.mkdir()
    assert writer._existing(empty) == (set(), set())


def test_the_record_lists_sorted_paths_under_its_header_and_reads_back_without_comments(tmp_path):
    text = writer.record_text({"b": "", "a/c": ""})
    assert text == writer.RECORD_HEADER + "a/c\nb\n"
    assert writer.with_record({"b": "x"}) == {"b": "x", writer.RECORD: writer.RECORD_HEADER + "b\n"}
    (tmp_path / writer.RECORD).write_text("# comment\n\na/c\nb\n")
    assert writer.read_record(tmp_path) == {"a/c", "b"}
    assert writer.read_record(tmp_path / "missing") is None


# ---------------------------------------------------------------------------- messages name paths


def test_messages_show_paths_relative_to_the_working_directory_when_inside_it(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "prod").write_text("x\n")
    assert refusal(out, FILES) == f"{out / 'prod'}: exists and is not a directory; move it away or choose another --out"
    monkeypatch.chdir(tmp_path)
    assert refusal(out, FILES) == "out/prod: exists and is not a directory; move it away or choose another --out"
    monkeypatch.chdir(out / "..")
    assert writer._shown(tmp_path / "out" / "prod") == "out/prod"
    sibling = tmp_path / "sib"
    sibling.mkdir()
    monkeypatch.chdir(sibling)
    assert writer._shown(out / "prod") == str(out / "prod")


def test_unknown_files_without_record_are_listed_five_at_most(tmp_path):
    out = tmp_path / "out"
    write_tree(out / "prod", {f"f{i}.txt": "x" for i in range(5)})
    assert refusal(out, FILES) == (
        f"{out / 'prod'}: holds files synth did not write (no .tripgen-files record): "
        "f0.txt, f1.txt, f2.txt, f3.txt, f4.txt; move them or choose another --out"
    )
    (out / "prod" / "f5.txt").write_text("x")
    assert refusal(out, FILES) == (
        f"{out / 'prod'}: holds files synth did not write (no .tripgen-files record): "
        "f0.txt, f1.txt, f2.txt, f3.txt, f4.txt ...; move them or choose another --out"
    )


def test_clashing_foreign_files_are_listed_five_at_most(tmp_path):
    out = tmp_path / "out"
    writer.write_environment(out, "prod", {"README.md": "# env\n"})
    wanted = {f"c{i}.yaml": "generated\n" for i in range(6)}
    write_tree(out / "prod", {f"c{i}.yaml": "mine\n" for i in range(6)})
    assert refusal(out, wanted) == (
        f"{out / 'prod'}: synth would overwrite files it did not write: "
        "c0.yaml, c1.yaml, c2.yaml, c3.yaml, c4.yaml; move them away first"
    )
    assert (out / "prod" / "c5.yaml").read_text() == "mine\n"


def test_a_foreign_file_where_a_generated_directory_goes_or_below_a_generated_file_is_a_clash(tmp_path):
    out = tmp_path / "out"
    writer.write_environment(out, "prod", {"README.md": "# env\n"})
    (out / "prod" / "a").write_text("a file where a/ must go\n")
    assert refusal(out, FILES) == f"{out / 'prod'}: synth would overwrite files it did not write: a; move them away first"
    (out / "prod" / "a").unlink()
    writer.write_environment(out, "prod", {"notes": "generated\n"})
    (out / "prod" / "docs").mkdir()
    (out / "prod" / "docs" / "x.md").write_text("mine\n")
    assert refusal(out, {"docs": "generated file where a foreign directory is\n"}) == (
        f"{out / 'prod'}: synth would overwrite files it did not write: docs/x.md; move them away first"
    )


# ---------------------------------------------------------------------------- proof of ownership without a record


def test_without_record_a_generated_path_must_hold_exactly_the_generated_text(tmp_path):
    out = tmp_path / "out"
    write_tree(out / "prod", {**FILES, "README.md": "# env (edited)\n"})
    assert refusal(out, FILES) == (
        f"{out / 'prod'}: holds files synth did not write (no .tripgen-files record): README.md; move them or choose another --out"
    )


def test_without_record_a_symlink_to_identical_text_is_not_proof(tmp_path):
    out = tmp_path / "out"
    write_tree(out / "prod", {rel: text for rel, text in FILES.items() if rel != "README.md"})
    (tmp_path / "readme-elsewhere").write_text(FILES["README.md"])
    (out / "prod" / "README.md").symlink_to(tmp_path / "readme-elsewhere")
    assert refusal(out, FILES).endswith("(no .tripgen-files record): README.md; move them or choose another --out")


def test_without_record_undecodable_bytes_are_not_proof(tmp_path):
    out = tmp_path / "out"
    write_tree(out / "prod", {rel: text for rel, text in FILES.items() if rel != "README.md"})
    (out / "prod" / "README.md").write_bytes(b"\xff\xfe not utf-8")
    assert refusal(out, FILES).endswith("(no .tripgen-files record): README.md; move them or choose another --out")
    assert writer._holds(out / "prod" / "README.md", "x") is False
    assert writer._holds(out / "prod" / "a" / "Chart.yaml", "name: a\n") is True
    assert writer._holds(out / "prod" / "a", "name: a\n") is False


def test_stale_files_reports_a_symlink_even_to_identical_text(tmp_path):
    out = tmp_path / "out"
    writer.write_environment(out, "prod", FILES)
    (tmp_path / "copy").write_text(FILES["README.md"])
    (out / "prod" / "README.md").unlink()
    (out / "prod" / "README.md").symlink_to(tmp_path / "copy")
    assert writer.stale_files(out, "prod", FILES) == ["prod/README.md"]
    (out / "prod" / "a" / "Chart.yaml").unlink()
    assert writer.stale_files(out, "prod", FILES) == ["prod/README.md", "prod/a/Chart.yaml"]


# ---------------------------------------------------------------------------- foreign files carried over


def test_foreign_symlinks_nested_files_and_empty_directories_are_carried_over(tmp_path):
    out = tmp_path / "out"
    writer.write_environment(out, "prod", FILES)
    prod = out / "prod"
    (tmp_path / "target.txt").write_text("target\n")
    (tmp_path / "target-dir").mkdir()
    (prod / "link.txt").symlink_to(tmp_path / "target.txt")
    (prod / "dirlink").symlink_to(tmp_path / "target-dir")
    write_tree(prod, {"docs/runbooks/oncall.md": "call Alice\n"})
    (prod / "notes" / "2024").mkdir(parents=True)
    (prod / "a" / "templates" / "x.yaml").unlink()  # a/templates is now an empty foreign directory
    writer.write_environment(out, "prod", FILES)
    assert os.readlink(prod / "link.txt") == str(tmp_path / "target.txt")
    assert os.readlink(prod / "dirlink") == str(tmp_path / "target-dir")
    assert (prod / "docs" / "runbooks" / "oncall.md").read_text() == "call Alice\n"
    assert (prod / "notes" / "2024").is_dir() and os.listdir(prod / "notes" / "2024") == []
    assert (prod / "a" / "templates" / "x.yaml").read_text() == "kind: X\n"
    assert writer.read_record(prod) == set(FILES)


def test_where_hard_links_fail_foreign_files_are_copied_with_their_metadata_and_symlinks_recreated(tmp_path, monkeypatch):
    out = tmp_path / "out"
    writer.write_environment(out, "prod", FILES)
    prod = out / "prod"
    write_tree(prod, {"docs/runbook.md": "call Bob\n"})
    os.utime(prod / "docs" / "runbook.md", (1_000_000_000, 1_000_000_000))
    (prod / "rel-link").symlink_to("docs/runbook.md")
    inode = (prod / "docs" / "runbook.md").stat().st_ino

    def no_links(*args, **kwargs):
        raise OSError(errno.EXDEV, "cross-device link")

    monkeypatch.setattr(os, "link", no_links)
    writer.write_environment(out, "prod", FILES)
    copied = prod / "docs" / "runbook.md"
    assert copied.read_text() == "call Bob\n" and copied.stat().st_ino != inode
    assert copied.stat().st_mtime == 1_000_000_000
    assert os.readlink(prod / "rel-link") == "docs/runbook.md"


# ---------------------------------------------------------------------------- staging


def test_staging_is_a_marked_directory_in_out_and_every_file_is_reported(tmp_path):
    out = tmp_path / "out"
    seen: list[str] = []
    staging_seen: list[tuple[str, str]] = []

    def on_file(rel: str) -> None:
        seen.append(rel)
        if not staging_seen:
            entries = [p for p in out.iterdir() if p.name.startswith(writer.STAGING_PREFIX)]
            assert len(entries) == 1
            staging_seen.append((entries[0].name, (entries[0] / writer.STAGING_MARKER).read_text(encoding="utf-8")))

    files = {"deep/er/f.yaml": "f\n", "top.md": "t\n"}
    writer.write_environment(out, "prod", files, on_file=on_file)
    assert seen == [".tripgen-files", "deep/er/f.yaml", "top.md"]
    assert staging_seen[0][1] == "tripgen-cdk8s staging directory for environment prod\n"
    assert sorted(p.name for p in out.iterdir()) == ["prod"]
    for d in (out / "prod", out / "prod" / "deep", out / "prod" / "deep" / "er"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o755
    assert tree_bytes(out / "prod") == {
        ".tripgen-files": writer.record_text(files).encode(),
        "deep/er/f.yaml": b"f\n",
        "top.md": b"t\n",
    }


def test_a_failure_while_staging_leaves_nothing_behind(tmp_path):
    out = tmp_path / "out"

    def boom(rel: str) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        writer.write_environment(out, "prod", FILES, on_file=boom)
    assert not out.exists()  # created by this run, removed again
    writer.write_environment(out, "prod", FILES)
    before = tree_bytes(out)
    with pytest.raises(RuntimeError, match="disk full"):
        writer.write_environments(out, {"prod": {"README.md": "v2\n"}}, on_file=boom)
    assert tree_bytes(out) == before and sorted(os.listdir(out)) == ["prod"]


def test_a_refused_second_environment_removes_the_staging_of_the_first(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "dev").write_text("not a directory\n")
    with pytest.raises(writer.WriteRefused, match="dev: exists and is not a directory"):
        writer.write_environments(out, {"prod": FILES, "dev": FILES})
    assert sorted(os.listdir(out)) == ["dev"]
    assert out.exists()  # it existed before: kept


def test_the_output_directory_is_created_with_its_parents(tmp_path):
    out = tmp_path / "a" / "b" / "out"
    writer.write_environments(out, {"prod": FILES, "dev": {"README.md": "dev\n"}})
    assert sorted(os.listdir(out)) == ["dev", "prod"]
    assert (out / "dev" / "README.md").read_text() == "dev\n"


def test_remove_staging_removes_tree_old_and_a_missing_marker(tmp_path):
    staging = tmp_path / ".tripgen-staging-x"
    write_tree(staging, {"tree/a/b": "b", "old/c": "c"})
    writer._remove_staging(staging)
    assert not staging.exists()


# ---------------------------------------------------------------------------- recovery


def test_own_staging_is_recognised_only_by_prefix_directory_and_a_real_marker(tmp_path):
    def make(name: str, marker: str | None = "prod") -> Path:
        d = tmp_path / name
        (d / "tree").mkdir(parents=True)
        if marker is not None:
            (d / writer.STAGING_MARKER).write_text(writer.MARKER_TEXT + marker + "\n")
        return d

    assert writer._is_own_staging(make(".tripgen-staging-ok")) == "prod"
    assert writer._is_own_staging(make("staging-ok")) is None
    assert writer._is_own_staging(make(".tripgen-staging-nomarker", None)) is None
    assert writer._is_own_staging(make(".tripgen-staging-other", "dev").parent / ".tripgen-staging-other") == "dev"
    link = tmp_path / ".tripgen-staging-link"
    link.symlink_to(tmp_path / ".tripgen-staging-ok")
    assert writer._is_own_staging(link) is None
    marker_link = make(".tripgen-staging-markerlink", None)
    (marker_link / writer.STAGING_MARKER).symlink_to(tmp_path / ".tripgen-staging-ok" / writer.STAGING_MARKER)
    assert writer._is_own_staging(marker_link) is None
    wrong_text = make(".tripgen-staging-wrong", None)
    (wrong_text / writer.STAGING_MARKER).write_text("something else\n")
    assert writer._is_own_staging(wrong_text) is None
    binary = make(".tripgen-staging-binary", None)
    (binary / writer.STAGING_MARKER).write_bytes(b"\xff\xfe")
    assert writer._is_own_staging(binary) is None
    dir_marker = make(".tripgen-staging-dirmarker", None)
    (dir_marker / writer.STAGING_MARKER).mkdir()
    assert writer._is_own_staging(dir_marker) is None
    (tmp_path / ".tripgen-staging-file").write_text(writer.MARKER_TEXT + "prod\n")
    assert writer._is_own_staging(tmp_path / ".tripgen-staging-file") is None


def test_recover_leaves_look_alikes_and_symlinks_to_staging_directories_alone(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    write_tree(elsewhere, {"tree/x": "x"})
    (elsewhere / writer.STAGING_MARKER).write_text(writer.MARKER_TEXT + "prod\n")
    (out / ".tripgen-staging-link").symlink_to(elsewhere)
    unprefixed = out / "staging-copy"
    write_tree(unprefixed, {"tree/y": "y"})
    (unprefixed / writer.STAGING_MARKER).write_text(writer.MARKER_TEXT + "prod\n")
    writer.recover(out)
    assert (elsewhere / "tree" / "x").read_text() == "x" and (out / ".tripgen-staging-link").is_symlink()
    assert (unprefixed / "tree" / "y").read_text() == "y"
    writer.recover(tmp_path / "missing")  # nothing to recover: no error
    assert not (tmp_path / "missing").exists()


def test_recover_does_not_move_an_old_tree_over_an_existing_environment(tmp_path):
    out = tmp_path / "out"
    writer.write_environment(out, "prod", FILES)
    staging = out / ".tripgen-staging-crashed"
    writer._intend(out, staging.name)
    write_tree(staging, {"old/README.md": "old\n"})
    (staging / writer.STAGING_MARKER).write_text(writer.MARKER_TEXT + "prod\n")
    writer.recover(out)
    assert (out / "prod" / "README.md").read_text() == "# env\n" and not staging.exists()
    empty_env = out / ".tripgen-staging-noenv"
    writer._intend(out, empty_env.name)
    write_tree(empty_env, {"old/README.md": "old\n"})
    (empty_env / writer.STAGING_MARKER).write_text(writer.MARKER_TEXT + "\n")
    writer.recover(out)
    assert sorted(os.listdir(out)) == ["prod"]


# ---------------------------------------------------------------------------- the exchange


def test_exchange_loads_libc_once_and_swaps(tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "_libc", None)
    write_tree(tmp_path, {"a/f": "a", "b/g": "b"})
    assert writer.exchange(tmp_path / "a", tmp_path / "b") is True
    assert (tmp_path / "a" / "g").read_text() == "b" and (tmp_path / "b" / "f").read_text() == "a"
    assert writer._libc is not None
    fn = writer._renameat2()
    assert fn is not None and fn.restype is ctypes.c_int
    assert fn.argtypes == [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]


def test_exchange_of_a_missing_path_raises_the_system_error_naming_the_target(tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "_libc", None)
    (tmp_path / "b").mkdir()
    with pytest.raises(OSError) as err:
        writer.exchange(tmp_path / "missing", tmp_path / "b")
    assert (err.value.errno, err.value.strerror, err.value.filename) == (
        errno.ENOENT,
        os.strerror(errno.ENOENT),
        str(tmp_path / "b"),
    )


def test_without_renameat2_exchange_reports_false_and_swaps_nothing(tmp_path, monkeypatch):
    class NoRenameat2:
        pass

    monkeypatch.setattr(writer, "_libc", NoRenameat2())
    write_tree(tmp_path, {"a/f": "a", "b/g": "b"})
    assert writer._renameat2() is None
    assert writer.exchange(tmp_path / "a", tmp_path / "b") is False
    assert (tmp_path / "a" / "f").read_text() == "a"


@pytest.mark.parametrize("code", [errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP])
def test_an_unsupported_exchange_is_false_and_other_errors_raise(tmp_path, monkeypatch, code):
    def failing(*args):
        ctypes.set_errno(code)
        return -1

    monkeypatch.setattr(writer, "_renameat2", lambda: failing)
    assert writer.exchange(tmp_path / "a", tmp_path / "b") is False

    def denied(*args):
        ctypes.set_errno(errno.EACCES)
        return -1

    monkeypatch.setattr(writer, "_renameat2", lambda: denied)
    with pytest.raises(PermissionError):
        writer.exchange(tmp_path / "a", tmp_path / "b")


# ---------------------------------------------------------------------------- the lock


def _cmdline() -> str:
    return Path(f"/proc/{os.getpid()}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()


def test_a_held_lock_times_out_naming_the_holder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert writer._lock_holder(out) == f"pid {os.getpid()} ({_cmdline()})"
        started = time.monotonic()
        with pytest.raises(writer.WriteRefused) as err:
            with writer.locked(out, timeout=0.3):
                pass
        assert 0.3 <= time.monotonic() - started < 5
        assert str(err.value) == f"{out}: another synth is writing here (pid {os.getpid()} ({_cmdline()})); gave up after 0.3 s"
        with pytest.raises(writer.WriteRefused, match="gave up after 0.2 s"):
            writer.write_environments(out, {"prod": FILES}, lock_timeout=0.2)
        assert os.listdir(out) == []
    finally:
        os.close(fd)


def test_the_lock_is_taken_as_soon_as_it_is_free_and_released_after(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    threading.Timer(0.3, os.close, args=(fd,)).start()
    started = time.monotonic()
    with writer.locked(out, timeout=10):
        assert time.monotonic() - started < 5
        assert writer._lock_holder(out) == f"pid {os.getpid()} ({_cmdline()})"
    assert writer._lock_holder(out) == "another process"  # nobody holds it any more


def test_the_lock_holder_is_another_process_when_unknown(tmp_path):
    assert writer._lock_holder(tmp_path) == "another process"
    assert writer._lock_holder(tmp_path / "missing") == "another process"


def test_a_flock_of_another_process_on_another_directory_is_not_the_holder(tmp_path):
    other, out = tmp_path / "other", tmp_path / "out"
    other.mkdir()
    out.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDONLY); "
            "fcntl.flock(fd, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(60)",
            str(other),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        assert writer._lock_holder(out) == "another process"
        assert writer._lock_holder(other).startswith(f"pid {holder.pid} (")
    finally:
        holder.kill()
        holder.wait()


def test_only_a_flock_names_the_holder_never_a_posix_lock_on_the_same_directory(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    posix = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.lockf(posix, fcntl.LOCK_SH)  # listed in /proc/locks as POSIX, same device and inode
        assert writer._lock_holder(out) == "another process"
    finally:
        os.close(posix)
    fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    posix = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        fcntl.lockf(posix, fcntl.LOCK_SH)  # newer, so listed before the flock
        assert writer._lock_holder(out) == f"pid {os.getpid()} ({_cmdline()})"
    finally:
        os.close(posix)
        os.close(fd)


def test_the_holder_command_line_is_a_question_mark_when_unreadable(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)

        def unreadable(self):
            raise PermissionError(errno.EACCES, "denied")

        monkeypatch.setattr(Path, "read_bytes", unreadable)
        assert writer._lock_holder(out) == f"pid {os.getpid()} (?)"
    finally:
        os.close(fd)


def test_directory_modes_are_755_whatever_the_umask(tmp_path):
    out = tmp_path / "out"
    old = os.umask(0o077)
    try:
        writer.write_environment(out, "prod", {"deep/er/f.yaml": "f\n", "top.md": "t\n"})
    finally:
        os.umask(old)
    for d in (out / "prod", out / "prod" / "deep", out / "prod" / "deep" / "er"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o755, d


def test_a_cleanup_that_fails_does_not_hide_the_original_error(tmp_path, monkeypatch):
    def cannot_remove(path):
        raise PermissionError(errno.EACCES, "denied", str(path))

    def boom(rel: str) -> None:
        raise RuntimeError("disk full")

    out = tmp_path / "out"
    monkeypatch.setattr(writer, "_remove_staging", cannot_remove)
    with pytest.raises(RuntimeError, match="disk full"):
        writer.write_environment(out, "prod", FILES, on_file=boom)
    assert [p.name.startswith(writer.STAGING_PREFIX) for p in out.iterdir()] == [True]  # left for the next run
    out2 = tmp_path / "out2"
    out2.mkdir()
    (out2 / "dev").write_text("not a directory\n")
    with pytest.raises(writer.WriteRefused, match="not a directory"):
        writer.write_environments(out2, {"prod": FILES, "dev": FILES})


def test_unchanged_files_are_the_same_file_after_a_second_synth_and_changed_ones_are_new(tmp_path, monkeypatch):
    files = {"chart/a.yaml": "a: 1\n", "chart/b.yaml": "b: 1\n"}
    writer.write_environments(tmp_path, {"prod": files})
    env = tmp_path / "prod"
    before = {rel: (env / rel).stat().st_ino for rel in [*files, writer.RECORD]}
    (env / "chart" / "b.yaml").chmod(0o600)  # a file of ours edited by hand is rewritten, not reused
    (env / "chart" / "b.yaml").write_text("b: edited\n", encoding="utf-8")
    written: list[str] = []

    def recording_open(path, mode="r", *args, **kwargs):
        if "w" in mode:
            written.append(Path(path).name)
        return open(path, mode, *args, **kwargs)

    monkeypatch.setattr(writer, "open", recording_open, raising=False)
    writer.write_environments(tmp_path, {"prod": {**files, "chart/c.yaml": "c: 1\n"}})
    assert sorted(written) == [writer.RECORD, "b.yaml", "c.yaml"]  # a.yaml is linked, never opened to write
    assert (env / "chart" / "a.yaml").stat().st_ino == before["chart/a.yaml"]  # reused: a hard link
    assert (env / "chart" / "a.yaml").stat().st_nlink == 1  # the old tree is gone
    assert (env / "chart" / "b.yaml").stat().st_ino != before["chart/b.yaml"]
    assert (env / "chart" / "b.yaml").read_text(encoding="utf-8") == "b: 1\n"
    assert (env / writer.RECORD).stat().st_ino != before[writer.RECORD]  # the record changed (c.yaml)
    assert {p.name for p in tmp_path.iterdir()} == {"prod"}


def test_a_file_that_cannot_be_linked_is_written(tmp_path, monkeypatch):
    files = {"chart/a.yaml": "a: 1\n"}
    writer.write_environments(tmp_path, {"prod": files})
    ino = (tmp_path / "prod" / "chart" / "a.yaml").stat().st_ino

    def no_link(*args, **kwargs):
        raise OSError(errno.EPERM, "hard links not permitted")

    monkeypatch.setattr(writer.os, "link", no_link)
    writer.write_environments(tmp_path, {"prod": files})
    assert (tmp_path / "prod" / "chart" / "a.yaml").stat().st_ino != ino
    assert (tmp_path / "prod" / "chart" / "a.yaml").read_text(encoding="utf-8") == "a: 1\n"
