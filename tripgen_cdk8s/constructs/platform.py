"""TripGenPlatform: the namespace and what every service in it shares (TRIPGEN.md sections 1, 4, 7)."""

from __future__ import annotations

from dataclasses import dataclass

import constructs
from cdk8s_plus_29 import k8s

from ..helmchart import HelmChart


@dataclass(frozen=True)
class PlatformProps:
    """Namespace, its Pod Security level, quota, container defaults and the RBAC of the seed.

    ``reader_service_accounts`` are bound to ``application-reader`` (PP 7.2.2: user-service-sa).
    """

    namespace: str
    labels: dict[str, str]
    pod_security: str
    quota_requests_cpu: str | None
    quota_requests_memory: str | None
    reader_service_accounts: tuple[str, ...] = ()
    pod_security_warn: str = "restricted"


class TripGenPlatform(constructs.Construct):
    """Namespace with Pod Security labels, ResourceQuota (when sized), LimitRange and RBAC.

    ClusterRoles ``application-reader`` (read pods, services, configmaps) and
    ``application-writer`` (manage the workloads), ServiceAccount ``deployment-sa``; bindings are
    namespaced RoleBindings so the roles only ever apply inside the TripGen namespace.
    """

    def __init__(self, scope: constructs.Construct, id: str, props: PlatformProps) -> None:
        super().__init__(scope, id)
        ns = props.namespace

        def meta(name: str, namespaced: bool = True) -> k8s.ObjectMeta:
            return k8s.ObjectMeta(name=name, namespace=ns if namespaced else None, labels=dict(props.labels))

        ns_labels = dict(props.labels)
        ns_labels.update({
            "kubernetes.io/metadata.name": ns,
            "pod-security.kubernetes.io/enforce": props.pod_security,
            "pod-security.kubernetes.io/enforce-version": "v1.29",
            "pod-security.kubernetes.io/audit": props.pod_security_warn,
            "pod-security.kubernetes.io/warn": props.pod_security_warn,
        })
        self.namespace = k8s.KubeNamespace(self, "namespace", metadata=k8s.ObjectMeta(name=ns, labels=ns_labels))
        chart = HelmChart.of(self)
        # The chart's namespace is the release's: `helm template --namespace X` creates and labels X.
        chart.bind_namespace(self.namespace, ("metadata", "name"), ns)
        chart.bind_namespace(self.namespace, ("metadata", "labels", "kubernetes.io/metadata.name"), ns)
        if props.quota_requests_cpu and props.quota_requests_memory:
            self.quota = k8s.KubeResourceQuota(
                self, "quota", metadata=meta(f"{ns}-quota"),
                spec=k8s.ResourceQuotaSpec(hard={
                    "requests.cpu": k8s.Quantity.from_string(props.quota_requests_cpu),
                    "requests.memory": k8s.Quantity.from_string(props.quota_requests_memory),
                }))
        self.limit_range = k8s.KubeLimitRange(
            self, "limit-range", metadata=meta(f"{ns}-limits"),
            spec=k8s.LimitRangeSpec(limits=[k8s.LimitRangeItem(
                type="Container",
                default={"cpu": k8s.Quantity.from_string("500m"), "memory": k8s.Quantity.from_string("512Mi"),
                         "ephemeral-storage": k8s.Quantity.from_string("1Gi")},
                default_request={"cpu": k8s.Quantity.from_string("100m"), "memory": k8s.Quantity.from_string("256Mi"),
                                 "ephemeral-storage": k8s.Quantity.from_string("256Mi")},
            )]))
        self.reader = k8s.KubeClusterRole(
            self, "application-reader", metadata=meta("application-reader", namespaced=False),
            rules=[k8s.PolicyRule(api_groups=[""], resources=["pods", "services", "configmaps"],
                                  verbs=["get", "list", "watch"])])
        self.writer = k8s.KubeClusterRole(
            self, "application-writer", metadata=meta("application-writer", namespaced=False),
            rules=[k8s.PolicyRule(api_groups=["apps"], resources=["deployments"],
                                  verbs=["get", "list", "watch", "create", "update", "patch", "delete"]),
                   k8s.PolicyRule(api_groups=["argoproj.io"], resources=["rollouts"],
                                  verbs=["get", "list", "watch", "create", "update", "patch", "delete"])])
        self.deployment_sa = k8s.KubeServiceAccount(
            self, "deployment-sa", metadata=meta("deployment-sa"), automount_service_account_token=False)

        def binding(name: str, role: str, subject: str) -> k8s.KubeRoleBinding:
            rb = k8s.KubeRoleBinding(
                self, name, metadata=meta(name),
                role_ref=k8s.RoleRef(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=role),
                subjects=[k8s.Subject(kind="ServiceAccount", name=subject, namespace=ns)])
            chart.bind_namespace(rb, ("subjects", 0, "namespace"), ns)
            return rb

        self.bindings = [binding("deployment-sa-application-writer", "application-writer", "deployment-sa")]
        for sa in props.reader_service_accounts:
            self.bindings.append(binding(f"{sa}-application-reader", "application-reader", sa))
