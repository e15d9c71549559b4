"""The human-facing documents, rendered from the jinja2 templates shipped in ``templates/``.

``chart-readme.md.j2`` (a chart's README with its parameter table), ``notes.txt.j2`` (the chart's
NOTES.txt) and ``diff.md.j2`` (the pull-request comment of ``tripgen diff --against REF --format
markdown``); ``_macros.j2`` holds shared macros.  An app layer renders its own templates with
``package=`` (its package's ``templates/`` first, then these).  The callers compute
the data; the templates own the wording and the layout.  Rendering is deterministic.
"""

from __future__ import annotations

import functools
from typing import Any

import jinja2

TEMPLATES = ("chart-readme.md.j2", "notes.txt.j2", "diff.md.j2")


def md_cell(value: object) -> str:
    """A Markdown table cell: pipes escaped, newlines folded."""
    return str(value).replace("|", "\\|").replace("\n", " ")


@functools.cache
def environment(package: str = __package__ or "tripgen_cdk8s.lib") -> jinja2.Environment:
    """The jinja2 environment of ``package``'s templates, then this package's (strict: an
    undefined name is an error)."""
    loaders = [jinja2.PackageLoader(package, "templates")]
    if package != __package__:
        loaders.append(jinja2.PackageLoader(__package__ or "tripgen_cdk8s.lib", "templates"))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["cell"] = md_cell
    return env


def render(template: str, *, package: str | None = None, **context: Any) -> str:
    """Render ``template`` (one of :data:`TEMPLATES`, or one of ``package``'s) with ``context``."""
    env = environment(package) if package else environment()
    return env.get_template(template).render(**context)
