"""Issue 21 #21: network intent derived from the features a service turns on.

Under prod's default deny, a service bound to read the Kubernetes API needs egress to the API
server, one sending Application Insights telemetry egress to the ingestion endpoint, one holding a
private-endpoint store egress to its subnet (TRIPGEN.md 6.5, 6.7, 6.8).  The destinations are
CIDRs named in config (``ClusterNetwork.api_server_cidrs``, ``Telemetry.egress_cidrs``); Internet
egress only where config declares it with a reason; a feature turned on without its egress is
refused at synth (exit 2) and by the invariant ``validate`` runs, naming the service and the feature.
"""

from __future__ import annotations

import copy
import dataclasses
import ipaddress

import pytest
from test_app_model import make_project

from conftest import ROOT, find, objects, run_cli
from tripgen_cdk8s.lib.errors import ConfigError
from tripgen_cdk8s.lib.model import FEATURE_EGRESS, FEATURES, INTERNET_EGRESS, EgressFeature, IpBlock
from tripgen_cdk8s.lib.validation import check_feature_egress, check_internet_egress, check_invariants
from tripgen_cdk8s.tripgen import overlays
from tripgen_cdk8s.tripgen.app import synthesize
from tripgen_cdk8s.tripgen.config import ClusterNetwork, validate

SERVICES = ("user-service", "trip-service", "ai-service", "location-service")
PROD = overlays.load(ROOT, "prod")
API_SERVER = "10.0.1.0/24"  # the seed's private cluster: its API server endpoint in the Application Subnet
INTERNET = "0.0.0.0/0"
TELEMETRY_REASON = "Application Insights ingestion (appi-tripgen-prod, no private link scope)"


def egress_blocks(policy: dict) -> dict[str, set[int]]:
    """cidr -> TCP ports of every ipBlock egress rule of a NetworkPolicy."""
    out: dict[str, set[int]] = {}
    for rule in policy["spec"].get("egress") or []:
        for peer in rule.get("to") or []:
            if "ipBlock" in peer:
                out.setdefault(peer["ipBlock"]["cidr"], set()).update(p["port"] for p in rule.get("ports") or [])
    return out


def workload(env: str, name: str) -> dict:
    return next(o for o in objects(env) if o["kind"] in ("Deployment", "Rollout") and o["metadata"]["name"] == name)


# ------------------------------------------------------------------------------------- prod


@pytest.mark.parametrize("name", SERVICES)
def test_every_feature_a_prod_service_turns_on_has_its_egress(name):
    used = workload("prod", name)["metadata"]["annotations"][FEATURES].split(",")
    policy = find("prod", "NetworkPolicy", name)
    served = policy["metadata"]["annotations"][FEATURE_EGRESS].split(",")
    blocks = egress_blocks(policy)
    # TRIPGEN.md 6.8: Application Insights without a private link scope: Internet egress on 443
    assert "telemetry" in used and blocks[INTERNET] == {443}
    assert TELEMETRY_REASON in policy["metadata"]["annotations"][INTERNET_EGRESS]
    assert ("kubernetes-api" in used) == (name == "user-service")  # 6.7: only user-service reads the API
    if name == "user-service":  # user-service holds no Service Bus store: this rule is the API server's
        assert blocks[API_SERVER] == {443} and "kubernetes-api" in served
    else:
        assert "kubernetes-api" not in served
    assert {"store-postgresql", "store-redis"} <= set(used)
    assert set(used) <= set(served)


def test_prod_holds_the_feature_and_internet_invariants():
    objs = objects("prod")
    assert check_feature_egress(objs) == []
    assert check_internet_egress(objs) == []
    reasons = {n: find("prod", "NetworkPolicy", n)["metadata"].get("annotations", {}).get(INTERNET_EGRESS) for n in SERVICES}
    assert reasons == {"user-service": TELEMETRY_REASON, "trip-service": TELEMETRY_REASON,
                       "ai-service": f"HTTPS to api.openai.com; {TELEMETRY_REASON}",
                       "location-service": "HTTPS to maps.googleapis.com, dapi.kakao.com, apis.openapi.sk.com, "
                                           f"api.openweathermap.org, api.weatherapi.com; {TELEMETRY_REASON}"}


