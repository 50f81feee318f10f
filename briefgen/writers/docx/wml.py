"""Turn text and formatting into WordprocessingML elements, built with lxml in document order.

The walker writes a brief's body through this layer rather than through python-docx's proxy
objects: a paragraph is appended to its container (the body, a table cell) as it is met, and its
runs to it, so nothing is ever inserted in the middle of a long body. Properties that go inside
``w:pPr`` and ``w:rPr`` are put in schema order (ECMA-376 CT_PPrBase, CT_RPr) by a rank lookup on
the few children those elements have. The elements are made by the document tree's own factory
(``SubElement`` on a node of the python-docx document), so they are python-docx's element classes
as if python-docx had made them, and python-docx still saves the package.
"""

from __future__ import annotations

from typing import Any

from lxml.etree import SubElement

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


def w(tag: str) -> str:
    """The Clark name of ``w:tag``."""
    return f"{{{W_NS}}}{tag}"


W_P, W_PPR, W_R, W_RPR, W_T, W_TAB, W_BR = (w(t) for t in ("p", "pPr", "r", "rPr", "t", "tab", "br"))
W_VAL, W_PSTYLE, W_HYPERLINK = w("val"), w("pStyle"), w("hyperlink")
W_FLDCHAR, W_FLDSIMPLE, W_BOOKMARK_START, W_DRAWING = (
    w("fldChar"),
    w("fldSimple"),
    w("bookmarkStart"),
    w("drawing"),
)

#: Rank of each child of ``w:pPr`` (CT_PPr order).
PPR_ORDER = {
    w(tag): rank
    for rank, tag in enumerate(
        (
            "pStyle", "keepNext", "keepLines", "pageBreakBefore", "framePr", "widowControl", "numPr",
            "suppressLineNumbers", "pBdr", "shd", "tabs", "suppressAutoHyphens", "kinsoku", "wordWrap",
            "overflowPunct", "topLinePunct", "autoSpaceDE", "autoSpaceDN", "bidi", "adjustRightInd",
            "snapToGrid", "spacing", "ind", "contextualSpacing", "mirrorIndents", "suppressOverlap", "jc",
            "textDirection", "textAlignment", "textboxTightWrap", "outlineLvl", "divId", "cnfStyle",
            "rPr", "sectPr", "pPrChange",
        )
    )
}  # fmt: skip
#: Rank of each child of ``w:rPr`` (CT_RPr order).
RPR_ORDER = {
    w(tag): rank
    for rank, tag in enumerate(
        (
            "rStyle", "rFonts", "b", "bCs", "i", "iCs", "caps", "smallCaps", "strike", "dstrike",
            "outline", "shadow", "emboss", "imprint", "noProof", "snapToGrid", "vanish", "webHidden",
            "color", "spacing", "w", "kern", "position", "sz", "szCs", "highlight", "u", "effect", "bdr",
            "shd", "fitText", "vertAlign", "rtl", "cs", "em", "lang", "eastAsianLayout", "specVanish",
            "oMath", "rPrChange",
        )
    )
}  # fmt: skip
_LAST = 1_000


def ordered(parent: Any, tag: str, order: dict[str, int]) -> Any:
    """``parent``'s child ``tag`` (Clark name), added where ``order`` ranks it if it has none."""
    rank = order.get(tag, _LAST)
    for child in parent:
        if child.tag == tag:
            return child
        if order.get(child.tag, _LAST) > rank:
            new = parent.makeelement(tag, {})
            child.addprevious(new)
            return new
    return SubElement(parent, tag)


def properties(p: Any) -> Any:
    """The ``w:pPr`` of paragraph ``p`` (added as its first child if it has none)."""
    first = p[0] if len(p) else None
    if first is not None and first.tag == W_PPR:
        return first
    ppr = p.makeelement(W_PPR, {})
    p.insert(0, ppr)
    return ppr


def paragraph_property(p: Any, name: str) -> Any:
    """``w:pPr/w:name`` of paragraph ``p``, added in schema order if missing."""
    return ordered(properties(p), w(name), PPR_ORDER)


