"""The documentation's links work: every relative link in README.md and docs/*.md names a file or
directory of the repository, and a link to a Markdown heading names one that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# [text](target) and ![alt](target), outside fenced code blocks and inline code
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", flags=re.MULTILINE | re.DOTALL)
CODE = re.compile(r"`[^`\n]*`")


def prose(text: str) -> str:
    return CODE.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"<[^>]+>", "", heading).replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = page.read_text()
    found = set(re.findall(r'<a (?:id|name)="([^"]+)"', text))
    seen: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6} (.+)$", FENCE.sub("", text), flags=re.MULTILINE):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def relative_links(page: Path) -> list[str]:
    return [t for t in LINK.findall(prose(page.read_text())) if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_relative_link_resolves(page: Path):
    broken = []
    for target in relative_links(page):
        path, _, fragment = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no file {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest}")
        elif fragment and dest.suffix == ".md" and fragment not in anchors(dest):
            broken.append(f"{target}: no heading #{fragment} in {dest.relative_to(ROOT)}")
        elif not dest.is_relative_to(ROOT):
            broken.append(f"{target}: outside the repository")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_the_link_checker_sees_links_and_reports_a_broken_one(tmp_path: Path):
    page = tmp_path / "x.md"
    page.write_text("# Top\n\n[a](missing.md) [b](#top) `[c](ignored.md)` [d](https://example.com)\n"
                    "```\n[e](ignored-too.md)\n```\n")
    assert relative_links(page) == ["missing.md", "#top"]
    assert "top" in anchors(page)


def quick_start() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"^## Quick start\n.*?```shell\n(.*?)```", text, flags=re.MULTILINE | re.DOTALL)
    assert block, "README.md has no Quick start shell block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_is_short():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 250
    assert len(text.split()) <= 2500


def test_quick_start_is_two_commands_and_ci_runs_the_test_one():
    synth, test = quick_start()
    assert "main.py synth" in synth and synth.startswith("scripts/setup.sh")
    assert test == "scripts/setup.sh test && .venv/bin/python -m pytest"
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test in ci, ".ci/run must run the README's test command"


def test_readme_promises_no_package_index_install():
    text = (ROOT / "README.md").read_text()
    assert "pip install tripgen-cdk8s" not in text
    assert ".venv/bin/tripgen" in text  # says how to run the command without an active venv
