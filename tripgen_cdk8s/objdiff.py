"""Object-level diff between a git revision's config and the working tree's (``tripgen diff --against``).

The revision's project is exported with ``git archive`` into a temporary directory (the working
tree, the index and the refs are never touched) and both trees are synthesised the same way, each
in a child process that imports the tree's own ``tripgen_cdk8s`` when it has one (so a change to
the library shows up as well as a change to an overlay) and the installed package otherwise.
Objects are matched by environment, kind, namespace and name; the structural diff of a matched
pair is deepdiff's, reported as field paths with their old and new values.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepdiff import DeepDiff

from .lib.errors import UsageError

#: Markdown bodies stay below GitHub's 65,536-character comment limit.
MARKDOWN_BUDGET = 60_000

_SYNTH_SCRIPT = r"""
import json, os, sys
from pathlib import Path
root = Path(sys.argv[1])
sys.path.insert(0, str(root))
# stdout carries the JSON only: whatever the configs print goes to stderr
result = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
sys.stdout = sys.stderr
try:
    from tripgen_cdk8s.lib.errors import ConfigError
    from tripgen_cdk8s.app import loader as overlays, pipeline
    def objects(env):
        return [o for c in pipeline.synthesize(overlays.load(root, env), root).charts for o in c.objects]
except ImportError:  # a revision from before the application model
    try:
        from tripgen_cdk8s.lib.errors import ConfigError
        from tripgen_cdk8s.tripgen import overlays
    except ImportError:  # a revision from before the two layers
        from tripgen_cdk8s import overlays
        from tripgen_cdk8s.errors import ConfigError
        from tripgen_cdk8s.app import synthesize as _synthesize
        overlays.synthesize = _synthesize
    def objects(env):
        return [o for c in overlays.synthesize(overlays.load(root, env)).charts for o in c.objects]
out = {}
try:
    available = overlays.available(root)
    for env in sys.argv[2:]:
        out[env] = objects(env) if env in available else []
except ConfigError as err:
    print(str(err), file=sys.stderr)
    sys.exit(2)
except SystemExit as exc:
    print(f"a config exited (SystemExit({exc.code})) instead of defining config", file=sys.stderr)
    sys.exit(2)
json.dump(out, result)
result.flush()
"""


class _Absent:
    """A field that does not exist on one side."""

    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Any = _Absent()


@dataclass(frozen=True)
class FieldChange:
    """One field of an object: its path (``spec.maxReplicas``) and its old and new values."""

    path: str
    old: Any
    new: Any


@dataclass(frozen=True)
class ObjectChange:
    """An object added, removed or changed in one environment."""

    env: str
    status: str  # "added" | "removed" | "changed"
    kind: str
    namespace: str
    name: str
    fields: tuple[FieldChange, ...] = ()
    old: dict[str, Any] | None = None
    new: dict[str, Any] | None = None

    @property
    def ident(self) -> str:
        """``Kind namespace/name`` (cluster-scoped objects without a namespace)."""
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"


# ---------------------------------------------------------------------------- git


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False)


def _inside(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
    """tarfile's ``data`` filter, except that a member it refuses (a symlink or path pointing out
    of the tree) is left out instead of failing the export: synthesis never needs one."""
    try:
        return tarfile.data_filter(member, dest)
    except tarfile.FilterError:
        return None


def export_revision(root: Path, ref: str, dest: Path) -> Path:
    """Export ``ref``'s version of the project at ``root`` into ``dest``; returns the project
    directory inside it. Raises UsageError when ``root`` is not in a git repository or ``ref``
    is not a revision."""
    top = _git(root, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise UsageError(f"--against: {root} is not in a git repository")
    commit = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if commit.returncode != 0:
        raise UsageError(f"--against: unknown git revision {ref!r}")
    prefix = _git(root, "rev-parse", "--show-prefix").stdout.decode().strip()
    toplevel = Path(top.stdout.decode().strip())
    archive = _git(toplevel, "archive", "--format=tar", commit.stdout.decode().strip(), *([prefix] if prefix else []))
    if archive.returncode != 0:
        raise UsageError(f"--against: git archive {ref} failed: {archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter=_inside)
    return dest / prefix if prefix else dest


def objects_against(root: Path, ref: str, envs: list[str]) -> tuple[dict[str, list[dict[str, Any]]],
                                                                  dict[str, list[dict[str, Any]]]]:
    """(objects at ``ref``, objects of the working tree) for ``envs``; the two syntheses run in parallel."""
    with tempfile.TemporaryDirectory(prefix="tripgen-diff-") as tmp:
        exported = export_revision(root, ref, Path(tmp))
        procs = []
        for project in (exported, root):
            procs.append(subprocess.Popen([sys.executable, "-c", _SYNTH_SCRIPT, str(project), *envs], cwd=project,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        results = []
        for label, proc in zip((ref, "the working tree"), procs, strict=True):
            out, err = proc.communicate()
            if proc.returncode != 0:
                detail = (err.strip().splitlines() or ["(no output)"])[-1]
                raise UsageError(f"synthesising {label}: {detail}")
            results.append(_without_chart_label(json.loads(out)))
    return results[0], results[1]


CHART_LABEL = "helm.sh/chart"


def _without_chart_label(objects: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The objects without their ``helm.sh/chart`` label: it carries the chart version, which moves
    with any change of the chart's content, so it would list every object of a changed chart; the
    review shows the change that moved it instead (and Chart.yaml's version in the file diff)."""
    for objs in objects.values():
        for obj in objs:
            labels = (obj.get("metadata") or {}).get("labels")
            if isinstance(labels, dict):
                labels.pop(CHART_LABEL, None)
    return objects


