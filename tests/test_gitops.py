"""ArgoCD, Argo Rollouts and the dev environment (TRIPGEN.md sections 1, 10, 11)."""

from __future__ import annotations

import dataclasses

import promql_parser
import pytest
import yaml

from conftest import CRDS, ROOT, find, objects, run_cli, synthesis
from tripgen_cdk8s.lib import validation as v
from tripgen_cdk8s.tripgen import overlays
from tripgen_cdk8s.tripgen.app import synthesize

SERVICES = ["user-service", "trip-service", "ai-service", "location-service"]
WAVES = {"tripgen-platform": "0", "user-service": "1", "location-service": "1", "trip-service": "2", "ai-service": "3"}


def apps(env: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects(env, "Application")}


@pytest.mark.parametrize("env", ["prod", "dev"])
def test_one_child_application_per_chart_with_path_namespace_and_wave(env):
    charts = [c.name for c in synthesis(env).charts if c.is_helm]
    children = {n: a for n, a in apps(env).items() if n != f"tripgen-{env}"}
    assert sorted(children) == sorted(f"tripgen-{env}-{c}" for c in charts)
    for chart in charts:
        app = children[f"tripgen-{env}-{chart}"]
        assert app["metadata"]["namespace"] == "argocd"
        assert app["spec"]["source"]["path"] == f"charts/{env}/{chart}"
        assert app["spec"]["source"]["repoURL"] == "https://github.com/tripgen/k8s-manifests"
        assert app["spec"]["source"]["targetRevision"] == "main"
        assert app["spec"]["source"]["helm"]["releaseName"] == chart
        assert app["spec"]["destination"]["namespace"] == f"tripgen-{env}"
        assert app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == WAVES[chart]
        assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
        assert app["spec"]["syncPolicy"]["syncOptions"] == ["ServerSideApply=true", "RespectIgnoreDifferences=true"]
        assert (ROOT / app["spec"]["source"]["path"] / "Chart.yaml").is_file()


@pytest.mark.parametrize("env", ["prod", "dev"])
def test_ignore_differences_exactly_for_autoscaled_workloads(env):
    scaled = {(o["spec"]["scaleTargetRef"]["kind"], o["spec"]["scaleTargetRef"]["name"])
              for o in objects(env) if o["kind"] in ("HorizontalPodAutoscaler", "ScaledObject")}
    ignored = {(d["kind"], d["name"]) for a in apps(env).values() for d in a["spec"].get("ignoreDifferences", [])
               if d["jsonPointers"] == ["/spec/replicas"]}
    assert ignored == scaled
    workloads = {(o["kind"], o["metadata"]["name"]) for o in objects(env) if o["kind"] in ("Deployment", "Rollout")}
    assert ignored <= workloads
    if env == "prod":
        assert ignored == {("Rollout", s) for s in SERVICES}
    else:
        assert ignored == set()


def test_root_application_and_project_of_prod():
    root = apps("prod")["tripgen-prod"]
    assert root["spec"]["source"]["path"] == "charts/prod/argocd/applications"
    projects = {o["metadata"]["name"]: o for o in objects("prod", "AppProject")}
    project = projects["tripgen"]["spec"]
    assert project["sourceRepos"] == ["https://github.com/tripgen/k8s-manifests"]
    assert project["destinations"] == [{"server": "https://kubernetes.default.svc", "namespace": "tripgen-prod"}]
    window = project["syncWindows"][0]
    # TRIPGEN.md 11: Mon-Fri 02:00-04:00 Seoul, opened once a day for 2h; manual syncs are the break-glass
    assert (window["kind"], window["schedule"], window["duration"], window["timeZone"], window["manualSync"]) == (
        "allow", "0 2 * * 1-5", "2h", "Asia/Seoul", True)
    emitted = {(o["apiVersion"].split("/")[0] if "/" in o["apiVersion"] else "", o["kind"])
               for c in synthesis("prod").charts if c.is_helm for o in c.objects}
    whitelisted = {(k["group"], k["kind"]) for k in project["namespaceResourceWhitelist"]
                   + project["clusterResourceWhitelist"]}
    assert whitelisted == emitted
    assert "syncWindows" not in {o["metadata"]["name"]: o for o in objects("dev", "AppProject")}["tripgen-dev"]["spec"]


