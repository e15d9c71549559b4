"""Errors a user can cause, reported without a traceback."""

from __future__ import annotations

import collections.abc
import dataclasses
import difflib
import functools
import re
import sys
import types
import typing
from types import TracebackType
from typing import Any


class ConfigError(ValueError):
    """A configuration value is invalid.

    ``field`` is the dotted path of the offending value (``services.trip-service.scaling.max_replicas``),
    ``value`` what was given and ``allowed`` what would have been accepted.  Raised by config
    validation, by ``--set`` overrides and by the synth-time cross-object checks; the CLI turns it
    into one line on stderr and exit code 2.
    """

    def __init__(self, field: str, value: object, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field}: invalid value {value!r}; {allowed}")


class UsageError(ValueError):
    """A command-line argument is malformed (exit code 2)."""


class ConstructError(ConfigError):
    """A construct refused one of its props: ``construct_path`` is the construct's ``node.path``
    (``catalog/autoscaling``), ``prop`` the offending field (``min_available``,
    ``scaling.max_replicas``).  ``field`` is ``<construct_path>.<prop>``; the message is one line."""

    def __init__(self, construct_path: str, prop: str, value: object, allowed: str) -> None:
        self.construct_path = construct_path
        self.prop = prop
        super().__init__(f"{construct_path}.{prop}", value, allowed)

    @staticmethod
    def of(construct: Any, prop: str, value: object, allowed: str) -> ConstructError:
        """The error for ``construct`` (anything with ``node.path``; its repr otherwise)."""
        node = getattr(construct, "node", None)
        return ConstructError(node.path if node is not None else str(construct), prop, value, allowed)


class PropsError(ConfigError):
    """A props class was given a field it does not have, was missing a required one, or was given
    a value of the wrong type.  ``field`` is ``<PropsClass>.<field>``; the message lists what is
    allowed and, for a misspelling, the closest field name."""

    def __init__(self, props_class: str, name: str, problem: str, allowed: str) -> None:
        self.field = f"{props_class}.{name}"
        self.value = name
        self.allowed = allowed
        self.props_class = props_class
        ValueError.__init__(self, f"{self.field}: {problem}; {allowed}")


_UNEXPECTED = re.compile(r"^(?P<cls>[\w.]+)\.__init__\(\) got an unexpected keyword argument '(?P<name>\w+)'$")
_MISSING = re.compile(r"^(?P<cls>[\w.]+)\.__init__\(\) missing \d+ required (?:positional|keyword-only) "
                      r"arguments?: (?P<names>.+)$")
_POSITIONAL = re.compile(r"^(?P<cls>[\w.]+)\.__init__\(\) takes (?:from \d+ to )?(?P<n>\d+) positional arguments? "
                         r"but (?P<m>\d+) (?:was|were) given$")


def _find_class(qualname: str, tb: TracebackType | None) -> type | None:
    """The class called ``qualname``: looked up in the frames of ``tb`` (innermost first, where the
    call was written), then among the loaded modules of this package."""
    head, *rest = qualname.split(".")
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    candidates: list[Any] = []
    for frame in reversed(frames):
        for scope in (frame.f_locals, frame.f_globals):
            if head in scope:
                candidates.append(scope[head])
    for name, module in list(sys.modules.items()):
        if name.startswith("tripgen_cdk8s") and module is not None and head in vars(module):
            candidates.append(vars(module)[head])
    for found in candidates:
        for part in rest:
            found = getattr(found, part, None)
        if isinstance(found, type) and dataclasses.is_dataclass(found):
            return found
    return None


def _fields(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.init]


def user_error(exc: BaseException) -> ConfigError | None:
    """The user error ``exc`` stands for, or None when it is a bug (let it propagate).

    A :class:`ConfigError` (and so every :class:`ConstructError` / :class:`PropsError`) is returned
    as it is.  A ``TypeError`` raised by a props dataclass's ``__init__`` becomes a
    :class:`PropsError` naming ``<PropsClass>.<field>``: an unknown keyword (with the allowed
    fields and, when one is close, ``did you mean ...?``), a missing required field, or too many
    positional arguments.  Anything else gives None.
    """
    if isinstance(exc, ConfigError):
        return exc
    if not isinstance(exc, TypeError):
        return None
    message = str(exc)
    for pattern in (_UNEXPECTED, _MISSING, _POSITIONAL):
        m = pattern.match(message)
        if m is None:
            continue
        cls = _find_class(m["cls"], exc.__traceback__)
        if cls is None:
            return None
        name, fields = cls.__name__, _fields(cls)
        allowed = "allowed: " + ", ".join(fields)
        if pattern is _UNEXPECTED:
            close = difflib.get_close_matches(m["name"], fields, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            return PropsError(name, m["name"], "unknown field", allowed + hint)
        if pattern is _MISSING:
            missing = re.findall(r"'(\w+)'", m["names"])
            required = [f.name for f in dataclasses.fields(cls) if f.init and f.default is dataclasses.MISSING
                        and f.default_factory is dataclasses.MISSING]
            return PropsError(name, missing[0], "required field missing" + (
                f" (also {', '.join(missing[1:])})" if missing[1:] else ""), "required: " + ", ".join(required))
        return PropsError(name, "__init__", f"{int(m['m']) - 1} positional values given, at most {int(m['n']) - 1}",
                          "pass the optional fields by name; " + allowed)
    return None


# ---------------------------------------------------------------------------- props type checks


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # a forward reference only a type checker can resolve: check nothing
        return {}


def _matches(value: Any, hint: Any) -> bool:
    """Whether ``value`` fits the annotation ``hint`` (anything not understood fits)."""
    if hint is Any or hint is object:
        return True
    if hint is None or hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        return any(_matches(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_matches(v, args[0]) for v in value)
        return len(args) == len(value) and all(_matches(v, a) for v, a in zip(value, args, strict=True))
    if origin in (list, collections.abc.Sequence):
        return isinstance(value, (list, tuple)) and all(_matches(v, args[0]) for v in value) if args else True
    if origin in (dict, collections.abc.Mapping):
        if not isinstance(value, collections.abc.Mapping):
            return False
        return all(_matches(k, args[0]) and _matches(v, args[1]) for k, v in value.items()) if args else True
    if origin is collections.abc.Callable:
        return callable(value)
    if origin is not None:
        return isinstance(value, origin) if isinstance(origin, type) else True
    if isinstance(hint, type):
        if getattr(hint, "_is_protocol", False) and not getattr(hint, "_is_runtime_protocol", False):
            return True
        if hint is int:
            return isinstance(value, int) and not isinstance(value, bool)
        if hint is float:
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        return isinstance(value, hint)
    return True


def _describe(hint: Any) -> str:
    text = str(hint) if not isinstance(hint, type) else hint.__name__
    return re.sub(r"\b[\w.]+\.(\w+)", r"\1", text.replace("typing.", ""))


def check_props(construct: Any, props: Any, _prefix: str = "") -> None:
    """Check every field of the props dataclass ``props`` (and of the dataclasses it holds) against
    its annotation; the first mismatch is a :class:`ConstructError` naming the construct's path and
    the field (``catalog/service.port: invalid value '8080'; expected int``)."""
    if not dataclasses.is_dataclass(props) or isinstance(props, type):
        return
    hints = _hints(type(props))
    for f in dataclasses.fields(props):
        if f.name not in hints:
            continue
        value = getattr(props, f.name)
        if not _matches(value, hints[f.name]):
            raise ConstructError.of(construct, _prefix + f.name, value, f"expected {_describe(hints[f.name])}")
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            check_props(construct, value, f"{_prefix}{f.name}.")
