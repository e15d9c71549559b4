"""ApiIngress: one Ingress routing URL path prefixes to workloads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import constructs

from ..errors import ConstructError, check_props
from ..helmchart import HelmChart, Resource


@runtime_checkable
class Routable(Protocol):
    """A workload an Ingress can route to: its Service ``name`` and ``port``."""

    name: str
    port: int


@dataclass(frozen=True)
class IngressRoute:
    """Requests whose path starts with ``path`` go to ``backend``."""

    path: str
    backend: Routable


def nginx_annotations(request_timeout_seconds: int = 60) -> dict[str, str]:
    """ingress-nginx annotations: proxy read and send timeouts (no rewrite: the backends serve the
    full path themselves)."""
    timeout = str(request_timeout_seconds)
    return {"nginx.ingress.kubernetes.io/proxy-read-timeout": timeout,
            "nginx.ingress.kubernetes.io/proxy-send-timeout": timeout}


@dataclass(frozen=True)
class ApiIngressProps:
    """``name``, ``host`` and ``class_name`` (the IngressClass: ``nginx`` by default); ``routes``
    (more with :meth:`ApiIngress.add_route`); the controller's ``annotations`` (see
    :func:`nginx_annotations`; default none); ``namespace`` (default the chart's); ``labels``."""

    name: str
    host: str
    class_name: str = "nginx"
    routes: tuple[IngressRoute, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)
    namespace: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)


class ApiIngress(constructs.Construct):
    """One Ingress with a ``Prefix`` rule per route, sorted by path; a path routed twice is refused.
    Services that are given no route stay internal."""

    def __init__(self, scope: constructs.Construct, id: str, props: ApiIngressProps) -> None:
        super().__init__(scope, id)
        check_props(self, props)
        chart = HelmChart.of(scope)
        self.props = props
        self.routes: list[IngressRoute] = []
        for route in props.routes:
            self.add_route(route.path, route.backend)
        self.ingress = Resource(chart, api_version="networking.k8s.io/v1", kind="Ingress", name=props.name,
                                namespace=props.namespace or chart.target_namespace,
                                labels=dict(props.labels) or chart.standard_labels("ingress"),
                                annotations=props.annotations, body=self._body)

    def add_route(self, path: str, backend: Routable) -> None:
        """Route requests under ``path`` to ``backend``."""
        if not path.startswith("/"):
            raise ConstructError.of(self, "routes", path, "a path that must start with /")
        if any(r.path == path for r in self.routes):
            raise ConstructError.of(self, "routes", path, f"each path once (path {path} routed twice)")
        self.routes.append(IngressRoute(path, backend))

    def _body(self) -> dict[str, object]:
        if not self.routes:
            raise ConstructError.of(self, "routes", (), "at least one route (no routes)")
        paths = [{"path": r.path, "pathType": "Prefix",
                  "backend": {"service": {"name": r.backend.name, "port": {"number": r.backend.port}}}}
                 for r in sorted(self.routes, key=lambda r: r.path)]
        return {"spec": {"ingressClassName": self.props.class_name,
                         "rules": [{"host": self.props.host, "http": {"paths": paths}}]}}
