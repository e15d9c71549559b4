"""Every construct is ``(scope, id, props)`` with a frozen props dataclass whose optional fields
have defaults."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from tripgen_cdk8s.lib import azure
from tripgen_cdk8s.lib import constructs as lib_constructs
from tripgen_cdk8s.tripgen import platform

PROPS = sorted({obj for module in (lib_constructs, azure) for name in module.__all__
                if name.endswith("Props") and isinstance(obj := getattr(module, name), type)} | {platform.PlatformProps},
               key=lambda c: c.__name__)
CONSTRUCT_OF = {"NamespacePoliciesProps": "NamespaceNetworkPolicies", "PlatformProps": "TripGenPlatform",
                "PodProps": "PodWorkload"}
CONSTRUCTS = [getattr(module, CONSTRUCT_OF.get(props.__name__, props.__name__[:-len("Props")]))
              for props in PROPS for module in (lib_constructs, azure, platform)
              if props.__module__ == module.__name__ or props.__module__.startswith(module.__name__ + ".")]
REQUIRED = {
    # the fields a caller must give: everything else has a default
    "AlertRulesProps": {"name", "alerts"},
    "AlertmanagerConfigProps": {"name", "receiver", "receivers"},
    "AllowAllPolicyProps": {"namespace"},
    "ApiIngressProps": {"name", "host"},
    "AppNamespaceProps": set(),
    "ArgoApplicationProps": {"name", "project", "argocd_namespace", "repo_url", "target_revision", "path",
                             "destination_namespace", "labels"},
    "ArgoProjectProps": {"name", "argocd_namespace", "repo_url", "destination_namespace", "labels",
                         "namespaced_kinds"},
    "AutoscaledServiceProps": {"target", "scaling"},
    "ClusterRoleGrantProps": {"role_name", "rules"},
    "CronJobProps": {"name", "image", "resources", "schedule"},
    "JobProps": {"name", "image", "resources"},
    "PodProps": {"name", "image", "resources"},
    "StatefulServiceProps": {"name", "image", "resources"},
    "WorkerProps": {"name", "image", "resources"},
    "GrafanaDashboardProps": {"name", "dashboard"},
    "GuardrailPolicyProps": set(),
    "MicroServiceProps": {"name", "image", "resources"},
    "NamespacePoliciesProps": {"namespace"},
    "PlatformProps": {"namespace"},
    "PrivateEndpointSecretProps": {"workload", "alias"},
    "SecretProviderClassProps": {"workload", "access"},
    "ServiceNetworkPolicyProps": {"workload"},
    "ServiceScrapeProps": {"target"},
    "ZoneSpreadPolicyProps": set(),
}


def test_every_props_class_is_listed():
    assert {c.__name__ for c in PROPS} == set(REQUIRED)
    assert len(CONSTRUCTS) == len(PROPS)


@pytest.mark.parametrize("props", PROPS, ids=lambda c: c.__name__)
def test_props_are_frozen_dataclasses_with_defaults_for_optional_fields(props):
    assert dataclasses.is_dataclass(props) and props.__dataclass_params__.frozen
    fields = dataclasses.fields(props)
    required = {f.name for f in fields
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    assert required == REQUIRED[props.__name__]
    # build one with dummies for the required fields, then assigning to any field raises
    instance = props(**{name: object() for name in required})
    for f in fields:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(instance, f.name, None)


@pytest.mark.parametrize("construct", CONSTRUCTS, ids=lambda c: c.__name__)
def test_constructs_take_scope_id_and_props(construct):
    params = list(inspect.signature(construct.__init__).parameters.values())
    assert [p.name for p in params] == ["self", "scope", "id", "props"]
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params)
    props = {v: k for k, v in CONSTRUCT_OF.items()}.get(construct.__name__, f"{construct.__name__}Props")
    assert params[3].annotation == props
