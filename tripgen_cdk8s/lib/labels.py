"""The standard labels every object carries (Kubernetes recommended labels plus Helm's)."""

from __future__ import annotations

NAME = "app.kubernetes.io/name"
INSTANCE = "app.kubernetes.io/instance"
VERSION = "app.kubernetes.io/version"
COMPONENT = "app.kubernetes.io/component"
PART_OF_KEY = "app.kubernetes.io/part-of"
MANAGED_BY = "app.kubernetes.io/managed-by"
HELM_CHART = "helm.sh/chart"


def label_value(text: str) -> str:
    """``text`` as a label value, the way Helm's own chart scaffold makes ``helm.sh/chart`` one:
    ``replace "+" "_" | trunc 63 | trimSuffix "-"`` (a SemVer build suffix such as ``0.1.0+build.7``
    has a ``+``, which no label value may contain; the API server refuses the object)."""
    text = text.replace("+", "_")[:63]
    return text[:-1] if text.endswith("-") else text


LABEL_VALUE_TEMPLATE = 'replace "+" "_" | trunc 63 | trimSuffix "-"'
"""The same as :func:`label_value`, as a Helm template pipeline."""


def chart_label(chart_name: str, chart_version: str) -> str:
    """The ``helm.sh/chart`` label value: ``<name>-<version>`` as :func:`label_value`."""
    return label_value(f"{chart_name}-{chart_version}")


def standard_labels(*, name: str, instance: str, version: str, component: str, chart: str,
                    part_of: str = "") -> dict[str, str]:
    """All recommended labels; ``app.kubernetes.io/part-of`` only when ``part_of`` is given (the
    application the object belongs to).  ``version`` and ``helm.sh/chart`` change with every
    release, so they never appear in a selector (see :func:`selector_labels`)."""
    labels = {NAME: name, INSTANCE: instance, VERSION: label_value(version), COMPONENT: component}
    if part_of:
        labels[PART_OF_KEY] = part_of
    labels[MANAGED_BY] = "Helm"
    labels[HELM_CHART] = label_value(chart)
    return labels


def selector_labels(*, name: str, instance: str) -> dict[str, str]:
    """The labels a selector may use: they never change between releases."""
    return {NAME: name, INSTANCE: instance}
