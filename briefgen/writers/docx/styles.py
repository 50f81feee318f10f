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

W_STYLE, W_STYLE_ID, W_PPR, W_VAL = qn("w:style"), qn("w:styleId"), qn("w:pPr"), qn("w:val")
W_PAGE_BREAK_BEFORE, W_BASED_ON = qn("w:pageBreakBefore"), qn("w:basedOn")

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
    """Whether a paragraph style (or a style it is based on) starts a new page: the first
    ``w:pageBreakBefore`` along its ``w:basedOn`` chain (read from the XML, as python-docx reads it)."""
    element = style.element if style is not None else None
    seen: set[str | None] = set()
    while element is not None and element.get(W_STYLE_ID) not in seen:
        seen.add(element.get(W_STYLE_ID))
        ppr = next(element.iterchildren(W_PPR), None)
        flag = next(ppr.iterchildren(W_PAGE_BREAK_BEFORE), None) if ppr is not None else None
        if flag is not None:
            return flag.get(W_VAL) not in ("0", "false", "off")
        based = next(element.iterchildren(W_BASED_ON), None)
        ident = based.get(W_VAL) if based is not None else None
        parent = element.getparent()
        element = None
        if ident is not None and parent is not None:
            element = next((s for s in parent.iterchildren(W_STYLE) if s.get(W_STYLE_ID) == ident), None)
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
