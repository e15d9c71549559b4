"""tripgen-cdk8s: typed cdk8s constructs that generate Helm charts with real values, a schema and
an exact round trip, the application model every app's environments share (guardrails, GitOps,
releases, overrides, review output); and TripGen's charts, built on them.

The public API of the generic layer is importable from here::

    from tripgen_cdk8s import HelmChart, HelmChartProps, MicroService, MicroServiceProps, Project

Names load on first use (``cdk8s`` starts a Node process, which the command line's ``--help`` does
not need).  TripGen's own model lives in :mod:`tripgen_cdk8s.tripgen`.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

# jsii prints a large end-of-life banner on Node 20 unless told not to; set before cdk8s loads.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

__version__ = "1.0.0"

_EXPORTS = {
    # the chart, its objects and values, the project an overlay defines
    "HelmChart": "lib.helmchart", "HelmChartProps": "lib.helmchart", "Resource": "lib.helmchart",
    "ChartValues": "lib.helmchart", "SynthesizedChart": "lib.helmchart", "KubernetesVersions": "lib.kubeversions",
    # the application model: one environment of an app, its guardrails, GitOps and releases
    "Project": "app.model", "Guardrails": "app.model", "GitOps": "app.model", "Destination": "app.model",
    "NodePool": "app.model",
    "EnvironmentSynthesis": "app.pipeline", "synthesize": "app.pipeline",
    "load_releases": "app.releases", "Releases": "app.releases",
    "ConfigError": "lib.errors", "ConstructError": "lib.errors", "PropsError": "lib.errors",
    "user_error": "lib.errors", "check_props": "lib.errors", "JsonPatch": "lib.helmchart",
    "resources_of": "lib.helmchart", "resource_of": "lib.helmchart",
    # value types
    "Image": "lib.model", "Resources": "lib.model", "ResourceAmounts": "lib.model",
    "HorizontalScaling": "lib.model", "KedaScaling": "lib.model", "PodsMetric": "lib.model",
    "ObjectMetric": "lib.model", "ExternalMetric": "lib.model",
    "IpBlock": "lib.model", "EgressFeature": "lib.model", "Toleration": "lib.model", "SecretFile": "lib.model",
    "SyncWindow": "lib.model", "ChartMetadata": "lib.model", "Maintainer": "lib.model",
    # constructs and their props
    "MicroService": "lib.constructs", "MicroServiceProps": "lib.constructs",
    "AutoscaledService": "lib.constructs", "AutoscaledServiceProps": "lib.constructs", "Scalable": "lib.constructs",
    "ZoneSpreadPolicy": "lib.constructs", "ZoneSpreadPolicyProps": "lib.constructs",
    "Strategy": "lib.constructs", "PreviewAnalysis": "lib.constructs",
    "Connections": "lib.constructs", "Scheduling": "lib.constructs",
    "ServiceNetworkPolicy": "lib.constructs", "ServiceNetworkPolicyProps": "lib.constructs",
    "NamespaceNetworkPolicies": "lib.constructs", "NamespacePoliciesProps": "lib.constructs",
    "AllowAllPolicy": "lib.constructs", "AllowAllPolicyProps": "lib.constructs",
    "ApiIngress": "lib.constructs", "ApiIngressProps": "lib.constructs", "IngressRoute": "lib.constructs",
    "nginx_annotations": "lib.constructs",
    "ServiceScrape": "lib.constructs", "ServiceScrapeProps": "lib.constructs",
    "Alert": "lib.constructs", "AlertRules": "lib.constructs", "AlertRulesProps": "lib.constructs",
    "AlertmanagerConfig": "lib.constructs", "AlertmanagerConfigProps": "lib.constructs",
    "Receiver": "lib.constructs", "Route": "lib.constructs", "SecretKey": "lib.constructs",
    "GrafanaDashboard": "lib.constructs", "GrafanaDashboardProps": "lib.constructs",
    "GuardrailPolicy": "lib.constructs", "GuardrailPolicyProps": "lib.constructs",
    "AppNamespace": "lib.constructs", "AppNamespaceProps": "lib.constructs",
    "ClusterRoleGrant": "lib.constructs", "ClusterRoleGrantProps": "lib.constructs",
    "ArgoProject": "lib.constructs", "ArgoProjectProps": "lib.constructs",
    "ArgoApplication": "lib.constructs", "ArgoApplicationProps": "lib.constructs", "ResourceKind": "lib.constructs",
    "Worker": "lib.constructs", "WorkerProps": "lib.constructs", "Job": "lib.constructs", "JobProps": "lib.constructs",
    "Hook": "lib.constructs", "CronJob": "lib.constructs", "CronJobProps": "lib.constructs",
    "StatefulService": "lib.constructs", "StatefulServiceProps": "lib.constructs", "VolumeClaim": "lib.constructs",
    "PodProps": "lib.constructs", "PodWorkload": "lib.constructs",
    "EnvValue": "lib.constructs", "EnvFrom": "lib.constructs", "Probe": "lib.constructs", "Container": "lib.constructs",
    "ContainerPort": "lib.constructs",
    # Azure, opt-in
    "PrivateEndpointSecret": "lib.azure", "PrivateEndpointSecretProps": "lib.azure", "KeyVaultAccess": "lib.azure",
    "SecretProviderClass": "lib.azure", "SecretProviderClassProps": "lib.azure",
}

__all__ = [
    "Alert", "AlertRules", "AlertRulesProps", "AlertmanagerConfig", "AlertmanagerConfigProps",
    "AllowAllPolicy", "AllowAllPolicyProps", "ApiIngress", "ApiIngressProps", "AppNamespace",
    "AppNamespaceProps", "ArgoApplication", "ArgoApplicationProps", "ArgoProject", "ArgoProjectProps",
    "AutoscaledService", "AutoscaledServiceProps", "ChartMetadata", "ChartValues", "ClusterRoleGrant",
    "ClusterRoleGrantProps", "ConfigError", "Connections", "ConstructError", "Container", "ContainerPort",
    "CronJob", "CronJobProps", "Destination", "EnvFrom", "EnvValue", "EnvironmentSynthesis",
    "ExternalMetric", "GitOps", "GrafanaDashboard", "GrafanaDashboardProps", "GuardrailPolicy",
    "GuardrailPolicyProps", "Guardrails", "HelmChart",
    "HelmChartProps", "Hook", "HorizontalScaling", "Image", "IngressRoute", "IpBlock", "EgressFeature", "Job", "JobProps",
    "Maintainer",
    "JsonPatch", "KedaScaling", "KeyVaultAccess", "KubernetesVersions", "MicroService", "MicroServiceProps",
    "NamespaceNetworkPolicies", "NamespacePoliciesProps", "NodePool", "ObjectMetric", "PodProps",
    "PodWorkload", "PodsMetric", "PreviewAnalysis", "PrivateEndpointSecret", "PrivateEndpointSecretProps",
    "Probe", "Project", "PropsError", "Receiver", "Releases", "Resource", "ResourceAmounts", "ResourceKind",
    "Resources", "Route", "Scalable", "Scheduling", "SecretFile", "SecretKey", "SecretProviderClass",
    "SecretProviderClassProps", "ServiceNetworkPolicy", "ServiceNetworkPolicyProps", "ServiceScrape",
    "ServiceScrapeProps", "StatefulService", "StatefulServiceProps", "Strategy", "SyncWindow",
    "SynthesizedChart", "Toleration", "VolumeClaim", "Worker", "WorkerProps", "ZoneSpreadPolicy",
    "ZoneSpreadPolicyProps", "check_props", "load_releases", "nginx_annotations", "resource_of",
    "resources_of", "synthesize", "user_error",
]


def __getattr__(name: str) -> Any:
    """Load an exported name from its module on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from .app.model import Destination, GitOps, Guardrails, NodePool, Project
    from .app.pipeline import EnvironmentSynthesis, synthesize
    from .app.releases import Releases, load_releases
    from .lib.azure import (
        KeyVaultAccess,
        PrivateEndpointSecret,
        PrivateEndpointSecretProps,
        SecretProviderClass,
        SecretProviderClassProps,
    )
    from .lib.constructs import (
        Alert,
        AlertmanagerConfig,
        AlertmanagerConfigProps,
        AlertRules,
        AlertRulesProps,
        AllowAllPolicy,
        AllowAllPolicyProps,
        ApiIngress,
        ApiIngressProps,
        AppNamespace,
        AppNamespaceProps,
        ArgoApplication,
        ArgoApplicationProps,
        ArgoProject,
        ArgoProjectProps,
        AutoscaledService,
        AutoscaledServiceProps,
        ClusterRoleGrant,
        ClusterRoleGrantProps,
        Connections,
        Container,
        ContainerPort,
        CronJob,
        CronJobProps,
        EnvFrom,
        EnvValue,
        GrafanaDashboard,
        GrafanaDashboardProps,
        GuardrailPolicy,
        GuardrailPolicyProps,
        Hook,
        IngressRoute,
        Job,
        JobProps,
        MicroService,
        MicroServiceProps,
        NamespaceNetworkPolicies,
        NamespacePoliciesProps,
        PodProps,
        PodWorkload,
        PreviewAnalysis,
        Probe,
        Receiver,
        ResourceKind,
        Route,
        Scalable,
        Scheduling,
        SecretKey,
        ServiceNetworkPolicy,
        ServiceNetworkPolicyProps,
        ServiceScrape,
        ServiceScrapeProps,
        StatefulService,
        StatefulServiceProps,
        Strategy,
        VolumeClaim,
        Worker,
        WorkerProps,
        ZoneSpreadPolicy,
        ZoneSpreadPolicyProps,
        nginx_annotations,
    )
    from .lib.errors import ConfigError, ConstructError, PropsError, check_props, user_error
    from .lib.helmchart import (
        ChartValues,
        HelmChart,
        HelmChartProps,
        JsonPatch,
        Resource,
        SynthesizedChart,
        resource_of,
        resources_of,
    )
    from .lib.kubeversions import KubernetesVersions
    from .lib.model import (
        EgressFeature,
        ExternalMetric,
        HorizontalScaling,
        Image,
        IpBlock,
        KedaScaling,
        ObjectMetric,
        PodsMetric,
        ResourceAmounts,
        Resources,
        SecretFile,
        SyncWindow,
        Toleration,
    )
