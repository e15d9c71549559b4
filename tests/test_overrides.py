"""``--set <service>.<values key>=<value>``: parsing, the keys each chart has, coercion, the values
written into the typed config, and the error that names the key that was set (unit tests)."""

from __future__ import annotations

import dataclasses

import pytest

from conftest import ROOT
from tripgen_cdk8s.lib.errors import ConfigError, UsageError
from tripgen_cdk8s.tripgen import overlays, overrides
from tripgen_cdk8s.tripgen.overrides import apply_overrides, parse_assignment, values_keys

PROD = overlays.load(ROOT, "prod")
DEV = overlays.load(ROOT, "dev")

IMAGE_AND_RESOURCES = [
    "image.registry",
    "image.repository",
    "image.tag",
    "image.digest",
    "image.pullPolicy",
]
RESOURCES = [
    "resources.requests.cpu",
    "resources.requests.memory",
    "resources.requests.ephemeral-storage",
    "resources.limits.cpu",
    "resources.limits.memory",
    "resources.limits.ephemeral-storage",
]
AUTOSCALING = [
    "autoscaling.minReplicas",
    "autoscaling.maxReplicas",
    "autoscaling.targetCPUUtilizationPercentage",
    "autoscaling.targetMemoryUtilizationPercentage",
]
PROD_KEYS = IMAGE_AND_RESOURCES + RESOURCES + AUTOSCALING + ["podDisruptionBudget.minAvailable", "workloadIdentity.clientId"]
DEV_KEYS = IMAGE_AND_RESOURCES + ["replicaCount"] + RESOURCES


def error_of(env, assignments) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        apply_overrides(env, assignments)
    return err.value


# ---------------------------------------------------------------------------- the keys


def test_an_autoscaled_prod_service_has_autoscaling_pdb_and_identity_keys_but_no_replica_count():
    assert values_keys(PROD.service("trip-service"), PROD) == PROD_KEYS


def test_a_dev_service_has_replica_count_and_no_autoscaling_pdb_or_identity_keys():
    assert values_keys(DEV.service("trip-service"), DEV) == DEV_KEYS


def test_each_key_appears_with_its_own_condition():
    prod_svc = PROD.service("trip-service")
    no_pdb = dataclasses.replace(prod_svc, min_available=None)
    assert values_keys(no_pdb, PROD) == IMAGE_AND_RESOURCES + RESOURCES + AUTOSCALING + ["workloadIdentity.clientId"]
    assert values_keys(prod_svc, dataclasses.replace(PROD, key_vault=None)) == (
        IMAGE_AND_RESOURCES + RESOURCES + AUTOSCALING + ["podDisruptionBudget.minAvailable"]
    )
    dev_with_pdb = dataclasses.replace(DEV.service("trip-service"), min_available=0)
    assert values_keys(dev_with_pdb, DEV) == DEV_KEYS + ["podDisruptionBudget.minAvailable"]


def test_every_key_maps_to_a_real_config_field():
    svc = PROD.service("trip-service")
    for key, path in overrides.VALUES_TO_CONFIG.items():
        target = dataclasses.replace(DEV.service("trip-service"), min_available=0) if key == "replicaCount" else svc
        value = target
        for part in path:
            value = getattr(value, part)
        assert value is not None or key == "podDisruptionBudget.minAvailable", key


# ---------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("trip-service.autoscaling.maxReplicas=12", ("trip-service", "autoscaling.maxReplicas", "12")),
        ("a.b=", ("a", "b", "")),
        ("a.b=x=y", ("a", "b", "x=y")),
        ("a.b.c.d=1.5", ("a", "b.c.d", "1.5")),
    ],
)
def test_parse_assignment(text, parsed):
    assert parse_assignment(text) == parsed


@pytest.mark.parametrize("text", ["trip-service.replicaCount", "trip-service=3", "a=b.c", ""])
def test_a_malformed_assignment_is_a_usage_error(text):
    with pytest.raises(UsageError) as err:
        parse_assignment(text)
    assert str(err.value) == f"--set {text!r}: expected <service>.<values key>=<value>"


# ---------------------------------------------------------------------------- coercion


def test_coercion_follows_the_type_of_the_current_value():
    assert overrides._coerce(True, "true", "f") is True
    assert overrides._coerce(False, "false", "f") is False
    assert overrides._coerce(3, "12", "f") == 12
    assert overrides._coerce(3, "-4", "f") == -4
    assert overrides._coerce("a", "12", "f") == "12"
    with pytest.raises(ConfigError) as err:
        overrides._coerce(True, "1", "some.flag")
    assert str(err.value) == "some.flag: invalid value '1'; allowed: true or false"
    with pytest.raises(ConfigError) as err:
        overrides._coerce(3, "1.5", "some.count")
    assert str(err.value) == "some.count: invalid value '1.5'; allowed: an integer"


