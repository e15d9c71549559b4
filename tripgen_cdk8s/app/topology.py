"""Reviewer-facing topology of one environment, read back from the synthesised objects.

Everything here is computed from the objects the charts contain (Ingress, NetworkPolicies,
HPA / ScaledObject, PDB, Deployment / Argo Rollout, Service), never from the config, so the
diagram and the tables show what the cluster will enforce. The capacity numbers are the one
computation of :func:`tripgen_cdk8s.app.capacity.capacity_report`, shared with the synth-time check.

- :func:`mermaid` draws a ``flowchart LR``: the ingress and one edge per path rule, the services,
  the service -> service edges the NetworkPolicies allow, the private-endpoint stores and the
  Internet egress, and the scaler of each workload.
- :func:`policy_edges` / :func:`diagram_edges` give the service -> service edges from the policies
  and from a diagram's text, so a test can prove the picture equals the policies.
- :func:`environment_readme` writes the environment's ``README.md`` (contents, services table,
  capacity report, diagram); :func:`render_svg` renders a diagram with the Mermaid CLI (``mmdc``,
  installed by ``scripts/install-mermaid.sh``).

All functions are pure except :func:`render_svg`; output is deterministic (everything is sorted).
"""

from __future__ import annotations

import ipaddress
import re
import subprocess
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .capacity import CapacityReport
from .observability_report import observability_lines

NAME_LABEL = "app.kubernetes.io/name"
WORKLOAD_KINDS = ("Deployment", "Rollout", "StatefulSet")
SCALER_KINDS = ("HorizontalPodAutoscaler", "ScaledObject")

#: Store names by well-known port, in the order a rule's ports are looked up.
STORE_PORTS: tuple[tuple[int, str], ...] = (
    (5432, "PostgreSQL"),
    (6380, "Redis"),
    (6379, "Redis"),
    (5671, "Service Bus"),
    (5672, "Service Bus"),
    (443, "HTTPS endpoint"),
)
"""A private block reached on 443 alone is an HTTPS endpoint (the API server, a telemetry ingestion
endpoint); with 5671 beside it, Service Bus."""

MMDC = Path(".tools/mermaid/node_modules/.bin/mmdc")
PUPPETEER_CONFIG = Path(".tools/mermaid/puppeteer.json")
RENDER_TIMEOUT_SECONDS = 120

Obj = dict[str, Any]
Ports = frozenset[str] | None  # None: every port


class MermaidRenderError(RuntimeError):
    """``mmdc`` is missing or failed to render a diagram (the message carries its stderr)."""


# ---------------------------------------------------------------------------------------------
# Reading the objects


@dataclass(frozen=True)
class Workload:
    """A Deployment or Argo Rollout, identified by its service name (label ``app.kubernetes.io/name``)."""

    service: str
    obj: Obj

    @property
    def kind(self) -> str:
        return str(self.obj["kind"])

    @property
    def object_name(self) -> str:
        return str(self.obj["metadata"]["name"])

    @property
    def pod_labels(self) -> dict[str, str]:
        return dict(self.obj.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {}) or {})

    @property
    def containers(self) -> list[Obj]:
        return list(self.obj.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []) or [])

    @property
    def main_container(self) -> Obj:
        """The container named like the service, else the first one."""
        named = [c for c in self.containers if c.get("name") == self.service]
        return named[0] if named else (self.containers[0] if self.containers else {})

    def port_number(self, port: object) -> str:
        """A NetworkPolicy port (number or container-port name) as a number string."""
        for c in self.containers:
            for p in c.get("ports", []) or []:
                if p.get("name") == port:
                    return str(p["containerPort"])
        return str(port)


def _kind(objects: list[Obj], kind: str) -> list[Obj]:
    return sorted((o for o in objects if o.get("kind") == kind), key=lambda o: o["metadata"]["name"])


