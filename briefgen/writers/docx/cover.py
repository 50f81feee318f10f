"""Turn the cover and the key figures of the HTML intermediate form into the PDF's look in Word.

What print.css draws, drawn with what Word and LibreOffice both lay out:

* the cover (``header.cover``) on a full page of the theme's brand colour: the walker writes
  the cover's paragraphs as usual, they are recoloured as in the PDF (white text, the accent for
  the kicker and the meta's terms) and set 70 mm down the page, and the first of them anchors a
  rectangle the size of the page behind the text (a DrawingML shape, with a VML rectangle as the
  fallback for readers without DrawingML shapes), marked decorative;
* the summary's cover, a header band (``body.length-summary .cover``): the same paragraphs in a
  one-cell table shaded in the brand colour, the meta on one line;
* the key figures (``div.figures``): a grid, two figures a row (three in a summary) as the PDF's
  flex rows fall on A4, each a cell shaded in the panel colour with a bar of the brand colour at
  its left; a last row that is not full shares the width out, as flex-grow does; the gaps are
  empty cells and rows. A summary shows the value and the label only, as the PDF does.

The band and the grid are layout tables: no header row, no table style, ``w:tblLook`` saying
there is neither a header row nor a first column. Colours come from the theme, else the house
colours. Nothing here depends on the text, so a batch's placeholder brief stamped with a
reader's name is still what writing it whole gives (:mod:`.stamp`).
"""

from __future__ import annotations

import itertools
from contextlib import nullcontext
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Emu, Pt

from ...theme import DEFAULT_COLOURS
from .styles import Format, unboxed
from .wml import RPR_ORDER, W_VAL, ordered, paragraph_property, properties, run_properties, run_property

if TYPE_CHECKING:
    from .walker import Walker

W_P, W_TBL, W_R, W_COLOR = qn("w:p"), qn("w:tbl"), qn("w:r"), qn("w:color")
W = nsdecls("w")
MM = 1440 / 25.4  # twips in a millimetre
EMU_MM = 36000  # EMU in a millimetre
DECORATIVE = "{C183D7F6-B498-43B3-948B-1728B52AA6E4}"  # Word's extension: a decorative object
WPS = "http://schemas.microsoft.com/office/word/2010/wordprocessingShape"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
VML = "urn:schemas-microsoft-com:vml"

# print.css: the cover's padding, the cover meta's columns, the figures' gap and box
COVER_TOP_MM, COVER_SIDE_MM, META_COLUMN_MM = 70, 22, 38
GAP_MM = 3
FIGURE_BOX_MM = 45 + 2 * 4 + 1.06  # flex-basis, padding and the 4px bar: the width one figure needs


@dataclass(frozen=True)
class Palette:
    """The theme's colours as Word writes them: upper-case hex without ``#``."""

    brand: str
    brand_dark: str
    accent: str
    panel: str
    muted: str
    white: str = "FFFFFF"

    @classmethod
    def of(cls, theme: Any) -> Palette:
        colours = theme.colours.model_dump() if theme is not None else DEFAULT_COLOURS
        return cls(**{f.name: colours[f.name][1:].upper() for f in fields(cls) if f.name != "white"})

    def over_brand(self, opacity: float) -> str:
        """White at ``opacity`` over the brand colour (the PDF's ``opacity`` and rgba rules)."""
        brand = bytes.fromhex(self.brand)
        return bytes(round(255 * opacity + c * (1 - opacity)) for c in brand).hex().upper()


@dataclass(frozen=True)
class Look:
    """How one kind of cover paragraph looks on the brand colour (sizes in points)."""

    colour: str = "white"  # a Palette field, or "soft:<opacity>" for white over the brand
    size: float | None = None
    before: float | None = None
    after: float | None = None
    rule: bool = False  # a thin rule above, as "Prepared for" has
    tracking: float | None = None  # letter spacing, in points (None: the style's)
    bold: bool | None = None  # None: the style's
    line: float | None = None  # line height as a multiple of the size (CSS line-height), exact


