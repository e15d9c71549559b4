"""Topology diagram and environment README (issue 7): read back from the synthesised objects.

The diagram's service -> service edges must be exactly what the NetworkPolicies allow, every
Ingress path and every store must be on it, the README's capacity numbers must be
``capacity_report``'s, and the diagram must render with the real Mermaid CLI.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from conftest import ENVIRONMENTS, ROOT, run_cli, synthesis
from conftest import objects as all_objects
from tripgen_cdk8s.app import topology as t
from tripgen_cdk8s.lib.quantities import byte_count, cpu_millicores

CALL_GRAPH = {
    ("trip-service", "user-service"),
    ("trip-service", "location-service"),
    ("trip-service", "ai-service"),
    ("ai-service", "user-service"),
    ("ai-service", "location-service"),
}
SERVICES = ("user-service", "trip-service", "ai-service", "location-service")
MMDC = ROOT / ".tools" / "mermaid" / "node_modules" / ".bin" / "mmdc"


def objects(env: str, kind: str | None = None) -> list[dict]:
    """The environment's application objects (the ArgoCD Applications in `argocd` are not drawn)."""
    return [o for o in all_objects(env, kind) if o["metadata"].get("namespace") != "argocd"]


def prod() -> list[dict]:
    return copy.deepcopy(objects("prod"))


def get(objs: list[dict], kind: str, name: str) -> dict:
    return next(o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name)


def readme(env: str, objs: list[dict] | None = None) -> str:
    s = synthesis(env)
    return t.environment_readme(env, objs if objs is not None else objects(env), s.capacity, s.project.namespace, title="TripGen")


def svc(name: str) -> str:
    return t.mermaid_id("svc", name)


# --- diagram ------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_ingress_path_is_an_edge_to_its_backend(env):
    objs = objects(env)
    text = t.mermaid(objs)
    ingresses = [o for o in objs if o["kind"] == "Ingress"]
    assert ingresses
    n = 0
    for ing in ingresses:
        for rule in ing["spec"]["rules"]:
            assert f"host {rule['host']}" in text
            for p in rule["http"]["paths"]:
                edge = f'{t.mermaid_id("ing", ing["metadata"]["name"])} -->|"{p["path"]}"| {svc(p["backend"]["service"]["name"])}'
                assert f"  {edge}" in text.splitlines(), edge
                n += 1
    assert sum('-->|"/' in line for line in text.splitlines()) == n  # no path edge that is not a rule


