"""`tripgen publish`: charts pushed to a real OCI registry (Debian's docker-registry on loopback),
pulled back and compared with the charts on disk; the skip and refusal paths; registry errors; and
the GitOps switch that makes the Argo CD Applications deploy the published charts."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest
import yaml
from registry import oci_registry_fixture  # noqa: F401  (fixture)

from conftest import CRDS, ROOT, run_cli, run_helm
from tripgen_cdk8s.app import loader, pipeline
from tripgen_cdk8s.app.publish import parse_registry
from tripgen_cdk8s.lib import validation as v
from tripgen_cdk8s.lib.errors import ConfigError

IN_REGISTRY = pytest.mark.xdist_group("registry")  # one registry per worker, started once
NEWSLETTER = ROOT / "examples" / "newsletter"
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"


@pytest.fixture()
def helm_home(tmp_path: Path) -> dict[str, str]:
    """helm's cache, config and data in the test's directory (no login, nothing in ~)."""
    home = tmp_path / "helm-home"
    return {"HELM_CACHE_HOME": str(home / "cache"), "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"), "HELM_REGISTRY_CONFIG": str(home / "registry.json")}


def chart_dirs(charts: Path, env: str) -> dict[str, Path]:
    """The Helm chart directories of charts/<env>/ by chart name (argocd/ is no Helm chart)."""
    return {p.parent.name: p.parent for p in sorted((charts / env).glob("*/Chart.yaml"))}


def version_of(chart: Path) -> str:
    return str(yaml.safe_load((chart / "Chart.yaml").read_text())["version"])


def tree(chart: Path) -> dict[str, object]:
    """A chart directory's files: Chart.yaml as data (helm re-serialises it when packaging), the
    rest as bytes."""
    out: dict[str, object] = {}
    for path in sorted(p for p in chart.rglob("*") if p.is_file()):
        rel = str(path.relative_to(chart))
        out[rel] = yaml.safe_load(path.read_text()) if rel == "Chart.yaml" else path.read_bytes()
    return out


def publish(project: Path, registry: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_cli("publish", "--project", str(project), "--registry", registry, "--plain-http", *args, env=env)


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


# ---------------------------------------------------------------------------- against the real registry


@IN_REGISTRY
def test_every_chart_of_an_environment_is_pushed_and_pulls_back_equal_to_the_chart_on_disk(
        oci_registry, helm, helm_home, project_copy, tmp_path):
    url = f"oci://{oci_registry.host}/round-trip/charts"
    proc = publish(project_copy, url, "--env", "dev", env=helm_home)
    assert proc.returncode == 0, proc.stderr
    charts = chart_dirs(project_copy / "charts", "dev")
    assert len(charts) >= 2 and "argocd" not in charts
    for name, chart in charts.items():
        version = version_of(chart)
        assert f"pushed {url}/dev/{name}:{version} (sha256:" in proc.stdout
        # the registry holds a Helm chart artifact at PATH/<env>/<chart>:<version>
        assert oci_registry.tags(f"round-trip/charts/dev/{name}") == [version]
        _digest, manifest = oci_registry.manifest(f"round-trip/charts/dev/{name}", version)
        assert manifest["config"]["mediaType"] == HELM_CONFIG
        assert [layer["mediaType"] for layer in manifest["layers"]] == [HELM_LAYER]
        # pulled back with helm, it is the chart on disk
        dest = tmp_path / "pulled" / name
        run_helm(helm, "pull", f"{url}/dev/{name}", "--version", version, "--untar", "--destination", str(dest),
                 "--plain-http", "--registry-config", helm_home["HELM_REGISTRY_CONFIG"])
        assert tree(dest / name) == tree(chart)
    assert proc.stdout.splitlines()[-1] == f"{len(charts)} pushed, 0 already published, to {url}"
    assert oci_registry.tags("round-trip/charts/prod/trip-service") == []  # --env dev: only dev


@IN_REGISTRY
def test_publishing_again_skips_every_chart_and_leaves_the_registry_unchanged(
        oci_registry, helm_home, project_copy):
    url = f"oci://{oci_registry.host}/again"
    assert publish(project_copy, url, "--env", "prod", env=helm_home).returncode == 0
    charts = chart_dirs(project_copy / "charts", "prod")
    before = {n: oci_registry.manifest(f"again/prod/{n}", version_of(c)) for n, c in charts.items()}
    proc = publish(project_copy, url, "--env", "prod", env=helm_home)  # helm packages with a new timestamp
    assert proc.returncode == 0, proc.stderr
    for name, chart in charts.items():
        assert f"skipped {url}/prod/{name}:{version_of(chart)}: already in the registry with the same content" \
            in proc.stdout
    assert "pushed oci://" not in proc.stdout
    assert proc.stdout.splitlines()[-1] == f"0 pushed, {len(charts)} already published, to {url}"
    assert {n: oci_registry.manifest(f"again/prod/{n}", version_of(c)) for n, c in charts.items()} == before


@IN_REGISTRY
def test_a_changed_chart_under_a_published_version_is_refused_and_nothing_is_pushed(
        oci_registry, helm_home, project_copy):
    url = f"oci://{oci_registry.host}/refuse"
    charts = chart_dirs(project_copy / "charts", "dev")
    changed, held_back = "trip-service", "user-service"
    aside = project_copy / "aside"
    charts[held_back].rename(aside)  # first publish without user-service
    assert publish(project_copy, url, "--env", "dev", env=helm_home).returncode == 0
    aside.rename(charts[held_back])
    before = {n: oci_registry.tags(f"refuse/dev/{n}") for n in charts}
    assert before[held_back] == []
    digest_before = oci_registry.manifest(f"refuse/dev/{changed}", version_of(charts[changed]))[0]
    values = charts[changed] / "values.yaml"
    values.write_text(values.read_text() + "# edited by hand, version unchanged\n")

    proc = publish(project_copy, url, "--env", "dev", env=helm_home)
    line = one_error_line(proc)
    version = version_of(charts[changed])
    assert f"{url}/dev/{changed}:{version}" in line
    assert f"chart {changed} version {version} is already in {url}/dev with other content (values.yaml)" in line
    # the registry is as it was: the changed version not replaced, the new chart not pushed either
    assert {n: oci_registry.tags(f"refuse/dev/{n}") for n in charts} == before
    assert oci_registry.manifest(f"refuse/dev/{changed}", version)[0] == digest_before
    assert "pushed" not in proc.stdout


def test_an_unreachable_registry_is_exit_2_with_one_line(helm_home, project_copy):
    from kube import free_port

    port = free_port()  # nothing listens there
    proc = publish(project_copy, f"oci://127.0.0.1:{port}/charts", "--env", "dev", env=helm_home)
    line = one_error_line(proc)
    assert f"127.0.0.1:{port}/charts/dev/" in line and "connection refused" in line


@IN_REGISTRY
def test_the_argocd_applications_of_the_oci_switch_name_exactly_what_publish_pushed(
        oci_registry, helm, helm_home, tmp_path):
    url = f"oci://{oci_registry.host}/newsletter"
    proc = run_cli("publish", "--project", str(NEWSLETTER), "--registry", url, "--env", "staging", "--plain-http",
                   env=helm_home)
    assert proc.returncode == 0, proc.stderr
    apps = [o for o in _objects_with_registry("staging", url) if o["kind"] == "Application" and "chart" in
            o["spec"]["source"]]
    assert sorted(a["spec"]["source"]["chart"] for a in apps) == sorted(chart_dirs(NEWSLETTER / "charts", "staging"))
    for app in apps:
        source = app["spec"]["source"]
        dest = tmp_path / source["chart"]
        run_helm(helm, "pull", f"oci://{source['repoURL']}/{source['chart']}", "--version", source["targetRevision"],
                 "--untar", "--destination", str(dest), "--plain-http",
                 "--registry-config", helm_home["HELM_REGISTRY_CONFIG"])
        assert tree(dest / source["chart"]) == tree(NEWSLETTER / "charts" / "staging" / source["chart"])


# ---------------------------------------------------------------------------- no registry needed


@pytest.mark.parametrize("url", ["https://ghcr.io/acme/charts", "ghcr.io/acme/charts", "oci://", "oci:///charts",
                                 "oci://ghcr.io/Acme/charts", "oci://ghcr.io/acme/charts:1.0.0",
                                 "oci://ghcr.io/acme/charts@sha256:00", "oci://gh cr.io/charts",
                                 "oci://ghcr.io/acme//charts"])
def test_a_bad_registry_url_is_exit_2_with_one_line_naming_the_option(url, helm_home):
    line = one_error_line(run_cli("publish", "--registry", url, "--env", "dev", env=helm_home))
    assert line.startswith(f"error: --registry: invalid value {url!r}; allowed: oci://HOST[:PORT]/PATH")


def test_registry_urls_that_are_accepted():
    assert parse_registry("oci://ghcr.io/acme/charts").argocd_repo_url("prod") == "ghcr.io/acme/charts/prod"
    assert parse_registry("oci://127.0.0.1:5000/").env_url("dev") == "oci://127.0.0.1:5000/dev"
    assert parse_registry("oci://acme.azurecr.io/helm/trip_gen-x").url == "oci://acme.azurecr.io/helm/trip_gen-x"


def test_without_helm_publish_is_exit_2_with_one_line(helm_home):
    line = one_error_line(run_cli("publish", "--registry", "oci://127.0.0.1:1/charts", "--env", "dev",
                                  env={**helm_home, "TRIPGEN_HELM": "/nonexistent/helm"}))
    assert "helm not found" in line


def test_an_environment_without_charts_is_exit_2_naming_the_directory(helm_home, tmp_path):
    empty = tmp_path / "charts"
    (empty / "dev").mkdir(parents=True)
    line = one_error_line(run_cli("publish", "--registry", "oci://127.0.0.1:1/charts", "--env", "dev",
                                  "--charts", str(empty), env=helm_home))
    assert line == f"error: {empty / 'dev'}: invalid value 'no charts'; allowed: a directory of charts; " \
        "run `tripgen synth` first"


def test_publish_help_has_an_example():
    proc = run_cli("publish", "--help")
    assert proc.returncode == 0
    assert "Examples:" in proc.stdout and "tripgen publish --registry oci://" in proc.stdout


def _objects_with_registry(env: str, registry: str) -> list[dict]:
    project = loader.load(NEWSLETTER, env)
    project = dataclasses.replace(project, gitops=dataclasses.replace(project.gitops, chart_registry=registry))
    return [o for c in pipeline.synthesize(project, NEWSLETTER).charts for o in c.objects]


def test_the_oci_switch_points_each_chart_application_at_the_registry_and_the_project_allows_it():
    registry = "oci://registry.example/charts"
    objs = _objects_with_registry("staging", registry)
    default = [o for c in pipeline.synthesize(loader.load(NEWSLETTER, "staging"), NEWSLETTER).charts
               for o in c.objects]
    charts = chart_dirs(NEWSLETTER / "charts", "staging")
    apps = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Application"}
    assert sorted(apps) == sorted([*(f"newsletter-staging-{c}" for c in charts), "newsletter-staging"])
    for chart, path in charts.items():
        source = apps[f"newsletter-staging-{chart}"]["spec"]["source"]
        assert source == {"repoURL": "registry.example/charts/staging", "chart": chart,
                          "targetRevision": version_of(path),
                          "helm": {"releaseName": chart, "valueFiles": ["values.yaml"]}}
    # the app of apps still reads the Applications from git
    root = apps["newsletter-staging"]["spec"]["source"]
    assert root["repoURL"] == "https://git.example.com/newsletter/deploy" and "chart" not in root
    projects = {o["metadata"]["name"]: o["spec"] for o in objs if o["kind"] == "AppProject"}
    assert projects["newsletter-staging"]["sourceRepos"] == ["https://git.example.com/newsletter/deploy",
                                                             "registry.example/charts/staging"]
    assert projects["newsletter-staging-apps"]["sourceRepos"] == ["https://git.example.com/newsletter/deploy"]
    assert v.check_custom_resources([o for o in objs if o["kind"] in ("Application", "AppProject")], CRDS) == []
    # everything else is what the git default renders
    others = [o for o in objs if o["kind"] not in ("Application", "AppProject")]
    assert others == [o for o in default if o["kind"] not in ("Application", "AppProject")]


def test_the_default_deploys_from_git():
    for o in pipeline.synthesize(loader.load(NEWSLETTER, "staging"), NEWSLETTER).charts[-1].objects:
        if o["kind"] == "Application":
            assert "path" in o["spec"]["source"] and "chart" not in o["spec"]["source"]
        if o["kind"] == "AppProject":
            assert o["spec"]["sourceRepos"] == ["https://git.example.com/newsletter/deploy"]


@pytest.mark.parametrize("bad", ["registry.example/charts", "oci://registry.example/Charts"])
def test_a_bad_chart_registry_in_config_is_a_config_error_naming_the_field(bad):
    project = loader.load(NEWSLETTER, "staging")
    project = dataclasses.replace(project, gitops=dataclasses.replace(project.gitops, chart_registry=bad))
    with pytest.raises(ConfigError) as err:
        pipeline.synthesize(project, NEWSLETTER)
    assert err.value.field == "gitops.chart_registry" and err.value.value == bad


def test_a_registry_that_refuses_the_credentials_is_exit_2_and_helm_s_login_is_what_publish_uses(
        helm, helm_home, project_copy, tmp_path):
    import registry as oci

    with oci.registry(tmp_path / "auth-registry", auth=True) as server:
        url = f"oci://{server.host}/private"
        line = one_error_line(publish(project_copy, url, "--env", "dev", env=helm_home))
        assert f"{server.host}/private/dev/" in line and "authorization failed" in line
        assert line.endswith(f"(publish uses helm's credentials: `helm registry login {server.host}`)")
        assert server.get("private/dev/trip-service/tags/list")[0] == 401
        proc = subprocess.run([helm, "registry", "login", server.host, "--username", oci.USER, "--password-stdin",
                               "--registry-config", helm_home["HELM_REGISTRY_CONFIG"]],
                              input=oci.PASSWORD, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
        proc = publish(project_copy, url, "--env", "dev", env=helm_home)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.splitlines()[-1].startswith(f"{len(chart_dirs(project_copy / 'charts', 'dev'))} pushed")


def test_tripgen_s_config_has_the_switch_and_checks_it():
    from tripgen_cdk8s.tripgen import overlays
    from tripgen_cdk8s.tripgen.config import validate

    prod = overlays.load(ROOT, "prod")
    switched = dataclasses.replace(prod, gitops=dataclasses.replace(prod.gitops, chart_registry="oci://acr.example/tg"))
    objs = [o for c in pipeline.synthesize(switched.to_project(), ROOT).charts for o in c.objects]
    sources = {o["metadata"]["name"]: o["spec"]["source"] for o in objs if o["kind"] == "Application"}
    assert sources["tripgen-prod-trip-service"]["repoURL"] == "acr.example/tg/prod"
    assert sources["tripgen-prod-trip-service"]["chart"] == "trip-service"
    assert sources["tripgen-prod"]["repoURL"] == "https://github.com/tripgen/k8s-manifests"
    bad = dataclasses.replace(prod, gitops=dataclasses.replace(prod.gitops, chart_registry="acr.example/tg"))
    with pytest.raises(ConfigError) as err:
        validate(bad)
    assert err.value.field == "gitops.chart_registry"


def test_content_not_the_archive_decides_same_or_different(tmp_path):
    """Two archives of one chart written at different times (as helm 3.17 writes them: the time in
    every tar header and in the gzip header) and with Chart.yaml keys in another order are the same
    content; one changed byte in a template is not."""
    import gzip
    import io
    import tarfile

    from tripgen_cdk8s.app.publish import archive_contents, differing

    def archive(name: str, files: dict[str, bytes], mtime: int) -> Path:
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as tar:
            for rel, data in files.items():
                info = tarfile.TarInfo(f"demo/{rel}")
                info.size, info.mtime = len(data), mtime
                tar.addfile(info, io.BytesIO(data))
        path = tmp_path / name
        path.write_bytes(gzip.compress(raw.getvalue(), mtime=mtime))
        return path

    chart = {"Chart.yaml": b"apiVersion: v2\nname: demo\nversion: 1.0.1\n", "templates/cm.yaml": b"kind: ConfigMap\n"}
    reordered = {**chart, "Chart.yaml": b"version: 1.0.1\nname: demo\napiVersion: v2\n"}
    a, b = archive("a.tgz", chart, 1_700_000_000), archive("b.tgz", reordered, 1_800_000_000)
    assert a.read_bytes() != b.read_bytes()
    assert differing(archive_contents(a), archive_contents(b)) == []
    changed = archive("c.tgz", {**chart, "templates/cm.yaml": b"kind: ConfigMap \n"}, 1_700_000_000)
    assert differing(archive_contents(a), archive_contents(changed)) == ["templates/cm.yaml"]
    extra = archive("d.tgz", {**chart, "templates/new.yaml": b""}, 1_700_000_000)
    assert differing(archive_contents(a), archive_contents(extra)) == ["templates/new.yaml"]


def test_registry_errors_say_what_to_do_when_helm_s_message_is_about_credentials_or_tls():
    from tripgen_cdk8s.app.publish import _hint

    reg = parse_registry("oci://registry.example:5000/charts")
    tls = 'Head "https://registry.example:5000/v2/charts/dev/api/manifests/1.0.0": http: server gave HTTP response ' \
          "to HTTPS client"
    assert _hint(reg, tls) == " (--plain-http for a registry without TLS)"
    assert _hint(reg, "unexpected status code 403: denied") == \
        " (publish uses helm's credentials: `helm registry login registry.example:5000`)"
    assert _hint(reg, "dial tcp 10.0.0.1:5000: connect: connection refused") == ""
