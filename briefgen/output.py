"""Turn finished documents into files on disk: atomic writes, the build manifest and the folder lock.

A file is written to a temporary file in its destination folder, flushed to
disk and renamed over the old one, so a reader (or a crash) never sees half a
file and an earlier version stays intact until the new one is complete. The
manifest is written the same way.

Nothing found in an output folder is trusted: whoever can write there may
plant links, FIFOs or a doctored manifest. Writes go through folder
descriptors opened without following links below the output folder, so a
symbolic link planted as a subfolder (``outbox``) is refused rather than
followed, and a link planted as a file is replaced rather than written
through. Manifests are read through :mod:`briefgen.opener` (a regular file,
size-capped) and a recorded file is believed only when it is a plain name of
a regular file directly in the folder.

:func:`folder_lock` keeps two briefgen runs out of one output folder at a time.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import secrets
import stat
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, BinaryIO

from .errors import BriefgenError

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
MANIFEST_LIMIT = 64 * 1024 * 1024  # a 10,000-stakeholder manifest is about 15 MB
PART_SUFFIX = ".part"

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


class OutputRefused(BriefgenError):
    """A place in an output folder that briefgen will not write through (exit code 1)."""


def write_atomic(path: Path, data: bytes, root: Path | None = None) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename (see :func:`atomic_file`)."""
    with atomic_file(path, root) as handle:
        handle.write(data)


@contextlib.contextmanager
def atomic_file(path: Path, root: Path | None = None) -> Iterator[BinaryIO]:
    """Yield a handle on a temporary file beside ``path``; on success it replaces ``path`` atomically.

    ``root`` is the output folder (default: ``path``'s own folder). It is
    created if missing and trusted as given; every folder between it and
    ``path`` is created with ``mkdir`` and opened without following links, so
    a symbolic link planted as a subfolder is refused with an error naming it.
    The rename replaces a symbolic link at ``path`` rather than following it,
    so a link planted in an output folder never redirects a write. On any
    error (or interruption) the temporary file is removed and ``path`` keeps
    its old content.
    """
    path = Path(path)
    name = path.name
    if name in ("", ".", ".."):
        raise OutputRefused(f"{path}: not a file name")
    dir_fd = open_folder(path.parent, Path(root) if root is not None else path.parent)
    try:
        mode = _mode_for(name, dir_fd)
        fd, tmp = _temporary(name, mode, dir_fd)
        try:
            os.fchmod(fd, mode)
            with os.fdopen(fd, "wb") as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            # By path, from the folder checked above: if a folder on the way were swapped for a
            # link meanwhile, the random temporary name would not be found there and nothing moves.
            folder = os.fspath(path.parent)
            os.replace(os.path.join(folder, tmp), os.path.join(folder, name))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)
            raise
        with contextlib.suppress(OSError):  # make the rename itself durable where we can
            os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def open_folder(folder: Path, root: Path) -> int:
    """A descriptor on ``folder``, which lies at or below ``root``: ``root`` is created if missing and
    opened as given; each folder below it is created if missing and must be a real folder, not a link."""
    folder, root = Path(folder), Path(root)
    try:
        parts = folder.relative_to(root).parts
    except ValueError:
        raise OutputRefused(f"{folder}: not inside the output folder {root}") from None
    if any(part in ("", ".", "..") for part in parts):
        raise OutputRefused(f"{folder}: climbs out of the output folder {root}")
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    except OSError as exc:
        raise OutputRefused(f"{root}: cannot use as output folder: {exc.strerror or exc}") from None
    here = root
    try:
        for part in parts:
            here = here / part
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o777, dir_fd=fd)
            try:
                inner = os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=fd)
            except OSError as exc:
                what = _not_a_folder(part, fd, exc)
                raise OutputRefused(f"{here}: {what}; nothing written through it") from None
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


