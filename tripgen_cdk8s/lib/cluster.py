"""Server-side apply against a real Kubernetes API server, as Argo CD applies (``tripgen validate --cluster``).

A small client of the API (``urllib``, no kubectl): a kubeconfig context (token, client certificate
or an ``exec`` credential plugin such as kubelogin), discovery of each kind's resource, and
``PATCH`` with ``application/apply-patch+yaml`` (``fieldManager``, ``force``, optionally
``dryRun=All``: the server runs admission, Pod Security, CEL rules and defaulting, and persists
nothing).  Objects are applied in Argo CD's order (hook phase, sync wave, kind, name), and every pod
template is also submitted as a Pod, because Pod Security admission enforces on Pods only.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]

WAVE = "argocd.argoproj.io/sync-wave"
HOOK = "argocd.argoproj.io/hook"
FIELD_MANAGER = "argocd-controller"
"""The field manager Argo CD's server-side apply uses."""


class ClusterError(Exception):
    """The cluster cannot be used: no kubeconfig, no such context, unreachable (one line, exit 2)."""


class ApplyRefused(Exception):
    """The API server refused an object; the message is the server's own (it names the object and field)."""


@dataclass
class Credentials:
    """Where the API server is and how to authenticate to it (one kubeconfig context)."""

    server: str
    ca_file: str | None = None
    insecure: bool = False
    token: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    _temp: list[str] = field(default_factory=list, repr=False)


def _read_kubeconfigs(path: Path | None) -> tuple[list[Path], Obj]:
    if path is not None:
        paths = [path]
    elif os.environ.get("KUBECONFIG"):
        paths = [Path(p) for p in os.environ["KUBECONFIG"].split(os.pathsep) if p]
    else:
        paths = [Path.home() / ".kube" / "config"]
    merged: Obj = {"clusters": [], "users": [], "contexts": []}
    found = []
    for p in paths:
        if not p.is_file():
            continue
        found.append(p)
        try:
            doc = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as err:
            raise ClusterError(f"kubeconfig {p}: not YAML ({str(err).splitlines()[0]})") from err
        for key in ("clusters", "users", "contexts"):
            merged[key] += doc.get(key) or []
        merged.setdefault("current-context", doc.get("current-context"))
    if not found:
        raise ClusterError(f"no kubeconfig: {', '.join(map(str, paths))} does not exist "
                           "(set KUBECONFIG or pass --kubeconfig)")
    return found, merged


def _named(items: list[Obj], name: str, what: str, where: str) -> Obj:
    for item in items:
        if item.get("name") == name:
            entry: Obj = item.get(what) or {}
            return entry
    raise ClusterError(f"kubeconfig {where}: no {what} named {name!r}")


def _data_file(creds: Credentials, data: str) -> str:
    fd, name = tempfile.mkstemp(prefix="tripgen-kube-")
    with os.fdopen(fd, "wb") as f:
        f.write(base64.b64decode(data))
    creds._temp.append(name)
    return name


def _exec_credential(spec: Obj, creds: Credentials) -> None:
    """Run a kubeconfig ``exec`` plugin (kubelogin on AKS) and take its token or certificate."""
    env = {**os.environ, **{e["name"]: e["value"] for e in spec.get("env") or []}}
    try:
        proc = subprocess.run([spec["command"], *(spec.get("args") or [])], capture_output=True, text=True,
                              env=env, check=False, timeout=120)
    except OSError as err:
        raise ClusterError(f"kubeconfig exec plugin {spec['command']}: {err.strerror}") from err
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ClusterError(f"kubeconfig exec plugin {spec['command']} failed: {last}")
    status = json.loads(proc.stdout).get("status") or {}
    creds.token = status.get("token")
    if status.get("clientCertificateData"):
        creds.cert_file = _data_file(creds, base64.b64encode(status["clientCertificateData"].encode()).decode())
        creds.key_file = _data_file(creds, base64.b64encode(status["clientKeyData"].encode()).decode())


