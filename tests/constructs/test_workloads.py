"""The pod workloads beside MicroService: Worker (no Service, no port), Job (and the PreSync hook),
CronJob and StatefulService; env from Secrets/ConfigMaps, probes, init containers and native
sidecars.  Each kind validates against the Kubernetes 1.29 schemas (strict), passes the invariants
and round-trips through the real helm."""

from __future__ import annotations

from pathlib import Path

import pytest
from construct_helpers import IMAGE, RESOURCES, new_chart, services, synth

from conftest import HELM
from tripgen_cdk8s.lib.constructs import (
    AutoscaledService,
    AutoscaledServiceProps,
    Container,
    ContainerPort,
    CronJob,
    CronJobProps,
    EnvFrom,
    EnvValue,
    Hook,
    Job,
    JobProps,
    Probe,
    ServiceNetworkPolicy,
    ServiceNetworkPolicyProps,
    StatefulService,
    StatefulServiceProps,
    VolumeClaim,
    Worker,
    WorkerProps,
)
from tripgen_cdk8s.lib.errors import ConfigError
from tripgen_cdk8s.lib.helm import chart_files
from tripgen_cdk8s.lib.helmchart import HelmChart, SynthesizedChart
from tripgen_cdk8s.lib.model import IpBlock, KedaScaling
from tripgen_cdk8s.lib.validation import (
    CRD_DIR,
    check_builtin_schemas,
    check_custom_resources,
    check_helm,
    check_invariants,
)

RESTRICTED = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
              "runAsUser": 10001, "runAsGroup": 10001, "capabilities": {"drop": ["ALL"]},
              "seccompProfile": {"type": "RuntimeDefault"}}
ENV = {"DB_PASSWORD": EnvValue.from_secret_value("db", "password"),
       "FEATURE": EnvValue.from_config_map("demo-config", "LOG_LEVEL"),
       "MODE": EnvValue.from_value("batch"),
       "TOKEN": EnvValue.from_secret_value("tokens", "api", optional=True)}
ENV_JSON = [
    {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
    {"name": "FEATURE", "valueFrom": {"configMapKeyRef": {"name": "demo-config", "key": "LOG_LEVEL"}}},
    {"name": "MODE", "value": "batch"},
    {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "tokens", "key": "api", "optional": True}}}]
SIDECAR = Container(name="proxy", image=IMAGE, resources=RESOURCES, args=("--port", "15000"),
                    ports=(ContainerPort("proxy", 15000),), readiness=Probe.tcp("proxy"))
INIT = Container(name="wait", image=IMAGE, resources=RESOURCES, command=("sh", "-c", "true"), writable_paths=("/work",))


def worker(chart: HelmChart, **props) -> Worker:
    return Worker(chart, props.pop("id", "worker"), WorkerProps(name=props.pop("name", "consumer"), image=IMAGE,
                                                                resources=RESOURCES, **props))


def round_trip(chart: HelmChart, tmp_path: Path) -> list[str]:
    """Schemas (built-in and CRDs, strict), invariants and helm lint + the exact round trip of the chart."""
    synthesized = SynthesizedChart.of(chart, "test")
    for path, text in chart_files(synthesized).items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    objs = synthesized.objects
    return (check_builtin_schemas(objs) + check_custom_resources(objs, CRD_DIR) + check_invariants(objs)
            + check_helm(str(HELM), tmp_path, chart.chart_name, objs, chart.target_namespace))


# ---------------------------------------------------------------------------- Worker


def test_a_worker_is_a_deployment_without_service_or_port_with_an_exec_probe():
    chart = new_chart()
    w = worker(chart, liveness=Probe.exec(("test", "-f", "/tmp/alive"), period_seconds=30), config={"QUEUE": "jobs"})
    objs = synth(chart)
    assert sorted(objs) == [("ConfigMap", "consumer-config"), ("Deployment", "consumer"),
                            ("ServiceAccount", "consumer-sa")]
    assert w.port is None and w.workload.kind == "Deployment"
    spec = objs[("Deployment", "consumer")]["spec"]
    assert spec["replicas"] == 1 and spec["selector"]["matchLabels"] == w.selector
    c = spec["template"]["spec"]["containers"][0]
    assert "ports" not in c and "readinessProbe" not in c
    assert c["livenessProbe"] == {"exec": {"command": ["test", "-f", "/tmp/alive"]}, "periodSeconds": 30,
                                  "timeoutSeconds": 5, "failureThreshold": 3, "successThreshold": 1}
    assert c["securityContext"] == RESTRICTED
    assert spec["template"]["spec"]["automountServiceAccountToken"] is False
    assert objs[("Deployment", "consumer")]["metadata"]["labels"]["app.kubernetes.io/component"] == "worker"
    assert objs[("ConfigMap", "consumer-config")]["data"] == {"QUEUE": "jobs"}
    assert spec["template"]["metadata"]["annotations"]["checksum/config"] == w.config_checksum()


