"""Turn a PDF (bytes or a file) into the plain-words failures of a PDF/UA-1 or PDF/A check.

The checker is ``page-validation`` (the Python bindings of ``page``, a Rust validator that passes
the veraPDF corpus), run with bounded input, stream and object sizes. :func:`check` returns one
:class:`Failure` per failed check, each with its page when the failing object belongs to one;
a file that is not a PDF, or is too damaged or too large to check, is a :class:`PdfCheckError`
(one line). Usable by any test of any PDF engine, and by ``briefgen check``.

``auto`` checks what the file claims in its XMP metadata (``pdfuaid:part``, ``pdfaid:part`` and
``conformance``), and PDF/UA-1 when it claims nothing: every brief should be accessible.
"""

from __future__ import annotations

import io
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import BriefgenError

#: Profile names users give, and the validator's names for them.
PROFILES = {"ua-1": "ua1", "a-3b": "3b"}
#: Every PDF/A level the validator knows, by what ``auto`` may find claimed.
CLAIMABLE = {f"a-{p}{level}": f"{p}{level}" for p in "123" for level in "abu" if (p, level) != ("1", "u")}
#: Profile shown in messages.
TITLES = {"ua-1": "PDF/UA-1", **{name: f"PDF/A-{name[2:]}" for name in CLAIMABLE}}

#: Rules reported by the validator that veraPDF's profiles do not have, and why each is allowed.
#: WeasyPrint compresses the XMP metadata stream on purpose for PDF/A-2 and PDF/A-3: only
#: PDF/A-1 forbids a filter on it, and veraPDF's PDF/A-2/3 profiles have no such rule.
ALLOWED = re.compile(r"PDFA[23][ABU]-METADATA-FILTER-001")

#: The largest file checked, and the most bytes one stream (or all of them) may inflate to.
MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_STREAM_BYTES = 32 * 1024 * 1024
MAX_TOTAL_BYTES = 256 * 1024 * 1024
#: The most bytes of XMP metadata ``auto`` reads to find the claimed standards.
MAX_XMP_BYTES = 4 * 1024 * 1024


class PdfCheckError(BriefgenError):
    """A file that cannot be checked (not a PDF, damaged, too large): one line, exit code 1."""


@dataclass(frozen=True)
class Failure:
    """One failed check: where (file, page, object) and what is wrong, in the validator's words."""

    file: str
    profile: str
    rule: str
    message: str
    page: int | None = None
    object_number: int | None = None

    def __str__(self) -> str:
        where = self.file + (f", page {self.page}" if self.page is not None else "")
        obj = f" (object {self.object_number})" if self.object_number is not None else ""
        return f"{where}: {TITLES.get(self.profile, self.profile)} {self.rule}: {self.message}{obj}"


def check(source: bytes | Path, profile: str = "auto", name: str | None = None) -> list[Failure]:
    """Check ``source`` (PDF bytes or a file) against ``profile`` (``ua-1``, ``a-3b`` or ``auto``);
    return every failure not in :data:`ALLOWED`, an empty list when it conforms."""
    return run(source, profile, name)[1]


def run(
    source: bytes | Path, profile: str = "auto", name: str | None = None
) -> tuple[tuple[str, ...], list[Failure]]:
    """The profiles ``source`` was checked against and its failures (see :func:`check`)."""
    data = _read(source) if isinstance(source, Path) else bytes(source)
    shown = name or (str(source) if isinstance(source, Path) else "PDF")
    if not data.lstrip(b"\0\t\n\f\r ").startswith(b"%PDF-"):
        raise PdfCheckError(f"{shown}: not a PDF (no %PDF- header)")
    if profile == "auto":
        profiles = claimed(data, shown) or ("ua-1",)
    elif profile in PROFILES:
        profiles = (profile,)
    else:
        raise PdfCheckError(f"--profile: choose from auto, {', '.join(PROFILES)}")
    failures: list[Failure] = []
    for chosen in profiles:
        failures.extend(_validate(data, chosen, shown))
    return profiles, failures


def _read(path: Path) -> bytes:
    """The file's bytes: a regular file only, bounded."""
    from ... import opener

    try:
        return opener.read(path, MAX_FILE_BYTES, "PDF")
    except opener.InputRefused as exc:
        raise PdfCheckError(exc.message) from exc


def _limits() -> Any:
    import page

    return page.SafetyLimits(
        max_input_size=MAX_FILE_BYTES,
        max_decoded_stream_size=MAX_STREAM_BYTES,
        max_total_decoded_content_size=MAX_TOTAL_BYTES,
    )


