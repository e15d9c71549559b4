"""examples/bookstore: a second team's app, built only from the public API, as its users get it.

The example is synthesised by the ``tripgen`` of a non-editable install of the package in a
temporary venv outside the checkout (its dependencies come from the project venv through a .pth
file, so nothing is downloaded), in a copy of the example outside the checkout; the result must be
byte for byte the committed ``examples/bookstore/charts``.  The committed charts are then checked
with the real helm (lint, exact round trip, release namespace), the Kubernetes 1.32-1.37 schemas,
the network intent (catalog public, orders internal
and reachable only from catalog), and ``tripgen validate``.

After an intended change of the example: run ``tripgen synth`` in examples/bookstore (it writes the
charts and their rendered-object snapshots) and review the diff.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from functools import cache
from pathlib import Path

import pytest
import yaml

from conftest import HELM, ROOT, parse_all, run_helm, tree_bytes
from tripgen_cdk8s.lib.kubeversions import KubernetesVersions
from tripgen_cdk8s.lib.validation import check_builtin_schemas, check_helm, check_invariants, check_schemas_in_range

EXAMPLE = ROOT / "examples" / "bookstore"
CONFIG = EXAMPLE / "overlays" / "prod" / "config.py"
CHARTS_DIR = EXAMPLE / "charts" / "prod"
NAMESPACE = "bookstore"
CHART_NAMES = ("bookstore-platform", "catalog", "orders")
NAME = "app.kubernetes.io/name"
RUN_ENV = {"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "PYTHONDONTWRITEBYTECODE": "1",
           "TRIPGEN_HELM": str(HELM)}  # synth renders the snapshots with helm


# ---------------------------------------------------------------------------- the installed package


def _env(**extra: str) -> dict[str, str]:
    """The environment of the installed tools: nothing that could point Python at the checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    return {**env, **RUN_ENV, **extra}


