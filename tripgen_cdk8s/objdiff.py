"""Object-level diff between a git revision's config and the working tree's (``tripgen diff --against``).

The revision's project is exported with ``git archive`` into a temporary directory (the working
tree, the index and the refs are never touched) and both trees are synthesised the same way, each
in a child process that imports the tree's own ``tripgen_cdk8s`` when it has one (so a change to
the library shows up as well as a change to an overlay) and the installed package otherwise.
Objects are matched by environment, kind, namespace and name; a matched pair is compared field
by field (:func:`diff_values`): maps by key, lists of keyed things (containers, ports, env,
volumes, alert rules, rule groups, dashboard panels) by their key, other lists (NetworkPolicy
rules) by content, and JSON held in a string (a Grafana dashboard in a ConfigMap) as parsed JSON.
:func:`hazards` picks out the destructive changes: deleted objects, probable renames, immutable
fields.  See docs/review-diffs.md.
"""

from __future__ import annotations

import collections
import difflib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .lib.errors import UsageError

#: Markdown bodies stay below GitHub's 65,536-character comment limit (with room for the sticky
#: comment action's marker).
MARKDOWN_BUDGET = 64_000

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
    SETS = json.loads(os.environ.get("TRIPGEN_DIFF_SETS") or "[]")
    SKIPPED = {}
    def objects(env):
        # each --set applies to every environment whose chart has that key (as for synth)
        from tripgen_cdk8s.app.overrides import NotApplicable
        project, mine = overlays.load(root, env), list(SETS)
        while True:
            try:
                return [o for c in pipeline.synthesize(project, root, tuple(mine)).charts for o in c.objects]
            except NotApplicable as err:
                if len(sys.argv) == 3 or err.assignment not in mine:
                    raise
                SKIPPED.setdefault(err.assignment, []).append(err)
                mine.remove(err.assignment)
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
    for errors in globals().get("SKIPPED", {}).values():
        if len(errors) == len(sys.argv) - 2:  # no environment has it: the error of one that has the chart
            raise next((e for e in errors if "unknown values key" in e.allowed), errors[0])
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


