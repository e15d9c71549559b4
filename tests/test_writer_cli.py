"""synth as a user runs it: foreign files survive, bad output locations and a held lock are one line
and exit 2, concurrent writers queue, and SIGKILL at any rename leaves every environment whole."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, run_cli, tree_bytes


def _synth_changed(project: Path) -> None:
    """Edit the prod overlay so that a synth produces a tree different from the committed one."""
    cfg = project / "overlays" / "prod" / "config.py"
    cfg.write_text(cfg.read_text().replace("max_replicas=15", "max_replicas=14"))


def _assert_one_line_exit_2(proc: subprocess.CompletedProcess[str], *named: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "    at " not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    for text in named:
        assert text in proc.stderr, proc.stderr


# ---------------------------------------------------------------------------- the CLI


def test_a_runbook_in_charts_env_survives_synth_and_check(project_copy):
    runbook = project_copy / "charts" / "prod" / "RUNBOOK.md"
    runbook.write_text("# On call\n")
    nested = project_copy / "charts" / "prod" / "trip-service" / "OWNERS"
    nested.write_text("team-trips\n")
    _synth_changed(project_copy)
    proc = run_cli("synth", cwd=project_copy)
    assert proc.returncode == 0, proc.stderr
    assert runbook.read_text() == "# On call\n" and nested.read_text() == "team-trips\n"
    assert run_cli("synth", "--check", cwd=project_copy).returncode == 0


def test_synth_into_out_touches_nothing_it_does_not_own(project_copy, tmp_path):
    out = tmp_path / "out"
    user = {"photos/cat.jpg": b"\xff\xd8cat", ".new-prod/x": b"1", ".old-prod/y": b"2", ".new-abc": b"3",
            ".old-dev": b"4", "notes.txt": b"5"}
    for rel, data in user.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
    proc = run_cli("synth", "--out", str(out), cwd=project_copy)
    assert proc.returncode == 0, proc.stderr
    after = tree_bytes(out)
    for rel, data in user.items():
        assert after[rel] == data
    assert sorted(p.name for p in out.iterdir()) == sorted({".new-abc", ".new-prod", ".old-dev", ".old-prod", "dev",
                                                            "notes.txt", "photos", "prod"})


def test_synth_refuses_an_env_directory_of_unrelated_files(project_copy, tmp_path):
    out = tmp_path / "out"
    (out / "prod").mkdir(parents=True)
    (out / "prod" / "holiday.jpg").write_bytes(b"\xff\xd8")
    before = tree_bytes(out)
    proc = run_cli("synth", "--out", str(out), cwd=project_copy)
    _assert_one_line_exit_2(proc, "prod", "holiday.jpg")
    assert tree_bytes(out) == before
    assert not (out / "dev").exists()  # nothing staged or swapped for any environment


def test_the_project_option_and_a_directory_without_overlays(project_copy, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for args in (["synth"], ["synth", "--check"], ["diff"], ["validate"], ["graph"]):
        proc = run_cli(*args, cwd=elsewhere)
        _assert_one_line_exit_2(proc, "--project", "overlays/")
        proc = run_cli(*args, "--project", str(elsewhere / "missing"), cwd=project_copy)
        _assert_one_line_exit_2(proc, "--project", "missing")
    assert os.listdir(elsewhere) == []
    proc = run_cli("synth", "--check", "--project", str(project_copy), cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    _synth_changed(project_copy)
    proc = run_cli("synth", "--env", "prod", "--project", str(project_copy), cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert "maxReplicas: 14" in (project_copy / "charts" / "prod" / "trip-service" / "values.yaml").read_text()
    assert os.listdir(elsewhere) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="chattr +i needs root (CAP_LINUX_IMMUTABLE); CI runs as root")
def test_a_read_only_out_is_one_line_and_exit_2(project_copy):
    if shutil.which("chattr") is None:
        pytest.fail("chattr (e2fsprogs) is required")
    charts = project_copy / "charts"
    before = tree_bytes(charts)
    _synth_changed(project_copy)
    subprocess.run(["chattr", "+i", str(charts)], check=True)
    try:
        proc = run_cli("synth", cwd=project_copy)
    finally:
        subprocess.run(["chattr", "-i", str(charts)], check=True)
    _assert_one_line_exit_2(proc, "charts", "not permitted")
    assert tree_bytes(charts) == before


def test_an_out_below_a_file_is_one_line_and_exit_2(project_copy, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run_cli("synth", "--out", str(blocker / "charts"), cwd=project_copy)
    _assert_one_line_exit_2(proc, str(blocker))
    assert blocker.read_text() == "x"


def test_a_held_lock_makes_a_second_synth_wait_then_exit_2_naming_the_holder(project_copy):
    charts = project_copy / "charts"
    before = tree_bytes(charts)
    _synth_changed(project_copy)
    fd = os.open(charts, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        started = time.monotonic()
        proc = run_cli("synth", "--lock-timeout", "1", cwd=project_copy)
        waited = time.monotonic() - started
    finally:
        os.close(fd)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    waiting, refused = proc.stderr.splitlines()  # said once when it starts waiting, once when it gives up
    assert waiting.startswith(f"charts: waiting for pid {os.getpid()} (") and waiting.endswith("...")
    assert "another synth is writing" in refused and f"pid {os.getpid()}" in refused
    assert waited >= 1
    assert tree_bytes(charts) == before


def test_two_concurrent_synths_both_succeed_one_after_the_other(project_copy):
    _synth_changed(project_copy)
    cmd = [sys.executable, str(ROOT / "main.py"), "synth"]
    procs = [subprocess.Popen(cmd, cwd=project_copy, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    assert [rc for rc, _ in results] == [0, 0], results
    assert all("Traceback" not in err for _, err in results)
    assert run_cli("synth", "--check", cwd=project_copy).returncode == 0
    assert not [p for p in (project_copy / "charts").iterdir() if p.name.startswith(".")]


# ---------------------------------------------------------------------------- SIGKILL at every rename


def _strace() -> str:
    path = shutil.which("strace")
    if path is None:
        pytest.fail("strace is required (scripts/setup.sh test installs it from Debian)")
    return path


@pytest.mark.parametrize("fallback", [False, True], ids=["rename-exchange", "two-renames-fallback"])
def test_sigkill_at_each_rename_leaves_each_environment_whole_and_the_next_run_cleans_up(project_copy, fallback):
    strace = _strace()
    charts = project_copy / "charts"
    old = {env: tree_bytes(charts / env) for env in ("prod", "dev")}
    pristine = project_copy.parent / "pristine"
    shutil.copytree(charts, pristine)
    _synth_changed(project_copy)
    assert run_cli("synth", cwd=project_copy).returncode == 0
    new = {env: tree_bytes(charts / env) for env in ("prod", "dev")}
    assert new["prod"] != old["prod"]
    python = sys.executable  # the venv interpreter (a symlink to the binary, not a shell wrapper)
    hook = "import tripgen_cdk8s.lib.writer as w; w.exchange = lambda a, b: False; " if fallback else ""
    script = f"import sys; sys.path.insert(0, {str(ROOT)!r}); {hook}from tripgen_cdk8s.cli import main; " \
             "sys.argv = ['tripgen', 'synth']; main()"
    killed = 0
    for n in range(1, 50):
        shutil.rmtree(charts)
        shutil.copytree(pristine, charts)
        proc = subprocess.run([strace, "-o", os.devnull, "-e", "trace=rename,renameat,renameat2",
                               "-e", f"inject=rename,renameat,renameat2:signal=KILL:when={n}", python, "-c", script],
                              cwd=project_copy, capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            break
        assert proc.returncode in (-9, 137), proc.stderr
        killed += 1
        for env in ("prod", "dev"):
            if fallback and not (charts / env).exists():
                continue  # the fallback's documented window: the next run moves the old tree back
            assert tree_bytes(charts / env) in (old[env], new[env]), f"{env} is neither tree after a kill at rename #{n}"
        proc = run_cli("synth", cwd=project_copy)
        assert proc.returncode == 0, proc.stderr
        assert {env: tree_bytes(charts / env) for env in ("prod", "dev")} == new
        assert [p.name for p in charts.iterdir()] and not [p for p in charts.iterdir() if p.name.startswith(".")]
    assert killed >= 2  # at least one swap per environment was interrupted
