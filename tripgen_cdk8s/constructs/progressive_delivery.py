"""Argo Rollouts for a MicroService: blue-green with a pre-promotion analysis, or canary
(TRIPGEN.md section 10).  Used by MicroService for the ``blueGreen`` and ``canary`` strategies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import cdk8s
from cdk8s_plus_29 import k8s

from ..helmchart import HelmChart

if TYPE_CHECKING:
    from .microservice import MicroService

ROLLOUT_API = "argoproj.io/v1alpha1"


def _duration(seconds: int) -> str:
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"


def preview_error_rate_query(namespace: str) -> str:
    """PromQL: the share of 5xx responses of the preview Service's pods over 2 minutes.

    No traffic or no 5xx series gives 0 rather than an empty result (which would fail the
    analysis for lack of data, not for errors).  ``{{args.service-name}}`` is filled by Argo Rollouts.
    """
    sel = f'namespace="{namespace}", service="{{{{args.service-name}}}}"'
    return (f'(sum(rate(http_server_requests_seconds_count{{{sel}, status=~"5.."}}[2m])) or vector(0))'
            f" / (sum(rate(http_server_requests_seconds_count{{{sel}}}[2m])) > 0 or vector(1))")


def rollout(service: MicroService, deployment: dict[str, Any]) -> cdk8s.ApiObject:
    """The Rollout that replaces ``deployment`` (its synthesised JSON), with the same pod template."""
    p = service.props
    spec = {k: v for k, v in deployment["spec"].items() if k != "strategy"}
    if p.strategy == "blueGreen":
        spec["strategy"] = {"blueGreen": _blue_green(service)}
    elif p.strategy == "canary":
        steps: list[dict[str, Any]] = []
        for weight, pause in p.delivery.canary_steps:
            steps += [{"setWeight": weight}, {"pause": {"duration": _duration(pause)}}]
        steps.append({"setWeight": 100})
        # No trafficRouting: App Gateway has no Rollouts router, so weights are replica ratios.
        spec["strategy"] = {"canary": {"maxSurge": "25%", "maxUnavailable": 0, "steps": steps}}
    else:
        raise ValueError(f"unknown strategy {p.strategy}")
    obj = cdk8s.ApiObject(
        service, "rollout", api_version=ROLLOUT_API, kind="Rollout",
        metadata=cdk8s.ApiObjectMetadata(name=service.name, namespace=service.namespace, labels=dict(service.labels)))
    obj.add_json_patch(cdk8s.JsonPatch.add("/spec", spec))
    return obj


def _blue_green(service: MicroService) -> dict[str, Any]:
    d = service.props.delivery
    preview = f"{service.name}-preview"
    k8s.KubeService(
        service, "preview-service",
        metadata=k8s.ObjectMeta(name=preview, namespace=service.namespace, labels=dict(service.labels)),
        spec=k8s.ServiceSpec(
            type="ClusterIP", selector=dict(service.selector),
            ports=[k8s.ServicePort(name="http", port=service.port, target_port=k8s.IntOrString.from_string("http"),
                                   protocol="TCP")]))
    template = f"{service.name}-preview-error-rate"
    analysis = cdk8s.ApiObject(
        service, "analysis-template", api_version=ROLLOUT_API, kind="AnalysisTemplate",
        metadata=cdk8s.ApiObjectMetadata(name=template, namespace=service.namespace, labels=dict(service.labels)))
    analysis.add_json_patch(cdk8s.JsonPatch.add("/spec", {
        "args": [{"name": "service-name"}],
        "metrics": [{
            "name": "preview-5xx-rate",
            "interval": "1m",
            "count": 5,
            "failureLimit": 0,
            "successCondition": f"result[0] < {d.max_preview_error_rate}",
            "provider": {"prometheus": {"address": d.prometheus_address,
                                        "query": preview_error_rate_query(service.namespace)}},
        }],
    }))
    HelmChart.of(service).bind_namespace(analysis, ("spec", "metrics", 0, "provider", "prometheus", "query"),
                                         preview_error_rate_query(service.namespace))
    service.preview_service_name = preview
    return {
        "activeService": service.name,
        "previewService": preview,
        "autoPromotionEnabled": d.auto_promotion_enabled,
        "scaleDownDelaySeconds": d.scale_down_delay_seconds,
        "prePromotionAnalysis": {"templates": [{"templateName": template}],
                                 "args": [{"name": "service-name", "value": preview}]},
    }
