"""Turn the HTML intermediate form into the paragraphs, lists, tables and pictures of a Word body.

The walker goes through the documented HTML element set (docs/html-intermediate.md) in document
order and appends each piece to the body as WordprocessingML (:mod:`.wml`; :mod:`.oxml` for
numbering, fields, bookmarks and links), so nothing is ever inserted before what is already there:

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

Which method writes a block is a table (:data:`BY_CLASS`, then :data:`BY_TAG`, then the
containers): a new kind of block is one handler and one entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.shared import Cm, Emu, Pt
from lxml.etree import SubElement

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
    hyperlink,
    set_language,
)
from .structured import StructuredBlocks
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
from .wml import W_P, W_PPR, W_PSTYLE, W_R, W_VAL, Para, add_text, paragraph_property, set_style, w

SPACES = re.compile(r"[ \t\n\r\f]+")
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,7}")
W_B, W_I, W_RFONTS, W_ASCII, W_HANSI = w("b"), w("i"), w("rFonts"), w("ascii"), w("hAnsi")
W_RPR, W_LANG = w("rPr"), w("lang")

#: Blocks written by a handler of their own because of a class: tag -> ((class, method), ...),
#: the first class the element has wins. A ``<figure class="chart">`` would be one more entry.
BY_CLASS: dict[str, tuple[tuple[str, str], ...]] = {
    "header": (("cover", "cover"),),
    "nav": (("toc", "toc"),),
    "div": (("page-break", "page_break_block"), ("figures", "figures")),
    "figure": (("chart", "drawing"), ("glance", "drawing")),
}
#: Blocks written by a handler because of their tag alone (when no class above matched).
BY_TAG: dict[str, str] = {
    "h1": "heading",
    "h2": "heading",
    "h3": "heading",
    "p": "text_block",
    "ul": "list_block",
    "ol": "list_block",
    "table": "table",
    "figure": "figure",
    "dl": "definitions_block",
    "blockquote": "quote",
    "figcaption": "caption",
}
#: Inline elements and the formatting they add: (bold, italic, code) set to True.
INLINE_FORMAT = {
    "strong": (True, None, None),
    "b": (True, None, None),
    "em": (None, True, None),
    "i": (None, True, None),
    "code": (None, None, True),
}
TRANSPARENT = frozenset({"span", "sub", "sup", "time"})


@dataclass(frozen=True)
class Page:
    """The page the brief is laid out on (EMU): size and margins of the reference's first section."""

    width: int
    height: int
    left: int
    right: int
    top: int

    @classmethod
    def of(cls, section: Any) -> Page:
        def length(value: Any, default: float) -> int:
            return int(value) if value is not None else int(Cm(default))

        return cls(
            length(section.page_width, 21.0),
            length(section.page_height, 29.7),
            length(section.left_margin, 2.54),
            length(section.right_margin, 2.54),
            length(section.top_margin, 2.54),
        )

    @property
    def text_width(self) -> int:
        """The width between the margins, in EMU."""
        return self.width - self.left - self.right


