"""Everyday tasks in a scratch git repository stay green with no manual step (issue 20, acceptance 1).

A copy of the project's committed files is made a git repository (one commit: the base revision).
Then, as a platform engineer would: add a service to prod and dev (config, then ``release set`` for
its first release); change a max replicas (config, then ``synth``); ``release set`` then ``release
promote``.  After each, ``synth --check`` and the whole snapshot test (tests/test_snapshots.py run
against the scratch copy) pass.  A chart whose content changed has a higher version than in the
base revision; a chart whose content did not has the same version; synth again changes nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_SYSTEM": "/dev/null"}


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env={**os.environ, **GIT_ENV},
                          check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def tripgen(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python main.py ...`` of the scratch repository (its own copy of the package)."""
    return subprocess.run([sys.executable, "main.py", *args], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}, check=False)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """The project's tracked files (as they are in the working tree) in a new git repository."""
    dst = tmp_path / "project"
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        src = ROOT / rel
        if src.is_file() and not src.is_symlink():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / rel)
    (dst / ".tools").symlink_to(ROOT / ".tools")  # the pinned helm
    git(dst, "init", "-q", "-b", "main")
    git(dst, "add", "-A", ".", ":!.tools")
    git(dst, "commit", "-q", "-m", "base")
    return dst


def assert_green(repo: Path) -> None:
    """``synth --check`` and the whole snapshot test pass in ``repo``."""
    check = tripgen(repo, "synth", "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    tests = subprocess.run([sys.executable, "-m", "pytest", "-n", "0", "-p", "no:cacheprovider", "-o", "addopts=", "-rs",
                            str(repo / "tests" / "test_snapshots.py")], cwd=repo, capture_output=True, text=True,
                           env={**os.environ, "TRIPGEN_PROJECT": str(repo), "PYTHONDONTWRITEBYTECODE": "1"}, check=False)
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    assert " passed" in tests.stdout and "skipped" in tests.stdout  # the checks of TripGen's own copy only


def versions(repo: Path, env: str, rev: str | None = None) -> dict[str, str]:
    """Each Helm chart's version in charts/<env>/, in the working tree or at git revision ``rev``."""
    out = {}
    for chart_yaml in sorted((repo / "charts" / env).glob("*/Chart.yaml")) if rev is None else []:
        out[chart_yaml.parent.name] = str(yaml.safe_load(chart_yaml.read_text(encoding="utf-8"))["version"])
    if rev is not None:
        for rel in git(repo, "ls-tree", "--name-only", "-r", rev, f"charts/{env}/").split():
            if rel.endswith("/Chart.yaml") and rel.count("/") == 3:
                out[rel.split("/")[2]] = str(yaml.safe_load(git(repo, "show", f"{rev}:{rel}"))["version"])
    return out


def semver(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.match(r"(\d+)\.(\d+)\.(\d+)", version).groups())  # type: ignore[union-attr]


def changed_charts(repo: Path, env: str) -> set[str]:
    """The charts of ``env`` with a changed file since the base revision (their snapshots included)."""
    names = set()
    for rel in git(repo, "status", "--porcelain", "--untracked-files=all", f"charts/{env}/").splitlines():
        parts = rel[3:].split("/")
        if parts[2] == ".rendered":
            names.add(parts[3].removesuffix(".yaml"))
        elif len(parts) > 3:
            names.add(parts[2])
    return names


def _add_service(config: Path, name: str, block: str) -> None:
    text = config.read_text(encoding="utf-8")
    marker = "    services=(\n"
    assert marker in text
    config.write_text(text.replace(marker, marker + block, 1), encoding="utf-8")


PROD_SERVICE = '''        ServiceConfig(
            name="review-service",
            purpose="trip reviews",
            image=_image("review-service"),
            resources=Resources.sized("100m", "256Mi", "500m", "512Mi"),
            api_prefixes=("/api/v1/reviews",),
            replicas=2,
            scaling=HorizontalScaling(min_replicas=2, max_replicas=4, cpu_utilization=70, memory_utilization=80),
            min_available=1,
            stores=_common_stores("tripgen_review", "review_service"),
            secrets=(JWT,),
            sync_wave=1,
        ),
'''
DEV_SERVICE = '''        ServiceConfig(
            name="review-service", purpose="trip reviews", image=_image("review-service"),
            resources=Resources.sized("50m", "128Mi", "200m", "256Mi"), api_prefixes=("/api/v1/reviews",), replicas=1,
            stores=STORES, secrets=(JWT,), sync_wave=1,
        ),
'''