def _not_a_folder(name: str, dir_fd: int, exc: OSError) -> str:
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return f"cannot open: {exc.strerror or exc}"
    if stat.S_ISLNK(info.st_mode):
        return "a symbolic link, not a folder"
    if not stat.S_ISDIR(info.st_mode):
        return "not a folder"
    return f"cannot open: {exc.strerror or exc}"


def _temporary(name: str, mode: int, dir_fd: int) -> tuple[int, str]:
    """Create a new temporary file for ``name`` in the folder ``dir_fd`` (never through a link)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
    for _ in range(100):
        tmp = f".{name}.{secrets.token_hex(4)}{PART_SUFFIX}"
        try:
            return os.open(tmp, flags, mode & 0o600 or 0o600, dir_fd=dir_fd), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", name)


def _mode_for(name: str, dir_fd: int) -> int:
    """The old file's permissions, or what the umask gives a new file (also in place of a link)."""
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if stat.S_ISREG(info.st_mode):
            return info.st_mode & 0o777
    except OSError:
        pass
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def remove_stale_parts(folder: Path) -> int:
    """Delete temporary files a killed run left in ``folder``; return how many.

    Only regular files named like :func:`atomic_file`'s temporaries are
    removed; symbolic links are left alone, and a ``folder`` that is itself a
    symbolic link is not looked into.
    """
    removed = 0
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return 0
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if (
            entry.name.startswith(".")
            and entry.name.endswith(PART_SUFFIX)
            and entry.is_file(follow_symlinks=False)
        ):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed += 1
    return removed


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ----- what is read back ---------------------------------------------------------------------


#: A sha256 as briefgen writes it (a manifest's or journal's value is checked against it).
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def size_and_digest(size: Any, digest: Any) -> bool:
    """Whether a file record read back has a size and a sha256 of the types briefgen writes."""
    return type(size) is int and size >= 0 and isinstance(digest, str) and bool(SHA256_HEX.fullmatch(digest))


def plain_name(name: Any) -> bool:
    """Whether ``name`` (read back from a manifest) is a bare file name: text, no separator, no ``..``,
    not absolute, no NUL, no leading dot (so never one of briefgen's temporaries or the manifest)."""
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and not name.startswith(".")
        and not any(c in name for c in ("/", "\\", "\0"))
        and not os.path.isabs(name)
        and name == os.path.basename(name)
    )


def regular_file(folder: Path, name: Any) -> os.stat_result | None:
    """The status of ``folder/name`` when ``name`` is a plain name of a regular file (not a link)
    directly in ``folder``; otherwise None."""
    if not plain_name(name):
        return None
    try:
        info = os.lstat(Path(folder) / name)
    except (OSError, ValueError):
        return None
    return info if stat.S_ISREG(info.st_mode) else None


def read_manifest(folder: Path, limit: int = MANIFEST_LIMIT) -> dict[str, Any]:
    """Return the manifest in ``folder``, or an empty one when absent or unusable.

    It is read through :mod:`briefgen.opener` (a regular file in ``folder``,
    at most ``limit`` bytes); a symbolic link, a FIFO, a huge file or text that
    is not a JSON object is ignored with a warning (and written anew later).
    """
    from . import opener
    from .log import warn

    path = Path(folder) / MANIFEST
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        warn("%s: cannot read (%s); written anew", path, exc.strerror or exc)
        return {}
    if stat.S_ISLNK(info.st_mode):
        warn("%s: a symbolic link; not read, written anew", path)
        return {}
    try:
        data = json.loads(opener.read(path, limit, within=folder).decode("utf-8"))
    except opener.InputRefused as exc:
        warn("%s; written anew", exc.message)
        return {}
    except (ValueError, RecursionError):
        warn("%s: not a manifest (not JSON); written anew", path)
        return {}
    if not isinstance(data, dict):
        warn("%s: not a manifest (not a JSON object); written anew", path)
        return {}
    return data


