"""The commands that write (synth, release set/promote, and diff reading what they wrote) against
hostile files planted in the project and against each other (issue 21): nothing is renamed,
overwritten or shown outside what the tool owns, concurrent writers queue under one lock with their
inputs read under it, and a `release set` killed at any file-system call leaves releases.yaml and
charts/ both old, or both new once the next run recovered."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, run_cli, tree_bytes

RELEASES = Path("overlays") / "prod" / "releases.yaml"


def _one_line_exit_2(proc: subprocess.CompletedProcess[str], *named: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    for text in named:
        assert text in proc.stderr, proc.stderr


def _plant_staging(charts: Path, env_named: str) -> Path:
    staging = charts / ".tripgen-staging-x"
    (staging / "old").mkdir(parents=True)
    (staging / "old" / "authorized_keys").write_text("ssh-ed25519 AAAA attacker\n")
    (staging / ".tripgen-staging").write_text(f"tripgen-cdk8s staging directory for environment {env_named}\n")
    return staging


# ---------------------------------------------------------------------------- defect 1


@pytest.mark.parametrize("command", [["synth"], ["release", "set", "trip-service", "--env", "prod", "--tag", "v1.2.1"]],
                         ids=["synth", "release-set"])
def test_a_planted_staging_marker_naming_a_path_moves_nothing_out_of_charts(project_copy, tmp_path, command):
    ssh = tmp_path / "home" / "u" / ".ssh"
    ssh.parent.mkdir(parents=True)  # the home directory exists; its .ssh would be created by the rename
    for named in (str(ssh), "../../x", "prod"):
        staging = _plant_staging(project_copy / "charts", named)
        proc = run_cli(*command, cwd=project_copy)
        assert proc.returncode == 0, proc.stderr
        assert not ssh.exists() and not (tmp_path / "x").exists() and not (project_copy / "x").exists()
        assert (staging / "old" / "authorized_keys").read_text() == "ssh-ed25519 AAAA attacker\n"
        assert not (project_copy / "charts" / "prod" / "authorized_keys").exists()
        # not named by charts/.tripgen-intent: left where it is, said once
        assert proc.stderr.splitlines()[0] == ("warning: charts/.tripgen-staging-x: not a staging directory "
                                               ".tripgen-intent names; left alone (remove it yourself if it is no one's)")
        assert proc.stderr.count("warning:") == 1
        shutil.rmtree(staging)
    assert run_cli("synth", "--check", cwd=project_copy).returncode == 0


# ---------------------------------------------------------------------------- defect 2


def test_release_set_does_not_follow_a_symlink_at_a_temporary_name(project_copy, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    link = project_copy / "overlays" / "prod" / ".releases.yaml.tripgen-tmp"
    link.symlink_to(victim)
    proc = run_cli("release", "set", "trip-service", "--env", "prod", "--tag", "v1.2.1", cwd=project_copy)
    assert proc.returncode == 0, proc.stderr
    assert victim.read_text() == "precious\n" and link.is_symlink()
    assert "tag: v1.2.1" in (project_copy / RELEASES).read_text()
    assert sorted(p.name for p in link.parent.iterdir()) == [".releases.yaml.tripgen-tmp", "config.py", "releases.yaml"]


def test_a_releases_file_that_is_a_symlink_is_refused_not_written_through(project_copy, tmp_path):
    outside = tmp_path / "outside.yaml"
    shutil.move(project_copy / RELEASES, outside)
    (project_copy / RELEASES).symlink_to(outside)
    before, charts = outside.read_text(), tree_bytes(project_copy / "charts")
    proc = run_cli("release", "set", "trip-service", "--env", "prod", "--tag", "v1.2.1", cwd=project_copy)
    _one_line_exit_2(proc, "releases.yaml", "symlink")
    assert outside.read_text() == before and tree_bytes(project_copy / "charts") == charts


# ---------------------------------------------------------------------------- defects 3 and 4


def _popen(project: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(ROOT / "main.py"), *args], cwd=project, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


# A second writer started only once the first holds the lock may, on a loaded machine, spend longer
# starting Python (and reading its inputs) than the first spends holding it. So the second is started
# first, with its imports done, and let go (a line on its stdin) once the first holds the lock; and the
# first is stopped (SIGSTOP) from then until the second has said it waits, so the overlap does not
# depend on how fast either runs.
_READY = ("import sys; sys.path.insert(0, sys.argv[1]); sys.argv = ['main.py', *sys.argv[2:]]; "
          "import tripgen_cdk8s.cli as cli, tripgen_cdk8s.lib.writer; sys.stdin.readline(); cli.main()")


def _ready(project: Path, *args: str) -> subprocess.Popen[str]:
    """The CLI with ``args`` in ``project``, imported and waiting for :func:`_go`."""
    return subprocess.Popen([sys.executable, "-c", _READY, str(ROOT), *args], cwd=project, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _go(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.close()


def _finish(procs: list[subprocess.Popen[str]]) -> list[tuple[int, str]]:
    return [(p.wait(timeout=180), (p.stdout.read() if p.stdout else "") + (p.stderr.read() if p.stderr else ""))
            for p in procs]


def _holding(charts: Path, proc: subprocess.Popen[str]) -> None:
    """Return once ``proc`` holds the lock on ``charts`` (its pid in /proc/locks); fail if it ends first."""
    from tripgen_cdk8s.lib.writer import _lock_holder

    deadline = time.monotonic() + 120
    while not _lock_holder(charts).startswith(f"pid {proc.pid} "):
        assert proc.poll() is None and time.monotonic() < deadline, "the first writer never took the lock"
        time.sleep(0.01)


def _waiting_line(proc: subprocess.Popen[str], holder: int) -> str:
    """The line ``proc`` prints when it finds the lock taken: the proof that it waits for ``holder``."""
    assert proc.stderr is not None
    line = proc.stderr.readline()
    if not line:  # it ended without waiting: say how, for the failure message
        line = f"(exit {proc.wait(timeout=180)}: {proc.stdout.read() if proc.stdout else ''})"
    assert line.startswith(f"charts: waiting for pid {holder} (") and line.endswith("...\n"), line
    return line


def _queued_behind(holder: subprocess.Popen[str], proc: subprocess.Popen[str]) -> str:
    """Let ``proc`` go while ``holder`` (holding the lock) is stopped; its waiting line, once it waits."""
    os.kill(holder.pid, signal.SIGSTOP)
    try:
        _go(proc)
        return _waiting_line(proc, holder.pid)
    finally:
        os.kill(holder.pid, signal.SIGCONT)


def _one_after_the_other(project: Path, first: list[str], second: list[str]) -> list[tuple[int, str]]:
    """Run ``first``; once it holds the lock, run ``second`` and see it wait for ``first`` (its waiting
    line names first's pid): the two overlap for certain, and the order is known (no sleeps)."""
    b = _ready(project, *second)
    a = _popen(project, *first)
    _holding(project / "charts", a)
    _queued_behind(a, b)
    return _finish([a, b])


def test_two_release_sets_at_once_both_land(project_copy):
    results = _one_after_the_other(project_copy, ["release", "set", "trip-service", "--env", "prod", "--tag", "v7.0.0"],
                                   ["release", "set", "user-service", "--env", "prod", "--tag", "v8.0.0"])
    assert [rc for rc, _ in results] == [0, 0], results
    text = (project_copy / RELEASES).read_text()
    assert "tag: v7.0.0" in text and "tag: v8.0.0" in text  # neither release lost
    assert run_cli("synth", "--check", cwd=project_copy).returncode == 0


@pytest.mark.parametrize("release_first", [True, False], ids=["release-set-then-synth", "synth-then-release-set"])
def test_synth_racing_release_set_never_writes_stale_charts(project_copy, release_first):
    release = ["release", "set", "trip-service", "--env", "prod", "--tag", "v9.0.1"]
    order = [release, ["synth"]] if release_first else [["synth"], release]
    results = _one_after_the_other(project_copy, *order)
    assert [rc for rc, _ in results] == [0, 0], results
    assert "tag: v9.0.1" in (project_copy / RELEASES).read_text()
    proc = run_cli("synth", "--check", cwd=project_copy)
    assert proc.returncode == 0, proc.stderr


def test_files_saved_into_charts_env_while_a_writer_holds_the_lock_are_kept(project_copy):
    """Defect 5: what a user creates, or saves by rename as editors and git do, in charts/prod/ while
    `release set` holds the lock (synthesising, staging or swapping) is in charts/prod/ afterwards."""
    prod = project_copy / "charts" / "prod"
    (prod / "RUNBOOK.md").write_text("v1\n")
    b = _ready(project_copy, "synth", "--env", "dev")
    a = _popen(project_copy, "release", "set", "trip-service", "--env", "prod", "--tag", "v9.0.2")
    _holding(project_copy / "charts", a)
    _queued_behind(a, b)  # a holds the lock: from here until it ends, a is reading, staging or swapping
    saved = 0
    while a.poll() is None or saved < 3:
        (prod / f"NEW-{saved}.md").write_text(f"created {saved}\n")
        (prod / ".RUNBOOK.md.swp").write_text(f"v{saved + 2}\n")
        os.rename(prod / ".RUNBOOK.md.swp", prod / "RUNBOOK.md")
        saved += 1
        time.sleep(0.05)
    results = _finish([a, b])
    assert [rc for rc, _ in results] == [0, 0], results
    assert (prod / "RUNBOOK.md").read_text() == f"v{saved + 1}\n"
    for n in range(saved):
        assert (prod / f"NEW-{n}.md").read_text() == f"created {n}\n", n
    assert run_cli("synth", "--check", cwd=project_copy).returncode == 0


# ---------------------------------------------------------------------------- defect 6


def test_diff_and_check_show_nothing_outside_charts_env_or_through_a_symlink(project_copy, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("db-password=hunter2\n")
    prod = project_copy / "charts" / "prod"
    record = prod / ".tripgen-files"
    (prod / "link").symlink_to(secret)
    record.write_text(record.read_text() + "../../../secret\nlink\n")
    (prod / "README.md").unlink()
    (prod / "README.md").symlink_to(secret)  # a generated path replaced by a link
    proc = run_cli("diff", "--env", "prod", cwd=project_copy)
    assert proc.returncode == 1, proc.stderr
    assert "hunter2" not in proc.stdout + proc.stderr and "../secret" not in proc.stdout + proc.stderr
    assert "--- /dev/null" in proc.stdout and "charts/prod/README.md" in proc.stdout
    proc = run_cli("synth", "--check", "--env", "prod", cwd=project_copy)
    assert proc.returncode == 1 and "secret" not in proc.stderr and "prod/link" not in proc.stderr, proc.stderr
    assert run_cli("synth", cwd=project_copy).returncode == 0
    assert secret.read_text() == "db-password=hunter2\n"
    assert run_cli("synth", "--check", cwd=project_copy).returncode == 0


# ---------------------------------------------------------------------------- defect 7


def _small_files() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (32 * 1024 * 1024, 32 * 1024 * 1024))


def test_release_set_copies_no_symlink_of_overlays(project_copy, tmp_path):
    overlays = project_copy / "overlays"
    (overlays / "prod" / "zero").symlink_to("/dev/zero")
    (overlays / "shared").symlink_to(tmp_path)
    (tmp_path / "big").write_bytes(b"\0" * 40 * 1024 * 1024)
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "release", "set", "trip-service", "--env", "prod",
                           "--tag", "v1.2.1"], cwd=project_copy, capture_output=True, text=True, env=env,
                          preexec_fn=_small_files, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert os.listdir(tmp_path / "tmp") == []
    assert run_cli("synth", "--check", cwd=project_copy).returncode == 0


