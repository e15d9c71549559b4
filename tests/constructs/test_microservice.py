"""MicroService: its objects, values and bindings, and the intents other constructs state on it."""

from __future__ import annotations

import pytest
from construct_helpers import new_chart, services, synth

from tripgen_cdk8s.lib.constructs import MicroService, PreviewAnalysis, Strategy
from tripgen_cdk8s.lib.helmchart import Resource
from tripgen_cdk8s.lib.labels import NAME
from tripgen_cdk8s.lib.model import Image, SecretFile


def pod_of(objs, name="demo", kind="Deployment"):
    return objs[(kind, name)]["spec"]["template"]


def container_of(objs, name="demo", kind="Deployment"):
    [container] = pod_of(objs, name, kind)["spec"]["containers"]
    return container


def templates(chart, kind, name):
    return {b.path: b.template for b in chart.values.bindings[(kind, name)]}


def test_the_construct_takes_scope_id_and_props():
    chart = new_chart()
    service = services(chart)
    svc = service("demo")
    assert isinstance(svc, MicroService)
    assert svc.node.id == "demo" and svc.node.scope is chart
    assert svc.props.name == "demo" and svc.helm_chart is chart


def test_emits_service_account_config_map_deployment_and_service_in_that_order():
    chart = new_chart()
    service = services(chart)
    service("demo")
    objs = synth(chart)
    assert list(objs) == [("ServiceAccount", "demo-sa"), ("ConfigMap", "demo-config"), ("Deployment", "demo"),
                          ("Service", "demo")]
    assert all(o["metadata"]["namespace"] == "ns" for o in objs.values())
    assert objs[("ServiceAccount", "demo-sa")]["automountServiceAccountToken"] is False
    assert objs[("Deployment", "demo")]["spec"]["template"]["spec"]["serviceAccountName"] == "demo-sa"
    assert container_of(objs)["envFrom"] == [{"configMapRef": {"name": "demo-config"}}]


def test_namespace_defaults_to_the_chart_and_can_be_overridden():
    chart = new_chart()
    service = services(chart)
    service("a")
    service("b", namespace="other")
    objs = synth(chart)
    assert objs[("Deployment", "a")]["metadata"]["namespace"] == "ns"
    assert objs[("Deployment", "b")]["metadata"]["namespace"] == "other"


