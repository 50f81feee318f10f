"""Turn the HTML intermediate form into a tagged PDF: the PDF format's entry.

The only package that imports Typst, WeasyPrint and pikepdf, and only when a PDF is written,
checked or ``doctor`` asks :func:`checks` what this machine offers. Two engines make the same brief
(:func:`engine_for` picks one): Typst (fast; the design is ``templates/typst/brief.typ``) and
WeasyPrint (the design is the print CSS). Its modules, one job each:

* :mod:`.typst_markup`: the HTML intermediate form as Typst markup calling the template;
* :mod:`.typst_engine`: Typst: compile with the shipped fonts, a user template apart and bounded;
* :mod:`.typst_child`: the child process that compiles a user's Typst template;
* :mod:`.engine`: WeasyPrint: the safe fetcher, stylesheets, prepare, lay out, finish;
* :mod:`.covers`: the group writer of a batch (one laid-out body, a cover per stakeholder);
* :mod:`.join`: joining a cover PDF to a body PDF with pikepdf, structure tree kept whole;
* :mod:`.pydyf_once`: pydyf serialising each object once per write (same bytes);
* :mod:`.check`: PDF/UA-1 and PDF/A validation (page-validation) in plain words, for any PDF.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import UsageError
from ..base import Check, GroupWriter, Render, Status, WriteOptions, Written

if TYPE_CHECKING:
    from ...render import Rendered
    from ...stakeholders import Stakeholder


ENGINES = ("auto", "typst", "weasyprint")
#: The stylesheets that make a template folder a WeasyPrint design (``auto`` then picks WeasyPrint).
STYLESHEETS = ("css/print.css", "css/brief.css", "css/fonts.css")


def engine_for(options: WriteOptions) -> tuple[str, str | None]:
    """The engine that writes PDFs for ``options`` and, when ``auto`` chose WeasyPrint, why.

    ``--pdf-engine`` (or ``briefgen.toml``) wins, then the theme's ``pdf_engine``; ``auto`` is
    Typst unless a template folder brings its own stylesheet (one that differs from the built-in
    file: an ejected, unedited copy does not count), which only WeasyPrint honours; a folder that
    brings a Typst template of its own keeps Typst."""
    chosen = options.pdf_engine
    if chosen == "auto" and options.theme is not None and getattr(options.theme, "pdf_engine", None):
        chosen = options.theme.pdf_engine
    if chosen not in ENGINES:
        raise UsageError(f"--pdf-engine: choose from {', '.join(ENGINES)}")
    if chosen != "auto":
        return chosen, None
    from ...paths import builtin_templates

    builtin = builtin_templates()
    for folder in options.templates:
        if (folder / "typst" / "brief.typ").is_file():
            return "typst", None
        for name in STYLESHEETS:
            if _differs(folder / name, builtin / name):
                return "weasyprint", (
                    f"PDF engine: WeasyPrint, because {folder / name} restyles the PDF "
                    "(a stylesheet only WeasyPrint reads; --pdf-engine typst overrides)"
                )
    return "typst", None


def _differs(path: Path, builtin: Path) -> bool:
    """Whether ``path`` is a stylesheet of the folder's own (not a copy of the built-in one); a link,
    FIFO or device in its place counts too, so WeasyPrint reads the folder and refuses it aloud."""
    import os

    from ... import opener

    if not os.path.lexists(path):
        return False
    if not opener.is_plain_file(path, path.parent):
        return True
    try:
        return path.stat().st_size != builtin.stat().st_size or path.read_bytes() != builtin.read_bytes()
    except OSError:
        return False


def load() -> None:
    """Nothing: each engine's library is imported where it is used (the Typst path never imports
    WeasyPrint); :func:`prepare` imports the chosen one before any work."""


def prepare(options: WriteOptions) -> list[str]:
    """Before any work: pick the engine, import its library (forked batch workers inherit it) and
    return the one line that says why ``auto`` chose WeasyPrint, if it did."""
    engine, why = engine_for(options)
    if engine == "typst":
        from . import typst_engine

        typst_engine.check(options)
        typst_engine.compiler()
    else:
        from . import engine as weasyprint_engine

        weasyprint_engine.check(options)
    return [why] if why else []


def write(document: Rendered, options: WriteOptions) -> bytes:
    """Make ``document``'s PDF with the engine :func:`engine_for` picks."""
    if engine_for(options)[0] == "typst":
        from . import typst_engine

        return typst_engine.write(document, options)
    from ...render import template_dirs
    from .engine import check, finish, layout, prepare

    check(options)
    tree = prepare(document.html, template_dirs(options.templates))
    return finish(layout(tree, options), document.html, options)


def for_group(options: WriteOptions, render: Render) -> GroupWriter:
    """The PDFs of one batch group: with Typst each one built whole (a fresh, tagged compile is
    faster than WeasyPrint's cover swap); with WeasyPrint, one laid-out body shared
    (:class:`.covers.CoverSwap`)."""
    if engine_for(options)[0] == "typst":
        return Whole(options)
    from .covers import CoverSwap

    return CoverSwap(options)


class Whole:
    """The Typst engine's group writer: every stakeholder's PDF compiled whole (no cover swap)."""

    def __init__(self, options: WriteOptions) -> None:
        self.options = options

    def write(self, document: Rendered, reader: Stakeholder, shared: bool) -> Written:
        data = write(document, self.options)
        found = PAGE_COUNT.search(data)
        return Written(data, pages=int(found.group(1)) if found else None)


#: The page count in the page tree's root (Typst writes it first, uncompressed).
PAGE_COUNT = re.compile(rb"/Type\s*/Pages\s*/Count\s+(\d+)")


def checks() -> list[Check]:
    """WeasyPrint, Pango, the HarfBuzz subsetter and the shipped fonts, for ``briefgen doctor``."""
    try:
        import weasyprint
        from weasyprint.text.ffi import harfbuzz, harfbuzz_subset, pango
    except (ImportError, OSError) as exc:
        return [Check("weasyprint", "fail", f"cannot load ({exc}); PDF output is unavailable"), _fonts()]
    found = [_typst(), Check("weasyprint", "ok", weasyprint.__version__)]
    pango_version = pango.pango_version()
    major, minor = pango_version // 10000, pango_version // 100 % 100
    status: Status = "ok" if (major, minor) >= (1, 44) else "fail"
    found.append(Check("pango", status, f"{major}.{minor}.{pango_version % 100}"))
    fast = bool(harfbuzz_subset) and bool(harfbuzz.hb_version_atleast(4, 1, 0))
    found.append(
        Check(
            "harfbuzz subsetter",
            "ok" if fast else "warn",
            "found: fonts are subset by HarfBuzz (fast)"
            if fast
            else "missing: fonts are subset with fontTools, several times slower "
            "(install the Debian package libharfbuzz-subset0; scripts/setup.sh does)",
        )
    )
    return [*found, _fonts()]


def _typst() -> Check:
    """The Typst engine (the default PDF engine)."""
    try:
        import typst
    except ImportError as exc:
        return Check("typst", "fail", f"cannot load ({exc}); PDFs need --pdf-engine weasyprint")
    return Check("typst", "ok", typst.__version__)


def _fonts() -> Check:
    """The shipped fonts every PDF is set in (the output never depends on the machine's fonts)."""
    from ...paths import builtin_templates

    fonts = sorted((builtin_templates() / "fonts").glob("*.ttf"))
    return Check(
        "shipped fonts", "ok" if len(fonts) >= 8 else "fail", f"{len(fonts)} font files in templates/fonts"
    )
