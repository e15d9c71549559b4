"""The charts against a real kube-apiserver (tests/kube.py): applied and upgraded as Argo CD does.

Every environment of TripGen and of the bookstore example: the vendored CRDs, then each chart
rendered with helm template (release namespace, the server's version) and server-side applied in
sync-wave order, hooks included; each pod template as a Pod with a server-side dry run (Pod
Security admission judges Pods only); the Argo CD manifests.  Then the charts of an earlier git
revision, upgraded to the working tree's.  A real ``helm install`` of each service chart.  All in
one xdist group, so one worker starts the servers.
"""

from __future__ import annotations

import subprocess
import tarfile
import textwrap
import time
from collections.abc import Iterator
from functools import cache
from io import BytesIO
from pathlib import Path

import pytest
from kube import KUBE_VERSION, ApiServer, apiserver, kube_apiserver_fixture, kube_etcd_fixture  # noqa: F401  (fixtures)

from conftest import ROOT, run_cli
from tripgen_cdk8s.app import loader, pipeline
from tripgen_cdk8s.lib.cluster import (
    ApplyRefused,
    ChartSource,
    Cluster,
    Obj,
    apply_all,
    describe,
    dry_run,
    environment_sync,
    load_kubeconfig,
    manifests,
    pod_template_pods,
    render_chart,
)
from tripgen_cdk8s.lib.validation import CRD_DIR

pytestmark = pytest.mark.xdist_group("kube")

BOOKSTORE = ROOT / "examples" / "bookstore"
NEWSLETTER = ROOT / "examples" / "newsletter"
PROJECTS = {"tripgen": ROOT, "bookstore": BOOKSTORE, "newsletter": NEWSLETTER}
ENVIRONMENTS = [("tripgen", "prod"), ("tripgen", "dev"), ("bookstore", "prod"), ("newsletter", "live"),
                ("newsletter", "staging")]
ENV_IDS = [f"{p}-{e}" for p, e in ENVIRONMENTS]

OLDER_RELEASE = "e02c822"
"""The fixed older revision every environment must upgrade from: the merge of issue 11 (the last
main commit before the generic library's restructuring).  The repository has no release tags yet;
replace it with the release tag once one exists."""


@cache
def sources(project: str, env: str) -> tuple[ChartSource, ...]:
    """The charts of one environment, with their release namespaces (from the working tree's config)."""
    synthesis = pipeline.synthesize(loader.load(PROJECTS[project], env), PROJECTS[project])
    return tuple(ChartSource(c.name, c.namespace, c.is_helm) for c in synthesis.charts)


def env_dir(tree: Path, project: str, env: str) -> Path:
    return tree / PROJECTS[project].relative_to(ROOT) / "charts" / env


def connect(server: ApiServer) -> Cluster:
    return Cluster(load_kubeconfig(server.kubeconfig))


def wait_for_crds(cluster: Cluster, crds: list[Obj], timeout: float = 60) -> None:
    """Until every CRD is Established and its kinds are served (the API server's own controllers)."""
    deadline = time.monotonic() + timeout
    for crd in crds:
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        version = next(v["name"] for v in crd["spec"]["versions"] if v.get("served"))
        while True:
            try:
                cluster.resource(f"{group}/{version}", kind)
                break
            except ApplyRefused:
                assert time.monotonic() < deadline, f"CRD {crd['metadata']['name']} not served after {timeout} s"
                time.sleep(0.2)


def prepare(cluster: Cluster) -> None:
    """What the platform provides before Argo CD syncs: the vendored CRDs and Argo CD's namespace."""
    crds = manifests(CRD_DIR)
    assert apply_all(cluster, crds) == []
    wait_for_crds(cluster, crds)
    assert apply_all(cluster, [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}}]) == []


def act_as_controllers(cluster: Cluster, objs: list[Obj]) -> None:
    """There is no controller manager: create each new namespace's ``default`` ServiceAccount and
    publish each ResourceQuota's initial status (hard = spec, nothing used) as its controllers
    would, so the ServiceAccount and quota admission can judge the pods."""
    for ns in (o for o in objs if o["kind"] == "Namespace"):
        cluster.apply({"apiVersion": "v1", "kind": "ServiceAccount",
                       "metadata": {"name": "default", "namespace": ns["metadata"]["name"]}},
                      field_manager="serviceaccount-controller")
    for q in (o for o in objs if o["kind"] == "ResourceQuota"):
        hard = q["spec"]["hard"]
        cluster.apply({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {
            "name": q["metadata"]["name"], "namespace": q["metadata"]["namespace"]},
            "status": {"hard": hard, "used": dict.fromkeys(hard, "0")}},
            subresource="status", field_manager="resourcequota-controller")