def test_prod_ingress_node_shows_class_and_host():
    text = t.mermaid(objects("prod"))
    assert re.search(r'ing_tripgen_api\["App Gateway \(AGIC\): tripgen-api<br/>class azure-application-gateway'
                     r'<br/>host api\.tripgen\.com', text)
    assert {p for p in re.findall(r'ing_tripgen_api -->\|"([^"]+)"\|', text)} == {
        "/api/v1/users", "/api/v1/trips", "/api/v1/ai", "/api/v1/locations", "/api/v1/routes", "/ws"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_service_edges_in_the_diagram_are_exactly_the_policy_edges(env):
    objs = objects(env)
    assert t.diagram_edges(t.mermaid(objs)) == t.policy_edges(objs)


def test_prod_policy_edges_are_the_call_graph_on_port_8080():
    objs = objects("prod")
    assert t.policy_edges(objs) == CALL_GRAPH
    text = t.mermaid(objs)
    for caller, callee in CALL_GRAPH:
        assert f'  {svc(caller)} -->|":8080"| {svc(callee)}' in text.splitlines()


def test_an_edge_the_callee_ingress_does_not_admit_is_not_drawn():
    objs = prod()
    # user-service's ingress now admits only trip-service: ai-service's egress rule is one-sided.
    pol = get(objs, "NetworkPolicy", "user-service")
    pol["spec"]["ingress"][0]["from"] = [p for p in pol["spec"]["ingress"][0]["from"]
                                         if p["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "trip-service"]
    # user-service may send to location-service, but location-service does not admit it.
    get(objs, "NetworkPolicy", "user-service")["spec"]["egress"].append(
        {"ports": [{"port": 8080, "protocol": "TCP"}],
         "to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "location-service"}}}]})
    expected = CALL_GRAPH - {("ai-service", "user-service")}
    assert t.policy_edges(objs) == expected
    assert t.diagram_edges(t.mermaid(objs)) == expected


def test_an_edge_without_an_egress_rule_is_not_drawn():
    objs = prod()
    pol = get(objs, "NetworkPolicy", "trip-service")
    pol["spec"]["egress"] = [r for r in pol["spec"]["egress"]
                             if not any(p.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name")
                                        == "ai-service" for p in r.get("to", []))]
    assert t.diagram_edges(t.mermaid(objs)) == t.policy_edges(objs) == CALL_GRAPH - {("trip-service", "ai-service")}


def test_a_named_port_and_a_port_mismatch_are_resolved_against_the_callee():
    objs = prod()
    # trip -> user on the named port "http" (= 8080): still allowed, labelled with the number.
    for rule in get(objs, "NetworkPolicy", "trip-service")["spec"]["egress"]:
        if rule["to"][0].get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name") == "user-service":
            rule["ports"] = [{"port": "http", "protocol": "TCP"}]
        if rule["to"][0].get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name") == "ai-service":
            rule["ports"] = [{"port": 9090, "protocol": "TCP"}]  # ai-service admits 8080 only
    assert t.policy_edges(objs) == CALL_GRAPH - {("trip-service", "ai-service")}
    assert '  svc_trip_service -->|":8080"| svc_user_service' in t.mermaid(objs).splitlines()


def test_prod_stores_and_internet_with_cidr_and_port():
    text = t.mermaid(objects("prod")).splitlines()
    assert '  store_postgresql_10_0_2_0_24[("PostgreSQL<br/>10.0.2.0/24")]' in text
    assert '  store_redis_10_0_3_0_24[("Redis<br/>10.0.3.0/24")]' in text
    assert '  store_service_bus_10_0_1_0_24[("Service Bus<br/>10.0.1.0/24")]' in text
    assert '  internet_https(("Internet HTTPS<br/>except 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16"))' in text
    edges = {(m.group(1), m.group(2), m.group(3)) for m in
             (re.match(r'^  svc_(\w+) -->\|"([^"]+)"\| ((?:store|internet)_\w+)$', line) for line in text) if m}
    every_db = {(s.replace("-", "_"), lbl, node) for s in SERVICES for lbl, node in (
        ("10.0.2.0/24 :5432", "store_postgresql_10_0_2_0_24"), ("10.0.3.0/24 :6380", "store_redis_10_0_3_0_24"))}
    bus = {(s, "10.0.1.0/24 :443, :5671", "store_service_bus_10_0_1_0_24")
           for s in ("trip_service", "ai_service", "location_service")}
    # external HTTPS (ai-service, location-service) and Application Insights telemetry (every service,
    # no private link scope): one Internet edge each; the Kubernetes API for user-service (TRIPGEN.md
    # 6.7-6.8), its private endpoint in the Application Subnet
    internet = {(s.replace("-", "_"), "0.0.0.0/0 :443", "internet_https") for s in SERVICES}
    api = {("user_service", "10.0.1.0/24 :443", "store_https_endpoint_10_0_1_0_24")}
    assert edges == every_db | bus | internet | api


def test_prod_scalers_are_attached_to_their_workloads():
    text = t.mermaid(objects("prod")).splitlines()
    expected = {
        "user-service": ("hpa", "HPA 3-10<br/>cpu, memory, http_requests_per_second"),
        "trip-service": ("hpa", "HPA 3-15<br/>cpu, memory, http_active_connections"),
        "location-service": ("hpa", "HPA 2-5<br/>cpu, memory"),
        "ai-service": ("keda", "KEDA ScaledObject 2-8<br/>cpu, memory, azure-servicebus"),
    }
    for name, (prefix, label) in expected.items():
        sid = t.mermaid_id(prefix, name)
        assert f'    {sid}{{{{"{label}"}}}}' in text
        assert f'    {sid} -.->|"scales"| {svc(name)}' in text


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_node_ids_are_valid_and_output_is_deterministic(env):
    objs = objects(env)
    text = t.mermaid(objs)
    assert text.startswith("flowchart LR\n")
    ids = re.findall(r"^\s*([^\s\[\(\{]+)[\[\(\{]", text, flags=re.M)
    assert ids and all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", i) for i in ids), ids
    assert len(ids) == len(set(ids))
    shuffled = list(reversed(copy.deepcopy(objs)))
    assert t.mermaid(shuffled) == text
    assert readme(env, shuffled) == readme(env)


def dev_like(objs: list[dict]) -> list[dict]:
    """prod's objects turned into what dev will have: one allow-all policy, ingress-nginx, and
    Argo Rollouts (blue-green for trip-service, canary for the others) with the same pod template."""
    objs = [o for o in objs if o["kind"] != "NetworkPolicy"]
    objs.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                 "metadata": {"name": "dev-basic-policy", "namespace": "tripgen-dev"},
                 "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [{}], "egress": [{}]}})
    ing = get(objs, "Ingress", "tripgen-api")
    ing["spec"]["ingressClassName"] = "nginx"
    ing["metadata"]["annotations"] = {}
    ing["spec"]["rules"][0]["host"] = "dev-tripgen.local"
    for o in objs:
        if o["kind"] in ("Deployment", "Rollout"):
            name = o["metadata"]["name"]
            o["apiVersion"], o["kind"] = "argoproj.io/v1alpha1", "Rollout"
            o["spec"].pop("strategy")
            o["spec"]["strategy"] = ({"blueGreen": {"activeService": name, "previewService": f"{name}-preview",
                                                    "autoPromotionEnabled": False, "scaleDownDelaySeconds": 1800}}
                                     if name == "trip-service" else
                                     {"canary": {"steps": [{"setWeight": 5}, {"pause": {"duration": "10m"}},
                                                           {"setWeight": 25}, {"pause": {"duration": "15m"}},
                                                           {"setWeight": 50}, {"pause": {"duration": "20m"}},
                                                           {"setWeight": 100}]}})
        if o["kind"] in t.SCALER_KINDS:
            o["spec"]["scaleTargetRef"].update(apiVersion="argoproj.io/v1alpha1", kind="Rollout")
    return objs


def test_allow_all_policy_is_shown_as_a_note_instead_of_edges():
    objs = dev_like(prod())
    text = t.mermaid(objs)
    assert t.allow_all_policies(objs) == ["dev-basic-policy"]
    assert 'note_allow_all["allow-all: NetworkPolicy dev-basic-policy' in text
    assert t.diagram_edges(text) == t.policy_edges(objs) == set()
    assert "ing_tripgen_api[\"ingress-nginx: tripgen-api<br/>class nginx<br/>host dev-tripgen.local\"]" in text
    assert "allow-all NetworkPolicy is in force" in readme("prod", objs)


def test_rollouts_are_services_with_their_strategy_read_from_the_object():
    objs = dev_like(prod())
    text = t.mermaid(objs)
    assert '    svc_trip_service["trip-service<br/>Rollout blueGreen<br/>PDB minAvailable 2"]' in text.splitlines()
    assert '    svc_ai_service["ai-service<br/>Rollout canary<br/>PDB minAvailable 1"]' in text.splitlines()
    assert '    keda_ai_service -.->|"scales"| svc_ai_service' in text.splitlines()
    doc = readme("prod", objs)
    assert ("| trip-service | `acrtrpgenprod.azurecr.io/trip-service:v1.2.0` | 3-15 | HPA | 500m / 1Gi | 2000m / 2Gi | 2 | "
            "Rollout blueGreen (active trip-service, preview trip-service-preview, autoPromotion false, "
            "scaleDownDelay 1800s) |") in doc
    assert "Rollout canary (5%/10m -> 25%/15m -> 50%/20m -> 100%)" in doc


# --- README ---------------------------------------------------------------------------------------

CAP_ROW = re.compile(r"^\| ([a-z-]+) \| (\d+) \| \d+ x \S+ = (\S+) \| \d+ x \S+ = (\S+) \|$", re.M)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_readme_capacity_numbers_are_capacity_report(env):
    report = synthesis(env).capacity
    doc = readme(env)
    rows = {m.group(1): (int(m.group(2)), m.group(3), m.group(4)) for m in CAP_ROW.finditer(doc)}
    assert rows == {s.name: (s.max_replicas, t.millicores(s.cpu_millicores), t.mebibytes(s.memory_bytes))
                    for s in report.services}
    steady = re.search(r"^\| \*\*steady state\*\* .*\| \*\*(\S+)\*\* \| \*\*(\S+)\*\* \|$", doc, re.M)
    peak = re.search(r"^\| \*\*blue-green peak\*\* \(\+ (\S+) x (\d+) running twice\) .*\| \*\*(\S+)\*\* \| \*\*(\S+)\*\* \|$",
                     doc, re.M)
    alloc = re.search(r"^\| allocatable .*\| (\S+) \| (\S+) \|$", doc, re.M)
    assert steady and alloc
    assert steady.groups() == (t.millicores(report.steady_cpu), t.mebibytes(report.steady_memory))
    if report.has_peak:
        assert peak and peak.groups() == (report.largest.name, str(report.largest.max_replicas),
                                          t.millicores(report.peak_cpu), t.mebibytes(report.peak_memory))
    else:
        assert peak is None and "blue-green peak" not in doc.split("## Capacity", 1)[1].split("## ", 1)[0].lower()
    assert alloc.groups() == (t.millicores(report.allocatable_cpu_millicores), t.mebibytes(report.allocatable_memory_bytes))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_readme_capacity_columns_use_one_unit_each(env):
    """CPU in millicores and memory in MiB in every cell, never cores beside millicores."""
    section = readme(env).split("## Capacity", 1)[1].split("\n## ", 1)[0]
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert rows
    for row in rows:
        cpu, memory = (re.sub(r"^\d+ x ", "", cell.strip(" |*")) for cell in (row[2], row[3]))
        assert all(re.fullmatch(r"\d+m", q) for q in re.findall(r"[\d.]+\w*", cpu)), cpu
        assert all(re.fullmatch(r"\d+(?:\.\d\d)?Mi", q) for q in re.findall(r"[\d.]+\w*", memory)), memory


def test_an_environment_that_only_rolls_has_no_blue_green_peak():
    """dev runs Deployments with rolling updates: its README shows no blue-green peak and its report has none."""
    report = synthesis("dev").capacity
    assert report.blue_green == () and not report.has_peak
    assert (report.peak_cpu, report.peak_memory) == (report.steady_cpu, report.steady_memory)
    section = readme("dev").split("## Capacity", 1)[1].split("\n## ", 1)[0]
    assert "blue-green peak" not in section.lower()
    assert "No blue-green rollout" in section


def test_prod_capacity_figures_match_the_spec():
    """TRIPGEN.md 2.1 and 4 worked by hand: 10x200m + 15x500m + 8x1000m + 5x200m = 18.5 CPU."""
    doc = readme("prod")
    assert "| **steady state** (every service at maxReplicas) |  | **18500m** | **39424Mi** |" in doc
    assert "| **blue-green peak** (+ ai-service x 8 running twice) |  | **26500m** | **55808Mi** |" in doc
    assert "| allocatable (node pool at its maximum) |  | 36000m | 122880Mi |" in doc
    assert "| trip-service | 15 | 15 x 500m = 7500m | 15 x 1024Mi = 15360Mi |" in doc
    assert "| ai-service | 8 | 8 x 1000m = 8000m | 8 x 2048Mi = 16384Mi |" in doc


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_capacity_report_agrees_with_the_synthesised_objects(env):
    """The report (node pool x the objects' requests) and the README's tables say the same."""
    objs = objects(env)
    report = {s.name: s for s in synthesis(env).capacity.services}
    ws = t.workloads(objs)
    assert sorted(report) == sorted(w.service for w in ws)
    for w in ws:
        sc = next((s for s in t.scalers(objs) if s.target == w.object_name), None)
        n = sc.max_replicas if sc else w.obj["spec"].get("replicas", 1)
        req = w.main_container["resources"]["requests"]
        assert (report[w.service].max_replicas, report[w.service].cpu_millicores, report[w.service].memory_bytes) == (
            n, n * cpu_millicores(req["cpu"]), n * byte_count(req["memory"])), w.service


def test_prod_readme_contents_services_and_diagram():
    objs = objects("prod")
    doc = readme("prod")
    assert doc.startswith("# TripGen `prod` environment\n")
    assert "Namespace `tripgen-prod`: 5 charts, 64 objects." in doc
    assert "| NetworkPolicy | 7 |" in doc and "| ScaledObject | 1 |" in doc
    assert ("| user-service | `acrtrpgenprod.azurecr.io/user-service:v1.2.0` | 3-10 | HPA | 200m / 512Mi | 1000m / 1Gi | 2 | "
            "Rollout blueGreen (active user-service, preview user-service-preview, autoPromotion false, "
            "scaleDownDelay 1800s) |") in doc
    assert ("| ai-service | `acrtrpgenprod.azurecr.io/ai-service:v1.2.0` | 2-8 | KEDA ScaledObject | 1000m / 2Gi | "
            "4000m / 4Gi | 1 |") in doc
    assert f"```mermaid\n{t.mermaid(objs)}```\n" in doc


def test_readme_shows_fixed_replicas_and_no_pdb_without_scaler():
    objs = [o for o in prod() if o["kind"] not in ("HorizontalPodAutoscaler", "ScaledObject", "PodDisruptionBudget")]
    for o in objs:
        if o["kind"] in ("Deployment", "Rollout"):
            o["spec"]["replicas"] = 1
    assert "| location-service | `acrtrpgenprod.azurecr.io/location-service:v1.2.0` | 1 | - | 200m / 512Mi | 1000m / 1Gi | - |" in (
        readme("prod", objs))


# --- rendering with the real Mermaid CLI ------------------------------------------------------------


@pytest.fixture(scope="module")
def mmdc() -> Path:
    assert MMDC.is_file(), f"{MMDC} missing: run scripts/install-mermaid.sh"
    return MMDC


def test_prod_diagram_renders_to_svg(mmdc, tmp_path):
    out = tmp_path / "prod" / "topology.svg"
    t.render_svg(t.mermaid(objects("prod")), out, ROOT)
    svg = out.read_text()
    assert svg.lstrip().startswith("<svg") and "</svg>" in svg
    for text in ("trip-service", "api.tripgen.com", "/api/v1/ai", "PostgreSQL", "Internet HTTPS", "KEDA ScaledObject 2-8"):
        assert text in svg, text


def test_every_generated_environment_diagram_renders_to_svg(mmdc, tmp_path):
    """The exact Mermaid blocks synth writes into charts/<env>/README.md render without error."""
    for env in ENVIRONMENTS:
        readme_text = (ROOT / "charts" / env / "README.md").read_text()
        block = readme_text.split("```mermaid\n", 1)[1].split("```", 1)[0]
        out = tmp_path / f"{env}.svg"
        t.render_svg(block, out, ROOT)
        assert out.read_text().lstrip().startswith("<svg"), env
    assert set(ENVIRONMENTS) == {"prod", "dev"}


def test_allow_all_and_rollout_diagram_renders_to_svg(mmdc, tmp_path):
    out = tmp_path / "dev.svg"
    t.render_svg(t.mermaid(dev_like(prod())), out, ROOT)
    assert "allow-all: NetworkPolicy dev-basic-policy" in out.read_text()


def test_a_broken_diagram_fails_with_mmdc_error(mmdc, tmp_path):
    out = tmp_path / "broken.svg"
    broken = t.mermaid(objects("prod")).replace('svc_ai_service["ai-service', 'svc_ai_service["ai-service"]["', 1)
    with pytest.raises(t.MermaidRenderError, match=r"(?s)mmdc failed \(exit 1\).*Parse error"):
        t.render_svg(broken, out, ROOT)
    assert not out.exists()


def test_missing_mmdc_is_a_clear_error(tmp_path):
    with pytest.raises(t.MermaidRenderError, match="run scripts/install-mermaid.sh"):
        t.render_svg("flowchart LR\n  a --> b\n", tmp_path / "x.svg", tmp_path)


def test_the_committed_prod_topology_picture_is_current(mmdc, tmp_path):
    """docs/topology-prod.svg is a generated file like the charts: regenerated here with the command
    the docs name, it must be byte for byte the committed one (mermaid-cli's output is deterministic)."""
    out = tmp_path / "topology-prod.svg"
    proc = run_cli("graph", "--env", "prod", "--format", "svg", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == (ROOT / "docs" / "topology-prod.svg").read_bytes(), (
        "docs/topology-prod.svg is stale: run .venv/bin/python main.py graph --env prod --format svg "
        "-o docs/topology-prod.svg")


def test_the_peak_warning_counts_only_blue_green_fleets():
    """A fleet that would not fit twice warns only when it rolls out blue-green; a rolling one never doubles."""
    from tripgen_cdk8s.app.capacity import CapacityReport, ServiceCapacity, check_capacity
    from tripgen_cdk8s.app.model import NodePool

    pool = NodePool(name="pool", max_nodes=1, allocatable_cpu="1000m", allocatable_memory="1Gi")
    services = (ServiceCapacity("api", 2, 600, 2**29),)
    rolling = CapacityReport(services, 1000, 2**30, blue_green=())
    blue_green = CapacityReport(services, 1000, 2**30, blue_green=("api",))
    assert check_capacity(rolling, pool) == []
    assert check_capacity(blue_green, pool) == [
        "warning: capacity: a blue-green rollout of api does not fit: steady 600m CPU / 512Mi, "
        "blue-green peak 1200m / 1Gi, allocatable 1 / 1Gi"]
