"""Finding and loading the per-environment overlays (``overlays/<env>/config.py``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from .config import Environment, validate
from .errors import ConfigError
from .releases import FILE_NAME, check_applied, load_releases

ENV_ORDER = ("prod", "dev")


def available(root: Path) -> list[str]:
    """Environments that have an overlay, prod first."""
    found = [p.parent.name for p in (root / "overlays").glob("*/config.py")]
    return sorted(found, key=lambda e: (ENV_ORDER.index(e) if e in ENV_ORDER else len(ENV_ORDER), e))


def load(root: Path, env: str) -> Environment:
    """Import ``overlays/<env>/config.py`` and validate its ``config``."""
    path = root / "overlays" / env / "config.py"
    if not path.is_file():
        raise ConfigError("--env", env, f"allowed: {', '.join(available(root)) or 'no overlays found'}")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    spec = importlib.util.spec_from_file_location(f"tripgen_overlay_{env}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ConfigError:
        raise
    except Exception as exc:  # the overlay is user code: report, don't crash
        raise ConfigError(str(path.relative_to(root)), type(exc).__name__, f"the overlay failed to load: {exc}") from None
    config = getattr(module, "config", None)
    if not isinstance(config, Environment):
        raise ConfigError(f"{path.relative_to(root)}:config", type(config).__name__, "allowed: an Environment")
    loaded = validate(config)
    releases_file = path.with_name(FILE_NAME)
    if releases_file.is_file():  # the durable releases: the overlay must really run them
        check_applied(loaded, load_releases(releases_file))
    return loaded
