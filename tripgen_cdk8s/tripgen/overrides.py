"""``--set <service>.<values key>=<value>``: one-run overrides with the chart's own value keys.

The keys are those of the service charts' values.yaml; each maps to one field of the typed config,
so an override is validated exactly like the config itself.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any

from ..app.overrides import NotApplicable
from ..lib.errors import ConfigError, UsageError
from .config import Environment, ServiceConfig, validate

# values.yaml key -> field path in ServiceConfig (or, for "env:", in Environment)
VALUES_TO_CONFIG: dict[str, tuple[str, ...]] = {
    "image.registry": ("image", "registry"),
    "image.repository": ("image", "repository"),
    "image.tag": ("image", "tag"),
    "image.digest": ("image", "digest"),
    "image.pullPolicy": ("image", "pull_policy"),
    "replicaCount": ("replicas",),
    "resources.requests.cpu": ("resources", "requests", "cpu"),
    "resources.requests.memory": ("resources", "requests", "memory"),
    "resources.requests.ephemeral-storage": ("resources", "requests", "ephemeral_storage"),
    "resources.limits.cpu": ("resources", "limits", "cpu"),
    "resources.limits.memory": ("resources", "limits", "memory"),
    "resources.limits.ephemeral-storage": ("resources", "limits", "ephemeral_storage"),
    "autoscaling.minReplicas": ("scaling", "min_replicas"),
    "autoscaling.maxReplicas": ("scaling", "max_replicas"),
    "autoscaling.targetCPUUtilizationPercentage": ("scaling", "cpu_utilization"),
    "autoscaling.targetMemoryUtilizationPercentage": ("scaling", "memory_utilization"),
    "podDisruptionBudget.minAvailable": ("min_available",),
    "workloadIdentity.clientId": ("identity_client_id",),
}


def values_keys(svc: ServiceConfig, env: Environment) -> list[str]:
    """The values keys the chart of ``svc`` has (replicaCount only when not autoscaled, ...)."""
    keys = []
    for key in VALUES_TO_CONFIG:
        if key == "replicaCount" and svc.scaling is not None:
            continue
        if key.startswith("autoscaling.") and svc.scaling is None:
            continue
        if key.startswith("podDisruptionBudget.") and svc.min_available is None:
            continue
        if key.startswith("workloadIdentity.") and env.key_vault is None:
            continue  # pragma: no mutate
        keys.append(key)
    return keys


def parse_assignment(text: str) -> tuple[str, str, str]:
    """``trip-service.autoscaling.maxReplicas=12`` -> (service, key, raw value)."""
    if "=" not in text:
        raise UsageError(f"--set {text!r}: expected <service>.<values key>=<value>")
    lhs, raw = text.split("=", 1)
    if "." not in lhs:
        raise UsageError(f"--set {text!r}: expected <service>.<values key>=<value>")
    service, key = lhs.split(".", 1)
    return service, key, raw


def _replace(obj: Any, path: tuple[str, ...], value: Any) -> Any:
    if len(path) == 1:
        return dataclasses.replace(obj, **{path[0]: value})
    return dataclasses.replace(obj, **{path[0]: _replace(getattr(obj, path[0]), path[1:], value)})


def _coerce(current: Any, raw: str, field: str) -> Any:
    if isinstance(current, bool):
        if raw not in ("true", "false"):
            raise ConfigError(field, raw, "allowed: true or false")
        return raw == "true"
    if isinstance(current, int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(field, raw, "allowed: an integer") from None
    return raw


def _value_of(assignments: list[str], set_key: str) -> str:
    """The raw value the last ``--set`` of ``set_key`` gave."""
    return [a.split("=", 1)[1] for a in assignments if a.split("=", 1)[0] == set_key][-1]


def apply_overrides(env: Environment, assignments: list[str]) -> Environment:
    """``env`` with every applicable ``--set`` applied, validated; ConfigError/UsageError otherwise."""
    applied: list[tuple[str, str]] = []
    for text in assignments:
        service, key, raw = parse_assignment(text)
        names = [s.name for s in env.services]
        if service not in names:
            hint = difflib.get_close_matches(service, names, n=1)
            raise NotApplicable(text, f"--set {service}", service,
                              f"allowed services: {', '.join(names)}" + (f" (did you mean {hint[0]}?)" if hint else ""))
        svc = env.service(service)
        keys = values_keys(svc, env)
        if key not in keys:
            hint = difflib.get_close_matches(key, keys, n=1, cutoff=0.4)
            raise NotApplicable(text, f"--set {service}.{key}", raw,
                              (f"unknown values key; did you mean {service}.{hint[0]}? " if hint else "unknown values key; ")
                              + f"keys of {service}: {', '.join(keys)}")
        path = VALUES_TO_CONFIG[key]
        current: Any = svc
        for part in path:
            current = getattr(current, part)
        value = _coerce(current, raw, f"--set {service}.{key}")
        new_svc = _replace(svc, path, value)
        env = dataclasses.replace(env, services=tuple(new_svc if s.name == service else s for s in env.services))
        applied.append((f"services.{service}." + ".".join(path), f"{service}.{key}"))
    try:
        return validate(env)
    except ConfigError as err:
        if not applied:
            raise
        for config_path, set_key in applied:
            if err.field == config_path:
                raise ConfigError(f"--set {set_key} ({config_path})", err.value, err.allowed) from None
        # The value set is fine alone but breaks a rule with another field (min above max, ...):
        # name the key that was set, then the rule it broke.
        # The nearest set: one on the same object, else one on the same service, else the last one.
        touched = ([(p, k) for p, k in applied if err.field.startswith(p.rsplit(".", 1)[0] + ".")]
                   or [(p, k) for p, k in applied if err.field.startswith(".".join(p.split(".")[:2]) + ".")]
                   or applied)
        config_path, set_key = touched[-1]
        raise ConfigError(f"--set {set_key} ({config_path})", _value_of(assignments, set_key),
                          f"conflicts with {err.field}={err.value!r}: {err.allowed}") from None
