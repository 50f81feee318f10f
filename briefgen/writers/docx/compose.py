"""Turn a parsed HTML brief into .docx bytes: the reference copied with its body emptied, walked
in, finished and packed.

The document starts as a copy of the cleaned reference .docx (its styles, numbering, page set-up,
headers and footers) with the body emptied, as pandoc's ``--reference-doc`` does, and is then
filled by :class:`~briefgen.writers.docx.walker.Walker`. The zip is packed with fixed timestamps
and a stable order, so the same input with ``SOURCE_DATE_EPOCH`` gives the same bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from docx.oxml.ns import qn

from ...render import template_dirs
from .document import (
    apply_theme,
    drop_unused,
    headers_and_footers,
    properties,
    set_language,
    update_fields_on_open,
)
from .fonts import prepare as prepare_fonts
from .oxml import Numbering
from .package import pack, parts_of
from .reference import open_reference, reference_source
from .sanitize import check_written
from .styles import suppress_hyphenation
from .walker import Page, Walker

if TYPE_CHECKING:
    from ...render import Rendered
    from ..base import WriteOptions


def compose(tree: Any, document: Rendered, options: WriteOptions, pages: dict[str, int] | None) -> bytes:
    """The Word brief of ``tree`` (``document`` parsed); ``pages`` fills the contents page's numbers
    (None: Word fills them in when the brief is opened)."""
    doc = open_reference(reference_source(options))
    if options.theme is not None:
        apply_theme(doc, options.theme)
    page = Page.of(doc.sections[0])
    body = doc.element.body
    section = body.find(qn("w:sectPr"))
    for child in list(body):  # the walker appends in document order; the section goes back last
        body.remove(child)
    drop_unused(doc)
    suppress_hyphenation(doc.styles)
    body_el = tree.find("body")
    walker = Walker(
        doc=doc,
        numbering=Numbering.install(doc),
        roots=template_dirs(options.templates),
        page=page,
        styles={s.name: s for s in doc.styles},
        pages=pages or {},
        summary="length-summary" in (body_el.get("class") or "").split() if body_el is not None else False,
        theme=options.theme,
        epoch=options.source_date_epoch,
    )
    for ident in (h.get("id") for h in tree.iter("h1", "h2", "h3")):
        if ident:
            walker.bookmark_name(ident)
    walker.blocks(body_el if body_el is not None else tree)
    if section is not None:
        body.append(section)
    label = tree.find(".//meta[@name='briefgen-page-label']")
    page_label = label.get("content", "") if label is not None else ""
    headers_and_footers(walker, _running_title(tree, document), options.theme, page_label)
    update_fields_on_open(doc, settled=pages is not None)
    set_language(doc, document.language)
    properties(doc, tree, document, options.source_date_epoch)
    fonts = prepare_fonts(doc, options.embed_fonts)
    parts = parts_of(doc)  # python-docx's members, not zipped and unzipped again
    fonts.embed(parts)
    check_written(parts)
    return pack(parts, options.source_date_epoch)


def _running_title(tree: Any, document: Rendered) -> str:
    kicker = tree.find(".//p[@class='cover-kicker']")
    return " ".join(kicker.text_content().split()) if kicker is not None else document.title