def _run(args: list[str], cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=_env(**extra), check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv outside the checkout with a non-editable install of the package; returns its bin/.

    The venv is made without pip (fast); the project venv's pip installs into it (``--python``)
    from a copy of the package's sources, so the build leaves no build/ or egg-info in the checkout,
    with ``--no-deps``.  The build is pip's default isolated one: it takes ``setuptools>=68`` from
    the configured index, as ``scripts/setup.sh`` did (Python 3.11's bundled setuptools 65.5 has no
    ``bdist_wheel`` without the ``wheel`` package, so ``--no-build-isolation`` cannot build here).
    The dependencies are the project venv's, listed in a .pth file: that directory is not a site
    directory, so the project's editable finder (itself activated by a .pth there) stays inactive.
    """
    base = tmp_path_factory.mktemp("installed")
    venv = base / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], base)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    src = base / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "tripgen_cdk8s", src / "tripgen_cdk8s", ignore=shutil.ignore_patterns("__pycache__"))
    done = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                 "--disable-pip-version-check", "--no-deps", str(src)], base)
    assert done.returncode == 0, done.stdout + done.stderr
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], base)
                .stdout.strip())
    assert site.is_dir() and site.is_relative_to(venv), site
    (site / "_project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return venv / "bin"


def test_the_package_comes_from_the_temporary_venv_not_the_checkout(installed, tmp_path):
    code = ("import json, importlib.metadata as m, tripgen_cdk8s, cdk8s; "
            "print(json.dumps([tripgen_cdk8s.__file__, cdk8s.__file__, "
            "json.loads(m.distribution('tripgen-cdk8s').read_text('direct_url.json'))]))")
    proc = _run([str(installed / "python"), "-c", code], tmp_path)
    assert proc.returncode == 0, proc.stderr
    package_file, dependency_file, direct_url = json.loads(proc.stdout)
    assert direct_url.get("dir_info", {}).get("editable", False) is False, direct_url
    package, dependency = Path(package_file).resolve(), Path(dependency_file).resolve()
    venv = installed.parent.resolve()
    assert package.is_relative_to(venv), package
    assert not package.is_relative_to(ROOT), package
    assert dependency.is_relative_to(Path(sys.prefix).resolve()), dependency  # the project venv's, no download
    assert (installed / "tripgen").is_file()


def _example_copy(dst: Path, charts: bool = False) -> Path:
    """The example outside the checkout, without its charts (or with them: the chart versions move
    with the content against the committed charts, so only a synth over them reproduces them)."""
    shutil.copytree(EXAMPLE, dst, ignore=shutil.ignore_patterns("__pycache__", *(() if charts else ("charts",))))
    assert (dst / "charts").exists() == charts
    return dst


@pytest.fixture(scope="module")
def synthesised_copy(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example, its charts included, after the installed ``tripgen synth`` rewrote them."""
    copy = _example_copy(tmp_path_factory.mktemp("example") / "bookstore", charts=True)
    for path in (copy / "charts" / "prod").rglob("*"):
        if path.is_file() and path.name != ".tripgen-files" and path.name != "Chart.yaml":
            path.write_text("stale\n", encoding="utf-8")  # synth must write every file again, not keep it
    proc = _run([str(installed / "tripgen"), "synth"], copy)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for chart in CHART_NAMES:
        assert f"wrote charts/prod/{chart} (" in proc.stdout, proc.stdout
    return copy


def test_synth_from_the_installed_package_gives_exactly_the_committed_charts(synthesised_copy):
    generated = tree_bytes(synthesised_copy / "charts")
    committed = tree_bytes(EXAMPLE / "charts")
    assert sorted(generated) == sorted(committed)
    assert {p.split("/")[1] for p in committed if p.count("/") > 1} == {*CHART_NAMES, "argocd", ".rendered"}
    for path in committed:
        assert generated[path] == committed[path], f"{path} differs: run `tripgen synth` in examples/bookstore"


def test_a_changed_config_gives_different_charts(installed, tmp_path):
    """The comparison above can fail: one changed port in a copy of the config changes the charts."""
    copy = _example_copy(tmp_path / "bookstore")
    config = copy / "overlays" / "prod" / "config.py"
    config.write_text(config.read_text(encoding="utf-8").replace("port=9090", "port=9091", 1), encoding="utf-8")
    proc = _run([str(installed / "tripgen"), "synth", "--check", "--out", str(EXAMPLE / "charts")], copy)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "orders/templates/deployment.yaml" in proc.stderr
    assert "catalog/templates/configmap.yaml" in proc.stderr  # ORDERS_URL follows the port


def test_tripgen_validate_passes_in_the_example(installed, synthesised_copy):
    """The installed ``tripgen validate``: in sync, helm lint and round trip, schemas, invariants and
    checkov (the project's, from scripts/setup.sh test; missing is a failure)."""
    checkov = ROOT / ".venv-checkov" / "bin" / "checkov"
    assert checkov.is_file(), f"{checkov} missing: run scripts/install-checkov.sh"
    proc = _run([str(installed / "tripgen"), "validate"], synthesised_copy, TRIPGEN_HELM=str(HELM),
                TRIPGEN_CHECKOV=str(checkov))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "FAIL" not in out
    for label in ("prod: charts/ in sync with the config", "prod/orders: helm lint --strict and round trip",
                  "prod: Kubernetes 1.32-1.37 schemas (strict, every minor)", "prod: every pod is selected by a NetworkPolicy",
                  "prod: checkov (kubernetes and helm frameworks)"):
        assert f"ok   {label}" in out, out
    assert re.search(r"^(\d+) of \1 checks passed$", out, re.MULTILINE), out


# ---------------------------------------------------------------------------- the config


def test_the_config_uses_only_the_public_api_and_nothing_of_tripgen_azure_or_spring():
    import tripgen_cdk8s

    tree = ast.parse(CONFIG.read_text(encoding="utf-8"))
    imported: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert not any(a.name.startswith("tripgen_cdk8s") for a in node.names), ast.unparse(node)
        elif isinstance(node, ast.ImportFrom):
            assert node.module == "tripgen_cdk8s" and node.level == 0, ast.unparse(node)
            imported += [a.name for a in node.names]
    azure = {n for n, m in tripgen_cdk8s._EXPORTS.items() if m == "lib.azure"}
    assert imported and set(imported) <= set(tripgen_cdk8s.__all__) - azure
    text = CONFIG.read_text(encoding="utf-8").lower()
    assert "azure" not in text and "spring" not in text


# ---------------------------------------------------------------------------- the committed charts


@cache
def synthesis():  # type: ignore[no-untyped-def]
    """The example's ProjectSynthesis, in this process (what the committed charts must render to)."""
    from tripgen_cdk8s import synthesize

    spec = importlib.util.spec_from_file_location("bookstore_prod_config", CONFIG)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return synthesize(module.config, EXAMPLE)  # the chart versions follow the committed charts


def chart_objects(chart: str) -> list[dict]:
    [found] = [c for c in synthesis().charts if c.name == chart]
    assert found.namespace == NAMESPACE
    return found.objects


@cache
def rendered(chart: str, namespace: str = NAMESPACE) -> tuple[str, list[dict]]:
    """``helm template <chart> examples/bookstore/charts/prod/<chart> --namespace <namespace>``."""
    assert HELM.is_file(), f"{HELM} missing: run scripts/install-helm.sh"
    text = run_helm(str(HELM), "template", chart, str(CHARTS_DIR / chart), "--namespace", namespace)
    return text, parse_all(text)


def all_rendered() -> list[dict]:
    return [o for chart in CHART_NAMES for o in rendered(chart)[1]]


def find(kind: str, name: str) -> dict:
    [found] = [o for o in all_rendered() if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def key(o: dict) -> tuple[str, str]:
    return (o["kind"], o["metadata"]["name"])


def test_the_example_has_exactly_its_three_charts_and_its_argocd_manifests():
    assert [c.name for c in synthesis().helm_charts] == list(CHART_NAMES)
    assert sorted(p.name for p in CHARTS_DIR.iterdir() if p.is_dir()) == sorted([*CHART_NAMES, "argocd", ".rendered"])
    apps = sorted(p.name for p in (CHARTS_DIR / "argocd" / "applications").iterdir())
    assert apps == sorted(f"{c}.yaml" for c in CHART_NAMES)
    bootstrap = list(yaml.safe_load_all((CHARTS_DIR / "argocd" / "bootstrap.yaml").read_text()))
    assert [(o["kind"], o["metadata"]["name"]) for o in bootstrap] == [
        ("AppProject", "bookstore-prod"), ("AppProject", "bookstore-prod-apps"), ("Application", "bookstore-prod")]


@pytest.mark.parametrize("chart", CHART_NAMES)
def test_helm_lint_strict_and_the_exact_round_trip(chart):
    assert check_helm(str(HELM), CHARTS_DIR / chart, chart, chart_objects(chart), NAMESPACE) == []
    objects = rendered(chart)[1]
    assert sorted(objects, key=key) == sorted(chart_objects(chart), key=key)
    assert objects


def test_every_object_passes_the_kubernetes_1_32_schemas_strict_and_the_invariants():
    objects = all_rendered()
    # 19 objects, and a ValidatingAdmissionPolicy and its binding for each of the 3 workload shapes
    assert len(objects) == sum(len(c.objects) for c in synthesis().helm_charts) == 25
    assert check_schemas_in_range(objects, KubernetesVersions("1.32", "1.37")) == []
    assert check_builtin_schemas(objects, "1.29") != []  # no ValidatingAdmissionPolicy v1 before 1.30
    assert check_invariants(objects) == []
    assert {o["apiVersion"].split("/")[0] for o in objects} <= {"v1", "apps", "autoscaling", "policy", "networking.k8s.io",
                                                                     "admissionregistration.k8s.io"}


def test_a_wrong_field_fails_the_schema_check():
    broken = json.loads(json.dumps(find("Deployment", "orders")))
    broken["spec"]["template"]["spec"]["containers"][0]["port"] = 9090
    assert check_builtin_schemas([broken]) != []


@pytest.mark.parametrize("chart", CHART_NAMES)
def test_the_release_namespace_decides_where_every_object_goes(chart):
    text, objects = rendered(chart, "other")
    for obj in objects:
        if obj["kind"] == "Namespace":
            assert "namespace" not in obj["metadata"]
            assert obj["metadata"]["name"] == "other"
            assert obj["metadata"]["labels"]["kubernetes.io/metadata.name"] == "other"
        elif obj["kind"].startswith("ValidatingAdmissionPolicy"):  # cluster-scoped: named after the namespace
            assert "namespace" not in obj["metadata"]
            assert obj["metadata"]["name"].startswith("other-guardrails-"), key(obj)
            if obj["kind"] == "ValidatingAdmissionPolicyBinding":
                assert obj["spec"]["policyName"] == obj["metadata"]["name"]
                assert obj["spec"]["matchResources"]["namespaceSelector"] == {
                    "matchLabels": {"kubernetes.io/metadata.name": "other"}}
        else:
            assert obj["metadata"]["namespace"] == "other", key(obj)
    assert ".bookstore.svc" not in text and "namespace: bookstore" not in text
    if chart == "catalog":
        [config] = [o for o in objects if o["kind"] == "ConfigMap"]
        assert config["data"]["ORDERS_URL"] == "http://orders.other.svc.cluster.local:9090"


def test_no_rendered_object_mentions_tripgen_azure_or_spring():
    for obj in all_rendered():
        text = json.dumps(obj).lower()
        for word in ("tripgen", "azure", "spring"):
            assert word not in text, f"{key(obj)} mentions {word}"


# ---------------------------------------------------------------------------- what the cluster enforces


def _pod_labels(deployment: dict) -> dict[str, str]:
    return deployment["spec"]["template"]["metadata"]["labels"]


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def test_catalog_is_public_and_orders_has_no_ingress_path():
    ingresses = [o for o in all_rendered() if o["kind"] == "Ingress"]
    assert [i["metadata"]["name"] for i in ingresses] == ["bookstore"]
    [rule] = ingresses[0]["spec"]["rules"]
    backends = {(p["path"], p["backend"]["service"]["name"], p["backend"]["service"]["port"]["number"])
                for p in rule["http"]["paths"]}
    assert backends == {("/api/books", "catalog", 8080)}
    assert ingresses[0]["spec"]["ingressClassName"] == "nginx"
    assert rule["host"] == "books.example.com"
    assert all(b[1] != "orders" for i in ingresses for r in i["spec"]["rules"] for b in
               [(p["path"], p["backend"]["service"]["name"]) for p in r["http"]["paths"]])


def test_orders_is_internal_on_its_own_port_with_plain_http_probes():
    deployment = find("Deployment", "orders")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["ports"] == [{"name": "http", "containerPort": 9090, "protocol": "TCP"}]
    assert find("Service", "orders")["spec"]["type"] == "ClusterIP"
    assert find("Service", "orders")["spec"]["ports"][0]["port"] == 9090
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["scheme"] == "HTTP"
        assert container[probe]["httpGet"]["path"] in ("/healthz", "/readyz")
    assert deployment["spec"]["replicas"] == 2
    assert not [o for o in all_rendered() if o["kind"] == "HorizontalPodAutoscaler" and
                o["spec"]["scaleTargetRef"]["name"] == "orders"]


def test_catalog_is_autoscaled_by_an_hpa_and_its_deployment_leaves_replicas_to_it():
    hpa = find("HorizontalPodAutoscaler", "catalog")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "catalog"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)
    assert "replicas" not in find("Deployment", "catalog")["spec"]
    assert find("PodDisruptionBudget", "catalog")["spec"]["minAvailable"] == 1


def test_catalog_may_call_orders_on_its_port_and_orders_accepts_only_catalog():
    catalog, orders = find("NetworkPolicy", "catalog"), find("NetworkPolicy", "orders")
    catalog_pods, orders_pods = _pod_labels(find("Deployment", "catalog")), _pod_labels(find("Deployment", "orders"))
    assert _selects(catalog["spec"]["podSelector"]["matchLabels"], catalog_pods)
    assert _selects(orders["spec"]["podSelector"]["matchLabels"], orders_pods)
    [egress] = catalog["spec"]["egress"]
    assert egress["ports"] == [{"protocol": "TCP", "port": 9090}]
    [to] = egress["to"]
    assert _selects(to["podSelector"]["matchLabels"], orders_pods) and not _selects(to["podSelector"]["matchLabels"],
                                                                                    catalog_pods)
    assert set(orders["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    [ingress] = orders["spec"]["ingress"]
    assert ingress["ports"] == [{"protocol": "TCP", "port": 9090}]
    [source] = ingress["from"]
    assert set(source) == {"podSelector"}  # no namespace selector, no IP block: pods of this namespace
    assert _selects(source["podSelector"]["matchLabels"], catalog_pods)
    assert not _selects(source["podSelector"]["matchLabels"], orders_pods)
    assert "egress" not in orders["spec"]  # orders calls nobody (DNS aside: allow-dns)
    # any other policy letting something reach orders would widen that: there is none
    for policy in (o for o in all_rendered() if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] != "orders"):
        if policy["spec"].get("ingress") and _selects(policy["spec"]["podSelector"].get("matchLabels", {}), orders_pods):
            pytest.fail(f"{key(policy)} allows ingress to orders")


def test_the_ingress_controller_reaches_catalog_on_its_port_and_nothing_else():
    policy = find("NetworkPolicy", "allow-ingress-controller")
    selector = policy["spec"]["podSelector"]["matchLabels"]
    assert _selects(selector, _pod_labels(find("Deployment", "catalog")))
    assert not _selects(selector, _pod_labels(find("Deployment", "orders")))
    [rule] = policy["spec"]["ingress"]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8080}]
    deny = find("NetworkPolicy", "default-deny")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


