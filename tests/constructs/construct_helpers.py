"""Shared helpers of the construct unit tests: a fresh HelmChart, a MicroService factory and a
synthesis helper that indexes the produced objects by (kind, name).

Plain functions rather than a conftest.py: pytest imports every conftest.py as the module
``conftest``, and the top-level test modules import their helpers ``from conftest``.

Each construct is tested alone in a bare cdk8s app: no config, no helm, no subprocess.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cdk8s

from tripgen_cdk8s.lib.constructs import MicroService, MicroServiceProps
from tripgen_cdk8s.lib.helmchart import HelmChart, HelmChartProps
from tripgen_cdk8s.lib.model import Image, ResourceAmounts, Resources

NAMESPACE = "ns"
RESOURCES = Resources(ResourceAmounts("200m", "512Mi"), ResourceAmounts("1", "1Gi", "1Gi"))
IMAGE = Image("registry.example.io", "demo", "v1.0.0")

Objects = dict[tuple[str, str], dict[str, Any]]


def new_chart(name: str = "demo", **props: Any) -> HelmChart:
    """A HelmChart ``name`` in namespace ``ns`` in its own test App."""
    return HelmChart(cdk8s.Testing.app(), name, HelmChartProps(namespace=NAMESPACE, version="0.1.0", **props))


def synth(chart: HelmChart) -> Objects:
    """The chart's objects (produced once) by (kind, name)."""
    out: Objects = {}
    for obj in chart.to_json():
        key = (obj["kind"], obj["metadata"]["name"])
        assert key not in out, f"{key} produced twice"
        out[key] = obj
    return out


def services(chart: HelmChart) -> Callable[..., MicroService]:
    """A factory ``service(name="demo", scope=chart, **props)``: a MicroService with IMAGE and RESOURCES."""

    def make(name: str = "demo", scope: Any = None, **props: Any) -> MicroService:
        props.setdefault("image", IMAGE)
        props.setdefault("resources", RESOURCES)
        return MicroService(scope or chart, name, MicroServiceProps(name=name, **props))

    return make
