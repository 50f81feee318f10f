"""Turn finished documents into files on disk: atomic writes and the build manifest.

A file is written to a temporary file in its destination folder, flushed to
disk and renamed over the old one, so a reader (or a crash) never sees half a
file and an earlier version stays intact until the new one is complete. The
manifest is written the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
PART_SUFFIX = ".part"


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename."""
    with atomic_file(path) as handle:
        handle.write(data)


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """Yield a handle on a temporary file beside ``path``; on success it replaces ``path`` atomically.

    The rename replaces a symbolic link at ``path`` rather than following it,
    so a link planted in an output folder never redirects a write. On any
    error (or interruption) the temporary file is removed and ``path`` keeps
    its old content.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=PART_SUFFIX, dir=path.parent)
    try:
        os.fchmod(fd, _mode_for(path))
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable where we can
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def remove_stale_parts(folder: Path) -> int:
    """Delete temporary files a killed run left in ``folder``; return how many.

    Only regular files named like :func:`atomic_file`'s temporaries are
    removed; symbolic links are left alone.
    """
    removed = 0
    if not folder.is_dir():
        return 0
    for entry in os.scandir(folder):
        if (
            entry.name.startswith(".")
            and entry.name.endswith(PART_SUFFIX)
            and entry.is_file(follow_symlinks=False)
        ):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed += 1
    return removed


def _mode_for(path: Path) -> int:
    """The old file's permissions, or what the umask gives a new file (also in place of a link)."""
    try:
        info = path.lstat()
        if stat.S_ISREG(info.st_mode):
            return info.st_mode & 0o777
    except OSError:
        pass
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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


def read_manifest(folder: Path) -> dict[str, Any]:
    """Return the manifest in ``folder``, or an empty one when absent or unreadable."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def update_manifest(folder: Path, records: list[FileRecord], generator: str) -> Path:
    """Merge ``records`` into the folder's manifest and write it atomically.

    Entries for files that this build did not touch are kept while the file
    still exists, so building one audience does not forget the other.
    """
    previous = read_manifest(folder)
    fresh = {r.path: asdict(r) for r in records}
    kept = [
        entry
        for entry in previous.get("files", [])
        if isinstance(entry, dict)
        and entry.get("path") not in fresh
        and (folder / str(entry.get("path"))).is_file()
    ]
    files = sorted([*kept, *fresh.values()], key=lambda e: str(e.get("path")))
    manifest = {"manifest_version": MANIFEST_VERSION, "generator": generator, "files": files}
    target = folder / MANIFEST
    write_atomic(target, (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode())
    return target
