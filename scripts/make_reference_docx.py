"""Turn python-docx's blank document into templates/reference.docx, briefgen's Word house style.

The reference document carries everything a Word brief takes from its
template: named styles (headings, cover, callouts, table of contents, table
style), colours and fonts, A4 page set-up and margins. Headers and footers are
left empty so the writer adds the brief's own; a corporate reference document
with headers of its own keeps them. Run again after editing; output is
byte-identical for the same python-docx version:

    python scripts/make_reference_docx.py
"""

from __future__ import annotations

import io
from pathlib import Path

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_TAB_ALIGNMENT, WD_TAB_LEADER
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from briefgen.writers.docx.package import normalise_zip

BRAND = RGBColor(0x12, 0x3C, 0x69)
BRAND_DARK = RGBColor(0x0B, 0x27, 0x44)
ACCENT = RGBColor(0xE0, 0xA5, 0x26)
INK = RGBColor(0x1D, 0x23, 0x2B)
MUTED = RGBColor(0x5B, 0x66, 0x73)
PANEL = "F1F5F9"
ACCENT_SOFT = "FDF4E0"
# The shipped families (templates/fonts, declared in templates/css/fonts.css): the Word writer
# embeds the faces a brief uses (briefgen/writers/docx/fonts.py), so Word and LibreOffice set it
# in the PDF's fonts.
SANS = "Brief Sans"
SERIF = "Brief Serif"


def _fonts(style, name: str) -> None:
    style.font.name = name
    rfonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        rfonts.set(qn(attr), name)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme", "w:eastAsiaTheme"):
        rfonts.attrib.pop(qn(attr), None)


def _default_font(doc, name: str) -> None:
    """The document default font: text no style sets a font for is in ``name``, not a theme font."""
    rpr = doc.styles.element.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}")
    rfonts = rpr.find(qn("w:rFonts"))
    for attr in list(rfonts.attrib):
        del rfonts.attrib[attr]
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        rfonts.set(qn(attr), name)


def _font_table(doc) -> None:
    """The font table lists the shipped families (with Word's panose and signature), not
    python-docx's Calibri, Cambria, Arial..."""
    from lxml import etree

    from briefgen.writers.docx.fonts import SHIPPED, table_entry

    part = next(p for p in doc.part.package.iter_parts() if str(p.partname) == "/word/fontTable.xml")
    root = etree.fromstring(part.blob)
    for entry in list(root):
        root.remove(entry)
    for family in SHIPPED:
        root.append(table_entry(root, family, family))
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _border(style, side: str, colour: str, size: int = 12, space: int = 4) -> None:
    ppr = style.element.get_or_add_pPr()
    borders = ppr.find(qn("w:pBdr"))
    if borders is None:
        borders = OxmlElement("w:pBdr")
        ppr.append(borders)
    edge = OxmlElement(f"w:{side}")
    edge.set(qn("w:val"), "single")
    edge.set(qn("w:sz"), str(size))
    edge.set(qn("w:space"), str(space))
    edge.set(qn("w:color"), colour)
    borders.append(edge)


def _shade(style, fill: str) -> None:
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    style.element.get_or_add_pPr().append(shd)


def _paragraph_style(
    doc,
    name: str,
    base: str = "Normal",
    *,
    font: str | None = None,
    size: float | None = None,
    colour: RGBColor | None = None,
    bold: bool | None = None,
    italic: bool | None = None,
    before: float | None = None,
    after: float | None = None,
    keep_next: bool = False,
):
    styles = doc.styles
    style = (
        styles[name] if name in [s.name for s in styles] else styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    )
    if name != base and style.base_style is None and name != "Normal":
        style.base_style = styles[base]
    style.quick_style = True
    if font:
        _fonts(style, font)
    if size:
        style.font.size = Pt(size)
    if colour is not None:
        style.font.color.rgb = colour
    if bold is not None:
        style.font.bold = bold
    if italic is not None:
        style.font.italic = italic
    fmt = style.paragraph_format
    if before is not None:
        fmt.space_before = Pt(before)
    if after is not None:
        fmt.space_after = Pt(after)
    if keep_next:
        fmt.keep_with_next = True
    return style


