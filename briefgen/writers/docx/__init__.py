"""Turn the HTML intermediate form into a Word document: the Word format's entry.

The only package that imports python-docx, and only when a Word brief is written: ``doctor``
asks :func:`checks` what this machine offers without importing it. Its modules, one job each:

* :mod:`.compose`: the whole conversion (reference copy, walk, finish, pack);
* :mod:`.walker`: the HTML-to-Word walker over the documented element set;
* :mod:`.styles`: which Word style each element and class takes, and fallbacks;
* :mod:`.oxml`: raw WordprocessingML python-docx lacks (numbering, fields, bookmarks, links);
* :mod:`.document`: document-level finishing (theme, header and footer, settings, properties);
* :mod:`.reference` and :mod:`.sanitize`: reading the reference .docx and making it safe;
* :mod:`.package`: reproducible zip packing and reading back;
* :mod:`.stamp`: the group writer of a batch (one placeholder brief per group, stamped);
* :mod:`.office`: LibreOffice's layout, for the real page numbers of the contents page.
"""

from __future__ import annotations

import importlib.metadata
from typing import TYPE_CHECKING

from ..base import Check, GroupWriter, Render, WriteOptions

if TYPE_CHECKING:
    from ...render import Rendered


def load() -> None:
    """Import python-docx now (a broken installation fails here, before any work; forked batch
    workers inherit it instead of each importing it again)."""
    from . import compose  # noqa: F401


def write(document: Rendered, options: WriteOptions) -> bytes:
    """Fill a copy of the reference document from ``document``; return .docx bytes.

    With ``docx_pages="libreoffice"``, LibreOffice lays the file out once and the
    contents page is written again with the real page numbers.
    """
    import lxml.html

    from ...safe import xml_clean
    from .compose import compose

    tree = lxml.html.document_fromstring(xml_clean(document.html))
    data = compose(tree, document, options, pages={})
    if options.docx_pages == "libreoffice":
        from .office import page_numbers

        headings = [
            (h.get("id"), " ".join(h.text_content().split())) for h in tree.iter("h1", "h2") if h.get("id")
        ]
        pages = page_numbers(data, headings)
        if pages:
            data = compose(tree, document, options, pages=pages)
    return data


def for_group(options: WriteOptions, render: Render) -> GroupWriter:
    """The Word briefs of one batch group, stamped from one placeholder brief (:mod:`.stamp`)."""
    from .stamp import Stamps

    return Stamps(options, render, write)


def checks() -> list[Check]:
    """python-docx and LibreOffice, as ``briefgen doctor`` reports them."""
    from .office import libreoffice

    try:
        version: str | None = importlib.metadata.version("python-docx")
    except importlib.metadata.PackageNotFoundError:
        version = None
    office = libreoffice()
    return [
        Check("python-docx", "ok" if version else "fail", version or "missing: Word output is unavailable"),
        Check(
            "libreoffice",
            "ok" if office else "warn",
            f"found at {office}: --docx-refresh can fill in page numbers"
            if office
            else "not found: --docx-refresh is unavailable (Word still fills the contents on open)",
        ),
    ]
