"""Config validation: every bad value is a ConfigError naming its field and what is allowed."""

from __future__ import annotations

import dataclasses

import pytest

from conftest import ROOT
from tripgen_cdk8s.lib.errors import ConfigError
from tripgen_cdk8s.tripgen import overlays
from tripgen_cdk8s.tripgen.config import HorizontalScaling, KeyVaultSecret, QueueScaling, key_vault_object_name, validate
from tripgen_cdk8s.tripgen.overrides import apply_overrides

PROD = overlays.load(ROOT, "prod")


def with_service(svc_name: str, **changes):
    svc = dataclasses.replace(PROD.service(svc_name), **changes)
    return dataclasses.replace(PROD, services=tuple(svc if s.name == svc_name else s for s in PROD.services))


def with_image(name: str, **changes):
    return with_service(name, image=dataclasses.replace(PROD.service(name).image, **changes))


def with_scaling(name: str, **changes):
    return with_service(name, scaling=dataclasses.replace(PROD.service(name).scaling, **changes))


def with_requests(name: str, **changes):
    res = PROD.service(name).resources
    return with_service(name, resources=dataclasses.replace(res, requests=dataclasses.replace(res.requests, **changes)))


BAD = [
    (lambda: with_image("user-service", tag="latest"), "services.user-service.image.tag", "immutable"),
    (lambda: with_image("user-service", tag=""), "services.user-service.image.tag", "Docker tag"),
    (lambda: with_image("trip-service", digest="sha256:abc"), "services.trip-service.image.digest", "sha256"),
    (lambda: with_image("trip-service", pull_policy="Sometimes"), "services.trip-service.image.pull_policy", "Always"),
    (lambda: with_requests("ai-service", cpu="fast"), "services.ai-service.resources.requests.cpu", "CPU quantity"),
    (lambda: with_requests("ai-service", memory="2GB"), "services.ai-service.resources.requests.memory", "binary"),
    (lambda: with_requests("ai-service", cpu="8"), "services.ai-service.resources.requests.cpu", "at most the limit"),
    (lambda: with_scaling("trip-service", min_replicas=9, max_replicas=5), "services.trip-service.scaling.max_replicas",
     "at least min_replicas"),
    (lambda: with_scaling("trip-service", min_replicas=1), "services.trip-service.scaling.min_replicas",
     "allowed by guardrails.min_replicas: at least 2"),
    (lambda: with_scaling("user-service", cpu_utilization=120), "services.user-service.scaling.cpu_utilization",
     "1 to 100"),
    (lambda: with_scaling("ai-service", queue_name="ai_schedule"), "services.ai-service.scaling.queue_name",
     "ai-schedule-generation"),
    (lambda: with_service("location-service", min_available=2), "services.location-service.min_available",
     "below the minimum replicas"),
    (lambda: with_service("trip-service", calls=("billing-service",)), "services.trip-service.calls[0]",
     "another service"),
    (lambda: with_service("trip-service", name="Trip_Service"), "services.Trip_Service.name", "DNS-1035 label"),
    (lambda: dataclasses.replace(PROD, namespace="Tripgen Prod"), "namespace", "DNS label"),
    (lambda: with_scaling("user-service", max_replicas=500), "node_pool", "within 10"),
    (lambda: with_scaling("user-service", max_replicas="10"), "services.user-service.scaling.max_replicas",
     "type int"),
    # Names are checked against the real rules of what they name (issue: config text is data).
    (lambda: with_image("trip-service", tag="a" * 100), "services.trip-service.image.tag", "label value"),
    (lambda: with_image("trip-service", tag="_v1.2.0-"), "services.trip-service.image.tag", "label value"),
    (lambda: with_service("trip-service", purpose="trips TRIPGENHELMBINDING000000X"), "services.trip-service.purpose",
     "TRIPGENHELMBINDING"),
    (lambda: with_service("trip-service", purpose="trips tripgenhelmbinding999999x"), "services.trip-service.purpose",
     "TRIPGENHELMBINDING"),
    (lambda: with_service("trip-service", purpose="line one\nevil: true"), "services.trip-service.purpose",
     "control characters"),
    (lambda: with_store("postgresql", key_vault_object="{service}-db\npassword"), "stores.postgresql.key_vault_object",
     "control characters"),
    (lambda: with_store("postgresql", key_vault_object="{svc}-db-password"), "stores.postgresql.key_vault_object",
     "{service} as the only placeholder"),
    (lambda: with_store("redis", key_vault_object="redis{}key"), "stores.redis.key_vault_object", "Key Vault"),
    (lambda: with_store("postgresql", key_vault_object="{service}" + "-x" * 60), "services.user-service.stores[0]",
     "at most 127"),
    (lambda: with_service("user-service", secrets=PROD.service("user-service").secrets + (
        KeyVaultSecret(object_name="jwt-signing-key", alias="JWT_AGAIN"),)),
     "services.user-service.secrets[2].object_name", "each Key Vault object once per service"),
    (lambda: with_service("user-service", secrets=(KeyVaultSecret(object_name="jwt{signing}", alias="JWT_SECRET"),)),
     "services.user-service.secrets[0].object_name", "Key Vault object name"),
    (lambda: with_service("user-service", secrets=(KeyVaultSecret(object_name="jwt-key", alias="jwt.secret"),)),
     "services.user-service.secrets[0].alias", "environment-variable name"),
    (lambda: dataclasses.replace(PROD, spring_profile="prod}}{{"), "spring_profile", "Spring profile"),
    (lambda: dataclasses.replace(PROD, ingress=dataclasses.replace(PROD.ingress, name="Tripgen API")), "ingress.name",
     "DNS subdomain"),
    (lambda: dataclasses.replace(PROD, ingress=dataclasses.replace(PROD.ingress, tls_certificate="my cert")),
     "ingress.tls_certificate", "certificate"),
    (lambda: dataclasses.replace(PROD, ingress=dataclasses.replace(PROD.ingress, waf_policy_id="{{ .Values.x }}")),
     "ingress.waf_policy_id", "resource ID"),
    (lambda: dataclasses.replace(PROD, node_pool=dataclasses.replace(PROD.node_pool, taint_value="yes please")),
     "node_pool.taint_value", "label value"),
    (lambda: dataclasses.replace(PROD, node_pool=dataclasses.replace(PROD.node_pool, name="app-pool")),
     "node_pool.name", "AKS node pool name"),
    (lambda: dataclasses.replace(PROD, chart_version="1.0.00000"), "chart_version", "SemVer"),
    (lambda: dataclasses.replace(PROD, gitops=dataclasses.replace(PROD.gitops, sync_window=dataclasses.replace(
        PROD.gitops.sync_window, time_zone="Asia Seoul"))), "gitops.sync_window.time_zone", "IANA"),
    (lambda: dataclasses.replace(PROD, image_pull_secrets=("ACR_Pull",)), "image_pull_secrets[0]", "DNS subdomain"),
    # Repeated entries would render twice or make a lookup ambiguous.
    (lambda: dataclasses.replace(PROD, stores=PROD.stores + (PROD.stores[0],)), "stores[3]", "each store name once"),
    (lambda: with_service("user-service", stores=PROD.service("user-service").stores + (dataclasses.replace(
        PROD.service("user-service").stores[0], secret_alias="DB2"),)), "services.user-service.stores[2]",
     "each store once per service"),
    (lambda: with_service("trip-service", calls=("user-service", "user-service")), "services.trip-service.calls[1]",
     "each callee once"),
    (lambda: with_service("trip-service", api_prefixes=("/api/v1/trips", "/api/v1/users")),
     "services.trip-service.api_prefixes[1]", "a path prefix no other service routes (user-service has it)"),
    (lambda: with_service("trip-service", writable_paths=("/tmp", "/tmp")), "services.trip-service.writable_paths[1]",
     "each path once"),
    (lambda: dataclasses.replace(PROD, image_pull_secrets=("acr", "acr")), "image_pull_secrets[1]", "each Secret once"),
]


