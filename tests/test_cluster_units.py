"""lib/cluster.py without a server: Argo CD's order, pod templates as Pods, kubeconfig reading."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from tripgen_cdk8s.lib.cluster import ClusterError, load_kubeconfig, phase, pod_template_pods, sync_order


def obj(kind: str, name: str, **annotations: str) -> dict:
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "annotations": annotations}}


def test_sync_order_is_phase_then_wave_then_kind_then_name() -> None:
    objs = [obj("Deployment", "b"), obj("Deployment", "a"), obj("Service", "s"), obj("Namespace", "n"),
            obj("ConfigMap", "late", **{"argocd.argoproj.io/sync-wave": "2"}),
            obj("Job", "migrate", **{"helm.sh/hook": "pre-upgrade,pre-install", "helm.sh/hook-weight": "-1"}),
            obj("Job", "smoke", **{"argocd.argoproj.io/hook": "PostSync"}),
            obj("ConfigMap", "early", **{"argocd.argoproj.io/sync-wave": "-1"}), obj("Rollout", "r")]
    assert [o["metadata"]["name"] for o in sync_order(objs)] == [
        "migrate", "early", "n", "s", "a", "b", "r", "late", "smoke"]
    assert [phase(o) for o in objs[5:7]] == ["PreSync", "PostSync"]


def test_every_pod_template_becomes_a_pod_of_the_workloads_namespace() -> None:
    template = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    workloads = [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "ns"},
         "spec": {"template": template}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly", "namespace": "ns"},
         "spec": {"jobTemplate": {"spec": {"template": template}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "ns"}, "spec": {}}]
    assert pod_template_pods(workloads) == [
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"{n}-pod-check", "namespace": "ns",
                                                         "labels": {"app": "x"}}, "spec": template["spec"]}
        for n in ("web", "nightly")]


def kubeconfig(tmp_path: Path, user: str) -> Path:
    path = tmp_path / "config"
    path.write_text(f"""\
apiVersion: v1
kind: Config
current-context: aks
clusters:
- name: aks
  cluster: {{server: "https://aks.example:443/", certificate-authority-data: {base64.b64encode(b"CA").decode()}}}
users:
- name: u
  user: {user}
contexts:
- name: aks
  context: {{cluster: aks, user: u}}
""")
    return path


def test_a_kubeconfig_with_inline_certificates(tmp_path: Path) -> None:
    data = base64.b64encode(b"CERT").decode()
    creds = load_kubeconfig(kubeconfig(tmp_path, f"{{client-certificate-data: {data}, client-key-data: {data}}}"))
    assert creds.server == "https://aks.example:443"
    assert Path(creds.ca_file or "").read_bytes() == b"CA" and Path(creds.cert_file or "").read_bytes() == b"CERT"
    for name in creds._temp:
        os.unlink(name)


def test_an_exec_plugin_gives_the_token(tmp_path: Path) -> None:
    plugin = tmp_path / "kubelogin"
    plugin.write_text('#!/bin/sh\necho \'{"kind": "ExecCredential", "status": {"token": "t-\'"$1"\'"}}\'\n')
    plugin.chmod(plugin.stat().st_mode | stat.S_IEXEC)
    creds = load_kubeconfig(kubeconfig(tmp_path, f"{{exec: {{command: {plugin}, args: [get-token]}}}}"))
    assert creds.token == "t-get-token"


def test_a_failing_exec_plugin_is_a_cluster_error_with_its_last_line(tmp_path: Path) -> None:
    plugin = tmp_path / "kubelogin"
    plugin.write_text("#!/bin/sh\necho 'noise' >&2\necho 'AADSTS700082: the refresh token has expired' >&2\nexit 1\n")
    plugin.chmod(plugin.stat().st_mode | stat.S_IEXEC)
    with pytest.raises(ClusterError) as err:
        load_kubeconfig(kubeconfig(tmp_path, f"{{exec: {{command: {plugin}}}}}"))
    assert str(err.value) == f"kubeconfig exec plugin {plugin} failed: AADSTS700082: the refresh token has expired"


def test_context_and_kubeconfig_without_cluster_are_a_usage_error() -> None:
    from conftest import run_cli

    proc = run_cli("validate", "--env", "dev", "--context", "aks")
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", "error: --context and --kubeconfig need --cluster\n")
