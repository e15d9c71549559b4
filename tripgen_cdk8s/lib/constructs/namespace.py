"""AppNamespace (the namespace, its Pod Security level, quota and container defaults) and
ClusterRoleGrant (a ClusterRole granted inside one namespace)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import constructs

from ..errors import check_props
from ..helmchart import HelmChart, Resource

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class AppNamespaceProps:
    """The namespace ``name`` (default: the chart's) and what every pod in it shares.

    ``labels``: of every object; default the chart's standard labels (component ``namespace``).
    ``pod_security``: the enforced Pod Security Standard (default ``restricted``);
    ``pod_security_warn``: audit and warn level (default ``restricted``).
    ``quota_requests_cpu`` / ``quota_requests_memory``: a ResourceQuota ``quota_name`` (default
    ``requests-quota``) on the requests; default none (no quota).  ``default_limits`` /
    ``default_requests``: the LimitRange ``limit_range_name`` (default ``container-defaults``)
    container defaults.  ``create_namespace``: emit the Namespace object itself; default True
    (False when the release is installed with ``helm install --create-namespace`` or Argo CD's
    ``CreateNamespace=true``, which would conflict with a Namespace in the chart).
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
    quota_name: str = "requests-quota"
    limit_range_name: str = "container-defaults"
    create_namespace: bool = True


class AppNamespace(constructs.Construct):
    """The Namespace with Pod Security labels (enforce pinned to the chart's minimum Kubernetes
    version, ``HelmChartProps.kubernetes``; optional, see ``create_namespace``), an optional
    ResourceQuota and a LimitRange, all with the standard labels.
    The Namespace's name follows ``.Release.Namespace`` when it is the chart's namespace; the
    ResourceQuota's and LimitRange's names do not embed the namespace, so they are the same in
    every namespace the chart is installed to.  Public objects: :attr:`namespace` (None without
    one), :attr:`quota`, :attr:`limit_range`."""

    def __init__(self, scope: constructs.Construct, id: str, props: AppNamespaceProps) -> None:
        super().__init__(scope, id)
        check_props(self, props)
        chart = HelmChart.of(scope)
        ns = props.name or chart.target_namespace
        self.name = ns
        common = dict(props.labels) or chart.standard_labels("namespace")
        labels = dict(common)
        labels.update({
            NAMESPACE_NAME_LABEL: ns,
            "pod-security.kubernetes.io/enforce": props.pod_security,
            "pod-security.kubernetes.io/enforce-version": chart.props.kubernetes.pod_security_version,
            "pod-security.kubernetes.io/audit": props.pod_security_warn,
            "pod-security.kubernetes.io/warn": props.pod_security_warn,
        })
        self.namespace: Resource | None = None
        if props.create_namespace:
            self.namespace = Resource(chart, api_version="v1", kind="Namespace", name=ns, namespace=None, labels=labels)
            if ns == chart.target_namespace:  # another namespace's name stays literal
                chart.bind_namespace(self.namespace, ("metadata", "name"), ns)
                chart.bind_namespace(self.namespace, ("metadata", "labels", NAMESPACE_NAME_LABEL), ns)
        self.quota: Resource | None = None
        if props.quota_requests_cpu and props.quota_requests_memory:
            self.quota = Resource(chart, api_version="v1", kind="ResourceQuota", name=props.quota_name, namespace=ns,
                                  labels=common, body={"spec": {"hard": {
                                      "requests.cpu": props.quota_requests_cpu,
                                      "requests.memory": props.quota_requests_memory}}})
        self.limit_range = Resource(chart, api_version="v1", kind="LimitRange", name=props.limit_range_name,
                                    namespace=ns, labels=common, body={"spec": {"limits": [{
                                        "type": "Container", "default": dict(props.default_limits),
                                        "defaultRequest": dict(props.default_requests)}]}})


@dataclass(frozen=True)
class ClusterRoleGrantProps:
    """A ClusterRole for ``role_name`` with ``rules`` (Kubernetes PolicyRule objects) and its
    ``labels`` (default the chart's standard labels, component ``rbac``)."""

    role_name: str
    rules: tuple[Mapping[str, Any], ...]
    labels: Mapping[str, str] = field(default_factory=dict)


class ClusterRoleGrant(constructs.Construct):
    """A ClusterRole granted only inside the chart's namespace: :meth:`grant` adds a namespaced
    RoleBinding ``<service account>-<role>-grant``, so the role never applies cluster-wide.

    The ClusterRole is cluster-scoped, so its name is ``<namespace>-<role_name>`` (following the
    release namespace): two environments of the app in one cluster never share, or fight over,
    one ClusterRole.  A RoleBinding's ``roleRef`` is immutable: the bindings of these
    namespace-scoped names are new objects (``-grant``), so an upgrade from the charts that bound
    the shared ``<role>`` creates them and prunes the old ones instead of being refused by the API
    server.  Public objects: :attr:`role`, :attr:`bindings`."""

    def __init__(self, scope: constructs.Construct, id: str, props: ClusterRoleGrantProps) -> None:
        super().__init__(scope, id)
        check_props(self, props)
        chart = self.helm_chart = HelmChart.of(scope)
        self.props = props
        self.labels = dict(props.labels) or chart.standard_labels("rbac")
        self.role_name = f"{chart.target_namespace}-{props.role_name}"
        self.role = Resource(self.helm_chart, api_version="rbac.authorization.k8s.io/v1", kind="ClusterRole",
                             name=self.role_name, namespace=None, labels=self.labels,
                             body={"rules": [dict(r) for r in props.rules]})
        chart.bind(self.role, ("metadata", "name"), self._name_template(), self.role_name)
        self.bindings: list[Resource] = []

    def _name_template(self) -> str:
        """The ClusterRole's name with the release namespace in front."""
        fmt = "%s-" + self.props.role_name.replace("%", "%%")
        return "{{ printf " + json.dumps(fmt) + " .Release.Namespace | toJson }}"

    def grant(self, service_account: str) -> Resource:
        """Bind the role to ``service_account`` of the chart's namespace."""
        chart = self.helm_chart
        ns = chart.target_namespace
        binding = Resource(chart, api_version="rbac.authorization.k8s.io/v1", kind="RoleBinding",
                           name=f"{service_account}-{self.props.role_name}-grant", namespace=ns, labels=self.labels,
                           body={"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                             "name": self.role_name},
                                 "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": ns}]})
        chart.bind(binding, ("roleRef", "name"), self._name_template(), self.role_name)
        chart.bind_namespace(binding, ("subjects", 0, "namespace"), ns)
        self.bindings.append(binding)
        return binding
