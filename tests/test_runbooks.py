"""docs/runbooks.md is generated from the alert definitions and tripgen_cdk8s/tripgen/runbooks.py
(scripts/gen-runbooks.py): up to date, and every runbook_url in the rendered charts resolves to one of
its anchors."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from conftest import objects
from tripgen_cdk8s.lib.constructs.monitoring import Alert
from tripgen_cdk8s.tripgen import runbooks

ROOT = Path(__file__).resolve().parent.parent
RUNBOOKS_MD = ROOT / "docs" / "runbooks.md"


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_runbooks", ROOT / "scripts" / "gen-runbooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def anchors(markdown: str) -> set[str]:
    """The fragments a link into the page can name: explicit ids and GitHub's heading slugs."""
    ids = set(re.findall(r'<a id="([^"]+)"></a>', markdown))
    for heading in re.findall(r"^#{1,6} (.+)$", markdown, flags=re.MULTILINE):
        ids.add(re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-"))
    return ids


def rendered_runbook_urls() -> list[str]:
    """Every runbook_url annotation in the charts on disk (TripGen and the examples)."""
    urls = []
    for template in [*ROOT.glob("charts/*/*/templates/*.yaml"), *ROOT.glob("examples/*/charts/*/*/templates/*.yaml")]:
        urls += re.findall(r"^\s*runbook_url:\s*(\S+)\s*$", template.read_text(), flags=re.MULTILINE)
    return urls


def test_runbooks_page_is_up_to_date():
    assert RUNBOOKS_MD.read_text() == _generator().generate(), \
        "docs/runbooks.md is stale: run .venv/bin/python scripts/gen-runbooks.py"


def test_every_runbook_url_in_the_charts_resolves_to_an_anchor():
    urls = rendered_runbook_urls()
    assert len(urls) >= 5, urls  # prod's five alerts at least
    page = anchors(RUNBOOKS_MD.read_text())
    for url in urls:
        path, _, fragment = url.partition("#")
        assert path.endswith("/docs/runbooks.md"), url
        assert fragment and fragment in page, f"{url}: no anchor #{fragment} in docs/runbooks.md"


def alert_names() -> list[str]:
    """The alerts of prod's synthesised PrometheusRules."""
    return [r["alert"] for rule in objects("prod", "PrometheusRule") for g in rule["spec"]["groups"]
            for r in g["rules"] if "alert" in r]


def test_every_alert_of_the_rendered_prometheus_rule_has_a_runbook_section():
    names = alert_names()
    assert names and set(names) <= set(runbooks.RUNBOOKS)
    text = RUNBOOKS_MD.read_text()
    for name in names:
        assert f"## {name}\n" in text, name


def test_no_runbook_without_an_alert():
    assert set(runbooks.RUNBOOKS) == set(alert_names())


def test_an_alert_without_a_runbook_is_refused_by_name():
    with pytest.raises(KeyError, match="NewAlert"):
        runbooks.render([Alert("NewAlert", "up == 0", "5m", "warning", "down")])


def test_the_anchor_is_the_runbook_url_fragment():
    from tripgen_cdk8s.lib.constructs.monitoring import runbook_url
    alert = Alert("TripGenHighCPU", "x", "1m", "warning", "s")
    assert runbook_url("https://x/docs/runbooks.md", alert) == f"https://x/docs/runbooks.md#{runbooks.anchor(alert)}"
    assert f'<a id="{runbooks.anchor(alert)}"></a>' in RUNBOOKS_MD.read_text()