# ---------------------------------------------------------------------------- defect 8


FAIL_REPLACE = """
import os, sys
sys.path.insert(0, {root!r})
real = os.replace
def failing(src, dst, *a, **k):
    if str(dst).endswith("releases.yaml"):
        raise OSError(28, "No space left on device (injected)", str(dst))
    return real(src, dst, *a, **k)
os.replace = failing
from tripgen_cdk8s.cli import main
sys.argv = ["tripgen", "release", "set", "trip-service", "--env", "prod", "--tag", "v1.2.1"]
main()
"""


def test_a_failed_release_set_leaves_no_temporary_file_and_changes_nothing(project_copy):
    before = tree_bytes(project_copy)
    proc = subprocess.run([sys.executable, "-c", FAIL_REPLACE.format(root=str(ROOT))], cwd=project_copy,
                          capture_output=True, text=True, check=False)
    _one_line_exit_2(proc, "injected")
    assert tree_bytes(project_copy) == before
    assert sorted(os.listdir(project_copy / "overlays" / "prod")) == ["config.py", "releases.yaml"]
    assert sorted(os.listdir(project_copy / "charts")) == ["dev", "prod"]
    assert run_cli("synth", "--check", cwd=project_copy).returncode == 0


RECOVER = """
import sys
sys.path.insert(0, {root!r})
from pathlib import Path
from tripgen_cdk8s.cli import _release_session
with _release_session(Path(".").resolve()):
    pass
"""
WRITES = "rename,renameat,renameat2,unlink,unlinkat,rmdir,link,linkat,mkdir,mkdirat,fsync"


