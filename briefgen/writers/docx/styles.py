"""Turn HTML elements and classes into Word style names, a style a reference document lacks into
the style that stands in for it, and the styles of headings, title and cover into styles that
never hyphenate (:func:`suppress_hyphenation`).

The HTML intermediate form's classes (docs/html-intermediate.md) map to paragraph styles of the
reference document (``templates/reference.docx``, made by ``scripts/make_reference_docx.py``);
a reference of one's own may lack some, and :data:`FALLBACK` says which style takes over.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass
from typing import Any

from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from lxml.etree import SubElement

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
#: Containers whose paragraphs stay on one page (print.css: break-inside: avoid), each paragraph
#: but the last kept with the next: a callout, and an objective, focus area or initiative (a
#: heading, its text, its list), which the PDF moves whole to the next page rather than split.
KEEP_TOGETHER = frozenset({"callout", "objective", "focus-area", "initiative"})
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


#: Paragraph styles whose words never hyphenate: headings, the cover (title, kicker, names,
#: "Prepared for"), the contents, key figures, meta lines, table headers, running heads. They
#: carry ``w:suppressAutoHyphens``, which matters when automatic hyphenation is on: briefgen's
#: reference document leaves it off (no ``w:autoHyphenation`` in its settings) and the Word
#: writer keeps the reference's choice, but a reference of one's own or a reader may turn it on.
NO_HYPHENATION = frozenset(
    {
        "Title",
        "Subtitle",
        "Cover Kicker",
        "Cover Meta",
        "Prepared For",
        "Heading 1",
        "Heading 2",
        "Heading 3",
        "TOC Heading",
        "TOC 1",
        "TOC 2",
        "Figure Value",
        "Meta",
        "Table Heading",
        "Header",
        "Footer",
    }
)
#: The elements that follow ``w:suppressAutoHyphens`` in ``w:pPr`` (ECMA-376 CT_PPrBase order).
_AFTER_SUPPRESS_AUTO_HYPHENS = (
    "w:kinsoku", "w:wordWrap", "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN",
    "w:bidi", "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing",
    "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment",
    "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange",
)  # fmt: skip


#: The elements that follow ``w:pBdr`` and ``w:shd`` in ``w:pPr`` (ECMA-376 CT_PPrBase order).
_AFTER_SHADING = ("w:tabs", "w:suppressAutoHyphens", *_AFTER_SUPPRESS_AUTO_HYPHENS)


def unboxed(p: Any) -> None:
    """Take the callout box off paragraph ``p`` (an lxml ``w:p``): no border, no shading and no side
    indents of its own, whatever its style says. For the paragraphs of a key-figures grid cell,
    whose styles (Figure Value, Figure Label, Callout) draw a box the shaded cell already is."""
    from .wml import PPR_ORDER, ordered, properties, w

    ppr = properties(p)
    for old in ppr.findall(qn("w:pBdr")) + ppr.findall(qn("w:shd")):
        ppr.remove(old)
    borders = ordered(ppr, w("pBdr"), PPR_ORDER)
    for side in ("top", "left", "bottom", "right", "between"):
        SubElement(borders, w(side), {w("val"): "nil"})
    ordered(ppr, w("shd"), PPR_ORDER).attrib.update(
        {w("val"): "clear", w("color"): "auto", w("fill"): "auto"}
    )
    if ppr.find(qn("w:numPr")) is None:  # list items keep their own indents
        indent = ordered(ppr, w("ind"), PPR_ORDER)
        indent.set(qn("w:left"), "0")
        indent.set(qn("w:right"), "0")


def suppress_hyphenation(styles: Iterable[Any]) -> None:
    """Mark every paragraph style of :data:`NO_HYPHENATION` among ``styles`` (python-docx styles)
    with ``w:suppressAutoHyphens``."""
    for style in styles:
        if style.type != WD_STYLE_TYPE.PARAGRAPH or style.name not in NO_HYPHENATION:
            continue
        properties = style.element.get_or_add_pPr()
        if properties.find(qn("w:suppressAutoHyphens")) is None:
            properties.insert_element_before(
                OxmlElement("w:suppressAutoHyphens"), *_AFTER_SUPPRESS_AUTO_HYPHENS
            )


@dataclass
class Format:
    """Inline formatting in effect while walking an element."""

    bold: bool = False
    italic: bool = False
    code: bool = False
    link: str | None = None
