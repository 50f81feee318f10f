"""Turn the HTML's lists, data tables, figures, images and definition lists into WordprocessingML.

The :class:`~briefgen.writers.docx.walker.Walker`'s handlers for structured blocks, as a mixin:
numbered lists get their own numbering instance, tables the Brief Table style with header rows
repeated on every page, images their alternative text, definitions a bold term.
"""

from __future__ import annotations

import io
from typing import Any

from docx.shared import Cm, Emu
from lxml.etree import SubElement

from ... import resources
from ...log import warn
from ...safe import xml_clean
from .oxml import indent_like_item, keep_row_whole, number_paragraph
from .styles import CONTAINER_STYLES, INLINE, Format
from .wml import Para, trim, w

W_TBL, W_TR, W_TC = w("tbl"), w("tr"), w("tc")


class StructuredBlocks:
    """Lists, tables, figures, images and definition lists: methods of the walker."""

    # provided by the walker
    cache: dict[str, object]
    container: Any
    doc: Any
    logo_alt: str | None
    numbering: Any
    page: Any
    roots: Any
    styles: dict[str, Any]
    warned: set[str]

    def list(self, element: Any, level: int, style: str) -> None:
        ordered = element.tag == "ol"
        num_id = self.numbering.numbered(level) if ordered else self.numbering.bullet_num
        item_style = style if style in CONTAINER_STYLES.values() else "List Paragraph"
        for item in element:
            if not isinstance(item.tag, str):
                continue
            if item.tag != "li":
                self.unknown(item)
                self.block(item, style)
                continue
            if item.get("lang") is not None:
                with self.speaking(item):
                    self.list_item(item, num_id, level, style, item_style)
            else:
                self.list_item(item, num_id, level, style, item_style)

    def list_item(self, item: Any, num_id: int, level: int, style: str, item_style: str) -> None:
        paragraph = self.paragraph(item_style)
        number_paragraph(paragraph, num_id, level, item_style in ("Callout", "Key Actions"))
        if item.text:
            self.text_run(paragraph, item.text, Format())
        for child in item:
            if not isinstance(child.tag, str):
                continue
            if child.tag in ("ul", "ol"):
                paragraph.finish()
                with self.speaking(child):
                    self.list(child, level + 1, style)
                paragraph = self.paragraph(item_style)
                indent_like_item(paragraph, level)
            elif child.tag == "p":
                if paragraph.runs:
                    paragraph.finish()
                    paragraph = self.paragraph(item_style)
                    indent_like_item(paragraph, level)
                self.inline(paragraph, child, Format())
            elif child.tag in INLINE:
                self.inline_element(paragraph, child, Format())
            else:
                paragraph.finish()
                self.block(child, style)
                paragraph = self.paragraph(item_style)
                indent_like_item(paragraph, level)
            if child.tail:
                self.text_run(paragraph, child.tail, Format())
        paragraph.finish()

    def table(self, element: Any, _classes: list[str], _style: str) -> None:
        """A data table in the Brief Table style, its header rows repeated on every page."""
        rows = [tr for tr in element.iter("tr")]
        if not rows:
            return
        cells_of = [[c for c in tr if isinstance(c.tag, str) and c.tag in ("td", "th")] for tr in rows]
        cols = max(max(len(cells) for cells in cells_of), 1)
        width = Emu(self.page.text_width // cols).twips  # as python-docx's add_table shares the width
        style_id = self.table_style()
        tbl = SubElement(self.container, W_TBL)
        tblpr = SubElement(tbl, w("tblPr"))
        if style_id is not None:
            SubElement(tblpr, w("tblStyle"), {w("val"): style_id})
        SubElement(tblpr, w("tblW"), {w("type"): "auto", w("w"): "0"})
        SubElement(tblpr, w("tblLook"), {
            w("firstColumn"): "1", w("firstRow"): "1", w("lastColumn"): "0", w("lastRow"): "0",
            w("noHBand"): "0", w("noVBand"): "1", w("val"): "04A0",
        })  # fmt: skip
        grid = SubElement(tbl, w("tblGrid"))
        for _ in range(cols):
            SubElement(grid, w("gridCol"), {w("w"): str(width)})
        for tr_el, cells in zip(rows, cells_of, strict=True):
            tr = SubElement(tbl, W_TR)
            parent = tr_el.getparent()
            keep_row_whole(tr, header=parent is not None and parent.tag == "thead")
            with self.speaking(tr_el):
                for c in range(cols):
                    tc = SubElement(tr, W_TC)
                    SubElement(SubElement(tc, w("tcPr")), w("tcW"), {w("type"): "dxa", w("w"): str(width)})
                    paragraph = Para.append(tc)
                    if c >= len(cells):
                        continue
                    cell = cells[c]
                    self.set_style(paragraph, "Table Heading" if cell.tag == "th" else "Table Text")
                    self.inline(paragraph, cell, Format(bold=cell.tag == "th"))
                    trim(paragraph._p)

    def table_style(self) -> str | None:
        """The id of the tables' style: Brief Table, else Table Grid (with one warning), else none;
        None too for the reference's default table style, as python-docx gives it."""
        if "table" not in self.cache:
            from docx.enum.style import WD_STYLE_TYPE

            if "Brief Table" in self.styles:
                style = self.styles["Brief Table"]
            else:
                style = self.styles[self.style("Table Grid")] if "Table Grid" in self.styles else None
                if "Brief Table" not in self.warned:
                    self.warned.add("Brief Table")
                    warn("reference document has no table style 'Brief Table'; using a plain table")
            self.cache["table"] = self.doc.styles.get_style_id(style, WD_STYLE_TYPE.TABLE)
        return self.cache["table"]  # type: ignore[return-value]

    def figure(self, element: Any, classes: list[str], _style: str) -> None:
        for child in element:
            if not isinstance(child.tag, str):
                continue
            if child.tag == "img":
                paragraph = self.paragraph("Normal")
                logo = "cover-logo" in classes
                if logo:
                    self.logo_alt = xml_clean(child.get("alt") or "").strip() or None
                self.image(paragraph, child, max_height=Cm(1.6) if logo else None)
                paragraph.finish()
            elif child.tag == "figcaption":
                self.block(child, "Caption")
            else:
                self.block(child, "Normal")

    def image(self, paragraph: Para, element: Any, max_height: int | None = None) -> None:
        from docx.shape import InlineShape

        src = element.get("src") or ""
        alt = xml_clean(element.get("alt") or "").strip()
        if not alt:
            warn("image %s has no alternative text", resources.shown(src) or "(no src)")
        found = resources.fetch(src, self.roots, base=self.roots[-1]) if src else None
        if found is None:
            return
        data, mime = found
        if mime not in ("image/png", "image/jpeg", "image/gif", "image/bmp", "image/tiff"):
            warn("docx: image %s of type %s cannot be placed in Word; skipped", resources.shown(src), mime)
            return
        r = paragraph.add_run()
        try:
            inline = self.doc.part.new_pic_inline(io.BytesIO(data), None, None)
        except Exception as exc:  # python-docx raises several types for bad images
            warn("docx: image %s could not be read (%s); skipped", resources.shown(src), type(exc).__name__)
            return
        SubElement(r, w("drawing")).append(inline)
        shape = InlineShape(inline)
        max_width = self.page.text_width
        if shape.width > max_width:
            ratio = max_width / shape.width
            shape.width, shape.height = Emu(int(max_width)), Emu(int(shape.height * ratio))
        if max_height is not None and shape.height > max_height:
            ratio = max_height / shape.height
            shape.width, shape.height = Emu(int(shape.width * ratio)), Emu(int(max_height))
        inline.docPr.set("descr", alt)
        inline.docPr.set("title", alt)

    def definitions(self, element: Any, style: str) -> None:
        term = None
        for child in element:
            if not isinstance(child.tag, str):
                continue
            if child.tag == "dt":
                term = child
            elif child.tag == "dd":
                paragraph = self.paragraph(style)
                if term is not None:
                    self.inline(paragraph, term, Format(bold=True))
                    self.text_run(paragraph, ": ", Format())
                    term = None
                self.inline(paragraph, child, Format())
                paragraph.finish()
            else:
                self.unknown(child)
                self.block(child, style)