def sync(cluster: Cluster, tree: Path, project: str, env: str) -> tuple[list[str], list[Obj]]:
    """Apply one environment's charts from ``tree`` (a checkout) in Argo CD's order; the refusals
    (each naming its object) and the applied objects.  Charts the tree does not have are left out."""
    charts = [c for c in sources(project, env) if (env_dir(tree, project, env) / c.name).is_dir()]
    errors, applied = [], []
    for objs in environment_sync(str(HELM), env_dir(tree, project, env), charts, KUBE_VERSION):
        errors += apply_all(cluster, objs)
        act_as_controllers(cluster, objs)
        applied += objs
    return errors, applied


HELM = ROOT / ".tools" / "bin" / "helm"


@pytest.fixture(scope="module")
def cluster(kube_apiserver: ApiServer) -> Iterator[Cluster]:
    c = connect(kube_apiserver)
    prepare(c)
    yield c
    c.close()


@cache
def checkout(rev: str, dest: Path) -> Path:
    """The charts of git revision ``rev`` (``git archive``), extracted under ``dest``."""
    sha = subprocess.run(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=ROOT, capture_output=True,
                         text=True, check=False)
    assert sha.returncode == 0, f"git revision {rev} not in this clone (a shallow clone?): {sha.stderr.strip()}"
    paths = [str(PROJECTS[p].relative_to(ROOT) / "charts") for p in PROJECTS]
    listed = subprocess.run(["git", "ls-tree", "--name-only", "-r", "-d", sha.stdout.strip(), *paths], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    paths = [path for path in paths if path in listed]  # an example the revision did not have yet
    tar = subprocess.run(["git", "archive", "--format=tar", sha.stdout.strip(), *paths], cwd=ROOT,
                         capture_output=True, check=True).stdout
    out = dest / rev.replace("~", "-")
    with tarfile.open(fileobj=BytesIO(tar)) as t:
        t.extractall(out, filter="data")
    return out


# ---------------------------------------------------------------------------- the server itself


def test_the_server_is_the_pinned_release_with_pod_security(kube_apiserver: ApiServer) -> None:
    status, body = kube_apiserver.ssl_get("/version")
    assert status == 200 and f'"gitVersion": "{KUBE_VERSION}"' in body
    status, body = kube_apiserver.ssl_get("/readyz?verbose")
    assert status == 200 and "[+]etcd ok" in body


# ---------------------------------------------------------------------------- every environment, as Argo CD syncs it


@pytest.mark.parametrize(("project", "env"), ENVIRONMENTS, ids=ENV_IDS)
def test_environment_applies_and_every_pod_is_admitted(cluster: Cluster, project: str, env: str) -> None:
    errors, applied = sync(cluster, ROOT, project, env)
    assert errors == []
    workloads = [o for o in applied if "template" in (o.get("spec") or {})]
    assert workloads, "no workloads applied"
    for w in workloads:  # stored, with the server's defaults
        stored = cluster.get(w)
        assert stored is not None and stored["metadata"]["generation"] >= 1, describe(w)
    cronjobs = [o for o in applied if "jobTemplate" in (o.get("spec") or {})]
    outcomes = dry_run(cluster, pod_template_pods(applied), pods=False)
    assert [o for o in outcomes if o.status != "ok"] == []
    assert len(outcomes) == len(workloads) + len(cronjobs)


def test_argocd_applications_are_applied_in_wave_order(cluster: Cluster) -> None:
    sync(cluster, ROOT, "tripgen", "prod")
    apps = [o for o in manifests(ROOT / "charts" / "prod" / "argocd") if o["kind"] == "Application"]
    assert {a["spec"]["destination"]["namespace"] for a in apps} == {"argocd", "tripgen-prod"}
    for app in apps:
        stored = cluster.get(app)
        assert stored is not None and stored["spec"]["destination"] == app["spec"]["destination"]


# ---------------------------------------------------------------------------- upgrades from earlier revisions


@pytest.mark.parametrize("rev", ["HEAD~1", OLDER_RELEASE], ids=["previous-commit", "older-release"])
def test_upgrade_from_an_earlier_revision_is_accepted(kube_etcd: str, tmp_path: Path, rev: str) -> None:
    old = checkout(rev, tmp_path)
    with apiserver(tmp_path / "server", kube_etcd, prefix=f"/upgrade-{rev.replace('~', '-')}") as server:
        c = connect(server)
        prepare(c)
        for project, env in ENVIRONMENTS:
            if project != "tripgen" and not env_dir(old, project, env).is_dir():
                continue  # an example newer than the revision: the upgrade below installs it
            errors, applied = sync(c, old, project, env)
            assert errors == [], f"{rev} {project}/{env} does not apply"
            assert applied, f"{rev} has no charts for {project}/{env}"
        for project, env in ENVIRONMENTS:
            errors, _ = sync(c, ROOT, project, env)
            assert errors == [], f"upgrade of {project}/{env} from {rev} refused"
        c.close()


def test_an_upgrade_that_changes_a_deployment_selector_is_refused_naming_object_and_field(cluster: Cluster) -> None:
    # A release renamed in the Argo CD Application: app.kubernetes.io/instance, part of the selector, changes.
    chart = ROOT / "charts" / "dev" / "user-service"
    assert apply_all(cluster, [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "selector-check"}}]) == []
    assert apply_all(cluster, render_chart(str(HELM), chart, "user-service", "selector-check", KUBE_VERSION)) == []
    errors = apply_all(cluster, render_chart(str(HELM), chart, "user-service-v2", "selector-check", KUBE_VERSION))
    assert len(errors) == 1, errors
    assert errors[0].startswith("Deployment selector-check/user-service: ")
    assert "spec.selector" in errors[0] and "field is immutable" in errors[0]