def test_default_port_8080_and_probe_paths():
    chart = new_chart()
    service = services(chart)
    svc = service()
    objs = synth(chart)
    c = container_of(objs)
    assert svc.port == 8080
    assert c["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http", "scheme": "HTTP"}
    assert c["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert objs[("Service", "demo")]["spec"]["ports"] == [
        {"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}]
    assert svc.url() == "http://demo.ns.svc.cluster.local:8080"


def test_custom_port_and_probe_paths():
    chart = new_chart()
    service = services(chart)
    svc = service(port=9000, liveness_path="/live", readiness_path="/ready")
    objs = synth(chart)
    c = container_of(objs)
    assert c["ports"][0]["containerPort"] == 9000
    assert objs[("Service", "demo")]["spec"]["ports"][0]["port"] == 9000
    assert c["livenessProbe"]["httpGet"]["path"] == "/live" and c["startupProbe"]["httpGet"]["path"] == "/live"
    assert c["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert svc.url().endswith(":9000")


@pytest.mark.parametrize("props", [{"port": 0}, {"port": 65536}, {"liveness_path": "healthz"},
                                   {"readiness_path": "ready"}])
def test_invalid_port_or_probe_path_is_refused(props):
    chart = new_chart()
    service = services(chart)
    with pytest.raises(ValueError):
        service(**props)


def test_fixed_replicas_and_the_replica_count_value():
    chart = new_chart()
    service = services(chart)
    service(replicas=3)
    objs = synth(chart)
    assert objs[("Deployment", "demo")]["spec"]["replicas"] == 3
    assert chart.values.params["replicaCount"].default == 3
    assert templates(chart, "Deployment", "demo")[("spec", "replicas")] == "{{ .Values.replicaCount }}"


def test_image_by_tag_and_the_image_helper_binding():
    chart = new_chart()
    service = services(chart)
    service()
    objs = synth(chart)
    assert container_of(objs)["image"] == "registry.example.io/demo:v1.0.0"
    assert container_of(objs)["imagePullPolicy"] == "IfNotPresent"
    [binding] = [b for b in chart.values.bindings[("Deployment", "demo")]
                 if b.path == ("spec", "template", "spec", "containers", 0, "image")]
    assert binding.template == '{{ include "demo.image" . | quote }}'
    assert binding.expected == "registry.example.io/demo:v1.0.0"
    assert chart.values.params["image.tag"].default == "v1.0.0"
    assert chart.values.params["image.digest"].default == ""


def test_image_digest_wins_over_the_tag_and_the_helper_prefix_is_used():
    chart = new_chart()
    service = services(chart)
    chart = new_chart("demo", helper_prefix="tg")
    digest = "sha256:" + "a" * 64
    service(scope=chart, image=Image("reg.io", "repo", "v2", digest=digest, pull_policy="Always"))
    objs = synth(chart)
    assert container_of(objs)["image"] == f"reg.io/repo@{digest}"
    assert container_of(objs)["imagePullPolicy"] == "Always"
    image_path = ("spec", "template", "spec", "containers", 0, "image")
    assert templates(chart, "Deployment", "demo")[image_path] == '{{ include "tg.image" . | quote }}'
    assert chart.values.params["image.digest"].default == digest


def test_resources_are_values_bound_into_the_container():
    chart = new_chart()
    service = services(chart)
    service()
    objs = synth(chart)
    assert container_of(objs)["resources"] == {
        "requests": {"cpu": "200m", "memory": "512Mi", "ephemeral-storage": "256Mi"},
        "limits": {"cpu": "1", "memory": "1Gi", "ephemeral-storage": "1Gi"}}
    assert chart.values.params["resources.limits.memory"].default == "1Gi"
    path = ("spec", "template", "spec", "containers", 0, "resources", "requests", "ephemeral-storage")
    assert templates(chart, "Deployment", "demo")[path] == '{{ (index .Values "resources" "requests" ' \
                                                          '"ephemeral-storage") | quote }}'


def test_config_becomes_the_config_map_and_its_checksum_a_pod_annotation():
    chart = new_chart()
    service = services(chart)
    svc = service(config={"B": "2", "A": "1"})
    objs = synth(chart)
    assert objs[("ConfigMap", "demo-config")]["data"] == {"A": "1", "B": "2"}
    assert list(objs[("ConfigMap", "demo-config")]["data"]) == ["A", "B"]
    assert pod_of(objs)["metadata"]["annotations"] == {"checksum/config": svc.config_checksum()}


def test_config_added_after_construction_is_in_the_config_map_and_changes_the_checksum():
    chart = new_chart()
    service = services(chart)
    first = new_chart("one")
    service(scope=first, config={"A": "1"})
    before = pod_of(synth(first))["metadata"]["annotations"]["checksum/config"]

    second = new_chart("two")
    svc = service(scope=second, config={"A": "1"})
    svc.add_config("NEW", "value")  # state is collected until synthesis
    objs = synth(second)
    assert objs[("ConfigMap", "demo-config")]["data"] == {"A": "1", "NEW": "value"}
    after = pod_of(objs)["metadata"]["annotations"]["checksum/config"]
    assert after != before and after == svc.config_checksum()


def test_a_config_key_set_twice_to_different_values_is_refused():
    chart = new_chart()
    service = services(chart)
    svc = service(config={"A": "1"})
    svc.add_config("A", "1")  # the same value again is fine
    with pytest.raises(ValueError, match=r"demo/demo\.config\.A: .*already set to"):
        svc.add_config("A", "2")


def test_add_pod_label_labels_the_pods_but_not_the_selector():
    chart = new_chart()
    service = services(chart)
    svc = service(pod_labels={"x": "1"})
    svc.add_pod_label("team", "core")
    objs = synth(chart)
    dep = objs[("Deployment", "demo")]
    assert dep["spec"]["template"]["metadata"]["labels"]["team"] == "core"
    assert dep["spec"]["template"]["metadata"]["labels"]["x"] == "1"
    assert dep["spec"]["selector"]["matchLabels"] == {NAME: "demo", "app.kubernetes.io/instance": "demo"}
    assert "team" not in dep["metadata"]["labels"]


def test_writable_paths_are_empty_dir_volumes():
    chart = new_chart()
    service = services(chart)
    service(writable_paths=("/tmp", "/app/cache_dir"))
    objs = synth(chart)
    pod = pod_of(objs)["spec"]
    assert [v["name"] for v in pod["volumes"]] == ["tmp", "app-cache-dir"]
    assert pod["volumes"][1]["emptyDir"] == {"sizeLimit": "256Mi"}
    assert container_of(objs)["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"},
                                                  {"name": "app-cache-dir", "mountPath": "/app/cache_dir"}]


def test_add_volume_mounts_it_and_refuses_a_second_volume_of_the_same_name():
    chart = new_chart()
    service = services(chart)
    svc = service(writable_paths=())
    svc.add_volume({"name": "data", "emptyDir": {}}, {"name": "data", "mountPath": "/data"})
    with pytest.raises(ValueError, match=r"demo/demo\.volumes: invalid value 'data'; each volume name once"):
        svc.add_volume({"name": "data", "emptyDir": {}}, {"name": "data", "mountPath": "/other"})
    objs = synth(chart)
    assert pod_of(objs)["spec"]["volumes"] == [{"name": "data", "emptyDir": {}}]
    assert container_of(objs)["volumeMounts"] == [{"name": "data", "mountPath": "/data"}]


def test_no_volumes_without_writable_paths():
    chart = new_chart()
    service = services(chart)
    service(writable_paths=())
    objs = synth(chart)
    assert "volumes" not in pod_of(objs)["spec"] and "volumeMounts" not in container_of(objs)


def test_secret_files_of_one_secret_share_the_secrets_volume():
    chart = new_chart()
    service = services(chart)
    svc = service(writable_paths=())
    svc.add_secret_file(SecretFile("db", "password", "DB_PASSWORD"))
    svc.add_secret_file(SecretFile("db", "user", "DB_USER"))
    objs = synth(chart)
    [volume] = pod_of(objs)["spec"]["volumes"]
    assert volume == {"name": "secrets", "secret": {"secretName": "db", "defaultMode": 0o440, "items": [
        {"key": "password", "path": "DB_PASSWORD"}, {"key": "user", "path": "DB_USER"}]}}
    assert container_of(objs)["volumeMounts"] == [{"name": "secrets", "mountPath": "/mnt/secrets", "readOnly": True}]
    assert svc.secret_source == "Secret db"


def test_a_secret_alias_mounted_twice_is_refused():
    chart = new_chart()
    service = services(chart)
    svc = service()
    svc.add_secret_file(SecretFile("db", "password", "P"))
    with pytest.raises(ValueError, match=r"\.secret_files: invalid value 'P'; each alias once"):
        svc.add_secret_file(SecretFile("db", "other", "P"))


def test_secret_files_from_a_second_source_are_refused():
    chart = new_chart()
    service = services(chart)
    svc = service()
    svc.add_secret_file(SecretFile("db", "password", "P"))
    with pytest.raises(ValueError, match="invalid value 'Secret other'; one source per service; they come from Secret db"):
        svc.add_secret_file(SecretFile("other", "k", "Q"))
    with pytest.raises(ValueError, match="invalid value .csi.*one source per service"):
        svc.mount_secrets("csi", {"csi": {}})


def test_mount_secrets_is_idempotent_for_the_same_source():
    chart = new_chart()
    service = services(chart)
    svc = service(writable_paths=())
    assert svc.mount_secrets("csi", {"csi": {"driver": "d"}}) is True
    assert svc.mount_secrets("csi", {"csi": {"driver": "d"}}) is False
    assert pod_of(synth(chart))["spec"]["volumes"] == [{"name": "secrets", "csi": {"driver": "d"}}]


def test_annotate_service_account():
    chart = new_chart()
    service = services(chart)
    svc = service()
    svc.annotate_service_account("example.com/role", "reader")
    sa = synth(chart)[("ServiceAccount", "demo-sa")]
    assert sa["metadata"]["annotations"] == {"example.com/role": "reader"}


def test_kubernetes_api_access_mounts_the_token():
    chart = new_chart()
    service = services(chart)
    service(kubernetes_api_access=True)
    objs = synth(chart)
    assert objs[("ServiceAccount", "demo-sa")]["automountServiceAccountToken"] is True
    assert pod_of(objs)["spec"]["automountServiceAccountToken"] is True


def test_allow_to_another_service_adds_its_url_to_the_callers_config():
    chart = new_chart()
    service = services(chart)
    caller, callee = service("web"), service("trip-api", port=9090)
    caller.connections.allow_to(callee)
    objs = synth(chart)
    assert objs[("ConfigMap", "web-config")]["data"] == {"TRIP_API_URL": "http://trip-api.ns.svc.cluster.local:9090"}
    assert "TRIP_API_URL" not in objs[("ConfigMap", "trip-api-config")].get("data", {})
    # the URL embeds the namespace, so it follows .Release.Namespace
    [binding] = chart.values.bindings[("ConfigMap", "web-config")]
    assert binding.path == ("data", "TRIP_API_URL")
    assert ".Release.Namespace" in binding.template


def test_rolling_strategy_is_a_deployment_with_a_rolling_update():
    chart = new_chart()
    service = services(chart)
    service(strategy=Strategy.rolling(max_surge=2, revision_history_limit=3))
    dep = synth(chart)[("Deployment", "demo")]
    assert dep["apiVersion"] == "apps/v1"
    assert dep["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 2, "maxUnavailable": 0}}
    assert dep["spec"]["revisionHistoryLimit"] == 3 and dep["spec"]["progressDeadlineSeconds"] == 600


def test_blue_green_without_analysis_is_a_rollout_with_a_preview_service():
    chart = new_chart()
    service = services(chart)
    svc = service(strategy=Strategy.blue_green())
    objs = synth(chart)
    assert ("Deployment", "demo") not in objs and ("AnalysisTemplate", "demo-preview-error-rate") not in objs
    rollout = objs[("Rollout", "demo")]
    assert rollout["apiVersion"] == "argoproj.io/v1alpha1"
    assert rollout["spec"]["strategy"] == {"blueGreen": {"activeService": "demo", "previewService": "demo-preview",
                                                         "autoPromotionEnabled": False, "scaleDownDelaySeconds": 1800}}
    assert objs[("Service", "demo-preview")]["spec"] == objs[("Service", "demo")]["spec"]
    assert svc.workload_kind == "Rollout" and svc.analysis_template is None


def test_blue_green_with_analysis_adds_the_analysis_template():
    chart = new_chart()
    service = services(chart)
    analysis = PreviewAnalysis("http://prometheus.monitoring:9090",
                               'sum(rate(errors{service="{{args.service-name}}",namespace="ns"}[1m]))', "0.05")
    service(strategy=Strategy.blue_green(auto_promotion_enabled=True, analysis=analysis))
    objs = synth(chart)
    bg = objs[("Rollout", "demo")]["spec"]["strategy"]["blueGreen"]
    assert bg["autoPromotionEnabled"] is True
    assert bg["prePromotionAnalysis"] == {"templates": [{"templateName": "demo-preview-error-rate"}],
                                          "args": [{"name": "service-name", "value": "demo-preview"}]}
    template = objs[("AnalysisTemplate", "demo-preview-error-rate")]
    [metric] = template["spec"]["metrics"]
    assert metric["successCondition"] == "result[0] < 0.05" and metric["count"] == 5
    assert metric["provider"]["prometheus"]["query"] == analysis.query
    # the namespace matcher in the PromQL follows .Release.Namespace
    [binding] = chart.values.bindings[("AnalysisTemplate", "demo-preview-error-rate")]
    assert binding.path == ("spec", "metrics", 0, "provider", "prometheus", "query")


def test_canary_steps_then_full_weight():
    chart = new_chart()
    service = services(chart)
    service(strategy=Strategy.canary(steps=((10, 60), (50, 90))))
    objs = synth(chart)
    assert ("Service", "demo-preview") not in objs
    assert objs[("Rollout", "demo")]["spec"]["strategy"] == {"canary": {"maxSurge": "25%", "maxUnavailable": 0, "steps": [
        {"setWeight": 10}, {"pause": {"duration": "1m"}}, {"setWeight": 50}, {"pause": {"duration": "90s"}},
        {"setWeight": 100}]}}


def test_the_objects_are_produced_once():
    chart = new_chart()
    service = services(chart)
    svc = service()
    first = synth(chart)
    svc.add_config("LATE", "x")
    svc.add_pod_label("late", "x")
    again = synth(chart)
    assert "LATE" not in again[("ConfigMap", "demo-config")].get("data", {})
    assert "late" not in pod_of(again)["metadata"]["labels"]
    assert again[("Deployment", "demo")] is first[("Deployment", "demo")]
    with pytest.raises(RuntimeError, match="added after synthesis"):
        Resource(chart, api_version="v1", kind="ConfigMap", name="late", namespace="ns")
    with pytest.raises(RuntimeError, match="added after synthesis"):
        service("another")


def test_values_are_declared_once_at_synthesis():
    chart = new_chart()
    service = services(chart)
    service()
    assert chart.values.params == {}
    chart.synthesize()
    chart.synthesize()
    assert list(chart.values.params)[:5] == ["image.registry", "image.repository", "image.tag", "image.digest",
                                             "image.pullPolicy"]
    # image, pullPolicy, 6 resources, replicas, the checksum/config annotation Helm computes
    assert len(chart.values.bindings[("Deployment", "demo")]) == 1 + 1 + 6 + 1 + 1
