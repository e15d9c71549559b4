"""Config validation: every bad value is a ConfigError naming its field and what is allowed."""

from __future__ import annotations

import dataclasses

import pytest

from conftest import ROOT
from tripgen_cdk8s import overlays
from tripgen_cdk8s.config import HorizontalScaling, QueueScaling, validate
from tripgen_cdk8s.errors import ConfigError
from tripgen_cdk8s.overrides import apply_overrides

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
     "in prod: at least 2"),
    (lambda: with_scaling("user-service", cpu_utilization=120), "services.user-service.scaling.cpu_utilization",
     "1 to 100"),
    (lambda: with_scaling("ai-service", queue_name="ai_schedule"), "services.ai-service.scaling.queue_name",
     "ai-schedule-generation"),
    (lambda: with_service("location-service", min_available=2), "services.location-service.min_available",
     "below the minimum replicas"),
    (lambda: with_service("trip-service", calls=("billing-service",)), "services.trip-service.calls[0]",
     "another service"),
    (lambda: with_service("trip-service", name="Trip_Service"), "services.Trip_Service.name", "DNS label"),
    (lambda: dataclasses.replace(PROD, namespace="Tripgen Prod"), "namespace", "DNS label"),
    (lambda: with_scaling("user-service", max_replicas=500), "services.*.scaling.max_replicas", "within 10"),
    (lambda: with_scaling("user-service", max_replicas="10"), "services.user-service.scaling.max_replicas",
     "type int"),
]


@pytest.mark.parametrize(("make", "field", "allowed"), BAD, ids=[b[1] + "-" + b[2] for b in BAD])
def test_bad_values_raise_config_error_naming_the_field(make, field, allowed):
    from tripgen_cdk8s.checks import check_capacity

    with pytest.raises(ConfigError) as err:
        env = make()
        validate(env)
        check_capacity(env)
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