# ---------------------------------------------------------------------------- applying


def test_each_key_sets_its_field_and_nothing_else():
    env = apply_overrides(
        PROD,
        [
            "trip-service.image.registry=other.azurecr.io",
            "trip-service.image.repository=team/trip",
            "trip-service.image.tag=v9",
            "trip-service.image.digest=sha256:" + "a" * 64,
            "trip-service.image.pullPolicy=IfNotPresent",
            "trip-service.resources.requests.cpu=600m",
            "trip-service.resources.requests.memory=1100Mi",
            "trip-service.resources.requests.ephemeral-storage=300Mi",
            "trip-service.resources.limits.cpu=3",
            "trip-service.resources.limits.memory=3Gi",
            "trip-service.resources.limits.ephemeral-storage=2Gi",
            "trip-service.autoscaling.minReplicas=4",
            "trip-service.autoscaling.maxReplicas=16",
            "trip-service.autoscaling.targetCPUUtilizationPercentage=60",
            "trip-service.autoscaling.targetMemoryUtilizationPercentage=70",
            "trip-service.podDisruptionBudget.minAvailable=3",
            "trip-service.workloadIdentity.clientId=01234567-89ab-cdef-0123-456789abcdef",
        ],
    )
    svc = env.service("trip-service")
    assert (svc.image.registry, svc.image.repository, svc.image.tag, svc.image.digest, svc.image.pull_policy) == (
        "other.azurecr.io",
        "team/trip",
        "v9",
        "sha256:" + "a" * 64,
        "IfNotPresent",
    )
    assert dataclasses.astuple(svc.resources) == (("600m", "1100Mi", "300Mi"), ("3", "3Gi", "2Gi"))
    assert (svc.scaling.min_replicas, svc.scaling.max_replicas, svc.scaling.cpu_utilization, svc.scaling.memory_utilization) == (
        4,
        16,
        60,
        70,
    )
    assert svc.min_available == 3 and svc.identity_client_id == "01234567-89ab-cdef-0123-456789abcdef"
    assert [s for s in env.services if s.name != "trip-service"] == [s for s in PROD.services if s.name != "trip-service"]
    assert dataclasses.replace(env, services=PROD.services) == PROD


def test_replica_count_is_an_integer_in_dev_and_the_last_set_wins():
    env = apply_overrides(DEV, ["ai-service.replicaCount=3", "ai-service.replicaCount=2"])
    assert env.service("ai-service").replicas == 2
    assert [s.replicas for s in env.services] == [1, 1, 2, 1]


def test_no_assignments_return_the_environment_validated():
    assert apply_overrides(PROD, []) == PROD


def test_no_assignments_on_an_invalid_environment_raise_its_own_error():
    bad = dataclasses.replace(PROD, namespace="Bad")
    err = error_of(bad, [])
    assert str(err) == "namespace: invalid value 'Bad'; allowed: a DNS label"


# ---------------------------------------------------------------------------- errors


def test_an_unknown_service_lists_the_services_and_suggests_the_nearest():
    assert str(error_of(PROD, ["trip-servce.image.tag=v2.0.0"])) == (
        "--set trip-servce: invalid value 'trip-servce'; allowed services: user-service, trip-service, ai-service, "
        "location-service (did you mean trip-service?)"
    )
    assert str(error_of(PROD, ["billing.image.tag=v2.0.0"])) == (
        "--set billing: invalid value 'billing'; allowed services: user-service, trip-service, ai-service, location-service"
    )


def test_an_unknown_key_lists_the_keys_and_suggests_the_nearest():
    err = error_of(PROD, ["trip-service.autoscaling.maxReplica=12"])
    assert err.field == "--set trip-service.autoscaling.maxReplica" and err.value == "12"
    assert err.allowed == (
        "unknown values key; did you mean trip-service.autoscaling.maxReplicas? keys of trip-service: " + ", ".join(PROD_KEYS)
    )
    err = error_of(DEV, ["trip-service.zzzzzz=1"])
    assert err.allowed == "unknown values key; keys of trip-service: " + ", ".join(DEV_KEYS)
    # a loose match still counts (difflib cutoff 0.4)
    assert error_of(DEV, ["trip-service.replicas=2"]).allowed.startswith(
        "unknown values key; did you mean trip-service.replicaCount? "
    )


def test_a_non_integer_for_an_integer_key_names_the_key():
    assert str(error_of(DEV, ["trip-service.replicaCount=two"])) == (
        "--set trip-service.replicaCount: invalid value 'two'; allowed: an integer"
    )