@pytest.mark.parametrize("env", ["prod", "dev"])
def test_the_project_allows_exactly_the_cluster_objects_of_its_environment_by_name(env):
    """Issue 21 #22: not any Namespace or any ClusterRole, only the environment's own (the name
    restriction needs Argo CD 3.2, docs/network.md); its one destination is the environment's namespace."""
    project = next(o for o in objects(env, "AppProject") if not o["metadata"]["name"].endswith("-apps"))["spec"]
    cluster = [o for c in synthesis(env).charts if c.is_helm for o in c.objects if "namespace" not in o["metadata"]]
    assert sorted((k["group"], k["kind"], k["name"]) for k in project["clusterResourceWhitelist"]) == sorted(
        (o["apiVersion"].split("/")[0] if "/" in o["apiVersion"] else "", o["kind"], o["metadata"]["name"]) for o in cluster)
    names = {k["kind"]: set() for k in project["clusterResourceWhitelist"]}
    for k in project["clusterResourceWhitelist"]:
        names[k["kind"]].add(k["name"])
    assert names == {"Namespace": {f"tripgen-{env}"},
                     "ClusterRole": {f"tripgen-{env}-application-reader", f"tripgen-{env}-application-writer"}}
    assert [d["namespace"] for d in project["destinations"]] == [f"tripgen-{env}"]


