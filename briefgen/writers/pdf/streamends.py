"""Turn a PDF in which some stream's data ends in a carriage return into one where none does.

PDF/A counts a stream's ``/Length`` up to the end-of-line marker before ``endstream``. When the
data itself ends in CR and the writer then puts LF before ``endstream`` (Typst does), the two read
as one CR LF marker and the stream looks one byte short (veraPDF's and page-validation's
``STREAM-LENGTH`` rule). Deflated data ends with its Adler-32 checksum, so about one stream in 256
does. Such a stream gets an outer ``ASCIIHexDecode`` filter: the same decoded bytes, raw data
ending in ``>``. Every other byte of the file is rewritten by qpdf (pikepdf) with the streams
passed through as they are and a deterministic file identifier, so builds stay reproducible.
"""

from __future__ import annotations

import io

#: What a stream whose data ends in CR looks like in a file written with LF before ``endstream``.
SIGN = b"\r\nendstream"


def mended(pdf: bytes) -> bytes:
    """``pdf`` unchanged when no stream's data can end in CR, else rewritten so that none does."""
    if SIGN not in pdf:
        return pdf
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as document:
        changed = False
        for obj in document.objects:
            if isinstance(obj, pikepdf.Stream) and obj.read_raw_bytes().endswith(b"\r"):
                _hex_wrapped(obj)
                changed = True
        if not changed:
            return pdf
        out = io.BytesIO()
        document.save(
            out,
            compress_streams=False,
            stream_decode_level=pikepdf.StreamDecodeLevel.none,
            object_stream_mode=pikepdf.ObjectStreamMode.preserve,
            deterministic_id=True,
        )
    return out.getvalue()


def _hex_wrapped(stream: object) -> None:
    """Put ``ASCIIHexDecode`` outside the stream's own filters, keeping its decoded bytes."""
    import pikepdf

    raw = stream.read_raw_bytes()  # type: ignore[attr-defined]
    filters = stream.get("/Filter")  # type: ignore[attr-defined]
    parms = stream.get("/DecodeParms")  # type: ignore[attr-defined]
    chain = [] if filters is None else list(filters) if isinstance(filters, pikepdf.Array) else [filters]
    if parms is None:
        parms_chain = [None] * len(chain)
    else:
        parms_chain = list(parms) if isinstance(parms, pikepdf.Array) else [parms]
    encoded = raw.hex().upper().encode("ascii") + b">"
    stream.write(  # type: ignore[attr-defined]
        encoded,
        filter=[pikepdf.Name.ASCIIHexDecode, *chain],
        decode_parms=[None, *parms_chain] if any(p is not None for p in parms_chain) else None,
    )