def with_store(name: str, **changes):
    return dataclasses.replace(PROD, stores=tuple(dataclasses.replace(st, **changes) if st.name == name else st
                                                  for st in PROD.stores))


@pytest.mark.parametrize(("make", "field", "allowed"), BAD, ids=[b[1] + "-" + b[2] for b in BAD])
def test_bad_values_raise_config_error_naming_the_field(make, field, allowed):
    from tripgen_cdk8s.app import pipeline

    with pytest.raises(ConfigError) as err:
        env = make()
        validate(env)
        if field == "node_pool":  # the capacity check runs on the synthesised objects
            pipeline.synthesize(env.to_project())
    assert err.value.field == field
    assert allowed in str(err.value)


def test_prod_overlay_is_valid_and_immutable():
    assert validate(PROD) is PROD
    with pytest.raises(dataclasses.FrozenInstanceError):
        PROD.namespace = "x"  # type: ignore[misc]


def test_prod_scalers_match_the_spec():
    scaling = {s.name: s.scaling for s in PROD.services}
    assert isinstance(scaling["ai-service"], QueueScaling)
    assert all(isinstance(scaling[n], HorizontalScaling) for n in ("user-service", "trip-service", "location-service"))


def test_set_override_changes_the_config():
    env = apply_overrides(PROD, ["trip-service.autoscaling.maxReplicas=12", "user-service.image.tag=v1.2.1"])
    assert env.service("trip-service").scaling.max_replicas == 12
    assert env.service("user-service").image.tag == "v1.2.1"


