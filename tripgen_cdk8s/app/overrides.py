"""``--set CHART.KEY=VALUE`` for every app: a one-run override of a chart's own Helm value.

The value is checked against the key's schema in the chart (``values.schema.json``), becomes the
key's default in ``values.yaml``, and every field bound to the key is re-rendered in Python exactly
as the chart's template renders it, so the synthesised objects are what ``helm template --set``
would give; the invariants and guardrails then run on them as on any synthesis.  An app layer may
supply its own ``Project.overrides`` instead (TripGen maps each key to a field of its typed config).
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping
from typing import Any

import jsonschema

from ..lib.errors import ConfigError, UsageError
from ..lib.helmchart import Binding, SynthesizedChart, ValueParam

_VALUE = re.compile(r'^\{\{ (?:\.Values\.(?P<dotted>[A-Za-z0-9_.]+)|\(index \.Values (?P<index>(?:"[^"]+" ?)+)\))'
                    r'(?P<filters>(?: \| (?:toString|quote))*) \}\}$')
_IMAGE = re.compile(r'^\{\{ include "[^"]+\.image" \. \| quote \}\}$')
_PREFIXED_IMAGE = re.compile(r'^\{\{ if \.Values\.(?P<p>[A-Za-z0-9_.]+)\.image\.digest \}\}\{\{ printf "%s/%s@%s" ')
_REFERENCED = re.compile(r'\.Values\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)')
IMAGE_KEYS = ("image.registry", "image.repository", "image.tag", "image.digest")


class NotApplicable(ConfigError):
    """A ``--set`` naming a chart or a key this environment does not have (with several
    environments selected, it applies to those that have it)."""

    def __init__(self, assignment: str, field: str, value: object, allowed: str) -> None:
        super().__init__(field, value, allowed)
        self.assignment = assignment


def parse_assignment(text: str) -> tuple[str, str, str]:
    """``catalog.autoscaling.maxReplicas=12`` -> (chart, key, raw value)."""
    if "=" not in text:
        raise UsageError(f"--set {text!r}: expected <chart>.<values key>=<value>")
    lhs, raw = text.split("=", 1)
    if "." not in lhs:
        raise UsageError(f"--set {text!r}: expected <chart>.<values key>=<value>")
    chart, key = lhs.split(".", 1)
    return chart, key, raw


def _keys_and_render(binding: Binding) -> tuple[tuple[str, ...], Any] | None:
    """The value keys a binding's template reads, and a function rendering it from values; None
    for a binding that reads no value (the release namespace)."""
    m = _VALUE.match(binding.template)
    if m:
        key = m["dotted"] or ".".join(re.findall(r'"([^"]+)"', m["index"]))
        to_string = "toString" in (m["filters"] or "")
        return (key,), (lambda v: str(v[key]) if to_string else v[key])
    m = _PREFIXED_IMAGE.match(binding.template)
    if m or _IMAGE.match(binding.template):
        keys = tuple(f"{m['p']}.{k}" for k in IMAGE_KEYS) if m else IMAGE_KEYS

        def image(v: Mapping[str, Any]) -> str:  # the chart's image helper: the digest wins over the tag
            registry, repository, tag, digest = (v[k] for k in keys)
            return f"{registry}/{repository}@{digest}" if digest else f"{registry}/{repository}:{tag}"
        return keys, image
    if ".Values" in binding.template:  # a template tripgen cannot evaluate: the keys it reads
        return tuple(_REFERENCED.findall(binding.template)), None
    return None


def _coerce(param: ValueParam, raw: str, where: str) -> Any:
    kind = param.schema.get("type")
    if kind == "boolean":
        if raw not in ("true", "false"):
            raise ConfigError(where, raw, "allowed: true or false")
        return raw == "true"
    if kind == "integer":
        if not re.fullmatch(r"-?[0-9]{1,18}", raw):
            raise ConfigError(where, raw, "allowed: an integer")
        return int(raw)
    return raw


def _set(obj: Any, path: tuple[str | int, ...], value: Any) -> None:
    for part in path[:-1]:
        obj = obj[part]
    obj[path[-1]] = value


def apply_values(charts: list[SynthesizedChart], assignments: tuple[str, ...]) -> None:
    """Apply every ``--set`` to the charts' values and bound fields, in place; ConfigError naming
    the chart and key (with the nearest valid one) or the schema rule the value breaks."""
    by_name = {c.name: c for c in charts if c.is_helm}
    for text in assignments:
        name, key, raw = parse_assignment(text)
        chart = by_name.get(name)
        if chart is None:
            hint = difflib.get_close_matches(name, list(by_name), n=1)
            raise NotApplicable(text, f"--set {name}", name, f"allowed charts: {', '.join(by_name)}"
                              + (f" (did you mean {hint[0]}?)" if hint else ""))
        params = chart.values.params
        where = f"--set {name}.{key}"
        if key not in params:
            hint = difflib.get_close_matches(key, list(params), n=1, cutoff=0.4)
            raise NotApplicable(text, where, raw, (f"unknown values key; did you mean {name}.{hint[0]}? " if hint
                                           else "unknown values key; ") + f"keys of {name}: {', '.join(params)}")
        param = params[key]
        value = _coerce(param, raw, where)
        error = next(iter(jsonschema.Draft7Validator(param.schema).iter_errors(value)), None)
        if error is not None:
            if error.validator == "pattern" and param.allowed:
                raise ConfigError(where, value, param.allowed)
            raise ConfigError(where, value, f"allowed: {error.message} (values.schema.json)")
        params[key] = dataclasses.replace(param, default=value)
        values = {k: p.default for k, p in params.items()}
        objects = {(o["kind"], o["metadata"]["name"]): o for o in chart.objects}
        for obj_key, bindings in chart.values.bindings.items():
            for i, binding in enumerate(bindings):
                found = _keys_and_render(binding)
                if found is None or key not in found[0]:
                    continue
                keys, render = found
                if render is None:
                    raise ConfigError(where, raw, f"allowed: a key whose fields tripgen can render "
                                      f"({obj_key[0]}/{obj_key[1]} uses it in {binding.template})")
                new = render(values)
                _set(objects[obj_key], binding.path, new)
                bindings[i] = Binding(binding.path, binding.template, new)
