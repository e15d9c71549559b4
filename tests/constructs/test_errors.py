"""Mistakes are user errors: every check a construct makes raises a ConfigError naming the construct
path and the field, in one line; a misspelt or missing props field, or a wrong type, too
(``user_error`` converts the dataclass TypeError; ``check_props`` runs at construct init)."""

from __future__ import annotations

import pytest
from construct_helpers import IMAGE, RESOURCES, new_chart, services

from tripgen_cdk8s import (
    AutoscaledService,
    AutoscaledServiceProps,
    ConfigError,
    ConstructError,
    HorizontalScaling,
    MicroServiceProps,
    PropsError,
    user_error,
)
from tripgen_cdk8s.lib.constructs import ApiIngress, ApiIngressProps, WorkerProps, ZoneSpreadPolicy, ZoneSpreadPolicyProps
from tripgen_cdk8s.lib.errors import check_props


def converted(call) -> ConfigError | None:
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - what the synth pipeline will catch
        return user_error(exc)
    raise AssertionError("no error raised")


def test_an_unknown_props_field_names_the_class_the_field_and_the_closest_match():
    err = converted(lambda: MicroServiceProps(name="a", image=IMAGE, resources=RESOURCES, readines_path="/r"))
    assert isinstance(err, PropsError) and isinstance(err, ConfigError)
    assert err.field == "MicroServiceProps.readines_path"
    assert str(err).startswith("MicroServiceProps.readines_path: unknown field; allowed: name, image, resources, ")
    assert str(err).endswith("; did you mean readiness_path?") and "\n" not in str(err)


def test_an_unknown_field_without_a_close_match_lists_what_is_allowed():
    err = converted(lambda: WorkerProps(name="a", image=IMAGE, resources=RESOURCES, zzz=1))
    assert err is not None and err.field == "WorkerProps.zzz" and "did you mean" not in str(err)
    assert "allowed: name, image, resources, namespace," in str(err)


def test_a_missing_required_field():
    err = converted(lambda: MicroServiceProps(name="a"))  # type: ignore[call-arg]
    assert err is not None and str(err) == ("MicroServiceProps.image: required field missing (also resources); "
                                            "required: name, image, resources")


def test_too_many_positional_values():
    err = converted(lambda: HorizontalScaling(1, 2, 3, 4, (), 5, (), (), 9))  # type: ignore[call-arg]
    assert err is not None and err.field == "HorizontalScaling.__init__"
    assert "9 positional values given, at most 8" in str(err)


def test_a_config_error_is_returned_as_it_is_and_anything_else_is_a_bug():
    e = ConfigError("a.b", 1, "2")
    assert user_error(e) is e
    assert user_error(KeyError("x")) is None
    assert user_error(TypeError("unsupported operand type(s) for +: 'int' and 'str'")) is None


def test_a_class_named_in_the_message_but_unknown_is_left_alone():
    assert user_error(TypeError("Nowhere.__init__() got an unexpected keyword argument 'x'")) is None


def test_a_wrong_type_is_refused_at_construct_init_naming_the_path_and_field():
    chart = new_chart()
    with pytest.raises(ConstructError, match=r"^demo/demo\.port: invalid value '8080'; expected int$"):
        services(chart)(port="8080")
    with pytest.raises(ConstructError, match=r"^demo/web\.writable_paths: invalid value \['/tmp'\]; expected "):
        services(chart)("web", writable_paths=["/tmp"])


def test_nested_props_are_checked_with_their_path():
    chart = new_chart()
    svc = services(chart)()
    with pytest.raises(ConstructError, match=r"^demo/scale\.scaling\.min_replicas: invalid value '2'; expected int$"):
        AutoscaledService(chart, "scale", AutoscaledServiceProps(svc, HorizontalScaling("2", 4, 70)))  # type: ignore[arg-type]


def test_a_bool_is_not_an_int_and_optional_fields_take_none():
    chart = new_chart()
    with pytest.raises(ConstructError, match=r"\.replicas: invalid value True; expected int"):
        services(chart)(replicas=True)
    check_props(None, HorizontalScaling(1, 2, None, 80))  # None where the annotation allows it


@pytest.mark.parametrize(("build", "message"), [
    (lambda chart, svc: AutoscaledService(chart, "autoscaling", AutoscaledServiceProps(svc, HorizontalScaling(2, 1, 70))),
     r"^demo/autoscaling\.scaling\.max_replicas: invalid value 1; "),
    (lambda chart, svc: AutoscaledService(chart, "autoscaling", AutoscaledServiceProps(svc, HorizontalScaling(2, 4))),
     r"^demo/autoscaling\.scaling: invalid value 'HorizontalScaling'; at least one metric"),
    (lambda chart, svc: AutoscaledService(chart, "autoscaling", AutoscaledServiceProps(svc, HorizontalScaling(1, 4, 70))),
     r"^demo/autoscaling\.min_available: invalid value 1; 0 or more and below the minimum replicas \(1\)"),
    (lambda chart, svc: ZoneSpreadPolicy(chart, "zones", ZoneSpreadPolicyProps(zone_when_unsatisfiable="Never")),
     r"^demo/zones\.zone_when_unsatisfiable: invalid value 'Never'; DoNotSchedule or ScheduleAnyway$"),
    (lambda chart, svc: ApiIngress(chart, "ingress", ApiIngressProps(name="i", host="h")).add_route("x", svc),
     r"^demo/ingress\.routes: invalid value 'x'; a path that must start with /$"),
    (lambda chart, svc: svc.scheduling.spread(max_skew=0),
     r"^demo/demo\.scheduling\.spread\.max_skew: invalid value 0; max_skew must be at least 1$"),
    (lambda chart, svc: services(chart)("bad", port=70000),
     r"^demo/bad\.port: invalid value 70000; a port between 1 and 65535$"),
])
def test_construct_checks_are_one_line_config_errors_naming_path_and_field(build, message):
    chart = new_chart()
    svc = services(chart)()
    with pytest.raises(ConstructError, match=message) as info:
        build(chart, svc)
    assert "\n" not in str(info.value) and user_error(info.value) is info.value
