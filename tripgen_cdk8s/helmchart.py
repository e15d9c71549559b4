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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cdk8s
import constructs

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
    ``x.tripgen-prod.svc`` or ``namespace="tripgen-prod"``, not ``sb-tripgen-prod``) replaced by the
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


class HelmChart(cdk8s.Chart):
    """One Helm chart: a cdk8s Chart plus its :class:`ChartValues`.

    ``name`` is the chart name (and the Helm release name ArgoCD uses); ``app_version`` goes to
    Chart.yaml; ``description`` to Chart.yaml and the chart README.
    """

    def __init__(
        self,
        scope: constructs.Construct,
        name: str,
        *,
        namespace: str,
        chart_version: str,
        app_version: str,
        description: str,
    ) -> None:
        super().__init__(scope, name, disable_resource_name_hashes=True)
        self.chart_name = name
        self.target_namespace = namespace
        self.chart_version = chart_version
        self.app_version = app_version
        self.description = description
        self.values = ChartValues()
        self.notes: list[str] = []
        self._finalizers: list[Callable[[], None]] = []
        self._keys: dict[int, tuple[str, str]] = {}

    def before_synth(self, finalizer: Callable[[], None]) -> None:
        """Run ``finalizer`` just before the chart is synthesised: constructs that collect
        state from later attachments (ConfigMap data, SecretProviderClass objects) write it then,
        in one patch instead of one per attachment."""
        self._finalizers.append(finalizer)

    def finalize(self) -> None:
        """Run the finalizers; call before every ``to_json()``.  Each finalizer writes only what
        changed since its last run, so finalizing twice adds nothing."""
        for fn in self._finalizers:
            fn()

    def key_of(self, obj: cdk8s.ApiObject) -> tuple[str, str]:
        """(kind, name) of ``obj``, read through jsii once per object."""
        key = self._keys.get(id(obj))
        if key is None:
            key = self._keys[id(obj)] = (obj.kind, obj.name)
        return key

    @staticmethod
    def of(construct: constructs.IConstruct) -> HelmChart:
        """The HelmChart that contains ``construct``."""
        chart = cdk8s.Chart.of(construct)
        if not isinstance(chart, HelmChart):
            raise TypeError(f"{construct.node.path} is not inside a HelmChart")
        return chart

    def bind(self, obj: cdk8s.ApiObject, path: Path, template: str, expected: Any) -> None:
        """Render the field at ``path`` of ``obj`` with ``template`` (a Go template) in the chart.

        ``expected`` is the synthesised value; the writer checks the path holds it, so a binding
        can never silently point at the wrong field.
        """
        self.values.bindings.setdefault(self.key_of(obj), []).append(Binding(path, template, expected))

    def bind_namespace(self, obj: cdk8s.ApiObject, path: Path, value: str) -> None:
        """The string at ``path`` embeds this chart's namespace: render it with the release
        namespace instead (``helm template --namespace other`` then refers to ``other``)."""
        self.bind(obj, path, namespace_template(value, self.target_namespace), value)

    def bind_namespace_in(self, obj: cdk8s.ApiObject, body: Any, prefix: Path = ()) -> None:
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

    def unbind(self, obj: cdk8s.ApiObject, prefix: Path) -> None:
        """Drop the bindings of ``obj`` under ``prefix`` (for state re-bound by a finalizer)."""
        bindings = self.values.bindings.get(self.key_of(obj), [])
        bindings[:] = [b for b in bindings if b.path[:len(prefix)] != prefix]

    def bind_value(self, obj: cdk8s.ApiObject, path: Path, key: str, expected: Any) -> None:
        """Bind the field at ``path`` to ``.Values.<key>`` (strings quoted, integers bare)."""
        param = self.values.params[key]
        ref = values_ref(key)
        template = f"{{{{ {ref} }}}}" if param.schema["type"] == "integer" else f"{{{{ {ref} | quote }}}}"
        self.bind(obj, path, template, expected)


class ManifestChart(cdk8s.Chart):
    """Plain manifests (no Helm), each object assigned to a file: ArgoCD's bootstrap and
    Applications live in git as plain YAML so one ``kubectl apply -f`` bootstraps an environment."""

    def __init__(self, scope: constructs.Construct, name: str, *, description: str) -> None:
        super().__init__(scope, name, disable_resource_name_hashes=True)
        self.chart_name = name
        self.description = description
        self.files: dict[tuple[str, str], str] = {}

    def place(self, obj: cdk8s.ApiObject, path: str) -> None:
        """Write ``obj`` to ``path`` (relative to this set's directory); several objects may share a file."""
        self.files[(obj.kind, obj.name)] = path