def run_properties(r: Any) -> Any:
    """The ``w:rPr`` of run ``r`` (added as its first child if it has none)."""
    first = r[0] if len(r) else None
    if first is not None and first.tag == W_RPR:
        return first
    rpr = r.makeelement(W_RPR, {})
    r.insert(0, rpr)
    return rpr


def run_property(r: Any, name: str, value: str | None = None) -> Any:
    """Set ``w:rPr/w:name`` of run ``r`` (its ``w:val`` to ``value`` when given), in schema order."""
    element = ordered(run_properties(r), w(name), RPR_ORDER)
    if value is not None:
        element.set(W_VAL, value)
    return element


def set_style(p: Any, style_id: str) -> None:
    """Give paragraph ``p`` the paragraph style ``style_id``."""
    ppr = properties(p)
    first = ppr[0] if len(ppr) else None
    if first is None or first.tag != W_PSTYLE:
        first = ppr.makeelement(W_PSTYLE, {})
        ppr.insert(0, first)
    first.set(W_VAL, style_id)


def add_text(r: Any, text: str) -> None:
    """Append ``text`` to run ``r`` as python-docx does: tabs as ``w:tab``, line ends as ``w:br``,
    ``xml:space="preserve"`` on a text with outer white space."""
    if "\t" not in text and "\n" not in text and "\r" not in text:
        _t(r, text)
        return
    start = 0
    for index, char in enumerate(text):
        if char in "\t\r\n":
            if index > start:
                _t(r, text[start:index])
            SubElement(r, W_TAB if char == "\t" else W_BR)
            start = index + 1
    if start < len(text):
        _t(r, text[start:])


def _t(r: Any, text: str) -> None:
    t = SubElement(r, W_T)
    t.text = text
    if len(text.strip()) < len(text):
        t.set(XML_SPACE, "preserve")


class Para:
    """One paragraph being written: its ``w:p`` element and the runs added to it."""

    __slots__ = ("_p",)

    def __init__(self, p: Any) -> None:
        self._p = p

    @classmethod
    def append(cls, container: Any) -> Para:
        """A new empty paragraph at the end of ``container`` (a ``w:body``, ``w:tc``...)."""
        return cls(SubElement(container, W_P))

    def add_run(self, text: str | None = None) -> Any:
        """A run at the end, without properties, holding ``text`` (python-docx's ``add_run``)."""
        r = SubElement(self._p, W_R)
        if text:
            add_text(r, text)
        return r

    def add_break(self, kind: str | None = None) -> None:
        """A run holding a line break (``kind``: ``page`` for a page break)."""
        br = SubElement(SubElement(self._p, W_R), W_BR)
        if kind:
            br.set(w("type"), kind)

    @property
    def runs(self) -> list[Any]:
        """The paragraph's own runs (not those inside links)."""
        return self._p.findall(W_R)

    def ends_with_space(self) -> bool:
        """Whether the text so far ends with a space (or there is none): the next run needs none."""
        last = None
        for last in self._p.iter(W_T):  # noqa: B007 (the last one is wanted)
            pass
        return last is None or not last.text or last.text.endswith(" ")

    def trim(self) -> list[Any]:
        """Strip spaces at the start of the first and the end of the last text; return the texts.

        Works on ``w:t`` elements (links included) so pictures in the same runs stay."""
        return trim(self._p)

    def finish(self) -> None:
        """Trim the outer spaces; remove the paragraph when nothing is left in it."""
        p = self._p
        texts = trim(p)
        if any(t.text for t in texts):
            return
        if any(child.tag in (W_FLDSIMPLE, W_BOOKMARK_START) for child in p):
            return
        if any(True for _ in p.iter(W_DRAWING, W_BR, W_FLDCHAR)):
            return
        p.getparent().remove(p)


def trim(p: Any) -> list[Any]:
    """Strip spaces at the start of the first and the end of the last ``w:t`` of ``p``; its texts."""
    texts = list(p.iter(W_T))
    if texts:
        texts[0].text = (texts[0].text or "").lstrip(" ")
        texts[-1].text = (texts[-1].text or "").rstrip(" ")
    return texts
