"""AlertmanagerConfig: a namespace's alert routing tree and receivers for the Prometheus Operator
(``monitoring.coreos.com/v1alpha1``).  Generic: the routes and receivers come from the app layer.

Receivers hold no credential: each names a key of a Kubernetes Secret (created outside the
charts) that the operator reads when it renders Alertmanager's configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import constructs

from ..errors import ConstructError, check_props
from ..helmchart import HelmChart, Resource

API_VERSION = "monitoring.coreos.com/v1alpha1"


@dataclass(frozen=True)
class SecretKey:
    """A key of a Secret in the config's namespace."""

    secret: str
    key: str

    def to_json(self) -> dict[str, str]:
        """The ``SecretKeySelector`` the CRD expects."""
        return {"name": self.secret, "key": self.key}


@dataclass(frozen=True)
class Receiver:
    """A named receiver; build one with :meth:`pagerduty` or :meth:`teams`."""

    name: str
    kind: str
    credential: SecretKey
    send_resolved: bool = True

    @staticmethod
    def pagerduty(name: str, routing_key: SecretKey, send_resolved: bool = True) -> Receiver:
        """PagerDuty Events API v2 with the integration's routing key."""
        return Receiver(name, "pagerduty", routing_key, send_resolved)

    @staticmethod
    def teams(name: str, webhook_url: SecretKey, send_resolved: bool = True) -> Receiver:
        """Microsoft Teams through a Workflows (Power Automate) webhook: the operator's
        ``msteamsv2Configs`` (Alertmanager >= 0.28; the Office 365 connector webhooks behind
        ``msteamsConfigs`` are retired)."""
        return Receiver(name, "teams", webhook_url, send_resolved)

    def to_json(self) -> dict[str, Any]:
        """The receiver entry of ``spec.receivers``."""
        if self.kind == "pagerduty":
            return {"name": self.name, "pagerdutyConfigs": [
                {"routingKey": self.credential.to_json(), "sendResolved": self.send_resolved}]}
        return {"name": self.name, "msteamsv2Configs": [
            {"webhookURL": self.credential.to_json(), "sendResolved": self.send_resolved}]}


@dataclass(frozen=True)
class Route:
    """A child route: alerts whose labels equal ``matchers`` go to ``receiver``; with
    ``continue_`` True the next sibling route is tried as well.  ``repeat_interval`` (for example
    ``30m``) defaults to the parent's."""

    receiver: str
    matchers: tuple[tuple[str, str], ...]
    repeat_interval: str = ""
    continue_: bool = False

    def to_json(self) -> dict[str, Any]:
        """The route entry of ``spec.route.routes``."""
        out: dict[str, Any] = {
            "receiver": self.receiver,
            "matchers": [{"name": k, "value": v, "matchType": "="} for k, v in self.matchers],
        }
        if self.repeat_interval:
            out["repeatInterval"] = self.repeat_interval
        if self.continue_:
            out["continue"] = True
        return out


@dataclass(frozen=True)
class AlertmanagerConfigProps:
    """An ``AlertmanagerConfig``: the top-level route sends everything to ``receiver`` unless a
    child of ``routes`` matches first.

    ``group_by`` defaults to ``("alertname",)``; ``group_wait`` to ``30s``, ``group_interval`` to
    ``5m`` and ``repeat_interval`` to ``4h`` (Alertmanager's own defaults, except group_by).
    Every route's receiver must be one of ``receivers``.
    """

    name: str
    receiver: str
    receivers: tuple[Receiver, ...]
    namespace: str = ""
    routes: tuple[Route, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    group_by: tuple[str, ...] = ("alertname",)
    group_wait: str = "30s"
    group_interval: str = "5m"
    repeat_interval: str = "4h"


class AlertmanagerConfig(constructs.Construct):
    """The ``AlertmanagerConfig`` object; refuses a route to an undeclared receiver."""

    def __init__(self, scope: constructs.Construct, id: str, props: AlertmanagerConfigProps) -> None:
        super().__init__(scope, id)
        check_props(self, props)
        names = [r.name for r in props.receivers]
        if len(set(names)) != len(names):
            raise ConstructError.of(self, "receivers", names, "each receiver name once (receiver names repeat)")
        for target in [props.receiver, *(r.receiver for r in props.routes)]:
            if target not in names:
                raise ConstructError.of(self, "receiver", target, f"a declared receiver ({', '.join(names)}); "
                                                                  f"route to unknown receiver {target!r}")
        self.props = props
        route: dict[str, Any] = {
            "receiver": props.receiver,
            "groupBy": list(props.group_by),
            "groupWait": props.group_wait,
            "groupInterval": props.group_interval,
            "repeatInterval": props.repeat_interval,
        }
        if props.routes:
            route["routes"] = [r.to_json() for r in props.routes]
        chart = HelmChart.of(scope)
        self.api_object = Resource(chart, api_version=API_VERSION, kind="AlertmanagerConfig", name=props.name,
                                   namespace=props.namespace or chart.target_namespace,
                                   labels=dict(props.labels) or chart.standard_labels("monitoring"),
                                   body={"spec": {"route": route, "receivers": [r.to_json() for r in props.receivers]}})
