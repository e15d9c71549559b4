"""ApiIngress: the Application Gateway Ingress of prod (TRIPGEN.md section 6)."""

from __future__ import annotations

from dataclasses import dataclass

import constructs
from cdk8s_plus_29 import k8s

from .microservice import MicroService

APPGW = "appgw.ingress.kubernetes.io/"


@dataclass(frozen=True)
class ApiIngressProps:
    """Host and timeout; for App Gateway also the TLS certificate (Key Vault name) and WAF policy
    resource ID.  ``class_name`` selects the controller: ``azure-application-gateway`` or ``nginx``."""

    name: str
    namespace: str
    labels: dict[str, str]
    host: str
    request_timeout_seconds: int
    tls_certificate: str = ""
    waf_policy_id: str = ""
    class_name: str = "azure-application-gateway"


def controller_annotations(props: ApiIngressProps) -> dict[str, str]:
    """The annotations of the ingress controller ``props.class_name`` selects."""
    if props.class_name == "nginx":
        # No rewrite: the applications serve /api/v1/... themselves.
        timeout = str(props.request_timeout_seconds)
        return {"nginx.ingress.kubernetes.io/proxy-read-timeout": timeout,
                "nginx.ingress.kubernetes.io/proxy-send-timeout": timeout}
    return {
        APPGW + "appgw-ssl-certificate": props.tls_certificate,
        APPGW + "ssl-redirect": "true",
        APPGW + "waf-policy-for-path": props.waf_policy_id,
        APPGW + "request-timeout": str(props.request_timeout_seconds),
        APPGW + "backend-protocol": "http",
    }


class ApiIngress(constructs.Construct):
    """One Ingress with a ``Prefix`` rule per API path of the routed services."""

    def __init__(self, scope: constructs.Construct, id: str, props: ApiIngressProps,
                 routes: list[tuple[str, MicroService]]) -> None:
        super().__init__(scope, id)
        self.routes = sorted(routes, key=lambda r: r[0])
        paths = [
            k8s.HttpIngressPath(
                path=path,
                path_type="Prefix",
                backend=k8s.IngressBackend(service=k8s.IngressServiceBackend(
                    name=svc.name, port=k8s.ServiceBackendPort(number=svc.port))),
            )
            for path, svc in self.routes
        ]
        self.ingress = k8s.KubeIngress(
            self,
            "ingress",
            metadata=k8s.ObjectMeta(
                name=props.name,
                namespace=props.namespace,
                labels=dict(props.labels),
                annotations=controller_annotations(props),
            ),
            spec=k8s.IngressSpec(
                ingress_class_name=props.class_name,
                rules=[k8s.IngressRule(host=props.host, http=k8s.HttpIngressRuleValue(paths=paths))],
            ),
        )
