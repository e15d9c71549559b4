"""The guardrails of an environment, checked on its synthesised objects (every app the same way),
and the environment-level invariants every app gets.

Each check returns one line per problem, naming the object, the field and the guardrail; ``synth``
refuses the first one (exit 2) and ``validate`` lists them all.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

from ..lib.helmchart import SynthesizedChart, ValueCheck
from ..lib.validation import check_network_coverage
from .model import Guardrails

Obj = dict[str, Any]
LONG_RUNNING = ("Deployment", "Rollout", "StatefulSet", "DaemonSet")
WORKLOADS = (*LONG_RUNNING, "Job", "CronJob")
SCALERS = ("HorizontalPodAutoscaler", "ScaledObject")


def pod_spec(obj: Obj) -> Obj:
    """The pod spec of a workload (a CronJob's through its job template)."""
    spec = obj.get("spec") or {}
    if obj["kind"] == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return ((spec.get("template") or {}).get("spec")) or {}


def _pod_template_path(obj: Obj) -> str:
    return "spec.jobTemplate.spec.template.spec" if obj["kind"] == "CronJob" else "spec.template.spec"


def _containers(obj: Obj) -> Iterator[tuple[str, Obj, bool]]:
    """(field path, container, long-running) of every container of a workload (init containers too;
    a native sidecar, an init container with ``restartPolicy: Always``, runs like a container)."""
    pod, base = pod_spec(obj), _pod_template_path(obj)
    for c in pod.get("initContainers") or []:
        yield f"{base}.initContainers[{c.get('name')}]", c, c.get("restartPolicy") == "Always"
    for c in pod.get("containers") or []:
        yield f"{base}.containers[{c.get('name')}]", c, True


def _ref(obj: Obj) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def split_image(image: str) -> tuple[str, str, str]:
    """(repository, tag, digest) of an image reference (``repo:tag``, ``repo@sha256:...``, both)."""
    rest, _, digest = image.partition("@")
    last = rest.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = rest.rsplit(":", 1)
    else:
        repo, tag = rest, ""
    return repo, tag, digest


def check_images(objs: list[Obj], g: Guardrails) -> list[str]:
    """``immutable_image_tags`` and ``require_digest`` on every container image."""
    errors = []
    pattern = re.compile(g.release_tag_pattern)
    for obj in (o for o in objs if o["kind"] in WORKLOADS):
        for path, c, _ in _containers(obj):
            image = str(c.get("image", ""))
            _repo, tag, digest = split_image(image)
            if g.require_digest and not digest:
                errors.append(f"{_ref(obj)} {path}.image: invalid value {image!r}; guardrail require_digest: "
                              "allowed: an image pinned by a digest (@sha256:...)")
            elif g.immutable_image_tags and not digest and not pattern.match(tag):
                errors.append(f"{_ref(obj)} {path}.image: invalid value {image!r}; guardrail immutable_image_tags: "
                              f"allowed: a release tag matching {g.release_tag_pattern} or a digest")
    return errors


DIGEST_PATTERN = "^sha256:[a-f0-9]{64}$"
# Python constructs Go's RE2 (Helm's regexMatch and schema validator) does not have: a tag pattern is
# checked by both, so it must mean the same to both.
_NOT_RE2 = re.compile(r"\(\?[=!]|\(\?<[=!]|\(\?P=|\(\?>|\(\?\(|\\[1-9]|\\Z|[*+?}][+]")


def portable_pattern_problem(pattern: str) -> str:
    """Why ``pattern`` may not mean the same to Python and to Go's RE2 ('' when it does)."""
    found = _NOT_RE2.search(pattern)
    return f"{found.group()!r} (lookarounds, back-references, atomic groups, \\Z) has no Go RE2 equivalent" if found else ""


def guard_values(charts: list[SynthesizedChart], g: Guardrails) -> None:
    """Put the image guardrails into every chart's values, so the schema and the templates' install-time
    checks refuse what synth refuses: with ``require_digest`` each ``*image.digest`` must be a digest;
    with ``immutable_image_tags`` each ``*image.tag`` must match the release tag pattern unless its
    digest is set (JSON schema ``if``/``then`` on the image object, and a ``fail`` in the templates)."""
    for chart in (c for c in charts if c.is_helm):
        v = chart.values
        for key in [k for k in v.params if k == "image.tag" or k.endswith(".image.tag")]:
            group = key.removesuffix(".tag")
            digest = f"{group}.digest"
            if g.require_digest and digest in v.params:
                p = v.params[digest]
                v.params[digest] = dataclasses.replace(p, schema={**p.schema, "pattern": DIGEST_PATTERN},
                                                       allowed="guardrail require_digest: allowed: an image pinned by a digest "
                                                       "(sha256:...)")
            elif g.immutable_image_tags:
                pattern = f"^(?:{g.release_tag_pattern})"
                v.rule(ValueCheck(key, "pattern", pattern, "guardrail immutable_image_tags: allowed: a release tag "
                                  f"matching {g.release_tag_pattern} or a digest", unless=digest if digest in v.params else ""),
                       (group, {"if": {"properties": {"digest": {"const": ""}}},
                                "then": {"properties": {"tag": {"pattern": pattern}}}}))


def _scaler_of(objs: list[Obj], w: Obj) -> Obj | None:
    for s in objs:
        if s["kind"] in SCALERS and (s.get("spec") or {}).get("scaleTargetRef", {}).get("name") == w["metadata"]["name"]:
            return s
    return None


def check_replicas(objs: list[Obj], g: Guardrails) -> list[str]:
    """``min_replicas``: the fixed replicas, or the autoscaler's minimum, of every long-running workload."""
    errors = []
    for w in (o for o in objs if o["kind"] in LONG_RUNNING and o["kind"] != "DaemonSet"):
        scaler = _scaler_of(objs, w)
        if scaler is not None:
            spec = scaler["spec"]
            key = "minReplicas" if scaler["kind"] == "HorizontalPodAutoscaler" else "minReplicaCount"
            floor, where = int(spec.get(key, 1)), f"{_ref(scaler)} spec.{key}"
        else:
            floor, where = int((w.get("spec") or {}).get("replicas", 1)), f"{_ref(w)} spec.replicas"
        if floor < g.min_replicas:
            errors.append(f"{where}: invalid value {floor}; guardrail min_replicas: allowed: at least {g.min_replicas}")
    return errors


def _selects(pdb: Obj, w: Obj) -> bool:
    selector = ((pdb.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    labels = (((w.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_disruption_budgets(objs: list[Obj], g: Guardrails) -> list[str]:
    """``require_pdb``: every autoscaled workload has a PodDisruptionBudget selecting its pods."""
    if not g.require_pdb:
        return []
    pdbs = [o for o in objs if o["kind"] == "PodDisruptionBudget"]
    return [f"{_ref(w)}: no PodDisruptionBudget selects its pods; guardrail require_pdb: allowed: an autoscaled "
            "workload with a PDB (AutoscaledServiceProps.disruption_budget)"
            for w in objs if w["kind"] in LONG_RUNNING and _scaler_of(objs, w) is not None
            and not any(_selects(p, w) for p in pdbs)]


def check_resources(objs: list[Obj], g: Guardrails) -> list[str]:
    """``require_resources``: CPU and memory requests and limits on every container."""
    if not g.require_resources:
        return []
    errors = []
    for obj in (o for o in objs if o["kind"] in WORKLOADS):
        for path, c, _ in _containers(obj):
            res = c.get("resources") or {}
            missing = [f"{side}.{key}" for side in ("requests", "limits") for key in ("cpu", "memory")
                       if key not in (res.get(side) or {})]
            if missing:
                errors.append(f"{_ref(obj)} {path}.resources: missing {', '.join(missing)}; guardrail "
                              "require_resources: allowed: CPU and memory requests and limits")
    return errors


def check_probes(objs: list[Obj], g: Guardrails) -> list[str]:
    """``require_probes``: liveness and readiness probes on every container of a long-running workload."""
    if not g.require_probes:
        return []
    errors = []
    for obj in (o for o in objs if o["kind"] in LONG_RUNNING):
        for path, c, running in _containers(obj):
            missing = [p for p in ("livenessProbe", "readinessProbe") if running and p not in c]
            if missing:
                errors.append(f"{_ref(obj)} {path}: missing {' and '.join(missing)}; guardrail require_probes: "
                              "allowed: a container with liveness and readiness probes")
    return errors


def check_default_deny(objs: list[Obj], g: Guardrails) -> list[str]:
    """``require_default_deny``: every pod is selected by a default deny of both directions."""
    if not g.require_default_deny:
        return []
    return [f"{e}; guardrail require_default_deny" for e in check_network_coverage(objs, True)]


def check_guardrails(objs: list[Obj], g: Guardrails) -> list[str]:
    """Every guardrail of ``g`` on ``objs``: one line per problem."""
    errors: list[str] = []
    for check in (check_images, check_replicas, check_disruption_budgets, check_resources, check_probes,
                  check_default_deny):
        errors += check(objs, g)
    return errors


# ---------------------------------------------------------------------------- invariants of every app


def _peer_admits(peer: Obj, namespace: str) -> bool:
    """Whether a NetworkPolicy ``from`` peer admits traffic from outside ``namespace`` (another
    namespace, or an address block): what an ingress controller is."""
    if "ipBlock" in peer:
        return True
    if "namespaceSelector" in peer:
        return True
    return False


def _admitted_from_outside(objs: list[Obj], pod_labels: dict[str, str], namespace: str, port: Any) -> bool:
    selecting = [p for p in objs if p["kind"] == "NetworkPolicy" and p["metadata"].get("namespace") == namespace
                 and "Ingress" in (p["spec"].get("policyTypes") or ["Ingress"])
                 and all(pod_labels.get(k) == v for k, v in (p["spec"]["podSelector"].get("matchLabels") or {}).items())]
    if not selecting:
        return True  # no policy isolates the pods: everything may reach them
    for pol in selecting:
        for rule in pol["spec"].get("ingress") or []:
            peers_ok = not rule.get("from") or any(_peer_admits(peer, namespace) for peer in rule["from"])
            ports = rule.get("ports")
            port_ok = not ports or any(p.get("port") in (port, None) for p in ports)
            if peers_ok and port_ok:
                return True
    return False


def check_ingress_routes(objs: list[Obj]) -> list[str]:
    """Every Ingress backend is reachable by the ingress controller under the namespace's
    NetworkPolicies (otherwise the route is dead: the controller's connections are dropped)."""
    errors = []
    services = {(o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objs if o["kind"] == "Service"}
    workloads = [o for o in objs if o["kind"] in LONG_RUNNING]
    for ing in (o for o in objs if o["kind"] == "Ingress"):
        ns = ing["metadata"].get("namespace")
        for rule in ing["spec"].get("rules") or []:
            for path in (rule.get("http") or {}).get("paths") or []:
                backend = path["backend"]["service"]
                svc = services.get((ns, backend["name"]))
                if svc is None:
                    continue
                port = backend.get("port", {}).get("number") or backend.get("port", {}).get("name")
                target = next((p.get("targetPort", p["port"]) for p in svc["spec"].get("ports") or []
                               if port in (p.get("port"), p.get("name"))), port)
                selector = svc["spec"].get("selector") or {}
                for w in workloads:
                    labels = (w["spec"].get("template") or {}).get("metadata", {}).get("labels") or {}
                    if w["metadata"].get("namespace") != ns or not selector or \
                            any(labels.get(k) != v for k, v in selector.items()):
                        continue
                    container_port = _resolve_port(w, target)
                    if not _admitted_from_outside(objs, labels, ns, container_port) and \
                            not _admitted_from_outside(objs, labels, ns, target):
                        errors.append(f"Ingress/{ing['metadata']['name']}: the route {path.get('path', '/')} to "
                                      f"Service/{backend['name']} is dead: no NetworkPolicy lets the ingress "
                                      f"controller reach {_ref(w)} on port {target}; allowed: a route to a workload "
                                      "the namespace's policies open to the controller (NamespacePoliciesProps "
                                      "application_selector/application_ports)")
    return errors


def _resolve_port(w: Obj, target: Any) -> Any:
    """A named targetPort as the container port number it names."""
    if isinstance(target, int):
        return target
    for c in pod_spec(w).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == target:
                return p.get("containerPort")
    return target
