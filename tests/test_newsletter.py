"""examples/newsletter: a second example that differs in kind from bookstore (issue 18, item 6).

A queue worker without a Service scaled by KEDA on a RabbitMQ queue, secrets read as environment
variables, a weekly CronJob, a database migration run as a PreSync hook, guardrails on an
environment called ``live`` (not prod), two environments with their own Argo CD manifests and
READMEs.  Checked here on the objects its overlays synthesise in this process and on the committed
charts; ``tests/test_examples.py`` runs every command on it from a non-editable install.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from pathlib import Path

import pytest
import yaml

from conftest import HELM, ROOT, run_helm
from tripgen_cdk8s.app import loader, pipeline
from tripgen_cdk8s.lib.errors import ConfigError
from tripgen_cdk8s.lib.validation import check_builtin_schemas, check_custom_resources, check_helm, check_invariants

EXAMPLE = ROOT / "examples" / "newsletter"
ENVS = ("live", "staging")


@cache
def synthesis(env: str) -> pipeline.EnvironmentSynthesis:
    return pipeline.synthesize(loader.load(EXAMPLE, env), EXAMPLE)


def obj(env: str, kind: str, name: str) -> dict:
    [found] = [o for o in synthesis(env).objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def names(env: str, kind: str) -> list[str]:
    return sorted(o["metadata"]["name"] for o in synthesis(env).objects if o["kind"] == kind)


def test_the_worker_has_no_service_and_kEDA_scales_it_on_the_queue_only():
    assert "sender" not in names("live", "Service")
    pod = obj("live", "Deployment", "sender")["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert "ports" not in container and "replicas" not in obj("live", "Deployment", "sender")["spec"]
    assert container["livenessProbe"]["exec"]["command"] == ["/app/bin/healthcheck", "--live"]
    scaled = obj("live", "ScaledObject", "sender")["spec"]
    assert [t["type"] for t in scaled["triggers"]] == ["rabbitmq"]  # no cpu/memory triggers forced on it
    assert (scaled["minReplicaCount"], scaled["maxReplicaCount"]) == (2, 20)
    assert scaled["triggers"][0]["authenticationRef"]["name"] == "sender-rabbitmq"
    auth = obj("live", "TriggerAuthentication", "sender-rabbitmq")["spec"]
    assert auth == {"secretTargetRef": [{"parameter": "host", "name": "mail-broker", "key": "url"}]}


def test_the_api_hpa_is_cpu_only():
    metrics = obj("live", "HorizontalPodAutoscaler", "api")["spec"]["metrics"]
    assert [m["resource"]["name"] for m in metrics] == ["cpu"]


def test_secrets_are_environment_variables_from_secret_keys():
    env = {e["name"]: e for e in obj("live", "Deployment", "api")["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["DATABASE_URL"]["valueFrom"] == {"secretKeyRef": {"name": "mail-database", "key": "url"}}
    assert env["AMQP_URL"]["valueFrom"] == {"secretKeyRef": {"name": "mail-broker", "key": "url"}}
    for o in synthesis("live").objects:  # names and keys only: no Secret object, no value
        assert o["kind"] != "Secret"


def test_the_weekly_digest_is_a_cronjob_with_the_service_pod_security():
    cron = obj("live", "CronJob", "digest")["spec"]
    assert (cron["schedule"], cron["timeZone"], cron["concurrencyPolicy"]) == ("0 6 * * 1", "Europe/Berlin", "Forbid")
    pod = cron["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    c = pod["containers"][0]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert pod["automountServiceAccountToken"] is False


def test_the_migration_runs_before_the_sync_with_its_dependencies_first():
    job = obj("live", "Job", "api-migrate")
    a = job["metadata"]["annotations"]
    assert a["argocd.argoproj.io/hook"] == "PreSync" and a["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert a["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation"
    assert a["helm.sh/hook-delete-policy"] == "before-hook-creation"
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "api-migrate-sa"
    deps = [obj("live", "ServiceAccount", "api-migrate-sa"), obj("live", "ConfigMap", "api-migrate-config"),
            obj("live", "NetworkPolicy", "api-migrate")]
    for dep in deps:  # present before the Job runs on a first sync: earlier hooks of the same phase
        d = dep["metadata"]["annotations"]
        assert d["argocd.argoproj.io/hook"] == "PreSync"
        assert int(d["argocd.argoproj.io/sync-wave"]) < int(a["argocd.argoproj.io/sync-wave"])
        assert int(d["helm.sh/hook-weight"]) < int(a["helm.sh/hook-weight"])
    egress = obj("live", "NetworkPolicy", "api-migrate")["spec"]["egress"]
    assert any(p.get("ipBlock", {}).get("cidr") == "10.20.0.0/24" for rule in egress for p in rule.get("to", []))


def test_live_has_guardrails_although_it_is_not_called_prod():
    project = loader.load(EXAMPLE, "live")
    assert project.name == "live" and project.guardrails.require_digest and project.guardrails.min_replicas == 2
    with pytest.raises(ConfigError) as err:
        pipeline.synthesize(dataclasses.replace(project, guardrails=dataclasses.replace(
            project.guardrails, min_replicas=3)))
    assert "guardrail min_replicas" in str(err.value)
    # staging states fewer rules: one replica is fine there
    assert obj("staging", "HorizontalPodAutoscaler", "api")["spec"]["minReplicas"] == 1


@pytest.mark.parametrize("env", ENVS)
def test_each_environment_has_its_argocd_manifests_and_readme(env):
    charts = EXAMPLE / "charts" / env
    apps = sorted(p.stem for p in (charts / "argocd" / "applications").iterdir())
    assert apps == ["api", "digest", "mail-platform", "sender"]
    waves = {a: yaml.safe_load((charts / "argocd" / "applications" / f"{a}.yaml").read_text())["metadata"]
             ["annotations"]["argocd.argoproj.io/sync-wave"] for a in apps}
    assert waves == {"mail-platform": "0", "api": "1", "sender": "2", "digest": "2"}
    readme = (charts / "README.md").read_text()
    assert readme.startswith(f"# Newsletter `{env}` environment")


@pytest.mark.parametrize("env", ENVS)
def test_the_committed_charts_lint_round_trip_and_validate(env):
    s = synthesis(env)
    objects = s.objects
    assert check_builtin_schemas(objects) == [] and check_invariants(objects) == []
    from tripgen_cdk8s.lib.validation import CRD_DIR

    assert check_custom_resources(objects, CRD_DIR) == []
    for chart in s.helm_charts:
        assert check_helm(str(HELM), EXAMPLE / "charts" / env / chart.name, chart.name, chart.objects,
                          chart.namespace) == []


def test_helm_template_renders_the_hooks_in_helm_s_own_way():
    out = run_helm(str(HELM), "template", "api", str(EXAMPLE / "charts" / "live" / "api"), "--namespace", "mail")
    docs = [d for d in yaml.safe_load_all(out) if d]
    hooks = [d["metadata"]["name"] for d in docs if "helm.sh/hook" in (d["metadata"].get("annotations") or {})]
    assert sorted(hooks) == ["api-migrate", "api-migrate", "api-migrate-config", "api-migrate-sa"]
    assert Path(EXAMPLE / "README.md").is_file()


def test_set_re_renders_a_hook_s_image_and_the_hpa_bound_as_helm_would():
    project = loader.load(EXAMPLE, "staging")
    s = pipeline.synthesize(project, None, ("api.apiMigrate.image.digest=", "api.apiMigrate.image.tag=3.3.0",
                                            "api.autoscaling.maxReplicas=3"))
    [job] = [o for o in s.objects if o["kind"] == "Job"]
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example.com/newsletter/api:3.3.0"
    [hpa] = [o for o in s.objects if o["kind"] == "HorizontalPodAutoscaler"]
    assert hpa["spec"]["maxReplicas"] == 3
    [api] = [c for c in s.helm_charts if c.name == "api"]
    values = yaml.safe_load(__import__("tripgen_cdk8s.lib.helm", fromlist=["render_values"]).render_values(api.values))
    assert values["apiMigrate"]["image"]["tag"] == "3.3.0" and values["autoscaling"]["maxReplicas"] == 3