def workloads(objects: list[Obj]) -> list[Workload]:
    """Every Deployment and Rollout, sorted by service name."""
    out = []
    for o in objects:
        if o.get("kind") not in WORKLOAD_KINDS:
            continue
        labels = o["metadata"].get("labels", {}) or {}
        pod = o.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {}) or {}
        out.append(Workload(labels.get(NAME_LABEL) or pod.get(NAME_LABEL) or o["metadata"]["name"], o))
    return sorted(out, key=lambda w: (w.service, w.kind))


def _selects(selector: Obj | None, labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics (matchLabels and matchExpressions); {} selects all."""
    if selector is None:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], e.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _is_empty_selector(selector: Obj | None) -> bool:
    return selector is not None and not selector.get("matchLabels") and not selector.get("matchExpressions")


def _policy_types(policy: Obj) -> set[str]:
    spec = policy.get("spec", {})
    types = spec.get("policyTypes")
    if types:
        return set(types)
    return {"Ingress"} | ({"Egress"} if "egress" in spec else set())


def _rule_ports(rule: Obj, target: Workload | None) -> Ports:
    """The ports of an ingress/egress rule as number strings (named ports resolved on ``target``)."""
    ports = rule.get("ports")
    if not ports:
        return None
    out = set()
    for p in ports:
        if "port" not in p:
            return None
        value = target.port_number(p["port"]) if target is not None else str(p["port"])
        end = p.get("endPort")
        out.add(f"{value}-{end}" if end else value)
    return frozenset(out)


def _intersect(a: Ports, b: Ports) -> Ports:
    if a is None:
        return b
    if b is None:
        return a
    return a & b


def _port_label(ports: Ports) -> str:
    return "all ports" if ports is None else ", ".join(f":{p}" for p in sorted(ports, key=_port_key))


def _port_key(port: str) -> tuple[int, str]:
    head = port.split("-")[0]
    return (int(head), port) if head.isdigit() else (1 << 30, port)


def allow_all_policies(objects: list[Obj]) -> list[str]:
    """Names of the NetworkPolicies that allow everything: podSelector {} with an empty egress
    rule (``egress: [{}]``), i.e. every pod may reach anything (dev's ``dev-basic-policy``)."""
    return [p["metadata"]["name"] for p in _kind(objects, "NetworkPolicy")
            if _is_empty_selector(p["spec"].get("podSelector")) and "Egress" in _policy_types(p)
            and any(not r for r in p["spec"].get("egress") or [])]


NAME_LABEL = "app.kubernetes.io/name"


def _by_name(ws: list[Workload]) -> dict[str, list[Workload]]:
    """Workloads indexed by their ``app.kubernetes.io/name`` pod label (for selector lookups)."""
    index: dict[str, list[Workload]] = {}
    for w in ws:
        index.setdefault(w.pod_labels.get(NAME_LABEL, ""), []).append(w)
    return index


def _selected(selector: Obj | None, ws: list[Workload], index: dict[str, list[Workload]]) -> list[Workload]:
    """The workloads ``selector`` selects; a selector on the name label is looked up, not scanned,
    so the topology stays linear in the number of services."""
    match = (selector or {}).get("matchLabels") or {}
    candidates = index.get(match[NAME_LABEL], []) if NAME_LABEL in match else ws
    return [w for w in candidates if _selects(selector, w.pod_labels)]


def _admits(selecting: list[Obj], caller: Workload, callee: Workload) -> Ports:
    """Ports on which ``callee``'s ingress policies (``selecting``: those selecting the callee)
    admit ``caller`` (None: all; empty: none)."""
    if not selecting:
        return None  # ingress not isolated
    allowed: set[str] = set()
    for p in selecting:
        for rule in p["spec"].get("ingress") or []:
            peers = rule.get("from")
            if peers and not any("podSelector" in peer and "namespaceSelector" not in peer
                                 and _selects(peer["podSelector"], caller.pod_labels) for peer in peers):
                continue
            ports = _rule_ports(rule, callee)
            if ports is None:
                return None
            allowed |= ports
    return frozenset(allowed)


@dataclass(frozen=True)
class _Edge:
    src: str
    dst: str
    label: str


def _service_edges(objects: list[Obj]) -> list[_Edge]:
    """Service -> service edges: a caller's egress rule whose peer podSelector selects the callee,
    kept only where the callee's ingress policies admit the caller on some of those ports."""
    policies = _kind(objects, "NetworkPolicy")
    ws = workloads(objects)
    index = _by_name(ws)
    ingress_of: dict[int, list[Obj]] = {id(w): [] for w in ws}
    for p in policies:
        if "Ingress" in _policy_types(p):
            for w in _selected(p["spec"].get("podSelector"), ws, index):
                ingress_of[id(w)].append(p)
    ports_by_edge: dict[tuple[str, str], Ports] = {}
    for p in policies:
        if "Egress" not in _policy_types(p):
            continue
        for caller in _selected(p["spec"].get("podSelector"), ws, index):
            for rule in p["spec"].get("egress") or []:
                for peer in rule.get("to") or []:
                    if "podSelector" not in peer or "namespaceSelector" in peer or _is_empty_selector(peer["podSelector"]):
                        continue
                    for callee in (w for w in _selected(peer["podSelector"], ws, index) if w.service != caller.service):
                        ports = _intersect(_rule_ports(rule, callee), _admits(ingress_of[id(callee)], caller, callee))
                        if ports is not None and not ports:
                            continue  # the callee's ingress does not let it in
                        key = (caller.service, callee.service)
                        if key in ports_by_edge:
                            old = ports_by_edge[key]
                            ports = None if old is None or ports is None else old | ports
                        ports_by_edge[key] = ports
    return [_Edge(s, d, _port_label(ports_by_edge[(s, d)])) for s, d in sorted(ports_by_edge)]


def policy_edges(objects: list[Obj]) -> set[tuple[str, str]]:
    """The (caller, callee) service pairs the NetworkPolicies allow: an egress rule of the caller
    with a podSelector peer on the callee's pods, admitted by the callee's ingress policies.

    Empty when an allow-all policy is present: then every pair is allowed and the diagram shows
    the allow-all note instead of edges.
    """
    if allow_all_policies(objects):
        return set()
    return {(e.src, e.dst) for e in _service_edges(objects)}


def _ip_peers(objects: list[Obj]) -> list[tuple[str, str, str, Ports]]:
    """(service, cidr, except, ports) for every egress ipBlock peer of the workloads' policies."""
    out = []
    ws = workloads(objects)
    for p in _kind(objects, "NetworkPolicy"):
        if "Egress" not in _policy_types(p):
            continue
        for w in ws:
            if not _selects(p["spec"].get("podSelector"), w.pod_labels):
                continue
            for rule in p["spec"].get("egress") or []:
                for peer in rule.get("to") or []:
                    block = peer.get("ipBlock")
                    if block:
                        out.append((w.service, block["cidr"], ", ".join(block.get("except") or []), _rule_ports(rule, None)))
    return sorted(set(out), key=lambda t: (t[0], t[1], t[2], sorted(t[3] or [], key=_port_key)))


def _is_private(cidr: str) -> bool:
    net = ipaddress.ip_network(cidr, strict=False)
    return net.prefixlen > 0 and net.is_private


def store_name(ports: Ports) -> str:
    """The store behind a private-endpoint egress rule, by well-known port."""
    for port, name in STORE_PORTS:
        if ports is not None and str(port) in ports:
            return name
    return "Private endpoint"


# ---------------------------------------------------------------------------------------------
# Mermaid


def mermaid_id(*parts: str) -> str:
    """A valid Mermaid node id: ``svc``, ``user-service`` -> ``svc_user_service``."""
    return re.sub(r"[^A-Za-z0-9_]", "_", "_".join(parts))


def _q(text: str) -> str:
    """A quoted Mermaid label (``"`` escaped as an entity)."""
    return '"' + text.replace('"', "#quot;") + '"'


def _ingress_class(ing: Obj) -> str:
    return str(ing.get("spec", {}).get("ingressClassName")
               or (ing["metadata"].get("annotations") or {}).get("kubernetes.io/ingress.class") or "default")


def _ingress_title(cls: str) -> str:
    if "application-gateway" in cls:
        return "App Gateway (AGIC)"
    if "nginx" in cls:
        return "ingress-nginx"
    return "Ingress"


def _ingress_routes(ing: Obj) -> list[tuple[str, str]]:
    """(path, backend Service name) per path rule, plus the default backend as ``(default)``."""
    spec = ing.get("spec", {})
    out = []
    default = (spec.get("defaultBackend") or {}).get("service", {}).get("name")
    if default:
        out.append(("(default)", default))
    for rule in spec.get("rules") or []:
        for path in (rule.get("http") or {}).get("paths") or []:
            backend = path.get("backend", {})
            name = (backend.get("service") or {}).get("name") or backend.get("serviceName")
            if name:
                out.append((path.get("path") or "/", name))
    return out


def _backend_services(objects: list[Obj], service_name: str, ws: list[Workload] | None = None,
                      services: dict[str, Obj] | None = None) -> list[str]:
    """The workloads behind a Service (by its selector), else the workload of the same name."""
    if services is None:
        services = {s["metadata"]["name"]: s for s in _kind(objects, "Service")}
    ws = workloads(objects) if ws is None else ws
    svc = [services[service_name]] if service_name in services else []
    if svc and svc[0].get("spec", {}).get("selector"):
        sel = {"matchLabels": svc[0]["spec"]["selector"]}
        hits = sorted({w.service for w in _selected(sel, ws, _by_name(ws)) if _selects(sel, w.pod_labels)})
        if hits:
            return hits
    return [service_name]


@dataclass(frozen=True)
class Scaler:
    """An HPA or KEDA ScaledObject as read from its object."""

    kind: str
    name: str
    target: str  # the target workload's object name
    target_kind: str  # Deployment or Rollout
    min_replicas: int
    max_replicas: int
    signals: tuple[str, ...]  # HPA metric names or KEDA trigger types

    @property
    def title(self) -> str:
        return "HPA" if self.kind == "HorizontalPodAutoscaler" else "KEDA ScaledObject"

    @property
    def range(self) -> str:
        return f"{self.min_replicas}-{self.max_replicas}"


def _metric_name(m: Obj) -> str:
    t = m.get("type", "")
    body = m.get(t[:1].lower() + t[1:], {}) if t else {}
    return str(body.get("name") or (body.get("metric") or {}).get("name") or t)


def scalers(objects: list[Obj]) -> list[Scaler]:
    """Every HPA and ScaledObject, sorted by target then kind."""
    out = []
    for o in _kind(objects, "HorizontalPodAutoscaler"):
        s = o["spec"]
        ref = s["scaleTargetRef"]
        out.append(Scaler(o["kind"], o["metadata"]["name"], ref["name"], ref.get("kind", "Deployment"),
                          int(s.get("minReplicas", 1)), int(s["maxReplicas"]),
                          tuple(_metric_name(m) for m in s.get("metrics") or [])))
    for o in _kind(objects, "ScaledObject"):
        s = o["spec"]
        ref = s["scaleTargetRef"]
        out.append(Scaler(o["kind"], o["metadata"]["name"], ref["name"], ref.get("kind", "Deployment"),
                          int(s.get("minReplicaCount", 0)), int(s.get("maxReplicaCount", 100)),
                          tuple(t["type"] for t in s.get("triggers") or [])))
    return sorted(out, key=lambda s: (s.target, s.kind, s.name))


def scaler_id(s: Scaler) -> str:
    """The Mermaid id of a scaler node: ``hpa_<name>`` or ``keda_<name>``."""
    return mermaid_id("hpa" if s.kind == "HorizontalPodAutoscaler" else "keda", s.name)


def _scaler_label(s: Scaler) -> str:
    return f"{s.title} {s.range}" + (f"<br/>{', '.join(s.signals)}" if s.signals else "")


def _scaler_of(objects: list[Obj], w: Workload, all_scalers: list[Scaler] | None = None) -> Scaler | None:
    hits = [s for s in (scalers(objects) if all_scalers is None else all_scalers)
            if (s.target_kind, s.target) == (w.kind, w.object_name)]
    return hits[0] if hits else None


def _pdb_of(objects: list[Obj], w: Workload, pdbs: list[Obj] | None = None) -> str:
    for p in _kind(objects, "PodDisruptionBudget") if pdbs is None else pdbs:
        if _selects(p["spec"].get("selector"), w.pod_labels):
            if "minAvailable" in p["spec"]:
                return f"minAvailable {p['spec']['minAvailable']}"
            return f"maxUnavailable {p['spec'].get('maxUnavailable')}"
    return "-"


def _service_label(objects: list[Obj], w: Workload, pdbs: list[Obj] | None = None) -> str:
    kind = w.kind
    if w.kind == "Rollout":
        strategy = w.obj.get("spec", {}).get("strategy", {})
        kind = "Rollout " + ("blueGreen" if "blueGreen" in strategy else "canary" if "canary" in strategy else "")
    pdb = _pdb_of(objects, w, pdbs)
    lines = [w.service, kind.strip()] + ([f"PDB {pdb}"] if pdb != "-" else [])
    return "<br/>".join(lines)


def mermaid(objects: list[Obj]) -> str:
    """A ``flowchart LR`` of the environment, from its synthesised objects.

    Nodes: the clients, one node per Ingress (its class and hosts), one per workload service
    (Deployment or Rollout, with its PDB), the private-endpoint stores (by port), the Internet
    (external egress) and one per scaler. Edges: ingress -> service per path rule (label: the
    path); service -> service exactly for :func:`policy_edges` (label: the ports); service ->
    store / Internet per egress ipBlock rule (label: CIDR and ports); scaler -.-> workload, the two
    in one subgraph. With an
    allow-all policy, a note node replaces the per-edge policies.
    """
    ws = workloads(objects)
    lines = ["flowchart LR"]
    edges: list[str] = []

    ingresses = _kind(objects, "Ingress")
    services = {o["metadata"]["name"]: o for o in _kind(objects, "Service")}
    if ingresses:
        lines.append(f"  clients(({_q('Clients')}))")
    for ing in ingresses:
        iid = mermaid_id("ing", ing["metadata"]["name"])
        cls = _ingress_class(ing)
        hosts = sorted({r["host"] for r in ing.get("spec", {}).get("rules") or [] if r.get("host")})
        annotations = ing["metadata"].get("annotations") or {}
        tls = bool(ing.get("spec", {}).get("tls")) or any("ssl-certificate" in k for k in annotations)
        label = "<br/>".join([f"{_ingress_title(cls)}: {ing['metadata']['name']}", f"class {cls}"]
                             + [f"host {h}" for h in hosts] + (["TLS"] if tls else []))
        lines.append(f"  {iid}[{_q(label)}]")
        edges.append(f"  clients -->|{_q('HTTPS' if tls else 'HTTP')}| {iid}")
        for path, backend in _ingress_routes(ing):
            for svc in _backend_services(objects, backend, ws, services):
                edges.append(f"  {iid} -->|{_q(path)}| {mermaid_id('svc', svc)}")

    # Each workload in a subgraph with its scaler(s), so a scaler sits next to what it scales.
    all_scalers = scalers(objects)
    pdbs = _kind(objects, "PodDisruptionBudget")
    attached: set[str] = set()
    for w in ws:
        mine = [sc for sc in all_scalers if (sc.target_kind, sc.target) == (w.kind, w.object_name)]
        svc_id = mermaid_id("svc", w.service)
        indent = "    " if mine else "  "
        if mine:
            lines += [f"  subgraph {mermaid_id('grp', w.service)}[{_q(' ')}]", "    direction TB"]
        lines.append(f"{indent}{svc_id}[{_q(_service_label(objects, w, pdbs))}]")
        for sc in mine:
            lines.append(f"{indent}{scaler_id(sc)}{{{{{_q(_scaler_label(sc))}}}}}")
            lines.append(f"{indent}{scaler_id(sc)} -.->|{_q('scales')}| {svc_id}")
            attached.add(scaler_id(sc))
        if mine:
            lines += ["  end", f"  style {mermaid_id('grp', w.service)} fill:none,stroke:#bbb,stroke-dasharray:3 3"]
    for sc in all_scalers:  # a scaler whose target is not among the workloads: shown alone
        if scaler_id(sc) not in attached:
            lines.append(f"  {scaler_id(sc)}{{{{{_q(_scaler_label(sc) + '<br/>target ' + sc.target + ' missing')}}}}}")

    allow_all = allow_all_policies(objects)
    if allow_all:
        note = f"allow-all: NetworkPolicy {', '.join(allow_all)}<br/>every pod may reach every pod and address"
        lines.append(f"  note_allow_all[{_q(note)}]")
    else:
        for e in _service_edges(objects):
            edges.append(f"  {mermaid_id('svc', e.src)} -->|{_q(e.label)}| {mermaid_id('svc', e.dst)}")

    stores: dict[str, str] = {}
    externals: dict[tuple[str, str], str] = {}  # (title, except) -> id: internet_https, internet_https_2, ...
    for service, cidr, except_, ports in _ip_peers(objects):
        label = f"{cidr} {_port_label(ports)}"
        if _is_private(cidr):
            name = store_name(ports)
            sid = mermaid_id("store", name.lower(), cidr)
            stores[sid] = f"{name}<br/>{cidr}"
        else:
            https = ports is not None and ports == frozenset({"443"})
            title = "Internet HTTPS" if https else "Internet"
            base = mermaid_id("internet", "https" if https else "any")
            n = sum(1 for (t, _) in externals if t == title)
            sid = externals.setdefault((title, except_), base if n == 0 else f"{base}_{n + 1}")
            stores[sid] = f"{title}<br/>except {except_}" if except_ else title
        edges.append(f"  {mermaid_id('svc', service)} -->|{_q(label)}| {sid}")
    for sid in sorted(stores):
        shape = f"[({_q(stores[sid])})]" if sid.startswith("store_") else f"(({_q(stores[sid])}))"
        lines.append(f"  {sid}{shape}")

    lines += edges
    lines += [
        "  classDef service fill:#e8f0fe,stroke:#3367d6",
        "  classDef store fill:#fef7e0,stroke:#e37400",
        "  classDef external fill:#fce8e6,stroke:#c5221f",
        "  classDef scaler fill:#e6f4ea,stroke:#137333",
        "  classDef note fill:#fff,stroke:#999,stroke-dasharray:4 2",
    ]
    groups = {
        "service": [mermaid_id("svc", w.service) for w in ws],
        "store": sorted(s for s in stores if s.startswith("store_")),
        "external": sorted(s for s in stores if not s.startswith("store_")),
        "scaler": [scaler_id(s) for s in all_scalers],
        "note": ["note_allow_all"] if allow_all else [],
    }
    for cls, ids in groups.items():
        if ids:
            lines.append(f"  class {','.join(ids)} {cls}")
    return "\n".join(lines) + "\n"


_NODE = re.compile(r'^\s*(svc_\w+)\["([^"<]+)')
_SVC_EDGE = re.compile(r"^\s*(svc_\w+)\s*-->(?:\|[^|]*\|)?\s*(svc_\w+)\s*$")


def diagram_edges(mermaid_text: str) -> set[tuple[str, str]]:
    """The service -> service edges (solid arrows between ``svc_*`` nodes) of a diagram made by
    :func:`mermaid`, as (caller, callee) service names read from the node labels."""
    names = {m.group(1): m.group(2) for m in map(_NODE.match, mermaid_text.splitlines()) if m}
    out = set()
    for line in mermaid_text.splitlines():
        m = _SVC_EDGE.match(line)
        if m:
            out.add((names.get(m.group(1), m.group(1)), names.get(m.group(2), m.group(2))))
    return out


def render_svg(mermaid_text: str, out: Path, repo: Path) -> None:
    """Render ``mermaid_text`` to the SVG file ``out`` with the Mermaid CLI installed in ``repo``
    (``.tools/mermaid``, see ``scripts/install-mermaid.sh``).

    Raises :class:`MermaidRenderError` with mmdc's stderr when it is missing, fails (e.g. a
    Mermaid syntax error), times out or writes no file.
    """
    mmdc, config = repo / MMDC, repo / PUPPETEER_CONFIG
    if not mmdc.is_file() or not config.is_file():
        raise MermaidRenderError(f"{mmdc} or {config} missing: run scripts/install-mermaid.sh")
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="tripgen-mermaid-") as tmp:
        src = Path(tmp) / "diagram.mmd"
        src.write_text(mermaid_text, encoding="utf-8")
        target = Path(tmp) / "diagram.svg"
        cmd = [str(mmdc), "-p", str(config), "-i", str(src), "-o", str(target), "-q"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RENDER_TIMEOUT_SECONDS, check=False)
        except subprocess.TimeoutExpired as exc:
            stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr or ""
            raise MermaidRenderError(f"mmdc timed out after {RENDER_TIMEOUT_SECONDS} s: {stderr}") from exc
        if proc.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
            detail = (proc.stderr or proc.stdout).strip()
            raise MermaidRenderError(f"mmdc failed (exit {proc.returncode}) rendering the diagram:\n{detail}")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(target.read_bytes())


# ---------------------------------------------------------------------------------------------
# README


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: Sequence[Sequence[object]], align: str | None = None) -> list[str]:
    sep = align.split() if align else ["---"] * len(header)
    return ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"] + [
        "| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]


