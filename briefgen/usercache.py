"""Turn a cache name into bytes kept between runs, in folders private to this user.

What briefgen would otherwise redo on every cold start (compiled templates, the characters the
shipped fonts cover) is kept here. Some of it is executed (compiled templates), so a file is only
read back when nobody else can have written it:

* the root is ``$BRIEFGEN_CACHE_DIR``, else ``$XDG_CACHE_HOME/briefgen``, else
  ``~/.cache/briefgen``; ``BRIEFGEN_CACHE_DIR=""`` (empty) turns every cache off;
* a cache folder is created with mode 0700 and used only when it is a real folder (not a link)
  owned by this user and not writable by group or others; files are opened relative to that
  folder's open descriptor, without following links, and read only when they are regular files
  owned by this user, not writable by others, and of bounded size;
* files are written under a fresh temporary name and renamed into place, so a reader never sees
  half a file. A cache that cannot be read or written is simply not used.

Callers name files after a hash of everything their content depends on, so a stale file is
never found.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

#: The largest cache file read back.
MAX_CACHE_BYTES = 4 * 1024 * 1024
#: Mode bits that would let someone else change a folder or file.
OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH


def folder(name: str) -> Path | None:
    """The cache folder ``name`` of this user; None when caching is off or there is no home."""
    chosen = os.environ.get("BRIEFGEN_CACHE_DIR")
    if chosen is not None:
        return Path(chosen) / name if chosen else None
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        home = os.environ.get("HOME")
        if not home:
            return None
        base = os.path.join(home, ".cache")
    return Path(base) / "briefgen" / name


def _open_folder(where: Path, create: bool) -> int | None:
    """An open descriptor of ``where`` when it is private to this user, else None."""
    try:
        if create:
            os.makedirs(where, mode=0o700, exist_ok=True)
        fd = os.open(where, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None
    info = os.fstat(fd)
    if info.st_uid != os.getuid() or info.st_mode & OTHERS_WRITE:
        os.close(fd)
        return None
    return fd


def read(where: Path, name: str) -> bytes | None:
    """The bytes of file ``name`` in the private folder ``where``; None when absent or not safe."""
    folder_fd = _open_folder(where, create=False)
    if folder_fd is None:
        return None
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder_fd)
    except OSError:
        return None
    finally:
        os.close(folder_fd)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        private = info.st_uid == os.getuid() and not info.st_mode & OTHERS_WRITE
        if not stat.S_ISREG(info.st_mode) or not private or info.st_size > MAX_CACHE_BYTES:
            return None
        data = handle.read(MAX_CACHE_BYTES + 1)
    return data if len(data) <= MAX_CACHE_BYTES else None


def write(where: Path, name: str, data: bytes) -> None:
    """Put ``data`` in file ``name`` of the private folder ``where`` (created), atomically; a
    folder that is not private, or any error, leaves the cache as it was."""
    folder_fd = _open_folder(where, create=True)
    if folder_fd is None:
        return
    temporary = f".{name}.{os.getpid()}.{secrets.token_hex(6)}.tmp"
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        fd = os.open(temporary, flags, 0o600, dir_fd=folder_fd)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=folder_fd)
    finally:
        os.close(folder_fd)


def prune(where: Path, most: int) -> None:
    """Keep at most ``most`` files in the private folder ``where``, the least recently written
    going first; a folder that is not private is left alone."""
    folder_fd = _open_folder(where, create=False)
    if folder_fd is None:
        return
    try:
        with os.scandir(folder_fd) as found:
            entries = [e for e in found if e.is_file(follow_symlinks=False)]
        if len(entries) > most:
            entries.sort(key=lambda e: (e.stat(follow_symlinks=False).st_mtime_ns, e.name))
            for entry in entries[: len(entries) - most]:
                with contextlib.suppress(OSError):
                    os.unlink(entry.name, dir_fd=folder_fd)
    except OSError:
        pass
    finally:
        os.close(folder_fd)
