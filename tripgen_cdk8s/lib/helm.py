"""Synthesised objects -> Helm chart directories, written atomically; and the drift check.

This module knows Helm, not any application: it turns a :class:`~tripgen_cdk8s.lib.helmchart.SynthesizedChart`
(objects + values + bindings) into ``Chart.yaml``, ``values.yaml``, ``values.schema.json``,
``templates/`` (one object per file), ``NOTES.txt`` and ``README.md``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from .helmchart import RELEASE_NAMESPACE, Binding, ChartValues, ValueParam, template_file_name, values_ref
from .labels import HELM_CHART, INSTANCE, LABEL_VALUE_TEMPLATE, MANAGED_BY, VERSION, chart_label, label_value

PLACEHOLDER_PREFIX = "TRIPGENHELMBINDING"
"""Bound fields are first replaced by ``<prefix><nonce>N<index>X`` placeholders, dumped as YAML, then
by their Go templates.  The nonce is random per rendered object, so no text in the object can
match one; config validation also refuses strings containing the prefix."""

HELPERS = """{{/*
Image reference: registry/repository@digest when a digest is set, else registry/repository:tag.
*/}}
{{- define "PREFIX.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s/%s@%s" .Values.image.registry .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s/%s:%s" .Values.image.registry .Values.image.repository .Values.image.tag -}}
{{- end -}}
{{- end -}}
"""

HELMIGNORE = """# Patterns to ignore when building packages.
.DS_Store
.git/
*.swp
*.bak
*.tmp
*.orig
*~
"""


# libyaml's emitter when PyYAML was built with it (it is several times faster than the pure-Python
# one and emits the same bytes for this output; `synth --check` and the snapshots pin that).
_BaseDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):  # type: ignore[misc,valid-type]
    """Block style for multi-line strings, so reviewers read them as text; never anchors and
    aliases (two objects may share a list in Python, the YAML spells each out)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def represent_data(self, data: Any) -> yaml.Node:
        """The node of ``data``, built directly for the JSON types (what SafeRepresenter builds with
        this dumper's settings: sorted keys, block style, ``|`` for multi-line strings); anything else
        goes the general way."""
        kind = type(data)
        if kind is str:
            if "\n" in data:
                return yaml.ScalarNode(_STR, data, style="|")
            return yaml.ScalarNode(_STR, data, style="'" if reads_as_non_string(data) else None)
        if kind is dict:
            items = sorted(data.items()) if self.sort_keys else list(data.items())
            return yaml.MappingNode(_MAP, [(self.represent_data(k), self.represent_data(v)) for k, v in items],
                                    flow_style=False)
        if kind is list:
            return yaml.SequenceNode(_SEQ, [self.represent_data(v) for v in data], flow_style=False)
        if kind is bool:
            return yaml.ScalarNode(_BOOL, "true" if data else "false")
        if kind is int:
            return yaml.ScalarNode(_INT, str(data))
        if data is None:
            return yaml.ScalarNode(_NULL, "null")
        node: yaml.Node = super().represent_data(data)
        return node


_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_BOOL, _INT, _NULL = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:null"

# Plain scalars some YAML reader takes for something other than a string.  PyYAML's own resolver
# (YAML 1.1) already makes the emitter quote most of them; these are the ones it reads as strings
# but YAML 1.2 (core schema), Go's yaml.v2/v3 (Helm, Argo CD: strconv.ParseInt base 0 and
# ParseFloat) or the rest of YAML 1.1 read as numbers, booleans, nulls or timestamps: `1234e56`,
# `1e3`, `0o17`, `0x1F`, `0b101`, `1_000`, `.inf`, `+.NaN`, `12:30`, `2024-01-02`, `Yes`, `~`...
_NON_STRING = re.compile(r"""
    [-+]?(?:
        [0-9][0-9_]*(?:\.[0-9_]*)?(?:e[-+]?[0-9_]+)?     # 1, 1_000, 1.5, 1e3, 1234e56, 1.e-2
      | \.[0-9_]+(?:e[-+]?[0-9_]+)?                     # .5, .5e3
      | 0b[01_]+ | 0o[0-7_]+                            # 0b101, 0o17
      | 0x[0-9a-f_]*(?:\.[0-9a-f_]*)?(?:p[-+]?[0-9_]+)?  # 0x1F, 0x1p-2 (Go hex floats)
      | [0-9][0-9_]*(?::[0-9_]+)+(?:\.[0-9_]*)?          # 12:30, 190:20:30.15 (sexagesimal)
      | \.?(?:inf|infinity|nan)                         # .inf, -.Inf, .NaN, inf
    )
  | y|n|yes|no|on|off|true|false|null|~|<<|=
  | [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt\s].*)?       # 2024-01-02, 2001-12-14t21:59:43.10-05:00
""", re.VERBOSE | re.IGNORECASE)


def reads_as_non_string(text: str) -> bool:
    """Whether ``text`` written as a plain YAML scalar could be read as another type by YAML 1.1,
    YAML 1.2 or Go's YAML libraries (Helm, Argo CD); the emitter quotes every such string."""
    if text == "" or _NON_STRING.fullmatch(text):
        return True
    # Go's yaml.v2 drops every `_` of a scalar starting like a number before parsing it: `+_19` is 19
    return text[0] in "+-.0123456789" and "_" in text and bool(_NON_STRING.fullmatch(text.replace("_", "")))



def dump_yaml(data: Any) -> str:
    """Deterministic YAML: sorted keys, no line folding."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=True, default_flow_style=False, width=10_000,
                     allow_unicode=True)


# ---------------------------------------------------------------------------- templates


def _copy(node: Any) -> Any:
    """A copy of the JSON-shaped ``node`` (dicts, lists, scalars): what deepcopy gives, faster."""
    if isinstance(node, dict):
        return {k: _copy(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_copy(v) for v in node]
    return node


def _get(obj: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        obj = obj[part]
    return obj


def _set(obj: Any, path: tuple[str | int, ...], value: Any) -> None:
    for part in path[:-1]:
        obj = obj[part]
    obj[path[-1]] = value


def _label_templates(chart_name: str, version: str, app_version: str) -> dict[str, tuple[str, str]]:
    """Helm's standard labels, rendered from the release and Chart.yaml (as Bitnami charts do)."""
    return {
        INSTANCE: (chart_name, "{{ .Release.Name | quote }}"),
        MANAGED_BY: ("Helm", "{{ .Release.Service | quote }}"),
        VERSION: (label_value(app_version), f"{{{{ .Chart.AppVersion | {LABEL_VALUE_TEMPLATE} | quote }}}}"),
        HELM_CHART: (chart_label(chart_name, version),
                     f'{{{{ printf "%s-%s" .Chart.Name .Chart.Version | {LABEL_VALUE_TEMPLATE} | quote }}}}'),
    }


def render_template(obj: dict[str, Any], bindings: Iterable[Binding], labels: dict[str, tuple[str, str]],
                    namespace: str | None = None) -> str:
    """One object as a Helm template: bound fields and standard labels become Go templates, and a
    ``metadata.namespace`` equal to the chart's ``namespace`` becomes ``{{ .Release.Namespace }}``
    (Helm's convention: ``helm template --namespace X`` and ArgoCD's destination decide it)."""
    work = _copy(obj)
    templates: list[str] = []
    nonce = secrets.token_hex(8).upper()

    def sentinel(template: str) -> str:
        templates.append(template)
        return f"{PLACEHOLDER_PREFIX}{nonce}N{len(templates) - 1}X"

    bindings = list(bindings)
    meta = work.get("metadata", {})
    if namespace is not None and meta.get("namespace") == namespace:
        bindings.append(Binding(("metadata", "namespace"), RELEASE_NAMESPACE, namespace))
    for b in bindings:
        actual = _get(work, b.path)
        if actual != b.expected:
            raise AssertionError(f"binding {b.path} of {obj['kind']}/{obj['metadata']['name']}: "
                                 f"object has {actual!r}, binding expects {b.expected!r}")
        _set(work, b.path, sentinel(b.template))

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in labels and value == labels[key][0]:
                    node[key] = sentinel(labels[key][1])
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(work)
    # Text that looks like a Go template is data: `{{` is emitted through a template that prints it.
    text = dump_yaml(work).replace("{{", '{{ "{{" }}')
    for i, template in enumerate(templates):  # "...N1X" is no prefix of "...N10X": X ends each placeholder
        text = text.replace(f"{PLACEHOLDER_PREFIX}{nonce}N{i}X", template)
    return text


def template_file_names(objects: list[dict[str, Any]]) -> list[str]:
    """``<kind>.yaml`` when the kind occurs once in the chart, else ``<kind>-<name>.yaml``."""
    kinds = [o["kind"].lower() for o in objects]
    names = [template_file_name(o["kind"], o["metadata"]["name"], kinds) for o in objects]
    if len(set(names)) != len(names):
        raise AssertionError(f"duplicate template names {names}")
    return names


# ---------------------------------------------------------------------------- values


def _tree(params: Iterable[ValueParam]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for p in params:
        node = root
        parts = p.key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = p
    return root


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(value)


def render_values(values: ChartValues) -> str:
    """values.yaml with a comment on every key (the description also feeds README and schema)."""
    lines = ["# Default values of this chart, generated by tripgen-cdk8s from the environment's config.",
             "# Every value here is used by a template; values.schema.json describes and checks them.", ""]

    def emit(node: dict[str, Any], prefix: str, indent: int) -> None:
        pad = "  " * indent
        for key, child in node.items():
            full = f"{prefix}{key}"
            if isinstance(child, ValueParam):
                lines.append(f"{pad}# -- {child.description}")
                lines.append(f"{pad}{key}: {_scalar(child.default)}")
            else:
                lines.append(f"{pad}# {values.groups.get(full, full)}")
                lines.append(f"{pad}{key}:")
                emit(child, full + ".", indent + 1)
            if indent == 0:
                lines.append("")

    emit(_tree(values.params.values()), "", 0)
    return "\n".join(lines).rstrip("\n") + "\n"


def render_schema(values: ChartValues, title: str) -> str:
    """values.schema.json: types, constraints, every key required, no unknown keys."""

    def node(tree: dict[str, Any], prefix: str) -> dict[str, Any]:
        props: dict[str, Any] = {}
        for key, child in tree.items():
            if isinstance(child, ValueParam):
                props[key] = {"description": child.description, **child.schema}
            else:
                props[key] = node(child, f"{prefix}{key}.")
                if f"{prefix}{key}" in values.groups:
                    props[key]["description"] = values.groups[f"{prefix}{key}"]
                props[key].update(values.group_schemas.get(f"{prefix}{key}", {}))
        return {"type": "object", "properties": props, "required": list(tree), "additionalProperties": False}

    schema = {"$schema": "http://json-schema.org/draft-07/schema#", "title": title,
              **node(_tree(values.params.values()), "")}
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"


# ---------------------------------------------------------------------------- install-time checks


def _go_string(text: str) -> str:
    """A Go string literal (JSON's escapes are Go's)."""
    return json.dumps(text, ensure_ascii=False)


def render_validate(values: ChartValues, prefix: str) -> str:
    """``templates/_validate.tpl``: the named template ``<prefix>.validate``, which every template
    of the chart includes first; it renders nothing, or ``fail`` s with the message synth gives
    (``<key>: invalid value <v>; <allowed>``) for the first check the values break.  Helm checks
    values.schema.json too, but ``--skip-schema-validation`` skips that; it cannot skip this."""
    lines = ["{{/*",
             "Install-time checks, generated by tripgen-cdk8s: the rules synth enforces on these values",
             "(the schema's patterns and bounds, the image tag rule, the cross-field rules), so neither --set,",
             "-f nor --skip-schema-validation installs what synth would refuse.",
             "*/}}",
             f'{{{{- define "{prefix}.validate" -}}}}']
    for c in values.checks():
        ref = values_ref(c.key)
        shown = "'%v'" if c.kind in ("pattern", "enum") else "%v"
        message = f"{c.key}: invalid value {shown}; " + c.allowed.replace("%", "%%").replace("{other}", "%v")
        args = ref
        if c.kind == "pattern":
            cond = f"not (regexMatch {_go_string(c.arg)} (toString {ref}))"
        elif c.kind == "enum":
            cond = f"not (has (toString {ref}) (list {' '.join(_go_string(str(x)) for x in c.arg)}))"
        elif c.kind in ("minimum", "maximum"):
            cond = f"{'lt' if c.kind == 'minimum' else 'gt'} (int64 {ref}) {int(c.arg)}"
        elif c.kind in ("at_least", "below"):
            other = values_ref(c.arg)
            cond = f"{'lt' if c.kind == 'at_least' else 'ge'} (int64 {ref}) (int64 {other})"
            args = f"{ref} {other}"
        else:
            raise AssertionError(f"unknown check kind {c.kind}")
        if c.unless:
            cond = f"and (not {values_ref(c.unless)}) ({cond})"
        lines += [f"{{{{- if {cond} }}}}", f"{{{{- fail (printf {_go_string(message)} {args}) }}}}", "{{- end }}"]
    lines.append("{{- end -}}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- chart files


CONTENT_DIGEST_ANNOTATION = "tripgen-cdk8s/content-digest"
"""The Chart.yaml annotation recording the digest of the chart's content (see :func:`versioned`)."""


def _chart_yaml(chart: Any, version: str, digest: str) -> str:
    chart_yaml: dict[str, Any] = {
        "apiVersion": "v2",
        "name": chart.name,
        "description": chart.description,
        "type": "application",
        "version": version,
        "appVersion": chart.app_version,
        "kubeVersion": chart.kubernetes.kube_version,
    }
    if chart.keywords:
        chart_yaml["keywords"] = list(chart.keywords)
    meta = chart.metadata
    if meta is not None and meta.home:
        chart_yaml["home"] = meta.home
    if meta is not None and meta.sources:
        chart_yaml["sources"] = list(meta.sources)
    if meta is not None and meta.maintainers:
        chart_yaml["maintainers"] = [{k: v for k, v in (("name", m.name), ("email", m.email), ("url", m.url)) if v}
                                     for m in meta.maintainers]
    annotations = dict(chart.annotations)
    if digest:
        annotations[CONTENT_DIGEST_ANNOTATION] = digest
    if annotations:
        chart_yaml["annotations"] = annotations
    return yaml.dump(chart_yaml, Dumper=_Dumper, sort_keys=False, width=10_000)


def chart_files(chart: Any) -> dict[str, str]:
    """Every file of one chart, by relative path (``chart`` is a SynthesizedChart)."""
    labels = _label_templates(chart.name, chart.version, chart.app_version)
    files: dict[str, str] = {}
    files["Chart.yaml"] = _chart_yaml(chart, chart.version, chart.content_digest)
    files[".helmignore"] = HELMIGNORE
    files["values.yaml"] = render_values(chart.values)
    files["values.schema.json"] = render_schema(chart.values, f"{chart.name} values")
    prefix = chart.helper_prefix or chart.name
    if any(p.key.startswith("image.") for p in chart.values.params.values()):
        files["templates/_helpers.tpl"] = HELPERS.replace("PREFIX", prefix)
    validate = ""
    if chart.values.checks():
        files["templates/_validate.tpl"] = render_validate(chart.values, prefix)
        validate = f'{{{{- include "{prefix}.validate" . -}}}}\n'
    names = template_file_names(chart.objects)
    for obj, name in zip(chart.objects, names, strict=True):
        bindings = chart.values.bindings.get((obj["kind"], obj["metadata"]["name"]), [])
        text = render_template(obj, bindings, labels, chart.namespace)
        for included in re.findall(r'\$\.Template\.BasePath "/([^"]+)"', text):
            if included not in names:
                raise AssertionError(f"{chart.name}/templates/{name} includes templates/{included}, which the chart lacks")
        files[f"templates/{name}"] = validate + text
    files["templates/NOTES.txt"] = render_notes(chart)
    files["README.md"] = render_readme(chart)
    return files


def content_digest(chart: Any) -> str:
    """``sha256:<hex>`` over every file of the chart, with Chart.yaml's ``version`` and digest
    annotation left out: equal for equal content whatever the version (the templates render the
    ``helm.sh/chart`` label from ``.Chart.Version``, so no other file holds it)."""
    files = chart_files(chart)
    files["Chart.yaml"] = _chart_yaml(chart, "", "")
    digest = hashlib.sha256()
    for rel in sorted(files):
        digest.update(rel.encode() + b"\0" + files[rel].encode() + b"\0")
    return "sha256:" + digest.hexdigest()


_SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?\Z")


def _core(version: str) -> tuple[int, int, int] | None:
    match = _SEMVER.match(version)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def next_version(base: str, digest: str, committed: Mapping[str, Any] | None) -> str:
    """The version of a chart whose content has ``digest``, given its committed Chart.yaml
    (``committed``, parsed; None when there is none) and the version the config asks for (``base``).

    Same digest as committed: the committed version (unless ``base`` is higher).  Another digest:
    the committed version with its patch number bumped (unless ``base`` is higher).  No committed
    chart, or one without a SemVer version: ``base``.  Deterministic: the same content and the same
    committed chart give the same version; no git history is read."""
    base_core = _core(base)
    if not committed or base_core is None:
        return base
    old = str(committed.get("version", ""))
    old_core = _core(old)
    if old_core is None:
        return base
    annotations = committed.get("annotations")
    same = isinstance(annotations, dict) and annotations.get(CONTENT_DIGEST_ANNOTATION) == digest
    if same:
        return old if old_core >= base_core else base
    bumped = (old_core[0], old_core[1], old_core[2] + 1)
    return ".".join(map(str, bumped)) if bumped >= base_core else base


def _relabel(node: Any, old: str, new: str) -> Any:
    if isinstance(node, dict):
        return {k: new if k == HELM_CHART and v == old else _relabel(v, old, new) for k, v in node.items()}
    if isinstance(node, list):
        return [_relabel(v, old, new) for v in node]
    return node


def versioned(chart: Any, committed: Mapping[str, Any] | None) -> Any:
    """``chart`` (a SynthesizedChart) with its content digest recorded and its version moved as
    :func:`next_version` says, the ``helm.sh/chart`` labels of its objects following."""
    digest = content_digest(chart)
    version = next_version(chart.version, digest, committed)
    objects = chart.objects
    if version != chart.version:
        old, new = chart_label(chart.name, chart.version), chart_label(chart.name, version)
        objects = [_relabel(o, old, new) for o in objects]
    return dataclasses.replace(chart, version=version, content_digest=digest, objects=objects)


def render_notes(chart: Any) -> str:
    """NOTES.txt printed by helm after an install (template ``notes.txt.j2``)."""
    from .documents import render

    return render("notes.txt.j2", chart=chart, kinds=sorted({f"{o['kind']}" for o in chart.objects}))


def render_readme(chart: Any) -> str:
    """The chart README with its parameter table, generated from the values (template ``chart-readme.md.j2``)."""
    from .documents import render

    params = [{"key": p.key, "description": p.description, "value": _scalar(p.default)} for p in chart.values.params.values()]
    return render("chart-readme.md.j2", chart=chart, params=params)


def manifest_files(chart: Any) -> dict[str, str]:
    """A plain manifest set: its objects grouped into the files it assigned, as multi-document YAML."""
    grouped: dict[str, list[str]] = {}
    for obj in chart.objects:
        path = chart.files[(obj["kind"], obj["metadata"]["name"])]
        grouped.setdefault(path, []).append(dump_yaml(obj))
    return {path: "---\n".join(docs) for path, docs in grouped.items()}


def environment_files(charts: Iterable[Any]) -> dict[str, str]:
    """Every file of one environment directory, by path relative to it."""
    files: dict[str, str] = {}
    for chart in charts:
        produced = chart_files(chart) if chart.is_helm else manifest_files(chart)
        for rel, text in produced.items():
            files[f"{chart.name}/{rel}"] = text
    return files