@dataclass(frozen=True)
class FileRecord:
    """One written file as the manifest lists it."""

    path: str
    audience: str
    format: str
    bytes: int
    sha256: str
    content_sha256: str
    options: dict[str, Any] = field(default_factory=dict)


_RECORD_FIELDS = tuple(f.name for f in fields(FileRecord))


def update_manifest(folder: Path, records: list[FileRecord], generator: str) -> Path:
    """Merge ``records`` into the folder's manifest and write it atomically.

    Entries for files that this build did not touch are kept while the file
    still exists, so building one audience does not forget the other; an
    entry is kept only when its path is a plain name of a regular file
    directly in the folder, and only with the fields a record has. The
    merge holds the folder's lock, so two builds never lose each other's entries.
    """
    with folder_lock(folder):
        previous = read_manifest(folder)
        fresh = {r.path: asdict(r) for r in records}
        entries = previous.get("files")
        kept = [
            {key: entry[key] for key in _RECORD_FIELDS if key in entry}
            for entry in (entries if isinstance(entries, list) else [])
            if isinstance(entry, dict)
            and regular_file(folder, entry.get("path")) is not None  # a plain name, so hashable
            and entry["path"] not in fresh
        ]
        kept = list({entry["path"]: entry for entry in kept}.values())
        files = sorted([*kept, *fresh.values()], key=lambda e: str(e.get("path")))
        manifest = {"manifest_version": MANIFEST_VERSION, "generator": generator, "files": files}
        target = Path(folder) / MANIFEST
        write_atomic(target, (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode())
    return target


# ----- one run per output folder ---------------------------------------------------------------

_HELD: dict[tuple[int, int], list[int]] = {}  # (device, inode) -> [descriptor, depth]


@contextlib.contextmanager
def folder_lock(folder: Path, *, wait: bool = True, create: bool = False) -> Iterator[None]:
    """Hold an exclusive lock on the output folder ``folder`` for the block.

    The lock is ``flock`` on the folder's own descriptor, so it creates no
    file (a failed build still writes nothing) and nothing planted in the
    folder can stand in for it. When another run holds it, wait with one line
    on standard error, or with ``wait=False`` raise a one-line error. A folder
    that does not exist yet is made first with ``create``; without, the block
    runs unlocked (a build into a new folder locks it when it merges its
    manifest). The lock is re-entrant within a process.
    """
    folder = Path(folder)
    if not folder.is_dir():
        if not create:
            yield
            return
        folder.mkdir(parents=True, exist_ok=True)
    key = _acquire(folder, wait)
    try:
        yield
    finally:
        _release(key)


def _acquire(folder: Path, wait: bool) -> tuple[int, int]:
    try:
        import fcntl
    except ImportError:  # not a POSIX system: no lock to take
        return (-1, -1)
    try:
        fd = os.open(folder, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    except OSError as exc:
        raise BriefgenError(f"{folder}: cannot lock the output folder: {exc.strerror or exc}") from None
    info = os.fstat(fd)
    key = (info.st_dev, info.st_ino)
    if key in _HELD:
        os.close(fd)
        _HELD[key][1] += 1
        return key
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise BriefgenError(
                    f"{folder}: another briefgen run is using this output folder; not started (--no-wait)"
                ) from None
            print(f"waiting for another briefgen batch or build on {folder} ...", file=sys.stderr, flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError as exc:  # a file system without locks: go on, but say so
        from .log import warn

        warn("%s: cannot lock the output folder (%s); another run could use it at once", folder, exc)
        os.close(fd)
        return (-1, -1)
    except BaseException:
        os.close(fd)
        raise
    _HELD[key] = [fd, 1]
    return key


def _release(key: tuple[int, int]) -> None:
    entry = _HELD.get(key)
    if entry is None:
        return
    entry[1] -= 1
    if entry[1] == 0:
        del _HELD[key]
        os.close(entry[0])  # closing the last descriptor releases the lock