# ---------------------------------------------------------------------------- charts a team writes with the library


def processes_using(path: Path) -> list[str]:
    """The command lines of the running processes that name ``path`` (the servers' files are under it)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(path) in text:
            found.append(text)
    return found


def make_project(root: Path, build: str) -> Path:
    (root / "overlays" / "prod").mkdir(parents=True)
    (root / "overlays" / "prod" / "config.py").write_text(textwrap.dedent(build))
    proc = run_cli("synth", "--project", str(root), cwd=root)
    assert proc.returncode == 0, proc.stderr
    return root / "charts" / "prod"


SHOP = """\
    from tripgen_cdk8s import (AppNamespace, AppNamespaceProps, HelmChart, HelmChartProps, Image, MicroService,
                               MicroServiceProps, Project, Resources)

    def build(app):
        chart = HelmChart(app, "shop", HelmChartProps(namespace="NS", version="VERSION"))
        AppNamespace(chart, "namespace", AppNamespaceProps())
        MicroService(chart, "service", MicroServiceProps(name="shop", image=Image("ghcr.io", "shop/shop", "1.0.0"),
                     resources=Resources.sized("100m", "128Mi", "500m", "256Mi")))

    config = Project(name="prod", build=build)
"""


def test_a_chart_version_with_build_metadata_makes_valid_labels_the_server_accepts(cluster: Cluster,
                                                                                   tmp_path: Path) -> None:
    charts = make_project(tmp_path, SHOP.replace("NS", "build-meta").replace("VERSION", "0.1.0+build.7"))
    objs = render_chart(str(HELM), charts / "shop", "shop", "build-meta", KUBE_VERSION)
    assert apply_all(cluster, sorted(objs, key=lambda o: o["kind"] != "Namespace")) == []
    act_as_controllers(cluster, objs)
    labels = {o["metadata"].get("labels", {}).get("helm.sh/chart") for o in objs}
    assert labels == {"shop-0.1.0_build.7"}  # every object, the platform's too, has the standard labels
    assert {o["metadata"].get("labels", {}).get("app.kubernetes.io/version") for o in objs} == {"0.1.0_build.7"}
    pods = dry_run(cluster, pod_template_pods(objs), pods=False)
    assert [(o.label, o.status) for o in pods] == [("Pod build-meta/shop-pod-check", "ok")]


PRIVILEGED = """\
    from tripgen_cdk8s import AppNamespace, AppNamespaceProps, HelmChart, HelmChartProps, Project, Resource

    def build(app):
        chart = HelmChart(app, "agent", HelmChartProps(namespace="restricted-check", version="0.1.0"))
        AppNamespace(chart, "namespace", AppNamespaceProps(pod_security="restricted"))
        labels = {"app.kubernetes.io/name": "agent"}
        Resource(chart, api_version="apps/v1", kind="Deployment", name="agent", namespace="restricted-check",
                 body={"spec": {"selector": {"matchLabels": labels}, "template": {
                     "metadata": {"labels": labels},
                     "spec": {"containers": [{"name": "agent", "image": "ghcr.io/agent/agent:1.0.0",
                                              "securityContext": {"privileged": True}}]}}}})

    config = Project(name="prod", build=build)
