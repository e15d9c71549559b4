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

from .kubeversions import KubernetesVersions

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class ValueParam:
    """One Helm value: its dotted key, default, description and JSON schema."""

    key: str
    default: Any
    description: str
    schema: dict[str, Any]


@dataclass(frozen=True)
class Binding:
    """The field at ``path`` of one object is rendered by the Go template ``template``."""

    path: Path
    template: str
    expected: Any


@dataclass
class ChartValues:
    """The ordered values of one chart and the bindings of its objects."""

    params: dict[str, ValueParam] = field(default_factory=dict)
    bindings: dict[tuple[str, str], list[Binding]] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)

    def describe(self, group: str, description: str) -> None:
        """Describe the value group ``group`` (``image``, ``resources.limits``): the comment above it
        in values.yaml and its description in the schema."""
        self.groups[group] = description

    def add(self, key: str, default: Any, description: str, **schema: Any) -> Any:
        """Declare the value ``key``; returns ``default`` so callers can use it inline."""
        if key in self.params and self.params[key].default != default:
            raise ValueError(f"value {key} declared twice with different defaults")
        if "type" not in schema:
            schema["type"] = _json_type(default)
        self.params[key] = ValueParam(key, default, description, schema)
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


Body = Mapping[str, Any]

GENERATOR_ANNOTATION = "tripgen-cdk8s/generated-by"
"""The Chart.yaml annotation naming the tool that generated a chart (the default annotations)."""


class Resource:
    """One Kubernetes object of a :class:`HelmChart`, held in Python until synthesis.

    ``body`` is everything beside ``apiVersion``, ``kind`` and ``metadata`` (``spec``, ``data``,
    ``rules``...): a mapping, or a function producing one.  A function is called exactly once, when
    the chart is synthesised, so a construct can keep collecting state (volumes, config keys, peers)
    and the object is written whole from that state: there are no patches.  ``labels`` and
    ``annotations`` stay mutable until then.  ``namespace`` None makes a cluster-scoped object.
    """

    __slots__ = ("api_version", "kind", "name", "namespace", "labels", "annotations", "finalizers",
                 "_body", "_json", "_bindings")

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
        chart._register(self)

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
            self._json = {"apiVersion": self.api_version, "kind": self.kind, "metadata": meta,
                          **{k: v for k, v in body.items() if v is not None}}
        return self._json


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
    ``kubeVersion``, Pod Security version and the schemas ``validate`` checks).
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
            self._objects = [r.to_json() for r in self.resources]
        return self._objects

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

    def bind(self, obj: Resource, path: Path, template: str, expected: Any) -> None:
        """Render the field at ``path`` of ``obj`` with ``template`` (a Go template) in the chart.

        ``expected`` is the synthesised value; the writer checks the path holds it, so a binding
        can never silently point at the wrong field.
        """
        self.values.bindings.setdefault(obj.key, []).append(Binding(path, template, expected))

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

    def bind_value(self, obj: Resource, path: Path, key: str, expected: Any) -> None:
        """Bind the field at ``path`` to ``.Values.<key>`` (strings quoted, integers bare)."""
        param = self.values.params[key]
        ref = values_ref(key)
        template = f"{{{{ {ref} }}}}" if param.schema["type"] == "integer" else f"{{{{ {ref} | quote }}}}"
        self.bind(obj, path, template, expected)


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
            helper_prefix=chart.helper_prefix, kubernetes=chart.props.kubernetes)