def test_a_worker_scaled_by_keda_on_a_queue_only(tmp_path):
    chart = new_chart()
    w = worker(chart, env=ENV, env_from=(EnvFrom.from_secret("queue-credentials", prefix="Q_"),))
    chart.add_object({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "demo-config"}, "data": {}})
    AutoscaledService(chart, "autoscaling", AutoscaledServiceProps(
        target=w, scaling=KedaScaling(0, 10, triggers=({"type": "rabbitmq", "metadata": {"queueName": "jobs",
                                                                                         "mode": "QueueLength",
                                                                                         "value": "20"}},)),
        disruption_budget=False))
    ServiceNetworkPolicy(chart, "network", ServiceNetworkPolicyProps(workload=w))
    w.connections.allow_to(IpBlock("10.1.0.0/24"), ports=(5672,))
    objs = synth(chart)
    spec = objs[("Deployment", "consumer")]["spec"]
    assert "replicas" not in spec
    c = spec["template"]["spec"]["containers"][0]
    assert c["env"] == ENV_JSON
    assert c["envFrom"] == [{"configMapRef": {"name": "consumer-config"}},
                            {"secretRef": {"name": "queue-credentials"}, "prefix": "Q_"}]
    scaled = objs[("ScaledObject", "consumer")]["spec"]
    assert [t["type"] for t in scaled["triggers"]] == ["rabbitmq"] and scaled["minReplicaCount"] == 0
    assert ("PodDisruptionBudget", "consumer") not in objs
    assert "autoscaling.targetCPUUtilizationPercentage" not in chart.values.params
    egress = objs[("NetworkPolicy", "consumer")]["spec"]["egress"]
    assert egress == [{"to": [{"ipBlock": {"cidr": "10.1.0.0/24"}}], "ports": [{"protocol": "TCP", "port": 5672}]}]
    assert round_trip(chart, tmp_path) == []


def test_a_worker_values_are_under_its_own_key():
    chart = new_chart()
    worker(chart, name="queue-consumer", replicas=3)
    synth(chart)
    assert chart.values.params["queueConsumer.replicaCount"].default == 3
    assert chart.values.params["queueConsumer.image.tag"].default == IMAGE.tag
    assert {b.key for b in chart.values.bindings[("Deployment", "queue-consumer")]} >= {
        "queueConsumer.image", "queueConsumer.replicaCount", "queueConsumer.resources.limits.cpu"}


def test_nothing_can_call_a_worker_without_ports():
    chart = new_chart()
    w = worker(chart)
    svc = services(chart)()
    with pytest.raises(ConfigError, match="consumer has no default port"):
        svc.connections.allow_to(w)
    w.connections.allow_to(svc)  # a worker may still call a service: the egress rule, no URL setting
    assert w.config == {"DEMO_URL": svc.url()}


# ---------------------------------------------------------------------------- init containers and sidecars


def test_init_containers_and_native_sidecars_on_a_microservice_and_a_worker(tmp_path):
    chart = new_chart()
    svc = services(chart)(init_containers=(INIT,), sidecars=(SIDECAR,), env=ENV)
    worker(chart, init_containers=(INIT,), sidecars=(SIDECAR,))
    ServiceNetworkPolicy(chart, "np", ServiceNetworkPolicyProps(workload=svc))
    objs = synth(chart)
    for kind, name in (("Deployment", "demo"), ("Deployment", "consumer")):
        pod = objs[(kind, name)]["spec"]["template"]["spec"]
        init, proxy = pod["initContainers"]
        assert init["name"] == "wait" and "restartPolicy" not in init and init["command"] == ["sh", "-c", "true"]
        assert init["volumeMounts"] == [{"name": "work", "mountPath": "/work"}]
        assert proxy["restartPolicy"] == "Always" and proxy["readinessProbe"]["tcpSocket"] == {"port": "proxy"}
        assert init["securityContext"] == proxy["securityContext"] == RESTRICTED
        assert {"name": "work", "emptyDir": {"sizeLimit": "256Mi"}} in pod["volumes"]
    assert objs[("Deployment", "demo")]["spec"]["template"]["spec"]["containers"][0]["env"] == ENV_JSON
    assert check_builtin_schemas(list(objs.values())) == []
    assert round_trip(chart, tmp_path) == []


def test_the_default_microservice_is_unchanged_by_the_new_props():
    a, b = new_chart(), new_chart()
    services(a)()
    services(b)(env={}, env_from=(), init_containers=(), sidecars=())
    assert synth(a) == synth(b)
    pod = synth(a)[("Deployment", "demo")]["spec"]["template"]["spec"]
    assert "initContainers" not in pod and "env" not in pod["containers"][0]


