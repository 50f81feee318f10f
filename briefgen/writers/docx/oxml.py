"""Turn the WordprocessingML a brief needs beyond python-docx's API into elements: numbering
definitions and instances, fields, bookmarks, hyperlinks and table-row properties.

python-docx's own element classes are used wherever they have the method (a numbering instance
and its restart, a paragraph's numbering properties); the rest is built here, once, in schema
order, so the walker asks this layer and never sets attributes by hand.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from docx.oxml.ns import qn
from docx.shared import Cm, Emu
from lxml.etree import SubElement

from .wml import W_R, W_T, W_VAL, XML_SPACE, add_text, paragraph_property, run_property, trim, w

R_ID = qn("r:id")

BULLETS = ("•", "◦", "▪")
NUMBER_FORMATS = ("decimal", "lowerLetter", "lowerRoman")


@dataclass
class Numbering:
    """Numbering definitions: one bullet list, and a fresh instance for every numbered list."""

    part: Any  # the numbering part's root, python-docx's CT_Numbering
    bullet_num: int = 0
    decimal_abstract: int = 0
    next_num: int = 1

    @classmethod
    def install(cls, doc: Any) -> Numbering:
        """Add briefgen's bullet and decimal definitions after the reference's own."""
        root = doc.part.numbering_part.element
        abstract_ids = [int(a.get(qn("w:abstractNumId"))) for a in root.findall(qn("w:abstractNum"))]
        num_ids = [int(n.get(qn("w:numId"))) for n in root.findall(qn("w:num"))]
        first_abstract = max(abstract_ids, default=0) + 1
        bullet = _abstract(root, first_abstract, bullets=True)
        decimal = _abstract(root, first_abstract + 1, bullets=False)
        existing = root.findall(qn("w:abstractNum"))
        anchor = existing[-1] if existing else None
        for element in (bullet, decimal):
            if anchor is not None:
                anchor.addnext(element)
            else:
                root.insert(0, element)
            anchor = element
        self = cls(part=root, decimal_abstract=first_abstract + 1, next_num=max(num_ids, default=0) + 1)
        self.bullet_num = int(self._num(first_abstract).get(w("numId")))
        return self

    def _num(self, abstract: int) -> Any:
        """A new ``w:num`` after every existing one (its id one above the highest: no scan, no reuse of
        an id a reference's style may still name), before ``w:numIdMacAtCleanup`` if there is one."""
        num = self.part.makeelement(w("num"), {w("numId"): str(self.next_num)})
        SubElement(num, w("abstractNumId"), {W_VAL: str(abstract)})
        self.next_num += 1
        last = self.part[-1] if len(self.part) else None
        if last is not None and last.tag == w("numIdMacAtCleanup"):
            last.addprevious(num)
        else:
            self.part.append(num)
        return num

    def numbered(self, level: int) -> int:
        """A new numbering instance that starts at 1 at ``level``."""
        num = self._num(self.decimal_abstract)
        override = SubElement(num, w("lvlOverride"), {w("ilvl"): str(level)})
        SubElement(override, w("startOverride"), {W_VAL: "1"})
        return int(num.get(w("numId")))


def _abstract(root: Any, abstract_id: int, *, bullets: bool) -> Any:
    """An abstract numbering definition of nine levels (made by ``root``'s factory): bullets, or
    1. a. i. numbers."""
    element = root.makeelement(w("abstractNum"), {w("abstractNumId"): str(abstract_id)})
    SubElement(element, w("multiLevelType"), {W_VAL: "hybridMultilevel"})
    for level in range(9):
        lvl = SubElement(element, w("lvl"), {w("ilvl"): str(level)})
        for tag, value in (
            ("start", "1"),
            ("numFmt", "bullet" if bullets else NUMBER_FORMATS[level % 3]),
            ("lvlText", BULLETS[level % 3] if bullets else f"%{level + 1}."),
            ("lvlJc", "left"),
        ):
            SubElement(lvl, w(tag), {W_VAL: value})
        ppr = SubElement(lvl, w("pPr"))
        SubElement(ppr, w("ind"), {w("left"): str(360 * (level + 1)), w("hanging"): "360"})
    return element


def set_numbering(paragraph: Any, num_id: int, level: int) -> None:
    """Make ``paragraph`` an item of numbering instance ``num_id`` at ``level``."""
    numpr = paragraph_property(paragraph._p, "numPr")
    SubElement(numpr, w("ilvl"), {W_VAL: str(level)})
    SubElement(numpr, w("numId"), {W_VAL: str(num_id)})


# ----- fields ------------------------------------------------------------------------------------


def field_char(paragraph: Any, kind: str) -> None:
    """A run holding a field character: ``begin`` (marked dirty), ``separate`` or ``end``."""
    attributes = {w("fldCharType"): kind}
    if kind == "begin":
        attributes[w("dirty")] = "true"
    SubElement(SubElement(paragraph._p, W_R), w("fldChar"), attributes)


def field_code(paragraph: Any, text: str) -> None:
    """A run holding a field's instruction text, spaces kept."""
    instr = SubElement(SubElement(paragraph._p, W_R), w("instrText"), {XML_SPACE: "preserve"})
    instr.text = text


def simple_field(paragraph: Any, instruction: str, shown: str) -> None:
    """A whole field (``PAGE``, ``NUMPAGES``...) whose cached result is ``shown``."""
    field_char(paragraph, "begin")
    field_code(paragraph, f" {instruction} ")
    field_char(paragraph, "separate")
    add_text(SubElement(paragraph._p, W_R), shown)
    field_char(paragraph, "end")


# ----- bookmarks and links ---------------------------------------------------------------------


def _bookmark_id(name: str) -> str:
    """The numeric id of a ``_TocNNNNNNNN`` bookmark."""
    return name[4:].lstrip("0") or "0"


def bookmark_start(paragraph: Any, name: str) -> None:
    SubElement(paragraph._p, w("bookmarkStart"), {w("id"): _bookmark_id(name), w("name"): name})


def bookmark_end(paragraph: Any, name: str) -> None:
    SubElement(paragraph._p, w("bookmarkEnd"), {w("id"): _bookmark_id(name)})


def hyperlink(
    paragraph: Any,
    text: str,
    *,
    anchor: str | None = None,
    rid: str | None = None,
    style_id: str | None = None,
    bold: bool = False,
    italic: bool = False,
) -> None:
    """A link run: to a bookmark (``anchor``) or to an external relationship (``rid``)."""
    if anchor is not None:
        link = SubElement(paragraph._p, w("hyperlink"), {w("anchor"): anchor})
    else:
        link = SubElement(paragraph._p, w("hyperlink"), {R_ID: rid or ""})
    run = SubElement(link, W_R)
    rpr = SubElement(run, w("rPr"))
    if style_id is not None:
        SubElement(rpr, w("rStyle"), {W_VAL: style_id})
    if bold:
        SubElement(rpr, w("b"))
    if italic:
        SubElement(rpr, w("i"))
    t = SubElement(run, W_T)
    t.text = text
    t.set(XML_SPACE, "preserve")


def keep_row_whole(tr: Any, header: bool) -> None:
    """Never split table row ``tr`` (a ``w:tr``, still empty) across pages; a header row repeats on
    every page."""
    trpr = tr.makeelement(w("trPr"), {})
    tr.insert(0, trpr)
    SubElement(trpr, w("cantSplit"))
    if header:
        SubElement(trpr, w("tblHeader"))


def set_language(run: Any, tag: str) -> None:
    """Mark run ``run`` (a ``w:r``) as text in the language ``tag``."""
    run_property(run, "lang").attrib[W_VAL] = tag


def trim_paragraph(p: Any) -> None:
    """Strip spaces at the start of the first and the end of the last text of a paragraph.

    Works on ``w:t`` elements (links included) so pictures in the same runs stay.
    """
    trim(p)


def number_paragraph(paragraph: Any, num_id: int, level: int, in_box: bool) -> None:
    """Number a list item paragraph and hang its indent (deeper for each level, inside a box)."""
    set_numbering(paragraph, num_id, level)
    ind = paragraph_property(paragraph._p, "ind")
    ind.set(w("left"), _twips(Cm(0.635 * (level + 1) + (0.3 if in_box else 0))))
    ind.set(w("hanging"), _HANGING)


def indent_like_item(paragraph: Any, level: int) -> None:
    """Indent a paragraph that continues a list item to the item's text."""
    paragraph_property(paragraph._p, "ind").set(w("left"), _twips(Cm(0.635 * (level + 1))))


@functools.lru_cache(maxsize=64)
def _twips(length: int) -> str:
    """A length in EMU as WordprocessingML writes it in twips (python-docx's rounding)."""
    return str(Emu(length).twips)


_HANGING = _twips(Cm(0.635))
