"""Turn the WordprocessingML a brief needs beyond python-docx's API into elements: numbering
definitions and instances, fields, bookmarks, hyperlinks and table-row properties.

python-docx's own element classes are used wherever they have the method (a numbering instance
and its restart, a paragraph's numbering properties); the rest is built here, once, in schema
order, so the walker asks this layer and never sets attributes by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.numbering import CT_Num
from docx.shared import Cm

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
        bullet = _abstract(first_abstract, bullets=True)
        decimal = _abstract(first_abstract + 1, bullets=False)
        existing = root.findall(qn("w:abstractNum"))
        anchor = existing[-1] if existing else None
        for element in (bullet, decimal):
            if anchor is not None:
                anchor.addnext(element)
            else:
                root.insert(0, element)
            anchor = element
        self = cls(part=root, decimal_abstract=first_abstract + 1, next_num=max(num_ids, default=0) + 1)
        self.bullet_num = self._num(first_abstract).numId
        return self

    def _num(self, abstract: int) -> Any:
        """A new ``w:num`` after every existing one (its id one above the highest: no scan, no reuse of
        an id a reference's style may still name), placed in schema order by python-docx."""
        num = CT_Num.new(self.next_num, abstract)
        self.next_num += 1
        return self.part._insert_num(num)

    def numbered(self, level: int) -> int:
        """A new numbering instance that starts at 1 at ``level``."""
        num = self._num(self.decimal_abstract)
        num.add_lvlOverride(ilvl=level).add_startOverride(1)
        return num.numId


def _abstract(abstract_id: int, *, bullets: bool) -> Any:
    """An abstract numbering definition of nine levels: bullets, or 1. a. i. numbers."""
    element = OxmlElement("w:abstractNum")
    element.set(qn("w:abstractNumId"), str(abstract_id))
    multi = OxmlElement("w:multiLevelType")
    multi.set(qn("w:val"), "hybridMultilevel")
    element.append(multi)
    for level in range(9):
        lvl = OxmlElement("w:lvl")
        lvl.set(qn("w:ilvl"), str(level))
        for tag, value in (
            ("w:start", "1"),
            ("w:numFmt", "bullet" if bullets else NUMBER_FORMATS[level % 3]),
            ("w:lvlText", BULLETS[level % 3] if bullets else f"%{level + 1}."),
            ("w:lvlJc", "left"),
        ):
            child = OxmlElement(tag)
            child.set(qn("w:val"), value)
            lvl.append(child)
        ppr = OxmlElement("w:pPr")
        ind = OxmlElement("w:ind")
        ind.set(qn("w:left"), str(360 * (level + 1)))
        ind.set(qn("w:hanging"), "360")
        ppr.append(ind)
        lvl.append(ppr)
        element.append(lvl)
    return element


def set_numbering(paragraph: Any, num_id: int, level: int) -> None:
    """Make ``paragraph`` an item of numbering instance ``num_id`` at ``level``."""
    numpr = paragraph._p.get_or_add_pPr().get_or_add_numPr()
    numpr.get_or_add_ilvl().val = level
    numpr.get_or_add_numId().val = num_id


# ----- fields ------------------------------------------------------------------------------------


def field_char(paragraph: Any, kind: str) -> None:
    """A run holding a field character: ``begin`` (marked dirty), ``separate`` or ``end``."""
    run = paragraph.add_run()
    char = OxmlElement("w:fldChar")
    char.set(qn("w:fldCharType"), kind)
    if kind == "begin":
        char.set(qn("w:dirty"), "true")
    run._r.append(char)


def field_code(paragraph: Any, text: str) -> None:
    """A run holding a field's instruction text, spaces kept."""
    run = paragraph.add_run()
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = text
    run._r.append(instr)


def simple_field(paragraph: Any, instruction: str, shown: str) -> None:
    """A whole field (``PAGE``, ``NUMPAGES``...) whose cached result is ``shown``."""
    field_char(paragraph, "begin")
    field_code(paragraph, f" {instruction} ")
    field_char(paragraph, "separate")
    paragraph.add_run(shown)
    field_char(paragraph, "end")


# ----- bookmarks and links ---------------------------------------------------------------------


def _bookmark_id(name: str) -> str:
    """The numeric id of a ``_TocNNNNNNNN`` bookmark."""
    return name[4:].lstrip("0") or "0"


def bookmark_start(paragraph: Any, name: str) -> None:
    start = OxmlElement("w:bookmarkStart")
    start.set(qn("w:id"), _bookmark_id(name))
    start.set(qn("w:name"), name)
    paragraph._p.append(start)


def bookmark_end(paragraph: Any, name: str) -> None:
    end = OxmlElement("w:bookmarkEnd")
    end.set(qn("w:id"), _bookmark_id(name))
    paragraph._p.append(end)


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
    link = OxmlElement("w:hyperlink")
    if anchor is not None:
        link.set(qn("w:anchor"), anchor)
    else:
        link.set(qn("r:id"), rid or "")
    run = OxmlElement("w:r")
    rpr = OxmlElement("w:rPr")
    if style_id is not None:
        rstyle = OxmlElement("w:rStyle")
        rstyle.set(qn("w:val"), style_id)
        rpr.append(rstyle)
    if bold:
        rpr.append(OxmlElement("w:b"))
    if italic:
        rpr.append(OxmlElement("w:i"))
    run.append(rpr)
    t = OxmlElement("w:t")
    t.text = text
    t.set(qn("xml:space"), "preserve")
    run.append(t)
    link.append(run)
    paragraph._p.append(link)


def keep_row_whole(row: Any, header: bool) -> None:
    """Never split ``row`` across pages; a header row repeats on every page."""
    trpr = row._tr.get_or_add_trPr()
    trpr.append(OxmlElement("w:cantSplit"))
    if header:
        trpr.append(OxmlElement("w:tblHeader"))


def set_language(run: Any, tag: str) -> None:
    """Mark run ``run`` (a ``w:r``) as text in the language ``tag``."""
    properties = run.get_or_add_rPr()
    for old in properties.findall(qn("w:lang")):
        properties.remove(old)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), tag)
    properties.insert_element_before(lang, "w:eastAsianLayout", "w:specVanish", "w:oMath")


def trim_paragraph(p: Any) -> None:
    """Strip spaces at the start of the first and the end of the last text of a paragraph.

    Works on ``w:t`` elements (links included) so pictures in the same runs stay.
    """
    texts = p.xpath(".//w:t")
    if texts:
        texts[0].text = (texts[0].text or "").lstrip(" ")
        texts[-1].text = (texts[-1].text or "").rstrip(" ")


def ends_with_space(paragraph: Any) -> bool:
    """Whether a paragraph ends with a space (or has no text yet): the next run needs none."""
    texts = paragraph._p.xpath(".//w:t")
    return not texts or not texts[-1].text or texts[-1].text.endswith(" ")


def number_paragraph(paragraph: Any, num_id: int, level: int, in_box: bool) -> None:
    """Number a list item paragraph and hang its indent (deeper for each level, inside a box)."""
    set_numbering(paragraph, num_id, level)
    paragraph.paragraph_format.left_indent = Cm(0.635 * (level + 1) + (0.3 if in_box else 0))
    paragraph.paragraph_format.first_line_indent = Cm(-0.635)


def indent_like_item(paragraph: Any, level: int) -> None:
    """Indent a paragraph that continues a list item to the item's text."""
    paragraph.paragraph_format.left_indent = Cm(0.635 * (level + 1))
