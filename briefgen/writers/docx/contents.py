"""Turn the HTML contents placeholder (``nav.toc``) into Word's TOC field with its result filled.

The field's cached result lists every entry with a link to its heading's bookmark and, when
known, the page LibreOffice laid it out on; Word rebuilds the same field when asked.
"""

from __future__ import annotations

import re
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from ...safe import xml_clean
from .oxml import field_char, field_code
from .styles import Format
from .wml import Para

if TYPE_CHECKING:
    from .walker import Walker

SPACES = re.compile(r"[ \t\n\r\f]+")  # HTML white space: never a no-break space


def toc(walker: Walker, element: Any) -> None:
    """A TOC field whose result already lists the entries, linked to the heading bookmarks."""
    title = element.find(".//p[@class='toc-title']")
    heading = walker.paragraph("TOC Heading")
    label = title.text_content().strip() if title is not None else element.get("aria-label", "")
    heading.add_run(xml_clean(label))
    entries = [
        (int(li.get("class", "toc-level-1")[-1]), a.get("href", "")[1:], a.text_content())
        for li in element.iter("li")
        for a in li.findall("a")
    ]
    spoken = languages_of_headings(element) if entries else {}
    first = True
    for level, ident, text in entries:
        paragraph = walker.paragraph(f"TOC {min(level, 2)}")
        if first:
            field_char(paragraph, "begin")
            field_code(paragraph, ' TOC \\o "1-2" \\h \\z \\u ')
            field_char(paragraph, "separate")
            first = False
        with walker.speaking(spoken[ident]) if ident in spoken else nullcontext():  # the heading's
            walker.hyperlink(paragraph, SPACES.sub(" ", xml_clean(text)).strip(), Format(link=f"#{ident}"))
        paragraph.add_run("\t")
        field_char(paragraph, "begin")
        field_code(paragraph, f" PAGEREF {walker.bookmark_name(ident)} \\h ")
        field_char(paragraph, "separate")
        if ident in walker.pages:
            paragraph.add_run(str(walker.pages[ident]))
        field_char(paragraph, "end")
    if entries:
        end = Para.append(walker.container)
        walker.set_style(end, "Normal")
        field_char(end, "end")
    walker.page_break()


def languages_of_headings(element: Any) -> dict[str, Any]:
    """Heading id -> the element that gives the heading its ``lang`` (itself or an ancestor), for
    the headings in another language than the document's."""
    found = {}
    for heading in element.getroottree().getroot().iter("h1", "h2"):
        ident = heading.get("id")
        holder = heading.xpath("ancestor-or-self::*[@lang][1]") if ident else None
        if holder and holder[0].tag != "html":
            found[ident] = holder[0]
    return found
