"""Turn the reference .docx (``--reference-docx`` or the first in the template folders) into a
cleaned python-docx document whose styles, numbering, page set-up, headers and footers a brief takes.

The reference is untrusted: it is read through the opener, unpacked with a byte budget, cleaned
at the level of its zip members by :class:`~briefgen.writers.docx.sanitize.ReferencePackage`
(every part, reached or not) and packed again, so python-docx only ever sees the cleaned package.
The cleaned package is cached per file version; its warnings are replayed on every use. python-docx
parses a package once per process (keyed by the cleaned bytes' digest); every brief gets a deep copy.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import TYPE_CHECKING, Any

from docx import Document

from ... import opener
from ...errors import RenderError
from ...log import warn
from ...render import template_dirs
from ...unpack import MAX_PACKAGE_BYTES, Refused, members
from .package import pack
from .sanitize import ReferencePackage

if TYPE_CHECKING:
    from ..base import WriteOptions

REFERENCE = "reference.docx"
MAX_REFERENCE_BYTES = MAX_PACKAGE_BYTES
MAX_REFERENCE_RATIO = 200
MAX_REFERENCE_MEMBERS = 2_000
#: cleaned package's digest -> the python-docx document parsed from it (never written to: copied)
PARSED: dict[bytes, Any] = {}
PARSED_KEPT = 4


@dataclass(frozen=True)
class Source:
    """Where the reference comes from: its path, the flag that named it, the folders it must stay in."""

    path: Path
    what: str = ""
    within: tuple[Path, ...] | None = None

    @property
    def shown(self) -> str:
        return f"{self.what}: {self.path}" if self.what else str(self.path)


def reference_source(options: WriteOptions) -> Source:
    """The reference .docx: --reference-docx, else the first in the template search path."""
    if options.reference_docx is not None:
        return Source(options.reference_docx, "--reference-docx")
    folders = template_dirs(options.templates)
    for folder in folders:
        candidate = folder / REFERENCE
        if not os.path.lexists(candidate):
            continue
        if not opener.inside(candidate, folders):
            warn("%s points outside the template folders; not read", candidate)
            continue
        return Source(candidate, within=folders)
    raise RenderError(f"no {REFERENCE} in the template folders")


def reference_package(source: Source) -> bytes:
    """The cleaned reference package (read again whenever the file changes); replays its warnings."""
    try:
        info = os.stat(source.path)
    except OSError as exc:
        raise RenderError(f"{source.shown}: cannot read reference document ({exc.strerror})") from None
    if S_ISREG(info.st_mode) and info.st_size > MAX_REFERENCE_BYTES:
        size, limit = f"{info.st_size:,}", f"{MAX_REFERENCE_BYTES:,}"
        raise RenderError(
            f"{source.shown}: refused as reference document: it is {size} bytes (limit {limit})"
        )
    data, notes = _cached_reference(source, info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size)
    for note in notes:
        warn("%s", note)
    return data


@functools.lru_cache(maxsize=8)
def _cached_reference(source: Source, *_stat: int) -> tuple[bytes, tuple[str, ...]]:
    return check_reference(source)


def check_reference(source: Source | Path) -> tuple[bytes, tuple[str, ...]]:
    """Read, unpack with a budget and clean a reference .docx; return the package and its warnings."""
    if not isinstance(source, Source):
        source = Source(Path(source))
    refused = f"{source.shown}: refused as reference document"
    try:
        data = opener.read(source.path, MAX_REFERENCE_BYTES, source.what, source.within)
    except opener.InputRefused as exc:
        raise RenderError(f"{refused}: {exc.message.removeprefix(source.shown + ': ')}") from None
    try:
        parts = members(data, MAX_REFERENCE_BYTES, MAX_REFERENCE_MEMBERS, MAX_REFERENCE_RATIO, ".docx")
    except Refused as exc:
        raise RenderError(f"{refused}: {exc}") from None
    if "word/document.xml" not in parts:
        raise RenderError(f"{refused}: not a Word document (no word/document.xml)")
    package = ReferencePackage(parts, source.path.name)
    try:
        package.clean()
    except Refused as exc:
        raise RenderError(f"{refused}: {exc}") from None
    return pack(package.parts, None), tuple(package.notes)


def open_reference(source: Source) -> Any:
    """The cleaned reference as a python-docx document of the brief's own (a copy of the one parsed)."""
    data = reference_package(source)
    key = hashlib.blake2b(data, digest_size=16).digest()
    parsed = PARSED.get(key)
    if parsed is None:
        parsed = _parse(source, data)
        if len(PARSED) >= PARSED_KEPT:
            PARSED.pop(next(iter(PARSED)))
        PARSED[key] = parsed
    return copy.deepcopy(parsed)


def _parse(source: Source, data: bytes) -> Any:
    try:
        return Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises KeyError, ValueError, lxml errors... on broken packages
        reason = (str(exc).splitlines() or [""])[0][:200]
        raise RenderError(
            f"{source.shown}: refused as reference document: python-docx cannot read it "
            f"({type(exc).__name__}: {reason})"
        ) from None
