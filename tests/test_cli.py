"""The command line as scripts use it: exit codes, --check, --set, determinism, atomic writes."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, run_cli, tree_bytes


def test_synth_check_passes_on_the_committed_charts():
    proc = run_cli("synth", "--check")
    assert proc.returncode == 0, proc.stderr
    assert "in sync" in proc.stdout


def test_synth_check_names_stale_files_and_writes_nothing_after_a_config_edit(project_copy):
    cfg = project_copy / "overlays" / "prod" / "config.py"
    cfg.write_text(cfg.read_text().replace("max_replicas=15", "max_replicas=14"))
    before = tree_bytes(project_copy / "charts")
    proc = run_cli("synth", "--check", cwd=project_copy)
    assert proc.returncode == 1
    # maxReplicas is a real template value: only the defaults (and the README's table) change, and
    # the dashboard, whose replicas panel is drawn from the same config (TRIPGEN.md 9.2)
    assert "charts/prod/trip-service/values.yaml" in proc.stderr
    assert "charts/prod/trip-service/README.md" in proc.stderr
    assert [line.strip() for line in proc.stderr.splitlines() if "templates/" in line] == [
        "charts/prod/trip-service/templates/configmap-trip-service-dashboard.yaml"]
    assert "user-service" not in proc.stderr
    assert tree_bytes(project_copy / "charts") == before


def test_synth_writes_one_line_per_chart_without_banner_and_is_deterministic(project_copy):
    proc = run_cli("synth", cwd=project_copy)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    charts = list((ROOT / "charts").glob("*/*/Chart.yaml")) + list((ROOT / "charts").glob("*/argocd"))
    assert len(lines) == len(charts) >= 12
    assert all(line.startswith("unchanged charts/") for line in lines), lines  # nothing to write: says so
    assert proc.stderr == ""
    first = tree_bytes(project_copy / "charts")
    assert first == tree_bytes(ROOT / "charts")
    assert run_cli("synth", cwd=project_copy).returncode == 0
    assert tree_bytes(project_copy / "charts") == first


def test_synth_says_wrote_only_for_the_charts_that_changed(project_copy):
    values = yaml.safe_load((project_copy / "charts" / "prod" / "trip-service" / "values.yaml").read_text(encoding="utf-8"))
    other = values["autoscaling"]["maxReplicas"] + 1  # a value the committed chart does not have
    proc = run_cli("synth", "--env", "prod", "--set", f"trip-service.autoscaling.maxReplicas={other}", cwd=project_copy)
    assert proc.returncode == 0, proc.stderr
    wrote = [line.split()[1] for line in proc.stdout.splitlines() if line.startswith("wrote ")]
    assert wrote == ["charts/prod/trip-service"], proc.stdout
    assert sum(line.startswith("unchanged charts/prod/") for line in proc.stdout.splitlines()) >= 5


def test_synth_removes_the_files_it_generated_before_and_no_longer_generates(project_copy):
    env_dir = project_copy / "charts" / "prod"
    stale = env_dir / "user-service" / "templates" / "old-job.yaml"
    stale.write_text("kind: Job\n")
    record = env_dir / ".tripgen-files"
    record.write_text(record.read_text() + "user-service/templates/old-job.yaml\n")  # as an older synth left it
    proc = run_cli("synth", "--check", cwd=project_copy)
    assert proc.returncode == 1 and "charts/prod/user-service/templates/old-job.yaml" in proc.stderr
    assert run_cli("synth", cwd=project_copy).returncode == 0
    assert not stale.exists()
    assert "old-job" not in record.read_text()
    assert tree_bytes(project_copy / "charts") == tree_bytes(ROOT / "charts")


def test_synth_out_and_set(project_copy, tmp_path):
    out = tmp_path / "out"
    proc = run_cli("synth", "--env", "prod", "--out", str(out), "--set", "trip-service.autoscaling.maxReplicas=12",
                   cwd=project_copy)
    assert proc.returncode == 0, proc.stderr
    values = (out / "prod" / "trip-service" / "values.yaml").read_text()
    assert "maxReplicas: 12" in values


BAD_INPUT = [
    (["--set", "trip-service.autoscaling.maxReplicas=1"], "trip-service.autoscaling.maxReplicas"),
    (["--set", "trip-service.autoscaling.maxReplicas=twelve"], "trip-service.autoscaling.maxReplicas"),
    (["--set", "trip-service.autoscaling.maxReplica=12"], "did you mean trip-service.autoscaling.maxReplicas"),
    (["--set", "trip-servce.image.tag=v2"], "did you mean trip-service"),
    (["--set", "user-service.image.tag=latest"], "user-service.image.tag"),
    (["--set", "user-service.image.tag="], "user-service.image.tag"),
    (["--set", "user-service.image.digest=sha256:1234"], "user-service.image.digest"),
    (["--set", "user-service.image.pullPolicy=Sometimes"], "user-service.image.pullPolicy"),
    (["--set", "ai-service.resources.requests.cpu=lots"], "ai-service.resources.requests.cpu"),
    (["--set", "ai-service.resources.limits.memory=4GB"], "ai-service.resources.limits.memory"),
    (["--set", "ai-service.resources.requests.memory=8Gi"], "ai-service.resources.requests.memory"),
    (["--set", "ai-service.resources.requests.ephemeral-storage=-1Gi"], "ai-service.resources.requests.ephemeral-storage"),
    (["--set", "location-service.podDisruptionBudget.minAvailable=2"], "location-service.podDisruptionBudget.minAvailable"),
    (["--set", "user-service.autoscaling.minReplicas=1"], "user-service.autoscaling.minReplicas"),
    (["--set", "user-service.autoscaling.targetCPUUtilizationPercentage=150"],
     "user-service.autoscaling.targetCPUUtilizationPercentage"),
    (["--env", "prod", "--set", "user-service.replicaCount=3"], "user-service.replicaCount"),
    (["--env", "dev", "--set", "user-service.autoscaling.maxReplicas=3"], "user-service.autoscaling.maxReplicas"),
    (["--set", "user-service.workloadIdentity.clientId=not-a-guid"], "user-service.workloadIdentity.clientId"),
    (["--set", "trip-service.autoscaling.maxReplicas=400"], "--set trip-service.autoscaling.maxReplicas=400: node_pool"),
    (["--set", "noequals"], "--set"),
    (["--set", "nodot=1"], "--set"),
    (["--env", "staging"], "--env"),
    (["--bogus-flag"], "--bogus-flag"),
    (["--set", "trip-service.image.tag=" + "a" * 100], "trip-service.image.tag"),
    (["--set", "trip-service.image.tag=_v1.2.0-"], "trip-service.image.tag"),
    (["--set", "trip-service.image.tag=v1.2.0\nx: y"], "trip-service.image.tag"),
    (["--set", "trip-service.image.tag=TRIPGENHELMBINDING000000X"], "trip-service.image.tag"),
    (["--set", "trip-service.autoscaling.minReplicas=20"], "trip-service.autoscaling.minReplicas"),
    (["--set", "user-service.image.repository=User/Service"], "user-service.image.repository"),
    (["--lock-timeout", "-1"], "--lock-timeout"),
]


@pytest.mark.parametrize(("args", "named"), BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_bad_input_exits_2_names_the_key_and_loses_nothing(project_copy, args, named):
    before = tree_bytes(project_copy / "charts")
    proc = run_cli("synth", *args, cwd=project_copy)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert named in proc.stderr
    assert "Traceback" not in proc.stderr and "    at " not in proc.stderr and "jsii" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 4  # click's usage errors add a usage line and a hint
    assert tree_bytes(project_copy / "charts") == before


# Bad values written into the prod overlay: (text in overlays/prod/config.py, its replacement, field named)
BAD_OVERLAY = [
    ('purpose="sign-up, login, JWT, profile"', 'purpose="login TRIPGENHELMBINDING000000X"', "services.user-service.purpose"),
    ('purpose="sign-up, login, JWT, profile"', 'purpose="login TRIPGENHELMBINDING999999X"', "services.user-service.purpose"),
    ('key_vault_object="{service}-db-password"', 'key_vault_object="{service}-db\\npassword"',
     "stores.postgresql.key_vault_object"),
    ('key_vault_object="{service}-db-password"', 'key_vault_object="{svc}-db-password"', "stores.postgresql.key_vault_object"),
    ('key_vault_object="redis-access-key"', 'key_vault_object="redis-{{ .Release.Name }}"', "stores.redis.key_vault_object"),
    ('object_name="openai-api-key"', 'object_name="openai}{key"', "services.ai-service.secrets[1].object_name"),
    ('object_name="openai-api-key"', 'object_name="jwt-signing-key"', "services.ai-service.secrets[1].object_name"),
    ("user-service:\n    tag: v1.2.0", "user-service:\n    tag: v1.2.0-" + "x" * 70, "services.user-service.image.tag"),
    ('spring_profile="prod"', 'spring_profile="prod\\nmanagement: {}"', "spring_profile"),
    ('tls_certificate="ssl-wildcard-cert"', 'tls_certificate="ssl wildcard"', "ingress.tls_certificate"),
    ('name="tripgen-api"', 'name="TripGen API"', "ingress.name"),
    ('time_zone="Asia/Seoul"', 'time_zone="Asia Seoul"', "gitops.sync_window.time_zone"),
    ('taint_value="true"', 'taint_value="true!"', "node_pool.taint_value"),
    ('"location-service"', '"tripgen-platform"', "services.tripgen-platform.name"),  # every mention renamed
    ('"location-service"', '"argocd"', "services.argocd.name"),
]


@pytest.mark.parametrize(("old", "new", "named"), BAD_OVERLAY, ids=[b[2] + ":" + b[1][:30] for b in BAD_OVERLAY])
def test_bad_overlay_values_exit_2_name_the_field_and_lose_nothing(project_copy, old, new, named):
    cfg = project_copy / "overlays" / "prod" / "config.py"
    releases = project_copy / "overlays" / "prod" / "releases.yaml"
    target = releases if "\n" in old else cfg
    text = target.read_text()
    assert old in text
    target.write_text(text.replace(old, new) if old.startswith('"') else text.replace(old, new, 1))
    if old == '"location-service"':  # a renamed service is renamed in its releases file too
        releases.write_text(releases.read_text().replace("location-service:", new.strip('"') + ":"))
    before = tree_bytes(project_copy / "charts")
    for args in (["synth"], ["synth", "--check"]):
        proc = run_cli(*args, cwd=project_copy)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert named in proc.stderr
        assert "Traceback" not in proc.stderr and "    at " not in proc.stderr and "jsii" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert tree_bytes(project_copy / "charts") == before


INTERNAL_ERROR = """
import sys
sys.path.insert(0, {root!r})
import tripgen_cdk8s.app.pipeline as app
def broken(*args, **kwargs):
    raise KeyError("a bug")
