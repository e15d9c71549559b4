"""Property-based tests: valid configs always give schema-valid charts; mutations always give ConfigError."""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from conftest import CRDS, ROOT
from tripgen_cdk8s.lib import validation as v
from tripgen_cdk8s.lib.errors import ConfigError
from tripgen_cdk8s.tripgen import overlays
from tripgen_cdk8s.tripgen.app import synthesize
from tripgen_cdk8s.tripgen.config import HorizontalScaling, QueueScaling

PROD = overlays.load(ROOT, "prod")
NAMES = [s.name for s in PROD.services]
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def replace_service(env, service_name, **changes):
    svc = dataclasses.replace(env.service(service_name), **changes)
    return dataclasses.replace(env, services=tuple(svc if s.name == service_name else s for s in env.services))


@st.composite
def valid_service_changes(draw, name):
    svc = PROD.service(name)
    lo = draw(st.integers(2, 4))
    hi = draw(st.integers(lo, lo + 6))
    cpu = draw(st.integers(1, 10)) * 50
    mem = draw(st.sampled_from([256, 512, 768, 1024]))
    tag = draw(st.from_regex(r"\Av(0|[1-9][0-9]?)\.(0|[1-9][0-9]?)\.(0|[1-9][0-9]?)(-rc[0-9])?\Z"))
    digest = draw(st.one_of(st.just(""), st.binary(min_size=32, max_size=32).map(lambda b: "sha256:" + b.hex())))
    res = svc.resources
    resources = dataclasses.replace(
        res,
        requests=dataclasses.replace(res.requests, cpu=f"{cpu}m", memory=f"{mem}Mi"),
        limits=dataclasses.replace(res.limits, cpu=f"{cpu * draw(st.integers(1, 4))}m", memory=f"{mem * 2}Mi"),
    )
    scaling = dataclasses.replace(svc.scaling, min_replicas=lo, max_replicas=hi,
                                  cpu_utilization=draw(st.integers(10, 95)))
    return {"image": dataclasses.replace(svc.image, tag=tag, digest=digest), "resources": resources,
            "scaling": scaling, "min_available": draw(st.integers(1, lo - 1))}


@st.composite
def valid_environments(draw):
    env = PROD
    for name in draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True)):
        env = replace_service(env, name, **draw(valid_service_changes(name)))
    return env


@SETTINGS
@given(valid_environments())
def test_random_valid_configs_synthesise_to_schema_valid_charts(env):
    objs = [o for c in synthesize(env).charts for o in c.objects]
    assert v.check_builtin_schemas(objs) == []
    assert v.check_custom_resources(objs, CRDS) == []
    for check in (v.check_selectors, v.check_scale_targets, v.check_pod_references, v.check_ports,
                  v.check_disruption_budgets, v.check_unique):
        assert check(objs) == []


# ---------------------------------------------------------------------------- mutations

BAD_INTS = st.one_of(st.integers(max_value=0), st.integers(min_value=10_000_001), st.just(True), st.just("3"),
                     st.floats(allow_nan=True), st.none())
BAD_QUANTITIES = st.one_of(st.just(""), st.just("0"), st.just("0m"), st.just("-1Gi"), st.just("512MB"), st.just("1.5Gi"),
                           st.just("2 Gi"), st.text(alphabet="xyz!@ ", max_size=6), st.integers(), st.none())


def mutate_image(name, draw):
    svc = PROD.service(name)
    field, value = draw(st.one_of(
        st.tuples(st.just("tag"), st.sampled_from(["latest", "LATEST", "stable", "", " v1", "v1:2", "-v1"])),
        st.tuples(st.just("digest"), st.sampled_from(["sha256:", "md5:abc", "sha256:" + "g" * 64])),
        st.tuples(st.just("registry"), st.sampled_from(["", "ACR.io", "http://x", "registry"])),
        st.tuples(st.just("pull_policy"), st.sampled_from(["always", "", "Sometimes"])),
    ))
    return replace_service(PROD, name, image=dataclasses.replace(svc.image, **{field: value}))


def mutate_scaling(name, draw):
    svc = PROD.service(name)
    sc = svc.scaling
    choice = draw(st.sampled_from(["min_above_max", "min_low", "bad_int", "bad_util", "bad_queue"]))
    if choice == "min_above_max":
        lo = draw(st.integers(3, 50))
        new = dataclasses.replace(sc, min_replicas=lo, max_replicas=draw(st.integers(1, lo - 1)))
    elif choice == "min_low":
        new = dataclasses.replace(sc, min_replicas=draw(st.integers(-5, 1)))
    elif choice == "bad_int":
        new = dataclasses.replace(sc, max_replicas=draw(BAD_INTS))
    elif choice == "bad_util":
        new = dataclasses.replace(sc, memory_utilization=draw(st.one_of(st.integers(max_value=0),
                                                                        st.integers(min_value=101))))
    elif isinstance(sc, QueueScaling):
        new = dataclasses.replace(sc, queue_name=draw(st.sampled_from(["ai_schedule_generation", "", "other"])))
    else:
        assert isinstance(sc, HorizontalScaling)
        new = dataclasses.replace(sc, scale_down_stabilization_seconds=draw(st.integers(min_value=3601)))
    return replace_service(PROD, name, scaling=new)


