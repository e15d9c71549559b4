"""The standard labels every object carries (Kubernetes recommended labels plus Helm's)."""

from __future__ import annotations

NAME = "app.kubernetes.io/name"
INSTANCE = "app.kubernetes.io/instance"
VERSION = "app.kubernetes.io/version"
COMPONENT = "app.kubernetes.io/component"
PART_OF_KEY = "app.kubernetes.io/part-of"
MANAGED_BY = "app.kubernetes.io/managed-by"
HELM_CHART = "helm.sh/chart"


def standard_labels(*, name: str, instance: str, version: str, component: str, chart: str,
                    part_of: str = "") -> dict[str, str]:
    """All recommended labels; ``app.kubernetes.io/part-of`` only when ``part_of`` is given (the
    application the object belongs to).  ``version`` and ``helm.sh/chart`` change with every
    release, so they never appear in a selector (see :func:`selector_labels`)."""
    labels = {NAME: name, INSTANCE: instance, VERSION: version, COMPONENT: component}
    if part_of:
        labels[PART_OF_KEY] = part_of
    labels[MANAGED_BY] = "Helm"
    labels[HELM_CHART] = chart
    return labels


def selector_labels(*, name: str, instance: str) -> dict[str, str]:
    """The labels a selector may use: they never change between releases."""
    return {NAME: name, INSTANCE: instance}
