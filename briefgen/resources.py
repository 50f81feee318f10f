"""Turn a resource URL from a template or content into bytes, or refuse it.

The one rule for every writer: ``data:`` URLs, and regular files inside the
template folders (after resolving symbolic links), up to a size limit.
Anything else is refused with a warning naming the URL, and the caller goes
on without the resource.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import os
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from . import opener
from .log import warn

MAX_RESOURCE_BYTES = 20 * 1024 * 1024


def shown(url: str) -> str:
    """A URL shortened for a warning."""
    return url if len(url) < 120 else url[:117] + "..."


def refuse(url: str) -> None:
    """Warn that ``url`` was refused."""
    warn(
        "refused to fetch %s: only data: URLs and files in the template folders are allowed",
        shown(url),
    )


def in_folders(path: Path, roots: tuple[Path, ...]) -> bool:
    """Whether ``path``, with symbolic links resolved, lies inside one of ``roots``."""
    return opener.inside(path, roots)


def find(search_path: tuple[Path, ...], name: str, what: str = "stylesheet") -> Path | None:
    """The first regular file ``name`` in the search path that really lies inside it.

    A symbolic link pointing outside the template folders is skipped with a
    warning, so a planted link never brings another file into a brief.
    """
    for folder in search_path:
        candidate = folder / name
        if candidate.is_file():
            if in_folders(candidate, search_path):
                return candidate
            warn("%s %s points outside the template folders; not read", what, candidate)
        elif os.path.lexists(candidate) and not candidate.is_dir():
            warn("%s %s is not a regular file; not read", what, candidate)
    return None


def read_text(path: Path, search_path: tuple[Path, ...], what: str = "stylesheet") -> str | None:
    """The text of a file :func:`find` returned, read through the opener; None (with a warning)
    when it changed into something that may not be read, or is not UTF-8."""
    try:
        return opener.read_text(path, MAX_RESOURCE_BYTES, what, search_path)
    except opener.InputRefused as exc:
        warn("%s; not read", exc.message)
        return None


def allowed_file(url: str, roots: tuple[Path, ...]) -> Path | None:
    """The local file a ``file:`` URL names, if it is a regular file inside ``roots``."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
        return None
    try:
        path = Path(unquote(parts.path)).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not opener.is_plain_file(path, roots) or path.stat().st_size > MAX_RESOURCE_BYTES:
        return None
    return path


def data_url(url: str) -> tuple[bytes, str] | None:
    """Decode a ``data:`` URL into (bytes, media type); None when malformed or too large."""
    header, sep, payload = url[5:].partition(",")
    if not sep or len(payload) > MAX_RESOURCE_BYTES * 2:
        return None
    media = header.split(";")[0] or "text/plain"
    try:
        if header.endswith(";base64"):
            raw = base64.b64decode(payload, validate=False)
        else:
            raw = unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        return None
    return raw, media


def fetch(url: str, roots: tuple[Path, ...], base: Path | None = None) -> tuple[bytes, str] | None:
    """Return (bytes, media type) for an allowed URL; warn and return None otherwise.

    A relative URL is resolved against ``base`` (a folder), as a ``file:`` URL.
    """
    url = url.strip()
    scheme = urlsplit(url).scheme.lower()
    if scheme == "data":
        found = data_url(url)
        if found is None:
            warn("refused malformed or oversized data: URL %s", shown(url))
        return found
    if not scheme and base is not None and not url.startswith("//"):
        url = (base / unquote(url)).as_uri() if not url.startswith("/") else ""
    path = allowed_file(url, roots) if url else None
    if path is None:
        refuse(url or "(absolute path)")
        return None
    try:
        data = opener.read(path, MAX_RESOURCE_BYTES, within=roots)
    except opener.InputRefused:
        refuse(url)
        return None
    mime, _ = mimetypes.guess_type(path.name)
    return data, mime or "application/octet-stream"
