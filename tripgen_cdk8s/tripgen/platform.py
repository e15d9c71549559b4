"""TripGenPlatform: the namespace and what every TripGen service in it shares (TRIPGEN.md sections 1, 4, 7)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import constructs

from ..lib.constructs import AppNamespace, AppNamespaceProps, ClusterRoleGrant, ClusterRoleGrantProps
from ..lib.helmchart import HelmChart, Resource

READER_RULES = ({"apiGroups": [""], "resources": ["pods", "services", "configmaps"], "verbs": ["get", "list", "watch"]},)
WRITER_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"]
WRITER_RULES = ({"apiGroups": ["apps"], "resources": ["deployments"], "verbs": WRITER_VERBS},
                {"apiGroups": ["argoproj.io"], "resources": ["rollouts"], "verbs": WRITER_VERBS})


@dataclass(frozen=True)
class PlatformProps:
    """Namespace, its Pod Security level and quota, and the RBAC of the seed.

    ``reader_service_accounts`` are bound to ``application-reader`` (PP 7.2.2: user-service-sa);
    ``pod_security_warn`` defaults to ``restricted``; no quota unless both quota fields are set.
    """

    namespace: str
    labels: Mapping[str, str] = field(default_factory=dict)
    pod_security: str = "restricted"
    quota_requests_cpu: str | None = None
    quota_requests_memory: str | None = None
    reader_service_accounts: tuple[str, ...] = ()
    pod_security_warn: str = "restricted"


class TripGenPlatform(constructs.Construct):
    """An :class:`AppNamespace` (Pod Security labels, ResourceQuota when sized, LimitRange) and
    RBAC: ClusterRoles ``application-reader`` (read pods, services, configmaps) and
    ``application-writer`` (manage the workloads), ServiceAccount ``deployment-sa``; the bindings
    are namespaced RoleBindings so the roles only ever apply inside the TripGen namespace.
    """

    def __init__(self, scope: constructs.Construct, id: str, props: PlatformProps) -> None:
        super().__init__(scope, id)
        chart = HelmChart.of(scope)
        self.namespace = AppNamespace(self, "namespace", AppNamespaceProps(
            name=props.namespace, labels=props.labels, pod_security=props.pod_security,
            pod_security_warn=props.pod_security_warn, quota_requests_cpu=props.quota_requests_cpu,
            quota_requests_memory=props.quota_requests_memory))
        self.reader = ClusterRoleGrant(self, "application-reader", ClusterRoleGrantProps(
            role_name="application-reader", rules=READER_RULES, labels=props.labels))
        self.writer = ClusterRoleGrant(self, "application-writer", ClusterRoleGrantProps(
            role_name="application-writer", rules=WRITER_RULES, labels=props.labels))
        self.deployment_sa = Resource(chart, api_version="v1", kind="ServiceAccount", name="deployment-sa",
                                      namespace=props.namespace, labels=props.labels,
                                      body={"automountServiceAccountToken": False})
        self.bindings = [self.writer.grant("deployment-sa")]
        for sa in props.reader_service_accounts:
            self.bindings.append(self.reader.grant(sa))
