"""The review diff's table of immutable fields (``objdiff.IMMUTABLE``), proved against the real
kube-apiserver of tests/kube.py: for each rule, an object is created and then changed at that field
by server-side apply, as Argo CD syncs; the server refuses exactly the changes the table flags, and
accepts the changes beside them that the table leaves alone (a table that flags too little hides a
failing sync from the reviewer; one that flags too much cries wolf).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kube import ApiServer, kube_apiserver_fixture, kube_etcd_fixture  # noqa: F401  (fixtures)
from test_cluster import connect

from tripgen_cdk8s.lib.cluster import ApplyRefused, Cluster, Obj
from tripgen_cdk8s.objdiff import IMMUTABLE, _under, compare, immutable_fields

pytestmark = pytest.mark.xdist_group("kube")

NS = "immutable-check"
IMAGE = "registry.k8s.io/pause:3.10"


def meta(name: str, namespaced: bool = True, **extra: Any) -> Obj:
    m: Obj = {"name": name, **extra}
    if namespaced:
        m["namespace"] = NS
    return m


def pod_template(labels: dict[str, str], image: str = IMAGE, restart: str | None = None) -> Obj:
    spec: Obj = {"containers": [{"name": "app", "image": image}]}
    if restart:
        spec["restartPolicy"] = restart
    return {"metadata": {"labels": labels}, "spec": spec}


def workload(kind: str, name: str, labels: dict[str, str], **spec: Any) -> Obj:
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": meta(name),
            "spec": {"selector": {"matchLabels": labels}, "template": pod_template(labels), **spec}}


def statefulset(name: str, **spec: Any) -> Obj:
    return workload("StatefulSet", name, {"app": name}, serviceName=name, replicas=1, **spec)


def job(name: str, **spec: Any) -> Obj:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta(name),
            "spec": {"template": pod_template({"job": name}, restart="Never"), **spec}}


def service(name: str, **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta(name),
            "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80}], **spec}}


def pvc(name: str, storage_class: str) -> Obj:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta(name),
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
                     "resources": {"requests": {"storage": "1Gi"}}}}


def pv(name: str, handle: str) -> Obj:
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": meta(name, namespaced=False),
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                     "persistentVolumeReclaimPolicy": "Retain",
                     "csi": {"driver": "disk.csi.azure.com", "volumeHandle": handle}}}


def binding(kind: str, name: str, role: str) -> Obj:
    namespaced = kind == "RoleBinding"
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta(name, namespaced),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": NS}]}


def storage_class(name: str, **fields: Any) -> Obj:
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": meta(name, namespaced=False),
            "provisioner": "disk.csi.azure.com", "parameters": {"skuName": "Premium_LRS"},
            "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer", **fields}


def data_object(kind: str, name: str, immutable: bool | None, **fields: Any) -> Obj:
    o: Obj = {"apiVersion": "v1", "kind": kind, "metadata": meta(name), "data": {"a": "MQ=="}, **fields}
    if immutable is not None:
        o["immutable"] = immutable
    return o


def edit(obj: Obj, change: Callable[[Obj], None]) -> Obj:
    out = copy.deepcopy(obj)
    change(out)
    return out


def set_at(path: str, value: Any) -> Callable[[Obj], None]:
    def change(o: Obj) -> None:
        *parents, last = path.split(".")
        node = o
        for p in parents:
            node = node[p]
        node[last] = value
    return change


def relabel(o: Obj) -> None:
    o["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    o["spec"]["template"]["metadata"]["labels"] = {"app": "other"}


def add_claim_template(o: Obj) -> None:
    o["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "data"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]


def new_image(o: Obj) -> None:
    o["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.k8s.io/pause:3.9"


CASES: list[tuple[str, Obj, Callable[[Obj], None]]] = [
    # (what, the object as first synced, the change)
    ("Deployment selector", workload("Deployment", "d1", {"app": "d1"}), relabel),
    ("Deployment replicas", workload("Deployment", "d2", {"app": "d2"}, replicas=1), set_at("spec.replicas", 3)),
    ("ReplicaSet selector", workload("ReplicaSet", "rs1", {"app": "rs1"}), relabel),
    ("DaemonSet selector", workload("DaemonSet", "ds1", {"app": "ds1"}), relabel),
    ("DaemonSet template", workload("DaemonSet", "ds2", {"app": "ds2"}), new_image),
    ("StatefulSet serviceName", statefulset("ss1"), set_at("spec.serviceName", "ss1-headless")),
    ("StatefulSet volumeClaimTemplates", statefulset("ss2"), add_claim_template),
    ("StatefulSet podManagementPolicy", statefulset("ss3"), set_at("spec.podManagementPolicy", "Parallel")),
    ("StatefulSet replicas", statefulset("ss4"), set_at("spec.replicas", 3)),
    ("StatefulSet template", statefulset("ss5"), new_image),
    ("StatefulSet minReadySeconds", statefulset("ss6"), set_at("spec.minReadySeconds", 10)),
    ("Job template", job("j1"), new_image),
    ("Job completionMode", job("j2", completionMode="NonIndexed", completions=1),
     set_at("spec.completionMode", "Indexed")),
    ("Job activeDeadlineSeconds", job("j3", activeDeadlineSeconds=600), set_at("spec.activeDeadlineSeconds", 300)),
    ("Service clusterIP", service("s1", clusterIP="10.96.7.10"), set_at("spec.clusterIP", "10.96.7.11")),
    ("Service clusterIPs", service("s3", clusterIP="10.96.7.20", clusterIPs=["10.96.7.20"]),
     lambda o: (set_at("spec.clusterIP", "10.96.7.21")(o), set_at("spec.clusterIPs", ["10.96.7.21"])(o))),
    ("Service ports", service("s2"), set_at("spec.ports", [{"name": "http", "port": 8080}])),
    ("PersistentVolumeClaim storageClassName", pvc("c1", "managed-csi"), set_at("spec.storageClassName", "azurefile")),
    ("PersistentVolume csi", pv("immutable-check-pv1", "disk-1"), set_at("spec.csi.volumeHandle", "disk-2")),
    ("PersistentVolume reclaim policy", pv("immutable-check-pv2", "disk-3"),
     set_at("spec.persistentVolumeReclaimPolicy", "Delete")),
    ("RoleBinding roleRef", binding("RoleBinding", "rb1", "view"), set_at("roleRef.name", "edit")),
    ("RoleBinding subjects", binding("RoleBinding", "rb2", "view"),
     set_at("subjects", [{"kind": "ServiceAccount", "name": "builder", "namespace": NS}])),
    ("ClusterRoleBinding roleRef", binding("ClusterRoleBinding", "immutable-check-crb1", "view"),
     set_at("roleRef.name", "edit")),
    ("StorageClass provisioner", storage_class("immutable-check-sc1"), set_at("provisioner", "file.csi.azure.com")),
    ("StorageClass parameters", storage_class("immutable-check-sc2"), set_at("parameters", {"skuName": "StandardSSD_LRS"})),
    ("StorageClass reclaimPolicy", storage_class("immutable-check-sc3"), set_at("reclaimPolicy", "Retain")),
    ("StorageClass volumeBindingMode", storage_class("immutable-check-sc4"), set_at("volumeBindingMode", "Immediate")),
    ("StorageClass allowVolumeExpansion", storage_class("immutable-check-sc5", allowVolumeExpansion=False),
     set_at("allowVolumeExpansion", True)),
    ("Secret type", data_object("Secret", "sec1", None, type="Opaque"), set_at("type", "kubernetes.io/dockercfg")),
    ("Secret data", data_object("Secret", "sec2", None, type="Opaque"), set_at("data", {"a": "Mg=="})),
    ("immutable Secret data", data_object("Secret", "sec3", True, type="Opaque"), set_at("data", {"a": "Mg=="})),
    ("immutable Secret stringData", data_object("Secret", "sec5", True, type="Opaque", stringData={"b": "1"}),
     set_at("stringData", {"b": "2"})),
    ("immutable Secret made mutable", data_object("Secret", "sec4", True, type="Opaque"), set_at("immutable", False)),
    ("ConfigMap data", data_object("ConfigMap", "cm1", None), set_at("data", {"a": "2"})),
    ("immutable ConfigMap data", data_object("ConfigMap", "cm2", True), set_at("data", {"a": "2"})),
    ("immutable ConfigMap binaryData", data_object("ConfigMap", "cm5", True, binaryData={"b": "AAE="}),
     set_at("binaryData", {"b": "AAI="})),
    ("immutable ConfigMap made mutable", data_object("ConfigMap", "cm3", True), set_at("immutable", False)),
    ("ConfigMap made immutable", data_object("ConfigMap", "cm4", False), set_at("immutable", True)),
]


@pytest.fixture(scope="module")
def cluster(kube_apiserver: ApiServer) -> Iterator[Cluster]:
    c = connect(kube_apiserver)
    c.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    yield c
    c.close()


NOT_EXERCISED = {("Job", "spec.selector"): "generated by the server unless manualSelector is set; charts never set it"}


def rules_hit(before: Obj, after: Obj) -> set[tuple[str, str]]:
    flagged = immutable_fields(_change(before, after))
    return {(r.kind, r.path) for r in IMMUTABLE if r.kind == before["kind"]
            for p in flagged if _under(p, r.path)}


def test_the_cases_cover_every_rule_of_the_table():
    covered = set().union(*(rules_hit(before, edit(before, change)) for _what, before, change in CASES))
    assert {(r.kind, r.path) for r in IMMUTABLE} - covered == set(NOT_EXERCISED)


def _change(before: Obj, after: Obj) -> Any:
    [change] = compare({"env": [before]}, {"env": [after]})
    return change


@pytest.mark.parametrize(("what", "before", "change"), CASES, ids=[c[0] for c in CASES])
def test_the_server_refuses_exactly_the_changes_the_table_flags(cluster: Cluster, what: str, before: Obj,
                                                                change: Callable[[Obj], None]) -> None:
    after = edit(before, change)
    flagged = immutable_fields(_change(before, after))
    cluster.apply(before)
    try:
        cluster.apply(after)
        refused = ""
    except ApplyRefused as err:
        refused = str(err)
    if flagged:
        assert refused, f"{what}: the table flags {flagged}, but the server accepted the change"
    else:
        assert not refused, f"{what}: the server refused a change the table does not flag: {refused}"