# ---------------------------------------------------------------------------- diff


def _key(obj: dict[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return str(obj.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name") or "")


def format_path(parts: Iterable[Any]) -> str:
    """``['spec', 'containers', 0, 'image']`` -> ``spec.containers[0].image``; keys that are not
    identifiers are quoted: ``metadata.labels["app.kubernetes.io/name"]``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).replace("_", "").replace("-", "").isalnum():
            out += f".{part}" if out else str(part)
        else:
            out += f"[{json.dumps(str(part))}]"
    return out


def field_changes(old: dict[str, Any], new: dict[str, Any]) -> tuple[FieldChange, ...]:
    """The leaf-level differences of two objects (deepdiff's tree view), sorted by path."""
    diff = DeepDiff(old, new, view="tree", verbose_level=2)
    out = []
    for items in diff.values():
        for item in items:
            t1 = ABSENT if type(item.t1).__name__ == "NotPresent" else item.t1
            t2 = ABSENT if type(item.t2).__name__ == "NotPresent" else item.t2
            out.append(FieldChange(format_path(item.path(output_format="list")), t1, t2))
    return tuple(sorted(out, key=lambda c: c.path))


def compare(old: dict[str, list[dict[str, Any]]], new: dict[str, list[dict[str, Any]]]) -> list[ObjectChange]:
    """Objects added, removed and changed per environment, sorted by env, kind, namespace, name."""
    changes = []
    for env in sorted(set(old) | set(new), key=lambda e: (list(new).index(e) if e in new else len(new), e)):
        before = {_key(o): o for o in old.get(env, [])}
        after = {_key(o): o for o in new.get(env, [])}
        for key in sorted(set(before) | set(after)):
            if key not in before:
                changes.append(ObjectChange(env, "added", *key, new=after[key]))
            elif key not in after:
                changes.append(ObjectChange(env, "removed", *key, old=before[key]))
            elif before[key] != after[key]:
                changes.append(ObjectChange(env, "changed", *key, fields=field_changes(before[key], after[key]),
                                            old=before[key], new=after[key]))
    return changes


# ---------------------------------------------------------------------------- output


def format_value(value: Any) -> str:
    """A field value on one line: JSON (strings quoted), ``(absent)`` for a missing field."""
    if value is ABSENT:
        return "(absent)"
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _yaml_lines(value: Any) -> list[str]:
    from .lib.helm import dump_yaml

    if isinstance(value, (dict, list)):
        return dump_yaml(value).rstrip("\n").splitlines()
    return [format_value(value)]


def render_text(changes: list[ObjectChange], ref: str) -> str:
    """Plain text: one line per object (``~`` changed, ``+`` added, ``-`` removed), then for a
    changed object one line per field: ``path: old -> new``."""
    lines = []
    for c in changes:
        mark = {"added": "+", "removed": "-", "changed": "~"}[c.status]
        lines.append(f"{c.env}: {mark} {c.ident}")
        for f in c.fields:
            lines.append(f"    {f.path}: {format_value(f.old)} -> {format_value(f.new)}")
    counts = _counts(changes)
    lines.append(f"{len(changes)} object(s) differ from {ref}: {counts['changed']} changed, {counts['added']} added, "
                 f"{counts['removed']} removed" if changes else f"no object differs from {ref}")
    return "\n".join(lines) + "\n"


def _counts(changes: list[ObjectChange]) -> dict[str, int]:
    return {s: sum(1 for c in changes if c.status == s) for s in ("changed", "added", "removed")}


def diff_block(change: ObjectChange) -> str:
    """The body of one ```diff block: per changed field a hunk header with its path and the old
    (``-``) and new (``+``) values; an added or removed object in full."""
    lines: list[str] = []
    if change.status == "changed":
        for f in change.fields:
            lines.append(f"@@ {f.path} @@")
            if f.old is not ABSENT:
                lines += [f"- {line}" for line in _yaml_lines(f.old)]
            if f.new is not ABSENT:
                lines += [f"+ {line}" for line in _yaml_lines(f.new)]
    else:
        sign, obj = ("+", change.new) if change.status == "added" else ("-", change.old)
        lines += [f"{sign} {line}" for line in _yaml_lines(obj)]
    return "\n".join(lines)


def render_markdown(changes: list[ObjectChange], ref: str, envs: list[str]) -> str:
    """A pull-request comment (template ``diff.md.j2``): heading, summary table, one ```diff
    block per object, cut to :data:`MARKDOWN_BUDGET` characters."""
    from .lib.documents import render

    rows = [[c.env, c.status, c.kind, c.namespace or "-", c.name, len(c.fields) if c.status == "changed" else "-"]
            for c in changes]
    blocks: list[dict[str, str]] = []
    used = 0
    for c in changes:
        block = {"title": f"{c.env}: {c.status} {c.kind} `{(c.namespace + '/') if c.namespace else ''}{c.name}`",
                 "body": diff_block(c)}
        size = len(block["title"]) + len(block["body"]) + 20
        if used + size > MARKDOWN_BUDGET:
            break
        blocks.append(block)
        used += size
    return render("diff.md.j2", ref=ref, envs=envs, changes=changes, counts=_counts(changes), rows=rows,
                  blocks=blocks, omitted=len(changes) - len(blocks))
