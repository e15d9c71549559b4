"""A cdk8s Chart that also knows its Helm values and where each value lands in its objects.

Constructs synthesise plain Kubernetes objects with the real values (so every check runs on what
the cluster will get) and *bind* selected fields to Helm values: ``bind(obj, path, key)`` records
that the field at ``path`` of ``obj`` is ``.Values.<key>``.  The Helm writer replaces exactly those
fields with template expressions; ``helm template`` with the chart's own values.yaml therefore
gives back exactly the synthesised objects, and ``--set image.tag=X`` really changes the image.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import cdk8s
import constructs

from .errors import ConfigError
from .kubeversions import KubernetesVersions
from .labels import standard_labels
from .model import ChartMetadata, Maintainer

Path = tuple[str | int, ...]
__all__ = ["ChartMetadata", "Maintainer"]  # re-exported: the chart's metadata types live in lib.model


@dataclass(frozen=True)
class ValueParam:
    """One Helm value: its dotted key, default, description and JSON schema; ``allowed`` is how
    an error names what its ``pattern`` accepts (``allowed: a CPU quantity such as 200m``)."""

    key: str
    default: Any
    description: str
    schema: dict[str, Any]
    allowed: str = ""


@dataclass(frozen=True)
class ValueCheck:
    """A rule on one Helm value that the chart's templates enforce at install time (``fail``),
    whatever ``--set``, ``-f`` or ``--skip-schema-validation`` says, and synth checks the same way.

    ``kind``: ``pattern`` (``arg`` a regular expression Python and Go read alike, searched in the
    value as text), ``minimum`` / ``maximum`` (``arg`` an integer bound), ``enum`` (``arg`` the
    allowed strings), ``at_least`` / ``below`` (``arg`` the key of another integer value).
    ``allowed`` ends the message (``{other}`` becomes the other value); ``unless`` names a value
    that, when not empty, turns the check off (an image digest wins over the tag).
    The message, from synth and from ``helm template`` alike: ``<key>: invalid value <v>; <allowed>``.
    """

    key: str
    kind: str
    arg: Any
    allowed: str
    unless: str = ""

    def problem(self, values: Mapping[str, Any]) -> tuple[Any, str] | None:
        """(value, allowed) when ``values`` (dotted key -> value) break the check, else None."""
        if self.unless and values.get(self.unless):
            return None
        value = values.get(self.key)
        if self.kind == "pattern":
            ok = isinstance(value, str) and "\n" not in value and re.search(self.arg, value) is not None
            return None if ok else (value, self.allowed)
        if self.kind == "enum":
            return None if value in self.arg else (value, self.allowed)
        bound = values.get(self.arg) if self.kind in ("at_least", "below") else self.arg
        if not (isinstance(value, int) and isinstance(bound, int)) or isinstance(value, bool) or isinstance(bound, bool):
            return None  # a value of the wrong type: its schema type reports it
        ok = {"minimum": value >= bound, "maximum": value <= bound, "at_least": value >= bound,
              "below": value < bound}[self.kind]
        return None if ok else (value, self.allowed.replace("{other}", str(bound)))


@dataclass(frozen=True)
class Binding:
    """The field at ``path`` of one object is rendered by the Go template ``template``; ``key`` is
    the Helm value it renders (empty for a computed template such as the release namespace)."""

    path: Path
    template: str
    expected: Any
    key: str = ""


@dataclass
class ChartValues:
    """The ordered values of one chart and the bindings of its objects."""

    params: dict[str, ValueParam] = field(default_factory=dict)
    bindings: dict[tuple[str, str], list[Binding]] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    rules: list[ValueCheck] = field(default_factory=list)
    group_schemas: dict[str, dict[str, Any]] = field(default_factory=dict)

    def rule(self, check: ValueCheck, group_schema: tuple[str, dict[str, Any]] | None = None) -> None:
        """Add a rule across values (beside the ones each value's schema implies), and optionally
        the JSON schema keywords (``if``/``then``) that express it on the object ``group_schema[0]``."""
        if check not in self.rules:
            self.rules.append(check)
        if group_schema is not None:
            self.group_schemas.setdefault(group_schema[0], {}).update(group_schema[1])

    def checks(self) -> list[ValueCheck]:
        """Every install-time check: those each value's schema implies (pattern, integer bounds,
        enum), then the rules across values, in declaration order."""
        out: list[ValueCheck] = []
        for p in self.params.values():
            sch = p.schema
            if "pattern" in sch:
                out.append(ValueCheck(p.key, "pattern", sch["pattern"], p.allowed or f"allowed: a value matching {sch['pattern']}"))
            if "enum" in sch:
                out.append(ValueCheck(p.key, "enum", list(sch["enum"]), f"allowed: {', '.join(map(str, sch['enum']))}"))
            if sch.get("type") == "integer":
                if "minimum" in sch:
                    out.append(ValueCheck(p.key, "minimum", sch["minimum"], f"allowed: at least {sch['minimum']}"))
                if "maximum" in sch:
                    out.append(ValueCheck(p.key, "maximum", sch["maximum"], f"allowed: at most {sch['maximum']}"))
        return [*out, *self.rules]

    def current(self) -> dict[str, Any]:
        """Dotted key -> value (the defaults, with any ``--set`` applied)."""
        return {k: p.default for k, p in self.params.items()}

    def problems(self) -> list[tuple[str, Any, str]]:
        """(key, value, allowed) of every check the current values break."""
        values = self.current()
        out = []
        for c in self.checks():
            found = c.problem(values)
            if found is not None:
                out.append((c.key, *found))
        return out

    def describe(self, group: str, description: str) -> None:
        """Describe the value group ``group`` (``image``, ``resources.limits``): the comment above it
        in values.yaml and its description in the schema."""
        self.groups[group] = description

    def add(self, key: str, default: Any, description: str, *, allowed: str = "", **schema: Any) -> Any:
        """Declare the value ``key``; returns ``default`` so callers can use it inline.  ``schema``
        is its JSON schema (``pattern``, ``minimum``...: the templates enforce these too); ``allowed``
        how an error names what its pattern accepts."""
        if key in self.params and self.params[key].default != default:
            raise ConfigError(f"values.{key}", default, f"one default per value: {key} declared twice with different "
                              f"defaults ({self.params[key].default!r} first); give the second workload its own "
                              "values_key, or put it in its own chart")
        if "type" not in schema:
            schema["type"] = _json_type(default)
        self.params[key] = ValueParam(key, default, description, schema, allowed)
        return default


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, str):
        return "string"
    raise TypeError(f"unsupported value type {type(value).__name__}")


RELEASE_NAMESPACE = "{{ .Release.Namespace }}"


def _namespace_token(namespace: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z0-9-])" + re.escape(namespace) + r"(?![a-z0-9-])")


def embeds_namespace(value: str, namespace: str) -> bool:
    """Whether ``value`` contains ``namespace`` as a whole DNS token."""
    return bool(_namespace_token(namespace).search(value))


def namespace_template(value: str, namespace: str) -> str:
    """A Go template rendering ``value`` with each occurrence of ``namespace`` (as a whole DNS token:
    ``x.shop-prod.svc`` or ``namespace="shop-prod"``, not ``sb-shop-prod``) replaced by the
    release namespace; ``value`` itself stays data (a JSON string literal, printed with toJson)."""
    parts = _namespace_token(namespace).split(value)
    if parts == ["", ""]:
        return RELEASE_NAMESPACE
    if len(parts) == 1:
        raise ValueError(f"{value!r} does not contain the namespace {namespace!r}")
    fmt = "%s".join(p.replace("%", "%%") for p in parts)
    args = " ".join([".Release.Namespace"] * (len(parts) - 1))
    return "{{ printf " + json.dumps(fmt) + " " + args + " | toJson }}"


def values_ref(key: str) -> str:
    """The Go template reference to ``.Values.<key>``; ``index`` where a segment has a hyphen."""
    parts = key.split(".")
    if all(p.isidentifier() for p in parts):
        return ".Values." + key
    return "(index .Values " + " ".join(f'"{p}"' for p in parts) + ")"


def go_json(value: Any) -> str:
    """``value`` as Go's ``json.Marshal`` writes it (Sprig's ``toJson``): sorted keys, no spaces,
    ``<``, ``>``, ``&``, U+2028 and U+2029 escaped as ``\\u003c``...; other text as Python's JSON."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char in "<>&\u2028\u2029":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def config_checksum(config_map: Mapping[str, Any]) -> str:
    """The ``checksum/config`` pod annotation of a workload reading ``config_map`` (its object):
    sha256 of its ``data`` as :data:`CHECKSUM_TEMPLATE` computes it in Helm from the rendered
    ConfigMap, so installed in another namespace (a ``data`` value embeds it) the pods roll."""
    import hashlib

    return hashlib.sha256(go_json(config_map.get("data")).encode()).hexdigest()


