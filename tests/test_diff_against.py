"""`tripgen diff --against REF`: object-level diff between a git revision's config and the working tree's,
in a real temporary git repository."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, run_cli, tree_bytes
from tripgen_cdk8s.objdiff import ABSENT, FieldChange, compare, format_path, render_markdown, render_text


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True,
                          env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
                               "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(repo), "PATH": "/usr/bin:/bin"})
    return proc.stdout


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A git repository holding the project's overlays and charts, one commit on main."""
    root = tmp_path_factory.mktemp("gitrepo") / "manifests"
    root.mkdir()
    shutil.copytree(ROOT / "overlays", root / "overlays")
    shutil.copytree(ROOT / "charts", root / "charts")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_no_change_exits_0(repo):
    proc = run_cli("diff", "--against", "main", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    assert "no object differs from main" in proc.stdout


def test_a_changed_hpa_bound_shows_the_object_the_path_and_both_values(repo):
    cfg = repo / "overlays" / "prod" / "config.py"
    before_cfg = cfg.read_text()
    edit(cfg, "max_replicas=15", "max_replicas=12")
    try:
        status = git(repo, "status", "--porcelain")
        files = tree_bytes(repo)
        proc = run_cli("diff", "--against", "main", "--env", "prod", cwd=repo)
        assert proc.returncode == 1, proc.stderr
        assert "prod: ~ HorizontalPodAutoscaler tripgen-prod/trip-service" in proc.stdout
        assert "    spec.maxReplicas: 15 -> 12" in proc.stdout
        # ... and the trip-service dashboard, whose replicas panel is drawn from the same bound (TRIPGEN.md 9.2)
        assert "prod: ~ ConfigMap tripgen-prod/trip-service-dashboard" in proc.stdout
        assert "2 object(s) differ from main: 2 changed, 0 added, 0 removed" in proc.stdout
        # the working tree, the index and the refs are untouched
        assert git(repo, "status", "--porcelain") == status
        assert tree_bytes(repo) == files

        md = run_cli("diff", "--against", "main", "--format", "markdown", cwd=repo)
        assert md.returncode == 1, md.stderr
        text = md.stdout
        assert text.startswith("## tripgen diff against `main`\n")
        assert "| env | change | kind | namespace | name | fields |" in text
        assert "| prod | changed | HorizontalPodAutoscaler | tripgen-prod | trip-service | 1 |" in text
        assert ("<details open><summary>prod: changed HorizontalPodAutoscaler <code>tripgen-prod/trip-service</code>: "
                "1 field(s)</summary>") in text
        assert "```diff\n@@ spec.maxReplicas @@\n- 15\n+ 12\n```" in text
        # acceptance (issue 20): a one-number change gives a comment under 2 KB that names the HPA field and the
        # dashboard panel the bound moves, as parsed JSON, not a 17 KB string
        assert len(text.encode()) < 2048, len(text.encode())
        assert ('@@ data["tripgen-prod-trip-service.json"].panels[title=Replicas].fieldConfig.defaults.max @@\n'
                "- 15.0\n+ 12.0\n") in text
        assert "destructive" not in text
    finally:
        cfg.write_text(before_cfg)


def test_a_committed_change_against_an_older_commit(repo):
    base = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "-b", "feature")
    try:
        edit(repo / "overlays" / "dev" / "releases.yaml", "  ai-service:\n    tag: v1.2.0", "  ai-service:\n    tag: v1.3.0")
        git(repo, "commit", "-qam", "ai v1.3.0")
        proc = run_cli("diff", "--against", base, cwd=repo)
        assert proc.returncode == 1, proc.stderr
        assert "dev: ~ Deployment tripgen-dev/ai-service" in proc.stdout
        assert ('spec.template.spec.containers[name=ai-service].image: "acrtrpgendev.azurecr.io/ai-service:v1.2.0" -> '
                '"acrtrpgendev.azurecr.io/ai-service:v1.3.0"') in proc.stdout
        assert "prod:" not in proc.stdout
        assert run_cli("diff", "--against", "HEAD", cwd=repo).returncode == 0
    finally:
        git(repo, "checkout", "-q", "main")


@pytest.mark.parametrize("ref", ["no-such-branch", "HEAD~5", "main..HEAD"])
def test_a_bad_ref_exits_2(repo, ref):
    proc = run_cli("diff", "--against", ref, cwd=repo)
    assert proc.returncode == 2
    assert "unknown git revision" in proc.stderr and "Traceback" not in proc.stderr


def test_outside_a_git_repository_exits_2(project_copy):
    proc = run_cli("diff", "--against", "HEAD", cwd=project_copy)
    assert proc.returncode == 2
    assert "not in a git repository" in proc.stderr and "Traceback" not in proc.stderr


def test_without_against_the_file_diff_is_kept(repo):
    assert run_cli("diff", cwd=repo).returncode == 0
    assert run_cli("diff", "--format", "markdown", cwd=repo).returncode == 2
    assert run_cli("diff", "--object", "Deployment/x", cwd=repo).returncode == 2