app.synthesize = broken
from tripgen_cdk8s.cli import main
sys.argv = ["tripgen", "synth"{debug}]
main()
"""


def test_an_internal_error_is_one_line_exit_1_and_debug_shows_the_traceback(project_copy):
    before = tree_bytes(project_copy / "charts")
    proc = subprocess.run([sys.executable, "-c", INTERNAL_ERROR.format(root=str(ROOT), debug="")], cwd=project_copy,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: internal error (KeyError") and "--debug" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-c", INTERNAL_ERROR.format(root=str(ROOT), debug=', "--debug"')],
                          cwd=project_copy, capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and "Traceback" in proc.stderr and "a bug" in proc.stderr
    assert tree_bytes(project_copy / "charts") == before


def test_broken_overlay_exits_2_without_traceback(project_copy):
    cfg = project_copy / "overlays" / "prod" / "config.py"
    cfg.write_text(cfg.read_text().replace('pull_policy="Always")', 'pull_policy="Always", colour="blue")'))
    before = tree_bytes(project_copy / "charts")
    proc = run_cli("synth", cwd=project_copy)
    assert proc.returncode == 2 and "overlays/prod/config.py" in proc.stderr and "Traceback" not in proc.stderr
    assert tree_bytes(project_copy / "charts") == before


CRASH_MID_WRITE = """
import sys
sys.path.insert(0, {root!r})
import tripgen_cdk8s.lib.writer as writer
from tripgen_cdk8s.cli import main