CHECKSUM_TEMPLATE = '{{{{ (include (print $.Template.BasePath "/{file}") . | fromYaml).data | toJson | sha256sum | quote }}}}'
"""The Go template of ``checksum/config``: the ConfigMap's template (``{file}``) rendered by this
release, its ``data`` read back, serialised and hashed (the ``include ... | sha256sum`` idiom)."""


def template_file_name(kind: str, name: str, kinds: list[str]) -> str:
    """The template file of one object: ``<kind>.yaml`` when its kind occurs once in the chart
    (``kinds``: every object's kind, lower-case), else ``<kind>-<name>.yaml``."""
    kind = kind.lower()
    return f"{kind}.yaml" if kinds.count(kind) == 1 else f"{kind}-{name}.yaml"


Body = Mapping[str, Any]


def _pointer(path: str) -> tuple[str, ...]:
    """The segments of a JSON pointer (``/metadata/annotations/a~1b`` -> metadata, annotations, a/b)."""
    if not path.startswith("/"):
        raise ConfigError("patch.path", path, "a JSON pointer starting with / (RFC 6901)")
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/"))


@dataclass(frozen=True)
class JsonPatch:
    """One RFC 6902 operation on an emitted object (use :meth:`add`, :meth:`replace`,
    :meth:`remove`), in the style of cdk8s's ``JsonPatch``: ``path`` is a JSON pointer into the
    whole object (``/spec/template/spec/dnsPolicy``, ``/metadata/annotations/a~1b`` for key ``a/b``,
    ``/spec/.../tolerations/-`` to append).  With ``create`` (``add`` only) missing parent maps are
    created, as AWS CDK's ``addOverride`` does."""

    op: str
    path: str
    value: Any = None
    create: bool = False

    @staticmethod
    def add(path: str, value: Any, *, create: bool = False) -> JsonPatch:
        """Set the member ``path`` (or insert at a list index, ``-`` appends); its parent must
        exist unless ``create``."""
        return JsonPatch("add", path, value, create)

    @staticmethod
    def replace(path: str, value: Any) -> JsonPatch:
        """Replace the existing value at ``path``."""
        return JsonPatch("replace", path, value)

    @staticmethod
    def remove(path: str) -> JsonPatch:
        """Remove the existing value at ``path``."""
        return JsonPatch("remove", path)

    @property
    def segments(self) -> tuple[str, ...]:
        """The pointer's segments."""
        return _pointer(self.path)

    def apply(self, obj: dict[str, Any], where: str) -> None:
        """Apply to ``obj`` in place; a path that does not fit is a ConfigError naming ``where``."""
        parts = self.segments
        node: Any = obj
        for i, part in enumerate(parts[:-1]):
            if isinstance(node, list):
                node = node[_index(part, len(node), where, self.path)]
            elif isinstance(node, dict):
                if part not in node:
                    if not self.create:
                        raise ConfigError(f"{where}{self.path}", self.op,
                                          f"{'/' + '/'.join(parts[:i + 1])} does not exist (JsonPatch.add(..., create=True) "
                                          "creates missing maps)")
                    node[part] = {}
                node = node[part]
            else:
                raise ConfigError(f"{where}{self.path}", self.op, "the path goes through a scalar")
        last = parts[-1]
        if isinstance(node, list):
            if self.op == "add":
                node.insert(len(node) if last == "-" else _index(last, len(node) + 1, where, self.path), self.value)
            elif self.op == "replace":
                node[_index(last, len(node), where, self.path)] = self.value
            else:
                del node[_index(last, len(node), where, self.path)]
        elif isinstance(node, dict):
            if self.op != "add" and last not in node:
                raise ConfigError(f"{where}{self.path}", self.op, "the member does not exist (use JsonPatch.add)")
            if self.op == "remove":
                del node[last]
            else:
                node[last] = self.value
        else:
            raise ConfigError(f"{where}{self.path}", self.op, "the path goes through a scalar")


