"""Writing generated environment directories without ever losing a file the generator did not write.

What ``synth --out DIR`` touches in ``DIR``, and nothing else:

* ``DIR/<env>/`` for each environment it generates, only when that directory is missing, empty, or
  holds the record ``.tripgen-files`` a previous synth wrote.  Inside it, it replaces or removes only
  the files listed in that record; any other file (a team's runbook, ...) is carried over into the new
  tree untouched (a hard link to the same file, or a copy where links are impossible).  A file it did
  not write at a path it now wants to generate is a refusal (exit 2, the paths listed), not an
  overwrite.
* its staging directories ``DIR/.tripgen-staging-<random>/``, each named first in the intent record
  ``DIR/.tripgen-intent`` (appended and fsynced before the directory is made) and holding the marker
  file ``.tripgen-staging`` written before anything else; recovery touches only directories the intent
  record names *and* that hold that marker naming a valid environment.  Any other
  ``.tripgen-staging-*`` is left alone (never renamed, never removed) with one warning line.
* its journal ``DIR/.tripgen-journal`` (below), and the companion files a journalled write names.
* ``DIR`` itself is locked with ``flock(2)`` while writing (no lock file): a second writer waits a
  bounded time (saying ``DIR: waiting for pid N (cmd)...`` once on stderr, the command line with
  control characters escaped), then fails naming the holder's process.

Crash safety: every environment is first built completely in its staging directory; then each
``DIR/<env>`` is swapped with its new tree by one ``renameat2(RENAME_EXCHANGE)`` (Linux >= 3.15 on
ext4, xfs, btrfs, tmpfs, ...), so at every instant, SIGKILL included, ``DIR/<env>`` is the complete
old tree or the complete new tree; the old tree then sits in the staging directory, which this run or
the next removes.  Where the exchange is unsupported (another OS, a file system without it), the
fallback is two renames (old tree into staging, new tree into place): a crash between them leaves
``DIR/<env>`` missing for an instant, and the next run moves the old tree back before anything else.
Across environments the guarantee is per environment: a crash between two swaps leaves e.g. prod new
and dev old (each complete); rerunning synth converges, and ``synth --check`` reports the difference.
The guarantee covers the process dying, not the machine losing power (only the intent record is
fsync'ed).

One lock, inputs read under it: :func:`session` creates ``DIR``, takes its lock and recovers a
crashed run; a command reads its inputs inside it, so nothing changes them between the read and the
write (``synth`` and ``release set`` both write ``charts/``; they queue instead of racing).

The journal ``DIR/.tripgen-journal``: a write that must change files beside the charts together with
them (``release set``: ``overlays/<env>/releases.yaml``) stages every environment first, then commits
by one rename a journal naming the companion texts and the staged trees (by device and inode), then
replaces the companions (:func:`replace_file`: an ``O_EXCL`` temporary of unpredictable name, never
through a symlink) and swaps.  A crash before the commit changes nothing; after it, the next
:func:`recover` rolls forward (rewrites the companions, swaps every staged tree not yet in place), so
companions and charts are both old or both new.  A failure of the companion write itself (before any
swap) puts back what was replaced and drops the journal.

Confinement (the threat model: anyone who can write the working tree can plant files in ``DIR``): a
staging marker must name a plain environment name, never a path (:func:`valid_env`); an old tree is
moved back only when it holds our record; staging directories of another user are not ours; record
entries must be normalised relative paths (:func:`confined`) and are read with no symlink on the way
(:func:`read_owned`); a journal is applied only when it is a regular file of this user bound to this
very ``DIR`` and its companions map (through the caller's function) to files it allows, else it is
left alone.  Files a user creates or saves by rename in ``DIR/<env>/`` while synth stages land in the
old tree; after the swap (and in recovery) they are moved into the new tree, a file at a path synth
now generates kept beside it as ``<path>.tripgen-kept``.

A file of ours that already holds exactly the new text goes into the new tree as the same file (a
hard link) instead of being written again, so a synth that changes one chart creates only that
chart's changed files (on a slow disk, most of a large synth's time is creating files).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import re
import secrets
import shutil
import stat
import sys
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
JOURNAL = ".tripgen-journal"
INTENT = ".tripgen-intent"
INTENT_HEADER = ("# Staging directories tripgen-cdk8s is creating here (one name a line, each written and fsynced\n"
                 "# before the directory is made). Recovery touches only the .tripgen-staging-* named here.\n")
NEW_TREE_ID = "new-tree"
KEPT_SUFFIX = ".tripgen-kept"
ENV_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}\Z")
MAX_READ = 16 * 1024 * 1024
"""The largest file :func:`read_owned` reads (a generated file is a few kilobytes)."""
Companion = Callable[[str, str], "Path | None"]
"""Maps a journal key and its text to the file to replace, or None when the key or text is not valid."""


class WriteRefused(Exception):
    """The writer will not proceed because it would lose or overwrite something it does not own,
    or another writer holds the lock.  Reported as one line with exit code 2."""


class NotText(WriteRefused):
    """A file tripgen wrote as UTF-8 text (the record, a generated chart file) no longer is: something
    else was put at its path.  Nothing reads it as text, nothing overwrites it (exit 2)."""

    def __init__(self, path: Path, err: UnicodeDecodeError) -> None:
        super().__init__(f"{_shown(path)}: not UTF-8 text (byte {err.start}), though tripgen wrote it as text; "
                         "restore it (git checkout) or remove it")


def warn(message: str) -> None:
    """One warning line on stderr (a planted staging directory left alone, ...)."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Give an OSError without a file name (a failed ``write``, ``close`` or ``fsync``: ENOSPC, EDQUOT,
    EIO) the name of ``path``, so the one-line error says which file could not be written."""
    try:
        yield
    except OSError as err:
        if err.filename is None:
            raise OSError(err.errno, err.strerror, str(path)) from None
        raise


# ---------------------------------------------------------------------------- the record


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it (for messages)."""
    rel = os.path.relpath(path)
    return str(path) if rel.startswith("..") else rel