def load_kubeconfig(path: Path | None = None, context: str | None = None) -> Credentials:
    """The credentials of ``context`` (default: the current context) from ``path``, ``$KUBECONFIG``
    or ``~/.kube/config``."""
    found, config = _read_kubeconfigs(path)
    where = ", ".join(map(str, found))
    name = context or config.get("current-context")
    if not name:
        raise ClusterError(f"kubeconfig {where}: no current context (pass --context NAME)")
    ctx = _named(config["contexts"], name, "context", where)
    cluster = _named(config["clusters"], ctx.get("cluster", ""), "cluster", where)
    user = _named(config["users"], ctx["user"], "user", where) if ctx.get("user") else {}
    if not cluster.get("server"):
        raise ClusterError(f"kubeconfig {where}: cluster {ctx.get('cluster')!r} has no server")
    creds = Credentials(server=cluster["server"].rstrip("/"), insecure=bool(cluster.get("insecure-skip-tls-verify")))
    if cluster.get("certificate-authority-data"):
        creds.ca_file = _data_file(creds, cluster["certificate-authority-data"])
    elif cluster.get("certificate-authority"):
        creds.ca_file = cluster["certificate-authority"]
    creds.token = user.get("token")
    if user.get("tokenFile"):
        creds.token = Path(user["tokenFile"]).read_text(encoding="utf-8").strip()
    if user.get("client-certificate-data"):
        creds.cert_file = _data_file(creds, user["client-certificate-data"])
        creds.key_file = _data_file(creds, user["client-key-data"])
    elif user.get("client-certificate"):
        creds.cert_file, creds.key_file = user["client-certificate"], user["client-key"]
    if user.get("exec"):
        _exec_credential(user["exec"], creds)
    return creds