def _strategy(w: Workload) -> str:
    spec = w.obj.get("spec", {})
    if w.kind == "Deployment":
        st = spec.get("strategy") or {}
        kind = st.get("type", "RollingUpdate")
        ru = st.get("rollingUpdate") or {}
        if kind == "RollingUpdate" and ru:
            return f"RollingUpdate (maxSurge {ru.get('maxSurge', '25%')}, maxUnavailable {ru.get('maxUnavailable', '25%')})"
        return str(kind)
    st = spec.get("strategy") or {}
    if "blueGreen" in st:
        bg = st["blueGreen"]
        parts = [f"active {bg.get('activeService')}", f"preview {bg.get('previewService', '-')}",
                 f"autoPromotion {str(bg.get('autoPromotionEnabled', True)).lower()}"]
        if "scaleDownDelaySeconds" in bg:
            parts.append(f"scaleDownDelay {bg['scaleDownDelaySeconds']}s")
        return "Rollout blueGreen (" + ", ".join(parts) + ")"
    if "canary" in st:
        steps = []
        for step in st["canary"].get("steps") or []:
            if "setWeight" in step:
                steps.append(f"{step['setWeight']}%")
            elif "pause" in step:
                d = (step["pause"] or {}).get("duration")
                steps[-1:] = [f"{steps[-1]}/{d}" if steps and d else (steps[-1] if steps else "pause")]
        return "Rollout canary (" + (" -> ".join(steps) or "no steps") + ")"
    return "Rollout"


