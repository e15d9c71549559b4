"""The generic constructs: each is ``(scope, id, props)`` with a frozen props dataclass."""

from .alertmanager_config import AlertmanagerConfig, AlertmanagerConfigProps, Receiver, Route, SecretKey
from .autoscaled_service import AutoscaledService, AutoscaledServiceProps, Scalable
from .connections import Connectable, Connections
from .cron_job import CronJob, CronJobProps
from .dashboards import GrafanaDashboard, GrafanaDashboardProps
from .gitops import ArgoApplication, ArgoApplicationProps, ArgoProject, ArgoProjectProps, ResourceKind
from .guardrail_policy import GuardrailPolicy, GuardrailPolicyProps
from .ingress import ApiIngress, ApiIngressProps, IngressRoute, Routable, nginx_annotations
from .job import Hook, Job, JobProps
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
from .pod import Container, ContainerPort, EnvFrom, EnvValue, Probe
from .scheduling import Scheduling
from .stateful_service import StatefulService, StatefulServiceProps, VolumeClaim
from .strategy import BlueGreenStrategy, CanaryStrategy, PreviewAnalysis, RollingStrategy, Strategy
from .worker import Worker, WorkerProps
from .workload import PodProps, PodWorkload
from .zone_spread_policy import Schedulable, ZoneSpreadPolicy, ZoneSpreadPolicyProps

__all__ = [
    "Alert", "AlertRules", "AlertRulesProps", "AlertmanagerConfig", "AlertmanagerConfigProps", "AllowAllPolicy",
    "AllowAllPolicyProps", "ApiIngress", "ApiIngressProps", "AppNamespace", "AppNamespaceProps", "ArgoApplication",
    "ArgoApplicationProps", "ArgoProject", "ArgoProjectProps", "AutoscaledService", "AutoscaledServiceProps",
    "BlueGreenStrategy", "CanaryStrategy", "ClusterRoleGrant", "ClusterRoleGrantProps", "Connectable", "Connections",
    "Container", "ContainerPort", "CronJob", "CronJobProps", "EnvFrom", "EnvValue", "GrafanaDashboard",
    "GrafanaDashboardProps", "GuardrailPolicy", "GuardrailPolicyProps", "Hook", "IngressRoute", "Job", "JobProps",
    "MicroService", "MicroServiceProps",
    "NamespaceNetworkPolicies", "NamespacePoliciesProps", "PodProps", "PodWorkload", "PreviewAnalysis", "Probe",
    "Receiver", "ResourceKind", "RollingStrategy", "Routable", "Route", "Scalable", "Schedulable", "Scheduling",
    "Scrapable", "SecretKey", "ServiceNetworkPolicy", "ServiceNetworkPolicyProps", "ServiceScrape",
    "ServiceScrapeProps", "StatefulService", "StatefulServiceProps", "Strategy", "VolumeClaim", "Worker",
    "WorkerProps", "ZoneSpreadPolicy", "ZoneSpreadPolicyProps", "nginx_annotations",
]