def _index(part: str, size: int, where: str, path: str) -> int:
    if not part.isdigit() or int(part) >= size:
        raise ConfigError(f"{where}{path}", part, f"a list index below {size}")
    return int(part)

GENERATOR_ANNOTATION = "tripgen-cdk8s/generated-by"
"""The Chart.yaml annotation naming the tool that generated a chart (the default annotations)."""


class Resource:
    """One Kubernetes object of a :class:`HelmChart`, held in Python until synthesis.

    ``body`` is everything beside ``apiVersion``, ``kind`` and ``metadata`` (``spec``, ``data``,
    ``rules``...): a mapping, or a function producing one.  A function is called exactly once, when
    the chart is synthesised, so a construct can keep collecting state (volumes, config keys, peers)
    and the object is written whole from that state.  ``labels`` and ``annotations`` stay mutable
    until then.  ``namespace`` None makes a cluster-scoped object.

    The escape hatch for a field no prop covers: :meth:`add_json_patch` (cdk8s's
    ``ApiObject.addJsonPatch``) and :meth:`add_override` / :meth:`add_deletion_override` (AWS
    CDK's).  Patches are applied when the object is produced, so the chart's checks, the config
    checksum of a workload's ConfigMap and the Helm round trip all see the patched object; a patch
    touching a field bound to a Helm value is a ConfigError naming the value (set the value instead).
    """

    __slots__ = ("api_version", "kind", "name", "namespace", "labels", "annotations", "finalizers",
                 "_body", "_json", "_bindings", "patches", "chart_name")

    def __init__(self, chart: HelmChart | ManifestChart, *, api_version: str, kind: str, name: str, namespace: str | None,
                 labels: Mapping[str, str] | None = None, annotations: Mapping[str, str] | None = None,
                 body: Body | Callable[[], Body] | None = None, finalizers: tuple[str, ...] = ()) -> None:
        self.api_version = api_version
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.labels: dict[str, str] = dict(labels or {})
        self.annotations: dict[str, str] = dict(annotations or {})
        self.finalizers = finalizers
        self._body = body
        self._json: dict[str, Any] | None = None
        self._bindings: list[Callable[[], None]] = []
        self.patches: list[JsonPatch] = []
        self.chart_name: str = chart.chart_name
        chart._register(self)

    def add_json_patch(self, *ops: JsonPatch) -> Resource:
        """Apply ``ops`` (in order, after every earlier patch) when the object is produced."""
        if self._json is not None:
            raise ConfigError(f"{self.where}", "add_json_patch", "patches are added before synthesis")
        for op in ops:
            if op.op not in ("add", "replace", "remove"):
                raise ConfigError(f"{self.where}{op.path}", op.op, "add, replace or remove")
            op.segments  # noqa: B018 - validates the pointer now, where the patch is written
        self.patches.extend(ops)
        return self

    def add_override(self, path: str, value: Any) -> Resource:
        """Set the field at the dotted ``path`` (``spec.template.spec.dnsPolicy``), creating missing
        maps, as AWS CDK's ``addOverride``; a key containing a dot is written ``a\\.b``."""
        return self.add_json_patch(JsonPatch.add(_dotted(path), value, create=True))

    def add_deletion_override(self, path: str) -> Resource:
        """Remove the field at the dotted ``path``."""
        return self.add_json_patch(JsonPatch.remove(_dotted(path)))

    @property
    def where(self) -> str:
        """``<chart>/<Kind>/<name>``: how errors name this object."""
        return f"{self.chart_name}/{self.kind}/{self.name}"

    @property
    def key(self) -> tuple[str, str]:
        """(kind, name): how bindings and the writer address this object."""
        return (self.kind, self.name)

    def to_json(self) -> dict[str, Any]:
        """The object as Kubernetes JSON, produced on the first call and returned unchanged after."""
        if self._json is None:
            meta: dict[str, Any] = {"name": self.name}
            if self.namespace is not None:
                meta["namespace"] = self.namespace
            if self.labels:
                meta["labels"] = dict(self.labels)
            if self.annotations:
                meta["annotations"] = dict(self.annotations)
            if self.finalizers:
                meta["finalizers"] = list(self.finalizers)
            body = self._body() if callable(self._body) else (self._body or {})
            out = {"apiVersion": self.api_version, "kind": self.kind, "metadata": meta,
                   **{k: v for k, v in body.items() if v is not None}}
            if self.patches:
                out = json.loads(json.dumps(out))  # the body may share lists with construct state
                for op in self.patches:
                    op.apply(out, self.where)
            self._json = out
        return self._json


