"""The guardrails the cluster enforces (``Guardrails(enforce_in_cluster=True)``), proved in the real
kube-apiserver of tests/kube.py: the bookstore example's ValidatingAdmissionPolicies and bindings,
applied with its charts as Argo CD syncs them, make the server refuse a workload that breaks a
guardrail in the bookstore namespace, with the line ``tripgen synth`` prints for it, and accept a
valid one, the charts' own workloads, and anything outside the namespace.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kube import ApiServer, kube_apiserver_fixture, kube_etcd_fixture  # noqa: F401  (fixtures)
from test_cluster import BOOKSTORE, ROOT, connect, prepare, sync

from tripgen_cdk8s.app import loader
from tripgen_cdk8s.app.guardrails import check_images, check_probes, check_resources
from tripgen_cdk8s.lib.cluster import ApplyRefused, Cluster, Obj
from tripgen_cdk8s.lib.constructs.guardrail_policy import policy_objects

pytestmark = pytest.mark.xdist_group("kube")

NAMESPACE = "bookstore"
DIGEST = "sha256:" + "ab" * 32
POLICY_ACTIVE_SECONDS = 60
"""How long the server may take to put a new policy and binding in force (it loads them asynchronously)."""


def container(name: str = "app", **fields: Any) -> Obj:
    c: Obj = {"name": name, "image": f"ghcr.io/bookstore/demo:1.2.3@{DIGEST}",
              "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}},
              "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
              "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8080}}}
    c.update(fields)
    return {k: v for k, v in c.items() if v is not None}


def pod_spec(*containers: Obj, init: tuple[Obj, ...] = ()) -> Obj:
    spec: Obj = {"containers": list(containers)}
    if init:
        spec["initContainers"] = list(init)
    return spec


def deployment(name: str, spec: Obj, namespace: str = NAMESPACE) -> Obj:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": spec}}}


def cronjob(name: str, spec: Obj) -> Obj:
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {
                "spec": {**spec, "restartPolicy": "OnFailure"}}}}}}


def job(name: str, spec: Obj) -> Obj:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"template": {"spec": {**spec, "restartPolicy": "Never"}}}}


BROKEN = {
    "latest-tag": deployment("latest", pod_spec(container(image="ghcr.io/bookstore/demo:latest"))),
    "no-resources": deployment("no-resources", pod_spec(container(resources=None))),
    "half-resources": deployment("half-resources", pod_spec(container(resources={"requests": {"cpu": "100m"}}))),
    "no-probes": deployment("no-probes", pod_spec(container(livenessProbe=None, readinessProbe=None))),
    "sidecar-without-probes": deployment("sidecar", pod_spec(
        container(), init=(container("proxy", restartPolicy="Always", readinessProbe=None),))),
    "cronjob-tag": cronjob("nightly", pod_spec(container(image="ghcr.io/bookstore/demo:nightly"))),
    "job-init-resources": job("migrate", pod_spec(container(), init=(
        container("wait", resources=None, livenessProbe=None, readinessProbe=None),))),
}


@pytest.fixture(scope="module")
def guarded(kube_apiserver: ApiServer) -> Iterator[Cluster]:
    """The server with the bookstore environment synced (its policies included), once the policies
    are in force."""
    c = connect(kube_apiserver)
    prepare(c)
    errors, applied = sync(c, ROOT, "bookstore", "prod")
    assert errors == []
    assert len(policy_objects(applied)) == 6  # long-running, job, cronjob: a policy and a binding each
    probe = BROKEN["latest-tag"]
    deadline = time.monotonic() + POLICY_ACTIVE_SECONDS
    while True:  # retry until the binding takes effect (bounded)
        try:
            c.apply(probe, dry_run=True)
        except ApplyRefused as err:
            assert "ValidatingAdmissionPolicy" in str(err), err
            break
        assert time.monotonic() < deadline, f"the guardrail policies not in force after {POLICY_ACTIVE_SECONDS} s"
        time.sleep(0.5)
    yield c
    c.close()


def check_guardrails(objs: list[Obj], g: Any) -> list[str]:
    """What synth reports of the guardrails that judge one object alone (the others, such as the
    default deny or the PDBs, compare several objects and are not in the policies)."""
    return [*check_images(objs, g), *check_resources(objs, g), *check_probes(objs, g)]


def synth_problem(obj: Obj) -> str:
    """The first line ``tripgen synth`` reports for ``obj`` under the bookstore's guardrails."""
    problems = check_guardrails([obj], loader.load(BOOKSTORE, "prod").guardrails)
    assert problems, "the object breaks no guardrail"
    return problems[0]


