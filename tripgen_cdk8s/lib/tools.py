"""Where the tools the project installs itself live (helm, checkov, mermaid-cli)."""

from __future__ import annotations

from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def tool_base(root: Path, rel: str) -> Path | None:
    """The directory holding ``rel`` (``.tools/bin/helm``, ``.venv-checkov/bin/checkov``, ...):
    the working directory first, then the checkout this package runs from."""
    for base in (root, PROJECT):
        if (base / rel).is_file():
            return base
    return None


def tool_path(root: Path, rel: str) -> Path | None:
    """The installed tool ``rel``, or None."""
    base = tool_base(root, rel)
    return base / rel if base else None
