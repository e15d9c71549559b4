"""Publish an environment's Helm charts to an OCI registry: ``tripgen publish --registry oci://HOST/PATH``.

Each chart directory of ``charts/<env>/`` (the ones with a ``Chart.yaml``; not ``argocd/``, which is
a plain manifest set) is packaged with ``helm package`` and pushed with ``helm push`` to
``oci://HOST/PATH/<env>/<chart>:<version>``.  A version already in the registry is pulled back first
(``helm pull``) and compared by content, file by file, with the local package: ``Chart.yaml`` as
data (helm re-serialises it when packaging), every other file byte for byte.  Helm 3.17 writes the
packaging time into every archive, so the archive digest says nothing about the content.

* same content: skipped (publishing is idempotent; CI can run it on every merge);
* different content under the same version: refused (:class:`PublishRefused`, exit 2), and nothing
  is pushed at all, because every chart of every selected environment is checked before the first
  push.  A version names one content; bump the version (``tripgen synth`` does when content changes).

Registry errors (unreachable, TLS, authentication) are :class:`RegistryError`, one line with helm's
own message.  Credentials are helm's: ``helm registry login HOST`` (or ``$HELM_REGISTRY_CONFIG``).

:func:`parse_registry` is also what the GitOps switch (``GitOps.chart_registry``) uses, so the
Argo CD Applications reference exactly where ``publish`` pushes.
"""

from __future__ import annotations

import re
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..lib.errors import ConfigError, UsageError

# The distribution spec's grammar: a host[:port], then repository path components of lowercase
# alphanumerics separated by '.', '_', '__' or dashes.
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
                   r"(?::[0-9]{1,5})?$|^\[[0-9A-Fa-f:]+\](?::[0-9]{1,5})?$")
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$")
CHART_FILE = "Chart.yaml"
HELM_TIMEOUT = 600.0
"""Seconds one helm call may take before publish gives up (a registry that accepts the connection
and never answers)."""


class RegistryError(UsageError):
    """The registry could not be reached or refused the request (exit 2, one line)."""


class PublishRefused(UsageError):
    """A chart version is already in the registry with other content (exit 2, one line)."""


@dataclass(frozen=True)
class Registry:
    """An OCI registry location for charts: ``host`` (with its port) and ``path`` (may be empty)."""

    host: str
    path: str = ""

    @property
    def url(self) -> str:
        """``oci://HOST/PATH`` as given (normalised: no trailing slash)."""
        return f"oci://{self.base}"

    @property
    def base(self) -> str:
        return f"{self.host}/{self.path}" if self.path else self.host

    def env_url(self, env: str) -> str:
        """Where the charts of ``env`` go: ``oci://HOST/PATH/<env>`` (what ``helm push`` takes)."""
        return f"oci://{self.base}/{env}"

    def argocd_repo_url(self, env: str) -> str:
        """The ``repoURL`` of an Argo CD Application of a Helm chart in this registry: the same
        location without ``oci://`` (Argo CD's Helm-repository form for OCI; ``chart:`` names the
        chart and ``targetRevision`` its version)."""
        return f"{self.base}/{env}"

    def chart_ref(self, env: str, chart: str, version: str) -> str:
        return f"{self.env_url(env)}/{chart}:{version}"


def parse_registry(url: str, field: str = "--registry") -> Registry:
    """``oci://HOST[:PORT]/PATH`` as a :class:`Registry`, or ConfigError naming ``field``."""
    allowed = ("allowed: oci://HOST[:PORT]/PATH, a registry and a repository path of lowercase letters, digits "
               "and . _ - (no tag, no digest), such as oci://ghcr.io/acme/charts")
    if not isinstance(url, str) or not url.startswith("oci://"):
        raise ConfigError(field, url, allowed)
    rest = url[len("oci://"):].rstrip("/")
    host, _, path = rest.partition("/")
    if not host or not _HOST.match(host) or "@" in path or ":" in path:
        raise ConfigError(field, url, allowed)
    if path and not all(_COMPONENT.match(part) for part in path.split("/")):
        raise ConfigError(field, url, allowed)
    return Registry(host, path)


