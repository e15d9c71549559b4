"""Issue 19 item 6: real Argo CD syncs the committed charts.

For each project (TripGen with prod and dev in one cluster, each example), a kube-apiserver of its
own (tests/kube.py), the vendored CRDs, and Argo CD's application controller and repo server built
from the Argo CD Go module (tests/argocd.py).  The project's ``charts/`` is committed to a local git
repository, the Applications' and AppProjects' repository URL pointed at it, and each environment's
root Application (``charts/<env>/argocd/bootstrap.yaml``) applied, as a platform team bootstraps it.
Argo CD then creates the child Applications and syncs them until every Application is ``Synced``.
Where an AppProject has sync windows (TripGen prod: automated syncs Mon-Fri 02:00-04:00 Seoul), an
automated sync outside the window is refused, so the test does what the break-glass documents: a
manual sync (an ``operation`` on the Application, what ``argocd app sync`` writes), which
``manualSync: true`` lets through.  Health stays Progressing: no kubelet runs the pods; a hook Job
Argo CD waits for (newsletter's PreSync migration) is marked succeeded by the test, as the job
controller would.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from argocd import NAMESPACE, RESYNC_SECONDS, argocd
from kube import ApiServer, apiserver, kube_etcd_fixture  # noqa: F401  (fixtures)
from test_cluster import BOOKSTORE, NEWSLETTER, ROOT, prepare

from tripgen_cdk8s.lib.cluster import Cluster, Obj, apply_all, load_kubeconfig, parse_manifests

pytestmark = pytest.mark.xdist_group("kube")

PROJECTS = {"tripgen": (ROOT, ("prod", "dev")), "bookstore": (BOOKSTORE, ("prod",)),
            "newsletter": (NEWSLETTER, ("staging", "live"))}
SYNC_TIMEOUT = 300
APPS = f"/apis/argoproj.io/v1alpha1/namespaces/{NAMESPACE}/applications"


def git_repository(charts: Path, repo: Path) -> tuple[str, dict[str, str]]:
    """``charts`` committed to a new git repository at ``repo``, the generated repository URLs
    rewritten to it; its ``file://`` URL and the URLs replaced (old -> new)."""
    shutil.copytree(charts, repo / "charts")
    url = f"file://{repo}"
    replaced: dict[str, str] = {}
    for path in (repo / "charts").glob("*/argocd/**/*.yaml"):
        for doc in parse_manifests(path.read_text()):
            source = (doc.get("spec") or {}).get("source") or {}
            if source.get("repoURL", "").startswith("https://"):
                replaced[source["repoURL"]] = url
    for path in (repo / "charts").glob("*/argocd/**/*.yaml"):
        text = path.read_text()
        for old, new in replaced.items():
            text = text.replace(old, new)
        path.write_text(text)
    git = ["git", "-C", str(repo), "-c", "user.email=test@tripgen.invalid", "-c", "user.name=test"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "charts"], check=True)
    return url, replaced


def applications(cluster: Cluster) -> dict[str, Obj]:
    status, body = cluster.request("GET", APPS)
    assert status == 200, body
    return {a["metadata"]["name"]: a for a in body.get("items", [])}


def windowed_projects(cluster: Cluster) -> set[str]:
    status, body = cluster.request("GET", f"/apis/argoproj.io/v1alpha1/namespaces/{NAMESPACE}/appprojects")
    assert status == 200, body
    return {p["metadata"]["name"] for p in body.get("items", []) if (p.get("spec") or {}).get("syncWindows")}


def manual_sync(cluster: Cluster, name: str) -> None:
    """What ``argocd app sync NAME`` does: write a sync operation into the Application."""
    patch = {"operation": {"initiatedBy": {"username": "tripgen-tests"}, "sync": {"syncOptions": ["ServerSideApply=true"]}}}
    status, body = cluster.request("PATCH", f"{APPS}/{name}", json.dumps(patch).encode(), "application/merge-patch+json")
    assert status == 200, body


def table(apps: dict[str, Obj]) -> str:
    rows = []
    for name, a in sorted(apps.items()):
        st = a.get("status") or {}
        op = st.get("operationState") or {}
        conditions = "; ".join(f"{c.get('type')}: {c.get('message')}" for c in st.get("conditions") or [])
        rows.append(f"{name}: sync={(st.get('sync') or {}).get('status')} health={(st.get('health') or {}).get('status')} "
                    f"operation={op.get('phase')} {op.get('message', '')} {conditions}".rstrip())
    return "\n".join(rows)


def expected_names(charts: Path, env: str) -> tuple[set[str], set[str]]:
    """(root Applications, child Applications) of one environment, from its generated manifests."""
    roots = {d["metadata"]["name"] for d in parse_manifests((charts / env / "argocd" / "bootstrap.yaml").read_text())
             if d["kind"] == "Application"}
    children = {d["metadata"]["name"] for p in sorted((charts / env / "argocd" / "applications").glob("*.yaml"))
                for d in parse_manifests(p.read_text()) if d["kind"] == "Application"}
    return roots, children