def test_prod_and_dev_share_no_cluster_or_argocd_object_name():
    from tripgen_cdk8s.app.pipeline import check_cluster_names

    prod, dev = synthesis("prod"), synthesis("dev")
    assert check_cluster_names([prod, dev]) == []
    shared = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in prod.charts[-1].objects} & {
        (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in dev.charts[-1].objects}
    assert shared == set()


def test_two_environments_with_one_namespace_or_project_are_refused():
    import dataclasses as dc

    from tripgen_cdk8s.app.pipeline import check_cluster_names

    prod = overlays.load(ROOT, "prod")
    dev = overlays.load(ROOT, "dev")
    same_namespace = synthesize(dc.replace(dev, namespace=prod.namespace))
    errors = check_cluster_names([synthesis("prod"), same_namespace])
    assert "ClusterRole/tripgen-prod-application-reader: emitted by environments prod and dev, which deploy to one " \
           "cluster" in " ".join(errors)
    assert any(e.startswith("Namespace/tripgen-prod:") for e in errors)
    same_project = synthesize(dc.replace(dev, gitops=dc.replace(dev.gitops, project=prod.gitops.project)))
    errors = check_cluster_names([synthesis("prod"), same_project])
    assert [e.split(":")[0] for e in errors] == ["AppProject/tripgen in namespace argocd",
                                                 "AppProject/tripgen-apps in namespace argocd"]
    # another cluster: nothing is shared
    elsewhere = synthesize(dc.replace(dev, namespace=prod.namespace, gitops=dc.replace(
        dev.gitops, project=prod.gitops.project, destination_server="https://aks-dev.example.com:443")))
    assert check_cluster_names([synthesis("prod"), elsewhere]) == []


def test_synth_of_every_environment_refuses_a_shared_cluster_name(project_copy):
    config = project_copy / "overlays" / "dev" / "config.py"
    text = config.read_text()
    assert 'NAMESPACE = "tripgen-dev"' in text
    config.write_text(text.replace('NAMESPACE = "tripgen-dev"', 'NAMESPACE = "tripgen-prod"'))
    proc = run_cli("synth", cwd=project_copy)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "emitted by environments prod and dev" in proc.stderr


@pytest.mark.parametrize("env", ["prod", "dev"])
def test_bootstrap_is_one_file_holding_the_projects_and_the_root_application(env):
    docs = [d for d in yaml.safe_load_all((ROOT / "charts" / env / "argocd" / "bootstrap.yaml").read_text()) if d]
    assert sorted((d["kind"], d["metadata"]["name"]) for d in docs) == sorted(
        [("AppProject", f"tripgen{'-dev' if env == 'dev' else ''}"),
         ("AppProject", f"tripgen{'-dev' if env == 'dev' else ''}-apps"), ("Application", f"tripgen-{env}")])
    for d in docs:
        assert v.check_custom_resources([d], CRDS) == []


def test_gitops_custom_resources_validate_against_their_crds():
    kinds = set()
    for env in ("prod", "dev"):
        objs = [o for o in objects(env) if o["kind"] in ("AppProject", "Application", "Rollout", "AnalysisTemplate")]
        kinds |= {o["kind"] for o in objs}
        assert v.check_custom_resources(objs, CRDS) == []
    assert kinds == {"AppProject", "Application", "Rollout", "AnalysisTemplate"}


# ---------------------------------------------------------------------------- Rollouts


@pytest.mark.parametrize("name", SERVICES)
def test_prod_workloads_are_blue_green_rollouts(name):
    rollout = find("prod", "Rollout", name)
    bg = rollout["spec"]["strategy"]["blueGreen"]
    assert (bg["activeService"], bg["previewService"]) == (name, f"{name}-preview")
    assert bg["autoPromotionEnabled"] is False and bg["scaleDownDelaySeconds"] == 1800
    template = bg["prePromotionAnalysis"]["templates"][0]["templateName"]
    assert bg["prePromotionAnalysis"]["args"] == [{"name": "service-name", "value": f"{name}-preview"}]
    analysis = find("prod", "AnalysisTemplate", template)["spec"]
    metric = analysis["metrics"][0]
    assert metric["successCondition"] == "result[0] < 0.005"
    query = metric["provider"]["prometheus"]["query"]
    assert 'status=~"5.."' in query and "{{args.service-name}}" in query
    promql_parser.parse(query.replace("{{args.service-name}}", f"{name}-preview"))
    preview = find("prod", "Service", f"{name}-preview")
    assert preview["spec"]["selector"] == rollout["spec"]["selector"]["matchLabels"]
    assert not objects("prod", "Deployment")


def test_nothing_targets_a_deployment_that_no_longer_exists():
    objs = objects("prod")
    assert v.check_scale_targets(objs) == []
    for o in objs:
        if o["kind"] in ("HorizontalPodAutoscaler", "ScaledObject"):
            assert o["spec"]["scaleTargetRef"]["kind"] == "Rollout"


def test_rollout_keeps_the_pod_template_a_deployment_would_have():
    prod = overlays.load(ROOT, "prod")
    rolling = dataclasses.replace(prod, services=tuple(dataclasses.replace(s, strategy="rolling") for s in prod.services))
    deployments = {o["metadata"]["name"]: o for c in synthesize(rolling).charts for o in c.objects
                   if o["kind"] == "Deployment"}
    for name in SERVICES:
        assert find("prod", "Rollout", name)["spec"]["template"] == deployments[name]["spec"]["template"]


@pytest.mark.parametrize("strategy", ["rolling", "blueGreen", "canary"])
def test_each_strategy_is_one_config_change_and_renders_valid_objects(strategy):
    prod = overlays.load(ROOT, "prod")
    env = dataclasses.replace(prod, services=tuple(
        dataclasses.replace(s, strategy=strategy) if s.name == "trip-service" else s for s in prod.services))
    objs = [o for c in synthesize(env).charts for o in c.objects]
    kind = "Deployment" if strategy == "rolling" else "Rollout"
    workload = next(o for o in objs if o["metadata"]["name"] == "trip-service" and o["kind"] in ("Deployment", "Rollout"))
    assert workload["kind"] == kind
    for check in (v.check_builtin_schemas, v.check_selectors, v.check_scale_targets, v.check_pod_references,
                  v.check_ports, v.check_disruption_budgets, v.check_unique):
        assert check(objs) == [], check.__name__
    assert v.check_custom_resources(objs, CRDS) == []
    hpa = next(o for o in objs if o["kind"] == "HorizontalPodAutoscaler" and o["metadata"]["name"] == "trip-service")
    assert hpa["spec"]["scaleTargetRef"]["kind"] == kind
    app = next(o for o in objs if o["kind"] == "Application" and o["metadata"]["name"] == "tripgen-prod-trip-service")
    assert app["spec"]["ignoreDifferences"][0]["kind"] == kind
    if strategy == "canary":
        steps = workload["spec"]["strategy"]["canary"]["steps"]
        assert steps == [{"setWeight": 5}, {"pause": {"duration": "10m"}}, {"setWeight": 25},
                         {"pause": {"duration": "15m"}}, {"setWeight": 50}, {"pause": {"duration": "20m"}},
                         {"setWeight": 100}]
        assert "trafficRouting" not in workload["spec"]["strategy"]["canary"]


# ---------------------------------------------------------------------------- dev


def test_dev_has_no_scalers_pdbs_or_rollouts_and_one_replica_each():
    for kind in ("HorizontalPodAutoscaler", "PodDisruptionBudget", "ScaledObject", "Rollout", "TriggerAuthentication",
                 "SecretProviderClass", "Secret"):
        assert objects("dev", kind) == [], kind
    deployments = objects("dev", "Deployment")
    assert sorted(d["metadata"]["name"] for d in deployments) == sorted(SERVICES)
    for d in deployments:
        spec = d["spec"]
        assert spec["replicas"] == 1
        assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}
        assert (spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (5, 600)
        pod = spec["template"]["spec"]
        assert "topologySpreadConstraints" not in pod and "affinity" not in pod
        assert pod["imagePullSecrets"] == [{"name": "acr-secret"}]
        assert pod["containers"][0]["image"].startswith("acrtrpgendev.azurecr.io/")


DEV_RESOURCES = {"user-service": ("50m", "128Mi", "200m", "256Mi"), "trip-service": ("100m", "256Mi", "500m", "512Mi"),
                 "ai-service": ("200m", "512Mi", "1000m", "1Gi"), "location-service": ("50m", "128Mi", "200m", "256Mi")}


@pytest.mark.parametrize("name", SERVICES)
def test_dev_resources_config_and_secrets_by_name(name):
    c = find("dev", "Deployment", name)["spec"]["template"]["spec"]["containers"][0]
    rc, rm, lc, lm = DEV_RESOURCES[name]
    assert (c["resources"]["requests"]["cpu"], c["resources"]["requests"]["memory"]) == (rc, rm)
    assert (c["resources"]["limits"]["cpu"], c["resources"]["limits"]["memory"]) == (lc, lm)
    cfg = find("dev", "ConfigMap", f"{name}-config")["data"]
    assert cfg["SPRING_PROFILES_ACTIVE"] == "dev" and cfg["CACHE_L1_MAX_ENTRIES"] == "1000"
    volume = next(vol for vol in find("dev", "Deployment", name)["spec"]["template"]["spec"]["volumes"]
                  if vol["name"] == "secrets")
    assert volume["secret"]["secretName"] == "app-secrets"
    assert {"key": "jwt.secret", "path": "JWT_SECRET"} in volume["secret"]["items"]
    assert "env" not in c


def test_dev_network_ingress_and_namespace():
    policies = objects("dev", "NetworkPolicy")
    assert [p["metadata"]["name"] for p in policies] == ["dev-basic-policy"]
    assert policies[0]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [{}],
                                   "egress": [{}]}
    ing = find("dev", "Ingress", "tripgen-api")
    assert ing["spec"]["ingressClassName"] == "nginx"
    rule = ing["spec"]["rules"][0]
    assert rule["host"] == "dev-tripgen.local"
    assert {p["path"] for p in rule["http"]["paths"]} == {"/api/v1/users", "/api/v1/trips", "/api/v1/ai",
                                                           "/api/v1/locations", "/api/v1/routes", "/ws"}
    assert not any("rewrite" in k for k in ing["metadata"].get("annotations", {}))
    labels = find("dev", "Namespace", "tripgen-dev")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"