def _holds(path: Path, text: str, strict: bool = False) -> bool:
    """Whether the regular file ``path`` (not a symlink) holds exactly ``text``.  Bytes that are not UTF-8
    hold no text: False, or with ``strict`` (a file the record says tripgen wrote) :class:`NotText`,
    since something else was put at its path and is not ours to overwrite."""
    try:
        if not path.is_file() or path.is_symlink():
            return False
        data = path.read_bytes()
    except OSError:
        return False
    try:
        return data.decode("utf-8") == text
    except UnicodeDecodeError as err:
        if strict:
            raise NotText(path, err) from None
        return False


def record_text(files: dict[str, str]) -> str:
    """The ownership record for an environment directory holding exactly ``files``."""
    return RECORD_HEADER + "".join(f"{rel}\n" for rel in sorted(files))


def valid_env(env: str) -> bool:
    """Whether ``env`` is a plain directory name the writer may create in ``--out`` (no ``/``, no
    ``..``, not hidden)."""
    return bool(ENV_NAME.match(env))


def confined(rel: str) -> bool:
    """Whether ``rel`` is a normalised relative path that stays inside its directory (no absolute
    path, no ``..``, ``.`` or empty component, no NUL or backslash)."""
    if not rel or rel.startswith("/") or "\0" in rel or "\\" in rel:
        return False
    return all(part not in ("", ".", "..") for part in rel.split("/"))


def _no_links(root: Path, rel: str) -> bool:
    """Whether ``root`` and every directory between it and ``root/rel`` is a real directory (no
    symlink on the way), so the path cannot lead out of ``root``."""
    current = root
    for part in ["", *rel.split("/")[:-1]]:
        current = current / part if part else current
        try:
            if not stat.S_ISDIR(os.lstat(current).st_mode):
                return False
        except OSError:
            return False
    return True


