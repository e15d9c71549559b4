"""`validate`: passes on main, and breaking any one invariant fails with that invariant's message."""

from __future__ import annotations

import copy

import pytest

from conftest import CRDS, objects, run_cli
from tripgen_cdk8s.lib import validation as v


def prod() -> list[dict]:
    return copy.deepcopy(objects("prod"))


def get(objs: list[dict], kind: str, name: str) -> dict:
    return next(o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name)


def test_validate_command_passes_on_main_and_prints_each_check():
    proc = run_cli("validate")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert sum(line.startswith("ok   ") for line in lines) >= 15
    assert "checkov" in proc.stdout and lines[-1].endswith("checks passed")


def test_every_invariant_passes_on_the_prod_objects():
    objs = prod()
    for check in (v.check_selectors, v.check_scale_targets, v.check_pod_references, v.check_ports,
                  v.check_disruption_budgets, v.check_unique):
        assert check(objs) == [], check.__name__
    assert v.check_network_coverage(objs, require_default_deny=True) == []
    assert v.check_custom_resources(objs, CRDS) == []
    assert v.check_builtin_schemas(objs) == []


def break_service_selector(objs):
    get(objs, "Service", "trip-service")["spec"]["selector"] = {"app.kubernetes.io/part-of": "tripgen"}


def break_pdb_selector(objs):
    get(objs, "PodDisruptionBudget", "ai-service")["spec"]["selector"]["matchLabels"] = {"app": "nothing"}


def break_hpa_target(objs):
    get(objs, "HorizontalPodAutoscaler", "user-service")["spec"]["scaleTargetRef"]["name"] = "user-svc"


def break_scaled_object_target(objs):
    get(objs, "ScaledObject", "ai-service")["spec"]["scaleTargetRef"]["kind"] = "Deployment"


def break_service_account(objs):
    get(objs, "Rollout", "trip-service")["spec"]["template"]["spec"]["serviceAccountName"] = "trip-sa"


def break_config_map(objs):
    objs.remove(get(objs, "ConfigMap", "ai-service-config"))


def break_secret_provider_class(objs):
    objs.remove(get(objs, "SecretProviderClass", "location-service-secrets"))


def break_volume(objs):
    get(objs, "Rollout", "user-service")["spec"]["template"]["spec"]["volumes"].pop(0)


def break_probe_port(objs):
    get(objs, "Rollout", "user-service")["spec"]["template"]["spec"]["containers"][0]["readinessProbe"][
        "httpGet"]["port"] = "management"


def break_target_port(objs):
    get(objs, "Service", "location-service")["spec"]["ports"][0]["targetPort"] = "web"


def break_network_policy(objs):
    objs.remove(get(objs, "NetworkPolicy", "trip-service"))
    objs.remove(get(objs, "NetworkPolicy", "production-network-policy"))
    objs.remove(get(objs, "NetworkPolicy", "allow-dns"))
    objs.remove(get(objs, "NetworkPolicy", "default-deny"))


def break_default_deny(objs):
    objs.remove(get(objs, "NetworkPolicy", "default-deny"))


def break_pdb_min_available(objs):
    get(objs, "PodDisruptionBudget", "location-service")["spec"]["minAvailable"] = 2


def break_duplicate(objs):
    objs.append(copy.deepcopy(get(objs, "ConfigMap", "trip-service-config")))


def break_builtin_schema(objs):
    get(objs, "Service", "ai-service")["spec"]["portz"] = [8080]


def break_crd_schema(objs):
    get(objs, "ServiceMonitor", "ai-service")["spec"]["endpoints"][0]["intervall"] = "30s"


def break_rollout_preview_service(objs):
    objs.remove(get(objs, "Service", "trip-service-preview"))


