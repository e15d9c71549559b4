"""Unit tests of lib/validation.py's checks on small hand-written objects: each check's exact messages,
what passes and what fails (in-process, no helm, no jsii; part of the mutation-testing selection)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tripgen_cdk8s.lib import tools
from tripgen_cdk8s.lib import validation as v
from tripgen_cdk8s.lib.kubeversions import KubernetesVersions

NS = "shop"


def obj(kind: str, name: str, ns: str | None = NS, api: str = "v1", annotations: dict[str, str] | None = None,
        **spec: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if ns is not None:
        meta["namespace"] = ns
    if annotations is not None:
        meta["annotations"] = annotations
    return {"apiVersion": api, "kind": kind, "metadata": meta, "spec": spec}


def pod(labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    spec.setdefault("containers", [{"name": "app", "ports": [{"name": "http", "containerPort": 8080}]}])
    return {"metadata": {"labels": labels or {}}, "spec": spec}


def deployment(name: str, labels: dict[str, str], ns: str | None = NS, kind: str = "Deployment", **spec: Any):
    template = spec.pop("template", None) or pod(labels)
    return obj(kind, name, ns, api="apps/v1", template=template, **spec)


def service(name: str, selector: dict[str, str], ns: str | None = NS, ports: list | None = None):
    return obj("Service", name, ns, selector=selector, ports=ports or [{"port": 80, "targetPort": "http"}])


# ---------------------------------------------------------------------------- helpers


def test_helpers_name_namespace_match_and_pod_templates():
    d = deployment("web", {"app": "web"})
    assert v._name(d) == "Deployment/web" and v._ns(d) == NS and v._ns(obj("X", "y", ns=None)) is None
    assert v._matches({"app": "web"}, {"app": "web", "tier": "x"}) and v._matches({}, {})
    assert not v._matches({"app": "web"}, {"app": "api"}) and not v._matches({"app": "web"}, {})
    cron = obj("CronJob", "nightly", api="batch/v1", jobTemplate={"spec": {"template": pod({"job": "n"})}})
    job = obj("Job", "once", api="batch/v1", template=pod({"job": "o"}))
    assert v._template(cron) == pod({"job": "n"}) and v._pod_labels(cron) == {"job": "n"}
    assert v._pod_labels(obj("Job", "bare", template={"spec": {}})) == {}
    objs = [d, cron, job, service("web", {}), deployment("db", {}, kind="StatefulSet"),
            deployment("agent", {}, kind="DaemonSet"), deployment("canary", {}, kind="Rollout")]
    assert [v._name(o) for o in v._workloads(objs)] == ["Deployment/web", "StatefulSet/db", "DaemonSet/agent",
                                                        "Rollout/canary"]
    assert [v._name(o) for o in v._pod_owners(objs)] == ["Deployment/web", "CronJob/nightly", "Job/once",
                                                         "StatefulSet/db", "DaemonSet/agent", "Rollout/canary"]


@pytest.mark.parametrize(("api", "builtin"), [("v1", True), ("apps/v1", True), ("networking.k8s.io/v1", True),
                                              ("monitoring.coreos.com/v1", False), ("cluster.x-k8s.io/v1", False),
                                              ("argoproj.io/v1alpha1", False), ("policy/v1", True)])
def test_is_builtin(api, builtin):
    assert v.is_builtin(api) is builtin


# ---------------------------------------------------------------------------- schemas


def test_builtin_schemas_strict_and_per_minor_once():
    good = obj("ConfigMap", "c", data={})
    good.pop("spec")
    good["data"] = {"a": "b"}
    bad = {**good, "metadata": {"name": "bad"}, "bogus": 1}
    assert v.check_builtin_schemas([good, obj("Widget", "w", api="example.com/v1")], "1.29") == []
    [err] = v.check_builtin_schemas([bad], "1.29")
    assert err.startswith("ConfigMap/bad: ") and "bogus" in err
    missing = {**good, "apiVersion": "nope/v9", "kind": "Thing"}
    assert v.check_builtin_schemas([missing], "1.29") == ["Thing/c: no Kubernetes 1.29 schema for nope/v9"]
    versions = KubernetesVersions("1.29", "1.30")
    assert v.check_schemas_in_range([missing], versions) == ["Kubernetes 1.29-1.30: Thing/c: no Kubernetes schema for nope/v9"]
    assert v.check_schemas_in_range([missing], KubernetesVersions("1.30", "1.30")) == [
        "Kubernetes 1.30: Thing/c: no Kubernetes schema for nope/v9"]
    assert v.check_schemas_in_range([good], versions) == []


CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
spec:
  group: example.com
  names: {kind: Widget}
  versions:
    - name: v1
      schema:
        openAPIV3Schema:
          type: object
          properties:
            apiVersion: {type: string}
            kind: {type: string}
            metadata: {type: object}
            spec:
              type: object
              properties:
                size: {type: integer}
                mode: {type: string, enum: [a, =]}
                free: {type: object, x-kubernetes-preserve-unknown-fields: true, properties: {x: {type: string}}}
---
"""


