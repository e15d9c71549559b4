"""Errors a user can cause, reported without a traceback."""

from __future__ import annotations


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
