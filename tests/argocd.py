"""Real Argo CD for the sync test (built by scripts/install-argocd.sh): its application controller
and repo server, with a Redis, against a kube-apiserver of tests/kube.py.

No API server component, no UI, no Dex: the tests drive Argo CD as its CLI does, through the
Application objects (a sync is an ``operation`` written into the Application).  The in-cluster
destination ``https://kubernetes.default.svc`` is the controller's own kubeconfig
(``ARGOCD_FAKE_IN_CLUSTER``), so no cluster Secret is needed.  Every process runs in its own session
and is stopped when the context exits, also when a test fails (tests/kube.py ``_process``).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import socket
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kube import BIN, ROOT, ApiServer, _process, _wait, free_port

from tripgen_cdk8s.lib.cluster import Cluster, apply_all

GO_MOD = ROOT / "tools" / "argocd" / "go.mod"


def _pinned() -> str:
    text = GO_MOD.read_text() if GO_MOD.is_file() else ""
    match = re.search(r"^\s*(?:require\s+)?github\.com/argoproj/argo-cd/v3 (v\S+)", text, re.M)
    return match.group(1) if match else ""


ARGOCD_VERSION = _pinned()
ARGOCD = BIN / f"argocd-{ARGOCD_VERSION}"
WRAPPER = BIN / "git-verify-wrapper.sh"
REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"
MISSING = (f"{ARGOCD}, {WRAPPER} or redis-server missing: run scripts/install-argocd.sh "
           "(scripts/setup.sh test runs it)")
NAMESPACE = "argocd"
RESYNC_SECONDS = 10


@dataclass(frozen=True)
class ArgoCD:
    """A running Argo CD: the logs of its components."""

    controller_log: Path
    repo_server_log: Path


def settings(namespace: str = NAMESPACE) -> list[dict[str, object]]:
    """What Argo CD's install manifests put in its namespace and its components read at start."""
    part_of = {"app.kubernetes.io/part-of": "argocd"}

    def meta(name: str) -> dict[str, object]:
        return {"name": name, "namespace": namespace, "labels": part_of}

    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("argocd-cm"),
         "data": {"timeout.reconciliation": f"{RESYNC_SECONDS}s"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("argocd-rbac-cm")},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("argocd-cmd-params-cm")},
        {"apiVersion": "v1", "kind": "Secret", "metadata": meta("argocd-secret"), "type": "Opaque",
         "stringData": {"server.secretkey": secrets.token_hex(32)}},
    ]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _redis_pong(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def argocd(workdir: Path, server: ApiServer, cluster: Cluster) -> Iterator[ArgoCD]:
    """Argo CD's settings applied to ``server``, then Redis, the repo server and the application
    controller started on free loopback ports; yields once all three answer."""
    assert ARGOCD_VERSION and ARGOCD.is_file() and WRAPPER.is_file() and Path(REDIS).is_file(), MISSING
    assert apply_all(cluster, settings()) == []
    home = workdir / "home"
    for d in ("tmp", "gnupg", "ssh", "tls", "helm/cache", "helm/config", "helm/data"):
        (home / d).mkdir(parents=True, exist_ok=True)
    env = {"PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(home / "tmp"),
           "ARGOCD_GPG_ENABLED": "false", "ARGOCD_GNUPGHOME": str(home / "gnupg"),
           "ARGOCD_SSH_DATA_PATH": str(home / "ssh"), "ARGOCD_TLS_DATA_PATH": str(home / "tls"),
           "HELM_CACHE_HOME": str(home / "helm/cache"), "HELM_CONFIG_HOME": str(home / "helm/config"),
           "HELM_DATA_HOME": str(home / "helm/data"), "KUBECONFIG": str(server.kubeconfig),
           "LANG": os.environ.get("LANG", "C.UTF-8")}
    redis, repo, repo_metrics, metrics = free_port(), free_port(), free_port(), free_port()
    logs = {name: workdir / f"{name}.log" for name in ("redis", "repo-server", "controller")}
    with contextlib.ExitStack() as stack:
        proc = stack.enter_context(_process(
            [REDIS, "--port", str(redis), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no"], logs["redis"], env))
        _wait("redis-server", lambda: _redis_pong(redis), proc, logs["redis"], timeout=30)
        proc = stack.enter_context(_process(
            [str(ARGOCD), "--address", "127.0.0.1", "--port", str(repo), "--metrics-address", "127.0.0.1",
             "--metrics-port", str(repo_metrics), "--disable-tls", "--client-ca-path", "",
             "--redis", f"127.0.0.1:{redis}", "--loglevel", "info"],
            logs["repo-server"], {**env, "ARGOCD_BINARY_NAME": "argocd-repo-server"}))
        _wait("argocd-repo-server", lambda: _listening(repo), proc, logs["repo-server"], timeout=90)
        proc = stack.enter_context(_process(
            [str(ARGOCD), "--kubeconfig", str(server.kubeconfig), "--namespace", NAMESPACE,
             "--redis", f"127.0.0.1:{redis}", "--repo-server", f"127.0.0.1:{repo}", "--repo-server-plaintext",
             "--metrics-port", str(metrics), "--app-resync", str(RESYNC_SECONDS), "--app-resync-jitter", "0",
             "--self-heal-timeout-seconds", "2", "--status-processors", "4", "--operation-processors", "4",
             "--loglevel", "info"],
            logs["controller"], {**env, "ARGOCD_BINARY_NAME": "argocd-application-controller",
                                 "ARGOCD_FAKE_IN_CLUSTER": "true"}))
        _wait("argocd-application-controller", lambda: _http_ok(f"http://127.0.0.1:{metrics}/metrics"), proc,
              logs["controller"], timeout=90)
        yield ArgoCD(logs["controller"], logs["repo-server"])
