"""TripGen's overlays: ``overlays/<env>/config.py`` defining ``config = Environment(...)``.

Loading is the application model's (:mod:`tripgen_cdk8s.app.loader`); this module only adds the
TripGen view the tests and tools use: the validated :class:`Environment` of an overlay.
"""

from __future__ import annotations

from pathlib import Path

from ..app.loader import available as available
from ..app.loader import load_config
from ..lib.errors import ConfigError
from .config import Environment, validate


def load(root: Path, env: str) -> Environment:
    """Import ``overlays/<env>/config.py`` and validate its TripGen ``config``."""
    config = load_config(root, env)
    if not isinstance(config, Environment):
        raise ConfigError(f"overlays/{env}/config.py:config", type(config).__name__, "allowed: a TripGen Environment")
    return validate(config)
