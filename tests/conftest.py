"""Shared fixtures: the synthesised environments (built once per session) and the real tools."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
HELM = ROOT / ".tools" / "bin" / "helm"
sys.path.insert(0, str(ROOT))

from tripgen_cdk8s.app import loader, pipeline  # noqa: E402
from tripgen_cdk8s.app.pipeline import EnvironmentSynthesis  # noqa: E402
from tripgen_cdk8s.lib.validation import CRD_DIR  # noqa: E402
from tripgen_cdk8s.tripgen import overlays  # noqa: E402

CRDS = CRD_DIR  # the CRDs vendored with the package

ENVIRONMENTS = overlays.available(ROOT)


@cache
def synthesis(env: str) -> EnvironmentSynthesis:
    """The synthesised environment from its committed overlay (cached per session), through the
    application model's pipeline as every command runs it."""
    return pipeline.synthesize(loader.load(ROOT, env), ROOT)


@cache
def generated_files(env: str) -> dict[str, str]:
    """Every file the generator writes for ``env``, by path relative to charts/<env>/."""
    return pipeline.files(synthesis(env))


def objects(env: str, kind: str | None = None) -> list[dict]:
    """All synthesised objects of ``env`` (optionally of one kind)."""
    return [o for c in synthesis(env).charts for o in c.objects if kind is None or o["kind"] == kind]


def find(env: str, kind: str, name: str) -> dict:
    """The one synthesised object of ``kind`` called ``name``."""
    found = [o for o in objects(env, kind) if o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: found {len(found)}"
    return found[0]


@pytest.fixture(scope="session")
def helm() -> str:
    """The real helm binary the project installs (scripts/install-helm.sh); missing is a failure."""
    assert HELM.is_file(), f"{HELM} missing: run scripts/install-helm.sh"
    return str(HELM)


def run_helm(helm: str, *args: str) -> str:
    """Run helm and return stdout; a non-zero exit fails the test with helm's stderr."""
    proc = subprocess.run([helm, *args], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"helm {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def parse_all(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d]


def run_cli(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python main.py ...` as a user would, in ``cwd``."""
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, check=False)


@pytest.fixture()
def project_copy(tmp_path: Path) -> Path:
    """A scratch copy of the project (overlays + committed charts) for CLI tests that write."""
    dst = tmp_path / "project"
    dst.mkdir()
    shutil.copytree(ROOT / "overlays", dst / "overlays")
    shutil.copytree(ROOT / "charts", dst / "charts")
    return dst


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes, for byte-identical comparisons."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


