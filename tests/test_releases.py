"""Durable releases: overlays/<env>/releases.yaml, `release set` / `promote` / `show`."""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from conftest import ROOT, run_cli, tree_bytes
from tripgen_cdk8s.app.releases import Release, edit_text, load_releases, parse_releases
from tripgen_cdk8s.lib.errors import ConfigError
from tripgen_cdk8s.tripgen import overlays

DIGEST = "sha256:" + "ab12" * 16


@pytest.fixture()
def project(project_copy):
    """A project copy whose synth --check passes (overlays with releases, committed charts)."""
    assert run_cli("synth", "--check", cwd=project_copy).returncode == 0
    return project_copy


def releases_text(project, env):
    return (project / "overlays" / env / "releases.yaml").read_text()


def assert_check_passes(project):
    proc = run_cli("synth", "--check", cwd=project)
    assert proc.returncode == 0, proc.stderr


def test_every_environment_reads_its_releases_file():
    for env in overlays.available(ROOT):
        rel = load_releases(ROOT / "overlays" / env / "releases.yaml")
        config = overlays.load(ROOT, env)
        assert {s.name for s in config.services} == set(rel.services)
        for svc in config.services:
            assert (svc.image.tag, svc.image.digest) == (rel.services[svc.name].tag, rel.services[svc.name].digest)


def test_set_tag_rewrites_the_file_keeps_comments_and_resynthesises(project):
    before = releases_text(project, "prod")
    proc = run_cli("release", "set", "trip-service", "--env", "prod", "--tag", "v1.2.1", cwd=project)
    assert proc.returncode == 0, proc.stderr
    after = releases_text(project, "prod")
    assert [line for line in before.splitlines() if line.startswith("#")] == \
        [line for line in after.splitlines() if line.startswith("#")]
    assert "  trip-service:\n    tag: v1.2.1\n" in after and after.count("v1.2.0") == 3
    assert 'tag: "v1.2.1"' in (project / "charts/prod/trip-service/values.yaml").read_text()
    assert_check_passes(project)
    assert "v1.2.1" not in releases_text(project, "dev")