def complete_hook_jobs(cluster: Cluster) -> None:
    """There is no job controller or kubelet: a hook Job Argo CD waits for (a PreSync migration) is
    marked as run and succeeded, as the job controller would once its pod had exited 0."""
    status, body = cluster.request("GET", "/apis/batch/v1/jobs")
    assert status == 200, body
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for job in body.get("items", []):
        if "argocd.argoproj.io/hook" not in (job["metadata"].get("annotations") or {}) or job.get("status", {}).get(
                "completionTime"):
            continue
        done = [{"type": t, "status": "True", "lastProbeTime": now, "lastTransitionTime": now, "reason": r,
                 "message": "the test acted as the job controller"}
                for t, r in (("SuccessCriteriaMet", "CompletionsReached"), ("Complete", "CompletionsReached"))]
        patch = {"status": {"startTime": job.get("status", {}).get("startTime") or now, "completionTime": now,
                            "succeeded": job["spec"].get("completions", 1), "conditions": done}}
        meta = job["metadata"]
        status, body = cluster.request("PATCH", f"/apis/batch/v1/namespaces/{meta['namespace']}/jobs/{meta['name']}/status",
                                       json.dumps(patch).encode(), "application/merge-patch+json")
        assert status == 200, body


def wait_until_synced(cluster: Cluster, names: set[str], log: Path) -> dict[str, Obj]:
    """Until every Application in ``names`` exists and is Synced with its last sync Succeeded; the
    ones in a project with sync windows are synced by hand (the break-glass), once each."""
    windowed, triggered = windowed_projects(cluster), set()
    deadline = time.monotonic() + SYNC_TIMEOUT
    while True:
        complete_hook_jobs(cluster)
        apps = applications(cluster)
        for name, a in apps.items():
            st = a.get("status") or {}
            if (name not in triggered and a["spec"].get("project") in windowed and "operation" not in a
                    and (st.get("sync") or {}).get("status") != "Synced"
                    and (st.get("operationState") or {}).get("phase") != "Running"):
                manual_sync(cluster, name)
                triggered.add(name)
        done = names <= set(apps) and all(
            (apps[n].get("status") or {}).get("sync", {}).get("status") == "Synced"
            and (apps[n].get("status") or {}).get("operationState", {}).get("phase") == "Succeeded" for n in names)
        if done:
            return apps
        if time.monotonic() > deadline:
            pytest.fail(f"not every Application Synced after {SYNC_TIMEOUT} s:\n{table(apps)}\n"
                        f"controller log (end):\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(2)


@pytest.mark.parametrize("project", list(PROJECTS))
def test_argo_cd_syncs_every_environment_until_every_application_is_synced(project: str, kube_etcd: str,
                                                                            tmp_path: Path) -> None:
    directory, envs = PROJECTS[project]
    charts = directory / "charts"
    url, replaced = git_repository(charts, tmp_path / "repo")
    assert replaced, "no repository URL found in the Argo CD manifests"
    with apiserver(tmp_path / "kube", kube_etcd, prefix=f"/argocd-sync-{project}") as server:
        cluster = Cluster(load_kubeconfig(server.kubeconfig))
        prepare(cluster)  # the vendored CRDs and Argo CD's namespace, as the platform provides them
        with argocd(tmp_path / "argocd", server, cluster) as cd:
            names: set[str] = set()
            for env in envs:  # every environment of the project bootstrapped into one cluster
                roots, children = expected_names(charts, env)
                bootstrap = parse_manifests((tmp_path / "repo" / "charts" / env / "argocd" / "bootstrap.yaml").read_text())
                assert apply_all(cluster, bootstrap) == []
                names |= roots | children
            apps = wait_until_synced(cluster, names, cd.controller_log)
            for name in names:  # each Application synced the commit, from the local repository
                st = apps[name]["status"]
                assert st["sync"]["revision"] == subprocess.run(
                    ["git", "-C", str(tmp_path / "repo"), "rev-parse", "HEAD"], capture_output=True, text=True,
                    check=True).stdout.strip(), name
                assert apps[name]["spec"]["source"]["repoURL"] == url
                assert st.get("resources"), f"{name}: synced nothing"
            # no drift: still Synced after the controller compared again (a resync and a self-heal check)
            time.sleep(RESYNC_SECONDS + 5)
            apps = applications(cluster)
            drifted = {n: apps[n]["status"]["sync"]["status"] for n in names if apps[n]["status"]["sync"]["status"] != "Synced"}
            assert drifted == {}, table(apps)
            # every object of every child Application is in the cluster as the chart renders it
            for name in names - {r for env in envs for r in expected_names(charts, env)[0]}:
                for res in apps[name]["status"]["resources"]:
                    assert res.get("hook") or res.get("status") == "Synced", (name, res)  # hooks: run, then deleted
            cluster.close()

