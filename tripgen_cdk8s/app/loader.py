"""Finding and loading the per-environment overlays (``overlays/<env>/config.py``) of a project.

An overlay is imported as a real module: registered in ``sys.modules`` before it runs (so
dataclasses and ``from __future__ import annotations`` work), as a package whose directory is the
overlay's (``from . import helpers`` and ``import helpers`` both find a ``helpers.py`` beside it),
with the project directory on ``sys.path`` (``import overlays.common``).  Its ``config`` is a
:class:`~tripgen_cdk8s.app.model.Project`, or an app layer's config with ``to_project()``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..lib.errors import ConfigError
from .model import Project, ProjectSource

ENV_ORDER = ("prod", "dev")
"""Listing order when present (production first, as reviewers read it); other names follow sorted."""


def available(root: Path) -> list[str]:
    """Environments that have an overlay: prod and dev first when present, the rest by name."""
    found = [p.parent.name for p in (root / "overlays").glob("*/config.py")]
    return sorted(found, key=lambda e: (ENV_ORDER.index(e) if e in ENV_ORDER else len(ENV_ORDER), e))


def overlay_path(root: Path, env: str) -> Path:
    """``overlays/<env>/config.py`` under ``root``; ConfigError naming the environments there are."""
    path = root / "overlays" / env / "config.py"
    if not path.is_file():
        raise ConfigError("--env", env, f"allowed: {', '.join(available(root)) or 'no overlays found'}")
    return path


TIMEOUT_VARIABLE = "TRIPGEN_CONFIG_TIMEOUT"
DEFAULT_TIMEOUT_SECONDS = 120.0


class ConfigTimeout(Exception):
    """The overlay's code ran longer than its time limit."""


def time_limit() -> float:
    """Seconds an overlay's code (import and ``build``) may run: ``$TRIPGEN_CONFIG_TIMEOUT`` or 120."""
    raw = os.environ.get(TIMEOUT_VARIABLE, "")
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT_SECONDS
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 < value <= 86400:
        raise ConfigError(f"${TIMEOUT_VARIABLE}", raw, "allowed: seconds, a number above 0 and at most 86400")
    return value


@contextlib.contextmanager
def user_code(where: str) -> Iterator[None]:
    """Run an overlay's code: its ``print`` goes to stderr (stdout is the tool's: JSON for
    ``diff --against``, Mermaid for ``graph``), and it is stopped after :func:`time_limit` seconds
    (ConfigError naming ``where``)."""
    seconds = time_limit()
    timed = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")

    def expire(_signum: int, _frame: Any) -> None:
        raise ConfigTimeout()

    previous = signal.signal(signal.SIGALRM, expire) if timed else None
    if timed:
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    except ConfigTimeout:
        raise ConfigError(where, f"(still running after {seconds:g} s)",
                          f"allowed: a config that finishes (raise the limit with ${TIMEOUT_VARIABLE})") from None
    finally:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def load_config(root: Path, env: str) -> Any:
    """Import ``overlays/<env>/config.py`` as a module and return its ``config`` object."""
    path = overlay_path(root, env)
    rel = path.relative_to(root)
    name = f"tripgen_overlay_{env.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(name, path, submodule_search_locations=[str(path.parent)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    before = set(sys.modules)
    added = [p for p in (str(path.parent), str(root)) if p not in sys.path]
    sys.path[:0] = added
    sys.modules[name] = module
    try:
        with user_code(str(rel)):
            spec.loader.exec_module(module)
    except ConfigError:
        raise
    except SystemExit as exc:
        raise ConfigError(str(rel), f"SystemExit({exc.code})", "the overlay must define config, not exit") from None
    except (Exception, RecursionError) as exc:  # the overlay is user code: report, don't crash
        text = (str(exc).strip().splitlines() or [""])[0]
        raise ConfigError(str(rel), type(exc).__name__, f"the overlay failed to load: {text}") from None
    finally:
        for p in added:
            sys.path.remove(p)
        # helper modules beside this overlay must not shadow another environment's of the same name
        for mod in set(sys.modules) - before:
            file = getattr(sys.modules[mod], "__file__", None) or ""
            if mod != name and Path(file).parent == path.parent:
                del sys.modules[mod]
    if not hasattr(module, "config"):
        raise ConfigError(f"{rel}:config", "(missing)", "allowed: an overlay that defines config = Project(...)")
    return module.config


def as_project(config: Any, where: str, env: str) -> Project:
    """``config`` as a Project (an app layer's config through ``to_project()``), named ``env``."""
    if isinstance(config, ProjectSource) and not isinstance(config, Project):
        config = config.to_project()
    if not isinstance(config, Project):
        raise ConfigError(f"{where}:config", type(config).__name__, "allowed: a Project (or a config with to_project())")
    if config.name != env:
        raise ConfigError(f"{where}:config.name", config.name, f"allowed: {env} (the directory)")
    return config


def load(root: Path, env: str) -> Project:
    """The Project of ``overlays/<env>/config.py``."""
    return as_project(load_config(root, env), str(overlay_path(root, env).relative_to(root)), env)