def test_set_applies_to_the_working_tree_side(repo):
    """`diff --against REF --set K=V`: what the override would change against REF (it used to be refused)."""
    proc = run_cli("diff", "--against", "main", "--set", "trip-service.autoscaling.maxReplicas=12", cwd=repo)
    assert proc.returncode == 1, proc.stderr
    assert "prod: ~ HorizontalPodAutoscaler tripgen-prod/trip-service\n    spec.maxReplicas: 15 -> 12\n" in proc.stdout
    # a key no environment has is the one-line error synth gives
    bad = run_cli("diff", "--against", "main", "--set", "trip-service.autoscaling.nope=1", cwd=repo)
    assert bad.returncode == 2 and "unknown values key" in bad.stderr and "Traceback" not in bad.stderr
    assert bad.stderr.count("\n") == 1


def test_object_filter_shows_only_the_named_objects(repo):
    proc = run_cli("diff", "--against", "main", "--env", "prod", "--set", "trip-service.autoscaling.maxReplicas=12",
                   "--object", "HorizontalPodAutoscaler/trip-service", cwd=repo)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ("prod: ~ HorizontalPodAutoscaler tripgen-prod/trip-service\n    spec.maxReplicas: 15 -> 12\n"
                           "1 object(s) differ from main: 1 changed, 0 added, 0 removed\n")
    bad = run_cli("diff", "--against", "main", "--object", "trip-service", cwd=repo)
    assert bad.returncode == 2
    assert bad.stderr == "error: --object: expected KIND/NAME (e.g. Deployment/trip-service), got 'trip-service'\n"


def test_an_absolute_charts_path_prints_clean_file_names(repo, tmp_path):
    """`diff --charts /abs/path` used to print `a//abs/path/...`."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    proc = run_cli("diff", "--project", str(repo), "--charts", str(repo / "charts"), "--env", "prod",
                   "--set", "trip-service.autoscaling.maxReplicas=12", cwd=outside)
    assert proc.returncode == 1, proc.stderr
    values = f"{repo}/charts/prod/trip-service/values.yaml"
    assert f"--- {values}\n+++ {values}\n" in proc.stdout
    assert "//" not in proc.stdout.replace("https://", "")
    inside = run_cli("diff", "--charts", "charts", "--env", "prod", "--set", "trip-service.autoscaling.maxReplicas=12",
                     cwd=repo)
    assert "--- a/charts/prod/trip-service/values.yaml\n+++ b/charts/prod/trip-service/values.yaml\n" in inside.stdout
    below = run_cli("diff", "--project", "..", "--charts", "../charts", "--env", "prod",
                    "--set", "trip-service.autoscaling.maxReplicas=12", cwd=repo / "overlays")
    assert f"--- {values}\n" in below.stdout and "a/../" not in below.stdout


def test_compare_reports_added_removed_and_changed_objects():
    a = {"kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}, "data": {"x": "1", "y": "2"}}
    b = {"kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}, "data": {"x": "3", "z": "4"}}
    ns = {"kind": "Namespace", "metadata": {"name": "n"}}
    changes = compare({"prod": [a, ns]}, {"prod": [b, {**ns, "metadata": {"name": "m"}}]})
    assert [(c.status, c.ident) for c in changes] == [("changed", "ConfigMap n/a"), ("added", "Namespace m"),
                                                      ("removed", "Namespace n")]
    assert changes[0].fields == (FieldChange("data.x", "1", "3"), FieldChange("data.y", "2", ABSENT),
                                 FieldChange("data.z", ABSENT, "4"))
    text = render_text(changes, "main")
    assert '    data.y: "2" -> (absent)' in text and "prod: + Namespace m" in text
    md = render_markdown(changes, "main", ["prod"])
    assert "```diff\n@@ data.x @@\n- \"1\"\n+ \"3\"\n@@ data.y @@\n- \"2\"\n@@ data.z @@\n+ \"4\"\n```" in md
    assert "```diff\n+ kind: Namespace\n+ metadata:\n+   name: m\n```" in md
    assert render_markdown([], "main", ["prod"]).startswith("## tripgen diff against `main`\n\nNo object changes")


def test_format_path_quotes_keys_that_are_not_identifiers():
    assert format_path(["spec", "template", "spec", "containers", 0, "image"]) == "spec.template.spec.containers[0].image"
    assert format_path(["metadata", "labels", "app.kubernetes.io/name"]) == 'metadata.labels["app.kubernetes.io/name"]'


def test_a_project_in_a_subdirectory_of_the_repository(tmp_path):
    """The manifests may live in a folder of a larger repository: only that folder is exported."""
    top = tmp_path / "mono"
    project = top / "deploy" / "tripgen"
    project.mkdir(parents=True)
    shutil.copytree(ROOT / "overlays", project / "overlays")
    (top / "README.md").write_text("other things\n")
    git(top, "init", "-q", "-b", "main")
    git(top, "add", "-A")
    git(top, "commit", "-qm", "base")
    edit(project / "overlays" / "dev" / "config.py", 'host="dev-tripgen.local"', 'host="dev2-tripgen.local"')
    proc = run_cli("diff", "--against", "main", "--env", "dev", cwd=project)
    assert proc.returncode == 1, proc.stderr
    assert "dev: ~ Ingress tripgen-dev/tripgen-api" in proc.stdout
    assert proc.stdout.splitlines()[1] == '    spec.rules[0].host: "dev-tripgen.local" -> "dev2-tripgen.local"'
    assert len(proc.stdout.splitlines()) == 3  # the one field, not the rule removed and added


ADD_SERVICES = """