"""


def test_a_privileged_container_in_a_restricted_namespace_is_refused_by_pod_security(cluster: Cluster,
                                                                                     tmp_path: Path) -> None:
    charts = make_project(tmp_path, PRIVILEGED)
    objs = render_chart(str(HELM), charts / "agent", "agent", "restricted-check", KUBE_VERSION)
    # The Deployment itself is stored (Pod Security only warns on workloads) ...
    assert apply_all(cluster, sorted(objs, key=lambda o: o["kind"] != "Namespace")) == []
    act_as_controllers(cluster, objs)
    # ... its pods are not: the real admission refuses the pod template.
    [outcome] = dry_run(cluster, pod_template_pods(objs), pods=False)
    assert outcome.status == "failed"
    assert outcome.message.startswith("Pod restricted-check/agent-pod-check: ")
    assert 'violates PodSecurity "restricted:' in outcome.message and "privileged" in outcome.message


# ---------------------------------------------------------------------------- Helm's own path


@pytest.mark.parametrize(("project", "env"), ENVIRONMENTS, ids=ENV_IDS)
def test_helm_install_of_each_service_chart(cluster: Cluster, kube_apiserver: ApiServer, project: str,
                                            env: str) -> None:
    namespace = f"helm-{project}-{env}"
    for chart in (c for c in sources(project, env) if c.is_helm and not c.name.endswith("-platform")):
        directory = env_dir(ROOT, project, env) / chart.name
        # Helm waits for a hook Job to finish, and this server runs no Job controller: a chart with
        # hooks is installed with --no-hooks here (its hooks are applied, in their phase and weight
        # order, by test_environment_applies_and_every_pod_is_admitted).
        hooks = any("helm.sh/hook:" in f.read_text() for f in (directory / "templates").glob("*.yaml"))
        proc = subprocess.run([str(HELM), "upgrade", "--install", chart.name, str(directory),
                               "--namespace", namespace, "--create-namespace", "--timeout", "120s",
                               *(["--no-hooks"] if hooks else []), "--kubeconfig",
                               str(kube_apiserver.kubeconfig)], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, f"helm install {chart.name}: {proc.stderr}"
        status = subprocess.run([str(HELM), "status", chart.name, "--namespace", namespace, "--kubeconfig",
                                 str(kube_apiserver.kubeconfig), "-o", "json"], capture_output=True, text=True,
                                check=True)
        assert '"status":"deployed"' in status.stdout.replace(" ", "")


# ---------------------------------------------------------------------------- tripgen validate --cluster


def test_validate_cluster_on_a_cluster_with_the_environment_accepts_everything(cluster: Cluster,
                                                                               kube_apiserver: ApiServer) -> None:
    assert sync(cluster, ROOT, "tripgen", "dev")[0] == []
    proc = run_cli("validate", "--env", "dev", "--cluster", "--kubeconfig", str(kube_apiserver.kubeconfig))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert not [line for line in lines if not line.startswith("ok")], proc.stdout
    assert lines[-1].startswith(f"ok   dev: server-side dry run on {kube_apiserver.url} ({KUBE_VERSION}): ")
    assert lines[-1].endswith(" accepted, 0 skipped (not checked), 0 refused")


def test_validate_cluster_reports_what_a_dry_run_cannot_check_as_skipped(kube_etcd: str, tmp_path: Path) -> None:
    with apiserver(tmp_path / "server", kube_etcd, prefix="/validate-fresh") as server:
        c = connect(server)
        prepare(c)  # the CRDs and Argo CD: a cluster ready for the first sync of the environment
        c.close()
        proc = run_cli("validate", "--env", "dev", "--cluster", "--kubeconfig", str(server.kubeconfig))
        assert processes_using(tmp_path / "server"), "the check below would be vacuous"
        after = connect(server)
        namespace = after.get({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tripgen-dev"}})
        after.close()
    assert namespace is None, "validate --cluster persisted an object"
    assert processes_using(tmp_path / "server") == [], "kube-apiserver still running after its context"
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    skipped = [line for line in lines if line.startswith("skip ")]
    assert "skip Deployment tripgen-dev/user-service: its namespace tripgen-dev is created by this same sync " \
           "(a dry run persists nothing)" in skipped
    assert "skip Pod tripgen-dev/user-service-pod-check: its namespace tripgen-dev is created by this same sync " \
           "(a dry run persists nothing)" in skipped
    assert "ok   Namespace" not in proc.stdout and "Namespace tripgen-dev" not in "".join(skipped)
    summary = lines[-1]
    assert summary.startswith("ok   dev: server-side dry run") and f"{len(skipped)} skipped (not checked)" in summary


def test_validate_cluster_reports_a_refusal_with_exit_1(tmp_path: Path, kube_apiserver: ApiServer) -> None:
    charts = make_project(tmp_path, PRIVILEGED)
    assert charts.is_dir()
    # The namespace exists (applied by the earlier privileged test or here), so the Pod is judged.
    c = connect(kube_apiserver)
    objs = render_chart(str(HELM), charts / "agent", "agent", "restricted-check", KUBE_VERSION)
    assert apply_all(c, [o for o in objs if o["kind"] == "Namespace"]) == []
    act_as_controllers(c, objs)
    c.close()
    proc = run_cli("validate", "--project", str(tmp_path), "--cluster", "--kubeconfig", str(kube_apiserver.kubeconfig))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert any(line.startswith("FAIL Pod restricted-check/agent-pod-check: ") and "privileged" in line
               for line in proc.stdout.splitlines()), proc.stdout


def test_validate_cluster_without_a_reachable_cluster_is_one_line_exit_2(tmp_path: Path) -> None:
    from kube import free_port

    missing = run_cli("validate", "--cluster", "--kubeconfig", str(tmp_path / "nope"))
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr == f"error: no kubeconfig: {tmp_path / 'nope'} does not exist (set KUBECONFIG or pass --kubeconfig)\n"
    config = tmp_path / "kubeconfig"
    port = free_port()
    config.write_text(f"""\