def _dotted(path: str) -> str:
    parts = re.split(r"(?<!\\)\.", path)
    return "/" + "/".join(p.replace("\\.", ".").replace("~", "~0").replace("/", "~1") for p in parts)


def _overlaps(patch: JsonPatch, binding: Path) -> bool:
    """Whether ``patch`` changes the bound field at ``binding`` (or moves it in a list)."""
    parts: list[str | int] = [int(p) if p.isdigit() else p for p in patch.segments]
    bound = list(binding)
    n = min(len(parts), len(bound))
    if parts[:n] == bound[:n]:
        return True
    # inserting into or removing from a list shifts the bound index at or after it
    last = parts[-1]
    if (patch.op in ("add", "remove") and isinstance(last, int) and len(bound) >= len(parts)
            and bound[:len(parts) - 1] == parts[:-1] and isinstance(bound[len(parts) - 1], int)):
        return bound[len(parts) - 1] >= last  # type: ignore[operator]
    return False


@dataclass(frozen=True)
class HelmChartProps:
    """The chart's metadata.

    ``namespace``: the namespace its objects are synthesised in (and the round trip's release
    namespace); the templates use ``.Release.Namespace``.  ``version``: the chart version.
    Optional: ``app_version`` (default: ``version``), ``description`` (default: the chart name),
    ``environment`` (the environment it belongs to; default ``""``), ``keywords`` for Chart.yaml
    (default none), ``annotations`` for Chart.yaml (default: the generator's name under
    ``tripgen-cdk8s/generated-by``), ``helper_prefix`` (the prefix of the chart's named
    templates, ``<prefix>.image``; default the chart name), ``kubernetes``: the supported
    :class:`~tripgen_cdk8s.lib.kubeversions.KubernetesVersions` (default 1.29-1.37: the chart's
    ``kubeVersion``, Pod Security version and the schemas ``validate`` checks), ``metadata``: the
    chart's :class:`ChartMetadata` (default: the project's ``chart_metadata``, else none).
    """

    namespace: str
    version: str
    app_version: str = ""
    description: str = ""
    environment: str = ""
    keywords: tuple[str, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=lambda: {GENERATOR_ANNOTATION: "tripgen-cdk8s"})
    helper_prefix: str = ""
    kubernetes: KubernetesVersions = field(default_factory=KubernetesVersions)
    metadata: ChartMetadata | None = None