def test_adding_a_service_to_prod_and_dev(repo):
    for env, block in (("prod", PROD_SERVICE), ("dev", DEV_SERVICE)):
        _add_service(repo / "overlays" / env / "config.py", "review-service", block)
        refused = tripgen(repo, "synth", "--env", env)  # the config asks for a release the file lacks
        assert refused.returncode == 2
        assert f"tripgen release set review-service --env {env} --tag" in refused.stderr, refused.stderr
        done = tripgen(repo, "release", "set", "review-service", "--env", env, "--tag", "v0.1.0")
        assert done.returncode == 0, done.stderr
        assert (repo / "charts" / env / "review-service" / "Chart.yaml").is_file()
        assert (repo / "charts" / env / ".rendered" / "review-service.yaml").is_file()
        assert "review-service:\n    tag: v0.1.0\n" in (repo / "overlays" / env / "releases.yaml").read_text()
        assert_green(repo)
    typo = tripgen(repo, "release", "set", "review-servce", "--env", "prod", "--tag", "v0.1.1")
    assert typo.returncode == 2 and "did you mean review-service?" in typo.stderr, typo.stderr


def test_changing_a_max_replicas_moves_only_that_charts_version(repo):
    config = repo / "overlays" / "prod" / "config.py"
    text = config.read_text(encoding="utf-8")
    match = re.search(r"max_replicas=(\d+)", text)
    assert match is not None
    config.write_text(text[:match.start(1)] + str(int(match[1]) + 1) + text[match.end(1):], encoding="utf-8")
    stale = tripgen(repo, "synth", "--check")
    assert stale.returncode == 1 and "charts/prod/.rendered/" in stale.stderr, stale.stderr  # CI fails until synth
    done = tripgen(repo, "synth")
    assert done.returncode == 0, done.stderr
    assert_green(repo)
    changed = changed_charts(repo, "prod")
    assert len(changed) == 1, changed
    [chart] = changed
    assert f"wrote charts/prod/{chart} (" in done.stdout
    assert f"+  maxReplicas: {int(match[1]) + 1}" in git(repo, "diff", f"charts/prod/.rendered/{chart}.yaml")
    base, now = versions(repo, "prod", "HEAD"), versions(repo, "prod")
    assert semver(now[chart]) > semver(base[chart])  # content changed: a higher version
    assert {c: v for c, v in now.items() if c != chart} == {c: v for c, v in base.items() if c != chart}
    assert versions(repo, "dev") == versions(repo, "dev", "HEAD")  # nothing of dev changed
    again = tripgen(repo, "synth")
    assert again.returncode == 0 and versions(repo, "prod") == now and "wrote" not in again.stdout
    # the pods do not restart for the version: no pod template holds it
    assert f"helm.sh/chart: {chart}-{now[chart]}" in (repo / "charts" / "prod" / ".rendered" / f"{chart}.yaml").read_text()
    git(repo, "add", "-A", ".", ":!.tools")
    git(repo, "commit", "-q", "-m", "max replicas")
    assert tripgen(repo, "synth").returncode == 0
    assert git(repo, "status", "--porcelain", "charts/") == ""  # unchanged content: the same version, no file


def test_release_set_then_promote(repo):
    dev_releases = yaml.safe_load((repo / "overlays" / "dev" / "releases.yaml").read_text(encoding="utf-8"))
    service = next(iter(dev_releases["services"]))
    done = tripgen(repo, "release", "set", service, "--env", "dev", "--tag", "v9.9.9")
    assert done.returncode == 0, done.stderr
    assert_green(repo)
    assert changed_charts(repo, "dev") == {service}
    wrote = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("wrote charts/")]
    assert wrote == [f"charts/dev/{service}"], done.stdout  # the others: unchanged
    assert semver(versions(repo, "dev")[service]) > semver(versions(repo, "dev", "HEAD")[service])
    promoted = tripgen(repo, "release", "promote", service, "--from", "dev", "--to", "prod")
    assert promoted.returncode == 0, promoted.stderr
    assert_green(repo)
    assert changed_charts(repo, "prod") == {service}
    assert "v9.9.9" in (repo / "charts" / "prod" / ".rendered" / f"{service}.yaml").read_text()
    assert semver(versions(repo, "prod")[service]) > semver(versions(repo, "prod", "HEAD")[service])
