"""AlertmanagerConfig: the routing tree and receivers; routes to unknown receivers are refused."""

from __future__ import annotations

import pytest
from construct_helpers import new_chart, synth

from tripgen_cdk8s.lib.constructs import AlertmanagerConfig, AlertmanagerConfigProps, Receiver, Route, SecretKey

PAGER = Receiver.pagerduty("pager", SecretKey("alerting", "pd-key"))
TEAMS = Receiver.teams("chat", SecretKey("alerting", "teams-url"), send_resolved=False)


def test_routes_and_receivers():
    chart = new_chart()
    config = AlertmanagerConfig(chart, "am", AlertmanagerConfigProps(
        name="routing", receiver="chat", receivers=(PAGER, TEAMS), labels={"alertmanagerConfig": "on"},
        routes=(Route("pager", (("severity", "critical"),), repeat_interval="30m", continue_=True),
                Route("chat", (("severity", "warning"), ("team", "core")))),
        group_by=("alertname", "service"), repeat_interval="12h"))
    assert config.props.name == "routing"
    obj = synth(chart)[("AlertmanagerConfig", "routing")]
    assert obj["apiVersion"] == "monitoring.coreos.com/v1alpha1"
    assert obj["metadata"] == {"name": "routing", "namespace": "ns", "labels": {"alertmanagerConfig": "on"}}
    assert obj["spec"]["route"] == {
        "receiver": "chat", "groupBy": ["alertname", "service"], "groupWait": "30s", "groupInterval": "5m",
        "repeatInterval": "12h", "routes": [
            {"receiver": "pager", "matchers": [{"name": "severity", "value": "critical", "matchType": "="}],
             "repeatInterval": "30m", "continue": True},
            {"receiver": "chat", "matchers": [{"name": "severity", "value": "warning", "matchType": "="},
                                              {"name": "team", "value": "core", "matchType": "="}]}]}
    assert obj["spec"]["receivers"] == [
        {"name": "pager", "pagerdutyConfigs": [{"routingKey": {"name": "alerting", "key": "pd-key"},
                                                "sendResolved": True}]},
        {"name": "chat", "msteamsv2Configs": [{"webhookURL": {"name": "alerting", "key": "teams-url"},
                                               "sendResolved": False}]}]


def test_defaults_and_no_child_routes():
    chart = new_chart()
    AlertmanagerConfig(chart, "am", AlertmanagerConfigProps(name="r", receiver="chat", receivers=(TEAMS,),
                                                            namespace="mon"))
    obj = synth(chart)[("AlertmanagerConfig", "r")]
    assert obj["metadata"]["namespace"] == "mon"
    assert obj["spec"]["route"] == {"receiver": "chat", "groupBy": ["alertname"], "groupWait": "30s",
                                    "groupInterval": "5m", "repeatInterval": "4h"}


@pytest.mark.parametrize("props", [
    AlertmanagerConfigProps(name="r", receiver="nobody", receivers=(TEAMS,)),
    AlertmanagerConfigProps(name="r", receiver="chat", receivers=(TEAMS,), routes=(Route("pager", (("a", "b"),)),)),
])
def test_a_route_to_an_unknown_receiver_is_refused(props):
    chart = new_chart()
    with pytest.raises(ValueError, match="unknown receiver"):
        AlertmanagerConfig(chart, "am", props)
    assert synth(chart) == {}


def test_receiver_names_must_be_unique():
    chart = new_chart()
    with pytest.raises(ValueError, match="receiver names repeat"):
        AlertmanagerConfig(chart, "am", AlertmanagerConfigProps(name="r", receiver="chat", receivers=(
            TEAMS, Receiver.pagerduty("chat", SecretKey("s", "k")))))