def _table_style(doc) -> None:
    """'Brief Table': thin rules, a brand-coloured header row, banded rows."""
    style = doc.styles.add_style("Brief Table", WD_STYLE_TYPE.TABLE)
    style.base_style = doc.styles["Normal Table"]
    style.font.size = Pt(9)
    _fonts(style, SANS)
    el = style.element
    tblpr = OxmlElement("w:tblPr")
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "bottom", "insideH"):
        edge = OxmlElement(f"w:{side}")
        edge.set(qn("w:val"), "single")
        edge.set(qn("w:sz"), "4")
        edge.set(qn("w:space"), "0")
        edge.set(qn("w:color"), "D5DBE2")
        borders.append(edge)
    tblpr.append(borders)
    margins = OxmlElement("w:tblCellMar")
    for side, width in (("top", 40), ("left", 80), ("bottom", 40), ("right", 80)):
        m = OxmlElement(f"w:{side}")
        m.set(qn("w:w"), str(width))
        m.set(qn("w:type"), "dxa")
        margins.append(m)
    tblpr.append(margins)
    el.append(tblpr)
    for kind, fill, colour, bold in (
        ("firstRow", "123C69", "FFFFFF", True),
        ("band2Horz", PANEL, None, False),
    ):
        cond = OxmlElement("w:tblStylePr")
        cond.set(qn("w:type"), kind)
        if colour or bold:
            rpr = OxmlElement("w:rPr")
            if bold:
                rpr.append(OxmlElement("w:b"))
            if colour:
                c = OxmlElement("w:color")
                c.set(qn("w:val"), colour)
                rpr.append(c)
            cond.append(rpr)
        tcpr = OxmlElement("w:tcPr")
        shd = OxmlElement("w:shd")
        shd.set(qn("w:val"), "clear")
        shd.set(qn("w:color"), "auto")
        shd.set(qn("w:fill"), fill)
        tcpr.append(shd)
        cond.append(tcpr)
        el.append(cond)


