"""A real OCI registry on loopback for the publish tests: Debian's ``docker-registry`` (the CNCF
distribution registry, installed by scripts/install-debian-tools.sh), started by the test session
itself (never through systemd) with filesystem storage in a temporary directory and plain HTTP on a
free 127.0.0.1 port.  It runs in its own session and is stopped (SIGTERM, then SIGKILL) when the
fixture exits, also after a failing test; kube.py's ``atexit`` hook is the last resort.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kube import _process, _wait, free_port

BINARY = "docker-registry"
MISSING = f"{BINARY} not on PATH: run scripts/install-debian-tools.sh (scripts/setup.sh test runs it)"
MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json, "
                  "application/vnd.docker.distribution.manifest.v2+json")


@dataclass(frozen=True)
class Registry:
    """A running registry: ``host`` (127.0.0.1:PORT) and its HTTP API."""

    host: str

    def get(self, path: str, accept: str = MANIFEST_TYPES) -> tuple[int, dict, dict[str, str]]:
        """GET ``/v2/<path>``: status, JSON body ({} when none) and headers."""
        req = urllib.request.Request(f"http://{self.host}/v2/{path}", headers={"Accept": accept})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                body = resp.read()
                return resp.status, json.loads(body) if body else {}, dict(resp.headers)
        except urllib.error.HTTPError as err:
            body = err.read()
            return err.code, json.loads(body) if body else {}, dict(err.headers)

    def tags(self, repository: str) -> list[str]:
        """The tags of ``repository``; [] when the registry does not know it."""
        status, body, _ = self.get(f"{repository}/tags/list")
        return sorted(body.get("tags") or []) if status == 200 else []

    def manifest(self, repository: str, tag: str) -> tuple[str, dict]:
        """The digest and the manifest of ``repository:tag``."""
        status, body, headers = self.get(f"{repository}/manifests/{tag}")
        assert status == 200, f"{repository}:{tag}: {status} {body}"
        return headers["Docker-Content-Digest"], body


CONFIG = """version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: {addr}
"""
AUTH = """auth:
  htpasswd:
    realm: tripgen-test
    path: {path}
"""
USER, PASSWORD = "tripgen", "tripgen-test"
HTPASSWD = f"{USER}:$2b$05$abcdefghijklmnopqrstuuhpo6amSDJ0O66Z62NeBxzJPftJQBErS\n"
"""``USER`` with ``PASSWORD`` (bcrypt, as the registry requires; made once with Python's
``crypt.crypt(PASSWORD, "$2b$05$abcdefghijklmnopqrstuv")``)."""


@contextlib.contextmanager
def registry(workdir: Path, auth: bool = False) -> Iterator[Registry]:
    """``docker-registry serve`` on a free loopback port; yields it once ``/v2/`` answers (200, or
    401 with ``auth``: then only :data:`USER` with :data:`PASSWORD` may pull and push)."""
    binary = shutil.which(BINARY)
    assert binary, MISSING
    workdir.mkdir(parents=True, exist_ok=True)
    host = f"127.0.0.1:{free_port()}"
    config = workdir / "config.yml"
    text = CONFIG.format(root=workdir / "storage", addr=host)
    if auth:
        (workdir / "htpasswd").write_text(HTPASSWD)
        text += AUTH.format(path=workdir / "htpasswd")
    config.write_text(text)
    server = Registry(host)
    log = workdir / "registry.log"

    def ready() -> bool:
        try:
            return server.get("")[0] == (401 if auth else 200)
        except OSError:
            return False

    with _process([binary, "serve", str(config)], log) as proc:
        _wait(BINARY, ready, proc, log, timeout=60)
        yield server


@pytest.fixture(scope="session", name="oci_registry")
def oci_registry_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """The session's registry (one per xdist worker; the tests share the group ``registry``)."""
    with registry(tmp_path_factory.mktemp("registry")) as server:
        yield server
