"""Turn compiled Jinja templates into files of the per-user cache, and those files back into code.

A cold ``briefgen build`` compiles the audience templates (parse, generate Python, compile) before
it renders a word; with this cache a later run loads the compiled code instead. Cached code is
executed, so:

* files are read and written by :mod:`briefgen.usercache`, only in a folder private to this user
  (``templates`` under the user's briefgen cache);
* a file's name is the sha256 of everything the compiled code depends on: Python and Jinja
  versions, the environment's class and settings, the template's name, file and source. A
  changed template, or the same source compiled for another environment, never finds old code;
  Jinja's own header (magic and source checksum) is checked again on loading;
* any failure to read or load a file only means the template is compiled as before.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

from jinja2.bccache import Bucket, BytecodeCache

from . import usercache

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
        data = usercache.read(self.where, f"{bucket.key}.cache")
        if data is None:
            return
        try:
            bucket.bytecode_from_string(data)  # checks Jinja's magic and the source checksum
        except Exception:  # a damaged file (marshal's ValueError, EOFError...): compile instead
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        usercache.write(self.where, f"{bucket.key}.cache", bucket.bytecode_to_string())


def cache() -> TemplateCache | None:
    """The template cache of this user, or None when it is off."""
    where = usercache.folder("templates")
    return TemplateCache(where) if where is not None else None
