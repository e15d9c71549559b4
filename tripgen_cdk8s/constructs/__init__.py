"""The TripGen constructs, one per module."""

from .alertmanager_config import AlertmanagerConfig, AlertmanagerConfigProps, Receiver, Route, SecretKey
from .autoscaled_service import AutoscaledService, AutoscaledServiceProps
from .dashboards import GrafanaDashboard, GrafanaDashboardProps
from .gitops import ArgoApplication, ArgoApplicationProps, ArgoProject, ArgoProjectProps, ResourceKind
from .ingress import ApiIngress, ApiIngressProps
from .microservice import MicroService, MicroServiceProps
from .monitoring import Alert, AlertRules, AlertRulesProps, ServiceScrape
from .network import AllowAllPolicy, NamespaceNetworkPolicies, NamespacePoliciesProps, ServiceNetworkPolicy
from .platform import PlatformProps, TripGenPlatform
from .private_endpoint_secret import KeyVaultAccess, PrivateEndpointSecret, PrivateEndpointSecretProps
from .zone_spread_policy import ZoneSpreadPolicy, ZoneSpreadPolicyProps

__all__ = [
    "AllowAllPolicy", "AlertRules", "ArgoApplication", "ArgoApplicationProps", "ArgoProject", "ArgoProjectProps",
    "ResourceKind", "ApiIngress", "ApiIngressProps", "AutoscaledService", "AutoscaledServiceProps",
    "KeyVaultAccess", "MicroService", "MicroServiceProps", "NamespaceNetworkPolicies", "NamespacePoliciesProps",
    "PlatformProps", "PrivateEndpointSecret", "PrivateEndpointSecretProps", "ServiceNetworkPolicy",
    "ServiceScrape", "TripGenPlatform", "ZoneSpreadPolicy", "ZoneSpreadPolicyProps", "Alert", "AlertRulesProps",
    "AlertmanagerConfig", "AlertmanagerConfigProps", "Receiver", "Route", "SecretKey", "GrafanaDashboard",
    "GrafanaDashboardProps",
]