class Cluster:
    """One API server: discovery, server-side apply, get."""

    def __init__(self, creds: Credentials, timeout: float = 30.0) -> None:
        self.creds = creds
        self.timeout = timeout
        try:
            self._context = ssl.create_default_context(cafile=creds.ca_file)
            if creds.insecure:
                self._context.check_hostname = False
                self._context.verify_mode = ssl.CERT_NONE
            if creds.cert_file and creds.key_file:
                self._context.load_cert_chain(creds.cert_file, creds.key_file)
        except OSError as err:  # ssl.SSLError is one
            raise ClusterError(f"kubeconfig credentials for {creds.server}: {err.strerror or err}") from err
        self._resources: dict[str, dict[str, tuple[str, bool]]] = {}

    def close(self) -> None:
        """Remove the temporary certificate files written from the kubeconfig's inline data."""
        for name in self.creds._temp:
            Path(name).unlink(missing_ok=True)
        self.creds._temp.clear()

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str = "application/json",
                query: dict[str, str] | None = None) -> tuple[int, Obj]:
        """One API call; returns (HTTP status, decoded JSON body).  Unreachable is a ClusterError."""
        url = self.creds.server + path + ("?" + urllib.parse.urlencode(query) if query else "")
        req = urllib.request.Request(url, data=body, method=method)
        req.add_header("Accept", "application/json")
        if body is not None:
            req.add_header("Content-Type", content_type)
        if self.creds.token:
            req.add_header("Authorization", f"Bearer {self.creds.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=self._context) as resp:
                return resp.status, _json(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, _json(err.read())
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise ClusterError(f"cluster {self.creds.server} unreachable: {reason}") from err

    def version(self) -> str:
        """The server's version (``/version`` gitVersion, e.g. ``v1.35.4``)."""
        status, body = self.request("GET", "/version")
        if status != 200:
            raise ClusterError(f"cluster {self.creds.server}: /version answered {status} {_message(body)}")
        return str(body["gitVersion"])

    def resource(self, api_version: str, kind: str) -> tuple[str, bool]:
        """(plural, namespaced) of ``kind`` in ``api_version``; ApplyRefused when the server has no such kind.
        Discovery is cached per API version and asked again for a kind it did not have (a CRD just created)."""
        if kind not in self._resources.get(api_version, {}):
            self._resources.pop(api_version, None)
        if api_version not in self._resources:
            path = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
            status, body = self.request("GET", path)
            found = {} if status != 200 else {
                r["kind"]: (r["name"], bool(r["namespaced"])) for r in body.get("resources", []) if "/" not in r["name"]}
            if status == 200:
                self._resources[api_version] = found
            elif status != 404:
                raise ClusterError(f"cluster {self.creds.server}: discovery of {api_version} answered {status} "
                                   f"{_message(body)}")
            else:
                return self._missing(api_version, kind)
        if kind not in self._resources[api_version]:
            return self._missing(api_version, kind)
        return self._resources[api_version][kind]

    @staticmethod
    def _missing(api_version: str, kind: str) -> tuple[str, bool]:
        raise ApplyRefused(f"the server has no kind {kind} in {api_version} (API removed, or CRD not installed)")

    def path(self, obj: Obj, namespace: str | None = None) -> str:
        """The object's URL path (``namespace`` for a namespaced object without one)."""
        plural, namespaced = self.resource(obj["apiVersion"], obj["kind"])
        base = f"/api/{obj['apiVersion']}" if "/" not in obj["apiVersion"] else f"/apis/{obj['apiVersion']}"
        ns = obj["metadata"].get("namespace") or namespace or "default"
        scope = f"/namespaces/{ns}" if namespaced else ""
        return f"{base}{scope}/{plural}/{obj['metadata']['name']}"

    def apply(self, obj: Obj, *, dry_run: bool = False, field_manager: str = FIELD_MANAGER,
              subresource: str = "") -> Obj:
        """Server-side apply ``obj`` (force, as Argo CD does); the server's answer, or ApplyRefused."""
        query = {"fieldManager": field_manager, "force": "true"}
        if dry_run:
            query["dryRun"] = "All"
        try:
            path = self.path(obj) + (f"/{subresource}" if subresource else "")
        except ApplyRefused as err:
            raise ApplyRefused(f"{describe(obj)}: {err}") from err
        status, body = self.request("PATCH", path, json.dumps(obj).encode(), "application/apply-patch+yaml", query)
        if status >= 300:
            raise ApplyRefused(f"{describe(obj)}: {_message(body) or f'HTTP {status}'}")
        return body

    def get(self, obj: Obj) -> Obj | None:
        """The object as stored, or None."""
        status, body = self.request("GET", self.path(obj))
        return body if status == 200 else None


def _json(raw: bytes) -> Obj:
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        return {"message": raw.decode(errors="replace").strip()[:300]}
    return data if isinstance(data, dict) else {}


def _message(body: Obj) -> str:
    return str(body.get("message", "")).replace("\n", " ")


def describe(obj: Obj) -> str:
    """``Kind namespace/name`` (or ``Kind name`` for a cluster-scoped object)."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{obj['kind']} {ns + '/' if ns else ''}{meta.get('name')}"


# ---------------------------------------------------------------------------- Argo CD's order

KIND_ORDER = ("Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy", "PodDisruptionBudget",
              "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass", "PersistentVolume",
              "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList",
              "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList",
              "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
              "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService")
"""Argo CD's (and Helm's) install order of kinds within one wave; other kinds come after these."""
PHASES = ("PreSync", "Sync", "PostSync")


def _annotation(obj: Obj, key: str) -> str:
    return str(((obj.get("metadata") or {}).get("annotations") or {}).get(key, ""))


HELM_HOOKS = {"pre-install": "PreSync", "pre-upgrade": "PreSync", "post-install": "PostSync",
              "post-upgrade": "PostSync"}
"""How Argo CD maps Helm hooks to its phases (other Helm hooks, such as tests, it does not run)."""


def phase(obj: Obj) -> str:
    """The Argo CD sync phase: an Argo CD hook's (``PreSync``, ``PostSync``, ...) or a Helm hook's
    as Argo CD maps it, else ``Sync``."""
    hooks = [h.strip() for h in _annotation(obj, HOOK).split(",") if h.strip()]
    if not hooks:
        hooks = [HELM_HOOKS.get(h.strip(), "") for h in _annotation(obj, "helm.sh/hook").split(",")]
    return next((h for h in hooks if h in PHASES), "Sync")


def sync_order(objs: Iterable[Obj], wave: int = 0) -> list[Obj]:
    """``objs`` in the order Argo CD applies them: phase, sync wave (``wave`` when unannotated), kind, name."""
    def key(o: Obj) -> tuple[int, int, int, str, str]:
        kind = o["kind"]
        rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
        w = _annotation(o, WAVE)
        w = w or _annotation(o, "helm.sh/hook-weight")
        return (PHASES.index(phase(o)), int(w) if w else wave, rank, kind, str(o["metadata"]["name"]))
    return sorted(objs, key=key)


def pod_template_pods(objs: Iterable[Obj]) -> list[Obj]:
    """Every pod template (Deployment, StatefulSet, DaemonSet, Job, CronJob, Rollout) as a Pod of the
    workload's namespace, named ``<workload>-pod-check``: submitted with a dry run so that Pod Security
    admission, which judges Pods only, sees each container."""
    pods = []
    for o in objs:
        spec = o.get("spec") or {}
        template = (spec.get("jobTemplate", {}).get("spec", {}) if o["kind"] == "CronJob" else spec).get("template")
        if not isinstance(template, dict) or "spec" not in template:
            continue
        meta = template.get("metadata") or {}
        pod_meta: Obj = {"name": f"{o['metadata']['name']}-pod-check"[:63], "namespace": o["metadata"].get("namespace")}
        for key in ("labels", "annotations"):
            if meta.get(key):
                pod_meta[key] = meta[key]
        pods.append({"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": template["spec"]})
    return pods


# ---------------------------------------------------------------------------- dry run of an environment


@dataclass(frozen=True)
class Outcome:
    """One object's result: ``ok``, ``failed`` or ``skipped`` with the reason."""

    label: str
    status: str
    message: str = ""


def _skip_reason(obj: Obj, message: str, objs: list[Obj]) -> str | None:
    """Why a refusal is one the dry run itself causes (an object it would create does not exist
    yet, because a dry run persists nothing), or None for a real refusal."""
    planned = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objs}
    ns = obj["metadata"].get("namespace")
    if f'namespaces "{ns}" not found' in message and ("Namespace", None, ns) in planned:
        return f"its namespace {ns} is created by this same sync (a dry run persists nothing)"
    sa = (obj.get("spec") or {}).get("serviceAccountName")
    if obj["kind"] == "Pod" and sa and "serviceaccount" in message.lower() and ("ServiceAccount", ns, sa) in planned:
        return f"its ServiceAccount {sa} is created by this same sync (a dry run persists nothing)"
    if "the server could not find the requested resource" in message or "has no kind" in message:
        crds = {(o["spec"]["group"], o["spec"]["names"]["kind"]) for o in objs if o["kind"] == "CustomResourceDefinition"}
        if (obj["apiVersion"].split("/")[0], obj["kind"]) in crds:
            return "its CRD is created by this same sync (a dry run persists nothing)"
    return None


