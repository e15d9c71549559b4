"""A real etcd and kube-apiserver on loopback for the cluster tests (built by scripts/install-kube.sh).

No kubelet, no controller manager: the server stores, validates, defaults and admits (the default
admission plugins, PodSecurity included).  Authentication is by client certificate (an own CA, the
admin certificate in ``system:masters``).  Every process is started in its own session and stopped
(SIGTERM, then SIGKILL) when its context exits, also when a test fails; an ``atexit`` hook is the
last resort for an interpreter that exits without unwinding.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".tools" / "bin"
GO_MOD = ROOT / "tools" / "kube" / "go.mod"


def pinned(module: str) -> str:
    """The version of ``module`` pinned in tools/kube/go.mod (``v1.35.4``); "" without the file (a
    copy of the tests without tools/, such as mutmut's, which runs no cluster test)."""
    text = GO_MOD.read_text() if GO_MOD.is_file() else ""
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(module)} (v\S+)", text, re.M)
    return match.group(1) if match else ""


KUBE_VERSION = pinned("k8s.io/kubernetes")
APISERVER = BIN / f"kube-apiserver-{KUBE_VERSION}"
ETCD = BIN / f"etcd-{pinned('go.etcd.io/etcd/server/v3')}"
MISSING = f"{APISERVER} or {ETCD} missing: run scripts/install-kube.sh (scripts/setup.sh test runs it)"

_running: set[subprocess.Popen[bytes]] = set()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    _running.discard(proc)


@atexit.register
def _stop_all() -> None:
    for proc in list(_running):
        _stop(proc)


@contextlib.contextmanager
def _process(args: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=env)
    _running.add(proc)
    try:
        yield proc
    finally:
        _stop(proc)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait(what: str, ready: object, proc: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        if ready():  # type: ignore[operator]
            return
        time.sleep(0.25)
    raise RuntimeError(f"{what} not ready after {timeout} s:\n{log.read_text(errors='replace')[-3000:]}")


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_certificates(d: Path) -> None:
    """A CA, the server's certificate for 127.0.0.1 / localhost, the admin client certificate
    (group system:masters) and the service-account signing key."""
    d.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "ca.key"), "-out", str(d / "ca.crt"),
             "-days", "2", "-subj", "/CN=tripgen-test-ca")
    for name, subj, ext in (
            ("server", "/CN=kube-apiserver", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth"),
            ("admin", "/O=system:masters/CN=admin", "extendedKeyUsage=clientAuth")):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / f"{name}.key"), "-out",
                 str(d / f"{name}.csr"), "-subj", subj)
        (d / f"{name}.ext").write_text(ext + "\n")
        _openssl("x509", "-req", "-in", str(d / f"{name}.csr"), "-CA", str(d / "ca.crt"), "-CAkey", str(d / "ca.key"),
                 "-CAcreateserial", "-days", "2", "-out", str(d / f"{name}.crt"), "-extfile", str(d / f"{name}.ext"))
    _openssl("genrsa", "-out", str(d / "sa.key"), "2048")
    _openssl("rsa", "-in", str(d / "sa.key"), "-pubout", "-out", str(d / "sa.pub"))


@dataclass(frozen=True)
class ApiServer:
    """A running kube-apiserver: its URL, the kubeconfig of its admin and the certificate files."""

    url: str
    kubeconfig: Path
    certs: Path

    def ssl_get(self, path: str) -> tuple[int, str]:
        import ssl

        ctx = ssl.create_default_context(cafile=str(self.certs / "ca.crt"))
        ctx.load_cert_chain(str(self.certs / "admin.crt"), str(self.certs / "admin.key"))
        try:
            with urllib.request.urlopen(self.url + path, context=ctx, timeout=5) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()


@contextlib.contextmanager
def etcd(workdir: Path) -> Iterator[str]:
    """A one-member etcd on loopback (no fsync: test data); yields its client URL."""
    assert KUBE_VERSION and ETCD.is_file(), MISSING
    client, peer = free_port(), free_port()
    url = f"http://127.0.0.1:{client}"
    args = [str(ETCD), "--name", "default", "--data-dir", str(workdir / "etcd"), "--listen-client-urls", url,
            "--advertise-client-urls", url, "--listen-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-cluster", f"default=http://127.0.0.1:{peer}", "--unsafe-no-fsync", "--log-level", "warn"]
    log = workdir / "etcd.log"

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as resp:
                return b'"health":"true"' in resp.read()
        except OSError:
            return False

    with _process(args, log) as proc:
        _wait("etcd", healthy, proc, log)
        yield url


@contextlib.contextmanager
def apiserver(workdir: Path, etcd_url: str, prefix: str = "/registry") -> Iterator[ApiServer]:
    """A kube-apiserver on a free loopback port storing under ``prefix`` in ``etcd_url`` (a separate
    prefix is a separate, empty cluster); yields it once /readyz answers ok."""
    assert KUBE_VERSION and APISERVER.is_file(), MISSING
    workdir.mkdir(parents=True, exist_ok=True)
    certs = workdir / "certs"
    make_certificates(certs)
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    args = [str(APISERVER), "--etcd-servers", etcd_url, "--etcd-prefix", prefix, "--bind-address", "127.0.0.1",
            "--advertise-address", "127.0.0.1", "--secure-port", str(port),
            "--tls-cert-file", str(certs / "server.crt"), "--tls-private-key-file", str(certs / "server.key"),
            "--client-ca-file", str(certs / "ca.crt"), "--authorization-mode", "RBAC",
            "--service-account-issuer", "https://kubernetes.default.svc", "--service-account-key-file",
            str(certs / "sa.pub"), "--service-account-signing-key-file", str(certs / "sa.key"),
            "--service-cluster-ip-range", "10.96.0.0/16", "--profiling=false", "--v=0",
            "--allow-privileged=true"]  # as on AKS and kubeadm clusters: Pod Security, not this flag, decides
    kubeconfig = workdir / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: test\n"
        f"clusters:\n- name: test\n  cluster:\n    server: {url}\n    certificate-authority: {certs / 'ca.crt'}\n"
        f"users:\n- name: admin\n  user:\n    client-certificate: {certs / 'admin.crt'}\n"
        f"    client-key: {certs / 'admin.key'}\n"
        "contexts:\n- name: test\n  context:\n    cluster: test\n    user: admin\n")
    server = ApiServer(url, kubeconfig, certs)
    log = workdir / "kube-apiserver.log"

    def ready() -> bool:
        try:
            return server.ssl_get("/readyz")[0] == 200
        except OSError:
            return False

    with _process(args, log) as proc:
        _wait("kube-apiserver", ready, proc, log, timeout=180)
        yield server


# ---------------------------------------------------------------------------- fixtures (imported by test_cluster.py)

import pytest  # noqa: E402


@pytest.fixture(scope="session", name="kube_etcd")
def kube_etcd_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One etcd for the session's API servers (each under its own key prefix)."""
    with etcd(tmp_path_factory.mktemp("etcd")) as url:
        yield url


@pytest.fixture(scope="session", name="kube_apiserver")
def kube_apiserver_fixture(kube_etcd: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """The session's kube-apiserver (stopped at the end of the session, also after a failure)."""
    with apiserver(tmp_path_factory.mktemp("kube-apiserver"), kube_etcd) as server:
        yield server