import dataclasses as _dc  # noqa: E402

_extra = tuple(
    _dc.replace(config.services[-1], name=f"extra-{i:02d}-service", image=_image(f"extra-{i:02d}-service"),
                api_prefixes=(f"/api/v1/extra{i:02d}",), purpose=f"extra service {i}",
                resources=Resources.sized("10m", "16Mi", "20m", "32Mi"))
    for i in range(20))
config = _dc.replace(config, services=config.services + _extra)
"""


def test_adding_20_services_gives_a_comment_within_githubs_limit_with_every_object_in_its_summary(repo):
    """Acceptance (issue 20): 20 services added to prod and dev; the comment stays under 65,536 characters and its
    summary table has a row for every object, which the plain-text diff lists one per line."""
    saved = {}
    for env in ("prod", "dev"):
        for name in ("config.py", "releases.yaml"):
            path = repo / "overlays" / env / name
            saved[path] = path.read_text()
        (repo / "overlays" / env / "config.py").write_text(saved[repo / "overlays" / env / "config.py"] + ADD_SERVICES)
        (repo / "overlays" / env / "releases.yaml").write_text(
            saved[repo / "overlays" / env / "releases.yaml"]
            + "".join(f"  extra-{i:02d}-service:\n    tag: v1.2.0\n" for i in range(20)))
    try:
        text = run_cli("diff", "--against", "main", cwd=repo)
        md = run_cli("diff", "--against", "main", "--format", "markdown", cwd=repo)
    finally:
        for path, content in saved.items():
            path.write_text(content)
    assert text.returncode == 1 and md.returncode == 1, text.stderr + md.stderr
    objects = [line for line in text.stdout.splitlines() if line.startswith(("prod: ", "dev: "))]
    assert len(objects) > 300  # 20 services x 2 environments x their objects
    comment = md.stdout
    assert len(comment) < 65_536
    for line in objects:
        env, rest = line.split(": ", 1)
        mark, kind, ident = rest.split(" ", 2)
        namespace, name = ident.split("/") if "/" in ident else ("-", ident)
        status = {"+": "added", "~": "changed", "-": "removed"}[mark]
        assert f"| {env} | {status} | {kind} | {namespace} | {name} |" in comment, line
    # the changed objects' diffs come first; the rest are named as left out, with the commands that show them
    assert "| prod | changed | Ingress | tripgen-prod | tripgen-api | 20 | below |" in comment
    left = comment.count(" | left out |")
    assert left > 0 and f"{left} object diff(s) left out" in comment and "within GitHub's size limit" in comment
    assert "tripgen diff --against main --env prod\ntripgen diff --against main --env dev\n" in comment


RENAME_LOCATION_SERVICE = """

import dataclasses as _dc  # noqa: E402

config = _dc.replace(config, services=tuple(
    _dc.replace(s, name="places-service") if s.name == "location-service"
    else _dc.replace(s, calls=tuple("places-service" if c == "location-service" else c for c in s.calls))
    for s in config.services))
"""


def test_a_renamed_service_is_flagged_as_destructive_at_the_top(repo):
    """Renaming dev's location-service: Argo CD would delete each of its objects and create a new one."""
    cfg, releases = repo / "overlays" / "dev" / "config.py", repo / "overlays" / "dev" / "releases.yaml"
    saved = {cfg: cfg.read_text(), releases: releases.read_text()}
    cfg.write_text(saved[cfg] + RENAME_LOCATION_SERVICE)
    edit(cfg, '_image("location-service")', '_image("places-service")')
    edit(releases, "  location-service:", "  places-service:")
    try:
        text = run_cli("diff", "--against", "main", "--env", "dev", cwd=repo)
        md = run_cli("diff", "--against", "main", "--env", "dev", "--format", "markdown", cwd=repo)
    finally:
        for path, content in saved.items():
            path.write_text(content)
    assert text.returncode == 1, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == "5 destructive change(s):"
    assert ("  ! dev: Deployment tripgen-dev/location-service: probable rename to Deployment tripgen-dev/places-service "
            "(100% alike): Argo CD deletes location-service and creates places-service") in lines
    assert any(line.startswith("  ! dev: ServiceAccount tripgen-dev/location-service-sa: probable rename to ServiceAccount "
                               "tripgen-dev/places-service-sa") for line in lines)
    comment = md.stdout
    assert comment.index(":warning: 5 destructive change(s)") < comment.index("| env | change | kind |")
    assert ("| dev | Deployment tripgen-dev/location-service | probable rename to Deployment tripgen-dev/places-service "
            "(100% alike): Argo CD deletes location-service and creates places-service |") in comment