def test_custom_resources_against_their_crds(tmp_path):
    (tmp_path / "widget.yaml").write_text(CRD)
    (tmp_path / "ignored.txt").write_text("not yaml: [")
    schemas = v.crd_schemas(str(tmp_path))
    assert list(schemas) == [("example.com/v1", "Widget")]
    assert schemas[("example.com/v1", "Widget")]["properties"]["spec"]["properties"]["mode"]["enum"] == ["a", "="]
    ok = obj("Widget", "w", api="example.com/v1", size=3, mode="=", free={"anything": 1})
    assert v.check_custom_resources([ok, obj("ConfigMap", "builtin-ignored")], tmp_path) == []
    bad = obj("Widget", "w", api="example.com/v1", size="3", extra=True)
    assert sorted(v.check_custom_resources([bad], tmp_path)) == [
        "Widget/w: spec/size: '3' is not of type 'integer'",
        "Widget/w: spec: Additional properties are not allowed ('extra' was unexpected)"]
    unknown = obj("Gadget", "g", api="example.com/v1")
    assert v.check_custom_resources([unknown], tmp_path) == [f"Gadget/g: no CRD for example.com/v1 Gadget in {tmp_path}"]


def test_strict_schema_rejects_unknown_fields_at_every_level_and_fixes_go_flags():
    schema = {"type": "object", "properties": {
        "a": {"type": "string", "pattern": "^x(?i)y$"},
        "list": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "integer"}}}},
        "map": {"type": "object", "additionalProperties": {"type": "object", "properties": {"k": {"type": "string"}}}},
        "open": {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {"o": {}}},
        "loose": {"type": "object"}}}
    strict = v.strict_schema(schema)
    assert strict["additionalProperties"] is False
    assert strict["properties"]["a"]["pattern"] == "(?i)^xy$"
    assert strict["properties"]["list"]["items"]["additionalProperties"] is False
    assert strict["properties"]["map"]["additionalProperties"]["additionalProperties"] is False
    assert "additionalProperties" not in strict["properties"]["open"]
    assert "additionalProperties" not in strict["properties"]["loose"]
    assert "additionalProperties" not in schema and schema["properties"]["a"]["pattern"] == "^x(?i)y$"  # not modified
    assert v.strict_schema({"type": "string", "pattern": "^a$"}) == {"type": "string", "pattern": "^a$"}
    assert v.strict_schema({"items": [1]}) == {"items": [1]}


# ---------------------------------------------------------------------------- invariants


