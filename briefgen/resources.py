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
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes, urlsplit

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
    real = path.resolve()
    return any(real.is_relative_to(root.resolve()) for root in roots)


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
    if not any(path.is_relative_to(root.resolve()) for root in roots):
        return None
    if not path.is_file() or path.stat().st_size > MAX_RESOURCE_BYTES:
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
    mime, _ = mimetypes.guess_type(path.name)
    return path.read_bytes(), mime or "application/octet-stream"