def _resources(w: Workload, key: str) -> str:
    r = (w.main_container.get("resources") or {}).get(key) or {}
    return f"{r.get('cpu', '-')} / {r.get('memory', '-')}"


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "-"


def millicores(n: int) -> str:
    """CPU in the capacity table's one unit: 36000 -> ``36000m``."""
    return f"{n}m"


def mebibytes(n: int) -> str:
    """Memory in the capacity table's one unit: 128849018880 -> ``122880Mi`` (two decimals when not whole)."""
    return f"{n // 2**20}Mi" if n % 2**20 == 0 else f"{n / 2**20:.2f}Mi"


def capacity_lines(report: CapacityReport) -> list[str]:
    """The capacity section: per service maxReplicas x requests, steady total and (when a service rolls
    out blue-green) the peak against the node pool's allocatable, all from ``report``; CPU always in
    millicores and memory in MiB, so a column compares at a glance."""
    rows: list[list[object]] = []
    for s in sorted(report.services, key=lambda s: s.name):
        n = s.max_replicas
        per_cpu = millicores(s.cpu_millicores // n) if n else "-"
        per_mem = mebibytes(s.memory_bytes // n) if n else "-"
        rows.append([s.name, n, f"{n} x {per_cpu} = {millicores(s.cpu_millicores)}",
                     f"{n} x {per_mem} = {mebibytes(s.memory_bytes)}"])
    alloc_cpu, alloc_mem = report.allocatable_cpu_millicores, report.allocatable_memory_bytes
    largest = report.largest
    rows.append(["**steady state** (every service at maxReplicas)", "", f"**{millicores(report.steady_cpu)}**",
                 f"**{mebibytes(report.steady_memory)}**"])
    if report.has_peak:
        rows.append([f"**blue-green peak** (+ {largest.name} x {largest.max_replicas} running twice)", "",
                     f"**{millicores(report.peak_cpu)}**", f"**{mebibytes(report.peak_memory)}**"])
    rows.append(["allocatable (node pool at its maximum)", "", millicores(alloc_cpu), mebibytes(alloc_mem)])
    steady = "fits" if report.steady_fits() else "DOES NOT FIT (synth fails)"
    peak = "fits" if report.peak_fits() else "does not fit (synth warns)"
    summary = f"steady {millicores(report.steady_cpu)} CPU / {mebibytes(report.steady_memory)}"
    if report.has_peak:
        summary += f", blue-green peak {millicores(report.peak_cpu)} / {mebibytes(report.peak_memory)}"
    summary += f", allocatable {millicores(alloc_cpu)} / {mebibytes(alloc_mem)}"
    lines = [
        "## Capacity",
        "",
        "Requests of every service at its maximum replicas against the node pool's allocatable "
        "(the same `capacity_report` the synth-time check uses).",
        "",
        *_table(["service", "maxReplicas", "CPU requests (millicores)", "memory requests (MiB)"], rows,
                "--- ---: ---: ---:"),
        "",
        f"- Steady state: {steady}: CPU {_percent(report.steady_cpu, alloc_cpu)}, "
        f"memory {_percent(report.steady_memory, alloc_mem)} of allocatable.",
    ]
    if report.has_peak:
        lines.append(f"- Blue-green peak of the largest service ({largest.name}): {peak}: "
                     f"CPU {_percent(report.peak_cpu, alloc_cpu)}, "
                     f"memory {_percent(report.peak_memory, alloc_mem)} of allocatable.")
    else:
        lines.append("- No blue-green rollout: rolling updates add a few pods at a time (maxSurge), "
                     "not a second fleet, so there is no peak.")
    return [*lines, f"- Summary: {summary}."]


def environment_readme(env_name: str, objects: list[Obj], report: CapacityReport | None, namespace: str,
                       title: str = "") -> str:
    """The reviewer-facing ``README.md`` of one environment: contents (charts and objects by kind),
    a services table, the capacity report and the Mermaid topology, all from ``objects`` and
    ``report`` (no capacity section without one); ``title`` names the app. Deterministic."""
    from ..lib.documents import render

    charts = sorted({(o["metadata"].get("labels") or {}).get("helm.sh/chart", "(no chart label)") for o in objects})
    kinds = Counter(str(o["kind"]) for o in objects)
    rows = []
    all_scalers, pdbs = scalers(objects), _kind(objects, "PodDisruptionBudget")
    for w in workloads(objects):
        scaler = _scaler_of(objects, w, all_scalers)
        replicas = scaler.range if scaler else str(w.obj.get("spec", {}).get("replicas", 1))
        rows.append([w.service, f"`{w.main_container.get('image', '-')}`", replicas,
                     scaler.title if scaler else "-", _resources(w, "requests"), _resources(w, "limits"),
                     _pdb_of(objects, w, pdbs).removeprefix("minAvailable "), _strategy(w)])
    return render("environment-readme.md.j2", package=__package__, env_name=env_name, namespace=namespace, charts=charts,
                  object_count=len(objects), kinds=[[k, kinds[k]] for k in sorted(kinds)], services=rows,
                  capacity=capacity_lines(report) if report and report.services else [],
                  title=title, allow_all=bool(allow_all_policies(objects)),
                  mermaid=mermaid(objects).rstrip("\n"), observability=observability_lines(objects))
