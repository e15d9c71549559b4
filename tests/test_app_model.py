"""Issue 18: the application model gives every app the whole workflow, tried as a second team would.

A scratch project unlike TripGen and bookstore: one environment named ``live`` in the namespace
``commerce`` (unlike its name), a public HTTP API beside an internal worker, written only against
the package root's API.  Each test drives the command line as the team would and asserts what it
does: guardrails named in config, Argo CD manifests and the environment README, ``--set`` with the
chart's own keys, ``release set/show``, ``graph`` and ``validate`` without a hard-coded ``prod``,
overlays that load as real modules, dead Ingress routes refused, mistakes as one-line user errors.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from conftest import run_cli, tree_bytes

CONFIG = '''
from __future__ import annotations

from dataclasses import dataclass

from tripgen_cdk8s import (
    ApiIngress, ApiIngressProps, AppNamespace, AppNamespaceProps, Destination, GitOps, Guardrails, HelmChart,
    HelmChartProps, Image, IngressRoute, MicroService, MicroServiceProps, NamespaceNetworkPolicies,
    NamespacePoliciesProps, Project, Resources, ServiceNetworkPolicy, ServiceNetworkPolicyProps, load_releases,
)
from settings import NAMESPACE  # a helper module beside the overlay

RELEASES = load_releases(__file__)


@dataclass(frozen=True)
class Team:
    name: str
    tier: str = "public"


TEAM = Team("shop")


def build(app) -> None:
    props = dict(namespace=NAMESPACE, version="0.3.0", environment="live")
    platform = HelmChart(app, "shop-platform", HelmChartProps(**props))
    api_chart = HelmChart(app, "api", HelmChartProps(app_version=RELEASES.tag("api"), **props))
    worker_chart = HelmChart(app, "worker", HelmChartProps(app_version=RELEASES.tag("worker"), **props))
    api = MicroService(api_chart, "service", MicroServiceProps(
        name="api", image=Image("ghcr.io", "shop/api", RELEASES.tag("api")), replicas=REPLICAS,
        resources=Resources.sized("100m", "128Mi", "500m", "256Mi"), pod_labels={{"tier": TEAM.tier}}{api_extra}))
    worker = MicroService(worker_chart, "service", MicroServiceProps(
        name="worker", image=Image("ghcr.io", "shop/worker", RELEASES.tag("worker")), replicas=2,
        resources=Resources.sized("100m", "128Mi", "500m", "256Mi")))
    api.connections.allow_to(worker)
    for svc in (api, worker):
        ServiceNetworkPolicy(svc.helm_chart, "network-policy", ServiceNetworkPolicyProps(workload=svc))
    AppNamespace(platform, "namespace", AppNamespaceProps(quota_requests_cpu="2", quota_requests_memory="4Gi"))
    NamespaceNetworkPolicies(platform, "network", NamespacePoliciesProps(
        namespace=NAMESPACE, sources=("ingress-nginx",), application_ports=(8080,),
        application_selector={{"tier": "public"}}, policy_name="allow-ingress-controller"))
    ApiIngress(platform, "ingress", ApiIngressProps(
        name="shop", host="shop.example.com", routes=({routes})))


REPLICAS = {replicas}

config = Project(
    name="live", build=build, app="shop", description="Shop",
    guardrails=Guardrails({guardrails}),
    gitops=GitOps(repo_url="https://git.example.com/shop/deploy", destination=Destination(server="https://aks-live.example.com:443"),
                  waves={{"shop-platform": 0}}),
)
'''

RELEASES = """# the shop's releases
services:
  api:
    tag: {api_tag}
  worker:
    tag: 1.0.0