apiVersion: v1
kind: Config
current-context: gone
clusters: [{{name: gone, cluster: {{server: "https://127.0.0.1:{port}", insecure-skip-tls-verify: true}}}}]
users: [{{name: u, user: {{token: abc}}}}]
contexts: [{{name: gone, context: {{cluster: gone, user: u}}}}]
""")
    unreachable = run_cli("validate", "--cluster", "--kubeconfig", str(config))
    assert unreachable.returncode == 2
    assert unreachable.stderr.startswith(f"error: cluster https://127.0.0.1:{port} unreachable: ")
    assert unreachable.stderr.count("\n") == 1 and "Traceback" not in unreachable.stderr
    no_context = run_cli("validate", "--cluster", "--kubeconfig", str(config), "--context", "other")
    assert no_context.returncode == 2
    assert no_context.stderr == f"error: kubeconfig {config}: no context named 'other'\n"


def test_an_api_removed_before_the_servers_version_is_refused_by_it(cluster: Cluster) -> None:
    from test_kubeversions import FLOWSCHEMA_V1BETA3  # removed in 1.32, the server is 1.35

    [outcome] = dry_run(cluster, [FLOWSCHEMA_V1BETA3], pods=False)
    assert (outcome.status, outcome.message) == (
        "failed", "FlowSchema batch: the server has no kind FlowSchema in flowcontrol.apiserver.k8s.io/v1beta3 "
                  "(API removed, or CRD not installed)")


def test_validate_cluster_skips_a_pod_whose_service_account_the_same_sync_creates(cluster: Cluster, tmp_path: Path,
                                                                                 kube_apiserver: ApiServer) -> None:
    make_project(tmp_path, SHOP.replace("NS", "sa-check").replace("VERSION", "0.1.0"))
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "sa-check"}}
    assert apply_all(cluster, [namespace]) == []  # the namespace exists; the chart's ServiceAccount does not
    act_as_controllers(cluster, [namespace])
    proc = run_cli("validate", "--project", str(tmp_path), "--cluster", "--kubeconfig", str(kube_apiserver.kubeconfig))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[:-1] == [
        "skip Pod sa-check/shop-pod-check: its ServiceAccount shop-sa is created by this same sync "
        "(a dry run persists nothing)"]
    assert proc.stdout.splitlines()[-1].endswith(" accepted, 1 skipped (not checked), 0 refused")
    assert cluster.get({"apiVersion": "v1", "kind": "ServiceAccount",
                        "metadata": {"name": "shop-sa", "namespace": "sa-check"}}) is None