def test_set_unknown_key_suggests_the_nearest():
    with pytest.raises(ConfigError) as err:
        apply_overrides(PROD, ["trip-service.autoscaling.maxReplica=12"])
    assert "did you mean trip-service.autoscaling.maxReplicas" in str(err.value)


def test_set_replica_count_is_unknown_for_an_autoscaled_service():
    with pytest.raises(ConfigError) as err:
        apply_overrides(PROD, ["trip-service.replicaCount=4"])
    assert "unknown values key" in str(err.value)


def test_set_validation_names_the_values_key():
    with pytest.raises(ConfigError) as err:
        apply_overrides(PROD, ["trip-service.autoscaling.minReplicas=1"])
    assert err.value.field.startswith("--set trip-service.autoscaling.minReplicas")


def test_set_that_breaks_a_rule_with_another_field_names_the_key_that_was_set():
    with pytest.raises(ConfigError) as err:
        apply_overrides(PROD, ["trip-service.autoscaling.minReplicas=20"])
    assert err.value.field.startswith("--set trip-service.autoscaling.minReplicas")
    assert "services.trip-service.scaling.max_replicas" in str(err.value) and err.value.value == "20"


def test_the_service_placeholder_of_a_key_vault_object_is_replaced_literally():
    assert key_vault_object_name("{service}-db-password", "trip-service") == "trip-service-db-password"
    assert key_vault_object_name("{service}-{service}", "a") == "a-a"
    assert key_vault_object_name("plain", "a") == "plain"


def test_a_service_named_like_a_generated_chart_is_a_config_error():
    import cdk8s

    from tripgen_cdk8s.tripgen.app import build

    for reserved in ("tripgen-platform", "argocd"):
        renamed = with_service("location-service", name=reserved)
        renamed = dataclasses.replace(renamed, services=tuple(
            dataclasses.replace(s, calls=tuple(reserved if c == "location-service" else c for c in s.calls))
            for s in renamed.services))
        with pytest.raises(ConfigError) as err:
            build(renamed, cdk8s.App())
        assert err.value.field == f"services.{reserved}.name" and "tripgen-platform" in str(err.value)


def test_guardrails_are_data_not_environment_names():
    from tripgen_cdk8s.tripgen.config import Guardrails, NginxIngress

    # prod's rules follow its guardrails, whatever the environment is called
    renamed = dataclasses.replace(with_image("user-service", tag="latest"), name="production")
    with pytest.raises(ConfigError) as err:
        validate(renamed)
    assert err.value.field == "services.user-service.image.tag" and "guardrails.immutable_image_tags" in str(err.value)
    relaxed = dataclasses.replace(renamed, guardrails=dataclasses.replace(PROD.guardrails, immutable_image_tags=False))
    assert validate(relaxed) is relaxed
    with pytest.raises(ConfigError) as err:
        validate(dataclasses.replace(PROD, network_policy="allow-all"))
    assert err.value.field == "network_policy" and "guardrails.require_default_deny" in str(err.value)
    open_env = dataclasses.replace(PROD, guardrails=Guardrails(), network_policy="allow-all",
                                   ingress=NginxIngress(name="api", host="api.example.com"))
    assert validate(open_env) is open_env
    with pytest.raises(ConfigError) as err:
        validate(dataclasses.replace(open_env, guardrails=Guardrails(ingress_kinds=("AppGatewayIngress",))))
    assert err.value.field == "ingress" and "guardrails.ingress_kinds: AppGatewayIngress" in str(err.value)
    with pytest.raises(ConfigError) as err:
        validate(dataclasses.replace(open_env, guardrails=Guardrails(ingress_kinds=("Traefik",))))
    assert err.value.field == "guardrails.ingress_kinds[0]"