class HelmChart(cdk8s.Chart):
    """One Helm chart: a cdk8s Chart whose objects are :class:`Resource` s, plus its
    :class:`ChartValues`.

    ``id`` is the chart name (and the Helm release name ArgoCD uses).  Constructs add objects with
    :class:`Resource` and declare values and bindings with :meth:`on_synth`; both are produced once,
    in the order they were added, when :meth:`to_json` (or :meth:`synthesize`) first runs.
    """

    def __init__(self, scope: constructs.Construct, id: str, props: HelmChartProps) -> None:
        super().__init__(scope, id, disable_resource_name_hashes=True)
        self.props = props
        self.chart_name = id
        self.target_namespace = props.namespace
        self.chart_version = props.version
        self.app_version = props.app_version or props.version
        self.description = props.description or id
        self.helper_prefix = props.helper_prefix or id
        self.values = ChartValues()
        self.notes: list[str] = []
        self.resources: list[Resource] = []
        self._producers: list[Callable[[], None]] = []
        self._objects: list[dict[str, Any]] | None = None

    def _register(self, resource: Resource) -> None:
        if self._objects is not None:
            raise RuntimeError(f"{self.chart_name}: {resource.kind}/{resource.name} added after synthesis")
        self.resources.append(resource)

    def on_synth(self, producer: Callable[[], None]) -> None:
        """Run ``producer`` once at synthesis, before the objects are produced: where a construct
        declares the values and bindings that depend on state other constructs may still change."""
        self._producers.append(producer)

    def synthesize(self) -> list[dict[str, Any]]:
        """Run the value producers, then produce every object once; later calls return the same list."""
        if self._objects is None:
            for producer in self._producers:
                producer()
            for r in self.resources:
                self._check_patches(r)
            self._objects = [r.to_json() for r in self.resources]
        return self._objects

    def _check_patches(self, r: Resource) -> None:
        for op in r.patches:
            for b in self.values.bindings.get(r.key, []):
                if _overlaps(op, b.path):
                    what = f"the Helm value {b.key}" if b.key else f"the template {b.template}"
                    raise ConfigError(f"{r.where}{op.path}", op.value if op.op != "remove" else None,
                                      f"that field is bound to {what}; set {b.key or 'it'} instead of patching it")

    def add_object(self, manifest: Mapping[str, Any], *, namespaced: bool = True) -> Resource:
        """Add a raw object (a manifest dict with ``apiVersion``, ``kind``, ``metadata.name``).

        A namespaced object without ``metadata.namespace`` goes to the chart's namespace (and so
        follows ``.Release.Namespace``); ``namespaced=False`` makes it cluster-scoped.  The
        chart's standard labels (:meth:`standard_labels`, component ``extra``) are added under the
        manifest's own.  The returned :class:`Resource` takes patches like any other.
        """
        missing = [k for k in ("apiVersion", "kind") if not manifest.get(k)]
        meta = dict(manifest.get("metadata") or {})
        if not meta.get("name"):
            missing.append("metadata.name")
        if missing:
            raise ConfigError(f"{self.chart_name}.add_object", dict(manifest), f"a manifest with {', '.join(missing)}")
        body = {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind", "metadata")}
        return Resource(self, api_version=manifest["apiVersion"], kind=manifest["kind"], name=meta["name"],
                        namespace=(meta.get("namespace") or self.target_namespace) if namespaced else None,
                        labels={**self.standard_labels("extra"), **meta.get("labels", {})},
                        annotations=meta.get("annotations"), body=json.loads(json.dumps(body)),
                        finalizers=tuple(meta.get("finalizers", ())))

    def standard_labels(self, component: str, name: str = "", part_of: str = "") -> dict[str, str]:
        """The recommended labels of an object of this chart that no workload owns (a namespace, a
        policy): ``app.kubernetes.io/name`` ``name`` (default the chart's), instance the release."""
        return standard_labels(name=name or self.chart_name, instance=self.chart_name, version=self.app_version,
                               component=component, part_of=part_of, chart=f"{self.chart_name}-{self.chart_version}")

    def to_json(self) -> list[Any]:
        """The chart's objects (cdk8s calls this when an App synthesises)."""
        return list(self.synthesize())

    @staticmethod
    def of(construct: constructs.IConstruct) -> HelmChart:
        """The HelmChart that contains ``construct``."""
        if isinstance(construct, HelmChart):
            return construct
        chart = getattr(construct, "helm_chart", None)
        if isinstance(chart, HelmChart):
            return chart
        found = cdk8s.Chart.of(construct)
        if not isinstance(found, HelmChart):
            raise TypeError(f"{construct.node.path} is not inside a HelmChart")
        return found

    def bind(self, obj: Resource, path: Path, template: str, expected: Any, key: str = "") -> None:
        """Render the field at ``path`` of ``obj`` with ``template`` (a Go template) in the chart.

        ``expected`` is the synthesised value; the writer checks the path holds it, so a binding
        can never silently point at the wrong field.  ``key`` names the Helm value(s) the template
        renders, for error messages.
        """
        self.values.bindings.setdefault(obj.key, []).append(Binding(path, template, expected, key))

    def bind_namespace(self, obj: Resource, path: Path, value: str) -> None:
        """The string at ``path`` embeds this chart's namespace: render it with the release
        namespace instead (``helm template --namespace other`` then refers to ``other``)."""
        self.bind(obj, path, namespace_template(value, self.target_namespace), value)

    def bind_namespace_in(self, obj: Resource, body: Any, prefix: Path = ()) -> None:
        """Bind every string of ``body`` (the plain value at ``prefix`` of ``obj``, e.g. its spec)
        that embeds this chart's namespace: PromQL matchers, URLs, namespace selectors."""
        if isinstance(body, str):
            if embeds_namespace(body, self.target_namespace):
                self.bind_namespace(obj, prefix, body)
        elif isinstance(body, dict):
            for key, value in body.items():
                self.bind_namespace_in(obj, value, (*prefix, key))
        elif isinstance(body, (list, tuple)):
            for i, value in enumerate(body):
                self.bind_namespace_in(obj, value, (*prefix, i))

    def bind_config_checksum(self, obj: Resource, path: Path, config_map: Resource, expected: str) -> None:
        """Render the field at ``path`` of ``obj`` (a pod annotation) as the checksum Helm computes
        from ``config_map`` as this release renders it (:data:`CHECKSUM_TEMPLATE`); ``expected`` is
        :func:`config_checksum` of the synthesised ConfigMap, what Helm gives in the chart's own namespace."""
        kinds = [r.kind.lower() for r in self.resources]
        file = template_file_name(config_map.kind, config_map.name, kinds)
        self.bind(obj, path, CHECKSUM_TEMPLATE.format(file=file), expected)

    def bind_value(self, obj: Resource, path: Path, key: str, expected: Any) -> None:
        """Bind the field at ``path`` to ``.Values.<key>`` (strings quoted, integers bare)."""
        param = self.values.params[key]
        ref = values_ref(key)
        template = f"{{{{ {ref} }}}}" if param.schema["type"] == "integer" else f"{{{{ {ref} | quote }}}}"
        self.values.bindings.setdefault(obj.key, []).append(Binding(path, template, expected, key))


class ManifestChart(cdk8s.Chart):
    """Plain manifests (no Helm), each object assigned to a file: ArgoCD's bootstrap and
    Applications live in git as plain YAML so one ``kubectl apply -f`` bootstraps an environment."""

    def __init__(self, scope: constructs.Construct, id: str, *, description: str) -> None:
        super().__init__(scope, id, disable_resource_name_hashes=True)
        self.chart_name = id
        self.description = description
        self.files: dict[tuple[str, str], str] = {}
        self.resources: list[Resource] = []

    def _register(self, resource: Resource) -> None:
        self.resources.append(resource)

    def place(self, obj: Resource, path: str) -> None:
        """Write ``obj`` to ``path`` (relative to this set's directory); several objects may share a file."""
        self.files[obj.key] = path

    def to_json(self) -> list[Any]:
        """The set's objects."""
        return [r.to_json() for r in self.resources]


@dataclass(frozen=True)
class SynthesizedChart:
    """One chart's synthesised objects and its Helm values/bindings, ready for the writer."""

    env: str
    name: str
    version: str
    app_version: str
    description: str
    namespace: str
    objects: list[dict[str, Any]]
    values: ChartValues
    notes: list[str]
    files: dict[tuple[str, str], str] | None = None
    keywords: tuple[str, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)
    helper_prefix: str = ""
    kubernetes: KubernetesVersions = field(default_factory=KubernetesVersions)
    metadata: ChartMetadata | None = None
    content_digest: str = ""

    @property
    def is_helm(self) -> bool:
        """A Helm chart (templated), or a plain manifest set (``files`` maps objects to paths)."""
        return self.files is None

    @staticmethod
    def of(chart: HelmChart, env: str) -> SynthesizedChart:
        """Synthesise ``chart``; ``env`` is its environment unless its props name one."""
        return SynthesizedChart(
            env=chart.props.environment or env, name=chart.chart_name, version=chart.chart_version,
            app_version=chart.app_version, description=chart.description, namespace=chart.target_namespace,
            objects=chart.synthesize(), values=chart.values, notes=list(chart.notes),
            keywords=chart.props.keywords, annotations=dict(chart.props.annotations),
            helper_prefix=chart.helper_prefix, kubernetes=chart.props.kubernetes, metadata=chart.props.metadata)


def resources_of(construct: object) -> list[Resource]:
    """The objects ``construct`` emitted, in the order it holds them (its public :class:`Resource`
    attributes and lists of them: ``svc.workload``, ``grant.bindings``...), each once."""
    found: dict[int, Resource] = {}
    for value in vars(construct).values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, Resource):
                found.setdefault(id(item), item)
    return list(found.values())


def resource_of(construct: object, kind: str, name: str = "") -> Resource:
    """The one object of ``kind`` (and ``name``, when given) that ``construct`` emitted, for a
    :meth:`Resource.add_json_patch`; none or several is a ConfigError listing what it has."""
    hits = [r for r in resources_of(construct) if r.kind == kind and (not name or r.name == name)]
    if len(hits) != 1:
        node = getattr(construct, "node", None)
        have = ", ".join(f"{r.kind}/{r.name}" for r in resources_of(construct)) or "nothing"
        raise ConfigError(f"{node.path if node is not None else construct}.resource", f"{kind}/{name or '*'}",
                          f"exactly one match among {have} ({len(hits)} found)")
    return hits[0]