def test_the_api_server_range_is_the_seeds_application_subnet_and_private():
    # physical-architecture-prod 3.1.1: a private cluster with Azure CNI; its API server's private
    # endpoint sits in the cluster's subnet, the Application Subnet (4.1.1)
    assert PROD.cluster_network.api_server_cidrs == ("10.0.1.0/24",)
    assert all(ipaddress.ip_network(c).is_private for c in PROD.cluster_network.api_server_cidrs)
    assert PROD.telemetry.egress_cidrs == () and PROD.telemetry.internet_egress_reason == TELEMETRY_REASON


@pytest.mark.parametrize("name", ("ai-service", "location-service"))
def test_two_features_to_the_same_block_render_one_rule_and_keep_both_reasons(name):
    policy = find("prod", "NetworkPolicy", name)
    internet_rules = [r for r in policy["spec"]["egress"]
                      if any((p.get("ipBlock") or {}).get("cidr") == INTERNET for p in r.get("to") or [])]
    assert len(internet_rules) == 1  # external HTTPS and telemetry both go to the Internet on 443
    reasons = policy["metadata"]["annotations"][INTERNET_EGRESS].split("; ")
    assert reasons[0].startswith("HTTPS to ") and reasons[1] == TELEMETRY_REASON


def test_dev_allows_all_so_its_features_need_no_destination():
    dev = objects("dev")
    assert workload("dev", "user-service")["metadata"]["annotations"][FEATURES].startswith("kubernetes-api")
    assert check_feature_egress(dev) == []


# ------------------------------------------------------------------------------------- config


def test_api_access_without_the_api_server_address_is_refused_naming_service_and_feature():
    env = dataclasses.replace(PROD, cluster_network=ClusterNetwork())
    with pytest.raises(ConfigError) as err:
        validate(env)
    assert err.value.field == "services.user-service.kubernetes_api_access"
    assert "kubernetes-api" in str(err.value) and "cluster_network.api_server_cidrs" in str(err.value)


def test_telemetry_without_its_egress_is_refused_naming_the_feature():
    env = dataclasses.replace(PROD, telemetry=dataclasses.replace(PROD.telemetry, egress_cidrs=(),
                                                                    internet_egress_reason=""))
    with pytest.raises(ConfigError) as err:
        validate(env)
    assert err.value.field == "telemetry.egress_cidrs"
    assert "telemetry" in str(err.value) and "user-service" in str(err.value)


@pytest.mark.parametrize("field,value", [
    ("api_server_cidrs", ("0.0.0.0/0",)), ("api_server_cidrs", ("10.0.6.1/28",)), ("api_server_ports", ()),
    ("api_server_ports", (0,))])
def test_cluster_network_values_are_checked(field, value):
    env = dataclasses.replace(PROD, cluster_network=dataclasses.replace(PROD.cluster_network, **{field: value}))
    with pytest.raises(ConfigError) as err:
        validate(env)
    assert err.value.field.startswith(f"cluster_network.{field}")


def test_telemetry_to_a_private_link_scope_goes_to_its_subnet_not_the_internet():
    ampls = "10.0.5.0/24"
    env = dataclasses.replace(PROD, telemetry=dataclasses.replace(PROD.telemetry, egress_cidrs=(ampls,),
                                                                    internet_egress_reason=""))
    objs = [o for c in synthesize(env).helm_charts for o in c.objects]
    policy = next(o for o in objs if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "user-service")
    assert egress_blocks(policy)[ampls] == {443}
    assert INTERNET not in egress_blocks(policy) and INTERNET_EGRESS not in policy["metadata"]["annotations"]
    assert check_invariants(objs) == []