def test_selectors_must_match_exactly_one_workload_in_their_namespace():
    web, other_ns = deployment("web", {"app": "web"}), deployment("web2", {"app": "web"}, ns="elsewhere")
    pdb = obj("PodDisruptionBudget", "web", api="policy/v1", selector={"matchLabels": {"app": "web"}})
    assert v.check_selectors([web, other_ns, service("web", {"app": "web"}), pdb, obj("ConfigMap", "x")]) == []
    twin = deployment("twin", {"app": "web", "x": "y"})
    assert v.check_selectors([web, twin, service("web", {"app": "web"})]) == [
        "Service/web: selector {'app': 'web'} matches 2 workloads, expected exactly 1"]
    empty_pdb = obj("PodDisruptionBudget", "none", api="policy/v1", selector={})
    assert v.check_selectors([empty_pdb, service("nothing", {"app": "gone"})]) == [
        "PodDisruptionBudget/none: selector {} matches 0 workloads, expected exactly 1",
        "Service/nothing: selector {'app': 'gone'} matches 0 workloads, expected exactly 1"]
    no_selector = obj("Service", "headless", ports=[])
    assert v.check_selectors([web, no_selector]) == []


def test_scale_targets_and_rollout_services_exist():
    web = deployment("web", {"app": "web"})
    hpa = obj("HorizontalPodAutoscaler", "web", scaleTargetRef={"kind": "Deployment", "name": "web"})
    so = obj("ScaledObject", "web", scaleTargetRef={"name": "web"})  # kind defaults to Deployment
    assert v.check_scale_targets([web, hpa, so]) == []
    lost = obj("HorizontalPodAutoscaler", "lost", scaleTargetRef={"kind": "Rollout", "name": "web"})
    lost_so = obj("ScaledObject", "lost", scaleTargetRef={"name": "gone"})
    assert v.check_scale_targets([web, lost, lost_so]) == [
        "HorizontalPodAutoscaler/lost: scale target Rollout/web does not exist",
        "ScaledObject/lost: scale target Deployment/gone does not exist"]
    rollout = deployment("r", {"app": "r"}, kind="Rollout",
                         strategy={"blueGreen": {"activeService": "r", "previewService": "r-preview"}})
    assert v.check_scale_targets([rollout, service("r", {})]) == ["Rollout/r: previewService Service/r-preview does not exist"]
    assert v.check_scale_targets([rollout, service("r", {}, ns="other"), service("r-preview", {})]) == [
        "Rollout/r: activeService Service/r does not exist"]
    assert v.check_scale_targets([deployment("c", {}, kind="Rollout", strategy={"canary": {}}),
                                  deployment("d", {}, kind="Rollout")]) == []


def test_pod_references_exist():
    spec = {"serviceAccountName": "web",
            "volumes": [{"name": "cfg", "configMap": {"name": "web-config"}},
                        {"name": "secrets", "csi": {"volumeAttributes": {"secretProviderClass": "web-spc"}}},
                        {"name": "tmp", "emptyDir": {}}],
            "containers": [{"name": "app", "envFrom": [{"configMapRef": {"name": "web-env"}}, {"secretRef": {"name": "s"}}],
                            "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "web-env", "key": "a"}}},
                                    {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "maybe", "key": "b",
                                                                                    "optional": True}}},
                                    {"name": "C", "value": "c"}],
                            "volumeMounts": [{"name": "cfg"}, {"name": "secrets"}, {"name": "data"}]}],
            "initContainers": [{"name": "init", "volumeMounts": [{"name": "tmp"}]}]}
    web = deployment("web", {}, kind="StatefulSet", template={"spec": spec},
                     volumeClaimTemplates=[{"metadata": {"name": "data"}}])
    present = [obj("ServiceAccount", "web"), obj("ConfigMap", "web-config"), obj("ConfigMap", "web-env"),
               obj("SecretProviderClass", "web-spc", api="secrets-store.csi.x-k8s.io/v1")]
    assert v.check_pod_references([web, *present]) == []
    assert v.check_pod_references([web]) == [
        "StatefulSet/web: ServiceAccount/web does not exist",
        "StatefulSet/web: volume cfg: ConfigMap/web-config does not exist",
        "StatefulSet/web: volume secrets: SecretProviderClass/web-spc does not exist",
        "StatefulSet/web: container app: ConfigMap/web-env does not exist",
        "StatefulSet/web: container app: env A: ConfigMap/web-env does not exist"]
    elsewhere = [{**o, "metadata": {**o["metadata"], "namespace": "other"}} for o in present]
    assert len(v.check_pod_references([web, *elsewhere])) == 5
    bare = deployment("bare", {}, template={"spec": {"containers": [{"name": "c", "volumeMounts": [{"name": "x"}]}]}})
    assert v.check_pod_references([bare]) == ["Deployment/bare: container c: volume x is not declared"]
    default_sa = deployment("d", {}, template={"spec": {"serviceAccountName": "default", "containers": []}})
    assert v.check_pod_references([default_sa, obj("ConfigMap", "ignored")]) == []