def read_owned(root: Path, rel: str) -> str | None:
    """The text of the regular file ``root/rel``, reached without following any symlink and at most
    :data:`MAX_READ` bytes; None when it is missing, a symlink, not a regular file, outside ``root``
    or too large; :class:`NotText` when it is not UTF-8.  What ``diff`` shows of the committed charts."""
    if not confined(rel) or not _no_links(root, rel):
        return None
    try:
        fd = os.open(root / rel, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(MAX_READ + 1)
    if len(data) > MAX_READ:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise NotText(root / rel, err) from None


def read_record(env_dir: Path) -> set[str] | None:
    """The paths a previous synth wrote in ``env_dir``, or None when it holds no record.  Entries that
    would lead out of ``env_dir`` (absolute, ``..``, not normalised) are not ours and are dropped."""
    text = read_owned(env_dir, RECORD)
    if text is None:
        return None
    return {line for line in text.splitlines() if line and not line.startswith("#") and confined(line)}


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
        if read_owned(root, rel) != text:
            stale.append(f"{env}/{rel}")
    owned = read_record(root) or set()
    stale += [f"{env}/{rel}" for rel in owned - set(expected) if read_owned(root, rel) is not None]
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


def printable(text: str) -> str:
    """``text`` with every character that is not printable (control characters such as ESC, C1 codes,
    line and paragraph separators, format characters) written as a Python escape, so a command line
    another user chose cannot move the cursor, recolour or rewrite the terminal it is shown on."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


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
                        raw = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
                        cmd = " ".join(printable(arg.decode("utf-8", "backslashreplace")) for arg in raw)
                    except OSError:
                        cmd = "?"
                    return f"pid {pid} ({cmd})"
    except (OSError, ValueError):
        pass
    return "another process"


@contextlib.contextmanager
def locked(out: Path, timeout: float = DEFAULT_LOCK_TIMEOUT) -> Iterator[None]:
    """Hold an exclusive ``flock`` on the directory ``out`` (which must exist).  Waits up to
    ``timeout`` seconds for another writer, saying so once on stderr (``charts: waiting for pid N
    (cmd)...``), then raises :class:`WriteRefused` naming it."""
    fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        deadline = time.monotonic() + timeout
        waiting = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not waiting:
                    waiting = True
                    print(f"{printable(_shown(out))}: waiting for {_lock_holder(out)}...", file=sys.stderr, flush=True)
                if time.monotonic() >= deadline:
                    raise WriteRefused(f"{_shown(out)}: another synth is writing here ({_lock_holder(out)}); "
                                       f"gave up after {timeout:g} s") from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)  # releases the lock


# ---------------------------------------------------------------------------- staging and recovery


def _dir_id(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the real directory ``path`` (never through a symlink), or None."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None


def _is_own_staging(path: Path) -> str | None:
    """The environment a staging directory of ours was for, or None when ``path`` is not provably ours:
    a real directory (not a symlink) of this user with our prefix, holding our marker as a regular file
    that names a valid environment name (never a path: the name is joined to ``--out``)."""
    if not path.name.startswith(STAGING_PREFIX) or path.is_symlink() or not path.is_dir():
        return None
    if path.lstat().st_uid != os.geteuid():
        return None
    marker = path / STAGING_MARKER
    try:
        text = marker.read_text(encoding="utf-8") if marker.is_file() and not marker.is_symlink() else ""
    except (OSError, UnicodeDecodeError):
        return None
    if not text.startswith(MARKER_TEXT):
        return None
    env = text[len(MARKER_TEXT):].strip()
    return env if env == "" or valid_env(env) else None


def _remove_staging(path: Path) -> None:
    """Remove one staging directory, its marker last, so an interrupted removal stays provably ours."""
    for child in ("tree", "old"):
        if (path / child).exists():
            shutil.rmtree(path / child)
    for name in (NEW_TREE_ID, JOURNAL):
        (path / name).unlink(missing_ok=True)
    (path / STAGING_MARKER).unlink(missing_ok=True)
    path.rmdir()


def _new_tree_id(staging: Path) -> tuple[int, int] | None:
    """The (device, inode) the staged new tree had, from the staging directory's ``new-tree`` file."""
    try:
        dev, ino = (staging / NEW_TREE_ID).read_text(encoding="utf-8").split(":")
        return int(dev), int(ino)
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def _same_content(a: Path, b: Path, sa: os.stat_result, sb: os.stat_result) -> bool:
    if stat.S_ISLNK(sa.st_mode) and stat.S_ISLNK(sb.st_mode):
        return os.readlink(a) == os.readlink(b)
    if not (stat.S_ISREG(sa.st_mode) and stat.S_ISREG(sb.st_mode)) or sa.st_size != sb.st_size:
        return False
    return a.read_bytes() == b.read_bytes()


def _rescue(old_root: Path, new_root: Path) -> None:
    """Move into the new tree the files that are not ours and that are in the old tree but not (as the
    same file) in the new one: what a user created or saved by rename (as editors and git do) in
    ``DIR/<env>/`` while synth was staging.  A file at a path synth now generates keeps its content
    beside it as ``<path>.tripgen-kept``; nothing of anyone else's is deleted with the old tree."""
    if _dir_id(old_root) is None or _dir_id(new_root) is None:
        return
    owned = (read_record(old_root) or set()) | {RECORD}
    generated = read_record(new_root) or set()
    existing, empty = _existing(old_root)
    for rel in sorted(empty):
        if rel not in owned and not os.path.lexists(new_root / rel):
            with contextlib.suppress(OSError):
                (new_root / rel).mkdir(parents=True)
    for rel in sorted(existing - owned):
        src, dst = old_root / rel, new_root / rel
        with contextlib.suppress(OSError):
            s = os.lstat(src)
            if os.path.lexists(dst):
                d = os.lstat(dst)
                if (s.st_dev, s.st_ino) == (d.st_dev, d.st_ino) or _same_content(src, dst, s, d):
                    continue  # carried over as this very file, or as a copy of it
                if rel in generated or rel == RECORD or not stat.S_ISREG(d.st_mode) and not stat.S_ISLNK(d.st_mode):
                    dst = new_root / (rel + KEPT_SUFFIX)
                    if os.path.lexists(dst):
                        continue
            if not _no_links(new_root, rel):
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.rename(src, dst)


def _read_intent(out: Path) -> set[str]:
    """The staging-directory names the intent record ``out/.tripgen-intent`` names: only complete lines
    (a line is written whole, then fsynced, before its directory exists) of plain ``.tripgen-staging-*``
    names; nothing when the record is missing or not a regular file of this user."""
    try:
        st = os.lstat(out / INTENT)
    except OSError:
        return set()
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
        return set()
    try:
        text = read_owned(out, INTENT) or ""
    except NotText:
        return set()
    return {line for line in text.split("\n")[:-1]
            if line.startswith(STAGING_PREFIX) and "/" not in line and confined(line)}


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _intend(out: Path, name: str) -> None:
    """Append ``name`` to the intent record and make it durable (the file and ``out``'s entry for it)
    before the staging directory of that name is created: recovery trusts only directories it names."""
    path = out / INTENT
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            raise WriteRefused(f"{_shown(path)}: is not a regular file of this user; move it away")
        with _naming(path):
            data = ((INTENT_HEADER if st.st_size == 0 else "") + name + "\n").encode("utf-8")
            while data:
                data = data[os.write(fd, data):]
            os.fsync(fd)
    finally:
        os.close(fd)
    with _naming(out):
        _fsync_dir(out)


def _new_staging(out: Path) -> Path:
    """Create a staging directory of an unpredictable name, named in the intent record first."""
    while True:
        name = STAGING_PREFIX + secrets.token_hex(6)
        if os.path.lexists(out / name):
            continue
        _intend(out, name)
        try:
            os.mkdir(out / name, 0o700)
        except FileExistsError:  # someone made it between the check and the mkdir: not ours
            continue
        return out / name


def _drop_intent(out: Path) -> None:
    """Remove the intent record once no staging directory it names is left (a regular file only)."""
    with contextlib.suppress(OSError):
        if stat.S_ISREG(os.lstat(out / INTENT).st_mode):
            os.unlink(out / INTENT)


def _recover_staging(out: Path, entry: Path, env: str) -> None:
    target = out / env
    old = entry / "old"
    if env and _dir_id(old) is not None and read_record(old) is not None and not os.path.lexists(target):
        os.rename(old, target)  # the rename fallback was interrupted between its two renames
    if env and _dir_id(target) is not None:
        for tree in (old, entry / "tree"):
            if tree.name == "old" or _dir_id(tree) != _new_tree_id(entry):  # an old tree, swapped out
                _rescue(tree, target)
    _remove_staging(entry)


def recover(out: Path, companion: Companion | None = None) -> None:
    """Undo or finish what a crashed run left in ``out``: first finish a journalled write (see
    :func:`write_environments`), then put back an environment directory the rename fallback had
    moved aside, rescue files a user put in an environment while it was being swapped, and remove
    every staging directory of ours.  Ours means named by the intent record *and* holding our marker;
    any other ``.tripgen-staging-*`` is left alone (never renamed, never removed) with one warning
    line.  The intent record goes last."""
    if not out.is_dir():
        return
    intended = _read_intent(out)
    _apply_journal(out, companion, intended)
    for entry in sorted(out.iterdir()):
        if not entry.name.startswith(STAGING_PREFIX):
            continue
        env = _is_own_staging(entry) if entry.name in intended else None
        if env is not None:
            _recover_staging(out, entry, env)
        elif entry.name in intended and _dir_id(entry) is not None and _only_marker(entry):
            _remove_staging(entry)  # killed between its mkdir and its marker: empty, provably ours
        else:
            warn(f"{printable(_shown(entry))}: not a staging directory {INTENT} names; left alone (remove it "
                 "yourself if it is no one's)")
    _drop_intent(out)


def _only_marker(entry: Path) -> bool:
    """Whether the directory holds nothing but (a part of) our marker file."""
    try:
        names = os.listdir(entry)
    except OSError:
        return False
    return set(names) <= {STAGING_MARKER} and all(stat.S_ISREG(os.lstat(entry / n).st_mode) for n in names)


# ---------------------------------------------------------------------------- files beside the charts


def replace_file(path: Path, text: str) -> None:
    """Replace ``path`` atomically by a file holding ``text``: a new file of an unpredictable name
    created with ``O_CREAT | O_EXCL`` in the same directory (never an existing file, never through a
    symlink), then renamed over ``path`` (which replaces a symlink there, never its target).  On any
    failure the temporary file is removed and ``path`` is untouched."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tripgen-tmp", dir=path.parent)
    try:
        with _naming(path), os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        if path.exists() and not path.is_symlink():
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _journal_text(out: Path, staged: list[_Staged], companions: dict[str, str]) -> str:
    return json.dumps({"tool": "tripgen-cdk8s", "out": list(_dir_id(out) or ()), "companions": companions,
                       "staged": {s.env: [s.staging.name, *(_dir_id(s.staging / "tree") or ())] for s in staged}},
                      sort_keys=True) + "\n"


def _read_journal(out: Path, companion: Companion | None) -> tuple[dict[Path, str], dict[str, tuple[str, int, int]]] | None:
    """The journal of ``out`` when it is provably ours and every path in it is confined, else None:
    a regular file of this user bound to this very directory (its device and inode), companions that
    ``companion`` maps to files, staged trees named by plain staging-directory names."""
    path = out / JOURNAL
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or companion is None:
            return None
        data = json.loads(read_owned(out, JOURNAL) or "")
        if data.get("tool") != "tripgen-cdk8s" or data.get("out") != list(_dir_id(out) or ()):
            return None
        files: dict[Path, str] = {}
        for key, text in data["companions"].items():
            target = companion(str(key), str(text)) if isinstance(text, str) and valid_env(str(key)) else None
            if target is None:
                return None
            files[target] = text
        staged: dict[str, tuple[str, int, int]] = {}
        for env, (name, dev, ino) in data["staged"].items():
            if not valid_env(env) or not name.startswith(STAGING_PREFIX) or not confined(name) or "/" in name:
                return None
            staged[env] = (name, int(dev), int(ino))
        return files, staged
    except (OSError, ValueError, TypeError, KeyError, AttributeError, NotText):
        return None


def _apply_journal(out: Path, companion: Companion | None, intended: set[str]) -> None:
    """Roll a journalled write forward: replace the companion files with their new text, swap in
    every staged tree not yet in place, then remove the journal.  A journal that is not provably
    ours (or names a staging directory the intent record does not) is left alone (and blocks
    journalled writes, which refuse to overwrite it)."""
    journal = _read_journal(out, companion)
    if journal is None or any(name not in intended for name, _dev, _ino in journal[1].values()):
        return
    files, staged = journal
    for target, text in files.items():
        replace_file(target, text)
    for env, (name, dev, ino) in staged.items():
        staging, target = out / name, out / env
        if _dir_id(target) != (dev, ino) and _dir_id(staging / "tree") == (dev, ino) and _is_own_staging(staging) == env:
            _swap(_Staged(env, staging, target))
    (out / JOURNAL).unlink()


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
    if not _holds(current, text, strict=True):  # a regular file, never a symlink
        return False
    try:
        os.link(current, staged)
    except OSError:
        return False
    return True


def _stage(out: Path, env: str, files: dict[str, str], on_file: Callable[[str], None] | None) -> _Staged:
    if not valid_env(env):
        raise WriteRefused(f"{env!r}: not an environment name (letters, digits, '.', '_', '-'; no path)")
    bad = sorted(rel for rel in files if not confined(rel))
    if bad:
        raise WriteRefused(f"{_shown(out / env)}: generated path {bad[0]!r} leads out of the environment directory")
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
    staging = _new_staging(out)
    try:
        with _naming(staging / STAGING_MARKER):
            (staging / STAGING_MARKER).write_text(MARKER_TEXT + env + "\n", encoding="utf-8")
        tree = staging / "tree"
        tree.mkdir()
        tree_id = _dir_id(tree) or (0, 0)
        with _naming(staging / NEW_TREE_ID):
            (staging / NEW_TREE_ID).write_text(f"{tree_id[0]}:{tree_id[1]}\n", encoding="utf-8")
        for directory in sorted({os.path.dirname(rel) for rel in files} - {""}):
            (tree / directory).mkdir(parents=True, exist_ok=True)
        for rel, text in sorted(with_record(files).items()):
            if not (rel in unchanged and _reuse(target / rel, tree / rel, text)):
                with _naming(target / rel), open(tree / rel, "w", encoding="utf-8") as handle:
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
    for old in (staged.staging / "old", staged.staging / "tree"):  # the old tree, wherever the swap put it
        _rescue(old, target)
    _remove_staging(staged.staging)


@contextlib.contextmanager
def session(out: Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT, companion: Companion | None = None) -> Iterator[None]:
    """Create ``out`` if needed, hold its lock, and recover what a crashed run left, for the whole
    ``with`` block: a command reads its inputs *inside* the block, so no other writer changes them
    between the read and the write.  When the block fails, an ``out`` this session created is removed
    again if it is still empty."""
    created = not os.path.lexists(out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        with locked(out, lock_timeout):
            recover(out, companion)
            yield
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                out.rmdir()  # only if still empty: nothing of ours, nothing of anyone else's
        raise


def _write(out: Path, envs: dict[str, dict[str, str]], on_file: Callable[[str], None] | None,
           companions: dict[str, str], companion: Companion | None) -> None:
    staged: list[_Staged] = []
    try:
        for env, files in envs.items():
            staged.append(_stage(out, env, files, on_file))
        targets = {key: companion(key, text) if companion is not None else None for key, text in companions.items()}
        for key, target in targets.items():
            if target is None:
                raise WriteRefused(f"{key}: not a file the journal may name")
            if target.is_symlink() or os.path.lexists(target) and not target.is_file():
                raise WriteRefused(f"{_shown(target)}: is a symlink or not a regular file; replace it with a file")
        previous = {key: target.read_bytes() if target is not None and target.is_file() else None
                    for key, target in targets.items()}
        if companions:
            if os.path.lexists(out / JOURNAL) or not staged:
                raise WriteRefused(f"{_shown(out / JOURNAL)}: exists and is not a journal of this run; "
                                   "move it away first")
            scratch = staged[0].staging / JOURNAL  # removed with its staging directory if we die here
            with _naming(out / JOURNAL):
                scratch.write_text(_journal_text(out, staged, companions), encoding="utf-8")
            os.rename(scratch, out / JOURNAL)  # the commit point: from here on, recovery rolls forward
    except BaseException:
        for s in staged:
            with contextlib.suppress(OSError):
                _remove_staging(s.staging)
        _drop_intent(out)
        raise
    done: list[str] = []
    try:
        for key, target in targets.items():
            replace_file(target, companions[key])  # type: ignore[arg-type]
            done.append(key)
    except BaseException:  # nothing swapped yet: put back what was replaced and forget the journal
        for key in done:
            text = previous[key]
            with contextlib.suppress(OSError):
                if text is not None:
                    replace_file(targets[key], text.decode("utf-8"))  # type: ignore[arg-type]
        with contextlib.suppress(OSError):
            (out / JOURNAL).unlink()
        for s in staged:
            with contextlib.suppress(OSError):
                _remove_staging(s.staging)
        _drop_intent(out)
        raise
    for s in staged:
        _swap(s)
    if companions:
        (out / JOURNAL).unlink()
    _drop_intent(out)


def write_environments(out: Path, envs: dict[str, dict[str, str]], *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
                       on_file: Callable[[str], None] | None = None, held: bool = False,
                       companions: dict[str, str] | None = None, companion: Companion | None = None) -> None:
    """Write ``out/<env>/`` for every environment in ``envs`` (env -> files by relative path).

    Holds the lock on ``out`` (unless ``held``: the caller runs inside :func:`session`); recovers what
    a crashed run left; stages every environment completely (a failure here changes nothing); then
    swaps each environment directory atomically.  With ``companions`` (key -> text, each key mapped to
    its file by ``companion``), those files change together with the charts: a journal naming both is
    committed first, so a crash at any point leaves both old, or the next start makes both new."""
    if held:
        _write(out, envs, on_file, companions or {}, companion)
        return
    with session(out, lock_timeout, companion):
        _write(out, envs, on_file, companions or {}, companion)


def write_environment(out: Path, env: str, files: dict[str, str], on_file: Callable[[str], None] | None = None) -> None:
    """Write one environment directory (see :func:`write_environments`)."""
    write_environments(out, {env: files}, on_file=on_file)
