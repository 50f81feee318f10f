"""Turn the HTML intermediate form into a tagged PDF: the PDF format's entry.

The only package that imports WeasyPrint and pikepdf, and only when a PDF is written, checked or
``doctor`` asks :func:`checks` what this machine offers. Its modules, one job each:

* :mod:`.engine`: WeasyPrint: the safe fetcher, stylesheets, prepare, lay out, finish;
* :mod:`.covers`: the group writer of a batch (one laid-out body, a cover per stakeholder);
* :mod:`.join`: joining a cover PDF to a body PDF with pikepdf, structure tree kept whole;
* :mod:`.pydyf_once`: pydyf serialising each object once per write (same bytes);
* :mod:`.check`: PDF/UA-1 and PDF/A validation (page-validation) in plain words, for any PDF.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..base import Check, GroupWriter, Render, Status, WriteOptions

if TYPE_CHECKING:
    from ...render import Rendered


def load() -> None:
    """Import WeasyPrint now (a broken installation fails here, before any work; forked batch
    workers inherit it instead of each importing it again)."""
    from . import engine  # noqa: F401


def write(document: Rendered, options: WriteOptions) -> bytes:
    """Lay out ``document`` with the print CSS and return PDF bytes."""
    from ...render import template_dirs
    from .engine import check, finish, layout, prepare

    check(options)
    tree = prepare(document.html, template_dirs(options.templates))
    return finish(layout(tree, options), document.html, options)


def for_group(options: WriteOptions, render: Render) -> GroupWriter:
    """The PDFs of one batch group, sharing one laid-out body (:class:`.covers.CoverSwap`)."""
    from .covers import CoverSwap

    return CoverSwap(options)


def checks() -> list[Check]:
    """WeasyPrint, Pango, the HarfBuzz subsetter and the shipped fonts, for ``briefgen doctor``."""
    try:
        import weasyprint
        from weasyprint.text.ffi import harfbuzz, harfbuzz_subset, pango
    except (ImportError, OSError) as exc:
        return [Check("weasyprint", "fail", f"cannot load ({exc}); PDF output is unavailable"), _fonts()]
    found = [Check("weasyprint", "ok", weasyprint.__version__)]
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


def _fonts() -> Check:
    """The shipped fonts every PDF is set in (the output never depends on the machine's fonts)."""
    from ...paths import builtin_templates

    fonts = sorted((builtin_templates() / "fonts").glob("*.ttf"))
    return Check(
        "shipped fonts", "ok" if len(fonts) >= 8 else "fail", f"{len(fonts)} font files in templates/fonts"
    )
