"""Finding and loading the per-environment overlays (``overlays/<env>/config.py``) of a project.

An overlay is imported as a real module: registered in ``sys.modules`` before it runs (so
dataclasses and ``from __future__ import annotations`` work), as a package whose directory is the
overlay's (``from . import helpers`` and ``import helpers`` both find a ``helpers.py`` beside it),
with the project directory on ``sys.path`` (``import overlays.common``).  Its ``config`` is a
:class:`~tripgen_cdk8s.app.model.Project`, or an app layer's config with ``to_project()``.
"""

from __future__ import annotations

import importlib.util
import sys
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
        spec.loader.exec_module(module)
    except ConfigError:
        raise
    except SystemExit as exc:
        raise ConfigError(str(rel), f"SystemExit({exc.code})", "the overlay must define config, not exit") from None
    except Exception as exc:  # the overlay is user code: report, don't crash
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
