"""ApiIngress: the Application Gateway Ingress of prod (TRIPGEN.md section 6)."""

from __future__ import annotations

from dataclasses import dataclass

import constructs
from cdk8s_plus_29 import k8s

from .microservice import HTTP_PORT, MicroService

APPGW = "appgw.ingress.kubernetes.io/"


@dataclass(frozen=True)
class ApiIngressProps:
    """Host, TLS certificate (Key Vault name), WAF policy resource ID and timeout of the gateway."""

    name: str
    namespace: str
    labels: dict[str, str]
    host: str
    tls_certificate: str
    waf_policy_id: str
    request_timeout_seconds: int
    class_name: str = "azure-application-gateway"


class ApiIngress(constructs.Construct):
    """One Ingress with a ``Prefix`` rule per API path; :meth:`route` adds a service's paths."""

    def __init__(self, scope: constructs.Construct, id: str, props: ApiIngressProps,
                 routes: list[tuple[str, MicroService]]) -> None:
        super().__init__(scope, id)
        self.routes = sorted(routes, key=lambda r: r[0])
        paths = [
            k8s.HttpIngressPath(
                path=path,
                path_type="Prefix",
                backend=k8s.IngressBackend(service=k8s.IngressServiceBackend(
                    name=svc.name, port=k8s.ServiceBackendPort(number=HTTP_PORT))),
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
                annotations={
                    APPGW + "appgw-ssl-certificate": props.tls_certificate,
                    APPGW + "ssl-redirect": "true",
                    APPGW + "waf-policy-for-path": props.waf_policy_id,
                    APPGW + "request-timeout": str(props.request_timeout_seconds),
                    APPGW + "backend-protocol": "http",
                },
            ),
            spec=k8s.IngressSpec(
                ingress_class_name=props.class_name,
                rules=[k8s.IngressRule(host=props.host, http=k8s.HttpIngressRuleValue(paths=paths))],
            ),
        )