def test_telemetry_cidrs_and_an_internet_reason_together_are_refused():
    env = dataclasses.replace(PROD, telemetry=dataclasses.replace(PROD.telemetry, egress_cidrs=("10.0.5.0/24",)))
    with pytest.raises(ConfigError) as err:
        validate(env)
    assert err.value.field == "telemetry.internet_egress_reason"


# ------------------------------------------------------------------------------------- the invariants


def test_a_feature_without_its_egress_is_named_by_the_invariant():
    objs = copy.deepcopy(objects("prod"))
    policy = next(o for o in objs if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "user-service")
    policy["metadata"]["annotations"][FEATURE_EGRESS] = "store-postgresql,store-redis,telemetry"
    assert check_feature_egress(objs) == [
        "Rollout/user-service: turns on kubernetes-api but no NetworkPolicy selecting its pods allows the egress "
        "kubernetes-api needs (under the default deny it is blocked); allowed: the destination of kubernetes-api "
        "named in config (connections.allow_feature)"]


def test_internet_egress_without_a_reason_is_refused():
    objs = copy.deepcopy(objects("prod"))
    policy = next(o for o in objs if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "ai-service")
    del policy["metadata"]["annotations"][INTERNET_EGRESS]
    assert check_internet_egress(objs) == ["NetworkPolicy/ai-service: allows Internet egress without a reason; allowed: "
                                           "Internet egress declared in config with its reason (IpBlock.internet(reason=...))"]


def test_the_internet_needs_a_reason():
    with pytest.raises(TypeError):
        IpBlock.internet()  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="needs a reason"):
        IpBlock.internet(reason=" ")
    assert IpBlock.internet(reason="HTTPS to api.example.com").is_internet
    assert not IpBlock("10.0.0.0/8").is_internet


# ------------------------------------------------------------------------------------- any app, from the command line


def test_any_app_turning_on_api_access_under_default_deny_is_refused_at_synth(tmp_path):
    root = make_project(tmp_path, api_extra=", kubernetes_api_access=True")
    proc = run_cli("synth", cwd=root)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "Deployment/api: turns on kubernetes-api" in proc.stderr
    proc = run_cli("validate", cwd=root)
    assert proc.returncode == 2 and "Deployment/api: turns on kubernetes-api" in proc.stderr, proc.stderr


def test_any_app_allowing_the_feature_synthesises(tmp_path):
    extra = ", kubernetes_api_access=True"
    root = make_project(tmp_path, api_extra=extra)
    config = root / "overlays" / "live" / "config.py"
    text = config.read_text().replace(
        "    api.connections.allow_to(worker)\n",
        "    api.connections.allow_to(worker)\n"
        "    from tripgen_cdk8s import EgressFeature, IpBlock\n"
        "    api.connections.allow_feature(EgressFeature('kubernetes-api', (IpBlock('10.1.0.1/32'),), (6443,)))\n")
    config.write_text(text)
    proc = run_cli("synth", cwd=root)
    assert proc.returncode == 0, proc.stderr
    policy = (root / "charts" / "live" / "api" / "templates" / "networkpolicy.yaml").read_text()
    assert "cidr: 10.1.0.1/32" in policy and "port: 6443" in policy
    assert f"{FEATURE_EGRESS}: kubernetes-api" in policy


def test_a_feature_needs_a_destination_and_a_valid_name():
    from tripgen_cdk8s.lib.constructs.connections import Connections

    class Owner:
        name = "api"
        port = 8080
        peer_labels: dict[str, str] = {}

        def url(self) -> str:
            return ""

    c = Connections(Owner())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="at least one address block"):
        c.allow_feature(EgressFeature("telemetry", ()))
    with pytest.raises(ConfigError, match="a feature name"):
        c.uses("Not A Name")
    c.allow_feature(EgressFeature("telemetry", (IpBlock("10.0.5.0/24"),)))
    assert c.used == ["telemetry"] and list(c.features) == ["telemetry"]
    assert [(r.peer.cidr, r.ports) for r in c.egress] == [("10.0.5.0/24", (443,))]
