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
