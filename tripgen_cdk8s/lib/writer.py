"""Writing generated environment directories without ever losing a file the generator did not write.

What ``synth --out DIR`` touches in ``DIR``, and nothing else:

* ``DIR/<env>/`` for each environment it generates, only when that directory is missing, empty, or
  holds the record ``.tripgen-files`` a previous synth wrote.  Inside it, it replaces or removes only
  the files listed in that record; any other file (a team's runbook, ...) is carried over into the new
  tree untouched (a hard link to the same file, or a copy where links are impossible).  A file it did
  not write at a path it now wants to generate is a refusal (exit 2, the paths listed), not an
  overwrite.
* its staging directories ``DIR/.tripgen-staging-<random>/``, each holding the marker file
  ``.tripgen-staging`` written before anything else; recovery removes only directories with that name
  prefix *and* that marker.
* ``DIR`` itself is locked with ``flock(2)`` while writing (no lock file): a second writer waits a
  bounded time, then fails naming the holder's process.

Crash safety: every environment is first built completely in its staging directory; then each
``DIR/<env>`` is swapped with its new tree by one ``renameat2(RENAME_EXCHANGE)`` (Linux >= 3.15 on
ext4, xfs, btrfs, tmpfs, ...), so at every instant, SIGKILL included, ``DIR/<env>`` is the complete
old tree or the complete new tree; the old tree then sits in the staging directory, which this run or
the next removes.  Where the exchange is unsupported (another OS, a file system without it), the
fallback is two renames (old tree into staging, new tree into place): a crash between them leaves
``DIR/<env>`` missing for an instant, and the next run moves the old tree back before anything else.
Across environments the guarantee is per environment: a crash between two swaps leaves e.g. prod new
and dev old (each complete); rerunning synth converges, and ``synth --check`` reports the difference.
The guarantee covers the process dying, not the machine losing power (nothing is fsync'ed).

A file of ours that already holds exactly the new text goes into the new tree as the same file (a
hard link) instead of being written again, so a synth that changes one chart creates only that
chart's changed files (on a slow disk, most of a large synth's time is creating files).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

RECORD = ".tripgen-files"
RECORD_HEADER = ("# Files tripgen-cdk8s generated in this directory (one path per line). `synth` replaces or\n"
                 "# removes only these; any other file here is left in place.\n")
STAGING_PREFIX = ".tripgen-staging-"
STAGING_MARKER = ".tripgen-staging"
MARKER_TEXT = "tripgen-cdk8s staging directory for environment "
DEFAULT_LOCK_TIMEOUT = 30.0


class WriteRefused(Exception):
    """The writer will not proceed because it would lose or overwrite something it does not own,
    or another writer holds the lock.  Reported as one line with exit code 2."""


# ---------------------------------------------------------------------------- the record


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it (for messages)."""
    rel = os.path.relpath(path)
    return str(path) if rel.startswith("..") else rel


def _holds(path: Path, text: str) -> bool:
    try:
        return path.is_file() and not path.is_symlink() and path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False


def record_text(files: dict[str, str]) -> str:
    """The ownership record for an environment directory holding exactly ``files``."""
    return RECORD_HEADER + "".join(f"{rel}\n" for rel in sorted(files))