def _validate(data: bytes, profile: str, shown: str) -> list[Failure]:
    import page

    code = PROFILES.get(profile) or CLAIMABLE[profile]
    try:
        report = page.validate_pdf_bytes(data, profile=code, limits=_limits())
    except page.SafetyLimitError as exc:
        raise PdfCheckError(f"{shown}: too large to check ({_line(exc)})") from exc
    except page.PageError as exc:
        raise PdfCheckError(f"{shown}: cannot be read as a PDF ({_line(exc)})") from exc
    kept = [found for found in report.failures if not ALLOWED.fullmatch(found.rule_id)]
    pages = _pages(data) if any(found.object_id is not None for found in kept) else {}
    failures = []
    for found in kept:
        number = found.object_id.object_number if found.object_id is not None else None
        page_number = pages.get(number) if number is not None else None
        if page_number is None:
            named = re.search(r"\bon page (\d+)", found.message)
            page_number = int(named.group(1)) if named else None
        failures.append(Failure(shown, profile, found.rule_id, found.message, page_number, number))
    return failures


def _line(exc: BaseException) -> str:
    """An exception's message cut to its first line."""
    text = str(exc).strip().splitlines()
    first = re.sub(r"^.*?<_io\.BytesIO object at 0x[0-9a-f]+>:\s*", "", text[0]) if text else ""
    return first[:200] or type(exc).__name__


def _pages(data: bytes) -> dict[int, int]:
    """Object number -> page number (from 1) for the objects a page holds: the page itself, its
    contents, annotations and images, and the structure elements that name it."""
    import pikepdf

    found: dict[int, int] = {}
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            numbers = {}
            for index, page in enumerate(pdf.pages, start=1):
                numbers[page.obj.objgen[0]] = index
                found[page.obj.objgen[0]] = index
                held = [page.obj.get("/Contents"), page.obj.get("/Annots")]
                xobjects = page.obj.get("/Resources", {}).get("/XObject", {})
                held.extend(xobjects.values() if isinstance(xobjects, pikepdf.Dictionary) else [])
                for item in held:
                    items = list(item) if isinstance(item, pikepdf.Array) else [item]
                    for one in items:
                        if isinstance(one, pikepdf.Object) and one.is_indirect:
                            found.setdefault(one.objgen[0], index)
            for obj in pdf.objects:
                if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/StructElem":
                    target = obj.get("/Pg")
                    if target is not None and target.is_indirect and target.objgen[0] in numbers:
                        found.setdefault(obj.objgen[0], numbers[target.objgen[0]])
    except (pikepdf.PdfError, ValueError, TypeError, AttributeError):
        return found
    return found


def claimed(data: bytes, shown: str = "PDF") -> tuple[str, ...]:
    """The standards the file's XMP metadata claims: ``ua-1`` and/or ``a-<part><level>``."""
    xmp = _metadata(data, shown)
    profiles = []
    if re.search(rb"pdfuaid:part(?:>|\s*=\s*[\"'])\s*1\b", xmp):
        profiles.append("ua-1")
    part = re.search(rb"pdfaid:part(?:>|\s*=\s*[\"'])\s*([123])\b", xmp)
    level = re.search(rb"pdfaid:conformance(?:>|\s*=\s*[\"'])\s*([ABUabu])\b", xmp)
    if part is not None and level is not None:
        name = f"a-{part.group(1).decode()}{level.group(1).decode().lower()}"
        if name in CLAIMABLE:
            profiles.append(name)
    return tuple(profiles)


def _metadata(data: bytes, shown: str) -> bytes:
    """The catalogue's XMP metadata, inflated at most to :data:`MAX_XMP_BYTES`; empty if none."""
    import pikepdf

    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            stream = pdf.Root.get("/Metadata")
            if not isinstance(stream, pikepdf.Stream):
                return b""
            raw = stream.read_raw_bytes()
            filters = stream.get("/Filter")
    except (pikepdf.PdfError, ValueError, TypeError, AttributeError) as exc:
        raise PdfCheckError(f"{shown}: cannot be read as a PDF ({_line(exc)})") from exc
    if filters is None:
        return raw[:MAX_XMP_BYTES]
    if isinstance(filters, pikepdf.Array) and len(filters) == 1:
        filters = filters[0]
    if filters == "/FlateDecode":
        try:
            return zlib.decompressobj().decompress(raw, MAX_XMP_BYTES)
        except zlib.error:
            return b""
    return b""
