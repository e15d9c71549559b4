"""docs/guide.md's sample project is real: the code block marked ``guide-sample`` is written into an empty
project in a temporary directory, and ``tripgen synth`` then ``tripgen validate`` pass on it."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import ROOT, run_cli

GUIDE = ROOT / "docs" / "guide.md"


def guide_sample() -> tuple[str, str]:
    """(the path the guide names, the code) of the marked sample."""
    found = re.findall(r"<!-- guide-sample: (\S+) -->\n```python\n(.*?)```\n", GUIDE.read_text(), flags=re.DOTALL)
    assert len(found) == 1, "docs/guide.md must mark exactly one ```python block with <!-- guide-sample: PATH -->"
    return found[0]


def test_the_guide_sample_synthesises_and_passes_validate(tmp_path: Path):
    path, code = guide_sample()
    assert path == "overlays/prod/config.py"
    project = tmp_path / "shop"
    (project / path).parent.mkdir(parents=True)
    (project / path).write_text(code)
    synth = run_cli("synth", cwd=project)
    assert synth.returncode == 0, synth.stderr
    assert (project / "charts" / "prod" / "catalog" / "Chart.yaml").is_file()
    validate = run_cli("validate", cwd=project)
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert "FAIL" not in validate.stdout
    assert re.search(r"^(\d+) of \1 checks passed$", validate.stdout, flags=re.MULTILINE), validate.stdout