def read_record(env_dir: Path) -> set[str] | None:
    """The paths a previous synth wrote in ``env_dir``, or None when it holds no record."""
    path = env_dir / RECORD
    if not path.is_file():
        return None
    return {line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")}


def _existing(root: Path) -> tuple[set[str], set[str]]:
    """(files and symlinks, empty directories) under ``root``, relative to it."""
    files: set[str] = set()
    empty: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        for name in [*filenames, *links]:
            files.add(os.path.normpath(os.path.join(rel_dir, name)))
        if not dirnames and not filenames and rel_dir != ".":
            empty.add(os.path.normpath(rel_dir))
    return files, empty


def with_record(files: dict[str, str]) -> dict[str, str]:
    """``files`` plus the record that lists them: what ``DIR/<env>/`` holds after a synth."""
    return {**files, RECORD: record_text(files)}


def stale_files(out: Path, env: str, files: dict[str, str]) -> list[str]:
    """Paths (relative to ``out``) that differ from, are missing from, or are extra to ``files``.

    Extra means written by a previous synth (listed in the record) and no longer generated; files the
    generator did not write are not its business and are never reported."""
    root = out / env
    expected = with_record(files)
    stale = []
    for rel, text in expected.items():
        path = root / rel
        if not path.is_file() or path.is_symlink() or path.read_text(encoding="utf-8") != text:
            stale.append(f"{env}/{rel}")
    owned = read_record(root) or set()
    stale += [f"{env}/{rel}" for rel in owned - set(expected) if (root / rel).is_file()]
    return sorted(stale)


# ---------------------------------------------------------------------------- atomic exchange

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_libc: ctypes.CDLL | None = None


def _renameat2() -> Callable[..., int] | None:
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(None, use_errno=True)
        except OSError:
            return None
    fn = getattr(_libc, "renameat2", None)
    if fn is None:
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


def exchange(a: Path, b: Path) -> bool:
    """Atomically swap the directories ``a`` and ``b``; False when the system cannot (then the
    caller falls back to two renames)."""
    fn = _renameat2()
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


# ---------------------------------------------------------------------------- locking


def _lock_holder(path: Path) -> str:
    """Who holds the flock on ``path``, from /proc/locks (Linux); a best effort."""
    try:
        st = os.stat(path)
        wanted = (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
        with open("/proc/locks", encoding="utf-8") as handle:
            for line in handle:
                parts = line.split()
                if len(parts) < 6 or parts[1] != "FLOCK":
                    continue
                dev_ino = parts[5].split(":")
                if len(dev_ino) != 3:
                    continue
                key = (int(dev_ino[0], 16), int(dev_ino[1], 16), int(dev_ino[2]))
                if key == wanted and parts[4].isdigit():
                    pid = parts[4]
                    try:
                        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
                    except OSError:
                        cmd = "?"
                    return f"pid {pid} ({cmd})"
    except (OSError, ValueError):
        pass
    return "another process"


@contextlib.contextmanager
def locked(out: Path, timeout: float = DEFAULT_LOCK_TIMEOUT) -> Iterator[None]:
    """Hold an exclusive ``flock`` on the directory ``out`` (which must exist).  Waits up to
    ``timeout`` seconds for another writer, then raises :class:`WriteRefused` naming it."""
    fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WriteRefused(f"{_shown(out)}: another synth is writing here ({_lock_holder(out)}); "
                                       f"gave up after {timeout:g} s") from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)  # releases the lock


# ---------------------------------------------------------------------------- staging and recovery


def _is_own_staging(path: Path) -> str | None:
    """The environment a staging directory of ours was for, or None when ``path`` is not provably ours."""
    if not path.name.startswith(STAGING_PREFIX) or path.is_symlink() or not path.is_dir():
        return None
    marker = path / STAGING_MARKER
    try:
        text = marker.read_text(encoding="utf-8") if marker.is_file() and not marker.is_symlink() else ""
    except (OSError, UnicodeDecodeError):
        return None
    return text[len(MARKER_TEXT):].strip() if text.startswith(MARKER_TEXT) else None


def _remove_staging(path: Path) -> None:
    """Remove one staging directory, its marker last, so an interrupted removal stays provably ours."""
    for child in ("tree", "old"):
        if (path / child).exists():
            shutil.rmtree(path / child)
    (path / STAGING_MARKER).unlink(missing_ok=True)
    path.rmdir()


def recover(out: Path) -> None:
    """Undo or finish what a crashed synth left in ``out``: put back an environment directory the
    rename fallback had moved aside, then remove every staging directory of ours."""
    if not out.is_dir():
        return
    for entry in sorted(out.iterdir()):
        env = _is_own_staging(entry)
        if env is None:
            continue
        target = out / env
        if env and (entry / "old").is_dir() and not os.path.lexists(target):
            os.rename(entry / "old", target)
        _remove_staging(entry)


@dataclass
class _Staged:
    env: str
    staging: Path
    target: Path


def _carry_over(old_root: Path, new_root: Path, foreign: set[str], foreign_dirs: set[str]) -> None:
    """Put the files the generator did not write into the new tree: the same file (hard link) where
    possible, else a copy with its metadata."""
    for rel in sorted(foreign_dirs):
        (new_root / rel).mkdir(parents=True, exist_ok=True)
    for rel in sorted(foreign):
        src, dst = old_root / rel, new_root / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dst, follow_symlinks=False)
        except OSError:
            if src.is_symlink():
                os.symlink(os.readlink(src), dst)
            else:
                shutil.copy2(src, dst)