def objects_against(root: Path, ref: str, envs: list[str], sets: tuple[str, ...] = ()) -> tuple[
        dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
    """(objects at ``ref``, objects of the working tree with the ``--set`` overrides ``sets``) for
    ``envs``; the two syntheses run in parallel."""
    with tempfile.TemporaryDirectory(prefix="tripgen-diff-") as tmp:
        exported = export_revision(root, ref, Path(tmp))
        procs = []
        for project, overrides in ((exported, ()), (root, sets)):
            environ = {**os.environ, "TRIPGEN_DIFF_SETS": json.dumps(list(overrides))}
            procs.append(subprocess.Popen([sys.executable, "-c", _SYNTH_SCRIPT, str(project), *envs], cwd=project,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ))
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


@dataclass(frozen=True)
class Key:
    """A path step into a list item matched by its key: ``containers[name=app]``; ``nth`` tells
    apart items that share a key (``panels[title=Latency#2]``)."""

    field: str
    value: Any
    nth: int = 0

    def __str__(self) -> str:
        text = str(self.value)
        shown = text if re.fullmatch(r"[A-Za-z0-9_./:-]+", text) else json.dumps(text, ensure_ascii=False)
        return f"[{self.field}={shown}{f'#{self.nth + 1}' if self.nth else ''}]"


class _Order:
    """The path step of a list whose items are the same but in another order."""

    def __str__(self) -> str:
        return " (order)"


ORDER: Any = _Order()

#: The fields that identify the items of a list, tried in this order: the first that every item of
#: both lists has (as a string or number) becomes the key; a tuple means "the first of these the
#: item has" (alert rules and recording rules share a list).
KEY_FIELDS: tuple[tuple[str, ...], ...] = (("name",), ("alert", "record"), ("title",), ("refId",), ("uid",), ("id",),
                                           ("path",), ("key",), ("mountPath",), ("containerPort",), ("port",))


def _key(obj: dict[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return str(obj.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name") or "")


def format_path(parts: Iterable[Any]) -> str:
    """``['spec', 'containers', 0, 'image']`` -> ``spec.containers[0].image``; keys that are not
    identifiers are quoted: ``metadata.labels["app.kubernetes.io/name"]``; a list item matched by
    its key: ``spec.containers[name=app].image``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, (Key, _Order)):
            out += str(part)
        elif str(part).replace("_", "").replace("-", "").isalnum():
            out += f".{part}" if out else str(part)
        else:
            out += f"[{json.dumps(str(part), ensure_ascii=False)}]"
    return out


def json_document(value: Any) -> Any:
    """The object or array a string holds as JSON (a Grafana dashboard in a ConfigMap), else None."""
    if not isinstance(value, str) or value.lstrip()[:1] not in ("{", "["):
        return None
    try:
        doc = json.loads(value)
    except ValueError:
        return None
    return doc if isinstance(doc, (dict, list)) else None


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _leaves(value: Any, prefix: str = "") -> Iterator[str]:
    """``path=value`` for every scalar under ``value`` (JSON strings parsed), for similarity."""
    doc = json_document(value)
    if doc is not None:
        value = doc
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, f"{prefix}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{prefix}[{i}]")
    else:
        yield f"{prefix}={_canonical(value)}"


def similarity(a: Any, b: Any) -> float:
    """How alike two values are, 0 to 1: the share of their leaves (path and value) they have in common."""
    la, lb = collections.Counter(_leaves(a)), collections.Counter(_leaves(b))
    total = sum(la.values()) + sum(lb.values())
    return 2 * sum((la & lb).values()) / total if total else 1.0


def _item_keys(old: list[Any], new: list[Any]) -> tuple[list[Key], list[Key]] | None:
    """The key of each item of both lists (see :data:`KEY_FIELDS`), or None when they have no common key."""
    items = old + new
    if not items or not all(isinstance(i, dict) for i in items):
        return None

    def named(item: dict[str, Any], fields: tuple[str, ...]) -> tuple[str, Any] | None:
        return next(((f, item[f]) for f in fields
                     if isinstance(item.get(f), (str, int)) and not isinstance(item.get(f), bool)), None)

    def keys(seq: list[dict[str, Any]], fields: tuple[str, ...]) -> list[Key]:
        seen: collections.Counter[tuple[str, Any]] = collections.Counter()
        out = []
        for item in seq:
            field, value = named(item, fields)  # type: ignore[misc]
            out.append(Key(field, value, seen[(field, value)]))
            seen[(field, value)] += 1
        return out

    for fields in KEY_FIELDS:
        if all(named(i, fields) is not None for i in items):
            return keys(old, fields), keys(new, fields)
    return None


def _diff_keyed(old: list[Any], new: list[Any], okeys: list[Key], nkeys: list[Key],
                path: tuple[Any, ...]) -> list[FieldChange]:
    before, after = dict(zip(okeys, old, strict=True)), dict(zip(nkeys, new, strict=True))
    out: list[FieldChange] = []
    common_old = [k for k in okeys if k in after]
    common_new = [k for k in nkeys if k in before]
    if common_old != common_new:
        out.append(FieldChange(format_path((*path, ORDER)), [str(k) for k in common_old], [str(k) for k in common_new]))
    # an item whose key changed (a renamed container) is still one item when the rest is alike
    gone, came = [k for k in okeys if k not in after], [k for k in nkeys if k not in before]
    renamed: dict[Key, Key] = {}
    for score, i, j in sorted(((similarity(before[a], after[b]), i, j) for i, a in enumerate(gone) for j, b in enumerate(came)),
                              key=lambda t: (-t[0], t[1], t[2])):
        if score >= RENAME_SIMILARITY and gone[i] not in renamed.values() and came[j] not in renamed:
            renamed[came[j]] = gone[i]
    for k in gone:
        if k not in renamed.values():
            out.append(FieldChange(format_path((*path, k)), before[k], ABSENT))
    for k in nkeys:
        out += diff_values(before[renamed[k]] if k in renamed else before.get(k, ABSENT), after[k], (*path, k))
    return out


def _diff_sequence(old: list[Any], new: list[Any], path: tuple[Any, ...]) -> list[FieldChange]:
    """Lists without a key, matched by content: an inserted item is one added item; items of a
    replaced run are paired by similarity (then diffed field by field) or shown removed and added."""
    out: list[FieldChange] = []
    matcher = difflib.SequenceMatcher(None, [_canonical(v) for v in old], [_canonical(v) for v in new], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        olds, news = list(range(i1, i2)), list(range(j1, j2))
        pairs: dict[int, int] = {}
        if olds and news:
            if all(not isinstance(v, (dict, list)) for v in old[i1:i2] + new[j1:j2]):
                pairs = dict(zip(news, olds, strict=False)) if len(olds) == len(news) else {}
            elif len(olds) == len(news) == 1:  # one item changed in place
                pairs = {j1: i1}
            else:
                scored = sorted(((similarity(old[i], new[j]), i, j) for i in olds for j in news), reverse=True)
                used_old: set[int] = set()
                for score, i, j in scored:
                    if score >= 0.5 and i not in used_old and j not in pairs:
                        pairs[j] = i
                        used_old.add(i)
        paired_old = set(pairs.values())
        for i in olds:
            if i not in paired_old:
                out.append(FieldChange(format_path((*path, i)), old[i], ABSENT))
        for j in news:
            if j in pairs:
                out += diff_values(old[pairs[j]], new[j], (*path, j))
            else:
                out.append(FieldChange(format_path((*path, j)), ABSENT, new[j]))
    return out


def diff_values(old: Any, new: Any, path: tuple[Any, ...] = ()) -> list[FieldChange]:
    """The differences of two JSON-shaped values as field changes, in document order: maps by key,
    lists of keyed items by key, other lists by content, strings holding JSON as parsed JSON."""
    if old is ABSENT or new is ABSENT:
        return [FieldChange(format_path(path), old, new)]
    if type(old) is type(new) and old == new and (not isinstance(old, (dict, list)) or _canonical(old) == _canonical(new)):
        return []  # equal, and strictly so: True is not 1 (Python's == says it is)
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[FieldChange] = []
        for k in [*old, *(k for k in new if k not in old)]:
            out += diff_values(old.get(k, ABSENT), new.get(k, ABSENT), (*path, k))
        return out
    if isinstance(old, list) and isinstance(new, list):
        keyed = _item_keys(old, new)
        if keyed is not None:
            return _diff_keyed(old, new, *keyed, path)
        return _diff_sequence(old, new, path)
    a, b = json_document(old), json_document(new)
    if a is not None and b is not None:
        return diff_values(a, b, path)
    return [FieldChange(format_path(path), old, new)]


def field_changes(old: dict[str, Any], new: dict[str, Any]) -> tuple[FieldChange, ...]:
    """The differences of two objects, in document order (see :func:`diff_values`)."""
    return tuple(diff_values(old, new))


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
            elif _canonical(before[key]) != _canonical(after[key]):
                fields = field_changes(before[key], after[key])
                if fields:  # equal up to the formatting of JSON held in strings: nothing the cluster sees
                    changes.append(ObjectChange(env, "changed", *key, fields=fields, old=before[key], new=after[key]))
    return changes


# ---------------------------------------------------------------------------- destructive changes


@dataclass(frozen=True)
class Immutable:
    """A field the API server refuses to change on an existing object (``path`` and everything
    under it, except the ``mutable`` sub-paths); ``when`` names a field of the old object that must
    be true for the rule to apply (a ConfigMap's ``immutable``)."""

    kind: str
    path: str
    mutable: tuple[str, ...] = ()
    when: str | None = None


#: The immutable fields of the kinds a chart may hold (Kubernetes API validation, v1.35).
IMMUTABLE: tuple[Immutable, ...] = (
    Immutable("Deployment", "spec.selector"),
    Immutable("ReplicaSet", "spec.selector"),
    Immutable("DaemonSet", "spec.selector"),
    Immutable("StatefulSet", "spec", mutable=("spec.replicas", "spec.template", "spec.updateStrategy", "spec.minReadySeconds",
                                              "spec.ordinals", "spec.persistentVolumeClaimRetentionPolicy")),
    Immutable("Job", "spec.selector"),
    Immutable("Job", "spec.template"),
    Immutable("Job", "spec.completionMode"),
    Immutable("Service", "spec.clusterIP"),
    Immutable("Service", "spec.clusterIPs"),
    Immutable("PersistentVolumeClaim", "spec", mutable=("spec.resources.requests", "spec.volumeAttributesClassName")),
    Immutable("PersistentVolume", "spec.csi"),
    Immutable("RoleBinding", "roleRef"),
    Immutable("ClusterRoleBinding", "roleRef"),
    Immutable("StorageClass", "provisioner"),
    Immutable("StorageClass", "parameters"),
    Immutable("StorageClass", "reclaimPolicy"),
    Immutable("StorageClass", "volumeBindingMode"),
    Immutable("Secret", "type"),
    Immutable("Secret", "data", when="immutable"),
    Immutable("Secret", "stringData", when="immutable"),
    Immutable("Secret", "immutable", when="immutable"),
    Immutable("ConfigMap", "data", when="immutable"),
    Immutable("ConfigMap", "binaryData", when="immutable"),
    Immutable("ConfigMap", "immutable", when="immutable"),
)


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


def immutable_fields(change: ObjectChange) -> list[str]:
    """The paths of ``change``'s changed fields that :data:`IMMUTABLE` says cannot change."""
    old = change.old or {}
    rules = [r for r in IMMUTABLE if r.kind == change.kind and (r.when is None or old.get(r.when) is True)]
    return [f.path for f in change.fields
            if any(_under(f.path, r.path) and not any(_under(f.path, m) for m in r.mutable) for r in rules)]


@dataclass(frozen=True)
class Hazard:
    """A destructive change: what Argo CD will delete, or an update the API server will refuse."""

    env: str
    ident: str
    what: str


#: Objects at least this alike (see :func:`similarity`, names substituted) count as a probable rename.
RENAME_SIMILARITY = 0.8
#: Rename detection compares each deleted object with each added one of its kind, up to this many pairs.
RENAME_PAIRS = 2_500


def _anonymous(change: ObjectChange, token: str) -> collections.Counter[str]:
    """The leaves of an added or removed object with ``token`` (its name, or the part of its name
    that differs from the other object's) and its namespace blanked out of every string value, so
    a renamed object's leaves equal the original's (labels, selectors and references included)."""

    def blank(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: blank(v) for k, v in value.items()}
        if isinstance(value, list):
            return [blank(v) for v in value]
        if isinstance(value, str):
            if change.namespace and value == change.namespace:
                return "<namespace>"
            return value.replace(token, "<name>")
        return value

    return collections.Counter(_leaves(blank(change.new if change.status == "added" else change.old)))


def _cores(old: str, new: str) -> tuple[str, str]:
    """The parts of two names that differ (``location-service-sa``, ``places-service-sa`` ->
    ``location``, ``places``); the whole names when a part would be too short to stand for it."""
    prefix = len(os.path.commonprefix([old, new]))
    suffix = len(os.path.commonprefix([old[prefix:][::-1], new[prefix:][::-1]]))
    a, b = old[prefix:len(old) - suffix], new[prefix:len(new) - suffix]
    return (a, b) if min(len(a), len(b)) >= 3 else (old, new)


def _alike(a: collections.Counter[str], b: collections.Counter[str]) -> float:
    total = sum(a.values()) + sum(b.values())
    return 2 * sum((a & b).values()) / total if total else 1.0


def hazards(changes: list[ObjectChange]) -> list[Hazard]:
    """The destructive changes among ``changes``: deleted objects (Argo CD prunes them), probable
    renames (a deleted and an added object of the same kind and environment, alike but for the
    name), and changes to immutable fields (the sync fails until the object is replaced)."""
    out: list[Hazard] = []
    removed = [c for c in changes if c.status == "removed"]
    added = [c for c in changes if c.status == "added"]
    pairs: dict[int, tuple[ObjectChange, float]] = {}
    taken: set[int] = set()
    leaves: dict[tuple[int, str], collections.Counter[str]] = {}

    def alike(r: ObjectChange, a: ObjectChange) -> float:
        cores = _cores(r.name, a.name)
        for c, token in zip((r, a), cores, strict=True):
            if (id(c), token) not in leaves:
                leaves[(id(c), token)] = _anonymous(c, token)
        return _alike(leaves[(id(r), cores[0])], leaves[(id(a), cores[1])])

    candidates = [(i, j) for i, r in enumerate(removed) for j, a in enumerate(added) if r.env == a.env and r.kind == a.kind]
    if len(candidates) > RENAME_PAIRS:  # too many to compare each pair: nothing is called a rename
        candidates = []
    scored = sorted(((alike(removed[i], added[j]), i, j) for i, j in candidates), key=lambda t: (-t[0], t[1], t[2]))
    for score, i, j in scored:
        if score >= RENAME_SIMILARITY and i not in pairs and j not in taken:
            pairs[i] = (added[j], score)
            taken.add(j)
    for c in changes:
        if c.status == "removed":
            i = removed.index(c)
            if i in pairs:
                target, score = pairs[i]
                out.append(Hazard(c.env, c.ident, f"probable rename to {target.ident} ({score:.0%} alike): Argo CD deletes "
                                                  f"{c.name} and creates {target.name}"))
            else:
                out.append(Hazard(c.env, c.ident, "deleted: Argo CD prunes it"))
        elif c.status == "changed":
            paths = immutable_fields(c)
            if paths:
                out.append(Hazard(c.env, c.ident, f"immutable field(s) changed: {', '.join(paths)}: the API server refuses "
                                                  "the update, so the sync fails until the object is deleted and recreated"))
    return out


# ---------------------------------------------------------------------------- output


def format_value(value: Any) -> str:
    """A field value on one line: JSON (strings quoted), ``(absent)`` for a missing field."""
    if value is ABSENT:
        return "(absent)"
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _yaml_lines(value: Any) -> list[str]:
    from .lib.helm import dump_yaml

    doc = json_document(value)
    if doc is not None:  # JSON held in a string, shown as the JSON it is
        return json.dumps(doc, indent=2, ensure_ascii=False).splitlines()
    if isinstance(value, (dict, list)):
        return dump_yaml(value).rstrip("\n").splitlines()
    return [format_value(value)]


def _counts(changes: list[ObjectChange]) -> dict[str, int]:
    return {s: sum(1 for c in changes if c.status == s) for s in ("changed", "added", "removed")}


def _shorten(paths: list[str], most: int = 3) -> str:
    return ", ".join(paths[:most]) + (f" and {len(paths) - most} more" if len(paths) > most else "")


def render_text(changes: list[ObjectChange], ref: str) -> str:
    """Plain text: the destructive changes first (``!``), then one line per object (``~`` changed,
    ``+`` added, ``-`` removed) and for a changed object one line per field: ``path: old -> new``."""
    lines = []
    found = hazards(changes)
    if found:
        lines.append(f"{len(found)} destructive change(s):")
        lines += [f"  ! {h.env}: {h.ident}: {h.what}" for h in found]
    for c in changes:
        mark = {"added": "+", "removed": "-", "changed": "~"}[c.status]
        lines.append(f"{c.env}: {mark} {c.ident}")
        for f in c.fields:
            text_lines = _text_diff(f)
            if text_lines is None:
                lines.append(f"    {f.path}: {format_value(f.old)} -> {format_value(f.new)}")
            else:
                lines.append(f"    {f.path}:")
                lines += [f"      {line}" for line in text_lines]
    counts = _counts(changes)
    lines.append(f"{len(changes)} object(s) differ from {ref}: {counts['changed']} changed, {counts['added']} added, "
                 f"{counts['removed']} removed" if changes else f"no object differs from {ref}")
    return "\n".join(lines) + "\n"


def _text_diff(change: FieldChange) -> list[str] | None:
    """For a multi-line text on both sides (a config file in a ConfigMap): the changed lines with
    two lines of context (``-``, ``+``, and two spaces), instead of both texts in full."""
    old, new = change.old, change.new
    if not (isinstance(old, str) and isinstance(new, str) and "\n" in old.strip() and "\n" in new.strip()):
        return None
    out = []
    for line in list(difflib.unified_diff(old.splitlines(), new.splitlines(), n=2, lineterm=""))[2:]:
        out.append("  ..." if line.startswith("@@") else f"{line[:1]} {line[1:]}" if line[:1] in "-+" else f"  {line[1:]}")
    return out


def diff_block(change: ObjectChange) -> str:
    """The body of one ```diff block: per changed field a hunk header with its path and the old
    (``-``) and new (``+``) values; an added or removed object in full."""
    lines: list[str] = []
    if change.status == "changed":
        for f in change.fields:
            lines.append(f"@@ {f.path} @@")
            text_lines = _text_diff(f)
            if text_lines is not None:
                lines += text_lines
                continue
            if f.old is not ABSENT:
                lines += [f"- {line}" for line in _yaml_lines(f.old)]
            if f.new is not ABSENT:
                lines += [f"+ {line}" for line in _yaml_lines(f.new)]
    else:
        sign, obj = ("+", change.new) if change.status == "added" else ("-", change.old)
        lines += [f"{sign} {line}" for line in _yaml_lines(obj)]
    return "\n".join(lines)


#: The Markdown comment's size: GitHub refuses comments over 65,536 characters.
GITHUB_LIMIT = 65_536
#: One object's diff block is cut (by lines) beyond this many characters, so one large object
#: (a new dashboard) does not crowd out the others.
BLOCK_LIMIT = 12_000
#: Details are open when all of them together are this small.
OPEN_LIMIT = 3_000


def show_command(ref: str, env: str, changes: list[ObjectChange]) -> str:
    """The command that prints ``changes`` (all of one environment) in full."""
    objects = "".join(f" --object {c.kind}/{c.name}" for c in changes)
    return f"tripgen diff --against {ref} --env {env}{objects}"


def _cut(body: str, limit: int) -> tuple[str, bool]:
    if len(body) <= limit:
        return body, False
    lines, size = [], 0
    for line in body.split("\n"):
        if size + len(line) + 1 > limit:
            break
        lines.append(line)
        size += len(line) + 1
    left = body.count("\n") + 1 - len(lines)
    return "\n".join([*lines, f"  ... {left} more line(s) cut"]), True


def _grouped(changes: list[ObjectChange]) -> list[list[Any]]:
    """Summary rows with the names of one environment, change, kind and namespace on one row."""
    groups: dict[tuple[str, str, str, str], list[str]] = {}
    for c in changes:
        groups.setdefault((c.env, c.status, c.kind, c.namespace or "-"), []).append(c.name)
    return [[*k, ", ".join(names), len(names)] for k, names in groups.items()]


def render_markdown(changes: list[ObjectChange], ref: str, envs: list[str], budget: int = MARKDOWN_BUDGET) -> str:
    """A pull-request comment (template ``diff.md.j2``) of at most ``budget`` characters: heading,
    the destructive changes, a summary table of every object, then each object's diff in a
    ``<details>`` block, as many as fit (in order; a block that does not fit is left out and a
    smaller one after it may still fit); the table marks the diffs cut or left out, and the comment
    ends with the command that shows them."""
    from .lib.documents import render

    flagged = hazards(changes)
    found = [[h.env, h.ident, h.what] for h in flagged]
    same: dict[tuple[str, str, str], list[str]] = {}  # deleted objects of one kind on one row, when room is short
    for h in flagged:
        kind, name = h.ident.split(" ", 1)
        same.setdefault((h.env, kind, h.what), []).append(name)
    found_grouped = [[env, f"{kind}: {', '.join(names)}", what] for (env, kind, what), names in same.items()]
    bodies = [_cut(diff_block(c), BLOCK_LIMIT) for c in changes]
    blocks = [{"title": f"{c.env}: {c.status} {c.kind} <code>{(c.namespace + '/') if c.namespace else ''}{c.name}</code>"
                        + (f": {len(c.fields)} field(s)" if c.status == "changed" else ""), "body": body}
              for c, (body, _) in zip(changes, bodies, strict=True)]
    is_open = sum(len(b["body"]) for b in blocks) <= OPEN_LIMIT

    def page(shown: list[bool], grouped: bool = False) -> str:
        state = ["cut" if cut and on else "below" if on else "left out"
                 for (_, cut), on in zip(bodies, shown, strict=True)]
        rows = _grouped(changes) if grouped else [
            [c.env, c.status, c.kind, c.namespace or "-", c.name, len(c.fields) if c.status == "changed" else "-", s]
            for c, s in zip(changes, state, strict=True)]
        missing = [c for c, s in zip(changes, state, strict=True) if s != "below"]
        by_env = {env: [c for c in missing if c.env == env] for env in dict.fromkeys(c.env for c in missing)}
        commands = [show_command(ref, env, cs if len(cs) <= 5 else []) for env, cs in by_env.items()]
        if not grouped and not missing:
            rows = [row[:-1] for row in rows]
        return render("diff.md.j2", ref=ref, envs=envs, changes=changes, counts=_counts(changes), rows=rows,
                      grouped=grouped, state=bool(missing), hazards=found_grouped if grouped else found,
                      open=is_open and all(shown),
                      blocks=[b for b, on in zip(blocks, shown, strict=True) if on],
                      cut=sum(1 for s in state if s == "cut"), left_out=sum(1 for s in state if s == "left out"),
                      commands=commands)

    shown = [True] * len(changes)
    text = page(shown)
    if len(text) <= budget:
        return text
    grouped = len(page([False] * len(changes))) > budget  # even the table alone is too large: one row per kind
    shown = [False] * len(changes)
    used = len(page(shown, grouped))
    # the destructive changes first, then changed, removed and added objects
    first = {(h.env, h.ident) for h in flagged}
    rank = {"changed": 1, "removed": 2, "added": 3}
    order = sorted(range(len(changes)), key=lambda i: (0 if (changes[i].env, changes[i].ident) in first
                                                       else rank[changes[i].status], i))
    for i in order:
        b = blocks[i]
        size = len(b["title"]) + len(b["body"]) + 60  # the <details> markup and the fences
        if used + size <= budget:
            shown[i] = True
            used += size
    text = page(shown, grouped)
    while len(text) > budget and any(shown):  # the estimate was short: drop the last blocks chosen
        shown[next(i for i in reversed(order) if shown[i])] = False
        text = page(shown, grouped)
    if len(text) > budget:  # thousands of objects: GitHub would refuse the comment, so cut it, saying so
        whole = ", ".join(f"`{show_command(ref, e, [])}`" for e in dict.fromkeys(c.env for c in changes))
        tail = f"\n\n... cut at {budget} characters; the whole diff: {whole}\n"
        text = text[:budget - len(tail)].rsplit("\n", 1)[0] + tail
    return text