def dry_run(cluster: Cluster, objs: list[Obj], *, pods: bool = True,
            on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Server-side apply every object with ``dryRun=All`` in Argo CD's order (the caller orders the
    waves), then each pod template as a Pod; nothing is persisted.  A refusal the dry run itself
    causes (a namespace or ServiceAccount the same sync would create first) is ``skipped`` with its
    reason, never ``ok``."""
    outcomes = []
    for obj in [*objs, *(pod_template_pods(objs) if pods else [])]:
        label = describe(obj)
        try:
            cluster.apply(obj, dry_run=True)
            outcome = Outcome(label, "ok")
        except ApplyRefused as err:
            reason = _skip_reason(obj, str(err), objs)
            outcome = Outcome(label, "skipped", reason) if reason else Outcome(label, "failed", str(err))
        outcomes.append(outcome)
        if on_outcome:
            on_outcome(outcome)
    return outcomes


def apply_all(cluster: Cluster, objs: Iterable[Obj], *, dry_run: bool = False) -> list[str]:
    """Server-side apply each object in the given order; the refusals, one line each (object and field)."""
    errors = []
    for obj in objs:
        try:
            cluster.apply(obj, dry_run=dry_run)
        except ApplyRefused as err:
            errors.append(str(err))
    return errors


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loader reading a bare ``=`` (an enum value in the AlertmanagerConfig CRD) as a string."""


_Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def parse_manifests(text: str) -> list[Obj]:
    """The non-empty documents of a multi-document YAML stream."""
    return [d for d in yaml.load_all(text, Loader=_Loader) if d]


# ---------------------------------------------------------------------------- an environment's charts, as Argo CD syncs them


@dataclass(frozen=True)
class ChartSource:
    """One chart of an environment: its directory name, release namespace and whether it is a Helm
    chart (else a directory of plain manifests, such as the Argo CD Applications)."""

    name: str
    namespace: str
    is_helm: bool = True


def render_chart(helm: str, chart_dir: Path, release: str, namespace: str, kube_version: str) -> list[Obj]:
    """``helm template`` as Argo CD runs it: the release name, the destination namespace, the
    server's version (``--kube-version``), hooks included."""
    proc = subprocess.run([helm, "template", release, str(chart_dir), "--namespace", namespace, "--kube-version",
                           kube_version.lstrip("v").split("+")[0]], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ApplyRefused(f"helm template {chart_dir}: {proc.stderr.strip().splitlines()[-1] if proc.stderr else ''}")
    return parse_manifests(proc.stdout)


def manifests(directory: Path) -> list[Obj]:
    """Every object of every ``*.yaml`` under ``directory`` (a plain-manifest chart)."""
    return [o for p in sorted(directory.rglob("*.yaml")) for o in parse_manifests(p.read_text(encoding="utf-8"))]


def environment_sync(helm: str, env_dir: Path, charts: Iterable[ChartSource], kube_version: str) -> list[list[Obj]]:
    """The objects of one environment in the order Argo CD syncs them: first the plain manifests
    (the Applications and projects, which Argo CD itself applies), then each Helm chart in the sync
    wave of the Application whose source path ends with its name (0 without one), each chart's
    objects in phase / wave / kind order.  One list per chart."""
    charts = list(charts)
    plain = [manifests(env_dir / c.name) for c in charts if not c.is_helm and (env_dir / c.name).is_dir()]
    waves: dict[str, int] = {}
    for o in (o for objs in plain for o in objs):
        path = str(((o.get("spec") or {}).get("source") or {}).get("path", ""))
        if o["kind"] == "Application" and path:
            waves[path.rstrip("/").rsplit("/", 1)[-1]] = int(_annotation(o, WAVE) or 0)
    helm_charts = sorted((c for c in charts if c.is_helm), key=lambda c: (waves.get(c.name, 0), c.name))
    ordered = [sync_order(objs) for objs in plain]
    for c in helm_charts:
        ordered.append(sync_order(render_chart(helm, env_dir / c.name, c.name, c.namespace, kube_version)))
    return ordered
