"""Durable image releases: ``overlays/<env>/releases.yaml``, one tag (and optional digest) per service.

The file is the one place a release pipeline edits (``tripgen release set`` / ``promote``); the
environment's ``config.py`` reads it with :func:`load_releases` and builds each service's image
from it, and :func:`check_applied` (run on every synthesis of an environment that has the file)
proves that it did, on the synthesised objects: every service of the file is a workload of the
environment (its ``app.kubernetes.io/name``) whose container runs exactly the file's tag and
digest.  This works the same for every app.  Edits go through ruamel.yaml's round trip, so the
comments and the order of the file survive.
"""

from __future__ import annotations

import difflib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from ..lib.errors import ConfigError
from .guardrails import pod_spec
from .model import DIGEST, IMAGE_TAG

FILE_NAME = "releases.yaml"

SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "releases.yaml",
    "type": "object",
    "required": ["services"],
    "additionalProperties": False,
    "properties": {
        "services": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {
                "type": "object",
                "required": ["tag"],
                "additionalProperties": False,
                "properties": {
                    "tag": {"type": "string", "pattern": IMAGE_TAG.pattern},
                    "digest": {"type": "string", "pattern": f"{DIGEST.pattern}|^$"},
                },
            },
        },
    },
}


@dataclass(frozen=True)
class Release:
    """The image one service runs: an immutable tag and, once the pipeline pinned it, a digest."""

    tag: str
    digest: str = ""


@dataclass(frozen=True)
class Releases:
    """The releases of one environment, by service name, in the file's order."""

    path: Path
    services: dict[str, Release]

    def release(self, service: str) -> Release:
        """The release of ``service``; a service missing from the file is a ConfigError."""
        if service not in self.services:
            raise ConfigError(f"{_display(self.path)}:services", service,
                              f"allowed: a service listed in the file ({', '.join(self.services)}); a new service "
                              f"gets its first release with `tripgen release set {service} --env {self.path.parent.name} "
                              "--tag TAG`")
        return self.services[service]

    def tag(self, service: str) -> str:
        """The image tag of ``service``."""
        return self.release(service).tag

    def digest(self, service: str) -> str:
        """The image digest of ``service`` (empty when not pinned)."""
        return self.release(service).digest


def _display(path: Path) -> str:
    parts = path.parts
    return "/".join(parts[-3:]) if len(parts) >= 3 else str(path)


def releases_path(root: Path, env: str) -> Path:
    """``overlays/<env>/releases.yaml`` under the project ``root``."""
    return root / "overlays" / env / FILE_NAME


def _yaml() -> Any:
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.indent(mapping=2, sequence=4, offset=2)
    y.width = 4096
    return y


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    return node


