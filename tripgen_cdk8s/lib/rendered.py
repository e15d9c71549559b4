"""The rendered-object snapshots: what the cluster gets from each chart, written beside the charts.

``charts/<env>/.rendered/<chart>.yaml`` holds the objects ``helm template <chart> charts/<env>/<chart>
--namespace <ns>`` renders from the chart as written (the chart's own ``values.yaml``); for a plain
manifest set (``argocd/``), its objects as they are.  The objects are sorted by kind, namespace and
name, one ``---`` document each under a ``# Kind namespace/name`` line, keys sorted; a ConfigMap value
holding a JSON object or list (a Grafana dashboard) is written as a block of indented JSON, so a review
diff shows the panel and field that moved instead of one changed 17 KB line.

``charts/`` holds the templates; these files hold the objects: a reviewer reads what the cluster will
get.  ``synth``, ``release set`` and ``release promote`` write them with the charts (the same atomic
exchange of ``charts/<env>/``), and ``synth --check`` reports them stale like any other file.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from .errors import UsageError
from .helm import dump_yaml

RENDERED_DIR = ".rendered"
"""The directory of ``charts/<env>/`` holding one snapshot per chart."""

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def snapshot_path(chart: str) -> str:
    """The snapshot of ``chart``, relative to ``charts/<env>/``."""
    return f"{RENDERED_DIR}/{chart}.yaml"


def object_key(obj: dict[str, Any]) -> tuple[str, str, str]:
    """(kind, namespace, name): the order of the documents in a snapshot."""
    meta = obj.get("metadata") or {}
    return str(obj["kind"]), str(meta.get("namespace") or ""), str(meta["name"])


def parse_documents(text: str) -> list[dict[str, Any]]:
    """The non-empty YAML documents of ``text``."""
    return [d for d in yaml.load_all(text, Loader=_Loader) if d]


def _readable(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` with each ConfigMap value that holds a JSON object or list re-indented (2 spaces, the
    keys in their order), so it is written as a block of lines."""
    if obj.get("kind") != "ConfigMap" or not isinstance(obj.get("data"), dict):
        return obj
    data = {}
    for key, value in obj["data"].items():
        if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
            try:
                value = json.dumps(json.loads(value), indent=2, ensure_ascii=False) + "\n"
            except ValueError:
                pass
        data[key] = value
    return {**obj, "data": data}


def snapshot_text(header: str, objects: Iterable[dict[str, Any]]) -> str:
    """A snapshot's text: the ``# header`` line, then one document per object sorted by
    kind/namespace/name, each under a ``# Kind namespace/name`` line, keys sorted."""
    parts = [f"# {header}\n"]
    for obj in sorted(objects, key=object_key):
        kind, namespace, name = object_key(obj)
        parts.append(f"---\n# {kind} {namespace + '/' if namespace else ''}{name}\n")
        parts.append(dump_yaml(_readable(obj)))
    return "".join(parts)


def helm_command(helm: str, chart: str, chart_dir: str, namespace: str) -> list[str]:
    """The ``helm template`` command that renders one chart as its snapshot shows it."""
    return [helm, "template", chart, chart_dir, "--namespace", namespace]


def header(env: str, chart: str, namespace: str | None, count: int) -> str:
    """The first line of a snapshot: what it holds and how to get it again."""
    how = (f"helm template {chart} charts/{env}/{chart} --namespace {namespace}" if namespace is not None
           else f"the plain manifests of charts/{env}/{chart}")
    return f"{count} objects of charts/{env}/{chart}, as the cluster gets them: {how}"


def render_environment(helm: str | None, env: str, files: dict[str, str], charts: Iterable[Any]) -> dict[str, str]:
    """The snapshot of every chart of one environment, by path relative to ``charts/<env>/``.

    ``files`` is what ``charts/<env>/`` will hold; ``charts`` the synthesised charts (``name``,
    ``namespace``, ``is_helm``).  The Helm charts are written to a temporary directory and rendered
    with ``helm`` (run in parallel); a missing helm or a chart helm refuses is a :class:`UsageError`."""
    charts = list(charts)
    out: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="tripgen-render-") as tmp:
        base = Path(tmp)
        helm_charts = [c for c in charts if c.is_helm]
        if helm_charts:
            if helm is None:
                from .validation import HELM_MISSING

                raise UsageError(f"the rendered-object snapshots need helm: {HELM_MISSING}")
            for rel, text in files.items():
                path = base / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
        procs = {c.name: subprocess.Popen(helm_command(helm, c.name, str(base / c.name), c.namespace),  # type: ignore[arg-type]
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for c in helm_charts}
        for c in charts:
            if c.is_helm:
                stdout, stderr = procs[c.name].communicate()
                if procs[c.name].returncode != 0:
                    raise UsageError(f"helm template {c.name} (charts/{env}/{c.name}): {stderr.strip()}")
                objects = parse_documents(stdout)
                out[snapshot_path(c.name)] = snapshot_text(header(env, c.name, c.namespace, len(objects)), objects)
            else:
                prefix = f"{c.name}/"
                objects = [o for rel in sorted(files) if rel.startswith(prefix) and rel.endswith(".yaml")
                           for o in parse_documents(files[rel])]
                out[snapshot_path(c.name)] = snapshot_text(header(env, c.name, None, len(objects)), objects)
    return out
