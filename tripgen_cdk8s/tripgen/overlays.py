"""Finding, loading and synthesising the per-environment overlays (``overlays/<env>/config.py``).

An overlay's ``config`` is a TripGen :class:`~tripgen_cdk8s.tripgen.config.Environment` or a
generic :class:`~tripgen_cdk8s.lib.project.Project` (a team's own app built from the constructs).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from ..lib.errors import ConfigError
from ..lib.project import Project, ProjectSynthesis, project_files
from .config import Environment, validate
from .releases import FILE_NAME, check_applied, load_releases

ENV_ORDER = ("prod", "dev")


def available(root: Path) -> list[str]:
    """Environments that have an overlay, prod first."""
    found = [p.parent.name for p in (root / "overlays").glob("*/config.py")]
    return sorted(found, key=lambda e: (ENV_ORDER.index(e) if e in ENV_ORDER else len(ENV_ORDER), e))


Config = Environment | Project


def load(root: Path, env: str) -> Config:
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
    if isinstance(config, Project):
        if config.name != env:
            raise ConfigError(f"{path.relative_to(root)}:config.name", config.name, f"allowed: {env} (the directory)")
        return config
    if not isinstance(config, Environment):
        raise ConfigError(f"{path.relative_to(root)}:config", type(config).__name__,
                          "allowed: an Environment or a Project")
    loaded = validate(config)
    releases_file = path.with_name(FILE_NAME)
    if releases_file.is_file():  # the durable releases: the overlay must really run them
        check_applied(loaded, load_releases(releases_file))
    return loaded


def synthesize(config: Config) -> Any:
    """Synthesise an overlay's config: a TripGen Synthesis, or a ProjectSynthesis."""
    if isinstance(config, Project):
        from ..lib.project import synthesize as synthesize_project

        return synthesize_project(config)
    from .app import synthesize as synthesize_environment

    return synthesize_environment(config)


def files(synthesis: Any) -> dict[str, str]:
    """Every file ``synth`` writes under ``charts/<env>/`` for ``synthesis``."""
    if isinstance(synthesis, ProjectSynthesis):
        return project_files(synthesis)
    from .outputs import environment_files

    return environment_files(synthesis)


def environment(config: Config, command: str) -> Environment:
    """``config`` when it is a TripGen Environment; a ConfigError naming ``command`` otherwise."""
    if not isinstance(config, Environment):
        raise ConfigError("config", type(config).__name__, f"allowed for `tripgen {command}`: a TripGen Environment "
                          "(a Project has no service model to read)")
    return config