def test_probe_and_service_ports_name_declared_ports():
    containers = [{"name": "app", "ports": [{"name": "http", "containerPort": 8080}],
                   "startupProbe": {"httpGet": {"port": "http"}}, "livenessProbe": {"tcpSocket": {"port": 8080}},
                   "readinessProbe": {"grpc": {"port": 9090}}}]
    sidecar = {"name": "proxy", "restartPolicy": "Always", "ports": [{"containerPort": 9090}],
               "readinessProbe": {"exec": {"command": ["true"]}}}
    plain_init = {"name": "init", "ports": [{"name": "metrics", "containerPort": 9100}]}
    web = deployment("web", {}, template={"metadata": {"labels": {"app": "web"}},
                                          "spec": {"containers": containers, "initContainers": [sidecar, plain_init]}})
    svc = service("web", {"app": "web"}, ports=[{"port": 80, "targetPort": "http"}, {"port": 9090}])
    assert v.check_ports([web, svc, service("other", {"app": "other"}, ports=[{"port": 1}])]) == []
    bad_svc = service("web", {"app": "web"}, ports=[{"port": 81, "targetPort": "metrics"}, {"port": 7070}])
    no_sidecar = deployment("web", {}, template={"metadata": {"labels": {"app": "web"}},
                                                 "spec": {"containers": containers, "initContainers": [plain_init]}})
    assert v.check_ports([no_sidecar, bad_svc]) == [
        "Deployment/web: readinessProbe port 9090 is not a declared container port",
        "Service/web: targetPort 'metrics' is not a port of Deployment/web",
        "Service/web: targetPort None is not a port of Deployment/web"]
    assert v.check_ports([no_sidecar, {**bad_svc, "metadata": {"name": "web", "namespace": "other"}}]) == [
        "Deployment/web: readinessProbe port 9090 is not a declared container port"]


