"""Turn .docx parts into a reproducible zip, and a python-docx document or a written .docx back
into its parts.

Every Word file briefgen writes is packed here: ``[Content_Types].xml`` first, the document
properties last, every member with the same fixed timestamp (from ``SOURCE_DATE_EPOCH``), so
the same input gives the same bytes. A member whose bytes were deflated before in this process
(the fonts, styles, theme and settings every brief shares) is copied deflated, not deflated
again; the python-docx document is taken apart without a zip in between (:func:`parts_of`).
Reading back goes through :mod:`briefgen.unpack`, the one bounded zip reader.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
import zlib
from collections import OrderedDict
from typing import Any

from ...clock import moment
from ...errors import RenderError
from ...unpack import Refused, members

MAX_WRITTEN_BYTES = 1024 * 1024 * 1024  # a brief briefgen wrote, read back (images are 20 MB at most)
#: 1980-01-01 00:00:00 UTC, the first moment a zip entry can record.
ZIP_EPOCH = 315532800
LEVEL = 6
#: Deflated members kept per process, by their bytes: the parts that recur from brief to brief
#: (embedded fonts, styles, theme, settings, font table) are deflated once, then copied.
MAX_DEFLATED = 64
MAX_DEFLATED_BYTES = 32 * 1024 * 1024  # of deflated data kept
_deflated: OrderedDict[bytes, bytes] = OrderedDict()


def normalise_zip(data: bytes, epoch: int | None) -> bytes:
    """Rewrite a .docx zip with fixed timestamps and a stable member order."""
    return pack(unpack(data), epoch)


def unpack(data: bytes) -> dict[str, bytes]:
    """The members of a Word file briefgen wrote, by name, read with the bounds of :mod:`briefgen.unpack`."""
    try:
        return members(data, MAX_WRITTEN_BYTES)
    except Refused as exc:
        raise RenderError(f"Word document: {exc}") from None


def pack(parts: dict[str, bytes], epoch: int | None) -> bytes:
    """Zip ``parts`` as a .docx: content types first, fixed timestamps, a stable order."""
    when = moment(max(epoch or ZIP_EPOCH, ZIP_EPOCH))
    stamp = (when.year, when.month, when.day, when.hour, when.minute, when.second)
    names = sorted(parts, key=lambda n: (n != "[Content_Types].xml", n.startswith("docProps/"), n))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            _write_deflated(target, info, parts[name])
    return out.getvalue()


def parts_of(doc: Any) -> dict[str, bytes]:
    """The members python-docx would zip when saving ``doc``, by name, without zipping them:
    ``[Content_Types].xml``, the package relationships, every part and its relationships."""
    from docx.opc.pkgwriter import PackageWriter

    steps = ("_write_content_types_stream", "_write_pkg_rels", "_write_parts")
    if not all(hasattr(PackageWriter, step) for step in steps):  # another python-docx: save and read
        buffer = io.BytesIO()
        doc.save(buffer)
        return unpack(buffer.getvalue())
    package = doc.part.package
    for part in package.parts:
        part.before_marshal()
    sink = _Members()
    PackageWriter._write_content_types_stream(sink, package.parts)
    PackageWriter._write_pkg_rels(sink, package.rels)
    PackageWriter._write_parts(sink, package.parts)
    return sink.parts


class _Members:
    """Stands in for python-docx's zip writer: keeps each member's bytes under its name."""

    def __init__(self) -> None:
        self.parts: dict[str, bytes] = {}

    def write(self, uri: Any, blob: bytes) -> None:
        self.parts[uri.membername] = blob


class _Deflated:
    """A compressor that hands zipfile data deflated before, exactly as zipfile would deflate it."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def compress(self, _data: bytes) -> bytes:
        data, self.data = self.data, b""
        return data

    def flush(self) -> bytes:
        return b""


def _write_deflated(target: zipfile.ZipFile, info: zipfile.ZipInfo, data: bytes) -> None:
    """Write ``data`` as ``writestr`` would, reusing its deflated bytes when the same bytes were
    packed before (zipfile computes the checksum and sizes; the bytes written are the same)."""
    key = hashlib.blake2b(data, digest_size=20).digest()
    deflated = _deflated.get(key)
    if deflated is None:
        squeezer = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
        deflated = squeezer.compress(data) + squeezer.flush()
        _deflated[key] = deflated
        kept = sum(map(len, _deflated.values()))
        while len(_deflated) > MAX_DEFLATED or (kept > MAX_DEFLATED_BYTES and len(_deflated) > 1):
            kept -= len(_deflated.popitem(last=False)[1])
    _deflated.move_to_end(key)
    info.file_size = len(data)
    info._compresslevel = LEVEL  # type: ignore[attr-defined]  # as writestr(compresslevel=...) sets it
    with target.open(info, "w") as member:
        if not hasattr(member, "_compressor"):  # a zipfile that works otherwise: deflate as usual
            member.write(data)
            return
        member._compressor = _Deflated(deflated)
        member.write(data)