# The cover's classes as print.css and brief.css lay them out, on a page and in the summary band.
PAGE_LOOKS = {
    "cover-logo": Look(after=12),
    "cover-kicker": Look("accent", 8, after=10, tracking=1, bold=False),
    "title": Look(size=30, after=8, tracking=0, line=1.1),
    "subtitle": Look("soft:0.9", 13, after=20, tracking=0),
    "cover-meta": Look(size=10, after=3),
    "prepared-for": Look(size=12, before=20, rule=True),
}
BAND_LOOKS = {
    "cover-logo": Look(after=6),
    "cover-kicker": Look("accent", 8, after=5, tracking=1, bold=False),
    "title": Look(size=16, after=5, tracking=0, line=1.1),
    "subtitle": Look("soft:0.9", 10.5, after=8, tracking=0),
    "cover-meta": Look(size=8.5, after=0),
    "prepared-for": Look(size=10, before=8, rule=True),
}


#: The elements that follow ``w:spacing`` in ``w:rPr`` (ECMA-376 CT_RPr order).
_AFTER_SPACING = (
    "w:w", "w:kern", "w:position", "w:sz", "w:szCs", "w:highlight", "w:u", "w:effect", "w:bdr", "w:shd",
    "w:fitText", "w:vertAlign", "w:rtl", "w:cs", "w:em", "w:lang", "w:eastAsianLayout", "w:specVanish",
    "w:oMath",
)  # fmt: skip


# ----- the cover ---------------------------------------------------------------------------------


def cover(walker: Walker, element: Any) -> None:
    """The cover: a full page of the brand colour, or the summary's header band."""
    palette = Palette.of(walker.theme)
    if walker.summary:
        _band(walker, element, palette)
        return
    written = _cover_blocks(walker, element, palette, PAGE_LOOKS)
    page = walker.page
    paragraphs = [p for block in written for p in _paragraphs(block)]
    first = paragraphs[0] if paragraphs else None
    if first is None:
        first = walker.paragraph("Normal")._p
    _background(walker, first, palette.brand, page.width, page.height)
    top = max(0.0, COVER_TOP_MM * MM - Emu(page.top).twips)
    left = max(0.0, COVER_SIDE_MM * MM - Emu(page.left).twips)
    right = max(0.0, COVER_SIDE_MM * MM - Emu(page.right).twips)
    for p in paragraphs:
        _indent(p, left, right)
    _spacing(first, before=top / 20)
    walker.page_break()


def _band(walker: Walker, element: Any, palette: Palette) -> None:
    """The summary's cover: a one-cell table shaded in the brand colour, as wide as the text."""
    width = _text_width(walker)
    margins = _margins(5, 7)
    tbl = _layout_table([width], description=None)
    tbl.append(
        parse_xml(
            f"<w:tr {nsdecls('w')}><w:trPr><w:cantSplit/></w:trPr><w:tc><w:tcPr>"
            f'<w:tcW w:w="{width}" w:type="dxa"/>{_NO_BORDERS}'
            f'<w:shd w:val="clear" w:color="auto" w:fill="{palette.brand}"/>{margins}'
            "</w:tcPr></w:tc></w:tr>"
        )
    )
    _insert(walker, tbl)
    cell = tbl.xpath("./w:tr/w:tc")[0]
    outer, walker.target = walker.target, cell
    try:
        _cover_blocks(walker, element, palette, BAND_LOOKS)
    finally:
        walker.target = outer
    _close_cell(cell)
    walker.space_before_next = 4 * MM / 20  # print.css: the band's margin-bottom


def _cover_blocks(walker: Walker, element: Any, palette: Palette, looks: dict[str, Look]) -> list[Any]:
    """Walk the cover's children into the current container, each in its PDF look; the blocks added."""
    container = walker.container
    written: list[Any] = []
    for child in element:
        if not isinstance(child.tag, str):
            continue
        classes = (child.get("class") or "").split()
        kind = next((c for c in classes if c in looks), "")
        before = len(_blocks(container))
        if kind == "cover-meta" and child.tag == "dl":
            _meta(walker, child, palette, looks is BAND_LOOKS)
        else:
            walker.block(child, "Normal")
        added = _blocks(container)[before:]
        look = looks.get(kind, Look())  # anything else a template adds is white too, as in the PDF
        for p in (p for block in added for p in _paragraphs(block)):
            _apply(p, look, palette)
        written.extend(added)
    return written


