"""Turn the HTML intermediate form into a Word document: the Word format's entry.

The only package that imports python-docx, and only when a Word brief is written: ``doctor``
asks :func:`checks` what this machine offers without importing it. Its modules, one job each:

* :mod:`.compose`: the whole conversion (reference copy, walk, finish, pack);
* :mod:`.walker`: the HTML-to-Word walker over the documented element set;
* :mod:`.wml`: paragraphs and runs built with lxml, appended in document order;
* :mod:`.styles`: which Word style each element and class takes, and fallbacks;
* :mod:`.oxml`: raw WordprocessingML python-docx lacks (numbering, fields, bookmarks, links);
* :mod:`.document`: document-level finishing (theme, header and footer, settings, properties);
* :mod:`.reference` and :mod:`.sanitize`: reading the reference .docx and making it safe;
* :mod:`.package`: reproducible zip packing and reading back;
* :mod:`.stamp`: the group writer of a batch (one placeholder brief per group, stamped);
* :mod:`.libreoffice` (and :mod:`.unohelper`, the UNO client it runs): one LibreOffice kept for a
  build or batch worker, whose layout gives the contents page its page numbers;
* :mod:`.office`: LibreOffice's PDF of a .docx, as the tests and the benchmark look at it.

Who fills in the contents page's numbers (``WriteOptions.docx_pages``): ``libreoffice`` lays
every brief out with LibreOffice and writes the numbers in, so the file asks Word for nothing on
open (no ``w:updateFields``, no ``w:dirty``); ``word`` leaves them to Word, which refreshes the
fields when the brief is opened; ``auto`` (the default) is ``libreoffice`` when it is installed,
else ``word``.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ...errors import UsageError
from ..base import Check, GroupWriter, Render, WriteOptions

if TYPE_CHECKING:
    from ...render import Rendered
    from .libreoffice import Layout

PAGEREF = re.compile(rb"PAGEREF (_Toc[0-9]+)")
ROUNDS = 3  # layouts of the numbered brief before giving up (a number that wraps its line may move pages)


def load() -> None:
    """Import python-docx now (a broken installation fails here, before any work; forked batch
    workers inherit it instead of each importing it again)."""
    from . import compose  # noqa: F401


def _by_libreoffice(options: WriteOptions) -> bool:
    return options.docx_pages in ("auto", "libreoffice")


def prepare(options: WriteOptions) -> list[str]:
    """Before any work: with ``--docx-pages libreoffice`` and no LibreOffice, a usage error; with
    ``auto`` and none, the one line that says what installing it would give."""
    if not _by_libreoffice(options):
        return []
    from .libreoffice import INSTALL, find

    installation, why = find()
    if installation is not None:
        return []
    if options.docx_pages == "libreoffice":
        raise UsageError(f"--docx-pages libreoffice: {why}; install {INSTALL}, or use --docx-pages word")
    return [
        f"note: {why}: Word briefs ask Word to fill in their contents page numbers when opened; "
        f"with {INSTALL} installed they carry them, and open without a prompt"
    ]


@contextlib.contextmanager
def session(options: WriteOptions) -> Iterator[None]:
    """One LibreOffice for the block (a build, a batch worker's life), when this format uses it."""
    if not _by_libreoffice(options):
        yield
        return
    from .libreoffice import session as kept

    with kept():
        yield


def write(document: Rendered, options: WriteOptions) -> bytes:
    """Fill a copy of the reference document from ``document``; return .docx bytes.

    With LibreOffice (``docx_pages`` ``auto`` or ``libreoffice``), LibreOffice lays the file out
    once and the contents page is written again with its page numbers.
    """
    return written(document, options)[0]


def written(document: Rendered, options: WriteOptions, keep: bool = False) -> tuple[bytes, Layout | None]:
    """The .docx bytes of ``document`` and LibreOffice's layout of them (None when Word fills in
    the numbers); with ``keep``, LibreOffice keeps the document open (:mod:`.stamp` asks it more)."""
    import lxml.html

    from ...safe import xml_clean
    from .compose import compose

    tree = lxml.html.document_fromstring(xml_clean(document.html))
    if not _by_libreoffice(options):
        return compose(tree, document, options, pages=None), None
    from ...log import collect, warn
    from . import libreoffice

    if libreoffice.office() is None:
        if options.docx_pages == "libreoffice":
            warn(
                "--docx-pages libreoffice: %s; Word fills in the page numbers on open", libreoffice.find()[1]
            )
        return compose(tree, document, options, pages=None), None
    entries = _entries(tree)
    if not entries:  # no contents page: nothing to number, nothing for Word to refresh
        return compose(tree, document, options, pages={}), None
    draft = compose(tree, document, options, pages=None)
    marks = [m.decode() for m in PAGEREF.findall(_document_xml(draft))]
    if len(marks) != len(entries):
        warn(
            "Word contents: %d entries but %d page fields; Word fills in the page numbers",
            len(entries),
            len(marks),
        )
        return draft, None
    layout = libreoffice.lay_out(draft, marks)
    for _round in range(ROUNDS):
        if layout is None:
            return draft, None
        if any(mark not in layout.pages for mark in marks):
            warn("Word contents: LibreOffice's layout lacks some headings; Word fills in the page numbers")
            libreoffice.release(layout)
            return draft, None
        shown = layout.pages
        with collect(exclusive=True):  # the draft's warnings, again: said once already
            data = compose(
                tree, document, options, pages={i: shown[m] for m, (i, _) in zip(marks, entries, strict=True)}
            )
        layout = libreoffice.lay_out(data, marks, keep)  # the file as it is written: still the same pages?
        if layout is not None and all(layout.pages.get(m) == shown[m] for m in marks):
            return data, layout
        if layout is not None:
            libreoffice.release(layout)
    warn("Word contents: the page numbers did not settle in LibreOffice's layout; Word fills them in on open")
    return draft, None


def _entries(tree: Any) -> list[tuple[str, str]]:
    """The contents page's entries, as the walker writes them: (heading id, text)."""
    return [
        (a.get("href", "")[1:], " ".join(a.text_content().split()))
        for nav in tree.iter("nav")
        if "toc" in (nav.get("class") or "").split()
        for li in nav.iter("li")
        for a in li.findall("a")
    ]


def _document_xml(data: bytes) -> bytes:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("word/document.xml")


def for_group(options: WriteOptions, render: Render) -> GroupWriter:
    """The Word briefs of one batch group, stamped from one placeholder brief (:mod:`.stamp`)."""
    from .stamp import Stamps

    return Stamps(options, render, written)


def checks() -> list[Check]:
    """python-docx and LibreOffice, as ``briefgen doctor`` reports them."""
    from .libreoffice import INSTALL, find

    try:
        version: str | None = importlib.metadata.version("python-docx")
    except importlib.metadata.PackageNotFoundError:
        version = None
    installation, why = find()
    return [
        Check("python-docx", "ok" if version else "fail", version or "missing: Word output is unavailable"),
        Check(
            "libreoffice",
            "ok" if installation else "warn",
            f"found ({why}): Word briefs carry their contents page numbers and open without a prompt"
            if installation
            else f"{why}: Word briefs ask Word to fill in their contents page numbers when opened; "
            f"install {INSTALL} and they carry them, and open without a prompt",
        ),
    ]
