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
from docx.enum.text import WD_LINE_SPACING, WD_TAB_ALIGNMENT, WD_TAB_LEADER
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from briefgen.writers.docx.package import normalise_zip
from briefgen.writers.docx.styles import _AFTER_SHADING, FALLBACK, HEADING_STYLES

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
        ppr.insert_element_before(borders, "w:shd", *_AFTER_SHADING)
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
    style.element.get_or_add_pPr().insert_element_before(shd, *_AFTER_SHADING)


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


def _lines(style, points: float, rule: str = "atLeast") -> None:
    """Line pitch in points, as print.css's line-height: ``atLeast`` for running text (a taller
    character still fits), ``exact`` for headings (line-height 1.2 is below the font's own height)."""
    fmt = style.paragraph_format
    fmt.line_spacing = Pt(points)
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY if rule == "exact" else WD_LINE_SPACING.AT_LEAST


def _table_style(doc) -> None:
    """'Brief Table': thin rules, a brand-coloured header row, banded rows."""
    style = doc.styles.add_style("Brief Table", WD_STYLE_TYPE.TABLE)
    style.base_style = doc.styles["Normal Table"]
    style.font.size = Pt(8.5)  # print.css: table.data 8.5pt
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
    for side, width in (("top", 80), ("left", 100), ("bottom", 80), ("right", 100)):  # .4rem .5rem
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
    # Sizes and spaces follow print.css and brief.css (1rem = 10pt in print). Word and LibreOffice
    # put the larger of a paragraph's space after and the next one's space before between them,
    # as CSS collapses margins, so the spaces are the CSS margins: running text 1em above and
    # below, a heading's margin above it and at least the text's 10pt below it.
    normal = _paragraph_style(doc, "Normal", font=SERIF, size=10, colour=INK, before=10, after=10)
    _lines(normal, 14.5)  # body line-height 1.45
    normal.paragraph_format.widow_control = True  # p, li { orphans: 2; widows: 2 }
    _paragraph_style(doc, "Title", font=SANS, size=30, colour=BRAND, bold=True, before=0, after=12)
    title = doc.styles["Title"].element.get_or_add_pPr()
    for existing in title.findall(qn("w:pBdr")):
        title.remove(existing)
    _lines(doc.styles["Title"], 33, "exact")
    _paragraph_style(doc, "Subtitle", font=SANS, size=13, colour=MUTED, italic=False, before=0, after=20)
    h1 = _paragraph_style(
        doc, "Heading 1", font=SANS, size=19, colour=BRAND_DARK, bold=True, before=0, after=10, keep_next=True
    )
    h1.paragraph_format.page_break_before = True  # .chapter { break-before: page }
    _border(h1, "bottom", "E0A526", size=18, space=3)  # 3px rule, .3rem below the text
    _paragraph_style(
        doc,
        "Heading 2",
        font=SANS,
        size=13.5,
        colour=BRAND_DARK,
        bold=True,
        before=20,
        after=10,
        keep_next=True,
    )
    _paragraph_style(
        doc, "Heading 3", font=SANS, size=11, colour=BRAND, bold=True, before=14, after=10, keep_next=True
    )
    for name, size in (("Heading 1", 19), ("Heading 2", 13.5), ("Heading 3", 11)):
        doc.styles[name].font.italic = False
        _lines(doc.styles[name], size * 1.2, "exact")  # h1, h2, h3 { line-height: 1.2 }
        doc.styles[name].paragraph_format.keep_together = True  # break-inside: avoid
    _paragraph_style(
        doc, "Cover Kicker", font=SANS, size=8, colour=ACCENT, bold=True, before=0, after=10
    ).font.all_caps = True
    _paragraph_style(doc, "Cover Meta", font=SANS, size=10, colour=INK, before=0, after=3)
    prepared = _paragraph_style(doc, "Prepared For", font=SANS, size=12, colour=BRAND_DARK, before=20)
    _border(prepared, "top", "123C69", size=6, space=8)
    _lines(_paragraph_style(doc, "Lead", size=11, colour=BRAND_DARK), 15.5)  # .lead 1.08rem
    note = _paragraph_style(doc, "Note", size=10, colour=MUTED, italic=True)
    note.paragraph_format.keep_with_next = True  # p.note { break-after: avoid }
    _lines(_paragraph_style(doc, "Meta", font=SANS, size=9, colour=MUTED, after=10), 12.8)  # .88rem
    _lines(_paragraph_style(doc, "Links", font=SANS, size=8, colour=MUTED, after=10), 12)  # .82rem
    # .callout: a shaded box, items .25rem apart (the PDF sets its text in the body font; the Word
    # house style keeps callouts in the sans, tests/test_docx_fonts.py)
    callout = _paragraph_style(doc, "Callout", font=SANS, size=10, before=0, after=2.5)
    callout.paragraph_format.left_indent = Cm(0.3)
    callout.paragraph_format.right_indent = Cm(0.3)
    # padding: 3mm 4mm: a rule in the box's own colour above and below, 8pt from the text (the
    # shading fills that space), and 4px of brand colour on the left
    _shade(callout, PANEL)
    _border(callout, "top", PANEL, size=4, space=8)
    _border(callout, "left", "123C69", size=24, space=8)
    _border(callout, "bottom", PANEL, size=4, space=8)
    actions = _paragraph_style(doc, "Key Actions", "Callout")
    _shade(actions, ACCENT_SOFT)
    _border(actions, "top", ACCENT_SOFT, size=4, space=8)
    _border(actions, "left", "E0A526", size=24, space=8)
    _border(actions, "bottom", ACCENT_SOFT, size=4, space=8)
    _lines(
        _paragraph_style(
            doc,
            "Callout Title",
            "Callout",
            font=SANS,
            size=8,
            colour=BRAND_DARK,
            bold=True,
            before=0,
            after=2.5,
        ),
        11.6,
    )
    doc.styles["Callout Title"].font.all_caps = True
    _paragraph_style(
        doc, "Figure Value", "Callout", font=SANS, size=17, colour=BRAND, bold=True, before=6, after=0
    )
    _lines(doc.styles["Figure Value"], 18.7, "exact")  # line-height 1.1
    _paragraph_style(doc, "Figure Label", "Callout", font=SANS, bold=True, before=3, after=3)
    _paragraph_style(doc, "Table Text", font=SANS, size=8.5, before=0, after=0)
    _lines(doc.styles["Table Text"], 12.3)  # 8.5pt at 1.45
    _paragraph_style(doc, "Table Heading", "Table Text", colour=RGBColor(0xFF, 0xFF, 0xFF), bold=True)
    _paragraph_style(doc, "Caption", font=SANS, size=8.5, colour=MUTED, bold=False, italic=False)
    _paragraph_style(doc, "Colophon", font=SANS, size=8, colour=MUTED, before=20)
    _lines(doc.styles["Colophon"], 11.6)
    _paragraph_style(doc, "Quote", size=10, colour=MUTED, italic=True)
    # li { margin: .25rem 0 }: 2.5pt between items, the 10pt of the text around the list
    items = _paragraph_style(doc, "List Paragraph", before=2.5, after=2.5)
    for spacing in items.element.pPr.findall(qn("w:contextualSpacing")):
        items.element.pPr.remove(spacing)
    toc_heading = _paragraph_style(
        doc, "TOC Heading", font=SANS, size=18, colour=BRAND_DARK, bold=True, before=0, after=10
    )
    toc_heading.base_style = doc.styles["Normal"]
    text_width = section.page_width - section.left_margin - section.right_margin
    for level, (size, bold, indent) in enumerate(((10.5, True, 0.0), (10, False, 0.5)), start=1):
        toc = _paragraph_style(
            doc, f"TOC {level}", font=SANS, size=size, bold=bold, before=6 if bold else 1, after=1
        )
        toc.paragraph_format.left_indent = Cm(indent)
        _lines(toc, size * 1.45)
        toc.paragraph_format.tab_stops.add_tab_stop(text_width, WD_TAB_ALIGNMENT.RIGHT, WD_TAB_LEADER.DOTS)
    for name in ("Header", "Footer"):
        _lines(_paragraph_style(doc, name, font=SANS, size=7.5, colour=MUTED, before=0, after=0), 10.9)
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
    _lean(doc)
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


