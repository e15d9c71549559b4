"""``Guardrails(enforce_in_cluster=True)`` in a project: the policies land in the chart that creates
the namespace, Argo CD may sync them, and a Kubernetes range that starts before 1.30 (no
ValidatingAdmissionPolicy v1) is exit 2, one line naming the field."""

from __future__ import annotations

from pathlib import Path

import yaml
from test_app_model import make_project, one_line_exit_2

from conftest import run_cli

ENFORCED = "immutable_image_tags=True, min_replicas=2, require_default_deny=True, require_resources=True, " \
           "enforce_in_cluster=True"


def with_kubernetes(root: Path, minimum: str) -> Path:
    """The project's charts on the Kubernetes range ``minimum``-1.37."""
    config = root / "overlays" / "live" / "config.py"
    text = config.read_text()
    text = text.replace('environment="live")', f'environment="live", kubernetes=KubernetesVersions("{minimum}", "1.37"))')
    imports = "from tripgen_cdk8s import ("
    text = text.replace(imports, f"from tripgen_cdk8s import KubernetesVersions\n{imports}", 1)
    config.write_text(text)
    return root


def test_a_kubernetes_minimum_before_1_30_is_exit_2_naming_the_field(tmp_path):
    root = make_project(tmp_path / "default", guardrails=ENFORCED)  # the default range starts at 1.29
    one_line_exit_2(run_cli("synth", cwd=root), "guardrails.enforce_in_cluster", "1.30 or later", "minimum is 1.29")
    assert not (root / "charts").exists()
    root = with_kubernetes(make_project(tmp_path / "old", guardrails=ENFORCED), "1.27")
    one_line_exit_2(run_cli("validate", cwd=root), "guardrails.enforce_in_cluster", "minimum is 1.27")


def test_the_policies_land_in_the_chart_creating_the_namespace_and_argocd_may_sync_them(tmp_path):
    root = with_kubernetes(make_project(tmp_path, guardrails=ENFORCED), "1.30")
    proc = run_cli("synth", cwd=root)
    assert proc.returncode == 0, proc.stderr
    env = root / "charts" / "live"
    names = sorted(p.name for p in (env / "shop-platform" / "templates").glob("validatingadmissionpolicy*"))
    assert names == [f"validatingadmissionpolicy{b}-commerce-guardrails-{s}.yaml" for b in ("", "binding")
                     for s in ("cronjob", "job", "long-running")]
    for chart in ("api", "worker"):
        assert not list((env / chart / "templates").glob("validatingadmissionpolicy*"))
    project = next(yaml.safe_load_all((env / "argocd" / "bootstrap.yaml").read_text()))
    allowed = project["spec"]["clusterResourceWhitelist"]
    for kind in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"):
        for shape in ("cronjob", "job", "long-running"):  # by name (Argo CD >= 3.2, docs/network.md)
            assert {"group": "admissionregistration.k8s.io", "kind": kind,
                    "name": f"commerce-guardrails-{shape}"} in allowed
    # without the switch: no policy (the default)
    root = with_kubernetes(make_project(tmp_path / "off"), "1.30")
    assert run_cli("synth", cwd=root).returncode == 0
    assert not list((root / "charts" / "live" / "shop-platform" / "templates").glob("validatingadmissionpolicy*"))


def test_a_release_tag_pattern_re2_cannot_read_is_exit_2_with_the_switch(tmp_path):
    guardrails = ENFORCED + r', release_tag_pattern=r"^(?!latest)[a-z0-9.]+$"'
    root = with_kubernetes(make_project(tmp_path, guardrails=guardrails), "1.30")
    one_line_exit_2(run_cli("synth", cwd=root), "guardrails.release_tag_pattern", "RE2")


def test_the_switch_is_a_bool():
    import pytest

    from tripgen_cdk8s.app.model import Guardrails, Project
    from tripgen_cdk8s.app.pipeline import validate_project
    from tripgen_cdk8s.lib.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        validate_project(Project("live", print, guardrails=Guardrails(enforce_in_cluster="yes")))  # type: ignore[arg-type]
    assert err.value.field == "guardrails.enforce_in_cluster"


def test_tripgen_passes_the_switch_to_the_application_model():
    import dataclasses

    import pytest

    from conftest import ROOT
    from tripgen_cdk8s.app import pipeline
    from tripgen_cdk8s.lib.errors import ConfigError
    from tripgen_cdk8s.lib.kubeversions import KubernetesVersions
    from tripgen_cdk8s.tripgen import overlays

    prod = overlays.load(ROOT, "prod")
    switched = dataclasses.replace(prod, guardrails=dataclasses.replace(prod.guardrails, enforce_in_cluster=True))
    with pytest.raises(ConfigError) as err:  # TripGen's range starts at 1.29
        pipeline.synthesize(switched.to_project())
    assert err.value.field == "guardrails.enforce_in_cluster"
    newer = dataclasses.replace(switched, kubernetes=KubernetesVersions("1.30", "1.37"))
    objs = [o for c in pipeline.synthesize(newer.to_project()).helm_charts for o in c.objects]
    names = {o["metadata"]["name"] for o in objs if o["kind"] == "ValidatingAdmissionPolicyBinding"}
    assert f"{prod.namespace}-guardrails-long-running" in names