"""


def make_project(tmp_path: Path, *, api_tag: str = "2.0.0", replicas: int = 2, api_extra: str = "",
                 guardrails: str = "immutable_image_tags=True, min_replicas=2, require_default_deny=True",
                 routes: str = 'IngressRoute("/api", api),') -> Path:
    root = tmp_path / "shop"
    overlay = root / "overlays" / "live"
    overlay.mkdir(parents=True)
    (overlay / "config.py").write_text(CONFIG.format(api_extra=api_extra, routes=routes, replicas=replicas,
                                                     guardrails=guardrails))
    (overlay / "settings.py").write_text('NAMESPACE = "commerce"\n')
    (overlay / "releases.yaml").write_text(RELEASES.format(api_tag=api_tag))
    return root


def one_line_exit_2(proc, *needles: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


def test_a_project_gets_argocd_manifests_and_the_environment_readme(tmp_path):
    root = make_project(tmp_path)
    proc = run_cli("synth", cwd=root)
    assert proc.returncode == 0, proc.stderr
    env_dir = root / "charts" / "live"
    bootstrap = list(yaml.safe_load_all((env_dir / "argocd" / "bootstrap.yaml").read_text()))
    project, apps_project, root_app = bootstrap
    # no gitops.project: the AppProject is <app>-<env>, so another environment of shop can share the Argo CD
    assert (project["kind"], project["metadata"]["name"]) == ("AppProject", "shop-live")
    assert apps_project["metadata"]["name"] == "shop-live-apps"
    assert project["spec"]["destinations"] == [{"namespace": "commerce", "server": "https://aks-live.example.com:443"}]
    assert root_app["metadata"]["name"] == "shop-live"
    assert root_app["spec"]["source"]["path"] == "charts/live/argocd/applications"
    children = {p.stem: yaml.safe_load(p.read_text()) for p in (env_dir / "argocd" / "applications").iterdir()}
    assert sorted(children) == ["api", "shop-platform", "worker"]
    assert children["shop-platform"]["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "0"
    assert children["api"]["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "1"
    assert children["api"]["spec"]["destination"]["server"] == "https://aks-live.example.com:443"
    readme = (env_dir / "README.md").read_text()
    assert readme.startswith("# Shop `live` environment\n")
    assert "| api | `ghcr.io/shop/api:2.0.0` | 2 |" in readme and "```mermaid" in readme
    assert run_cli("synth", "--check", cwd=root).returncode == 0


def test_guardrails_are_data_named_in_config_and_refuse_at_synth(tmp_path):
    for tag in ("nightly", "edge", "latest-amd64"):
        root = make_project(tmp_path / tag, api_tag=tag)
        one_line_exit_2(run_cli("synth", cwd=root), "Deployment/api", "containers[api].image", f"shop/api:{tag}",
                        "guardrail immutable_image_tags")
        assert not (root / "charts").exists()
    # the same tag passes where the config names no such guardrail, whatever the environment is called
    root = make_project(tmp_path / "free", api_tag="nightly", guardrails="")
    assert run_cli("synth", cwd=root).returncode == 0
    root = make_project(tmp_path / "floor", replicas=1)
    one_line_exit_2(run_cli("synth", cwd=root), "Deployment/api spec.replicas", "guardrail min_replicas")
    root = make_project(tmp_path / "pdb", guardrails="require_probes=True, require_resources=True, require_digest=True")
    one_line_exit_2(run_cli("synth", cwd=root), "guardrail require_digest")


def test_validate_checks_the_guardrails_and_the_default_deny_of_a_project(tmp_path):
    root = make_project(tmp_path)
    assert run_cli("synth", cwd=root).returncode == 0
    proc = run_cli("validate", cwd=root)
    assert "live: every pod is selected by a NetworkPolicy and the default deny" in proc.stdout, proc.stdout
    assert "live: guardrails (min_replicas=2, immutable_image_tags, require_default_deny)" in proc.stdout
    assert "live: every Ingress route reaches its workload under the NetworkPolicies" in proc.stdout


def test_set_uses_the_chart_s_own_value_keys(tmp_path):
    root = make_project(tmp_path)
    assert run_cli("synth", "--set", "api.replicaCount=3", cwd=root).returncode == 0
    values = (root / "charts" / "live" / "api" / "values.yaml").read_text()
    assert "replicaCount: 3" in values
    assert "| api | `ghcr.io/shop/api:2.0.0` | 3 |" in (root / "charts" / "live" / "README.md").read_text()
    assert run_cli("synth", "--set", "api.image.tag=2.0.1", cwd=root).returncode == 0
    assert "shop/api:2.0.1" in (root / "charts" / "live" / "README.md").read_text()
    before = tree_bytes(root / "charts")
    one_line_exit_2(run_cli("synth", "--set", "api.replicaCont=3", cwd=root), "did you mean api.replicaCount?")
    one_line_exit_2(run_cli("synth", "--set", "api.replicaCount=0", cwd=root), "--set api.replicaCount")
    one_line_exit_2(run_cli("synth", "--set", "api.image.tag=nightly", cwd=root), "guardrail immutable_image_tags")
    one_line_exit_2(run_cli("synth", "--set", "apii.replicaCount=3", cwd=root), "did you mean api?")
    assert tree_bytes(root / "charts") == before


def test_release_set_show_work_for_a_project(tmp_path):
    root = make_project(tmp_path)
    assert run_cli("synth", cwd=root).returncode == 0
    proc = run_cli("release", "set", "api", "--env", "live", "--tag", "2.1.0", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert "tag: 2.1.0" in (root / "overlays" / "live" / "releases.yaml").read_text()
    assert "# the shop's releases" in (root / "overlays" / "live" / "releases.yaml").read_text()
    assert "ghcr.io/shop/api:2.1.0" in (root / "charts" / "live" / "api" / "values.yaml").read_text().replace(
        'tag: "2.1.0"', "ghcr.io/shop/api:2.1.0")
    assert run_cli("synth", "--check", cwd=root).returncode == 0
    show = run_cli("release", "show", cwd=root)
    assert show.returncode == 0, show.stderr
    assert any(line.split()[:3] == ["live", "api", "2.1.0"] and line.endswith("ghcr.io/shop/api:2.1.0")
               for line in show.stdout.splitlines()), show.stdout
    one_line_exit_2(run_cli("release", "set", "api", "--env", "live", "--tag", "edge", cwd=root),
                    "guardrail immutable_image_tags")


def test_an_overlay_loads_as_a_real_module(tmp_path):
    """`from __future__ import annotations` with a dataclass, and a helper module beside the overlay."""
    root = make_project(tmp_path)
    proc = run_cli("synth", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert 'namespace: "commerce"' not in proc.stderr
    assert (root / "charts" / "live" / "api").is_dir()


def test_graph_defaults_to_the_project_s_own_environment(tmp_path):
    root = make_project(tmp_path)
    proc = run_cli("graph", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("flowchart LR")
    assert "api" in proc.stdout and "worker" in proc.stdout


def test_a_route_to_a_workload_the_ingress_controller_cannot_reach_is_refused(tmp_path):
    root = make_project(tmp_path, routes='IngressRoute("/api", api), IngressRoute("/jobs", worker),')
    for command in (["synth"], ["graph"]):
        one_line_exit_2(run_cli(*command, cwd=root), "Ingress/shop", "/jobs", "Service/worker", "is dead")
    assert not (root / "charts").exists()


def test_a_mistyped_props_field_is_a_user_error_with_a_did_you_mean(tmp_path):
    root = make_project(tmp_path, api_extra=', readines_path="/ready"')
    one_line_exit_2(run_cli("synth", cwd=root), "config.py:", "MicroServiceProps.readines_path",
                    "did you mean readiness_path?")


def test_a_construct_check_is_a_user_error(tmp_path):
    root = make_project(tmp_path, api_extra=", port=70000")
    one_line_exit_2(run_cli("synth", cwd=root), "config.py:", "api/service.port", "70000")


def test_a_project_s_sync_window_and_guardrails_are_validated():
    import pytest

    from tripgen_cdk8s.app.model import GitOps, Guardrails, Project
    from tripgen_cdk8s.app.pipeline import validate_project
    from tripgen_cdk8s.lib.errors import ConfigError
    from tripgen_cdk8s.lib.model import SyncWindow

    seed = SyncWindow(kind="allow", schedule="0 2-4 * * 1-5", duration="2h", time_zone="UTC")
    for project, field in (
            (Project("live", print, gitops=GitOps("https://g.example/x", sync_window=seed)), "gitops.sync_window.schedule"),
            (Project("live", print, guardrails=Guardrails(release_tag_pattern="([")), "guardrails.release_tag_pattern"),
            (Project("live", print, guardrails=Guardrails(min_replicas=0)), "guardrails.min_replicas")):
        with pytest.raises(ConfigError) as err:
            validate_project(project)
        assert err.value.field == field
    validate_project(Project("live", print, gitops=GitOps("https://g.example/x", sync_window=SyncWindow.weekly(
        "02:00", "04:00", "Mon-Fri", "UTC"))))


WORKLOADS = '''
from tripgen_cdk8s import (
    AutoscaledService, AutoscaledServiceProps, EnvFrom, EnvValue, HelmChart, HelmChartProps, HorizontalScaling,
    Image, KedaScaling, MicroService, MicroServiceProps, Probe, Project, Resources, Worker, WorkerProps,
)


def build(app) -> None:
    api_chart = HelmChart(app, "api", HelmChartProps(namespace="commerce", version="0.3.0"))
    worker_chart = HelmChart(app, "worker", HelmChartProps(namespace="commerce", version="0.3.0"))
    api_chart.add_object({{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {{"name": "shop-settings"}},
                          "data": {{"mode": "live"}}}})  # a raw object: the escape hatch
    api = MicroService(api_chart, "service", MicroServiceProps(
        name="api", image=Image("ghcr.io", "shop/api", "2.0.0"), resources=Resources.sized("100m", "128Mi", "500m", "256Mi"),
        env={"BROKER_URL": EnvValue.from_secret_value("broker", "url"),
             "MODE": EnvValue.from_config_map("shop-settings", "mode")},
        env_from=(EnvFrom.from_secret("shop-extra"),)))
    AutoscaledService(api_chart, "autoscaling", AutoscaledServiceProps(
        target=api, scaling=HorizontalScaling(min_replicas=1, max_replicas=4, cpu_utilization=60),
        disruption_budget=False))
    worker = Worker(worker_chart, "worker", WorkerProps(
        name="worker", image=Image("ghcr.io", "shop/worker", "1.0.0"), resources=Resources.sized("100m", "128Mi", "500m", "256Mi"),
        liveness=Probe.exec(("/bin/check",))))
    AutoscaledService(worker_chart, "autoscaling", AutoscaledServiceProps(
        target=worker, scaling=KedaScaling(min_replicas=1, max_replicas=9, triggers=(
            {{"type": "rabbitmq", "metadata": {{"queueName": "jobs", "mode": "QueueLength", "value": "10"}}}},)),
        disruption_budget=False))


config = Project(name="live", build=build)
'''


def test_the_workloads_a_second_team_needed_synthesise(tmp_path):
    """Issue 18 "Why": env vars from Secret and ConfigMap keys and envFrom; a worker without Service,
    port or HTTP probe; a CPU-only HPA; KEDA without forced cpu/memory triggers; no forced PDB."""
    root = tmp_path / "shop"
    (root / "overlays" / "live").mkdir(parents=True)
    (root / "overlays" / "live" / "config.py").write_text(WORKLOADS.replace("{{", "{").replace("}}", "}"))
    proc = run_cli("synth", cwd=root)
    assert proc.returncode == 0, proc.stderr
    from tripgen_cdk8s.app import loader, pipeline

    objs = pipeline.synthesize(loader.load(root, "live")).objects
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objs}
    assert ("Service", "worker") not in kinds and ("Deployment", "worker") in kinds
    assert ("ConfigMap", "shop-settings") in kinds
    assert not any(k == "PodDisruptionBudget" for k, _ in kinds)
    [api] = [o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == "api"]
    c = api["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("valueFrom") for e in c["env"]}
    assert env["BROKER_URL"] == {"secretKeyRef": {"name": "broker", "key": "url"}}
    assert env["MODE"] == {"configMapKeyRef": {"name": "shop-settings", "key": "mode"}}
    assert {"secretRef": {"name": "shop-extra"}} in c["envFrom"]
    [hpa] = [o for o in objs if o["kind"] == "HorizontalPodAutoscaler"]
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    [scaled] = [o for o in objs if o["kind"] == "ScaledObject"]
    assert [t["type"] for t in scaled["spec"]["triggers"]] == ["rabbitmq"]
    [worker] = [o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == "worker"]
    wc = worker["spec"]["template"]["spec"]["containers"][0]
    assert "ports" not in wc and wc["livenessProbe"] == {**wc["livenessProbe"], "exec": {"command": ["/bin/check"]}}
