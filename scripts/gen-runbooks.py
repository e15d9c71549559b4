#!/usr/bin/env python3
"""Write docs/runbooks.md from the alert definitions (tripgen_cdk8s/tripgen/observability.py) and the
runbook text (tripgen_cdk8s/tripgen/runbooks.py), for the prod overlay's alerts.

    .venv/bin/python scripts/gen-runbooks.py           # write docs/runbooks.md
    .venv/bin/python scripts/gen-runbooks.py --check   # exit 1 when docs/runbooks.md is stale
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "runbooks.md"


def generate() -> str:
    sys.path.insert(0, str(ROOT))
    from tripgen_cdk8s.tripgen import overlays
    from tripgen_cdk8s.tripgen.observability import alerts
    from tripgen_cdk8s.tripgen.runbooks import render

    return render(alerts(overlays.load(ROOT, "prod")))


def main(argv: list[str]) -> int:
    text = generate()
    if "--check" in argv:
        if not TARGET.is_file() or TARGET.read_text() != text:
            print(f"{TARGET.relative_to(ROOT)} is stale: run scripts/gen-runbooks.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
