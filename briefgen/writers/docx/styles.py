"""Turn HTML elements and classes into Word style names, and a style a reference document lacks
into the style that stands in for it.

The HTML intermediate form's classes (docs/html-intermediate.md) map to paragraph styles of the
reference document (``templates/reference.docx``, made by ``scripts/make_reference_docx.py``);
a reference of one's own may lack some, and :data:`FALLBACK` says which style takes over.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

HEADINGS = {"h1": 1, "h2": 2, "h3": 3}
HEADING_STYLES = {"Heading 1": 1, "Heading 2": 2, "Heading 3": 3}
CONTAINERS = {"section", "article", "div", "footer", "main", "aside", "nav", "header", "body"}
INLINE = {"strong", "b", "em", "i", "code", "span", "a", "br", "img", "sub", "sup", "time"}
PARAGRAPH_CLASSES = {
    "lead": "Lead",
    "note": "Note",
    "meta": "Meta",
    "links": "Links",
    "callout-title": "Callout Title",
    "figure-value": "Figure Value",
    "figure-label": "Figure Label",
    "cover-kicker": "Cover Kicker",
    "title": "Title",
    "subtitle": "Subtitle",
    "prepared-for": "Prepared For",
    "toc-title": "TOC Heading",
}
CONTAINER_STYLES = {"callout-actions": "Key Actions", "callout": "Callout", "colophon": "Colophon"}
# Fallbacks for styles a reference document may lack.
FALLBACK = {
    "Key Actions": "Callout",
    "Callout Title": "Callout",
    "Figure Value": "Callout",
    "Figure Label": "Callout",
    "Callout": "Normal",
    "Cover Kicker": "Subtitle",
    "Cover Meta": "Normal",
    "Prepared For": "Normal",
    "Lead": "Normal",
    "Note": "Normal",
    "Meta": "Normal",
    "Links": "Normal",
    "Colophon": "Normal",
    "TOC Heading": "Heading 1",
    "Subtitle": "Normal",
    "Title": "Normal",
    "Caption": "Normal",
    "Quote": "Normal",
    "List Paragraph": "Normal",
    "TOC 1": "Normal",
    "TOC 2": "Normal",
    "Header": "Normal",
    "Footer": "Normal",
    "Table Text": "Normal",
    "Table Heading": "Table Text",
}


def available_style(name: str, styles: Container[str]) -> str:
    """``name`` if ``styles`` has it, else the first of its fallbacks that it has (else "Normal")."""
    while name not in styles:
        fallback = FALLBACK.get(name, "Normal")
        if name == fallback:
            break
        name = fallback
    return name


def breaks_before(style: Any) -> bool:
    """Whether a paragraph style (or a style it is based on) starts a new page."""
    while style is not None:
        value = style.paragraph_format.page_break_before
        if value is not None:
            return bool(value)
        style = style.base_style
    return False