def mutate_resources(name, draw):
    res = PROD.service(name).resources
    side = draw(st.sampled_from(["requests", "limits"]))
    field = draw(st.sampled_from(["cpu", "memory", "ephemeral_storage"]))
    bad = draw(BAD_QUANTITIES)
    amounts = dataclasses.replace(getattr(res, side), **{field: bad})
    return replace_service(PROD, name, resources=dataclasses.replace(res, **{side: amounts}))


def mutate_service(name, draw):
    svc = PROD.service(name)
    choice = draw(st.sampled_from(["pdb", "calls", "name", "prefix", "secret", "replicas"]))
    if choice == "pdb":
        return replace_service(PROD, name, min_available=draw(st.integers(svc.scaling.min_replicas, 100)))
    if choice == "calls":
        return replace_service(PROD, name, calls=(draw(st.sampled_from(["billing-service", name, "", "USER"])),))
    if choice == "name":
        return replace_service(PROD, name, name=draw(st.sampled_from(["", "User_Service", "-x", "a" * 70])))
    if choice == "prefix":
        bad_prefixes = [("api/v1",), ("/api v1",), ("/api/v1/x", "/api/v1/x")]
        return replace_service(PROD, name, api_prefixes=draw(st.sampled_from(bad_prefixes)))
    if choice == "secret":
        return replace_service(PROD, name, secrets=svc.secrets + (dataclasses.replace(svc.secrets[0], alias="jwt"),))
    return replace_service(PROD, name, replicas=draw(BAD_INTS))


def mutate_environment(draw):
    choice = draw(st.sampled_from(["namespace", "pool", "capacity", "vault", "monitoring", "cache", "cidr"]))
    if choice == "namespace":
        return dataclasses.replace(PROD, namespace=draw(st.sampled_from(["", "Tripgen", "trip gen", "x" * 70])))
    if choice == "pool":
        return dataclasses.replace(PROD, node_pool=dataclasses.replace(PROD.node_pool,
                                                                       allocatable_cpu=draw(BAD_QUANTITIES)))
    if choice == "capacity":
        return dataclasses.replace(PROD, node_pool=dataclasses.replace(PROD.node_pool, max_nodes=draw(st.integers(3, 5))))
    if choice == "vault":
        return dataclasses.replace(PROD, key_vault=dataclasses.replace(
            PROD.key_vault, name=draw(st.sampled_from(["kv_tripgen_prod", "k", "-kv"]))))
    if choice == "monitoring":
        return dataclasses.replace(PROD, monitoring=dataclasses.replace(
            PROD.monitoring, scrape_interval_seconds=draw(st.integers(max_value=4))))
    if choice == "cidr":
        bad_cidr = draw(st.sampled_from(["10.0.2.1/24", "10.0.2.0/33", "x", "300.0.0.0/8"]))
        store = dataclasses.replace(PROD.stores[0], subnet_cidr=bad_cidr)
        return dataclasses.replace(PROD, stores=(store, *PROD.stores[1:]))
    return dataclasses.replace(PROD, cache=dataclasses.replace(PROD.cache, l1_max_entries=draw(BAD_INTS)))


@st.composite
def mutated_environments(draw):
    kind = draw(st.sampled_from(["image", "scaling", "resources", "service", "environment", "unknown_service"]))
    name = draw(st.sampled_from(NAMES))
    note(f"mutation {kind} of {name}")
    if kind == "image":
        return mutate_image(name, draw)
    if kind == "scaling":
        return mutate_scaling(name, draw)
    if kind == "resources":
        return mutate_resources(name, draw)
    if kind == "service":
        return mutate_service(name, draw)
    if kind == "unknown_service":
        return replace_service(PROD, "trip-service", calls=(draw(st.text(min_size=1, max_size=12)),))
    return mutate_environment(draw)


@SETTINGS
@given(mutated_environments())
def test_random_mutations_of_the_prod_config_raise_config_error_and_nothing_else(env):
    try:
        synthesize(env)
    except ConfigError as err:
        assert err.field and err.allowed
    else:
        raise AssertionError("a mutated config synthesised without a ConfigError")
