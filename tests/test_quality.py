"""The code itself: ruff-clean, and the library type-checks with mypy --strict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import ROOT

BIN = Path(sys.executable).parent


def test_ruff_reports_nothing():
    proc = subprocess.run([str(BIN / "ruff"), "check", "tripgen_cdk8s", "tests", "overlays", "bench", "main.py"],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_library_type_checks_with_mypy_strict():
    proc = subprocess.run([sys.executable, "-m", "mypy", "--strict", "tripgen_cdk8s"], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _lint_imports(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "PYTHONPATH": str(pythonpath)} if pythonpath else None
    return subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache"], cwd=cwd,
                          capture_output=True, text=True, check=False, env=env)


def test_the_layers_hold_lint_imports_passes():
    proc = _lint_imports(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Contracts: 6 kept, 0 broken." in proc.stdout
    assert "tripgen_cdk8s.lib) knows nothing of the application model," in proc.stdout
    assert "The application model and the commands never import an app layer" in proc.stdout


def test_the_contract_breaks_when_the_command_line_imports_tripgen(tmp_path):
    """Issue 18: no command branches on a TripGen type; the CLI importing the TripGen layer is refused."""
    import shutil

    shutil.copytree(ROOT / "tripgen_cdk8s", tmp_path / "src" / "tripgen_cdk8s",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    cli = tmp_path / "src" / "tripgen_cdk8s" / "cli.py"
    cli.write_text(cli.read_text() + "\nfrom .tripgen.config import Environment  # noqa: E402,F401\n")
    proc = _lint_imports(tmp_path, tmp_path / "src")
    assert proc.returncode == 1, proc.stdout
    assert "BROKEN" in proc.stdout and "tripgen_cdk8s.cli -> tripgen_cdk8s.tripgen.config" in proc.stdout


def test_the_layer_contract_breaks_when_the_generic_layer_imports_tripgen(tmp_path):
    import shutil

    shutil.copytree(ROOT / "tripgen_cdk8s", tmp_path / "src" / "tripgen_cdk8s",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    labels = tmp_path / "src" / "tripgen_cdk8s" / "lib" / "labels.py"
    labels.write_text(labels.read_text() + "\nfrom ..tripgen import config  # noqa: E402,F401\n")
    proc = _lint_imports(tmp_path, tmp_path / "src")
    assert proc.returncode == 1, proc.stdout
    assert "BROKEN" in proc.stdout and "tripgen_cdk8s.lib.labels -> tripgen_cdk8s.tripgen.config" in proc.stdout


def test_the_public_api_is_exported_from_the_package_root_with_docstrings():
    import tripgen_cdk8s

    assert set(tripgen_cdk8s.__all__) == set(tripgen_cdk8s._EXPORTS)
    undocumented = [name for name in tripgen_cdk8s.__all__ if not (getattr(tripgen_cdk8s, name).__doc__ or "").strip()]
    assert undocumented == []
    assert {"MicroService", "AutoscaledService", "ZoneSpreadPolicy", "PrivateEndpointSecret", "HelmChart",
            "Project"} <= set(tripgen_cdk8s.__all__)
    for name in tripgen_cdk8s.__all__:  # the generic layers only: nothing from the TripGen layer
        assert getattr(tripgen_cdk8s, name).__module__.startswith(("tripgen_cdk8s.lib", "tripgen_cdk8s.app")), name
