"""Everything `synth` writes for one environment: the Helm charts and the reviewer README."""

from __future__ import annotations

from ..lib import helm
from . import topology
from .app import Synthesis
from .checks import capacity_report


def environment_files(synthesis: Synthesis) -> dict[str, str]:
    """Every file of ``charts/<env>/``, by relative path: each chart's files and ``README.md``
    (services table, capacity report and Mermaid topology, built from the synthesised objects;
    the capacity figures come from the same computation as the synth-time check)."""
    files = helm.environment_files(synthesis.charts)
    objects = [o for c in synthesis.charts if c.is_helm for o in c.objects]
    files["README.md"] = topology.environment_readme(synthesis.env.name, objects, capacity_report(synthesis.env),
                                                     synthesis.env.namespace)
    return files