def test_network_coverage_and_default_deny():
    web = deployment("web", {"app": "web"})
    allow = obj("NetworkPolicy", "web", api="networking.k8s.io/v1", podSelector={"matchLabels": {"app": "web"}},
                policyTypes=["Ingress"], ingress=[{}])
    deny = obj("NetworkPolicy", "deny", api="networking.k8s.io/v1", podSelector={}, policyTypes=["Egress", "Ingress"])
    assert v.check_network_coverage([web, allow], require_default_deny=False) == []
    assert v.check_network_coverage([web, allow, deny], require_default_deny=True) == []
    assert v.check_network_coverage([web], require_default_deny=False) == ["Deployment/web: no NetworkPolicy selects its pods"]
    assert v.check_network_coverage([web], require_default_deny=True) == [
        "Deployment/web: no NetworkPolicy selects its pods", "Deployment/web: not covered by a default-deny NetworkPolicy"]
    half = {**deny, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}
    leaky = {**deny, "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "egress": [{}]}}
    leaky_in = {**deny, "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [{}]}}
    other_ns = {**deny, "metadata": {"name": "deny", "namespace": "other"}}
    for policy in (half, leaky, leaky_in):
        assert v.check_network_coverage([web, policy], require_default_deny=True) == [
            "Deployment/web: not covered by a default-deny NetworkPolicy"], policy
    assert v.check_network_coverage([web, other_ns], require_default_deny=False) == [
        "Deployment/web: no NetworkPolicy selects its pods"]


def test_disruption_budgets_stay_below_the_minimum_replicas():
    def pdb(min_available: Any, ns: str = NS) -> dict[str, Any]:
        return obj("PodDisruptionBudget", "web", ns=ns, api="policy/v1", selector={"matchLabels": {"app": "web"}},
                   minAvailable=min_available)

    fixed = deployment("web", {"app": "web"}, replicas=3)
    assert v.check_disruption_budgets([fixed, pdb(2)]) == []
    assert v.check_disruption_budgets([fixed, pdb(3)]) == [
        "PodDisruptionBudget/web: minAvailable 3 is not below the minimum replicas (3) of Deployment/web; "
        "node drains would block"]
    assert v.check_disruption_budgets([fixed, pdb("50%")]) == []
    assert v.check_disruption_budgets([fixed, pdb(5, ns="other")]) == []
    unset = deployment("web", {"app": "web"})
    assert v.check_disruption_budgets([unset, pdb(1)]) == [
        "PodDisruptionBudget/web: minAvailable 1 is not below the minimum replicas (1) of Deployment/web; "
        "node drains would block"]
    assert v.check_disruption_budgets([unset, pdb(0)]) == []
    hpa = obj("HorizontalPodAutoscaler", "web", scaleTargetRef={"name": "web"}, minReplicas=4)
    assert v.check_disruption_budgets([fixed, hpa, pdb(3)]) == []
    assert v.check_disruption_budgets([fixed, hpa, pdb(4)])[0].endswith("minimum replicas (4) of Deployment/web; "
                                                                        "node drains would block")
    keda = obj("ScaledObject", "web", scaleTargetRef={"name": "web"}, minReplicaCount=2)
    assert v.check_disruption_budgets([fixed, keda, pdb(2)])[0].startswith("PodDisruptionBudget/web: minAvailable 2 ")
    keda_default = obj("ScaledObject", "web", scaleTargetRef={"name": "web"})
    assert len(v.check_disruption_budgets([fixed, keda_default, pdb(1)])) == 1
    assert v.check_disruption_budgets([fixed, keda_default, pdb(0)]) == []
    other_hpa = obj("HorizontalPodAutoscaler", "web", ns="other", scaleTargetRef={"name": "web"}, minReplicas=9)
    other_name = obj("HorizontalPodAutoscaler", "x", scaleTargetRef={"name": "x"}, minReplicas=9)
    assert v.check_disruption_budgets([fixed, other_hpa, other_name, pdb(2)]) == []
    assert v.check_disruption_budgets([fixed, other_hpa, other_name, pdb(3)]) != []
    unrelated = deployment("api", {"app": "api"}, replicas=1)
    assert v.check_disruption_budgets([unrelated, pdb(3)]) == []


def test_hooks_find_their_dependencies_on_a_first_sync():
    def hook(phase: str = "PreSync", helm: str | None = None, wave: str | None = None, weight: str | None = None):
        a = {v.ARGOCD_HOOK: phase} if phase else {}
        if helm:
            a[v.HELM_HOOK] = helm
        if wave is not None:
            a[v.ARGOCD_WAVE] = wave
        if weight is not None:
            a[v.HELM_WEIGHT] = weight
        return a

    spec = {"serviceAccountName": "migrate", "containers": [{"name": "m", "envFrom": [{"configMapRef": {"name": "env"}},
                                                                                   {"secretRef": {"name": "s"}}]}],
            "initContainers": [{"name": "i", "envFrom": [{"configMapRef": {"name": "env"}}]}]}
    job = obj("Job", "migrate", api="batch/v1", annotations=hook(wave="1", weight="1"), template={"spec": spec})
    sa = obj("ServiceAccount", "migrate", annotations=hook(wave="0", weight="0"))
    env = obj("ConfigMap", "env", annotations=hook(wave="-1", weight="-1"))
    assert v.check_hooks([job, sa, env]) == []
    assert v.check_hooks([job]) == []  # nothing the chart defines: not its business
    message = ("Job/migrate: runs as a hook but {} is not a hook of the same phase with a lower sync wave and hook "
               "weight; on a first sync it would not exist yet")
    plain_sa = obj("ServiceAccount", "migrate")
    assert v.check_hooks([job, plain_sa, env]) == [message.format("ServiceAccount/migrate")]
    for bad in (hook("Sync", wave="0", weight="0"), hook(wave="1", weight="0"), hook(wave="0", weight="1"),
                hook(helm="pre-install", wave="0", weight="0")):
        late = obj("ConfigMap", "env", annotations=bad)
        assert v.check_hooks([job, sa, late]) == [message.format("ConfigMap/env")], bad
    helm_job = obj("Job", "h", api="batch/v1", annotations=hook("", helm="pre-install"),
                   template={"spec": {"containers": []}})
    helm_sa = obj("ServiceAccount", "default", annotations=hook("", helm="pre-install", weight="-5"))
    assert v.check_hooks([helm_job, helm_sa]) == [message.replace("Job/migrate", "Job/h").format("ServiceAccount/default")]
    helm_sa_ok = obj("ServiceAccount", "default", annotations=hook("", helm="pre-install", wave="-1", weight="-5"))
    assert v.check_hooks([helm_job, helm_sa_ok]) == []
    not_a_hook = obj("Job", "plain", api="batch/v1", template={"spec": spec})
    assert v.check_hooks([not_a_hook, plain_sa]) == []
    other_ns = {**env, "metadata": {**env["metadata"], "namespace": "x", "annotations": {}}}
    assert v.check_hooks([job, sa, other_ns]) == []


def test_unique_names_and_the_invariants_together():
    a, b = obj("ConfigMap", "c"), obj("ConfigMap", "c", ns="other")
    assert v.check_unique([a, b, obj("Secret", "c")]) == []
    assert v.check_unique([a, a, a, b, b, obj("ClusterRole", "r", ns=None), obj("ClusterRole", "r", ns=None)]) == [
        "ClusterRole/r (namespace None) is defined 2 times", "ConfigMap/c (namespace other) is defined 2 times",
        "ConfigMap/c (namespace shop) is defined 3 times"]
    web = deployment("web", {"app": "web"}, replicas=2)
    assert v.check_invariants([web, service("web", {"app": "web"})]) == []
    broken = [web, web, service("web", {"app": "web"}, ports=[{"port": 1, "targetPort": "nope"}]),
              obj("HorizontalPodAutoscaler", "h", scaleTargetRef={"name": "gone"})]
    assert v.check_invariants(broken) == [
        "Service/web: selector {'app': 'web'} matches 2 workloads, expected exactly 1",
        "HorizontalPodAutoscaler/h: scale target Deployment/gone does not exist",
        "Service/web: targetPort 'nope' is not a port of Deployment/web",
        "Service/web: targetPort 'nope' is not a port of Deployment/web",
        "Deployment/web (namespace shop) is defined 2 times"]


# ---------------------------------------------------------------------------- tools and the report


def test_tools_are_found_by_variable_then_project_then_path(tmp_path, monkeypatch):
    tool = tmp_path / "bin" / "helm"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    not_exec = tmp_path / "plain"
    not_exec.write_text("")
    monkeypatch.setenv("PATH", str(tool.parent))
    monkeypatch.setattr(tools, "PROJECT", tmp_path / "no-checkout")  # not the tools of the checkout running the tests
    monkeypatch.delenv("TRIPGEN_HELM", raising=False)
    monkeypatch.delenv("TRIPGEN_CHECKOV", raising=False)
    project = tmp_path / "project"
    project.mkdir()
    assert v.find_helm(project) == str(tool) and v.find_checkov(project) is None
    local = project / ".tools" / "bin" / "helm"
    local.parent.mkdir(parents=True)
    local.write_text("#!/bin/sh\n")
    local.chmod(0o755)
    assert v.find_helm(project) == str(local)
    checkov = project / ".venv-checkov" / "bin" / "checkov"
    checkov.parent.mkdir(parents=True)
    checkov.write_text("#!/bin/sh\n")
    checkov.chmod(0o755)
    assert v.find_checkov(project) == str(checkov)
    monkeypatch.setenv("TRIPGEN_HELM", str(not_exec))
    assert v.find_helm(project) is None
    monkeypatch.setenv("TRIPGEN_HELM", str(tool))
    assert v.find_helm(project) == str(tool)
    monkeypatch.setenv("TRIPGEN_CHECKOV", str(tool))
    assert v.find_checkov(project) == str(tool)
    monkeypatch.setenv("TRIPGEN_HELM", "")
    assert v.find_helm(project) == str(local)
    assert os.access(str(tool), os.X_OK)


def test_run_checks_prints_one_line_each_and_a_summary():
    lines: list[str] = []
    many = [f"e{i}" for i in range(25)]
    failed = v.run_checks([("a", lambda: []), ("b", lambda: ["x", "y"]), ("c", lambda: many)], lines.append)
    assert failed == 2
    assert lines == ["ok   a", "FAIL b", "     x", "     y", "FAIL c", *[f"     e{i}" for i in range(20)],
                     "1 of 3 checks passed, 2 failed"]
    lines.clear()
    assert v.run_checks([("only", lambda: [])], lines.append) == 0
    assert lines == ["ok   only", "1 of 1 checks passed"]


def test_the_environment_checks_in_order_without_helm(tmp_path, monkeypatch):
    from dataclasses import dataclass, field

    @dataclass
    class Chart:
        name: str
        is_helm: bool
        objects: list = field(default_factory=list)
        namespace: str = NS
        kubernetes: KubernetesVersions = field(default_factory=lambda: KubernetesVersions("1.30", "1.31"))

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(tools, "PROJECT", tmp_path / "no-checkout")
    monkeypatch.delenv("TRIPGEN_HELM", raising=False)
    web = deployment("web", {"app": "web"})
    charts = [Chart("web", True, [web]), Chart("argocd", False, [])]
    checks = v.environment_checks(tmp_path, tmp_path / "charts", "prod", charts, tmp_path, True, print)
    labels = [label for label, _fn in checks]
    assert labels == ["prod/web: helm", "prod: Kubernetes 1.30-1.31 schemas (strict, every minor)",
                      "prod: custom resources against their CRDs", "prod: Service and PDB selectors match exactly one workload",
                      "prod: scaler and Rollout references exist",
                      "prod: ServiceAccounts, ConfigMaps, SecretProviderClasses and volumes exist",
                      "prod: probe and Service ports name declared container ports",
                      "prod: every pod is selected by a NetworkPolicy and the default deny",
                      "prod: every egress feature a workload turns on has its egress; Internet egress has a reason",
                      "prod: PDB minAvailable below minimum replicas", "prod: no duplicate kind/namespace/name",
                      "prod: alert rules (promtool check rules) and routing (amtool check-config, routes)",
                      "prod: checkov"]
    results = {label: fn for label, fn in checks}
    assert results["prod/web: helm"]() == [v.HELM_MISSING] and results["prod: checkov"]() == [v.HELM_MISSING]
    assert results["prod: every pod is selected by a NetworkPolicy and the default deny"]() == [
        "Deployment/web: no NetworkPolicy selects its pods", "Deployment/web: not covered by a default-deny NetworkPolicy"]
    assert results["prod: Service and PDB selectors match exactly one workload"]() == []
    assert results["prod: no duplicate kind/namespace/name"]() == []
    for label in ("prod: scaler and Rollout references exist", "prod: PDB minAvailable below minimum replicas",
                  "prod: ServiceAccounts, ConfigMaps, SecretProviderClasses and volumes exist",
                  "prod: probe and Service ports name declared container ports",
                  "prod: custom resources against their CRDs"):
        assert results[label]() == [], label
    lenient = v.environment_checks(tmp_path, tmp_path / "charts", "dev", [Chart("argocd", False, [web])], tmp_path,
                                   False, print)
    assert [label for label, _ in lenient if "NetworkPolicy" in label] == ["dev: every pod is selected by a NetworkPolicy"]
    assert dict(lenient)["dev: every pod is selected by a NetworkPolicy"]() == ["Deployment/web: no NetworkPolicy selects its pods"]
    assert Path(v.CRD_DIR).is_dir()