def _meta(walker: Walker, dl: Any, palette: Palette, inline: bool) -> None:
    """``dl.cover-meta``: term and value in two columns (one line of pairs in the band)."""

    pairs: list[tuple[Any, Any]] = []
    term = None
    for child in dl:
        if not isinstance(child.tag, str):
            continue
        if child.tag == "dt":
            term = child
        elif child.tag == "dd":
            pairs.append((term, child))
            term = None
        else:
            walker.block(child, "Cover Meta")
    paragraph = None
    for index, (term, value) in enumerate(pairs):
        if paragraph is None or not inline:
            if paragraph is not None:
                walker.finish(paragraph)
            paragraph = walker.paragraph("Cover Meta")
            if not inline:
                column = round(META_COLUMN_MM * MM)
                ind = paragraph._p.get_or_add_pPr().get_or_add_ind()
                ind.set(qn("w:left"), str(column))
                ind.set(qn("w:hanging"), str(column))
                paragraph._p.pPr.insert_element_before(
                    parse_xml(f'<w:tabs {nsdecls("w")}><w:tab w:val="left" w:pos="{column}"/></w:tabs>'),
                    "w:suppressAutoHyphens", "w:spacing", "w:ind", "w:jc", "w:rPr",
                )  # fmt: skip
        elif index:
            paragraph.add_run("   ")  # print.css: dd::after { content: "   " }
        if term is not None:
            start = len(paragraph._p)
            walker.inline(paragraph, term, Format(bold=True))
            for added in paragraph._p[start:]:
                _colour_runs(added, palette.accent)
            paragraph.add_run("\t" if not inline else " ")
        walker.inline(paragraph, value, Format())
    if paragraph is not None:
        walker.finish(paragraph)


def _apply(p: Any, look: Look, palette: Palette) -> None:
    colour = look.colour
    shade = palette.over_brand(float(colour[5:])) if colour.startswith("soft:") else getattr(palette, colour)
    _colour_runs(p, shade)
    for r in p.iter(W_R):
        if look.size is not None:
            _size(r, look.size)
        if look.bold is not None:
            _bold(r, look.bold)
        if look.tracking is not None:
            run_property(r, "spacing", str(round(look.tracking * 20)))
    _spacing(p, before=look.before, after=look.after)
    if look.line is not None and look.size is not None:
        spacing = p.pPr.spacing
        spacing.set(qn("w:line"), str(round(look.line * look.size * 20)))
        spacing.set(qn("w:lineRule"), "exact")
    if look.rule:
        rule = palette.over_brand(0.35)
        properties = p.get_or_add_pPr()
        for old in properties.findall(qn("w:pBdr")):
            properties.remove(old)
        properties.insert_element_before(
            parse_xml(f'<w:pBdr {W}><w:top w:val="single" w:sz="4" w:space="8" w:color="{rule}"/></w:pBdr>'),
            "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:spacing", "w:ind", "w:jc", "w:rPr",
        )  # fmt: skip


def _colour_runs(p: Any, colour: str) -> None:
    """Give every run of ``p`` that has no colour of its own yet the colour ``colour``."""
    for r in p.iter(W_R):
        properties = run_properties(r)
        if properties.find(W_COLOR) is None:
            ordered(properties, W_COLOR, RPR_ORDER).set(W_VAL, colour)


def _size(r: Any, points: float) -> None:
    """Set run ``r`` in ``points`` (python-docx's half-points)."""
    run_property(r, "sz", str(int(Emu(Pt(points)).pt * 2)))


def _bold(r: Any, bold: bool) -> None:
    """Set run ``r`` bold or explicitly not bold."""
    element = run_property(r, "b")
    if bold:
        element.attrib.pop(W_VAL, None)
    else:
        element.set(W_VAL, "0")


def _spacing(p: Any, before: float | None = None, after: float | None = None) -> None:
    spacing = paragraph_property(p, "spacing")
    if before is not None:
        spacing.set(qn("w:before"), str(round(before * 20)))
        spacing.set(qn("w:beforeAutospacing"), "0")
    if after is not None:
        spacing.set(qn("w:after"), str(round(after * 20)))
        spacing.set(qn("w:afterAutospacing"), "0")


