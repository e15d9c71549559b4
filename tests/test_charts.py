"""The charts as helm and the API server see them: lint, round trip, schemas, CRDs, checkov, secrets."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from conftest import CRDS, ENVIRONMENTS, ROOT, objects, parse_all, run_helm, synthesis
from tripgen_cdk8s.lib.validation import HELM_FRAMEWORK_SKIPS, check_custom_resources

CHARTS = [(env, c.name) for env in ENVIRONMENTS for c in synthesis(env).charts if c.is_helm]
CHART_IDS = [f"{e}/{c}" for e, c in CHARTS]
BUILTIN_GROUPS = ("v1", "apps/v1", "autoscaling/v2", "policy/v1", "networking.k8s.io/v1",
                  "rbac.authorization.k8s.io/v1")


def chart_of(env: str, name: str):
    return next(c for c in synthesis(env).charts if c.name == name)


def key(o: dict) -> tuple[str, str]:
    return (o["kind"], o["metadata"]["name"])


@pytest.mark.parametrize(("env", "chart"), CHARTS, ids=CHART_IDS)
def test_helm_lint_strict(helm, env, chart):
    out = run_helm(helm, "lint", "--strict", str(ROOT / "charts" / env / chart))
    assert "0 chart(s) failed" in out


@pytest.mark.parametrize(("env", "chart"), CHARTS, ids=CHART_IDS)
def test_helm_template_with_defaults_gives_exactly_the_synthesised_objects(helm, env, chart):
    namespace = chart_of(env, chart).namespace
    rendered = parse_all(run_helm(helm, "template", chart, str(ROOT / "charts" / env / chart), "--namespace", namespace))
    synthesised = chart_of(env, chart).objects
    assert sorted(rendered, key=key) == sorted(synthesised, key=key)


CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding"}


@pytest.mark.parametrize(("env", "chart"), CHARTS, ids=CHART_IDS)
def test_the_release_namespace_decides_where_every_object_and_reference_goes(helm, env, chart):
    own = chart_of(env, chart).namespace
    text = run_helm(helm, "template", chart, str(ROOT / "charts" / env / chart), "--namespace", "other")
    rendered = parse_all(text)
    for obj in rendered:
        if obj["kind"] in CLUSTER_SCOPED:
            assert "namespace" not in obj["metadata"], key(obj)
        else:
            assert obj["metadata"]["namespace"] == "other", key(obj)
    # references that embed the namespace follow it: service URLs, PromQL matchers, RBAC subjects
    assert not re.search(r"(?<![a-z0-9-])" + re.escape(own) + r"(?![a-z0-9-])", text), text
    for obj in rendered:
        if obj["kind"] == "Namespace":
            assert obj["metadata"]["name"] == "other"
            assert obj["metadata"]["labels"]["kubernetes.io/metadata.name"] == "other"


def test_set_image_tag_and_digest_change_the_image(helm):
    chart = str(ROOT / "charts" / "prod" / "trip-service")
    dep = next(o for o in parse_all(run_helm(helm, "template", "trip-service", chart, "--set", "image.tag=v9.9.9"))
               if o["kind"] == "Rollout")
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "acrtrpgenprod.azurecr.io/trip-service:v9.9.9"
    digest = "sha256:" + "ab" * 32
    dep = next(o for o in parse_all(run_helm(helm, "template", "trip-service", chart, "--set", f"image.digest={digest}"))
               if o["kind"] == "Rollout")
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"].endswith(f"trip-service@{digest}")


def test_values_are_real_template_values(helm):
    chart = str(ROOT / "charts" / "prod" / "trip-service")
    out = parse_all(run_helm(helm, "template", "trip-service", chart, "--set", "autoscaling.maxReplicas=12",
                             "--set", "resources.limits.memory=3Gi", "--set", "podDisruptionBudget.minAvailable=1"))
    by_kind = {o["kind"]: o for o in out}
    assert by_kind["HorizontalPodAutoscaler"]["spec"]["maxReplicas"] == 12
    assert by_kind["Rollout"]["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] == "3Gi"
    assert by_kind["PodDisruptionBudget"]["spec"]["minAvailable"] == 1


def test_values_schema_rejects_unknown_keys_and_wrong_types(helm):
    chart = str(ROOT / "charts" / "prod" / "trip-service")
    for bad in ("autoscaling.maxReplica=12", "autoscaling.maxReplicas=twelve", "image.digest=sha256:nope"):
        proc = subprocess.run([helm, "template", "trip-service", chart, "--set", bad], capture_output=True, text=True)
        assert proc.returncode != 0 and "values don't meet the specifications of the schema" in proc.stderr, bad


@pytest.mark.parametrize(("env", "chart"), CHARTS, ids=CHART_IDS)
def test_every_values_key_is_commented_and_in_the_schema(env, chart):
    folder = ROOT / "charts" / env / chart
    lines = (folder / "values.yaml").read_text().splitlines()
    for i, line in enumerate(lines):
        if line.strip() and not line.lstrip().startswith("#"):
            assert lines[i - 1].lstrip().startswith("#"), f"uncommented key: {line}"
    schema = json.loads((folder / "values.schema.json").read_text())
    jsonschema.validate(yaml.safe_load((folder / "values.yaml").read_text()) or {}, schema)
    assert schema["additionalProperties"] is False


def test_integers_render_as_integers():
    dep_values = yaml.safe_load((ROOT / "charts/prod/user-service/values.yaml").read_text())
    assert dep_values["autoscaling"]["maxReplicas"] == 10
    hpa = (ROOT / "charts/prod/user-service/templates/horizontalpodautoscaler.yaml").read_text()
    assert "maxReplicas: {{ .Values.autoscaling.maxReplicas }}" in hpa


@pytest.mark.parametrize(("env", "chart"), CHARTS, ids=CHART_IDS)
def test_chart_yaml(env, chart):
    meta = yaml.safe_load((ROOT / "charts" / env / chart / "Chart.yaml").read_text())
    assert meta["apiVersion"] == "v2" and meta["name"] == chart
    assert meta["kubeVersion"] == ">=1.29.0-0"
    assert meta["version"] and meta["appVersion"]


# ---------------------------------------------------------------------------- schemas


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_builtin_object_passes_kubernetes_1_29_schema_strict(env):
    builtins = [o for o in objects(env) if o["apiVersion"] in BUILTIN_GROUPS]
    assert len(builtins) >= {"prod": 30, "dev": 20}[env]
    for obj in builtins:
        # SchemaNotFoundError (an apiVersion 1.29 does not know) propagates and fails the test.
        kubernetes_validate.validate(obj, "1.29", strict=True)


def test_a_missing_schema_is_a_failure():
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        kubernetes_validate.validate({"apiVersion": "autoscaling/v2beta1", "kind": "HorizontalPodAutoscaler",
                                      "metadata": {"name": "x"}}, "1.29", strict=True)


def validate_custom_resource(obj: dict) -> None:
    errors = check_custom_resources([obj], CRDS)
    if errors:
        raise jsonschema.ValidationError("; ".join(errors))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_custom_resource_validates_against_its_crd(env):
    assert CRDS.is_dir(), f"{CRDS} missing: the vendored CRDs ship in tripgen_cdk8s/crds"
    custom = [o for o in objects(env) if o["apiVersion"] not in BUILTIN_GROUPS]
    kinds = {o["kind"] for o in custom}
    if env == "prod":
        assert {"ScaledObject", "TriggerAuthentication", "SecretProviderClass", "ServiceMonitor",
                "PrometheusRule"} <= kinds
    for obj in custom:
        validate_custom_resource(obj)


def test_crd_validation_catches_a_wrong_field():
    so = dict(next(o for o in objects("prod", "ScaledObject")))
    so = {**so, "spec": {**so["spec"], "minReplicaCount": "two"}}
    with pytest.raises(jsonschema.ValidationError):
        validate_custom_resource(so)
    so = {**so, "spec": {**so["spec"], "minReplicaCount": 2, "maxReplicas": 8}}
    with pytest.raises(jsonschema.ValidationError):
        validate_custom_resource(so)


# ---------------------------------------------------------------------------- scanners


CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
WAIVERS = {"CKV_K8S_43", "CKV_K8S_38"}


def run_checkov(helm: str, *args: str) -> dict:
    assert CHECKOV.is_file(), f"{CHECKOV} missing: run scripts/install-checkov.sh"
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",
           "PATH": f"{Path(helm).parent}{os.pathsep}{os.environ['PATH']}"}
    assert shutil.which("helm", path=env["PATH"]), "checkov --framework helm scans nothing without helm on PATH"
    proc = subprocess.run([str(CHECKOV), *args, "--quiet", "--compact", "-o", "json"], capture_output=True,
                          text=True, env=env, check=False)
    report = json.loads(proc.stdout)
    return report if isinstance(report, dict) else {"results": {}, "summary": report[0]["summary"]}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_checkov_kubernetes_and_helm_report_no_failed_checks(helm, env, tmp_path):
    for _e, chart in [c for c in CHARTS if c[0] == env]:
        run_helm(helm, "template", chart, str(ROOT / "charts" / env / chart), "--namespace",
                 chart_of(env, chart).namespace, "--output-dir", str(tmp_path))
    # The helm framework renders without a namespace (so `default`): CKV_K8S_21 is left to the
    # kubernetes framework, which sees the objects in the environment's namespace.
    for args in (["--framework", "kubernetes", "-d", str(tmp_path)],
                 ["--framework", "helm", "-d", str(ROOT / "charts" / env), "--skip-check", ",".join(HELM_FRAMEWORK_SKIPS)]):
        report = run_checkov(helm, *args)
        summary = report["summary"]
        assert summary["resource_count"] > 15, f"checkov scanned nothing: {args}"
        assert summary["failed"] == 0, json.dumps(report["results"].get("failed_checks"), indent=1)[:4000]
        skipped = {c["check_id"] for c in report["results"].get("skipped_checks", [])}
        assert skipped <= WAIVERS, f"unexpected waivers {skipped - WAIVERS}"


# The keyword detector flags the name references `secretProviderClass: <name>` (CSI volume, prod)
# and `secretName: <name>` (Secret volume, dev): object names, not secrets. Those exact line
# shapes are the only exclusion.
SECRET_SCAN_EXCLUDE = r"^\s*(secretProviderClass|secretName): \"?[a-z0-9-]+\"?$"


def detect_secrets(folder: Path) -> dict:
    proc = subprocess.run([str(Path(os.sys.executable).parent / "detect-secrets"), "scan", "--all-files",
                           "--exclude-lines", SECRET_SCAN_EXCLUDE, "."],
                          capture_output=True, text=True, check=True, cwd=folder)  # it skips paths outside cwd
    return json.loads(proc.stdout)["results"]


def test_detect_secrets_finds_nothing_in_the_charts():
    assert detect_secrets(ROOT / "charts") == {}


def test_detect_secrets_would_find_a_leaked_secret(tmp_path):
    (tmp_path / "leak.yaml").write_text('password: "hunter2-Sup3rS3cret!x"\nsecretProviderClass: ai-service-secrets\n')
    found = detect_secrets(tmp_path)
    assert [f["line_number"] for f in next(iter(found.values()))] == [1]


def test_no_kubernetes_secret_objects_and_no_secret_env_in_prod():
    assert not objects("prod", "Secret")
    assert objects("prod", "Rollout") and not objects("prod", "Deployment")
    for dep in objects("prod", "Rollout"):
        container = dep["spec"]["template"]["spec"]["containers"][0]
        assert "env" not in container
        assert [s for s in container["envFrom"] if "secretRef" in s] == []
