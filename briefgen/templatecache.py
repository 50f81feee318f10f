"""Turn compiled Jinja templates into files of a per-user cache, and those files back into code.

A cold ``briefgen build`` compiles the audience templates (parse, generate Python, compile) before
it renders a word; with this cache a later run loads the compiled code instead. Cached code is
executed, so the cache is only used when nobody else can have written it:

* the folder is ``$BRIEFGEN_CACHE_DIR``, else ``$XDG_CACHE_HOME/briefgen/templates``, else
  ``~/.cache/briefgen/templates``; it is created with mode 0700 and used only when it is a real
  folder (not a link) owned by this user and not writable by group or others; every file is
  opened relative to that folder's open descriptor, without following links, and read only when
  it is a regular file owned by this user, not writable by others, and of bounded size;
* a file's name is the sha256 of everything the compiled code depends on: Python and Jinja
  versions, the environment's class and settings, the template's name, file and source. A
  changed template, or the same source compiled for another environment, never finds old code;
  Jinja's own header (magic and source checksum) is checked again on loading;
* files are written to a fresh temporary name and renamed into place, so a reader never sees
  half a file; any failure to read or write only means the template is compiled as before.

``BRIEFGEN_CACHE_DIR=""`` (empty) turns the cache off.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import stat
import sys
from pathlib import Path
from typing import Any

from jinja2.bccache import Bucket, BytecodeCache

#: The largest cache file read back (compiled briefgen templates are tens of kilobytes).
MAX_CACHE_BYTES = 4 * 1024 * 1024
#: Settings of a Jinja environment that change the code it compiles.
SETTINGS = (
    "block_start_string",
    "block_end_string",
    "variable_start_string",
    "variable_end_string",
    "comment_start_string",
    "comment_end_string",
    "line_statement_prefix",
    "line_comment_prefix",
    "trim_blocks",
    "lstrip_blocks",
    "newline_sequence",
    "keep_trailing_newline",
    "optimized",
    "is_async",
    "newstyle_gettext",
)


def folder() -> Path | None:
    """Where this user's compiled templates go; None when the cache is off or has no home."""
    chosen = os.environ.get("BRIEFGEN_CACHE_DIR")
    if chosen is not None:
        return Path(chosen) if chosen else None
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        home = os.environ.get("HOME")
        if not home:
            return None
        base = os.path.join(home, ".cache")
    return Path(base) / "briefgen" / "templates"


def fingerprint(environment: Any, name: str, filename: str | None, source: str) -> str:
    """The cache key: a sha256 of everything the compiled code of ``source`` depends on."""
    import jinja2

    kind = type(environment)
    parts = [
        sys.version,
        jinja2.__version__,
        f"{kind.__module__}.{kind.__qualname__}",
        ",".join(sorted(environment.extensions)),
        *(repr(getattr(environment, setting, None)) for setting in SETTINGS),
        repr(environment.autoescape(name) if callable(environment.autoescape) else environment.autoescape),
        name,
        filename or "",
        source,
    ]
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


class TemplateCache(BytecodeCache):
    """Jinja's bytecode cache over a private per-user folder (see the module's rules)."""

    def __init__(self, where: Path) -> None:
        self.where = where

    def get_bucket(self, environment: Any, name: str, filename: str | None, source: str) -> Bucket:
        bucket = Bucket(
            environment, fingerprint(environment, name, filename, source), self.get_source_checksum(source)
        )
        self.load_bytecode(bucket)
        return bucket

    def load_bytecode(self, bucket: Bucket) -> None:
        data = self._read(bucket.key)
        if data is None:
            return
        try:
            bucket.bytecode_from_string(data)  # checks Jinja's magic and the source checksum
        except Exception:  # a damaged file (marshal's ValueError, EOFError...): compile instead
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._write(bucket.key, bucket.bytecode_to_string())

    def _folder(self, create: bool) -> int | None:
        """An open descriptor of the cache folder when it is private to this user, else None."""
        try:
            if create:
                os.makedirs(self.where, mode=0o700, exist_ok=True)
            fd = os.open(self.where, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            return None
        info = os.fstat(fd)
        if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            os.close(fd)
            return None
        return fd

    def _read(self, key: str) -> bytes | None:
        folder = self._folder(create=False)
        if folder is None:
            return None
        try:
            fd = os.open(f"{key}.cache", os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder)
        except OSError:
            return None
        finally:
            os.close(folder)
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            private = info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
            if not stat.S_ISREG(info.st_mode) or not private or info.st_size > MAX_CACHE_BYTES:
                return None
            data = handle.read(MAX_CACHE_BYTES + 1)
        return data if len(data) <= MAX_CACHE_BYTES else None

    def _write(self, key: str, data: bytes) -> None:
        folder = self._folder(create=True)
        if folder is None:
            return
        temporary = f".{key}.{os.getpid()}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(
                temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=folder
            )
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, f"{key}.cache", src_dir_fd=folder, dst_dir_fd=folder)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary, dir_fd=folder)
        finally:
            os.close(folder)


def cache() -> TemplateCache | None:
    """The template cache of this user, or None when it is off."""
    where = folder()
    return TemplateCache(where) if where is not None else None