@pytest.mark.parametrize("case", list(BROKEN))
def test_the_server_refuses_a_workload_breaking_a_guardrail_with_synths_words(guarded: Cluster, case: str) -> None:
    obj = BROKEN[case]
    expected = synth_problem(obj)
    with pytest.raises(ApplyRefused) as refused:
        guarded.apply(obj, dry_run=True)
    message = str(refused.value)
    assert "ValidatingAdmissionPolicy 'bookstore-guardrails-" in message
    assert message.endswith(expected), f"server: {message}\nsynth:  {expected}"


def test_the_server_accepts_a_valid_workload_and_the_charts_own(guarded: Cluster) -> None:
    valid = deployment("valid", pod_spec(container(), init=(container("proxy", restartPolicy="Always"),
                                                            container("wait", livenessProbe=None, readinessProbe=None))))
    assert check_guardrails([valid], loader.load(BOOKSTORE, "prod").guardrails) == []
    guarded.apply(valid, dry_run=True)
    # the charts' own workloads, stored before the policies were in force, are accepted again now
    _, applied = sync(guarded, ROOT, "bookstore", "prod")
    workloads = [o for o in applied if o["kind"] in ("Deployment", "StatefulSet", "Job", "CronJob")]
    assert workloads
    for w in workloads:
        guarded.apply(w, dry_run=True)


def test_the_binding_applies_in_the_apps_namespace_only(guarded: Cluster) -> None:
    guarded.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "elsewhere"}})
    elsewhere = copy.deepcopy(BROKEN["latest-tag"])
    elsewhere["metadata"]["namespace"] = "elsewhere"
    guarded.apply(elsewhere, dry_run=True)


def wait_until_refused(cluster: Cluster, obj: Obj) -> str:
    """The server's refusal of ``obj`` once a just-applied policy is in force (bounded retry)."""
    deadline = time.monotonic() + POLICY_ACTIVE_SECONDS
    while True:
        try:
            cluster.apply(obj, dry_run=True)
        except ApplyRefused as err:
            return str(err)
        assert time.monotonic() < deadline, f"no policy refused {obj['metadata']['name']} after {POLICY_ACTIVE_SECONDS} s"
        time.sleep(0.5)


def test_immutable_image_tags_without_digests_judges_the_tag_as_synth_does(guarded: Cluster) -> None:
    """The bookstore requires digests, so its policies never judge a tag: a policy of the construct
    alone (release tags, no digest needed) in a namespace of its own."""
    import cdk8s

    from tripgen_cdk8s.app.model import Guardrails
    from tripgen_cdk8s.lib.constructs import GuardrailPolicy, GuardrailPolicyProps
    from tripgen_cdk8s.lib.helmchart import HelmChart, HelmChartProps
    from tripgen_cdk8s.lib.kubeversions import KubernetesVersions

    chart = HelmChart(cdk8s.Testing.app(), "tags", HelmChartProps(namespace="tags", version="0.1.0",
                                                                   kubernetes=KubernetesVersions("1.32", "1.37")))
    GuardrailPolicy(chart, "guardrails", GuardrailPolicyProps(immutable_image_tags=True))
    objs = chart.to_json()
    assert {o["metadata"]["name"] for o in objs} == {"tags-guardrails-long-running", "tags-guardrails-job",
                                                     "tags-guardrails-cronjob"}
    guarded.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tags"}})
    for obj in objs:
        guarded.apply(obj)
    g = Guardrails(immutable_image_tags=True)
    bad = {"latest": "registry.example.io:5000/team/demo:latest", "no-tag": "registry.example.io:5000/team/demo",
           "prefix": "ghcr.io/team/demo:1.2.3-rc.1.x_y"}
    for name, image in bad.items():
        obj = deployment(name, pod_spec(container(image=image)), namespace="tags")
        expected = check_guardrails([obj], g)[0]
        message = wait_until_refused(guarded, obj)
        assert message.endswith(expected), f"server: {message}\nsynth:  {expected}"
    for image in ("registry.example.io:5000/team/demo:1.2.3", "ghcr.io/team/demo:v2.0.0-rc.1",
                  f"ghcr.io/team/demo:latest@{DIGEST}"):
        obj = deployment("good", pod_spec(container(image=image)), namespace="tags")
        assert check_guardrails([obj], g) == []
        guarded.apply(obj, dry_run=True)