def _strace() -> str:
    path = shutil.which("strace")
    if path is None:
        pytest.fail("strace is required (scripts/setup.sh test installs it from Debian)")
    return path


@pytest.mark.parametrize(("command", "fallback"), [("release-set", False), ("release-set", True), ("synth", False)],
                         ids=["release-set", "release-set-two-renames-fallback", "synth"])
def test_sigkill_at_any_write_leaves_releases_and_charts_both_old_or_both_new(project_copy, command, fallback):
    strace = _strace()
    charts, releases = project_copy / "charts", project_copy / RELEASES
    if command == "synth":  # a config change synth writes into charts/prod/
        cfg = project_copy / "overlays" / "prod" / "config.py"
        cfg.write_text(cfg.read_text().replace("max_replicas=15", "max_replicas=14"))
    pristine = project_copy.parent / "pristine"
    shutil.copytree(project_copy, pristine)
    old = (releases.read_bytes(), tree_bytes(charts))
    hook = "import tripgen_cdk8s.lib.writer as w; w.exchange = lambda a, b: False; " if fallback else ""
    argv = ["tripgen", "synth"] if command == "synth" else \
        ["tripgen", "release", "set", "trip-service", "--env", "prod", "--tag", "v1.2.1"]
    script = f"import sys; sys.path.insert(0, {str(ROOT)!r}); {hook}from tripgen_cdk8s.cli import main; " \
             f"sys.argv = {argv!r}; main()"
    trace = project_copy.parent / "trace.txt"
    proc = subprocess.run([strace, "-o", str(trace), "-e", f"trace={WRITES}", sys.executable, "-c", script],
                          cwd=project_copy, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    new = (releases.read_bytes(), tree_bytes(charts))
    assert (new[0] != old[0]) == (command == "release-set") and new[1] != old[1]
    total = sum(1 for line in trace.read_text().splitlines() if "(" in line)
    points = sorted({1, 2, 3, *range(4, total, max(1, total // 12)), total - 2, total - 1})
    killed = 0
    for n in points:
        shutil.rmtree(project_copy)
        shutil.copytree(pristine, project_copy)
        proc = subprocess.run([strace, "-o", os.devnull, "-e", f"trace={WRITES}",
                               "-e", f"inject={WRITES}:signal=KILL:when={n}", sys.executable, "-c", script],
                              cwd=project_copy, capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            continue
        assert proc.returncode in (-9, 137), proc.stderr
        killed += 1
        recovered = subprocess.run([sys.executable, "-c", RECOVER.format(root=str(ROOT))], cwd=project_copy,
                                   capture_output=True, text=True, check=False)
        assert recovered.returncode == 0, recovered.stderr
        state = (releases.read_bytes(), tree_bytes(charts))
        assert state in (old, new), f"a kill at write #{n} of {total} left releases.yaml and charts/ mixed"
        assert sorted(os.listdir(charts)) == ["dev", "prod"], f"#{n}: {os.listdir(charts)}"
        assert sorted(os.listdir(releases.parent)) == ["config.py", "releases.yaml"], f"#{n}"
        if state == new or command == "release-set":  # a synth killed early leaves the old charts of a changed config
            assert run_cli("synth", "--check", cwd=project_copy).returncode == 0
    assert killed >= 8


# ---------------------------------------------------------------------------- defect 15: bytes that are not UTF-8


@pytest.mark.parametrize("damaged", [".tripgen-files", "trip-service/templates/rollout.yaml"])
def test_a_record_or_chart_file_that_is_not_utf8_is_exit_2_naming_it(project_copy, damaged):
    path = project_copy / "charts" / "prod" / damaged
    assert path.is_file()
    path.write_bytes(path.read_bytes() + b"\xff\xfe\n")
    (project_copy / "charts" / "prod" / "logo.png").write_bytes(b"\x89PNG\xff")  # not ours: never read, no error
    before = tree_bytes(project_copy / "charts")
    for command in (["synth"], ["synth", "--check"], ["diff"], ["validate"]):
        proc = run_cli(*command, "--env", "prod", cwd=project_copy)
        _one_line_exit_2(proc, f"charts/prod/{damaged}: not UTF-8 text")
        assert tree_bytes(project_copy / "charts") == before, command


# ---------------------------------------------------------------------------- defect 17: a full disk


def _small_tmpfs(where: Path, size: str) -> None:
    where.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill (needs root): {proc.stderr.strip()}")


@pytest.mark.parametrize("free_pages", [0, 6], ids=["full", "nearly-full"])
def test_a_full_disk_is_exit_2_naming_the_file_and_the_old_charts_stay(project_copy, tmp_path, free_pages):
    disk = tmp_path / "disk"
    _small_tmpfs(disk, "8m")
    try:
        out = disk / "charts"
        shutil.copytree(project_copy / "charts", out)
        cfg = project_copy / "overlays" / "prod" / "config.py"
        cfg.write_text(cfg.read_text().replace("max_replicas=15", "max_replicas=14"))
        with open(disk / "filler", "wb", buffering=0) as filler:  # fill the disk, then free what the case leaves
            with contextlib.suppress(OSError):
                while True:
                    filler.write(b"\0" * 4096)
        os.truncate(disk / "filler", max(0, os.stat(disk / "filler").st_size - free_pages * 4096))
        before = tree_bytes(out)
        proc = run_cli("synth", "--out", str(out), cwd=project_copy)
        _one_line_exit_2(proc, "No space left on device", str(out) + "/")
        assert tree_bytes(out) == before
        assert sorted(os.listdir(out)) == ["dev", "prod"]  # no staging directory, no intent record left
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