#: The styles a brief may ask for (the writer's styles and their fallbacks) and the defaults;
#: with what they are based on, link to or are followed by, they are all the reference keeps.
WANTED = frozenset(
    {"Normal", "Default Paragraph Font", "Normal Table", "No List", "Table Grid", "Hyperlink", "Brief Table"}
    | set(FALLBACK)
    | set(FALLBACK.values())
    | set(HEADING_STYLES)
)


def _lean(doc) -> None:
    """Drop what python-docx's blank template carries and no brief uses, so every brief parses
    less: the latent style list, the styles no brief asks for (the 130 built-in table and list
    styles), and the styles-with-effects copy of the styles (Word 2010's, read by no one else).
    Word still offers its built-in styles, which it knows without the latent list."""
    root = doc.styles.element
    for latent in root.findall(qn("w:latentStyles")):
        root.remove(latent)
    by_id = {s.get(qn("w:styleId")): s for s in root.findall(qn("w:style"))}
    kept: set[str] = set()
    todo = [style.style_id for style in doc.styles if style.name in WANTED]  # python-docx's UI names
    while todo:
        ident = todo.pop()
        if ident in kept or ident not in by_id:
            continue
        kept.add(ident)
        for tag in ("w:basedOn", "w:next", "w:link"):
            found = by_id[ident].find(qn(tag))
            if found is not None:
                todo.append(found.get(qn("w:val")))
    for ident, style in by_id.items():
        if ident not in kept:
            root.remove(style)
    for rid, rel in list(doc.part.rels.items()):
        if rel.reltype.endswith("/stylesWithEffects"):
            del doc.part.rels[rid]


if __name__ == "__main__":
    target = Path(__file__).resolve().parent.parent / "templates" / "reference.docx"
    target.write_bytes(make())
    print(f"wrote {target.name} ({target.stat().st_size:,} bytes)")