CASES = [
    (break_service_selector, v.check_selectors, "Service/trip-service: selector"),
    (break_pdb_selector, v.check_selectors, "PodDisruptionBudget/ai-service: selector"),
    (break_hpa_target, v.check_scale_targets, "scale target Rollout/user-svc does not exist"),
    (break_scaled_object_target, v.check_scale_targets, "scale target Deployment/ai-service does not exist"),
    (break_service_account, v.check_pod_references, "ServiceAccount/trip-sa does not exist"),
    (break_config_map, v.check_pod_references, "ConfigMap/ai-service-config does not exist"),
    (break_secret_provider_class, v.check_pod_references, "SecretProviderClass/location-service-secrets does not exist"),
    (break_volume, v.check_pod_references, "volume tmp is not declared"),
    (break_probe_port, v.check_ports, "readinessProbe port 'management'"),
    (break_target_port, v.check_ports, "targetPort 'web'"),
    (break_network_policy, lambda o: v.check_network_coverage(o, False), "Rollout/trip-service: no NetworkPolicy"),
    (break_default_deny, lambda o: v.check_network_coverage(o, True), "not covered by a default-deny"),
    (break_pdb_min_available, v.check_disruption_budgets, "minAvailable 2 is not below the minimum replicas (2)"),
    (break_duplicate, v.check_unique, "ConfigMap/trip-service-config (namespace tripgen-prod) is defined 2 times"),
    (break_builtin_schema, v.check_builtin_schemas, "Service/ai-service"),
    (break_crd_schema, lambda o: v.check_custom_resources(o, CRDS), "ServiceMonitor/ai-service"),
    (break_rollout_preview_service, v.check_scale_targets, "previewService Service/trip-service-preview does not exist"),
]


@pytest.mark.parametrize(("breaker", "check", "message"), CASES, ids=[c[0].__name__ for c in CASES])
def test_breaking_one_invariant_fails_with_its_message(breaker, check, message):
    objs = prod()
    breaker(objs)
    errors = check(objs)
    assert any(message in e for e in errors), errors


def test_run_checks_reports_failure_and_summary():
    lines: list[str] = []
    failed = v.run_checks([("good", lambda: []), ("bad", lambda: ["broken thing"])], lines.append)
    assert failed == 1
    assert lines == ["ok   good", "FAIL bad", "     broken thing", "1 of 2 checks passed, 1 failed"]


def test_validate_exits_1_when_a_chart_is_broken(project_copy):
    import shutil

    shutil.copytree(CRDS, project_copy / "crds")
    hpa = project_copy / "charts/prod/user-service/templates/horizontalpodautoscaler.yaml"
    hpa.write_text(hpa.read_text().replace("kind: Rollout\n    name: user-service", "kind: Rollout\n    name: user-svc"))
    proc = run_cli("validate", "--crds", str(project_copy / "crds"), cwd=project_copy)
    assert proc.returncode == 1
    assert "FAIL prod: charts/ in sync with the config" in proc.stdout
    assert "FAIL prod/user-service: helm lint --strict and round trip" in proc.stdout
    assert "ok   prod/trip-service: helm lint --strict and round trip" in proc.stdout


def test_a_missing_tool_is_one_failure_line_saying_how_to_get_it():
    proc = run_cli("validate", "--env", "dev", env={"TRIPGEN_HELM": "/nonexistent/helm"})
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    missing = [line for line in proc.stdout.splitlines() if "helm not found" in line]
    assert missing and all("set TRIPGEN_HELM" in line and "PATH" in line for line in missing)
    assert "ok   dev: Kubernetes 1.29-1.37 schemas (strict, every minor)" in proc.stdout  # the other checks still run


def test_tools_are_found_through_the_documented_environment_variables(helm):
    proc = run_cli("validate", "--env", "dev", env={"TRIPGEN_HELM": helm, "TRIPGEN_CHECKOV": "/nonexistent/checkov"})
    assert proc.returncode == 1
    assert "ok   dev/user-service: helm lint --strict and round trip" in proc.stdout
    assert "FAIL dev: checkov\n     checkov not installed: put checkov on PATH or set TRIPGEN_CHECKOV" in proc.stdout


def test_validate_uses_the_crds_vendored_with_the_package_and_accepts_another_directory(tmp_path):
    assert CRDS.name == "crds" and CRDS.parent.name == "lib" and CRDS.parent.parent.name == "tripgen_cdk8s"
    assert (CRDS / "SOURCES.md").is_file() and (CRDS / "LICENSE-Apache-2.0.txt").is_file()
    proc = run_cli("validate", "--env", "dev", "--crds", str(tmp_path), env={"TRIPGEN_CHECKOV": "/nonexistent"})
    assert proc.returncode == 1
    assert "FAIL dev: custom resources against their CRDs" in proc.stdout
    assert "no CRD for argoproj.io/v1alpha1 Application" in proc.stdout