# ---------------------------------------------------------------------------- snapshots
# The rendered-object snapshots (examples/bookstore/charts/prod/.rendered/) are checked by
# tests/test_snapshots.py, for every app.


STANDARD_LABELS = {"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
                   "app.kubernetes.io/component", "app.kubernetes.io/managed-by", "helm.sh/chart"}


def chart_version(chart: str) -> str:
    """The committed chart's version (it moves with the chart's content: tests/test_everyday.py)."""
    return str(yaml.safe_load((CHARTS_DIR / chart / "Chart.yaml").read_text(encoding="utf-8"))["version"])


def test_every_rendered_object_carries_the_standard_labels_with_the_release_values():
    for chart in CHART_NAMES:
        for o in rendered(chart, "elsewhere")[1]:
            labels = o["metadata"].get("labels", {})
            assert STANDARD_LABELS <= set(labels), f"{chart}: {key(o)} lacks {STANDARD_LABELS - set(labels)}"
            assert labels["app.kubernetes.io/instance"] == chart and labels["helm.sh/chart"] == f"{chart}-{chart_version(chart)}"


def test_the_quota_and_limit_range_names_are_the_same_in_any_namespace():
    names = {key(o) for o in rendered("bookstore-platform", "elsewhere")[1]}
    assert {("ResourceQuota", "requests-quota"), ("LimitRange", "container-defaults")} <= names
