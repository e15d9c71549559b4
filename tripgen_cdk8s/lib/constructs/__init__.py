"""The generic constructs: each is ``(scope, id, props)`` with a frozen props dataclass."""

from .alertmanager_config import AlertmanagerConfig, AlertmanagerConfigProps, Receiver, Route, SecretKey
from .autoscaled_service import AutoscaledService, AutoscaledServiceProps, Scalable
from .connections import Connectable, Connections
from .dashboards import GrafanaDashboard, GrafanaDashboardProps
from .gitops import ArgoApplication, ArgoApplicationProps, ArgoProject, ArgoProjectProps, ResourceKind
from .ingress import ApiIngress, ApiIngressProps, IngressRoute, Routable, nginx_annotations
from .microservice import MicroService, MicroServiceProps
from .monitoring import Alert, AlertRules, AlertRulesProps, Scrapable, ServiceScrape, ServiceScrapeProps
from .namespace import AppNamespace, AppNamespaceProps, ClusterRoleGrant, ClusterRoleGrantProps
from .network import (
    AllowAllPolicy,
    AllowAllPolicyProps,
    NamespaceNetworkPolicies,
    NamespacePoliciesProps,
    ServiceNetworkPolicy,
    ServiceNetworkPolicyProps,
)
from .scheduling import Scheduling
from .strategy import BlueGreenStrategy, CanaryStrategy, PreviewAnalysis, RollingStrategy, Strategy
from .zone_spread_policy import Schedulable, ZoneSpreadPolicy, ZoneSpreadPolicyProps

__all__ = [
    "Alert", "AlertRules", "AlertRulesProps", "AlertmanagerConfig", "AlertmanagerConfigProps", "AllowAllPolicy",
    "AllowAllPolicyProps", "ApiIngress", "ApiIngressProps", "AppNamespace", "AppNamespaceProps", "ArgoApplication",
    "ArgoApplicationProps", "ArgoProject", "ArgoProjectProps", "AutoscaledService", "AutoscaledServiceProps",
    "BlueGreenStrategy", "CanaryStrategy", "ClusterRoleGrant", "ClusterRoleGrantProps", "Connectable", "Connections",
    "GrafanaDashboard", "GrafanaDashboardProps", "IngressRoute", "MicroService", "MicroServiceProps",
    "NamespaceNetworkPolicies", "NamespacePoliciesProps", "PreviewAnalysis", "Receiver", "ResourceKind",
    "RollingStrategy", "Routable", "Route", "Scalable", "Schedulable", "Scheduling", "Scrapable", "SecretKey",
    "ServiceNetworkPolicy", "ServiceNetworkPolicyProps", "ServiceScrape", "ServiceScrapeProps", "Strategy",
    "ZoneSpreadPolicy", "ZoneSpreadPolicyProps", "nginx_annotations",
]
