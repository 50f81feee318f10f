"""Turn one Word brief written for a placeholder reader into each stakeholder's Word brief: the
Word format's group writer.

In a batch, briefs of one group (audience, focus areas, region) differ only in the reader's
name, organisation, sector, country, e-mail and id. The group's brief is rendered and written
once with placeholder values (private-use characters that no real text contains); for each
stakeholder the placeholders in the .docx parts are replaced by their values, which takes
milliseconds instead of converting the whole document again.

It is only done when it is provably the same as writing the brief from scratch: the
stakeholder's HTML must equal the placeholder HTML with the placeholders replaced, and every
value must be plain single-spaced text, which the Word writer copies verbatim. Otherwise the
brief is written in full.

With LibreOffice (:mod:`.libreoffice`), the placeholder brief is laid out once and its contents
page carries LibreOffice's page numbers, which the group's stakeholders share. Only the cover's
"Prepared for" line differs between them, and a long name or organisation can make the cover
longer than a page and move every page after it. So LibreOffice keeps the placeholder brief
open, and for each stakeholder puts their values in its place (each run keeps its formatting),
and counts the pages and finds the first heading's page again: a matter of milliseconds. When
either differs, that stakeholder's brief is written and laid out in full.
"""

from __future__ import annotations

import html
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape as xml_escape

from ..base import Render, WriteOptions, Written

if TYPE_CHECKING:
    from ...render import Rendered
    from ...stakeholders import Stakeholder
    from .libreoffice import Layout

    #: The Word writer with its layout: ``(document, options, keep) -> (bytes, layout or None)``.
    WriteLaidOut = Callable[[Rendered, WriteOptions, bool], tuple[bytes, Layout | None]]

FIELDS = ("name", "organisation", "sector", "country", "email", "id")
MAX_STAMPS = 16  # placeholder briefs kept per group: one per pattern of the four optional fields


def placeholder(field: str) -> str:
    """The stand-in text for ``field``: private-use characters around the field's index."""
    return f"\ue000{FIELDS.index(field)}\ue001"


def plain(value: str) -> bool:
    """Text the Word writer copies verbatim: single-spaced, no private-use markers."""
    return value == " ".join(value.split()) and "\ue000" not in value and "\ue001" not in value


@dataclass
class Stamp:
    """A placeholder brief's HTML and .docx parts."""

    html: str
    parts: dict[str, bytes]
    layout: Layout | None = None


class Stamps:
    """Write a group's Word briefs from one placeholder brief per pattern of empty fields."""

    def __init__(self, options: WriteOptions, render: Render, write: WriteLaidOut) -> None:
        self.options = options
        self.render = render
        self.write_laid_out = write
        self.stamps: OrderedDict[tuple[bool, ...], Stamp] = OrderedDict()

    def _write(self, document: Rendered) -> bytes:
        return self.write_laid_out(document, self.options, False)[0]

    def write(self, document: Rendered, reader: Stakeholder, shared: bool) -> Written:
        """The Word brief of ``document``, which was rendered for ``reader``."""
        from .fonts import set_apart
        from .package import pack, unpack
        from .sanitize import check_written

        values = {f: getattr(reader, f) for f in FIELDS}
        apart = set_apart if self.options.embed_fonts else lambda _value: False
        if not all(plain(v) and not apart(v) for v in values.values() if v):
            return Written(self._write(document))
        key = tuple(bool(values[f]) for f in FIELDS)
        reused = key in self.stamps
        if not reused:
            stand_in = replace(reader, **{f: placeholder(f) if values[f] else None for f in FIELDS})
            rendered = self.render(stand_in)
            data, layout = self.write_laid_out(rendered, self.options, True)
            self.stamps[key] = Stamp(rendered.html, unpack(data), layout)
            while len(self.stamps) > MAX_STAMPS:
                _release(self.stamps.popitem(last=False)[1])
        self.stamps.move_to_end(key)
        stamp = self.stamps[key]
        if _fill(stamp.html, values, _html_text) != document.html or not _same_pages(stamp, values):
            return Written(self._write(document))
        parts = {
            name: _fill(data.decode("utf-8"), values, _xml_text).encode("utf-8")
            if name.endswith(".xml") and b"\xee\x80\x80" in data
            else data
            for name, data in stamp.parts.items()
        }
        check_written(parts)  # the same last look as every brief written whole
        return Written(pack(parts, self.options.source_date_epoch), reused=reused)

    def close(self) -> None:
        """Let LibreOffice close the placeholder briefs it keeps for this group."""
        while self.stamps:
            _release(self.stamps.popitem()[1])


def _same_pages(stamp: Stamp, values: dict[str, str | None]) -> bool:
    """Whether the stakeholder's brief has the placeholder brief's pages: always without a
    layout; with one, when LibreOffice finds the same page count and first heading's page with the
    stakeholder's values in place."""
    layout = stamp.layout
    if layout is None:
        return True
    if not layout.pages:
        return False
    from .libreoffice import office

    found = office()
    if found is None:
        return False
    first = min(layout.pages)  # the bookmarks are numbered in document order
    swaps = [(placeholder(f), v) for f, v in values.items() if v]
    return found.count(layout, swaps, first) == (layout.count, layout.pages[first])


def _release(stamp: Stamp) -> None:
    if stamp.layout is not None:
        from .libreoffice import release

        release(stamp.layout)


def _xml_text(value: str) -> str:
    """Escape for XML text and attributes alike."""
    return xml_escape(value, {'"': "&quot;", "'": "&apos;"})


def _html_text(value: str) -> str:
    return html.escape(value, quote=False)


def _fill(text: str, values: dict[str, str | None], escape: Callable[[str], str]) -> str:
    for field, value in values.items():
        if value:
            text = text.replace(placeholder(field), escape(value))
    return text