def test_probes_of_each_kind():
    assert Probe.http("/healthz", "http").to_json()["httpGet"] == {"path": "/healthz", "port": "http", "scheme": "HTTP"}
    assert Probe.tcp(5432).to_json()["tcpSocket"] == {"port": 5432}
    assert Probe.grpc(9090, failure_threshold=5).to_json() == {
        "grpc": {"port": 9090}, "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 5, "successThreshold": 1}


def test_a_probe_on_an_undeclared_port_breaks_an_invariant():
    chart = new_chart()
    worker(chart, readiness=Probe.grpc(9090))
    objs = list(synth(chart).values())
    assert check_invariants(objs) == ["Deployment/consumer: readinessProbe port 9090 is not a declared container port"]


def test_a_config_map_key_ref_to_a_missing_config_map_breaks_an_invariant():
    chart = new_chart()
    worker(chart, env={"A": EnvValue.from_config_map("nowhere", "a"), "B": EnvValue.from_config_map("x", "b",
                                                                                                  optional=True)})
    assert check_invariants(list(synth(chart).values())) == [
        "Deployment/consumer: container consumer: env A: ConfigMap/nowhere does not exist"]


# ---------------------------------------------------------------------------- Job and the PreSync hook


def test_a_migration_job_runs_before_every_sync_with_its_objects_first(tmp_path):
    chart = new_chart()
    svc = services(chart)()
    job = Job(chart, "migrate", JobProps(name="demo-migrate", image=IMAGE, resources=RESOURCES,
                                         args=("migrate", "up"), hook=Hook.pre_sync(),
                                         env={"DB_PASSWORD": EnvValue.from_secret_value("db", "password")},
                                         config={"DB_HOST": "db.example.com"}))
    job.connections.allow_to(IpBlock("10.2.0.0/24"), ports=(5432,))
    ServiceNetworkPolicy(chart, "migrate-network", ServiceNetworkPolicyProps(workload=job))
    ServiceNetworkPolicy(chart, "network", ServiceNetworkPolicyProps(workload=svc))
    objs = synth(chart)
    hook = {"argocd.argoproj.io/hook": "PreSync", "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
            "helm.sh/hook": "pre-install,pre-upgrade", "helm.sh/hook-delete-policy": "before-hook-creation"}
    j = objs[("Job", "demo-migrate")]
    assert j["metadata"]["annotations"] == {**hook, "argocd.argoproj.io/sync-wave": "0", "helm.sh/hook-weight": "0"}
    for key in (("ServiceAccount", "demo-migrate-sa"), ("ConfigMap", "demo-migrate-config"),
                ("NetworkPolicy", "demo-migrate")):
        assert objs[key]["metadata"]["annotations"] == {**hook, "argocd.argoproj.io/sync-wave": "-1",
                                                        "helm.sh/hook-weight": "-1"}, key
    # the service's own objects are not hooks
    assert "annotations" not in objs[("ServiceAccount", "demo-sa")]["metadata"]
    assert "annotations" not in objs[("NetworkPolicy", "demo")]["metadata"]
    spec = j["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"]) == (2, 1800)
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["serviceAccountName"] == "demo-migrate-sa"
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                                      "fsGroup": 10001, "seccompProfile": {"type": "RuntimeDefault"}}
    c = pod["containers"][0]
    assert c["securityContext"] == RESTRICTED and c["args"] == ["migrate", "up"]
    assert c["resources"]["limits"] == {"cpu": "1", "memory": "1Gi", "ephemeral-storage": "1Gi"}
    assert j["metadata"]["labels"]["app.kubernetes.io/component"] == "job"
    assert round_trip(chart, tmp_path) == []