@dataclass(frozen=True)
class LocalChart:
    """A chart directory on disk: ``env``, the chart's ``name`` and ``version`` from its Chart.yaml."""

    env: str
    name: str
    version: str
    path: Path


@dataclass(frozen=True)
class Outcome:
    """What publish did with one chart: ``pushed`` (with the manifest ``digest``) or ``skipped``."""

    chart: LocalChart
    ref: str
    action: str
    digest: str = ""


def charts_of(charts_dir: Path, env: str) -> list[LocalChart]:
    """The Helm charts of ``charts_dir/<env>/``, by name; ConfigError when there are none or a
    Chart.yaml lacks its name or version."""
    env_dir = charts_dir / env
    found = []
    for chart_yaml in sorted(env_dir.glob(f"*/{CHART_FILE}")):
        if chart_yaml.parent.is_symlink() or chart_yaml.is_symlink():
            continue  # never follow a link out of charts/<env>/
        rel = f"{env}/{chart_yaml.parent.name}/{CHART_FILE}"
        try:
            meta = yaml.safe_load(chart_yaml.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(rel, "not YAML", f"allowed: a Chart.yaml ({str(exc).splitlines()[0]})") from None
        name = meta.get("name") if isinstance(meta, dict) else None
        version = meta.get("version") if isinstance(meta, dict) else None
        if not isinstance(name, str) or not name or not isinstance(version, str) or not version:
            raise ConfigError(rel, meta if not isinstance(meta, dict) else {"name": name, "version": version},
                              "allowed: a Chart.yaml with a name and a version")
        found.append(LocalChart(env, name, version, chart_yaml.parent))
    if not found:
        raise ConfigError(f"{env_dir}", "no charts", "allowed: a directory of charts; run `tripgen synth` first")
    return found


def archive_contents(archive: Path) -> dict[str, Any]:
    """The files of a chart archive by path below the chart's directory: ``Chart.yaml`` parsed (helm
    re-serialises it when packaging), every other file as bytes.  Read in memory, never extracted."""
    out: dict[str, Any] = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            if not member.isfile():
                continue
            _top, _, rel = member.name.partition("/")
            handle = tar.extractfile(member)
            data = handle.read() if handle is not None else b""
            out[rel] = data
            if rel == CHART_FILE:
                try:
                    out[rel] = yaml.safe_load(data)
                except yaml.YAMLError:
                    pass  # compared as bytes: differs from any chart helm packaged
    return out


def differing(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """The paths whose content differs between two :func:`archive_contents` (present in one only,
    or different)."""
    return sorted(p for p in a.keys() | b.keys() if a.get(p) != b.get(p))


class Helm:
    """The helm binary, run with ``--plain-http`` for a plain HTTP registry."""

    def __init__(self, binary: str, plain_http: bool = False, timeout: float = HELM_TIMEOUT) -> None:
        self.binary = binary
        self.plain_http = plain_http
        self.timeout = timeout

    def run(self, *args: str, registry: bool = False) -> subprocess.CompletedProcess[str]:
        cmd = [self.binary, *args, *(["--plain-http"] if registry and self.plain_http else [])]
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise RegistryError(f"helm {args[0]} {args[1]}: no answer within {self.timeout:.0f} s") from None

    def package(self, chart: LocalChart, dest: Path) -> Path:
        proc = self.run("package", str(chart.path), "--destination", str(dest))
        if proc.returncode != 0:
            raise ConfigError(f"{chart.env}/{chart.path.name}", "helm package failed", _last_line(proc))
        archive = dest / f"{chart.name}-{chart.version}.tgz"
        if not archive.is_file():
            raise ConfigError(f"{chart.env}/{chart.path.name}", "helm package failed",
                              f"no {archive.name} after `helm package`")
        return archive

    def pull(self, registry: Registry, chart: LocalChart, dest: Path) -> Path | None:
        """The chart version's archive from the registry, or None when the registry does not have it."""
        ref = f"{registry.env_url(chart.env)}/{chart.name}"
        proc = self.run("pull", ref, "--version", chart.version, "--destination", str(dest), registry=True)
        if proc.returncode != 0:
            message = _last_line(proc)
            if message.endswith(": not found"):
                return None
            raise RegistryError(f"{registry.chart_ref(chart.env, chart.name, chart.version)}: {message}"
                                f"{_hint(registry, message)}")
        archives = list(dest.glob("*.tgz"))
        if len(archives) != 1:
            raise RegistryError(f"{registry.chart_ref(chart.env, chart.name, chart.version)}: "
                                f"helm pull wrote {len(archives)} archives")
        return archives[0]

    def push(self, registry: Registry, chart: LocalChart, archive: Path) -> str:
        """Push ``archive``; the digest of the pushed manifest."""
        proc = self.run("push", str(archive), registry.env_url(chart.env), registry=True)
        if proc.returncode != 0:
            message = _last_line(proc)
            raise RegistryError(f"{registry.chart_ref(chart.env, chart.name, chart.version)}: {message}"
                                f"{_hint(registry, message)}")
        match = re.search(r"^Digest: (\S+)", proc.stdout + proc.stderr, re.M)
        return match.group(1) if match else ""


def _hint(registry: Registry, message: str) -> str:
    """What to do, when helm's message is about credentials or a registry without TLS."""
    words = ("unauthorized", "authorization", "authentication", "denied", "401", "403")
    if any(w in message.lower() for w in words):
        return f" (publish uses helm's credentials: `helm registry login {registry.host}`)"
    if "http response to https client" in message.lower():
        return " (--plain-http for a registry without TLS)"
    return ""


def _last_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line.strip() for line in (proc.stderr or proc.stdout).splitlines() if line.strip()]
    text = lines[-1] if lines else f"helm exited with {proc.returncode}"
    return text.removeprefix("Error: ")


def publish(helm: Helm, registry: Registry, charts: Iterable[LocalChart],
            echo: Callable[[str], None] = print) -> list[Outcome]:
    """Package every chart, check each against the registry, then push the new ones.

    Nothing is pushed unless every chart is either new or identical to the registry's copy: a version
    with other content raises :class:`PublishRefused` before the first push."""
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="tripgen-publish-") as tmp:
        planned: list[tuple[LocalChart, Path]] = []
        for i, chart in enumerate(charts):
            work = Path(tmp) / str(i)
            (work / "package").mkdir(parents=True)
            (work / "pulled").mkdir()
            archive = helm.package(chart, work / "package")
            existing = helm.pull(registry, chart, work / "pulled")
            ref = registry.chart_ref(chart.env, chart.name, chart.version)
            if existing is None:
                planned.append((chart, archive))
                continue
            try:
                theirs = archive_contents(existing)
            except (tarfile.TarError, OSError, EOFError) as exc:
                raise RegistryError(f"{ref}: the registry's archive is not a chart archive ({exc})") from None
            changed = differing(archive_contents(archive), theirs)
            if changed:
                shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
                raise PublishRefused(
                    f"{ref}: chart {chart.name} version {chart.version} is already in {registry.env_url(chart.env)} "
                    f"with other content ({shown}); a published version is immutable: bump the chart version "
                    "(`tripgen synth` does when the content changes)")
            outcomes.append(Outcome(chart, ref, "skipped"))
        for outcome in outcomes:
            echo(f"skipped {outcome.ref}: already in the registry with the same content")
        for chart, archive in planned:
            digest = helm.push(registry, chart, archive)
            outcome = Outcome(chart, registry.chart_ref(chart.env, chart.name, chart.version), "pushed", digest)
            echo(f"pushed {outcome.ref}" + (f" ({digest})" if digest else ""))
            outcomes.append(outcome)
    return outcomes