count = 0
def failing_open(path, mode="r", *args, **kwargs):
    global count
    if "w" in mode:
        count += 1
        if count == 2:
            raise OSError(28, "No space left on device (injected mid-write)")
    return open(path, mode, *args, **kwargs)
writer.open = failing_open  # the writer's file writes (unchanged files are linked, not written); the 2nd fails
sys.argv = ["tripgen", "synth", "--set", "trip-service.autoscaling.maxReplicas=14"]
main()
"""


def test_an_interrupted_synth_leaves_the_previous_charts_whole(project_copy):
    before = tree_bytes(project_copy / "charts")
    proc = subprocess.run([sys.executable, "-c", CRASH_MID_WRITE.format(root=str(ROOT))], cwd=project_copy,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "injected mid-write" in proc.stderr and "Traceback" not in proc.stderr
    assert tree_bytes(project_copy / "charts") == before
    assert [p.name for p in (project_copy / "charts").iterdir() if p.name.startswith(".")] == []


def test_help_lists_the_commands():
    proc = run_cli("--help")
    assert proc.returncode == 0 and "synth" in proc.stdout


def test_graph_prints_the_mermaid_of_the_environment_and_renders_svg(tmp_path):
    proc = run_cli("graph", "--env", "prod")
    assert proc.returncode == 0 and proc.stdout.startswith("flowchart LR")
    assert (ROOT / "charts" / "prod" / "README.md").read_text().count(proc.stdout.strip()) == 1
    assert run_cli("graph", "--format", "svg").returncode == 2
    out = tmp_path / "prod.svg"
    proc = run_cli("graph", "--format", "svg", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_text().lstrip().startswith("<svg")


def test_synth_without_helm_is_one_line_exit_2_and_writes_nothing(project_copy):
    before = tree_bytes(project_copy / "charts")
    for args in (("synth",), ("synth", "--check")):
        proc = run_cli(*args, cwd=project_copy, env={"TRIPGEN_HELM": "/nonexistent/helm"})
        assert proc.returncode == 2, proc.stdout + proc.stderr
        [line] = proc.stderr.splitlines()
        assert line.startswith("error: the rendered-object snapshots need helm") and "TRIPGEN_HELM" in line
    assert tree_bytes(project_copy / "charts") == before