def make() -> bytes:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(2.4), Cm(2.2)
    section.left_margin, section.right_margin = Cm(2.2), Cm(2.0)
    section.header_distance, section.footer_distance = Cm(1.1), Cm(1.0)

    _default_font(doc, SERIF)
    _font_table(doc)
    normal = _paragraph_style(doc, "Normal", font=SERIF, size=10.5, colour=INK, after=6)
    normal.paragraph_format.line_spacing = 1.15
    _paragraph_style(doc, "Title", font=SANS, size=30, colour=BRAND, bold=True, after=12)
    title = doc.styles["Title"].element.get_or_add_pPr()
    for existing in title.findall(qn("w:pBdr")):
        title.remove(existing)
    _paragraph_style(doc, "Subtitle", font=SANS, size=14, colour=MUTED, italic=False, after=24)
    h1 = _paragraph_style(
        doc, "Heading 1", font=SANS, size=18, colour=BRAND_DARK, bold=True, before=0, after=10, keep_next=True
    )
    h1.paragraph_format.page_break_before = True
    _border(h1, "bottom", "E0A526", size=18)
    _paragraph_style(
        doc, "Heading 2", font=SANS, size=13, colour=BRAND_DARK, bold=True, before=14, after=4, keep_next=True
    )
    _paragraph_style(
        doc, "Heading 3", font=SANS, size=11, colour=BRAND, bold=True, before=10, after=3, keep_next=True
    )
    for name in ("Heading 1", "Heading 2", "Heading 3"):
        doc.styles[name].font.italic = False
    _paragraph_style(
        doc, "Cover Kicker", font=SANS, size=9, colour=ACCENT, bold=True, after=18
    ).font.all_caps = True
    _paragraph_style(doc, "Cover Meta", font=SANS, size=10, colour=INK, after=2)
    prepared = _paragraph_style(doc, "Prepared For", font=SANS, size=12, colour=BRAND_DARK, before=30)
    _border(prepared, "top", "123C69", size=6, space=8)
    _paragraph_style(doc, "Lead", size=11.5, colour=BRAND_DARK)
    _paragraph_style(doc, "Note", size=9.5, colour=MUTED, italic=True)
    _paragraph_style(doc, "Meta", font=SANS, size=9, colour=MUTED, after=4)
    _paragraph_style(doc, "Links", font=SANS, size=8.5, colour=MUTED, after=10)
    callout = _paragraph_style(doc, "Callout", font=SANS, size=9.5, after=3)
    callout.paragraph_format.left_indent = Cm(0.3)
    callout.paragraph_format.right_indent = Cm(0.3)
    _shade(callout, PANEL)
    _border(callout, "left", "123C69", size=24, space=8)
    actions = _paragraph_style(doc, "Key Actions", "Callout")
    _shade(actions, ACCENT_SOFT)
    _border(actions, "left", "E0A526", size=24, space=8)
    _paragraph_style(
        doc, "Callout Title", "Callout", size=8, colour=BRAND_DARK, bold=True, before=4
    ).font.all_caps = True
    _paragraph_style(doc, "Figure Value", "Callout", size=18, colour=BRAND, bold=True, before=6, after=0)
    _paragraph_style(doc, "Figure Label", "Callout", bold=True, after=2)
    _paragraph_style(doc, "Table Text", font=SANS, size=9, after=0).paragraph_format.line_spacing = 1.1
    _paragraph_style(doc, "Table Heading", "Table Text", colour=RGBColor(0xFF, 0xFF, 0xFF), bold=True)
    _paragraph_style(doc, "Caption", font=SANS, size=8.5, colour=MUTED, italic=True)
    _paragraph_style(doc, "Colophon", font=SANS, size=8, colour=MUTED, before=24)
    _paragraph_style(doc, "Quote", size=10.5, colour=MUTED, italic=True)
    _paragraph_style(doc, "List Paragraph", after=3)
    toc_heading = _paragraph_style(
        doc, "TOC Heading", font=SANS, size=18, colour=BRAND_DARK, bold=True, after=10
    )
    toc_heading.base_style = doc.styles["Normal"]
    text_width = section.page_width - section.left_margin - section.right_margin
    for level, (size, bold, indent) in enumerate(((10.5, True, 0.0), (10, False, 0.5)), start=1):
        toc = _paragraph_style(
            doc, f"TOC {level}", font=SANS, size=size, bold=bold, before=6 if bold else 1, after=1
        )
        toc.paragraph_format.left_indent = Cm(indent)
        toc.paragraph_format.tab_stops.add_tab_stop(text_width, WD_TAB_ALIGNMENT.RIGHT, WD_TAB_LEADER.DOTS)
    for name in ("Header", "Footer"):
        _paragraph_style(doc, name, font=SANS, size=7.5, colour=MUTED, after=0)
    link = doc.styles.add_style("Hyperlink", WD_STYLE_TYPE.CHARACTER)
    link.font.color.rgb = BRAND
    link.font.underline = True
    _table_style(doc)

    props = doc.core_properties
    props.title = "briefgen reference document"
    props.author = "briefgen"
    props.last_modified_by = "briefgen"
    props.comments = "Styles, page set-up, headers and footers for Word briefs."
    props.revision = 1
    import datetime as dt

    props.created = props.modified = dt.datetime(2025, 6, 5, tzinfo=dt.UTC)
    _clean_package(doc)
    buffer = io.BytesIO()
    doc.save(buffer)
    return normalise_zip(buffer.getvalue(), 1749081600)


APP_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    "<Application>briefgen</Application><DocSecurity>0</DocSecurity></Properties>"
)


def _clean_package(doc) -> None:
    """Drop what python-docx's blank template carries that is not ours: thumbnail, custom XML, app info."""
    from docx.opc.constants import RELATIONSHIP_TYPE as RT

    package = doc.part.package
    for rid, rel in list(package.rels.items()):
        if rel.reltype == RT.THUMBNAIL:
            del package.rels[rid]
    for rid, rel in list(doc.part.rels.items()):
        if rel.reltype == RT.CUSTOM_XML:
            del doc.part.rels[rid]
    for part in package.iter_parts():
        if str(part.partname) == "/docProps/app.xml":
            part._blob = APP_XML.encode()


if __name__ == "__main__":
    target = Path(__file__).resolve().parent.parent / "templates" / "reference.docx"
    target.write_bytes(make())
    print(f"wrote {target.name} ({target.stat().st_size:,} bytes)")
