"""Turn one Word brief written for a placeholder reader into each stakeholder's Word brief.

In a batch, briefs of one group (audience, focus areas, region) differ only
in the reader's name, organisation, sector, country, e-mail and id. The
group's brief is rendered and written once with placeholder values (private
use characters that no real text contains); for each stakeholder the
placeholders in the .docx parts are replaced by their values, which takes
milliseconds instead of converting the whole document again.

It is only done when it is provably the same as writing the brief from
scratch: the stakeholder's HTML must equal the placeholder HTML with the
placeholders replaced, and every value must be plain single-spaced text,
which the Word writer copies verbatim. Otherwise the caller writes the brief
in full.
"""

from __future__ import annotations

import html
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape as xml_escape

if TYPE_CHECKING:
    from .render import Rendered
    from .tailor import Stakeholder

FIELDS = ("name", "organisation", "sector", "country", "email", "id")
MAX_STAMPS = 24  # placeholder briefs kept per process (each a few hundred kilobytes)


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


class Stamper:
    """Write stakeholders' Word briefs from one placeholder brief per group and field pattern."""

    def __init__(self, write: Callable[[Rendered], bytes], epoch: int | None) -> None:
        self.write = write
        self.epoch = epoch
        self.stamps: OrderedDict[Any, Stamp] = OrderedDict()

    def docx(
        self, group: Any, person: Stakeholder, document: Rendered, render: Callable[..., Rendered]
    ) -> bytes:
        """The Word brief of ``document``, rendered for ``person``; ``render(stand_in)`` renders the group."""
        from .writers.docx import pack, unpack

        values = {f: getattr(person, f) for f in FIELDS}
        if not all(plain(v) for v in values.values() if v):
            return self.write(document)
        key = (group, tuple(bool(values[f]) for f in FIELDS))
        if key not in self.stamps:
            stand_in = type(person)(**{f.name: _stand_in(values, f.name) for f in fields(person)})
            rendered = render(stand_in)
            self.stamps[key] = Stamp(rendered.html, unpack(self.write(rendered)))
            while len(self.stamps) > MAX_STAMPS:
                self.stamps.popitem(last=False)
        self.stamps.move_to_end(key)
        stamp = self.stamps[key]
        if _fill(stamp.html, values, _html_text) != document.html:
            return self.write(document)
        parts = {
            name: _fill(data.decode("utf-8"), values, _xml_text).encode("utf-8")
            if name.endswith(".xml") and b"\xee\x80\x80" in data
            else data
            for name, data in stamp.parts.items()
        }
        return pack(parts, self.epoch)


def _stand_in(values: dict[str, str | None], field: str) -> str | None:
    if field not in values:
        return None
    return placeholder(field) if values[field] else None


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
