"""Turn a drawing's description into the picture kept from an earlier run (chart SVG, Word PNG).

A chart costs matplotlib's import (about a second) and a drawing (tens of milliseconds); a build
after the first finds it here instead, in the per-user cache folder ``pictures``
(:mod:`briefgen.usercache`: private to this user, files read without following links, written
atomically). A file's name is a sha256 of everything its bytes depend on: the kind of picture,
the drawing's description (data, texts, theme colours), the shipped fonts' bytes, the drawing
library's installed version (found without importing it) and briefgen's. The folder is kept to
:data:`MOST_FILES` files, oldest first out. A file that is not what its kind must start with is drawn again.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from .. import __version__, usercache
from ..paths import builtin_templates

#: The most files the folder keeps (a chart's SVG is a few kB, a Word PNG some 50 kB).
MOST_FILES = 400
#: What a kept file of each kind starts with.
STARTS = {"svg": b"<svg ", "png": b"\x89PNG\r\n\x1a\n"}
FOLDER = "pictures"


@functools.cache
def _fonts_digest() -> str:
    """A sha256 of the shipped fonts the drawings use (a changed font draws every picture again)."""
    digest = hashlib.sha256()
    for path in sorted((builtin_templates() / "fonts").glob("*.[ot]tf")):
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@functools.cache
def _version(module: str) -> str:
    """Which installation of ``module`` would draw: its folder, and the size, time and bytes of its
    version file (``_version.py``, else ``__init__.py``), found without importing it (a reinstall
    or upgrade changes them). importlib.metadata would cost a new process some 60 ms."""
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return "absent"
    origin = Path(spec.origin)
    parts = [str(origin)]
    for path in (origin.with_name("_version.py"), origin):
        try:
            info = path.stat()
            parts += [f"{info.st_size}:{info.st_mtime_ns}", hashlib.sha256(path.read_bytes()).hexdigest()]
        except OSError:
            parts.append("-")
    return "\0".join(parts)


def name(kind: str, description: str, library: str) -> str:
    """The file name of picture ``kind`` (``svg``, ``png``) drawn by the module ``library`` from
    ``description``."""
    parts = (f"briefgen pictures 1 {kind}", __version__, library, _version(library), _fonts_digest())
    parts += (description,)
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest() + f".{kind}"


def read(file_name: str) -> bytes | None:
    """The kept picture ``file_name``, or None (absent, not private, not what its kind starts with)."""
    where = usercache.folder(FOLDER)
    data = usercache.read(where, file_name) if where is not None else None
    if data is None or not data.startswith(STARTS[file_name.rpartition(".")[2]]):
        return None
    return data


def write(file_name: str, data: bytes) -> None:
    """Keep ``data`` as ``file_name``; the oldest files go when the folder holds too many."""
    where = usercache.folder(FOLDER)
    if where is None:
        return
    usercache.write(where, file_name, data)
    usercache.prune(where, MOST_FILES)
