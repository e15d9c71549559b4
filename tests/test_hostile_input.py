"""Issue 21, input and `diff --against`: what a hostile or careless config, releases file or git
revision can do is one line and exit 2 (or a correct diff), never a hang, a traceback or lost files.
Each test names the numbered defect of the adversarial trial it covers."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ROOT, run_cli, tree_bytes

RELEASES = Path("overlays") / "prod" / "releases.yaml"
CONFIG = Path("overlays") / "prod" / "config.py"


def one_line_exit_2(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


def test_9_a_yaml_alias_bomb_in_releases_is_refused_before_it_expands(project_copy):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8))
    assert len(bomb) < 800
    (project_copy / RELEASES).write_text(bomb + "services: {}\n")
    before = tree_bytes(project_copy / "charts")
    start = time.monotonic()
    proc = run_cli("synth", "--env", "prod", cwd=project_copy)
    assert time.monotonic() - start < 30
    one_line_exit_2(proc, "overlays/prod/releases.yaml", "anchors and aliases")
    assert tree_bytes(project_copy / "charts") == before


def test_9_megabytes_of_comments_and_deep_nesting_are_refused_quickly(project_copy):
    original = (project_copy / RELEASES).read_text()
    (project_copy / RELEASES).write_text("# x\n" * 700_000 + original)
    start = time.monotonic()
    one_line_exit_2(run_cli("release", "show", "--env", "prod", cwd=project_copy), "releases.yaml", "at most 256 KiB")
    assert time.monotonic() - start < 20
    (project_copy / RELEASES).write_text("services:\n  x: " + "[" * 50_000 + "]" * 50_000 + "\n")
    one_line_exit_2(run_cli("release", "show", "--env", "prod", cwd=project_copy), "releases.yaml")


def test_15_a_releases_file_that_is_not_utf8_is_a_user_error(project_copy):
    (project_copy / RELEASES).write_bytes(b"services:\n  user-service:\n    tag: v1.2.0\xff\n")
    for args in (["synth", "--env", "prod"], ["release", "show", "--env", "prod"],
                 ["release", "set", "user-service", "--env", "prod", "--tag", "v1.2.1"]):
        one_line_exit_2(run_cli(*args, cwd=project_copy), "overlays/prod/releases.yaml", "not UTF-8")


def test_16_a_multi_line_exception_is_one_line(project_copy):
    cfg = project_copy / CONFIG
    cfg.write_text(cfg.read_text() + '\nraise RuntimeError("first line\\nsecond line\\nthird")\n')
    one_line_exit_2(run_cli("synth", "--env", "prod", cwd=project_copy), "first line")


def test_16_sys_exit_in_a_config_does_not_pass_the_checks(project_copy):
    cfg = project_copy / CONFIG
    cfg.write_text("import sys\nsys.exit(0)\n" + cfg.read_text())
    for args in (["synth", "--check"], ["validate", "--env", "prod"]):
        one_line_exit_2(run_cli(*args, cwd=project_copy), "overlays/prod/config.py", "SystemExit(0)")


def test_16_a_config_that_never_returns_is_stopped(project_copy):
    cfg = project_copy / CONFIG
    cfg.write_text("while True:\n    pass\n" + cfg.read_text())
    start = time.monotonic()
    proc = run_cli("synth", "--env", "prod", cwd=project_copy, env={**os.environ, "TRIPGEN_CONFIG_TIMEOUT": "2"})
    assert time.monotonic() - start < 60
    one_line_exit_2(proc, "overlays/prod/config.py", "still running after 2 s", "TRIPGEN_CONFIG_TIMEOUT")


@pytest.mark.parametrize("value", ["nan", "1e309", "inf", "-1"])
def test_17_a_lock_timeout_that_would_wait_forever_is_refused(project_copy, value):
    one_line_exit_2(run_cli("synth", "--lock-timeout", value, cwd=project_copy), "--lock-timeout")


def _repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["cp", "-r", str(ROOT / "overlays"), str(ROOT / "charts"), str(root)], check=True)
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e",
           "HOME": str(root), "PATH": "/usr/bin:/bin"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "base"]):
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=env)
    return root


def _commit(root: Path, message: str) -> None:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e",
           "HOME": str(root), "PATH": "/usr/bin:/bin"}
    for args in (["add", "-A"], ["commit", "-qm", message]):
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=env)


def test_18_a_print_in_a_config_does_not_break_diff_against(tmp_path):
    root = _repo(tmp_path)
    cfg = root / CONFIG
    cfg.write_text('print("hello from the config")\n' + cfg.read_text())
    _commit(root, "a config that prints")
    proc = run_cli("diff", "--against", "HEAD", cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no object differs from HEAD" in proc.stdout
    cfg.write_text(cfg.read_text().replace("max_replicas=15", "max_replicas=12", 1))
    proc = run_cli("diff", "--against", "HEAD", "--env", "prod", cwd=root)
    assert proc.returncode == 1, proc.stderr
    assert "spec.maxReplicas: 15 -> 12" in proc.stdout and "hello from the config" not in proc.stdout


def test_19_a_symlink_out_of_the_tree_in_the_revision_does_not_break_diff_against(tmp_path):
    root = _repo(tmp_path)
    (root / "overlays" / "prod" / "escape").symlink_to("/etc/passwd")
    (root / "docs").mkdir()
    (root / "docs" / "up").symlink_to("../../../..")
    _commit(root, "symlinks out of the tree")
    proc = run_cli("diff", "--against", "HEAD", cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no object differs from HEAD" in proc.stdout