def _indent(p: Any, left: float, right: float) -> None:
    ind = paragraph_property(p, "ind")
    ind.set(qn("w:left"), str(round(left + int(ind.get(qn("w:left"), "0")))))
    ind.set(qn("w:right"), str(round(right)))
    tabs = properties(p).find(qn("w:tabs"))
    for tab in tabs if tabs is not None else ():
        tab.set(qn("w:pos"), str(round(left + int(tab.get(qn("w:pos"))))))


def _background(walker: Walker, p: Any, colour: str, width: int, height: int) -> None:
    """Anchor a rectangle of ``colour``, ``width`` x ``height`` EMU, at the page's top left, behind
    the text, in paragraph ``p``."""
    ident = walker.doc.part.next_id
    points = f"width:{width / 12700:.1f}pt;height:{height / 12700:.1f}pt"
    run = parse_xml(
        f'<w:r {nsdecls("w", "wp", "a")} xmlns:wps="{WPS}" xmlns:mc="{MC}" xmlns:v="{VML}">'
        "<mc:AlternateContent>"
        '<mc:Choice Requires="wps"><w:drawing>'
        '<wp:anchor distT="0" distB="0" distL="0" distR="0" simplePos="0" relativeHeight="0" '
        'behindDoc="1" locked="1" layoutInCell="0" allowOverlap="1">'
        '<wp:simplePos x="0" y="0"/>'
        '<wp:positionH relativeFrom="page"><wp:posOffset>0</wp:posOffset></wp:positionH>'
        '<wp:positionV relativeFrom="page"><wp:posOffset>0</wp:posOffset></wp:positionV>'
        f'<wp:extent cx="{width}" cy="{height}"/><wp:effectExtent l="0" t="0" r="0" b="0"/><wp:wrapNone/>'
        f'<wp:docPr id="{ident}" name="Cover background"><a:extLst><a:ext uri="{DECORATIVE}">'
        '<adec:decorative xmlns:adec="http://schemas.microsoft.com/office/drawing/2017/decorative" val="1"/>'
        "</a:ext></a:extLst></wp:docPr><wp:cNvGraphicFramePr/>"
        f'<a:graphic><a:graphicData uri="{WPS}"><wps:wsp><wps:cNvSpPr/><wps:spPr>'
        f'<a:xfrm><a:off x="0" y="0"/><a:ext cx="{width}" cy="{height}"/></a:xfrm>'
        '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom>'
        f'<a:solidFill><a:srgbClr val="{colour}"/></a:solidFill><a:ln><a:noFill/></a:ln>'
        "</wps:spPr><wps:bodyPr/></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice>"
        "<mc:Fallback><w:pict>"
        f'<v:rect style="position:absolute;margin-left:0;margin-top:0;{points};z-index:-1;'
        'mso-position-horizontal-relative:page;mso-position-vertical-relative:page" '
        f'fillcolor="#{colour.lower()}" stroked="f"/>'
        "</w:pict></mc:Fallback></mc:AlternateContent></w:r>"
    )
    properties = p.find(qn("w:pPr"))
    if properties is not None:
        properties.addnext(run)
    else:
        p.insert(0, run)


# ----- the key figures ---------------------------------------------------------------------------


