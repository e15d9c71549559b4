"""AppNamespace (the namespace, its Pod Security level, quota and container defaults) and
ClusterRoleGrant (a ClusterRole granted inside one namespace)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import constructs

from ..helmchart import HelmChart, Resource

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class AppNamespaceProps:
    """The namespace ``name`` (default: the chart's) and what every pod in it shares.

    ``pod_security``: the enforced Pod Security Standard (default ``restricted``);
    ``pod_security_warn``: audit and warn level (default ``restricted``).
    ``quota_requests_cpu`` / ``quota_requests_memory``: a ResourceQuota ``<name>-quota`` on the
    requests; default none (no quota).  ``default_limits`` / ``default_requests``: the LimitRange
    ``<name>-limits`` container defaults.
    """

    name: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    pod_security: str = "restricted"
    pod_security_warn: str = "restricted"
    quota_requests_cpu: str | None = None
    quota_requests_memory: str | None = None
    default_limits: Mapping[str, str] = field(default_factory=lambda: {
        "cpu": "500m", "memory": "512Mi", "ephemeral-storage": "1Gi"})
    default_requests: Mapping[str, str] = field(default_factory=lambda: {
        "cpu": "100m", "memory": "256Mi", "ephemeral-storage": "256Mi"})


class AppNamespace(constructs.Construct):
    """The Namespace with Pod Security labels (enforce pinned to the chart's minimum Kubernetes
    version, ``HelmChartProps.kubernetes``), an optional ResourceQuota
    and a LimitRange.  The Namespace's name follows ``.Release.Namespace`` when it is the chart's
    namespace."""

    def __init__(self, scope: constructs.Construct, id: str, props: AppNamespaceProps) -> None:
        super().__init__(scope, id)
        chart = HelmChart.of(scope)
        ns = props.name or chart.target_namespace
        self.name = ns
        labels = dict(props.labels)
        labels.update({
            NAMESPACE_NAME_LABEL: ns,
            "pod-security.kubernetes.io/enforce": props.pod_security,
            "pod-security.kubernetes.io/enforce-version": chart.props.kubernetes.pod_security_version,
            "pod-security.kubernetes.io/audit": props.pod_security_warn,
            "pod-security.kubernetes.io/warn": props.pod_security_warn,
        })
        self.namespace = Resource(chart, api_version="v1", kind="Namespace", name=ns, namespace=None, labels=labels)
        if ns == chart.target_namespace:  # another namespace's name stays literal
            chart.bind_namespace(self.namespace, ("metadata", "name"), ns)
            chart.bind_namespace(self.namespace, ("metadata", "labels", NAMESPACE_NAME_LABEL), ns)
        self.quota: Resource | None = None
        if props.quota_requests_cpu and props.quota_requests_memory:
            self.quota = Resource(chart, api_version="v1", kind="ResourceQuota", name=f"{ns}-quota", namespace=ns,
                                  labels=props.labels, body={"spec": {"hard": {
                                      "requests.cpu": props.quota_requests_cpu,
                                      "requests.memory": props.quota_requests_memory}}})
        self.limit_range = Resource(chart, api_version="v1", kind="LimitRange", name=f"{ns}-limits", namespace=ns,
                                    labels=props.labels, body={"spec": {"limits": [{
                                        "type": "Container", "default": dict(props.default_limits),
                                        "defaultRequest": dict(props.default_requests)}]}})


@dataclass(frozen=True)
class ClusterRoleGrantProps:
    """A ClusterRole ``role_name`` with ``rules`` (Kubernetes PolicyRule objects) and its labels."""

    role_name: str
    rules: tuple[Mapping[str, Any], ...]
    labels: Mapping[str, str] = field(default_factory=dict)


class ClusterRoleGrant(constructs.Construct):
    """A ClusterRole granted only inside the chart's namespace: :meth:`grant` adds a namespaced
    RoleBinding ``<service account>-<role>``, so the role never applies cluster-wide."""

    def __init__(self, scope: constructs.Construct, id: str, props: ClusterRoleGrantProps) -> None:
        super().__init__(scope, id)
        self.helm_chart = HelmChart.of(scope)
        self.props = props
        self.role = Resource(self.helm_chart, api_version="rbac.authorization.k8s.io/v1", kind="ClusterRole",
                             name=props.role_name, namespace=None, labels=props.labels,
                             body={"rules": [dict(r) for r in props.rules]})
        self.bindings: list[Resource] = []

    def grant(self, service_account: str) -> Resource:
        """Bind the role to ``service_account`` of the chart's namespace."""
        chart = self.helm_chart
        ns = chart.target_namespace
        binding = Resource(chart, api_version="rbac.authorization.k8s.io/v1", kind="RoleBinding",
                           name=f"{service_account}-{self.props.role_name}", namespace=ns, labels=self.props.labels,
                           body={"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                             "name": self.props.role_name},
                                 "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": ns}]})
        chart.bind_namespace(binding, ("subjects", 0, "namespace"), ns)
        self.bindings.append(binding)
        return binding