def check_schema(data: Any, where: str) -> dict[str, Release]:
    """Validate parsed releases data against :data:`SCHEMA`; the releases by service, or ConfigError."""
    plain = _plain(data)
    errors = sorted(jsonschema.Draft7Validator(SCHEMA).iter_errors(plain), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        field = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        allowed = {"tag": "allowed: a Docker tag (letters, digits, '.', '_', '-')",
                   "digest": "allowed: empty or sha256:<64 hex digits>"}.get(field.rsplit(".", 1)[-1], f"allowed: {err.message}")
        raise ConfigError(f"{where}:{field}", err.instance if not isinstance(err.instance, dict) else "...", allowed)
    return {name: Release(str(entry["tag"]), str(entry.get("digest") or "")) for name, entry in plain["services"].items()}


MAX_BYTES = 256 * 1024
"""A releases file is a few lines per service; anything larger is refused before it is parsed."""
MAX_DEPTH = 8
"""services -> name -> tag is three levels; deeper nesting is refused before it is composed."""


def check_shape(text: str, where: str) -> None:
    """Refuse, before anything is built from it, a releases text that is too large, nests too deep,
    or uses anchors and aliases (a few hundred bytes of aliases expand to gigabytes)."""
    import yaml

    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ConfigError(where, f"({len(text)} characters)", f"allowed: at most {MAX_BYTES // 1024} KiB")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    depth = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise ConfigError(where, "(YAML anchor or alias)", "allowed: plain YAML without anchors and aliases")
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise ConfigError(where, f"(nested deeper than {MAX_DEPTH})",
                                      "allowed: services: <name>: {tag, digest}")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError as exc:
        raise ConfigError(where, "(unparsable YAML)", f"allowed: valid YAML ({str(exc).splitlines()[0]})") from None


def parse_releases(text: str, path: Path) -> Releases:
    """Parse and schema-check the text of a releases file (its shape checked first)."""
    from ruamel.yaml.error import YAMLError

    check_shape(text, _display(path))
    try:
        data = _yaml().load(text)
    except YAMLError as exc:
        raise ConfigError(_display(path), "(unparsable YAML)", f"allowed: valid YAML ({str(exc).splitlines()[0]})") from None
    return Releases(path, check_schema(data, _display(path)))


def load_releases(path: str | Path) -> Releases:
    """Read and schema-check ``releases.yaml``; ``path`` may be the file or the overlay's
    ``config.py`` (``load_releases(__file__)`` reads the file beside it)."""
    path = Path(path)
    if path.suffix == ".py":
        path = path.with_name(FILE_NAME)
    if not path.is_file():
        raise ConfigError(_display(path), "(missing)", "allowed: a releases file with a tag per service")
    return parse_releases(read_text(path), path)


def read_text(path: Path) -> str:
    """The file's text: at most :data:`MAX_BYTES`, UTF-8, or ConfigError naming the file."""
    with path.open("rb") as f:
        data = f.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ConfigError(_display(path), "(too large)", f"allowed: at most {MAX_BYTES // 1024} KiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(_display(path), f"(byte {exc.start}: not UTF-8)", "allowed: a UTF-8 text file") from None


WORKLOAD_KINDS = ("Deployment", "Rollout", "StatefulSet", "DaemonSet", "Job", "CronJob")
NAME_LABEL = "app.kubernetes.io/name"


def workload_images(objects: list[dict[str, Any]]) -> dict[str, str]:
    """The image of each workload by service name (its ``app.kubernetes.io/name`` label, else
    its name): the container of that name, else the workload's first container."""
    out: dict[str, str] = {}
    for obj in objects:
        if obj.get("kind") not in WORKLOAD_KINDS:
            continue
        meta = obj.get("metadata") or {}
        name = (meta.get("labels") or {}).get(NAME_LABEL) or meta.get("name", "")
        containers = pod_spec(obj).get("containers") or []
        if not containers or name in out:
            continue
        chosen = next((c for c in containers if c.get("name") == name), containers[0])
        out[name] = str(chosen.get("image", ""))
    return out


def runs_release(image: str, rel: Release) -> bool:
    """Whether the image reference ``image`` is the release's (``@digest`` when pinned, else ``:tag``)."""
    return image.endswith(f"@{rel.digest}") if rel.digest else image.endswith(f":{rel.tag}")


def check_applied(releases: Releases, objects: list[dict[str, Any]], env: str) -> None:
    """The environment really runs the file's releases: no unknown service in the file, and every
    listed service's workload runs the file's tag, or its digest when pinned (else the overlay
    ignores the file)."""
    images = workload_images(objects)
    names = sorted(images)
    where = _display(releases.path)
    for name in releases.services:
        if name not in images:
            hint = difflib.get_close_matches(name, names, n=1)
            raise ConfigError(f"{where}:services.{name}", name, f"did you mean {hint[0]}?" if hint
                              else f"allowed: a workload of {env} ({', '.join(names) or 'none'})")
    for name, rel in releases.services.items():
        if not runs_release(images[name], rel):
            raise ConfigError(f"{name}: image", images[name],
                              f"allowed: the release in {where} ({rel.tag} {rel.digest}".strip() + "); "
                              "build the image with releases.tag()/digest() in config.py")


# ---------------------------------------------------------------------------- editing


def edit_text(text: str, path: Path, changes: dict[str, Release], add: bool = False) -> str:
    """The file's text with ``changes`` applied (comments, order and quoting kept), schema-checked;
    with ``add``, a service the file lacks is appended."""
    y = _yaml()
    data = y.load(text)
    parse_releases(text, path)
    services = data["services"]
    for name, rel in changes.items():
        if name not in services:
            if not add:
                raise ConfigError(f"{_display(path)}:services", name, f"allowed: {', '.join(services)}")
            services[name] = {}
        entry = services[name]
        entry["tag"] = rel.tag
        if rel.digest:
            entry["digest"] = rel.digest
        elif "digest" in entry:
            del entry["digest"]
    out = io.StringIO()
    y.dump(data, out)
    new_text = out.getvalue()
    parse_releases(new_text, path)
    return new_text


def check_tag(tag: str) -> None:
    """A well-formed Docker tag, or ConfigError."""
    if not IMAGE_TAG.match(tag):
        raise ConfigError("--tag", tag, "allowed: a Docker tag (letters, digits, '.', '_', '-')")


def check_digest(digest: str) -> None:
    """``sha256:<64 hex digits>``, or ConfigError."""
    if not DIGEST.match(digest):
        raise ConfigError("--digest", digest, "allowed: sha256:<64 lower-case hex digits>")


def image_reference(registry: str, repository: str, rel: Release) -> str:
    """``registry/repository@digest`` when pinned, else ``registry/repository:tag``."""
    return f"{registry}/{repository}@{rel.digest}" if rel.digest else f"{registry}/{repository}:{rel.tag}"




# ---------------------------------------------------------------------------- commands


def planned_set(root: Path, env: str, service: str, tag: str | None, digest: str | None) -> dict[str, str]:
    """The new text of ``env``'s releases file for ``release set`` (nothing written).

    ``--tag`` alone records a new release and drops a digest of the old one; ``--digest`` alone
    pins the current tag's image; both set both.
    """
    if tag is None and digest is None:
        raise ConfigError("release set", "(nothing)", "allowed: --tag T and/or --digest sha256:...")
    if tag is not None:
        check_tag(tag)
    if digest is not None:
        check_digest(digest)
    path = releases_path(root, env)
    current = load_releases(path)
    if service not in current.services:
        return {env: _planned_new(root, env, path, current, service, tag, digest)}
    old = current.services[service]
    new = Release(tag if tag is not None else old.tag, digest if digest is not None else ("" if tag is not None else old.digest))
    return {env: edit_text(read_text(path), path, {service: new})}


def _planned_new(root: Path, env: str, path: Path, current: Releases, service: str, tag: str | None,
                 digest: str | None) -> str:
    """The releases text with a first release of ``service``, which the config defines but the file
    lacks (adding a service); a name no workload of the config has is refused with the nearest name."""
    if tag is None:
        raise ConfigError("--tag", "(none)", f"allowed: a tag for the first release of {service}, which "
                          f"{_display(path)} does not list yet")
    text = edit_text(read_text(path), path, {service: Release(tag, digest or "")}, add=True)
    try:
        synthesize_with(root, {env: text})
    except ConfigError as err:
        if err.field == f"{_display(path)}:services.{service}" or (err.field.endswith(f":services.{service}")):
            hint = difflib.get_close_matches(service, list(current.services), n=1)
            raise ConfigError("SERVICE", service, f"did you mean {hint[0]}?" if hint else err.allowed) from None
        raise
    return text


def planned_promote(root: Path, source: str, target: str, services: tuple[str, ...]) -> dict[str, str]:
    """The new text of ``target``'s releases file with ``source``'s tag and digest of ``services``
    (every service both files list when none is named)."""
    if source == target:
        raise ConfigError("--to", target, "allowed: an environment other than --from")
    src, dst = load_releases(releases_path(root, source)), load_releases(releases_path(root, target))
    names = list(services) or [s for s in src.services if s in dst.services]
    for name in names:
        for side, rel in (("--from " + source, src), ("--to " + target, dst)):
            if name not in rel.services:
                hint = difflib.get_close_matches(name, list(rel.services), n=1)
                raise ConfigError(f"SERVICE ({side})", name, f"did you mean {hint[0]}?" if hint
                                  else f"allowed: {', '.join(rel.services)}")
    path = releases_path(root, target)
    return {target: edit_text(read_text(path), path, {n: src.services[n] for n in names})}


MAX_OVERLAY_BYTES = 64 * 1024 * 1024
"""The most ``release set`` copies of ``overlays/`` into its scratch directory (configs are kilobytes)."""


def copy_overlays(src: Path, dst: Path, limit: int = MAX_OVERLAY_BYTES) -> None:
    """Copy the regular files and directories under ``src`` to ``dst``, never following a symlink
    (a link, a device, a FIFO or a socket is skipped: a link to ``/dev/zero`` copies nothing) and at
    most ``limit`` bytes in all, else ConfigError naming the file that went over."""
    import os
    import stat

    total = 0
    dst.mkdir(mode=0o700)
    for dirpath, dirnames, filenames in os.walk(src, followlinks=False):
        rel_dir = Path(dirpath).relative_to(src)
        keep = []
        for name in sorted(dirnames):
            if not os.path.islink(os.path.join(dirpath, name)):
                (dst / rel_dir / name).mkdir(mode=0o700)
                keep.append(name)
        dirnames[:] = keep
        for name in sorted(filenames):
            path = Path(dirpath) / name
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue  # a symlink (ELOOP) or unreadable: not part of the copy
            with os.fdopen(fd, "rb") as handle:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    continue
                data = handle.read(limit - total + 1)
            total += len(data)
            if total > limit:
                raise ConfigError(f"{_display(path)}", "(overlays/ too large to copy)",
                                  f"allowed: at most {limit // (1024 * 1024)} MiB of regular files in overlays/")
            (dst / rel_dir / name).write_bytes(data)


def synthesize_with(root: Path, new_texts: dict[str, str]) -> dict[str, Any]:
    """Synthesise each environment as it will be with its new releases text, in a scratch copy of
    ``overlays/`` (regular files only, bounded: see :func:`copy_overlays`), so the guardrails of the
    config run and nothing of the project is touched.  Returns the synthesis of each environment;
    raises ConfigError."""
    import tempfile

    from . import loader, pipeline

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="tripgen-release-") as tmp:
        scratch = Path(tmp)
        copy_overlays(root / "overlays", scratch / "overlays")
        for env, text in new_texts.items():
            releases_path(scratch, env).write_text(text, encoding="utf-8")
            out[env] = pipeline.synthesize(loader.load(scratch, env), scratch, charts_dir=root / "charts")
    return out


def rows(root: Path, envs: list[str]) -> list[list[str]]:
    """``release show``'s table: environment, service, tag, digest, the image its workload runs."""
    from . import loader, pipeline

    table = []
    for env in envs:
        rel = load_releases(releases_path(root, env))
        synthesis = pipeline.synthesize(loader.load(root, env), root)
        images = workload_images([o for c in synthesis.charts for o in c.objects])
        for name, r in rel.services.items():
            table.append([env, name, r.tag, r.digest or "-", images.get(name, "-")])
    return table