def figures(walker: Walker, element: Any) -> None:
    """``div.figures``: the figure callouts as a grid of shaded cells, as the PDF lays them out."""
    items = [child for child in element if isinstance(child.tag, str)]
    if not items:
        return
    palette = Palette.of(walker.theme)
    width = _text_width(walker)
    gap = round(GAP_MM * MM)
    columns = 3 if walker.summary else max(1, min(3, int((width / MM + GAP_MM) // (FIGURE_BOX_MM + GAP_MM))))
    rows = [items[i : i + columns] for i in range(0, len(items), columns)]
    edges = sorted({edge for row in rows for edge in _edges(len(row), width, gap)})
    grid = [b - a for a, b in itertools.pairwise(edges)]
    tbl = _layout_table(grid, description=None)
    margins = _margins(2, 3) if walker.summary else _margins(3, 4)
    if walker.break_pending:  # a page break asked for before the grid: a paragraph that holds it
        walker.break_pending = False
        walker.paragraph("Normal").add_break("page")
    _insert(walker, tbl)
    for number, row in enumerate(rows):
        if number:
            tbl.append(_spacer_row(len(grid), width, gap))
        tr = parse_xml(f"<w:tr {nsdecls('w')}><w:trPr><w:cantSplit/></w:trPr></w:tr>")
        tbl.append(tr)
        bounds = _edges(len(row), width, gap)
        for index, item in enumerate(row):
            if index:
                tr.append(_cell_xml(edges, bounds[2 * index - 1], bounds[2 * index], _NO_BORDERS, _EMPTY))
            look = (
                f'<w:tcBorders><w:top w:val="nil"/><w:left w:val="single" w:sz="24" w:space="0" '
                f'w:color="{palette.brand}"/><w:bottom w:val="nil"/><w:right w:val="nil"/></w:tcBorders>'
                f'<w:shd w:val="clear" w:color="auto" w:fill="{palette.panel}"/>{margins}'
            )
            tc = _cell_xml(edges, bounds[2 * index], bounds[2 * index + 1], look, "")
            tr.append(tc)
            _figure_cell(walker, tc, item, palette)
    walker.space_before_next = 4 * MM / 20 if walker.summary else 15  # print.css, brief.css: .figures margin


def _figure_label(walker: Walker, label: Any, palette: Palette) -> None:
    """``p.figure-label``: bold, but its ``span.figure-before`` ("previously ...") plain and muted."""

    with walker.speaking(label) if label.get("lang") is not None else nullcontext():
        paragraph = walker.paragraph("Figure Label")
        if label.text:
            walker.text_run(paragraph, label.text, Format())
        for child in label:
            if not isinstance(child.tag, str):
                continue
            start = len(paragraph._p)
            walker.inline_element(paragraph, child, Format())
            if "figure-before" in (child.get("class") or "").split():
                for r in (r for added in paragraph._p[start:] for r in added.iter(W_R)):
                    _bold(r, False)
                    _colour_runs(r, palette.muted)
            if child.tail:
                walker.text_run(paragraph, child.tail, Format())
        walker.finish(paragraph)


def _figure_cell(walker: Walker, cell: Any, item: Any, palette: Palette) -> None:
    """One figure callout into its cell: its paragraphs unboxed (the cell is the box)."""
    aside = item.tag == "aside"
    children = [c for c in item if isinstance(c.tag, str)] if aside else [item]
    outer, walker.target = walker.target, cell
    try:
        with walker.speaking(item) if aside and item.get("lang") is not None else nullcontext():
            for child in children:
                classes = (child.get("class") or "").split()
                if walker.summary and not {"figure-value", "figure-label"} & set(classes):
                    continue  # print.css: a summary's figures show value and label only
                before = len(cell)
                if "figure-label" in classes and child.tag == "p":
                    _figure_label(walker, child, palette)
                else:  # the value in the Figure Value style, the rest in the body's font as in the PDF
                    walker.block(child, "Callout" if "figure-value" in classes else "Normal")
                size = 9.0 if not classes or "figure-source" in classes else None  # .9rem
                if "figure-value" in classes:  # print.css: 17pt, 13pt in a summary
                    size = 13 if walker.summary else 17
                for r in (r for block in cell[before:] for r in block.iter(W_R)) if size else ():
                    _size(r, size)
    finally:
        walker.target = outer
    paragraphs = [p for block in _blocks(cell) for p in _paragraphs(block)]
    for p in paragraphs:
        unboxed(p)
    if paragraphs:
        _spacing(paragraphs[0], before=0)
        _spacing(paragraphs[-1], after=0)
    _close_cell(cell)


def _edges(count: int, width: int, gap: int) -> list[int]:
    """The left and right edge of each of ``count`` boxes sharing ``width`` with gaps between."""
    box = (width - gap * (count - 1)) / count
    edges = []
    for index in range(count):
        left = index * (box + gap)
        edges += [round(left), round(left + box)]
    edges[-1] = width
    return edges


# ----- layout tables -----------------------------------------------------------------------------

_NO_BORDERS = (
    '<w:tcBorders><w:top w:val="nil"/><w:left w:val="nil"/><w:bottom w:val="nil"/>'
    '<w:right w:val="nil"/></w:tcBorders>'
)


def _margins(vertical_mm: float, horizontal_mm: float) -> str:
    v, h = round(vertical_mm * MM), round(horizontal_mm * MM)
    return (
        f'<w:tcMar><w:top w:w="{v}" w:type="dxa"/><w:left w:w="{h}" w:type="dxa"/>'
        f'<w:bottom w:w="{v}" w:type="dxa"/><w:right w:w="{h}" w:type="dxa"/></w:tcMar>'
    )


def _layout_table(grid: list[int], description: str | None) -> Any:
    """An empty borderless table of fixed column widths (twips) that says it has no header."""
    total = sum(grid)
    caption = f'<w:tblDescription w:val="{description}"/>' if description else ""
    columns = "".join(f'<w:gridCol w:w="{w}"/>' for w in grid)
    return parse_xml(
        f'<w:tbl {nsdecls("w")}><w:tblPr><w:tblW w:w="{total}" w:type="dxa"/><w:tblInd w:w="0" w:type="dxa"/>'
        '<w:tblBorders><w:top w:val="nil"/><w:left w:val="nil"/><w:bottom w:val="nil"/><w:right w:val="nil"/>'
        '<w:insideH w:val="nil"/><w:insideV w:val="nil"/></w:tblBorders><w:tblLayout w:type="fixed"/>'
        '<w:tblCellMar><w:left w:w="0" w:type="dxa"/><w:right w:w="0" w:type="dxa"/></w:tblCellMar>'
        '<w:tblLook w:val="0000" w:firstRow="0" w:lastRow="0" w:firstColumn="0" w:lastColumn="0" '
        f'w:noHBand="1" w:noVBand="1"/>{caption}</w:tblPr>'
        f"<w:tblGrid>{columns}</w:tblGrid></w:tbl>"
    )


def _cell_xml(edges: list[int], left: int, right: int, look: str, content: str) -> Any:
    """A cell from ``left`` to ``right`` (twips) on the grid ``edges``; ``look``: its tcPr content."""
    span = edges.index(right) - edges.index(left)
    spans = f'<w:gridSpan w:val="{span}"/>' if span > 1 else ""
    return parse_xml(
        f'<w:tc {nsdecls("w")}><w:tcPr><w:tcW w:w="{right - left}" w:type="dxa"/>{spans}{look}</w:tcPr>'
        f"{content}</w:tc>"
    )


#: The paragraph of an empty gap cell: it takes no room.
_EMPTY = (
    '<w:p><w:pPr><w:spacing w:before="0" w:after="0" w:line="20" w:lineRule="exact"/>'
    '<w:rPr><w:sz w:val="2"/></w:rPr></w:pPr></w:p>'
)


def _spacer_row(columns: int, width: int, height: int) -> Any:
    """An empty row ``height`` twips high across the grid: the gap between two rows of figures."""
    spans = f'<w:gridSpan w:val="{columns}"/>' if columns > 1 else ""
    return parse_xml(
        f'<w:tr {nsdecls("w")}><w:trPr><w:cantSplit/><w:trHeight w:val="{height}" w:hRule="exact"/></w:trPr>'
        f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>{spans}{_NO_BORDERS}</w:tcPr>'
        f"{_EMPTY}</w:tc></w:tr>"
    )


def _close_cell(tc: Any) -> None:
    """Every cell ends with a paragraph: a cell left empty, or ending in a table, gets an empty one."""
    children = [c for c in tc if c.tag in (W_P, W_TBL)]
    if not children or children[-1].tag != W_P:
        tc.append(parse_xml(f"<w:p {nsdecls('w')}>{_EMPTY[5:]}"))


# ----- where blocks go ---------------------------------------------------------------------------


def _blocks(container: Any) -> list[Any]:
    return [c for c in container if c.tag in (W_P, W_TBL)]


def _paragraphs(block: Any) -> list[Any]:
    return [block] if block.tag == W_P else list(block.iter(W_P))


def _insert(walker: Walker, tbl: Any) -> None:
    """Add ``tbl`` at the end of the current container."""
    walker.container.append(tbl)


def _text_width(walker: Walker) -> int:
    """The width between the page's margins, in twips."""
    return int(walker.page.text_width / 635)
