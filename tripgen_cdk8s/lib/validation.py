"""`tripgen validate`: checks over the generated charts, each reported as one line.

Schemas (every Kubernetes minor of the charts' range via kubernetes-validate, custom resources via their CRDs), helm lint and
the round trip with the real helm binary, cross-object invariants, and checkov when installed.
Every check returns a list of failure messages; empty means it passed.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .kubeversions import KubernetesVersions
from .model import FEATURE_EGRESS, FEATURES, INTERNET_EGRESS
from .promtools import check_alerting
from .tools import tool_path

Obj = dict[str, Any]
BUILTIN_API_VERSIONS = ("v1", "apps/v1", "autoscaling/v2", "policy/v1", "networking.k8s.io/v1",
                        "rbac.authorization.k8s.io/v1", "batch/v1")
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Rollout")
POD_KINDS = (*WORKLOAD_KINDS, "Job", "CronJob")
"""Every kind with a pod template (a Job's pods are run, not served: no Service selects them)."""


def _name(o: Obj) -> str:
    return f"{o['kind']}/{o['metadata']['name']}"


def _ns(o: Obj) -> str | None:
    namespace: str | None = o["metadata"].get("namespace")
    return namespace


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _workloads(objs: list[Obj]) -> list[Obj]:
    return [o for o in objs if o["kind"] in WORKLOAD_KINDS]


def _template(w: Obj) -> Obj:
    """The pod template of a workload, Job or CronJob."""
    spec = w["spec"]["jobTemplate"]["spec"] if w["kind"] == "CronJob" else w["spec"]
    template: Obj = spec["template"]
    return template


def _pod_owners(objs: list[Obj]) -> list[Obj]:
    return [o for o in objs if o["kind"] in POD_KINDS]


def _pod_labels(w: Obj) -> dict[str, str]:
    return dict(_template(w).get("metadata", {}).get("labels", {}))


# ---------------------------------------------------------------------------- schemas


@cache
def _kubernetes_validate() -> Any:
    """kubernetes-validate, with its schema files parsed once per process instead of on every call
    (it re-reads a version's definitions file, several MB of JSON, for each object)."""
    import kubernetes_validate
    import kubernetes_validate.utils as kv_utils

    kv_utils.schema_contents = cache(kv_utils.schema_contents)
    return kubernetes_validate


def is_builtin(api_version: str) -> bool:
    """A Kubernetes API (core, ``apps``, ``*.k8s.io``), not a custom resource (``*.x-k8s.io`` are CRDs)."""
    group = api_version.split("/")[0] if "/" in api_version else ""
    return "." not in group or (group.endswith(".k8s.io") and not group.endswith(".x-k8s.io"))


def check_builtin_schemas(objs: list[Obj], version: str = "1.29") -> list[str]:
    """Every built-in object against the Kubernetes OpenAPI schema, strict; a missing schema fails."""
    kubernetes_validate = _kubernetes_validate()

    errors = []
    for o in objs:
        if not is_builtin(o["apiVersion"]):
            continue
        try:
            kubernetes_validate.validate(o, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(f"{_name(o)}: no Kubernetes {version} schema for {o['apiVersion']}")
        except kubernetes_validate.ValidationError as err:
            errors.append(f"{_name(o)}: {err.message}")
    return errors


def check_schemas_in_range(objs: list[Obj], versions: KubernetesVersions) -> list[str]:
    """:func:`check_builtin_schemas` for every minor of ``versions``; an error is reported once,
    with the minors it occurs in (an API removed in 1.32 fails ``Kubernetes 1.32-1.37: ...``)."""
    seen: dict[str, list[str]] = {}
    for minor in versions.minors:
        for err in check_builtin_schemas(objs, minor):
            seen.setdefault(err.replace(f"Kubernetes {minor} ", "Kubernetes "), []).append(minor)
    return [f"Kubernetes {ms[0]}{'-' + ms[-1] if len(ms) > 1 else ''}: {err}" for err, ms in seen.items()]


CRD_DIR = Path(__file__).resolve().parent / "crds"
"""The upstream CRDs vendored with the package (see ``crds/SOURCES.md``): the default of ``--crds``."""


class _CrdLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loader that reads a bare ``=`` (an enum value in the AlertmanagerConfig CRD) as a string;
    PyYAML would otherwise take it for YAML 1.1's ``value`` tag, which it cannot construct."""


_CrdLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


@cache
def crd_schemas(crd_dir: str) -> dict[tuple[str, str], Obj]:
    """(apiVersion, kind) -> openAPIV3Schema of every CRD in ``crd_dir``."""
    schemas = {}
    for path in sorted(Path(crd_dir).glob("*.yaml")):
        for crd in yaml.load_all(path.read_text(encoding="utf-8"), Loader=_CrdLoader):
            if not crd:
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for v in crd["spec"]["versions"]:
                schemas[(f"{group}/{v['name']}", kind)] = v["schema"]["openAPIV3Schema"]
    return schemas


def strict_schema(schema: Obj) -> Obj:
    """The CRD schema with unknown fields rejected (as the API server prunes them), Go regex flags fixed."""
    schema = dict(schema)
    if "(?i)" in schema.get("pattern", ""):
        schema["pattern"] = "(?i)" + schema["pattern"].replace("(?i)", "")
    if schema.get("type") == "object" and "properties" in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
        schema.setdefault("additionalProperties", False)
    if "properties" in schema:
        schema["properties"] = {n: strict_schema(s) for n, s in schema["properties"].items()}
    if isinstance(schema.get("items"), dict):
        schema["items"] = strict_schema(schema["items"])
    if isinstance(schema.get("additionalProperties"), dict):
        schema["additionalProperties"] = strict_schema(schema["additionalProperties"])
    return schema


def check_custom_resources(objs: list[Obj], crd_dir: Path) -> list[str]:
    """Every custom resource against its CRD's openAPIV3Schema; an unknown kind fails."""
    import jsonschema

    errors = []
    schemas = crd_schemas(str(crd_dir))
    for o in objs:
        if is_builtin(o["apiVersion"]):
            continue
        schema = schemas.get((o["apiVersion"], o["kind"]))
        if schema is None:
            errors.append(f"{_name(o)}: no CRD for {o['apiVersion']} {o['kind']} in {crd_dir}")
            continue
        for err in jsonschema.Draft7Validator(strict_schema(schema)).iter_errors(o):
            errors.append(f"{_name(o)}: {'/'.join(map(str, err.path))}: {err.message}")
    return errors


# ---------------------------------------------------------------------------- invariants


def check_selectors(objs: list[Obj]) -> list[str]:
    """Every Service and PDB selector matches the pods of exactly one workload."""
    errors = []
    for o in objs:
        if o["kind"] == "Service":
            selector = o["spec"].get("selector", {})
        elif o["kind"] == "PodDisruptionBudget":
            selector = o["spec"]["selector"].get("matchLabels", {})
        else:
            continue
        hits = [w for w in _workloads(objs) if _ns(w) == _ns(o) and _matches(selector, _pod_labels(w))]
        if len(hits) != 1:
            errors.append(f"{_name(o)}: selector {selector} matches {len(hits)} workloads, expected exactly 1")
    return errors


def check_scale_targets(objs: list[Obj]) -> list[str]:
    """Every HPA / ScaledObject target and every Rollout service reference exists."""
    errors = []
    index = {(o["kind"], _ns(o), o["metadata"]["name"]) for o in objs}
    for o in objs:
        if o["kind"] in ("HorizontalPodAutoscaler", "ScaledObject"):
            ref = o["spec"]["scaleTargetRef"]
            if (ref.get("kind", "Deployment"), _ns(o), ref["name"]) not in index:
                errors.append(f"{_name(o)}: scale target {ref.get('kind', 'Deployment')}/{ref['name']} does not exist")
        if o["kind"] == "Rollout":
            bg = o["spec"].get("strategy", {}).get("blueGreen", {})
            for key in ("activeService", "previewService"):
                if key in bg and ("Service", _ns(o), bg[key]) not in index:
                    errors.append(f"{_name(o)}: {key} Service/{bg[key]} does not exist")
    return errors


def check_pod_references(objs: list[Obj]) -> list[str]:
    """Every ServiceAccount, ConfigMap (volumes, ``envFrom``, non-optional ``configMapKeyRef``),
    SecretProviderClass and volume a pod (of a workload, Job or CronJob) uses exists; a
    StatefulSet's claim templates count as volumes."""
    errors = []
    index = {(o["kind"], _ns(o), o["metadata"]["name"]) for o in objs}
    for w in _pod_owners(objs):
        ns, spec = _ns(w), _template(w)["spec"]
        sa = spec.get("serviceAccountName", "default")
        if sa != "default" and ("ServiceAccount", ns, sa) not in index:
            errors.append(f"{_name(w)}: ServiceAccount/{sa} does not exist")
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        claims = {c["metadata"]["name"] for c in w["spec"].get("volumeClaimTemplates", [])}
        for v in volumes.values():
            if "configMap" in v and ("ConfigMap", ns, v["configMap"]["name"]) not in index:
                errors.append(f"{_name(w)}: volume {v['name']}: ConfigMap/{v['configMap']['name']} does not exist")
            spc = v.get("csi", {}).get("volumeAttributes", {}).get("secretProviderClass")
            if spc and ("SecretProviderClass", ns, spc) not in index:
                errors.append(f"{_name(w)}: volume {v['name']}: SecretProviderClass/{spc} does not exist")
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            for src in c.get("envFrom", []):
                ref = src.get("configMapRef", {}).get("name")
                if ref and ("ConfigMap", ns, ref) not in index:
                    errors.append(f"{_name(w)}: container {c['name']}: ConfigMap/{ref} does not exist")
            for env in c.get("env", []):
                key_ref = env.get("valueFrom", {}).get("configMapKeyRef")
                if key_ref and not key_ref.get("optional") and ("ConfigMap", ns, key_ref["name"]) not in index:
                    errors.append(f"{_name(w)}: container {c['name']}: env {env['name']}: "
                                  f"ConfigMap/{key_ref['name']} does not exist")
            for m in c.get("volumeMounts", []):
                if m["name"] not in volumes and m["name"] not in claims:
                    errors.append(f"{_name(w)}: container {c['name']}: volume {m['name']} is not declared")
    return errors


def check_ports(objs: list[Obj]) -> list[str]:
    """Every probe port (HTTP, TCP, gRPC; of containers and native sidecars) and Service
    targetPort names a declared container port."""
    errors = []
    for w in _pod_owners(objs):
        pod = _template(w)["spec"]
        containers = pod["containers"] + [c for c in pod.get("initContainers", []) if c.get("restartPolicy") == "Always"]
        declared = {p.get("name") for c in containers for p in c.get("ports", [])} | {
            p["containerPort"] for c in containers for p in c.get("ports", [])}
        for c in containers:
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                handler = c.get(probe, {})
                port = next((handler[k]["port"] for k in ("httpGet", "tcpSocket", "grpc") if k in handler), None)
                if port is not None and port not in declared:
                    errors.append(f"{_name(w)}: {probe} port {port!r} is not a declared container port")
        for svc in objs:
            if svc["kind"] == "Service" and _ns(svc) == _ns(w) and _matches(svc["spec"].get("selector", {}), _pod_labels(w)):
                for p in svc["spec"]["ports"]:
                    if p.get("targetPort", p["port"]) not in declared:
                        errors.append(f"{_name(svc)}: targetPort {p.get('targetPort')!r} is not a port of {_name(w)}")
    return errors


def check_network_coverage(objs: list[Obj], require_default_deny: bool) -> list[str]:
    """Every pod is selected by a NetworkPolicy, and (prod) by a default deny of both directions."""
    errors = []
    policies = [o for o in objs if o["kind"] == "NetworkPolicy"]
    for w in _pod_owners(objs):
        labels = _pod_labels(w)
        selecting = [p for p in policies if _ns(p) == _ns(w)
                     and _matches(p["spec"]["podSelector"].get("matchLabels", {}), labels)]
        if not selecting:
            errors.append(f"{_name(w)}: no NetworkPolicy selects its pods")
        if require_default_deny and not any(
                p["spec"]["podSelector"] == {} and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
                and not p["spec"].get("ingress") and not p["spec"].get("egress") for p in selecting):
            errors.append(f"{_name(w)}: not covered by a default-deny NetworkPolicy")
    return errors




def _csv(value: Any) -> list[str]:
    return [v.strip() for v in str(value or "").split(",") if v.strip()]


def check_feature_egress(objs: list[Obj]) -> list[str]:
    """Every egress feature a workload turns on (its annotation ``network.tripgen-cdk8s.io/features``:
    the Kubernetes API, telemetry, a private endpoint) has its egress: when a NetworkPolicy isolates
    the pods' egress, one of the policies selecting them serves the feature
    (``network.tripgen-cdk8s.io/feature-egress``, written by ``connections.allow_feature``) or allows
    all egress.  Otherwise the feature is on and the default deny blocks it: a silent outage."""
    errors = []
    policies = [o for o in objs if o["kind"] == "NetworkPolicy"]
    for w in _pod_owners(objs):
        used = _csv((w["metadata"].get("annotations") or {}).get(FEATURES))
        if not used:
            continue
        labels = _pod_labels(w)
        selecting = [p for p in policies if _ns(p) == _ns(w) and "Egress" in (p["spec"].get("policyTypes") or [])
                     and _matches(p["spec"]["podSelector"].get("matchLabels", {}), labels)]
        if not selecting or any(rule == {} for p in selecting for rule in p["spec"].get("egress") or []):
            continue  # egress not isolated, or all of it allowed
        served = {f for p in selecting for f in _csv((p["metadata"].get("annotations") or {}).get(FEATURE_EGRESS))}
        for feature in used:
            if feature not in served:
                errors.append(f"{_name(w)}: turns on {feature} but no NetworkPolicy selecting its pods allows the "
                              f"egress {feature} needs (under the default deny it is blocked); allowed: the "
                              f"destination of {feature} named in config (connections.allow_feature)")
    return errors


def check_internet_egress(objs: list[Obj]) -> list[str]:
    """A NetworkPolicy allows Internet egress (an ``ipBlock`` of ``0.0.0.0/0`` or ``::/0``) only with
    the reason config gave (annotation ``network.tripgen-cdk8s.io/internet-egress``, written from
    ``IpBlock.internet(reason=...)``)."""
    errors = []
    for p in (o for o in objs if o["kind"] == "NetworkPolicy"):
        if str((p["metadata"].get("annotations") or {}).get(INTERNET_EGRESS, "")).strip():
            continue
        for rule in p["spec"].get("egress") or []:
            if any(str((peer.get("ipBlock") or {}).get("cidr", "")).endswith("/0") for peer in rule.get("to") or []):
                errors.append(f"{_name(p)}: allows Internet egress without a reason; allowed: Internet egress declared "
                              "in config with its reason (IpBlock.internet(reason=...))")
                break
    return errors


def check_disruption_budgets(objs: list[Obj]) -> list[str]:
    """PDB minAvailable below the minimum replicas of the workload it protects."""
    errors = []
    for pdb in (o for o in objs if o["kind"] == "PodDisruptionBudget"):
        selector = pdb["spec"]["selector"].get("matchLabels", {})
        for w in _workloads(objs):
            if _ns(w) != _ns(pdb) or not _matches(selector, _pod_labels(w)):
                continue
            floor = w["spec"].get("replicas")
            for s in objs:
                ref = s["spec"].get("scaleTargetRef", {}) if s["kind"] in ("HorizontalPodAutoscaler", "ScaledObject") else {}
                if ref.get("name") == w["metadata"]["name"] and _ns(s) == _ns(w):
                    floor = s["spec"].get("minReplicas", s["spec"].get("minReplicaCount", 1))
            if floor is None:
                floor = 1
            if isinstance(pdb["spec"].get("minAvailable"), int) and pdb["spec"]["minAvailable"] >= floor:
                errors.append(f"{_name(pdb)}: minAvailable {pdb['spec']['minAvailable']} is not below the minimum "
                              f"replicas ({floor}) of {_name(w)}; node drains would block")
    return errors


ARGOCD_HOOK = "argocd.argoproj.io/hook"
ARGOCD_WAVE = "argocd.argoproj.io/sync-wave"
HELM_HOOK = "helm.sh/hook"
HELM_WEIGHT = "helm.sh/hook-weight"


def check_hooks(objs: list[Obj]) -> list[str]:
    """A pod run as a hook (Argo CD ``PreSync``..., Helm ``pre-install``...) finds its
    ServiceAccount and ConfigMaps on the first sync: each one the chart defines is a hook of the same
    phase with a lower sync wave and hook weight (the chart's other objects do not exist yet)."""
    errors = []
    index = {(o["kind"], _ns(o), o["metadata"]["name"]): o for o in objs}

    def hook(o: Obj) -> tuple[str, str, int, int] | None:
        a = o["metadata"].get("annotations", {})
        if ARGOCD_HOOK not in a and HELM_HOOK not in a:
            return None
        return (a.get(ARGOCD_HOOK, ""), a.get(HELM_HOOK, ""), int(a.get(ARGOCD_WAVE, "0")), int(a.get(HELM_WEIGHT, "0")))

    for w in _pod_owners(objs):
        own = hook(w)
        if own is None:
            continue
        spec = _template(w)["spec"]
        needed = [("ServiceAccount", spec.get("serviceAccountName", "default"))]
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            needed += [("ConfigMap", e["configMapRef"]["name"]) for e in c.get("envFrom", []) if "configMapRef" in e]
        for kind, name in dict.fromkeys(needed):
            dep = index.get((kind, _ns(w), name))
            if dep is None:
                continue
            theirs = hook(dep)
            if theirs is None or theirs[:2] != own[:2] or theirs[2] >= own[2] or theirs[3] >= own[3]:
                errors.append(f"{_name(w)}: runs as a hook but {kind}/{name} is not a hook of the same phase with "
                              "a lower sync wave and hook weight; on a first sync it would not exist yet")
    return errors


def check_unique(objs: list[Obj]) -> list[str]:
    """No two objects share kind, namespace and name."""
    seen: dict[tuple[str, str | None, str], int] = {}
    for o in objs:
        k = (o["kind"], _ns(o), o["metadata"]["name"])
        seen[k] = seen.get(k, 0) + 1
    return [f"{k[0]}/{k[2]} (namespace {k[1]}) is defined {n} times" for k, n in sorted(seen.items(), key=str) if n > 1]


def check_invariants(objs: list[Obj]) -> list[str]:
    """The cross-object invariants that need no tool: selectors, scale targets, pod references,
    ports, PDB floors, hooks' dependencies, unique names, the egress of every feature a workload turns
    on and the reason of every Internet egress (``synth`` of a Project runs them)."""
    errors: list[str] = []
    for check in (check_selectors, check_scale_targets, check_pod_references, check_ports, check_disruption_budgets,
                  check_hooks, check_unique, check_feature_egress, check_internet_egress):
        errors += check(objs)
    return errors


# ---------------------------------------------------------------------------- tools


HELM_MISSING = ("helm not found: put helm 3 on PATH or set TRIPGEN_HELM=/path/to/helm "
                "(in a checkout, scripts/install-helm.sh installs the pinned v3.17.1)")
CHECKOV_MISSING = ("checkov not installed: put checkov on PATH or set TRIPGEN_CHECKOV=/path/to/checkov "
                   "(in a checkout, scripts/install-checkov.sh installs it in its own venv)")


def _find_tool(root: Path, env_var: str, rel: str, name: str) -> str | None:
    """``$env_var`` when set, else the copy the project installs (``rel``), else ``name`` on PATH."""
    explicit = os.environ.get(env_var)
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    local = tool_path(root, rel)
    return str(local) if local else shutil.which(name)


def find_helm(root: Path) -> str | None:
    """``$TRIPGEN_HELM``, else the project's pinned helm (``.tools/bin/helm``), else helm on PATH."""
    return _find_tool(root, "TRIPGEN_HELM", ".tools/bin/helm", "helm")


def find_checkov(root: Path) -> str | None:
    """``$TRIPGEN_CHECKOV``, else the project's checkov venv (``.venv-checkov``), else checkov on PATH."""
    return _find_tool(root, "TRIPGEN_CHECKOV", ".venv-checkov/bin/checkov", "checkov")


def check_helm(helm: str, chart_dir: Path, release: str, synthesised: list[Obj], namespace: str) -> list[str]:
    """helm lint --strict, and helm template with the defaults into ``namespace`` (the
    environment's) equals the synthesised objects."""
    errors = []
    lint = subprocess.run([helm, "lint", "--strict", str(chart_dir)], capture_output=True, text=True, check=False)
    if lint.returncode != 0:
        errors.append(f"helm lint --strict: {(lint.stdout + lint.stderr).strip().splitlines()[-1]}")
    tpl = subprocess.run([helm, "template", release, str(chart_dir), "--namespace", namespace], capture_output=True,
                         text=True, check=False)
    if tpl.returncode != 0:
        return [*errors, f"helm template: {tpl.stderr.strip()}"]
    rendered = [d for d in yaml.safe_load_all(tpl.stdout) if d]

    def key(o: Obj) -> tuple[str, str]:
        return (o["kind"], o["metadata"]["name"])

    if sorted(rendered, key=key) != sorted(synthesised, key=key):
        errors.append("helm template with the chart's values.yaml differs from the synthesised objects")
    return errors


HELM_FRAMEWORK_SKIPS = ("CKV_K8S_21",)
"""Checks skipped in checkov's helm framework only.  CKV_K8S_21 ("the default namespace should not
be used"): every namespaced object is in ``{{ .Release.Namespace }}``, and the helm framework renders
without a namespace, so it sees ``default``; the kubernetes framework, run on the charts rendered
into the environment's namespace, still applies CKV_K8S_21 to every object."""


def checkov(root: Path, helm: str, env_dir: Path, rendered_dir: Path) -> list[str]:
    """checkov --framework kubernetes (rendered) and --framework helm; failed checks are errors."""
    exe = find_checkov(root)
    if exe is None:
        return [CHECKOV_MISSING]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",
           "PATH": f"{Path(helm).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    errors = []
    for args in (["--framework", "kubernetes", "-d", str(rendered_dir)],
                 ["--framework", "helm", "-d", str(env_dir), "--skip-check", ",".join(HELM_FRAMEWORK_SKIPS)]):
        proc = subprocess.run([str(exe), *args, "--quiet", "--compact", "-o", "json"], capture_output=True, text=True,
                              env=env, check=False)
        report = json.loads(proc.stdout)
        report = report if isinstance(report, dict) else {"summary": report[0]["summary"], "results": {}}
        summary = report["summary"]
        if summary.get("resource_count", 0) == 0:
            errors.append(f"checkov {args[1]}: scanned nothing")
        for failed in report["results"].get("failed_checks", []):
            errors.append(f"checkov {args[1]}: {failed['check_id']} {failed['resource']}")
    return errors


Check = tuple[str, Callable[[], list[str]]]


def run_checks(checks: Iterable[Check], echo: Callable[[str], None]) -> int:
    """Run every check, print one line each and a summary; return the number that failed."""
    failed = 0
    total = 0
    for label, fn in checks:
        total += 1
        errors = fn()
        if errors:
            failed += 1
            echo(f"FAIL {label}")
            for e in errors[:20]:
                echo(f"     {e}")
        else:
            echo(f"ok   {label}")
    echo(f"{total - failed} of {total} checks passed" + (f", {failed} failed" if failed else ""))
    return failed


def environment_checks(root: Path, charts_dir: Path, env_name: str, charts: list[Any], crd_dir: Path,
                       require_default_deny: bool, echo: Callable[[str], None]) -> list[Check]:
    """The checks of one environment, in the order they are printed."""
    objs = [o for c in charts for o in c.objects]
    versions = KubernetesVersions.union([c.kubernetes for c in charts if c.is_helm])
    checks: list[Check] = []
    helm = find_helm(root)
    for c in (c for c in charts if c.is_helm):
        if helm is None:
            checks.append((f"{env_name}/{c.name}: helm", lambda: [HELM_MISSING]))
        else:
            checks.append((f"{env_name}/{c.name}: helm lint --strict and round trip",
                           functools.partial(check_helm, helm, charts_dir / env_name / c.name, c.name, c.objects,
                                             c.namespace)))
    checks += [
        (f"{env_name}: Kubernetes {versions} schemas (strict, every minor)", lambda: check_schemas_in_range(objs, versions)),
        (f"{env_name}: custom resources against their CRDs", lambda: check_custom_resources(objs, crd_dir)),
        (f"{env_name}: Service and PDB selectors match exactly one workload", lambda: check_selectors(objs)),
        (f"{env_name}: scaler and Rollout references exist", lambda: check_scale_targets(objs)),
        (f"{env_name}: ServiceAccounts, ConfigMaps, SecretProviderClasses and volumes exist",
         lambda: check_pod_references(objs)),
        (f"{env_name}: probe and Service ports name declared container ports", lambda: check_ports(objs)),
        (f"{env_name}: every pod is selected by a NetworkPolicy" + (" and the default deny" if require_default_deny else ""),
         lambda: check_network_coverage(objs, require_default_deny)),
        (f"{env_name}: every egress feature a workload turns on has its egress; Internet egress has a reason",
         lambda: check_feature_egress(objs) + check_internet_egress(objs)),
        (f"{env_name}: PDB minAvailable below minimum replicas", lambda: check_disruption_budgets(objs)),
        (f"{env_name}: no duplicate kind/namespace/name", lambda: check_unique(objs)),
        (f"{env_name}: alert rules (promtool check rules) and routing (amtool check-config, routes)",
         lambda: check_alerting(objs)),
    ]
    if helm is not None and find_checkov(root):
        def run_checkov() -> list[str]:
            with tempfile.TemporaryDirectory() as tmp:
                for c in charts:
                    if c.is_helm:
                        subprocess.run([helm, "template", c.name, str(charts_dir / env_name / c.name), "--namespace",
                                        c.namespace, "--output-dir", tmp], capture_output=True, check=True)
                    else:
                        shutil.copytree(charts_dir / env_name / c.name, Path(tmp) / c.name)
                return checkov(root, helm, charts_dir / env_name, Path(tmp))
        checks.append((f"{env_name}: checkov (kubernetes and helm frameworks)", run_checkov))
    else:
        checks.append((f"{env_name}: checkov", lambda: [CHECKOV_MISSING if helm else HELM_MISSING]))
    return checks
