"""The supported Kubernetes range (KubernetesVersions): config rules, what follows it (kubeVersion,
Pod Security version), and validate's strict schemas of every minor in it."""

from __future__ import annotations

from pathlib import Path

import cdk8s
import pytest
import yaml

from tripgen_cdk8s import AppNamespace, AppNamespaceProps, HelmChart, HelmChartProps
from tripgen_cdk8s.lib.errors import ConfigError
from tripgen_cdk8s.lib.helm import chart_files
from tripgen_cdk8s.lib.helmchart import SynthesizedChart
from tripgen_cdk8s.lib.kubeversions import KubernetesVersions
from tripgen_cdk8s.lib.validation import CRD_DIR, check_custom_resources, check_schemas_in_range, environment_checks

FLOWSCHEMA_V1BETA3 = {
    "apiVersion": "flowcontrol.apiserver.k8s.io/v1beta3", "kind": "FlowSchema", "metadata": {"name": "batch"},
    "spec": {"priorityLevelConfiguration": {"name": "workload-low"}, "matchingPrecedence": 1000}}


def test_the_default_range_is_1_29_to_1_37() -> None:
    versions = KubernetesVersions()
    assert versions.minors == [f"1.{m}" for m in range(29, 38)]
    assert (versions.kube_version, versions.pod_security_version, str(versions)) == (">=1.29.0-0", "v1.29", "1.29-1.37")


@pytest.mark.parametrize(("minimum", "maximum", "message"), [
    ("1.24", "1.37", "kubernetes.minimum: invalid value '1.24'; allowed: a minor 1.25 to 1.37 (the schemas "
                     "kubernetes-validate ships)"),
    ("1.29", "1.38", "kubernetes.maximum: invalid value '1.38'; allowed: a minor 1.25 to 1.37 (the schemas "
                     "kubernetes-validate ships)"),
    ("v1.29", "1.37", "kubernetes.minimum: invalid value 'v1.29'; allowed: a minor 1.25 to 1.37 (the schemas "
                      "kubernetes-validate ships)"),
    ("1.33", "1.32", "kubernetes.maximum: invalid value '1.32'; allowed: at least the minimum 1.33"),
])
def test_a_bad_range_is_one_error_naming_the_field(minimum: str, maximum: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        KubernetesVersions(minimum, maximum)
    assert str(err.value) == message


def test_union_spans_every_range() -> None:
    assert KubernetesVersions.union([KubernetesVersions("1.30", "1.31"), KubernetesVersions("1.29", "1.30")]) == \
        KubernetesVersions("1.29", "1.31")
    assert KubernetesVersions.union([]) == KubernetesVersions()


def shop(versions: KubernetesVersions) -> SynthesizedChart:
    """A chart with only its namespace, supporting ``versions``."""
    chart = HelmChart(cdk8s.App(), "shop", HelmChartProps(namespace="shop", version="0.1.0", kubernetes=versions))
    AppNamespace(chart, "namespace", AppNamespaceProps())
    return SynthesizedChart.of(chart, "prod")


def test_kube_version_and_pod_security_version_follow_the_range() -> None:
    chart = shop(KubernetesVersions("1.32", "1.35"))
    files = chart_files(chart)
    assert yaml.safe_load(files["Chart.yaml"])["kubeVersion"] == ">=1.32.0-0"
    [ns] = [o for o in chart.objects if o["kind"] == "Namespace"]
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce-version"] == "v1.32"


def test_an_api_removed_inside_the_range_fails_on_the_minor_that_removed_it() -> None:
    # flowcontrol.apiserver.k8s.io/v1beta3 was removed in Kubernetes 1.32.
    obj = FLOWSCHEMA_V1BETA3
    assert check_schemas_in_range([obj], KubernetesVersions("1.29", "1.31")) == []
    assert check_schemas_in_range([obj], KubernetesVersions("1.29", "1.37")) == [
        "Kubernetes 1.32-1.37: FlowSchema/batch: no Kubernetes schema for flowcontrol.apiserver.k8s.io/v1beta3"]
    assert check_schemas_in_range([obj], KubernetesVersions("1.29", "1.32")) == [
        "Kubernetes 1.32: FlowSchema/batch: no Kubernetes schema for flowcontrol.apiserver.k8s.io/v1beta3"]
    # A Kubernetes API group is never taken for a custom resource without a CRD.
    assert check_custom_resources([obj], CRD_DIR) == []


def test_validate_checks_the_schemas_of_the_charts_range() -> None:
    charts = [shop(KubernetesVersions("1.30", "1.33"))]
    checks = dict(environment_checks(Path("."), Path("charts"), "prod", charts, CRD_DIR, require_default_deny=False,
                                     echo=print))
    assert "prod: Kubernetes 1.30-1.33 schemas (strict, every minor)" in checks
    assert checks["prod: Kubernetes 1.30-1.33 schemas (strict, every minor)"]() == []
