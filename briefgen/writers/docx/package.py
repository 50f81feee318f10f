"""Turn .docx parts into a reproducible zip, and a written .docx back into its parts.

Every Word file briefgen writes is packed here: ``[Content_Types].xml`` first, the document
properties last, every member with the same fixed timestamp (from ``SOURCE_DATE_EPOCH``), so
the same input gives the same bytes. Reading back goes through :mod:`briefgen.unpack`, the one
bounded zip reader.
"""

from __future__ import annotations

import io
import zipfile

from ...clock import moment
from ...errors import RenderError
from ...unpack import Refused, members

MAX_WRITTEN_BYTES = 1024 * 1024 * 1024  # a brief briefgen wrote, read back (images are 20 MB at most)
#: 1980-01-01 00:00:00 UTC, the first moment a zip entry can record.
ZIP_EPOCH = 315532800


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
            target.writestr(info, parts[name], compresslevel=6)
    return out.getvalue()