# ---------------------------------------------------------------------------- diff


def test_diff_is_empty_on_main_and_shows_a_config_change(project_copy):
    proc = run_cli("diff")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cfg = project_copy / "overlays" / "prod" / "config.py"
    cfg.write_text(cfg.read_text().replace("scale_down_delay_seconds=1800", "scale_down_delay_seconds=900"))
    proc = run_cli("diff", "--env", "prod", cwd=project_copy)
    assert proc.returncode == 1
    assert "--- a/charts/prod/trip-service/templates/rollout.yaml" in proc.stdout
    assert "-      scaleDownDelaySeconds: 1800\n+      scaleDownDelaySeconds: 900" in proc.stdout


def _open_minutes(schedule: str, duration: str) -> set[tuple[int, int]]:
    """(weekday 0=Sun, minute of the day) a window is open in a week, opening at every minute the
    five-field schedule matches (numbers, ranges, lists; day-of-month and month '*'), as Argo CD does."""
    def expand(field: str, top: int) -> set[int]:
        if field == "*":
            return set(range(top))
        out: set[int] = set()
        for part in field.split(","):
            lo, _, hi = part.partition("-")
            out |= set(range(int(lo), int(hi or lo) + 1))
        return out

    minute, hour, _dom, _month, dow = schedule.split()
    length = int(duration[:-1]) * (60 if duration.endswith("h") else 1)
    opened = set()
    for day in expand(dow, 7):
        for h in expand(hour, 24):
            for m in expand(minute, 60):
                for k in range(length):
                    t = h * 60 + m + k
                    opened.add(((day + t // 1440) % 7, t % 1440))
    return opened


def test_the_sync_window_means_what_it_says():
    """Issue 21 #23: the seed's `0 2-4 * * 1-5` with 2h opens at 02:00, 03:00 and 04:00 (02:00-06:00);
    SyncWindow.weekly writes the window a person means, and the config refuses the ambiguous form."""
    from tripgen_cdk8s.lib.model import SyncWindow

    meant = {(d, t) for d in range(1, 6) for t in range(120, 240)}  # Mon-Fri 02:00-03:59
    assert _open_minutes("0 2-4 * * 1-5", "2h") != meant
    assert max(t for _d, t in _open_minutes("0 2-4 * * 1-5", "2h")) == 6 * 60 - 1
    w = SyncWindow.weekly(start="02:00", end="04:00", days="Mon-Fri", time_zone="Asia/Seoul", manual_sync=True)
    assert (w.schedule, w.duration, w.manual_sync) == ("0 2 * * 1-5", "2h", True)
    assert _open_minutes(w.schedule, w.duration) == meant
    assert _open_minutes(SyncWindow.weekly("22:30", "23:15", "Sat,Sun", "UTC").schedule, "45m") == {
        (d, t) for d in (0, 6) for t in range(22 * 60 + 30, 23 * 60 + 15)}
    for bad in (("04:00", "02:00", "Mon-Fri"), ("2:00", "04:00", "Mon-Fri"), ("02:00", "04:00", "Monday")):
        with pytest.raises(ValueError):
            SyncWindow.weekly(*bad, time_zone="UTC")


def test_the_ambiguous_schedule_is_refused_and_the_break_glass_is_the_overlay_s_choice():
    import dataclasses

    from tripgen_cdk8s.lib.errors import ConfigError
    from tripgen_cdk8s.lib.model import SyncWindow
    from tripgen_cdk8s.tripgen import overlays
    from tripgen_cdk8s.tripgen.config import validate

    prod = overlays.load(ROOT, "prod")
    seed = SyncWindow(kind="allow", schedule="0 2-4 * * 1-5", duration="2h", time_zone="Asia/Seoul")
    with pytest.raises(ConfigError) as err:
        validate(dataclasses.replace(prod, gitops=dataclasses.replace(prod.gitops, sync_window=seed)))
    assert err.value.field == "gitops.sync_window.schedule" and "02:00-06:00" in str(err.value)
    no_glass = dataclasses.replace(prod.gitops.sync_window, manual_sync=False)
    from tripgen_cdk8s.app import pipeline

    synthesis = pipeline.synthesize(dataclasses.replace(prod, gitops=dataclasses.replace(
        prod.gitops, sync_window=no_glass)).to_project())
    [project] = [o for c in synthesis.charts for o in c.objects
                 if o["kind"] == "AppProject" and o["metadata"]["name"] == "tripgen"]
    assert project["spec"]["syncWindows"][0]["manualSync"] is False