@dataclass
class Walker(StructuredBlocks):
    """Fills one Word document from one HTML tree, element by element, in document order."""

    doc: Any
    numbering: Numbering
    roots: tuple[Path, ...]
    page: Page
    bookmarks: dict[str, str] = field(default_factory=dict)
    styles: dict[str, Any] = field(default_factory=dict)  # style name -> python-docx style
    warned: set[str] = field(default_factory=set)
    next_bookmark: int = 0
    pages: dict[str, int] = field(default_factory=dict)
    summary: bool = False
    break_pending: bool = False
    cache: dict[str, object] = field(default_factory=dict)
    theme: Any = None  # the colours of the cover and the key figures (:mod:`.cover`)
    target: Any = None  # where blocks go: None for the body, or a table cell (``w:tc``)
    space_before_next: float | None = None  # points above the next paragraph (after the summary's band)
    language: str | None = None  # the document's language (``html[lang]``), read on the first block
    lang: str | None = None  # the language of the text being walked when it is not the document's
    logo_alt: str | None = None  # the cover logo's alternative text, for the header's logo
    style_ids: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # name -> (used, id)
    epoch: int | None = None  # the brief's source_date_epoch (pictures' workbooks are dated by it)

    body: Any = None  # the document's ``w:body`` (read once)

    @property
    def container(self) -> Any:
        """Where the next block goes: the body or the current table cell."""
        if self.target is not None:
            return self.target
        if self.body is None:
            self.body = self.doc.element.body
        return self.body

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
        """Give ``paragraph`` (a :class:`.wml.Para` or a python-docx paragraph) the style ``name``
        (or its fallback) by id; return the name used."""
        used, ident = self.style_id(name)
        if ident is not None:
            set_style(paragraph._p, ident)
        return used

    def style_id(self, name: str) -> tuple[str, str | None]:
        """The style used for ``name`` (:meth:`style`) and its id (None if the reference has no
        such style at all); looked up once per name."""
        found = self.style_ids.get(name)
        if found is None:
            used = self.style(name)
            known = self.styles.get(used)
            found = self.style_ids[name] = (used, known.style_id if known is not None else None)
        return found

    def breaks_before(self, name: str) -> bool:
        """Whether style ``name`` (or a style it is based on) starts a new page; cached."""
        key = f"break:{name}"
        if key not in self.cache:
            self.cache[key] = breaks_before(self.styles.get(name))
        return bool(self.cache[key])

    def paragraph(self, style: str) -> Para:
        """A new paragraph of ``style`` at the end of the current container."""
        used, ident = self.style_id(style)
        p = SubElement(self.container, W_P)
        if ident is not None:
            SubElement(SubElement(p, W_PPR), W_PSTYLE, {W_VAL: ident})
        paragraph = Para(p)
        level = HEADING_STYLES.get(style)
        starts_page = self.breaks_before(used)
        if self.break_pending:
            self.break_pending = False
            if not starts_page:
                paragraph_property(p, "pageBreakBefore")
                starts_page = True
        elif level == 1 and self.summary and starts_page:
            paragraph_property(p, "pageBreakBefore").set(w("val"), "0")
            starts_page = False
        if self.space_before_next is not None:
            if not starts_page:  # a gap at the top of a page is no gap in the PDF either
                twips = Emu(Pt(self.space_before_next)).twips
                paragraph_property(p, "spacing").set(w("before"), str(twips))
            self.space_before_next = None
        return paragraph

    def page_break(self) -> None:
        """Start the next paragraph on a new page (once, whatever its style says)."""
        self.break_pending = True

    def finish(self, paragraph: Para) -> None:
        """Trim the paragraph's outer spaces; remove it when nothing is left."""
        paragraph.finish()

    def text_run(self, paragraph: Para, text: str, fmt: Format) -> None:
        text = SPACES.sub(" ", xml_clean(text))
        if not text:
            return
        if text[0] == " " and paragraph.ends_with_space():
            text = text[1:]
            if not text:
                return
        if fmt.link:
            self.hyperlink(paragraph, text, fmt)
            return
        r = SubElement(paragraph._p, W_R)
        if fmt.code or fmt.bold or fmt.italic or self.lang:  # a plain run has no w:rPr
            rpr = SubElement(r, W_RPR)
            if fmt.code:
                SubElement(rpr, W_RFONTS, {W_ASCII: "Courier New", W_HANSI: "Courier New"})
            if fmt.bold:
                SubElement(rpr, W_B)
            if fmt.italic:
                SubElement(rpr, W_I)
            if self.lang:
                SubElement(rpr, W_LANG, {W_VAL: self.lang})
        add_text(r, text)

    def hyperlink(self, paragraph: Para, text: str, fmt: Format) -> None:
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
            rid = self.doc.part.relate_to(target, RT.HYPERLINK, is_external=True)
            hyperlink(paragraph, text, rid=rid, **look)
        if self.lang:
            for run in paragraph._p[-1].iter(W_R):
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

    def inline(self, paragraph: Para, element: Any, fmt: Format) -> None:
        """Add the text and inline children of ``element`` to ``paragraph``."""
        if element.get("lang") is not None:
            with self.speaking(element):
                self._inline(paragraph, element, fmt)
        else:
            self._inline(paragraph, element, fmt)

    def _inline(self, paragraph: Para, element: Any, fmt: Format) -> None:
        if element.text:
            self.text_run(paragraph, element.text, fmt)
        for child in element:
            if isinstance(child.tag, str):
                self.inline_element(paragraph, child, fmt)
            if child.tail:
                self.text_run(paragraph, child.tail, fmt)

    def inline_element(self, paragraph: Para, child: Any, fmt: Format) -> None:
        if child.get("lang") is not None:
            with self.speaking(child):
                self._inline_element(paragraph, child, fmt)
        else:
            self._inline_element(paragraph, child, fmt)

    def _inline_element(self, paragraph: Para, child: Any, fmt: Format) -> None:
        tag = child.tag
        adds = INLINE_FORMAT.get(tag)
        if adds is not None:
            bold, italic, code = adds
            inner = Format(bold or fmt.bold, italic or fmt.italic, code or fmt.code, fmt.link)
            self.inline(paragraph, child, inner)
        elif tag in TRANSPARENT:
            self.inline(paragraph, child, fmt)
        elif tag == "br":
            paragraph.add_break()
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
        else:
            self.unknown(child)
            self.inline(paragraph, child, fmt)

    # ----- blocks -----------------------------------------------------------------

    def blocks(self, element: Any, style: str = "Normal", skip: Any = None) -> None:
        """Walk block-level children of ``element`` (but ``skip``); loose text becomes a paragraph."""
        pending: Para | None = None
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
                    pending.finish()
                    pending = None
                self.block(child, style)
            if child.tail and child.tail.strip():
                if pending is None:
                    pending = self.paragraph(style)
                self.text_run(pending, child.tail, Format())
        if pending is not None:
            pending.finish()

    def block(self, element: Any, style: str) -> None:
        if element.get("lang") is not None:
            with self.speaking(element):
                self._block(element, style)
        else:
            self._block(element, style)

    def _block(self, element: Any, style: str) -> None:
        """Write ``element`` with the handler the tables name (:data:`BY_CLASS`, :data:`BY_TAG`)."""
        tag = element.tag
        classes = (element.get("class") or "").split()
        for wanted, method in BY_CLASS.get(tag, ()):
            if wanted in classes:
                getattr(self, method)(element, classes, style)
                return
        method = BY_TAG.get(tag)
        if method is not None:
            getattr(self, method)(element, classes, style)
        elif tag in CONTAINERS:
            self.container_block(element, classes, style)
        else:
            self.unknown(element)
            self.blocks(element, style)

    # ----- the handlers: (element, its classes, the style of the enclosing block) ---------------

    def heading(self, element: Any, _classes: list[str], _style: str) -> None:
        paragraph = self.paragraph(f"Heading {HEADINGS[element.tag]}")
        ident = element.get("id")
        if ident:
            name = self.bookmark_name(ident)
            bookmark_start(paragraph, name)
        self.inline(paragraph, element, Format())
        if ident:
            bookmark_end(paragraph, name)
        paragraph.finish()

    def text_block(self, element: Any, classes: list[str], style: str) -> None:
        """``p``: a paragraph in the style of its class, else the enclosing block's."""
        name = next((PARAGRAPH_CLASSES[c] for c in classes if c in PARAGRAPH_CLASSES), style)
        paragraph = self.paragraph(name)
        self.inline(paragraph, element, Format())
        paragraph.finish()

    def list_block(self, element: Any, _classes: list[str], style: str) -> None:
        self.list(element, 0, style)

    def definitions_block(self, element: Any, classes: list[str], style: str) -> None:
        self.definitions(element, "Cover Meta" if "cover-meta" in classes else style)

    def quote(self, element: Any, _classes: list[str], _style: str) -> None:
        self.blocks(element, "Quote")

    def drawing(self, element: Any, _classes: list[str], _style: str) -> None:
        """A chart (native, with its data) or the at-a-glance diagram: :mod:`.chart`."""
        picture(self, element)

    def caption(self, element: Any, _classes: list[str], _style: str) -> None:
        paragraph = self.paragraph("Caption")
        self.inline(paragraph, element, Format())
        paragraph.finish()

    def page_break_block(self, _element: Any, _classes: list[str], _style: str) -> None:
        self.page_break()

    def container_block(self, element: Any, classes: list[str], style: str) -> None:
        """``section``, ``div``, ``aside``...: their blocks, in a callout's style inside one."""
        inner = next(
            (CONTAINER_STYLES[c] for c in ("callout-actions", "callout", "colophon") if c in classes),
            style,
        )
        if KEEP_TOGETHER.intersection(classes):
            self.keep_together(element, inner)
        elif self.summary and "lead-section" in classes:  # print.css hides its first paragraph
            self.blocks(element, inner, skip=next(iter(element.iterchildren("p")), None))
        else:
            self.blocks(element, inner)

    def cover(self, element: Any, _classes: list[str], _style: str) -> None:
        """The cover on a page of the brand colour, or the summary's band (:func:`.cover.cover`)."""
        cover(self, element)

    def toc(self, element: Any, _classes: list[str], _style: str) -> None:
        """The contents page: Word's TOC field, its result already filled (:mod:`.contents`)."""
        contents.toc(self, element)

    def figures(self, element: Any, _classes: list[str], _style: str) -> None:
        """The key figures as a grid (:func:`.cover.figures`)."""
        figures(self, element)

    def keep_together(self, element: Any, style: str) -> None:
        """Write a callout and keep its paragraphs on one page."""
        container = self.container
        before = len(container)
        self.blocks(element, style)
        added = [el for el in container[before:] if el.tag == W_P]
        for p in added[:-1]:
            paragraph_property(p, "keepNext")

    def bookmark_name(self, ident: str) -> str:
        if ident not in self.bookmarks:
            self.next_bookmark += 1
            self.bookmarks[ident] = f"_Toc{self.next_bookmark:08d}"
        return self.bookmarks[ident]
