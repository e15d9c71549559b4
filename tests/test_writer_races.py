"""The commands that write (synth, release set/promote, and diff reading what they wrote) against
hostile files planted in the project and against each other (issue 21): nothing is renamed,
overwritten or shown outside what the tool owns, concurrent writers queue under one lock with their
inputs read under it, and a `release set` killed at any file-system call leaves releases.yaml and
charts/ both old, or both new once the next run recovered."""

from __future__ import annotations

import os
import resource
import shutil
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
    for named in (str(ssh), "../../x"):
        staging = _plant_staging(project_copy / "charts", named)
        proc = run_cli(*command, cwd=project_copy)
        assert proc.returncode == 0, proc.stderr
        assert not ssh.exists() and not (tmp_path / "x").exists() and not (project_copy / "x").exists()
        assert (staging / "old" / "authorized_keys").read_text() == "ssh-ed25519 AAAA attacker\n"
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


def _finish(procs: list[subprocess.Popen[str]]) -> list[tuple[int, str]]:
    return [(p.wait(timeout=180), (p.stdout.read() if p.stdout else "") + (p.stderr.read() if p.stderr else ""))
            for p in procs]


def test_two_release_sets_at_once_both_land(project_copy):
    procs = [_popen(project_copy, "release", "set", service, "--env", "prod", "--tag", tag)
             for service, tag in (("trip-service", "v7.0.0"), ("user-service", "v8.0.0"))]
    results = _finish(procs)
    assert [rc for rc, _ in results] == [0, 0], results
    text = (project_copy / RELEASES).read_text()
    assert "tag: v7.0.0" in text and "tag: v8.0.0" in text  # neither release lost
    assert run_cli("synth", "--check", cwd=project_copy).returncode == 0


def test_synth_racing_release_set_never_writes_stale_charts(project_copy):
    for attempt in range(3):
        procs = [_popen(project_copy, "release", "set", "trip-service", "--env", "prod", "--tag", f"v9.0.{attempt}")]
        time.sleep(0.3 * attempt)
        procs.append(_popen(project_copy, "synth"))
        results = _finish(procs)
        assert [rc for rc, _ in results] == [0, 0], results
        proc = run_cli("synth", "--check", cwd=project_copy)
        assert proc.returncode == 0, f"attempt {attempt}: {proc.stderr}"


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
WRITES = "rename,renameat,renameat2,unlink,unlinkat,rmdir,link,linkat,mkdir,mkdirat"


def _strace() -> str:
    path = shutil.which("strace")
    if path is None:
        pytest.fail("strace is required (scripts/setup.sh test installs it from Debian)")
    return path


@pytest.mark.parametrize("fallback", [False, True], ids=["rename-exchange", "two-renames-fallback"])
def test_sigkill_at_any_write_of_release_set_leaves_releases_and_charts_both_old_or_both_new(project_copy, fallback):
    strace = _strace()
    charts, releases = project_copy / "charts", project_copy / RELEASES
    pristine = project_copy.parent / "pristine"
    shutil.copytree(project_copy, pristine)
    old = (releases.read_bytes(), tree_bytes(charts))
    hook = "import tripgen_cdk8s.lib.writer as w; w.exchange = lambda a, b: False; " if fallback else ""
    script = f"import sys; sys.path.insert(0, {str(ROOT)!r}); {hook}from tripgen_cdk8s.cli import main; " \
             "sys.argv = ['tripgen', 'release', 'set', 'trip-service', '--env', 'prod', '--tag', 'v1.2.1']; main()"
    trace = project_copy.parent / "trace.txt"
    proc = subprocess.run([strace, "-o", str(trace), "-e", f"trace={WRITES}", sys.executable, "-c", script],
                          cwd=project_copy, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    new = (releases.read_bytes(), tree_bytes(charts))
    assert new[0] != old[0] and new[1] != old[1]
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
        assert run_cli("synth", "--check", cwd=project_copy).returncode == 0
    assert killed >= 8