def test_a_plain_job_has_no_hook_annotations_and_a_post_sync_hook_its_own():
    chart = new_chart()
    Job(chart, "once", JobProps(name="once", image=IMAGE, resources=RESOURCES, ttl_seconds_after_finished=600,
                                restart_policy="OnFailure"))
    Job(chart, "smoke", JobProps(name="smoke", image=IMAGE, resources=RESOURCES, hook=Hook.post_sync(weight=5)))
    objs = synth(chart)
    assert "annotations" not in objs[("Job", "once")]["metadata"]
    assert objs[("Job", "once")]["spec"]["ttlSecondsAfterFinished"] == 600
    assert objs[("Job", "once")]["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure"
    smoke = objs[("Job", "smoke")]["metadata"]["annotations"]
    assert smoke["argocd.argoproj.io/hook"] == "PostSync" and smoke["helm.sh/hook"] == "post-install,post-upgrade"
    assert objs[("ServiceAccount", "smoke-sa")]["metadata"]["annotations"]["helm.sh/hook-weight"] == "4"


def test_a_job_restart_policy_always_is_refused():
    chart = new_chart()
    Job(chart, "bad", JobProps(name="bad", image=IMAGE, resources=RESOURCES, restart_policy="Always"))
    with pytest.raises(ConfigError, match=r"^demo/bad\.restart_policy: invalid value 'Always'; Never or OnFailure$"):
        synth(chart)


# ---------------------------------------------------------------------------- CronJob


def test_a_cron_job(tmp_path):
    chart = new_chart()
    CronJob(chart, "report", CronJobProps(name="report", image=IMAGE, resources=RESOURCES, schedule="0 3 * * *",
                                          env_from=(EnvFrom.from_config_map("report-settings"),)))
    chart.add_object({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "report-settings"},
                      "data": {"FORMAT": "csv"}})
    objs = synth(chart)
    spec = objs[("CronJob", "report")]["spec"]
    assert (spec["schedule"], spec["timeZone"], spec["concurrencyPolicy"]) == ("0 3 * * *", "Etc/UTC", "Forbid")
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["containers"][0]["securityContext"] == RESTRICTED
    assert pod["containers"][0]["envFrom"][1] == {"configMapRef": {"name": "report-settings"}}
    assert {b.key for b in chart.values.bindings[("CronJob", "report")]} >= {"report.image", "report.resources.requests.cpu"}
    assert round_trip(chart, tmp_path) == []


@pytest.mark.parametrize(("field", "value", "message"), [
    ("schedule", "daily", "five cron fields"),
    ("concurrency_policy", "Sometimes", "Allow, Forbid or Replace"),
    ("hook", Hook.pre_sync(), "a CronJob runs on its schedule"),
])
def test_cron_job_checks_name_the_construct_and_field(field, value, message):
    chart = new_chart()
    props = {"schedule": "@daily", field: value}
    with pytest.raises(ConfigError, match=rf"^demo/report\.{field}: invalid value .*{message}"):
        CronJob(chart, "report", CronJobProps(name="report", image=IMAGE, resources=RESOURCES, **props))


# ---------------------------------------------------------------------------- StatefulService


def test_a_stateful_service_with_claim_templates_and_a_headless_service(tmp_path):
    chart = new_chart()
    db = StatefulService(chart, "db", StatefulServiceProps(
        name="db", image=IMAGE, resources=RESOURCES, ports=(ContainerPort("pg", 5432),), readiness=Probe.tcp("pg"),
        volume_claims=(VolumeClaim("data", "/var/lib/data", "10Gi", storage_class="fast"),), replicas=3))
    svc = services(chart)()
    svc.connections.allow_to(db)
    objs = synth(chart)
    headless = objs[("Service", "db-headless")]["spec"]
    assert headless["clusterIP"] == "None" and headless["selector"] == db.selector
    assert headless["ports"] == [{"name": "pg", "port": 5432, "targetPort": "pg", "protocol": "TCP"}]
    spec = objs[("StatefulSet", "db")]["spec"]
    assert spec["serviceName"] == "db-headless" and spec["replicas"] == 3
    assert spec["volumeClaimTemplates"] == [{"metadata": {"name": "data", "labels": db.selector}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}, "storageClassName": "fast"}}]
    assert {"name": "data", "mountPath": "/var/lib/data"} in spec["template"]["spec"]["containers"][0]["volumeMounts"]
    assert svc.config["DB_URL"] == "http://db-headless.ns.svc.cluster.local:5432"
    assert round_trip(chart, tmp_path) == []


def test_a_stateful_service_needs_a_port():
    with pytest.raises(ConfigError, match=r"^demo/db\.ports: invalid value \(\); at least one port"):
        StatefulService(new_chart(), "db", StatefulServiceProps(name="db", image=IMAGE, resources=RESOURCES))


def test_a_hook_whose_service_account_is_not_a_hook_breaks_an_invariant():
    chart = new_chart()
    job = Job(chart, "migrate", JobProps(name="migrate", image=IMAGE, resources=RESOURCES, hook=Hook.pre_sync()))
    assert check_invariants(list(synth(chart).values())) == []
    chart = new_chart()
    job = Job(chart, "migrate", JobProps(name="migrate", image=IMAGE, resources=RESOURCES, hook=Hook.pre_sync()))
    for key in list(job.service_account.annotations):
        del job.service_account.annotations[key]
    assert check_invariants(list(synth(chart).values())) == [
        "Job/migrate: runs as a hook but ServiceAccount/migrate-sa is not a hook of the same phase with a lower sync "
        "wave and hook weight; on a first sync it would not exist yet"]


def test_two_workloads_sharing_a_values_key_with_different_defaults_is_a_config_error():
    chart = new_chart()
    worker(chart, id="a", name="a", values_key="shared")
    worker(chart, id="b", name="b", values_key="shared", replicas=2)
    with pytest.raises(ConfigError, match=r"^values\.shared\.replicaCount: invalid value 2; one default per value"):
        synth(chart)
