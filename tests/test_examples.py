"""Issue 18, acceptance 1: every example goes through the same commands and code paths as TripGen,
from a non-editable install in a temporary venv outside the checkout, with the TripGen layer made
unimportable in the command's process (``sys.modules["tripgen_cdk8s.tripgen"] = None``): ``synth``,
``--check``, ``validate`` (guardrails and default deny included), ``--set``, ``release
set/promote/show``, ``diff --against``, ``graph``.  Each example runs in a scratch git repository.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from test_bookstore import _run, installed  # noqa: F401  (the module-scoped venv fixture)

from conftest import HELM, ROOT, tree_bytes

WITHOUT_TRIPGEN = (
    "import sys; sys.modules['tripgen_cdk8s.tripgen'] = None\n"
    "from tripgen_cdk8s.cli import main\n"
    "sys.argv = ['tripgen', *sys.argv[1:]]\n"
    "main()\n"
)

# example -> (an environment, a chart with a replica or scaling key to --set, a service in its
# releases file, a second environment to promote to or None)
EXAMPLES = {
    "bookstore": ("prod", "catalog.autoscaling.maxReplicas=9", "orders", None),
}


def tripgen(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed package's command line, with the TripGen layer unimportable."""
    checkov = ROOT / ".venv-checkov" / "bin" / "checkov"
    return _run([str(bin_dir / "python"), "-c", WITHOUT_TRIPGEN, *args], cwd, TRIPGEN_HELM=str(HELM),
                TRIPGEN_CHECKOV=str(checkov))


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=cwd, check=True,
                   capture_output=True)


@pytest.fixture(params=sorted(EXAMPLES))
def example(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path]:
    """A scratch git repository holding a copy of the example (with its committed charts)."""
    name = request.param
    copy = tmp_path / name
    shutil.copytree(ROOT / "examples" / name, copy, ignore=shutil.ignore_patterns("__pycache__"))
    git(copy, "init", "-q", "-b", "main")
    git(copy, "add", "-A")
    git(copy, "commit", "-qm", "example")
    return name, copy


def test_the_tripgen_layer_is_really_unimportable(installed):  # noqa: F811
    proc = _run([str(installed / "python"), "-c", WITHOUT_TRIPGEN.replace(
        "from tripgen_cdk8s.cli import main", "import tripgen_cdk8s.tripgen.config")], ROOT)
    assert proc.returncode != 0 and "ModuleNotFoundError" in proc.stderr, proc.stderr


def test_every_command_for_every_example(installed, example):  # noqa: F811
    name, root = example
    env, assignment, service, second = EXAMPLES[name]
    committed = tree_bytes(root / "charts")

    # synth writes exactly the committed charts; --check agrees
    proc = tripgen(installed, root, "synth")
    assert proc.returncode == 0, proc.stderr
    assert tree_bytes(root / "charts") == committed
    assert tripgen(installed, root, "synth", "--check").returncode == 0

    # validate: guardrails, default deny, helm, schemas, checkov
    proc = tripgen(installed, root, "validate", "--env", env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"ok   {env}: guardrails (" in proc.stdout
    assert f"ok   {env}: every pod is selected by a NetworkPolicy and the default deny" in proc.stdout

    # graph, without --env
    proc = tripgen(installed, root, "graph")
    assert proc.returncode == 0 and proc.stdout.startswith("flowchart LR"), proc.stderr

    # --set with the chart's own key
    chart, rest = assignment.split(".", 1)
    key, value = rest.rsplit("=", 1)
    proc = tripgen(installed, root, "synth", "--env", env, "--set", assignment)
    assert proc.returncode == 0, proc.stderr
    values = yaml.safe_load((root / "charts" / env / chart / "values.yaml").read_text())
    node = values
    for part in key.split("."):
        node = node[part]
    assert str(node) == value
    assert tripgen(installed, root, "synth", "--check").returncode == 1
    assert tripgen(installed, root, "synth").returncode == 0

    # release set / show, then diff --against the committed revision names the changed image
    proc = tripgen(installed, root, "release", "set", service, "--env", env, "--tag", "9.9.9",
                   "--digest", "sha256:" + "9" * 64)
    assert proc.returncode == 0, proc.stderr
    assert tripgen(installed, root, "synth", "--check").returncode == 0
    proc = tripgen(installed, root, "release", "show", "--env", env)
    assert proc.returncode == 0 and "9.9.9" in proc.stdout and "sha256:" + "9" * 64 in proc.stdout, proc.stdout
    proc = tripgen(installed, root, "diff", "--against", "HEAD")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "9" * 64 in proc.stdout and service in proc.stdout
    if second is not None:
        proc = tripgen(installed, root, "release", "promote", "--from", env, "--to", second, service)
        assert proc.returncode == 0, proc.stderr
        assert "9.9.9" in (root / "overlays" / second / "releases.yaml").read_text()
        assert tripgen(installed, root, "synth", "--check").returncode == 0
    # a guardrail holds for the release pipeline too: exit 2, one line, nothing written
    before = tree_bytes(root / "charts")
    proc = tripgen(installed, root, "release", "set", service, "--env", env, "--tag", "nightly")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "guardrail" in proc.stderr and "Traceback" not in proc.stderr
    assert tree_bytes(root / "charts") == before