def test_a_prod_digest_pins_the_image_and_drops_the_ckv_k8s_43_waiver(project):
    proc = run_cli("release", "set", "trip-service", "--env", "prod", "--digest", DIGEST, cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert f"digest: {DIGEST}" in releases_text(project, "prod")
    assert f'digest: "{DIGEST}"' in (project / "charts/prod/trip-service/values.yaml").read_text()
    assert f"trip-service@{DIGEST}" in (project / "charts/prod/README.md").read_text()
    assert_check_passes(project)
    # a new tag without a digest drops the old release's digest
    assert run_cli("release", "set", "trip-service", "--env", "prod", "--tag", "v1.3.0", cwd=project).returncode == 0
    assert "digest" not in releases_text(project, "prod").split("trip-service:")[1].split("ai-service")[0]
    assert_check_passes(project)


def test_the_waiver_follows_the_digest_on_a_prod_deployment():
    from tripgen_cdk8s.tripgen.app import synthesize

    env = overlays.load(ROOT, "prod")

    def trip_annotations(digest: str) -> dict:
        svcs = tuple(dataclasses.replace(s, strategy="rolling", image=dataclasses.replace(s.image, digest=digest))
                     if s.name == "trip-service" else s for s in env.services)
        synthesis = synthesize(dataclasses.replace(env, services=svcs))
        [dep] = [o for c in synthesis.charts for o in c.objects
                 if o["kind"] == "Deployment" and o["metadata"]["name"] == "trip-service"]
        return dep["metadata"].get("annotations") or {}

    assert any(v.startswith("CKV_K8S_43=") for v in trip_annotations("").values())
    assert not any(v.startswith("CKV_K8S_43=") for v in trip_annotations(DIGEST).values())


def test_promote_copies_tags_and_digests_and_resynthesises_the_target(project):
    assert run_cli("release", "set", "ai-service", "--env", "dev", "--tag", "v2.0.0", "--digest", DIGEST,
                   cwd=project).returncode == 0
    assert run_cli("release", "set", "user-service", "--env", "dev", "--tag", "v2.0.1", cwd=project).returncode == 0
    proc = run_cli("release", "promote", "--from", "dev", "--to", "prod", "ai-service", cwd=project)
    assert proc.returncode == 0, proc.stderr
    prod = load_releases(project / "overlays/prod/releases.yaml")
    assert prod.services["ai-service"] == Release("v2.0.0", DIGEST)
    assert prod.services["user-service"] == Release("v1.2.0")  # not named: untouched
    assert_check_passes(project)
    assert run_cli("release", "promote", "--from", "dev", "--to", "prod", cwd=project).returncode == 0
    assert load_releases(project / "overlays/prod/releases.yaml").services["user-service"] == Release("v2.0.1")
    assert_check_passes(project)


def test_show_prints_a_table(project):
    run_cli("release", "set", "trip-service", "--env", "prod", "--digest", DIGEST, cwd=project)
    proc = run_cli("release", "show", cwd=project)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["ENV", "SERVICE", "TAG", "DIGEST", "IMAGE"]
    assert len(lines) == 1 + 8
    assert any(line.split()[:3] == ["prod", "trip-service", "v1.2.0"] and f"trip-service@{DIGEST}" in line
               for line in lines)
    only_dev = run_cli("release", "show", "--env", "dev", cwd=project).stdout.splitlines()
    assert len(only_dev) == 5 and all(line.startswith("dev") for line in only_dev[1:])


BAD = [
    (["set", "trip-servce", "--env", "prod", "--tag", "v2"], "did you mean trip-service"),
    (["set", "trip-service", "--env", "stage", "--tag", "v2"], "--env"),
    (["set", "trip-service", "--env", "prod", "--tag", "latest"], "services.trip-service.image.tag"),
    (["set", "trip-service", "--env", "prod", "--tag", "v 2"], "--tag"),
    (["set", "trip-service", "--env", "prod", "--digest", "sha256:1234"], "--digest"),
    (["set", "trip-service", "--env", "prod", "--digest", "md5:" + "a" * 64], "--digest"),
    (["set", "trip-service", "--env", "prod"], "--tag"),
    (["promote", "--from", "dev", "--to", "prod", "trip-servic"], "did you mean trip-service"),
    (["promote", "--from", "qa", "--to", "prod"], "--env"),
    (["promote", "--from", "prod", "--to", "prod"], "--to"),
    (["show", "--env", "stage"], "--env"),
]


@pytest.mark.parametrize(("args", "named"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_release_input_exits_2_and_writes_nothing(project, args, named):
    before = tree_bytes(project)
    proc = run_cli("release", *args, cwd=project)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert named in proc.stderr and "Traceback" not in proc.stderr
    assert tree_bytes(project) == before
    assert_check_passes(project)


def test_promoting_a_mutable_dev_tag_to_prod_is_refused(project):
    assert run_cli("release", "set", "trip-service", "--env", "dev", "--tag", "latest", cwd=project).returncode == 0
    before = tree_bytes(project)
    proc = run_cli("release", "promote", "--from", "dev", "--to", "prod", "trip-service", cwd=project)
    assert proc.returncode == 2 and "services.trip-service.image.tag" in proc.stderr
    assert tree_bytes(project) == before
    assert_check_passes(project)


def test_a_malformed_or_ignored_releases_file_is_a_config_error(project, tmp_path):
    path = project / "overlays/prod/releases.yaml"
    good = path.read_text()
    for broken, field in [(good.replace("tag: v1.2.0", "tag: 1 2", 1), "services.user-service.tag"),
                          (good.replace("  ai-service:", "  ai-servise:"), "ai-servise"),
                          (good + "extra: 1\n", "(top level)"),
                          (good.replace("    tag: v1.2.0\n  ai", f"    tag: v1.2.0\n    digest: {DIGEST[:-1]}\n  ai"),
                           "digest")]:
        path.write_text(broken)
        proc = run_cli("synth", "--check", cwd=project)
        assert proc.returncode == 2 and field in proc.stderr and "Traceback" not in proc.stderr, (field, proc.stderr)
    # a config that builds its images without the file is caught too
    path.write_text(good)
    cfg = project / "overlays/prod/config.py"
    cfg.write_text(cfg.read_text().replace("tag=RELEASES.tag(service)", 'tag="v9.9.9"'))
    proc = run_cli("synth", "--check", cwd=project)
    assert proc.returncode == 2 and "releases.yaml" in proc.stderr


def test_edit_text_round_trips_comments_and_rejects_bad_values(tmp_path):
    path = tmp_path / "overlays" / "dev" / "releases.yaml"
    text = "# head\nservices:\n  a:  # inline\n    tag: v1\n"
    new = edit_text(text, path, {"a": Release("v2", DIGEST)})
    assert new == f"# head\nservices:\n  a:  # inline\n    tag: v2\n    digest: {DIGEST}\n"
    assert parse_releases(new, path).services["a"] == Release("v2", DIGEST)
    with pytest.raises(ConfigError):
        edit_text(text, path, {"a": Release("v2", "sha256:zz")})
    with pytest.raises(ConfigError):
        edit_text(text, path, {"b": Release("v2")})
    shutil.rmtree(tmp_path / "overlays", ignore_errors=True)