def test_an_invalid_value_names_the_key_and_the_config_field():
    assert str(error_of(PROD, ["trip-service.autoscaling.maxReplicas=0"])) == (
        "--set trip-service.autoscaling.maxReplicas (services.trip-service.scaling.max_replicas): invalid value 0; "
        "allowed: an integer from 1 to 1000"
    )
    assert str(error_of(DEV, ["user-service.image.tag=v1+1", "ai-service.replicaCount=2"])) == (
        "--set user-service.image.tag (services.user-service.image.tag): invalid value 'v1+1'; "
        "allowed: a Docker tag (letters, digits, '.', '_', '-')"
    )


def test_a_value_that_conflicts_with_another_field_names_the_key_that_was_set():
    assert str(error_of(PROD, ["trip-service.autoscaling.minReplicas=20"])) == (
        "--set trip-service.autoscaling.minReplicas (services.trip-service.scaling.min_replicas): invalid value '20'; "
        "conflicts with services.trip-service.scaling.max_replicas=15: allowed: at least min_replicas (20)"
    )


def test_the_conflict_names_the_set_on_the_same_object_not_the_last_one():
    err = error_of(PROD, ["trip-service.autoscaling.minReplicas=20", "user-service.image.tag=v2.0.0"])
    assert err.field == "--set trip-service.autoscaling.minReplicas (services.trip-service.scaling.min_replicas)"
    assert err.value == "20"


def test_the_conflict_names_the_set_on_the_same_service_before_the_last_one():
    expected = (
        "--set trip-service.resources.limits.cpu (services.trip-service.resources.limits.cpu): invalid value '100m'; "
        "conflicts with services.trip-service.resources.requests.cpu='500m': allowed: at most the limit 100m"
    )
    assert str(error_of(PROD, ["user-service.image.tag=v2.0.0", "trip-service.resources.limits.cpu=100m"])) == expected
    assert str(error_of(PROD, ["trip-service.resources.limits.cpu=100m", "user-service.image.tag=v2.0.0"])) == expected


def test_the_conflict_reports_the_last_value_given_for_the_key():
    err = error_of(PROD, ["trip-service.autoscaling.minReplicas=16", "trip-service.autoscaling.minReplicas=25"])
    assert err.value == "25" and err.allowed.endswith("allowed: at least min_replicas (25)")


def test_a_conflict_with_a_field_of_no_set_service_names_the_last_set():
    # min_available of location-service (1) is fine; its limit is lowered below its request by no --set:
    # a set elsewhere is the only candidate and is named.
    base = dataclasses.replace(
        PROD, services=tuple(dataclasses.replace(s, min_available=5) if s.name == "location-service" else s for s in PROD.services)
    )
    err = error_of(base, ["user-service.image.tag=v2.0.0", "ai-service.image.tag=v3.0.0"])
    assert err.field == "--set ai-service.image.tag (services.ai-service.image.tag)"
    assert err.value == "v3.0.0"
    assert err.allowed.startswith("conflicts with services.location-service.min_available=5: ")


def test_a_loose_match_of_a_key_is_still_suggested():
    # "tag" is 0.5 similar to "image.tag": under difflib's default cutoff (0.6), above ours (0.4)
    assert error_of(PROD, ["trip-service.tag=v2"]).allowed.startswith(
        "unknown values key; did you mean trip-service.image.tag? keys of trip-service: "
    )


def test_the_conflict_prefers_the_set_on_the_same_object_over_a_later_one_on_the_same_service():
    err = error_of(PROD, ["trip-service.autoscaling.minReplicas=20", "trip-service.image.tag=v2.0.0"])
    assert err.field == "--set trip-service.autoscaling.minReplicas (services.trip-service.scaling.min_replicas)"


def test_the_conflict_prefers_a_set_on_another_object_of_the_same_service_over_a_later_one_elsewhere():
    err = error_of(PROD, ["trip-service.autoscaling.minReplicas=2", "user-service.image.tag=v2.0.0"])
    assert str(err) == (
        "--set trip-service.autoscaling.minReplicas (services.trip-service.scaling.min_replicas): invalid value '2'; "
        "conflicts with services.trip-service.min_available=2: allowed: below the minimum replicas (2), "
        "otherwise node drains block"
    )


def test_value_of_is_the_raw_value_of_the_last_set_of_that_key():
    assignments = ["a.b=x=y", "c.d=1", "a.b=z=w", "a.bb=q"]
    assert overrides._value_of(assignments, "a.b") == "z=w"
    assert overrides._value_of(assignments, "c.d") == "1"
