"""Text in objects is data: template-looking strings and the writer's own placeholder form render
literally through the real helm, and the nested YAML of the SecretProviderClass stays a document."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml

from conftest import find, parse_all, run_helm
from tripgen_cdk8s.lib.helm import chart_files, render_template
from tripgen_cdk8s.lib.helmchart import Binding

TRICKY = [
    "{{ .Release.Name }}",
    '{{ fail "rendered as a template" }}',
    "TRIPGENHELMBINDING000000X",
    "TRIPGENHELMBINDING999999X",
    "a }} b {{- c -}} d",
    "{{/* comment */}}",
]


def _chart(tmp_path: Path, obj: dict, bindings: list[Binding], values: str) -> Path:
    chart = tmp_path / "tricky"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: tricky\nversion: 1.0.0\n")
    (chart / "values.yaml").write_text(values)
    (chart / "templates" / "configmap.yaml").write_text(render_template(obj, bindings, {}))
    return chart


def test_template_text_and_placeholder_forms_render_literally_with_real_helm(helm, tmp_path):
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "tricky", "annotations": {}},
           "data": {f"k{i}": text for i, text in enumerate(TRICKY)}}
    obj["metadata"]["annotations"]["bound"] = "real value"
    obj["data"]["multi"] = "line {{ one }}\nTRIPGENHELMBINDING000001X line two\n"
    bindings = [Binding(("metadata", "annotations", "bound"), "{{ .Values.bound | quote }}", "real value")]
    chart = _chart(tmp_path, obj, bindings, 'bound: "real value"\n')
    [rendered] = parse_all(run_helm(helm, "template", "tricky", str(chart)))
    assert rendered == obj
    [changed] = parse_all(run_helm(helm, "template", "tricky", str(chart), "--set", "bound=other"))
    assert changed["metadata"]["annotations"]["bound"] == "other"
    assert changed["data"] == obj["data"]


def test_each_render_uses_a_fresh_placeholder_nonce(tmp_path):
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "1"}}
    bindings = [Binding(("data", "a"), "{{ .Values.a | quote }}", "1")]
    first, second = render_template(obj, bindings, {}), render_template(obj, bindings, {})
    assert first == second and "TRIPGEN" not in first and '{{ .Values.a | quote }}' in first


def test_a_chart_description_with_template_text_is_literal_in_the_chart(helm, tmp_path):
    from conftest import synthesis

    chart = next(c for c in synthesis("dev").charts if c.name == "user-service")
    odd = dataclasses.replace(chart, description='users {{ fail "no" }} TRIPGENHELMBINDING000000X')
    files = chart_files(odd)
    root = tmp_path / "user-service"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    rendered = parse_all(run_helm(helm, "template", "user-service", str(root), "--namespace", chart.namespace))
    assert sorted(rendered, key=lambda o: o["kind"]) == sorted(chart.objects, key=lambda o: o["kind"])
    assert yaml.safe_load(files["Chart.yaml"])["description"] == odd.description


def test_the_secret_provider_objects_parameter_is_nested_yaml_with_exactly_three_keys_per_object():
    spc = find("prod", "SecretProviderClass", "ai-service-secrets")
    outer = yaml.safe_load(spc["spec"]["parameters"]["objects"])
    items = [yaml.safe_load(text) for text in outer["array"]]
    assert [sorted(i) for i in items] == [["objectAlias", "objectName", "objectType"]] * len(items)
    assert {i["objectName"]: i["objectAlias"] for i in items} == {
        "ai-service-db-password": "DB_PASSWORD", "redis-access-key": "REDIS_PASSWORD",
        "servicebus-connection-string": "AZURE_SERVICEBUS_CONNECTION_STRING", "jwt-signing-key": "JWT_SECRET",
        "openai-api-key": "OPENAI_API_KEY",
        "appinsights-connection-string": "APPLICATIONINSIGHTS_CONNECTION_STRING"}  # TRIPGEN.md 9.3