def _reuse(current: Path, staged: Path, text: str) -> bool:
    """Put the file synth wrote before into the new tree as the same file (a hard link) when it already
    holds exactly ``text``: an unchanged chart costs no new inode or data block, and removing the
    old tree after the swap frees nothing.  False (write it) when it differs or cannot be linked."""
    if not _holds(current, text):  # a regular file, never a symlink
        return False
    try:
        os.link(current, staged)
    except OSError:
        return False
    return True


def _stage(out: Path, env: str, files: dict[str, str], on_file: Callable[[str], None] | None) -> _Staged:
    target = out / env
    foreign: set[str] = set()  # pragma: no mutate
    foreign_dirs: set[str] = set()  # pragma: no mutate
    unchanged: set[str] = set()  # the files of ours already in place, candidates for reuse
    if os.path.lexists(target):
        if target.is_symlink() or not target.is_dir():
            raise WriteRefused(f"{_shown(target)}: exists and is not a directory; move it away or choose another --out")
        existing, foreign_dirs = _existing(target)
        owned = read_record(target)
        if owned is None:
            # No record (an empty directory, or charts from before records existed): a file is
            # provably ours only when it already holds exactly what synth generates for its path.
            owned = {rel for rel in existing if rel in files and _holds(target / rel, files[rel])}
            unknown = sorted(existing - owned)
            if unknown:
                listing = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
                raise WriteRefused(f"{_shown(target)}: holds files synth did not write (no {RECORD} record): "
                                   f"{listing}; move them or choose another --out")
        owned.add(RECORD)
        foreign = existing - owned
        unchanged = owned & existing
        clash = sorted(rel for rel in foreign if rel in files or rel == RECORD
                       or any(g.startswith(rel + "/") or rel.startswith(g + "/") for g in files))
        if clash:
            raise WriteRefused(f"{_shown(target)}: synth would overwrite files it did not write: "
                               f"{', '.join(clash[:5])}; move them away first")
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out))
    try:
        (staging / STAGING_MARKER).write_text(MARKER_TEXT + env + "\n", encoding="utf-8")
        tree = staging / "tree"
        tree.mkdir()
        for directory in sorted({os.path.dirname(rel) for rel in files} - {""}):
            (tree / directory).mkdir(parents=True, exist_ok=True)
        for rel, text in sorted(with_record(files).items()):
            if not (rel in unchanged and _reuse(target / rel, tree / rel, text)):
                with open(tree / rel, "w", encoding="utf-8") as handle:
                    handle.write(text)
            if on_file is not None:
                on_file(rel)
        for d in [tree, *[p for p in tree.rglob("*") if p.is_dir()]]:
            os.chmod(d, 0o755)
        if foreign or foreign_dirs:
            _carry_over(target, tree, foreign, foreign_dirs)
    except BaseException:
        with contextlib.suppress(OSError):
            _remove_staging(staging)
        raise
    return _Staged(env, staging, target)


def _swap(staged: _Staged) -> None:
    tree, target = staged.staging / "tree", staged.target
    if not os.path.lexists(target):
        os.rename(tree, target)
    elif not exchange(tree, target):
        os.rename(target, staged.staging / "old")  # fallback: recover() moves it back after a crash here
        os.rename(tree, target)
    _remove_staging(staged.staging)


def write_environments(out: Path, envs: dict[str, dict[str, str]], *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
                       on_file: Callable[[str], None] | None = None) -> None:
    """Write ``out/<env>/`` for every environment in ``envs`` (env -> files by relative path).

    Holds the lock on ``out``; recovers what a crashed run left; stages every environment completely
    (a failure here changes nothing); then swaps each environment directory atomically."""
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        with locked(out, lock_timeout):
            recover(out)
            staged: list[_Staged] = []
            try:
                for env, files in envs.items():
                    staged.append(_stage(out, env, files, on_file))
            except BaseException:
                for s in staged:
                    with contextlib.suppress(OSError):
                        _remove_staging(s.staging)
                raise
            for s in staged:
                _swap(s)
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                out.rmdir()  # only if still empty: nothing of ours, nothing of anyone else's
        raise


def write_environment(out: Path, env: str, files: dict[str, str], on_file: Callable[[str], None] | None = None) -> None:
    """Write one environment directory (see :func:`write_environments`)."""
    write_environments(out, {env: files}, on_file=on_file)
