"""Turn the HTML intermediate form into the paragraphs, lists, tables and pictures of a Word body.

The walker goes through the documented HTML element set (docs/html-intermediate.md) and asks
python-docx (and :mod:`briefgen.writers.docx.oxml` for what python-docx lacks) for each piece:

* headings become Word's built-in Heading 1-3 with bookmarks, so the navigation pane and the
  table of contents work;
* the contents page is a real TOC field whose result is already filled with the entries,
  linked to the heading bookmarks;
* every numbered list gets its own numbering instance that restarts at 1;
* hyperlinks are real, for ``http(s):`` and ``mailto:`` only;
* a style the reference lacks falls back (:data:`~briefgen.writers.docx.styles.FALLBACK`) with one warning;
* the cover and the key figures take the PDF's look (:mod:`.cover`);
* text in another language than the document's (a ``lang`` attribute on any element) carries
  its language on every run, so spelling, hyphenation and screen readers follow it;
* anything outside the documented set is a warning naming the element, and its text is kept.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import qn
from docx.shared import Cm, Emu, Pt

from ... import resources
from ...log import warn
from ...safe import safe_link, xml_clean
from . import contents
from .chart import picture
from .cover import cover, figures
from .oxml import (
    Numbering,
    bookmark_end,
    bookmark_start,
    ends_with_space,
    hyperlink,
    indent_like_item,
    keep_row_whole,
    number_paragraph,
    set_language,
    trim_paragraph,
)
from .styles import (
    CONTAINER_STYLES,
    CONTAINERS,
    HEADING_STYLES,
    HEADINGS,
    INLINE,
    KEEP_TOGETHER,
    PARAGRAPH_CLASSES,
    Format,
    available_style,
    breaks_before,
)

SPACES = re.compile(r"[ \t\n\r\f]+")
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,7}")


@dataclass
class Walker:
    """Fills one Word document from one HTML tree, element by element."""

    doc: Any
    numbering: Numbering
    roots: tuple[Path, ...]
    bookmarks: dict[str, str] = field(default_factory=dict)
    styles: dict[str, Any] = field(default_factory=dict)  # style name -> python-docx style
    warned: set[str] = field(default_factory=set)
    next_bookmark: int = 0
    pages: dict[str, int] = field(default_factory=dict)
    summary: bool = False
    break_pending: bool = False
    cache: dict[str, object] = field(default_factory=dict)
    theme: Any = None  # the colours of the cover and the key figures (:mod:`.cover`)
    target: Any = None  # where blocks go: None for the body, or a python-docx table cell
    space_before_next: float | None = None  # points above the next paragraph (after the summary's band)
    language: str | None = None  # the document's language (``html[lang]``), read on the first block
    lang: str | None = None  # the language of the text being walked when it is not the document's
    logo_alt: str | None = None  # the cover logo's alternative text, for the header's logo

    # ----- styles and warnings -------------------------------------------------

    def style(self, name: str) -> str:
        """The style ``name`` if the reference has it, else its fallback (with one warning)."""
        wanted = name
        name = available_style(name, self.styles)
        if name != wanted and wanted not in self.warned:
            self.warned.add(wanted)
            warn("reference document has no style %r; using %r", wanted, name)
        return name

    def unknown(self, element: Any) -> None:
        key = f"<{element.tag}>"
        if key not in self.warned:
            self.warned.add(key)
            warn("docx: element %s is not in the documented HTML set; its text is kept", key)

    # ----- paragraphs and runs --------------------------------------------------

    def set_style(self, paragraph: Any, name: str) -> str:
        """Give ``paragraph`` the style ``name`` (or its fallback) by id; return the name used.

        Setting the style id directly avoids python-docx's name lookup, which
        scans every style in the document on each call.
        """
        used = self.style(name)
        style = self.styles.get(used)
        if style is not None:
            paragraph._p.style = style.style_id
        return used

    def breaks_before(self, name: str) -> bool:
        """Whether style ``name`` (or a style it is based on) starts a new page; cached."""
        key = f"break:{name}"
        if key not in self.cache:
            self.cache[key] = breaks_before(self.styles.get(name))
        return bool(self.cache[key])

    def paragraph(self, style: str) -> Any:
        paragraph = (self.target or self.doc).add_paragraph()
        used = self.set_style(paragraph, style)
        level = HEADING_STYLES.get(style)
        starts_page = self.breaks_before(used)
        if self.break_pending:
            self.break_pending = False
            if not starts_page:
                paragraph.paragraph_format.page_break_before = starts_page = True
        elif level == 1 and self.summary and starts_page:
            paragraph.paragraph_format.page_break_before = starts_page = False
        if self.space_before_next is not None:
            if not starts_page:  # a gap at the top of a page is no gap in the PDF either
                paragraph.paragraph_format.space_before = Pt(self.space_before_next)
            self.space_before_next = None
        return paragraph

    def page_break(self) -> None:
        """Start the next paragraph on a new page (once, whatever its style says)."""
        self.break_pending = True

    def finish(self, paragraph: Any) -> None:
        """Trim the paragraph's outer spaces; remove it when nothing is left."""
        trim_paragraph(paragraph._p)
        p = paragraph._p
        has_content = bool(
            p.xpath("./w:fldSimple|./w:bookmarkStart")
            or any(t.text for t in p.xpath(".//w:t"))
            or p.xpath(".//w:drawing|.//w:br|.//w:fldChar")
        )
        if not has_content:
            p.getparent().remove(p)

    def text_run(self, paragraph: Any, text: str, fmt: Format) -> None:
        text = SPACES.sub(" ", xml_clean(text))
        if not text:
            return
        if text.startswith(" ") and ends_with_space(paragraph):
            text = text[1:]
            if not text:
                return
        if fmt.link:
            self.hyperlink(paragraph, text, fmt)
            return
        run = paragraph.add_run(text)
        run.bold = fmt.bold or None
        run.italic = fmt.italic or None
        if fmt.code:
            run.font.name = "Courier New"
        if self.lang:
            set_language(run._r, self.lang)

    def hyperlink(self, paragraph: Any, text: str, fmt: Format) -> None:
        target = fmt.link or ""
        style = self.styles.get("Hyperlink")
        look = {
            "style_id": style.style_id if style is not None else None,
            "bold": fmt.bold,
            "italic": fmt.italic,
        }
        if target.startswith("#"):
            hyperlink(paragraph, text, anchor=self.bookmarks.get(target[1:], target[1:]), **look)
        else:
            rid = paragraph.part.relate_to(target, RT.HYPERLINK, is_external=True)
            hyperlink(paragraph, text, rid=rid, **look)
        if self.lang:
            for run in paragraph._p[-1].iter(qn("w:r")):
                set_language(run, self.lang)

    # ----- languages --------------------------------------------------------------------------

    def language_of(self, element: Any) -> str | None:
        """The run language inside ``element``: its ``lang`` when that is another language than the
        document's, None when it is the document's; ``self.lang`` (the outer one) without ``lang``."""
        tag = (element.get("lang") or "").strip()
        if self.language is None:
            self.language = (element.getroottree().getroot().get("lang") or "").strip().lower()
        if not tag or not LANGUAGE_TAG.fullmatch(tag):  # empty or not a language tag: no change
            return self.lang
        return None if tag.lower() == self.language else tag

    @contextmanager
    def speaking(self, element: Any) -> Iterator[None]:
        """Within: the runs are in ``element``'s language (:meth:`language_of`)."""
        outer, self.lang = self.lang, self.language_of(element)
        try:
            yield
        finally:
            self.lang = outer

    def inline(self, paragraph: Any, element: Any, fmt: Format) -> None:
        """Add the text and inline children of ``element`` to ``paragraph``."""
        if element.get("lang") is not None:
            with self.speaking(element):
                self._inline(paragraph, element, fmt)
        else:
            self._inline(paragraph, element, fmt)

    def _inline(self, paragraph: Any, element: Any, fmt: Format) -> None:
        if element.text:
            self.text_run(paragraph, element.text, fmt)
        for child in element:
            if not isinstance(child.tag, str):
                if child.tail:
                    self.text_run(paragraph, child.tail, fmt)
                continue
            self.inline_element(paragraph, child, fmt)
            if child.tail:
                self.text_run(paragraph, child.tail, fmt)

    def inline_element(self, paragraph: Any, child: Any, fmt: Format) -> None:
        if child.get("lang") is not None:
            with self.speaking(child):
                self._inline_element(paragraph, child, fmt)
        else:
            self._inline_element(paragraph, child, fmt)

    def _inline_element(self, paragraph: Any, child: Any, fmt: Format) -> None:
        tag = child.tag
        if tag in ("strong", "b"):
            self.inline(paragraph, child, Format(True, fmt.italic, fmt.code, fmt.link))
        elif tag in ("em", "i"):
            self.inline(paragraph, child, Format(fmt.bold, True, fmt.code, fmt.link))
        elif tag == "code":
            self.inline(paragraph, child, Format(fmt.bold, fmt.italic, True, fmt.link))
        elif tag == "br":
            paragraph.add_run().add_break()
        elif tag == "a":
            href = (child.get("href") or "").strip()
            if href.startswith("#") or safe_link(href):
                self.inline(paragraph, child, Format(fmt.bold, fmt.italic, fmt.code, href))
            else:
                if href:
                    warn(
                        "docx: link to %s kept as plain text: only http(s) and mailto links are allowed",
                        resources.shown(href),
                    )
                self.inline(paragraph, child, fmt)
        elif tag == "img":
            self.image(paragraph, child)
        elif tag in ("span", "sub", "sup", "time"):
            self.inline(paragraph, child, fmt)
        else:
            self.unknown(child)
            self.inline(paragraph, child, fmt)

    # ----- blocks -----------------------------------------------------------------

    def blocks(self, element: Any, style: str = "Normal", skip: Any = None) -> None:
        """Walk block-level children of ``element`` (but ``skip``); loose text becomes a paragraph."""
        pending: Any = None
        if element.text and element.text.strip():
            pending = self.paragraph(style)
            self.text_run(pending, element.text, Format())
        for child in element:
            if not isinstance(child.tag, str) or child is skip:
                continue
            if child.tag in INLINE:
                if pending is None:
                    pending = self.paragraph(style)
                self.inline_element(pending, child, Format())
            else:
                if pending is not None:
                    self.finish(pending)
                    pending = None
                self.block(child, style)
            if child.tail and child.tail.strip():
                if pending is None:
                    pending = self.paragraph(style)
                self.text_run(pending, child.tail, Format())
        if pending is not None:
            self.finish(pending)

    def block(self, element: Any, style: str) -> None:
        if element.get("lang") is not None:
            with self.speaking(element):
                self._block(element, style)
        else:
            self._block(element, style)

    def _block(self, element: Any, style: str) -> None:
        tag = element.tag
        classes = set((element.get("class") or "").split())
        if tag in HEADINGS:
            self.heading(element, HEADINGS[tag])
        elif tag == "p":
            name = next((PARAGRAPH_CLASSES[c] for c in classes if c in PARAGRAPH_CLASSES), style)
            paragraph = self.paragraph(name)
            self.inline(paragraph, element, Format())
            self.finish(paragraph)
        elif tag in ("ul", "ol"):
            self.list(element, 0, style)
        elif tag == "table":
            self.table(element)
        elif tag == "figure" and classes & {"chart", "glance"}:
            picture(self, element)
        elif tag == "figure":
            self.figure(element)
        elif tag == "dl":
            self.definitions(element, "Cover Meta" if "cover-meta" in classes else style)
        elif tag == "blockquote":
            self.blocks(element, "Quote")
        elif tag == "header" and "cover" in classes:
            self.cover(element)
        elif tag == "nav" and "toc" in classes:
            self.toc(element)
        elif tag == "div" and "page-break" in classes:
            self.page_break()
        elif tag == "div" and "figures" in classes:
            figures(self, element)
        elif tag in CONTAINERS:
            inner = next(
                (CONTAINER_STYLES[c] for c in ("callout-actions", "callout", "colophon") if c in classes),
                style,
            )
            if classes & KEEP_TOGETHER:
                self.keep_together(element, inner)
            elif self.summary and "lead-section" in classes:  # print.css hides its first paragraph
                self.blocks(element, inner, skip=next(iter(element.iterchildren("p")), None))
            else:
                self.blocks(element, inner)
        elif tag in ("figcaption",):
            paragraph = self.paragraph("Caption")
            self.inline(paragraph, element, Format())
            self.finish(paragraph)
        else:
            self.unknown(element)
            self.blocks(element, style)

    def keep_together(self, element: Any, style: str) -> None:
        """Write a callout and keep its paragraphs on one page."""
        from docx.text.paragraph import Paragraph

        body = self.doc.element.body
        before = len(body) - (1 if len(body) and body[-1].tag == qn("w:sectPr") else 0)
        self.blocks(element, style)
        added = [el for el in list(body)[before:] if el.tag == qn("w:p")]
        for p in added[:-1]:
            Paragraph(p, self.doc._body).paragraph_format.keep_with_next = True

    def bookmark_name(self, ident: str) -> str:
        if ident not in self.bookmarks:
            self.next_bookmark += 1
            self.bookmarks[ident] = f"_Toc{self.next_bookmark:08d}"
        return self.bookmarks[ident]

    def heading(self, element: Any, level: int) -> None:
        paragraph = self.paragraph(f"Heading {level}")
        ident = element.get("id")
        if ident:
            name = self.bookmark_name(ident)
            bookmark_start(paragraph, name)
        self.inline(paragraph, element, Format())
        if ident:
            bookmark_end(paragraph, name)
        self.finish(paragraph)

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
                self.finish(paragraph)
                with self.speaking(child):
                    self.list(child, level + 1, style)
                paragraph = self.paragraph(item_style)
                indent_like_item(paragraph, level)
            elif child.tag == "p":
                if paragraph.runs:
                    self.finish(paragraph)
                    paragraph = self.paragraph(item_style)
                    indent_like_item(paragraph, level)
                self.inline(paragraph, child, Format())
            elif child.tag in INLINE:
                self.inline_element(paragraph, child, Format())
            else:
                self.finish(paragraph)
                self.block(child, style)
                paragraph = self.paragraph(item_style)
                indent_like_item(paragraph, level)
            if child.tail:
                self.text_run(paragraph, child.tail, Format())
        self.finish(paragraph)

    def table(self, element: Any) -> None:
        rows = [tr for tr in element.iter("tr")]
        if not rows:
            return
        width = max(len([c for c in tr if isinstance(c.tag, str) and c.tag in ("td", "th")]) for tr in rows)
        table = self.doc.add_table(rows=len(rows), cols=max(width, 1))
        if "Brief Table" in self.styles:
            table.style = self.styles["Brief Table"]
        else:
            table.style = self.styles[self.style("Table Grid")] if "Table Grid" in self.styles else None
            if "Brief Table" not in self.warned:
                self.warned.add("Brief Table")
                warn("reference document has no table style 'Brief Table'; using a plain table")
        for r, tr in enumerate(rows):
            row = table.rows[r]
            keep_row_whole(row, header=tr.getparent() is not None and tr.getparent().tag == "thead")
            cells = [c for c in tr if isinstance(c.tag, str) and c.tag in ("td", "th")]
            with self.speaking(tr):
                for c, cell_el in enumerate(cells):
                    paragraph = row.cells[c].paragraphs[0]
                    self.set_style(paragraph, "Table Heading" if cell_el.tag == "th" else "Table Text")
                    self.inline(paragraph, cell_el, Format(bold=cell_el.tag == "th"))
                    trim_paragraph(paragraph._p)

    def figure(self, element: Any) -> None:
        for child in element:
            if not isinstance(child.tag, str):
                continue
            if child.tag == "img":
                paragraph = self.paragraph("Normal")
                logo = "cover-logo" in (element.get("class") or "").split()
                if logo:
                    self.logo_alt = xml_clean(child.get("alt") or "").strip() or None
                self.image(paragraph, child, max_height=Cm(1.6) if logo else None)
                self.finish(paragraph)
            elif child.tag == "figcaption":
                self.block(child, "Caption")
            else:
                self.block(child, "Normal")

    def image(self, paragraph: Any, element: Any, max_height: int | None = None) -> None:
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
        try:
            shape = paragraph.add_run().add_picture(io.BytesIO(data))
        except Exception as exc:  # python-docx raises several types for bad images
            warn("docx: image %s could not be read (%s); skipped", resources.shown(src), type(exc).__name__)
            return
        max_width = (
            self.doc.sections[0].page_width
            - self.doc.sections[0].left_margin
            - self.doc.sections[0].right_margin
        )
        if shape.width > max_width:
            ratio = max_width / shape.width
            shape.width, shape.height = Emu(int(max_width)), Emu(int(shape.height * ratio))
        if max_height is not None and shape.height > max_height:
            ratio = max_height / shape.height
            shape.width, shape.height = Emu(int(shape.width * ratio)), Emu(int(max_height))
        shape._inline.docPr.set("descr", alt)
        shape._inline.docPr.set("title", alt)

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
                self.finish(paragraph)
            else:
                self.unknown(child)
                self.block(child, style)

    def cover(self, element: Any) -> None:
        """The cover on a page of the brand colour, or the summary's band (:func:`.cover.cover`)."""
        cover(self, element)

    def toc(self, element: Any) -> None:
        """The contents page: Word's TOC field, its result already filled (:mod:`.contents`)."""
        contents.toc(self, element)
