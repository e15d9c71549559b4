"""The human-facing documents, rendered from the jinja2 templates shipped in ``templates/``.

``chart-readme.md.j2`` (a chart's README with its parameter table), ``notes.txt.j2`` (the chart's
NOTES.txt), ``environment-readme.md.j2`` (``charts/<env>/README.md``) and ``diff.md.j2`` (the
pull-request comment of ``tripgen diff --against REF --format markdown``).  The callers compute
the data; the templates own the wording and the layout.  Rendering is deterministic.
"""

from __future__ import annotations

import functools
from typing import Any

import jinja2

TEMPLATES = ("chart-readme.md.j2", "notes.txt.j2", "environment-readme.md.j2", "diff.md.j2")


def md_cell(value: object) -> str:
    """A Markdown table cell: pipes escaped, newlines folded."""
    return str(value).replace("|", "\\|").replace("\n", " ")


@functools.cache
def environment() -> jinja2.Environment:
    """The jinja2 environment of the package's templates (strict: an undefined name is an error)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("tripgen_cdk8s", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["cell"] = md_cell
    return env


def render(template: str, **context: Any) -> str:
    """Render one of :data:`TEMPLATES` with ``context``."""
    return environment().get_template(template).render(**context)
