"""Turn the HTML intermediate form into a tagged PDF with WeasyPrint: prepare, lay out, finish.

Work that is the same for every document (font configuration, parsing the stylesheets, reading
the shipped fonts' character maps) is done once per process and cached. Text is set in the
shipped fonts only: :class:`ShippedFonts` gives WeasyPrint (Pango, fontconfig) a font
configuration that holds none of the machine's fonts, and a character no shipped font has is
named in one warning and drawn as "Brief Fallback"'s empty box. Resources are fetched
through :class:`SafeFetcher`: ``data:`` URLs and regular files inside the template folders
only; everything else is refused with a warning naming the URL, and attachments are removed
before rendering.
"""

from __future__ import annotations

import array
import functools
import hashlib
import io
import logging
import struct
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from ... import resources
from ...clock import moment
from ...errors import UsageError
from ...i18n import page_label_parts
from ...log import route, warn
from ...render import template_dirs
from ...safe import css_string
from . import pydyf_once
from .typst_markup import where

if TYPE_CHECKING:
    from ..base import WriteOptions

route("weasyprint")
pydyf_once.install()

STYLESHEETS = ("css/fonts.css", "css/brief.css", "css/print.css")
PAGE_SIZES = {"a4": "A4", "letter": "letter"}
VARIANTS = ("pdf/ua-1", "pdf/a-3b")


class SafeFetcher(URLFetcher):
    """Fetch ``data:`` URLs and regular files inside ``roots``; refuse everything else."""

    def __init__(self, roots: tuple[Path, ...]) -> None:
        super().__init__(allowed_protocols=("data", "file"), allow_redirects=False)
        self.roots = roots

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        found = resources.fetch(url, self.roots)
        if found is None:
            raise ValueError(f"refused: {resources.shown(url)}")
        data, mime = found
        return URLFetcherResponse(url, data, {"Content-Type": mime})


#: The family that draws what the text faces lack, and the box of what no shipped font has.
FALLBACK_FAMILY = "Brief Fallback"
#: Rules of the PDF writer's fontconfig configuration: a family that no @font-face declares (a
#: generic name such as ``monospace`` from WeasyPrint's own stylesheet, a typo in a theme) ends
#: in Brief Sans, and every family list ends in Brief Fallback.
FONTCONFIG_RULES = b"""<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
  <match target="pattern">
    <edit name="family" mode="append_last"><string>Brief Sans</string><string>Brief Fallback</string></edit>
  </match>
</fontconfig>
"""


class ShippedFonts(FontConfiguration):
    """WeasyPrint's font configuration without the machine's fonts.

    WeasyPrint lays out text with Pango, which asks fontconfig for the fonts of a family list and,
    for a character none of them has, for any font that has it: on a stock configuration, any
    font installed on the machine (DejaVu, Noto CJK...). Here Pango's font map gets a fontconfig
    configuration created empty (no font folders, no system rules), so the only fonts it can
    choose are the ones ``@font-face`` rules add (WeasyPrint adds them as application fonts of
    this configuration): the shipped fonts, and fonts a template folder brings.
    """

    def __init__(self) -> None:
        super().__init__()
        from weasyprint.text.ffi import ffi, fontconfig, pangoft2

        try:
            create = fontconfig.FcConfigCreate
        except AttributeError:  # WeasyPrint declares only the fontconfig functions it calls
            ffi.cdef("FcConfig * FcConfigCreate (void);")
            create = fontconfig.FcConfigCreate
        config = create()
        fontconfig.FcConfigParseAndLoadFromMemory(config, FONTCONFIG_RULES, True)
        pangoft2.pango_fc_font_map_set_config(ffi.cast("PangoFcFontMap *", self.font_map), config)
        fontconfig.FcConfigDestroy(config)  # the font map holds its own reference
        self._config = config


@functools.lru_cache(maxsize=1)
def font_config() -> FontConfiguration:
    """One font configuration per process: @font-face rules are loaded once."""
    return ShippedFonts()


#: Every character :func:`report_missing_glyphs` has named in this process.
_NAMED: set[str] = set()


class _OneNotdefWarning(logging.Filter):
    """Drop WeasyPrint's warning per .notdef glyph drawn for a character
    :func:`report_missing_glyphs` has already named (WeasyPrint warns at every occurrence)."""

    def filter(self, record: logging.LogRecord) -> bool:
        named = str(record.msg).startswith(".notdef glyph rendered") and bool(record.args)
        return not (named and isinstance(record.args, tuple) and record.args[0] in _NAMED)


logging.getLogger("weasyprint").addFilter(_OneNotdefWarning())


@functools.lru_cache(maxsize=16)
def stylesheets(search_path: tuple[Path, ...], page_size: str) -> tuple[Any, ...]:
    """Parse the print stylesheets once per template search path and page size."""
    fetcher = SafeFetcher(search_path)
    sheets = []
    for name in STYLESHEETS:
        path = resources.find(search_path, name)
        text = resources.read_text(path, search_path) if path is not None else None
        if path is not None and text is not None:
            sheets.append(
                CSS(
                    string=text,
                    base_url=path.as_uri(),
                    url_fetcher=fetcher,
                    font_config=font_config(),
                )
            )
    size = PAGE_SIZES[page_size]
    sheets.append(CSS(string=f"@page {{ size: {size}; }}", url_fetcher=fetcher, font_config=font_config()))
    return tuple(sheets)


@functools.lru_cache(maxsize=8)
def theme_sheet(css: str, search_path: tuple[Path, ...]) -> Any:
    """Parse a theme's CSS once per process, fetching through the same :class:`SafeFetcher`."""
    return CSS(string=css, url_fetcher=SafeFetcher(search_path), font_config=font_config())


@functools.lru_cache(maxsize=16)
def covered_characters(search_path: tuple[Path, ...]) -> frozenset[int]:
    """Every code point that some shipped font in the search path can draw.

    Reading the fonts' character maps costs a cold start about a tenth of a second, so the
    answer is kept in the user's cache (:mod:`briefgen.usercache`) under a hash of the fonts'
    bytes, unless a font could not be read (then its warning must show on every run)."""
    from ... import opener, usercache

    fonts: list[tuple[Path, bytes]] = []
    refused = False
    for folder in search_path:
        for font_path in sorted((folder / "fonts").glob("*.[ot]tf")):
            # A planted link, FIFO or device is never opened, a huge file never read, a broken font
            # never fatal: the font simply draws nothing here (and WeasyPrint refuses it the same way).
            try:
                fonts.append(
                    (font_path, opener.read(font_path, resources.MAX_RESOURCE_BYTES, "font", search_path))
                )
            except opener.InputRefused as exc:
                warn("%s; not read", exc.message)
                refused = True
    digest = hashlib.sha256(b"character maps 1")
    for _, data in fonts:
        digest.update(hashlib.sha256(data).digest())
    where, name = usercache.folder("fonts"), f"cmap-{digest.hexdigest()}.bin"
    kept = usercache.read(where, name) if where is not None else None
    if kept is not None and len(kept) % 4 == 0:
        return frozenset(array.array("I", kept))
    points, complete = _character_maps(fonts)
    if where is not None and complete and not refused and array.array("I").itemsize == 4:
        usercache.write(where, name, array.array("I", sorted(points)).tobytes())
    return frozenset(points)


def _character_maps(fonts: list[tuple[Path, bytes]]) -> tuple[set[int], bool]:
    """The code points of the fonts' character maps, and whether every font could be read."""
    from fontTools.ttLib import TTFont, TTLibError

    points: set[int] = set()
    complete = True
    for font_path, data in fonts:
        try:
            with TTFont(io.BytesIO(data), lazy=True) as font:
                points.update(font.getBestCmap() or {})
        except (TTLibError, OSError, ValueError, KeyError, AssertionError, struct.error) as exc:
            warn("font %s cannot be read (%s); not used", font_path, exc)
            complete = False
    return points, complete


#: How many characters without a font the warning names (it counts the rest).
NAMED_MISSING = 12
#: Elements whose text is not drawn, or whose markup must stay as it is.
UNDRAWN = ("style", "script", "head", "title")


def report_missing_glyphs(tree: Any, covered: frozenset[int]) -> None:
    """Warn once about the characters no shipped font has, naming each and where it first occurs,
    and wrap every run of them in a span set in :data:`FALLBACK_FAMILY`, so each is drawn as that
    font's .notdef box (a shipped font) and kept in the PDF's text."""
    if not covered:
        return
    found: dict[str, str] = {}
    for element in list(tree.iter()):
        if not isinstance(element.tag, str) or element.tag in UNDRAWN:
            continue
        for holder, attribute in ((element, "text"), (element.getparent(), "tail")):
            text = getattr(element, attribute)
            if not text or holder is None:
                continue
            missing = {char for char in set(text) if _missing(char, covered)}
            if not missing:
                continue
            for char in sorted(missing, key=text.index):
                found.setdefault(char, where(holder))
            _wrap(element, attribute, missing)
    _NAMED.update(found)
    if found:
        named = [
            f"{char} (U+{ord(char):04X} {unicodedata.name(char, 'unnamed')}) in {where}"
            for char, where in list(found.items())[:NAMED_MISSING]
        ]
        more = f" and {len(found) - NAMED_MISSING} more" if len(found) > NAMED_MISSING else ""
        warn("no shipped font has %s%s; drawn as empty boxes", ", ".join(named), more)


def _missing(char: str, covered: frozenset[int]) -> bool:
    """Whether ``char`` is drawn but no shipped font has it (spaces and controls draw nothing)."""
    return not (ord(char) in covered or char.isspace() or unicodedata.category(char) in ("Cc", "Cf"))


def _wrap(element: Any, attribute: str, missing: set[str]) -> None:
    """Move each run of ``missing`` characters of ``element``'s text or tail into a span set in
    :data:`FALLBACK_FAMILY`."""
    import lxml.html

    text = getattr(element, attribute)
    pieces: list[tuple[bool, str]] = []
    for char in text:
        lacking = char in missing
        if pieces and pieces[-1][0] == lacking:
            pieces[-1] = (lacking, pieces[-1][1] + char)
        else:
            pieces.append((lacking, char))
    lead = pieces[0][1] if not pieces[0][0] else ""
    setattr(element, attribute, lead)
    spans = []
    for lacking, run in pieces[1 if lead else 0 :]:
        if lacking:
            span = lxml.html.Element("span", style=f"font-family: '{FALLBACK_FAMILY}'")
            span.text = run
            spans.append(span)
        else:
            spans[-1].tail = run
    if attribute == "text":
        for index, span in enumerate(spans):
            element.insert(index, span)
    else:
        parent, at = element.getparent(), element.getparent().index(element)
        for offset, span in enumerate(spans, start=1):
            parent.insert(at + offset, span)


def report_images_without_alt(tree: Any) -> None:
    """Warn about every image a screen reader could not describe."""
    for image in tree.iter("img"):
        if not (image.get("alt") or "").strip():
            warn("image %s has no alternative text", resources.shown(image.get("src") or "(no src)"))


def remove_attachments(tree: Any) -> None:
    """Drop ``rel=attachment`` links so nothing is embedded in the PDF."""
    for element in list(tree.iter("link", "a")):
        rels = (element.get("rel") or "").lower().split()
        if "attachment" not in rels:
            continue
        warn("refused attachment %s: briefs embed no files", element.get("href", "(no href)"))
        if element.tag == "link":
            element.getparent().remove(element)
        else:
            del element.attrib["rel"]


def drop_spaces_between_definitions(tree: Any) -> None:
    """Drop the white space between the terms and descriptions of definition lists, so a list laid
    out inline (the summary's cover details) tags no text directly under its ``L`` element: PDF/UA-1
    allows only list items there. Between block or floated items the space is not drawn anyway; a
    stylesheet that sets ``dt`` and ``dd`` inline spaces them itself (``print.css`` does)."""
    for element in tree.iter("dl"):
        if element.text is not None and not element.text.strip():
            element.text = None
        for child in element:
            if child.tag in ("dt", "dd") and child.tail is not None and not child.tail.strip():
                child.tail = None


def timestamp(epoch: int | None) -> str:
    """ISO date for the PDF's creation and modification dates."""
    return moment(epoch).replace(microsecond=0).isoformat()


def check(options: WriteOptions) -> None:
    """Refuse a page size or PDF variant this writer does not know."""
    if options.page_size not in PAGE_SIZES:
        raise UsageError(f"--page-size: choose from {', '.join(PAGE_SIZES)}")
    if options.pdf_variant is not None and options.pdf_variant not in VARIANTS:
        raise UsageError(f"--pdf-variant: choose from {', '.join(VARIANTS)}")


def prepare(html: str, search_path: tuple[Path, ...]) -> Any:
    """Parse ``html``, strip attachments and report what a PDF reader would miss."""
    import lxml.html

    tree = lxml.html.document_fromstring(html)
    remove_attachments(tree)
    drop_spaces_between_definitions(tree)
    report_images_without_alt(tree)
    report_missing_glyphs(
        tree.body if tree.find("body") is not None else tree, covered_characters(search_path)
    )
    return tree


def labels_sheet(tree: Any) -> Any:
    """The page furniture's words in the brief's language ("Page 2 sur 18", the contents page's running
    head), from the document's ``briefgen-page-label`` and ``briefgen-contents-label`` meta elements.

    It comes first, so the print stylesheets and the theme (later, in the same origin) can still
    restyle or replace it; the cover's empty margin boxes stay empty.
    """
    rules = []
    label = tree.find(".//meta[@name='briefgen-page-label']")
    if label is not None and label.get("content"):
        counters = {"\0page": "counter(page)", "\0pages": "counter(pages)"}
        pieces = [counters.get(part) or css_string(part) for part in page_label_parts(label.get("content"))]
        rules.append(f"@page {{ @bottom-right {{ content: {' '.join(pieces)}; }} }}")
    contents = tree.find(".//meta[@name='briefgen-contents-label']")
    if contents is not None and contents.get("content"):
        rules.append(f"@page contents {{ @top-right {{ content: {css_string(contents.get('content'))}; }} }}")
    return CSS(string="\n".join(rules)) if rules else None


@functools.lru_cache(maxsize=1)
def pdfa_sheet() -> Any:
    """Images without ``/Interpolate true``, which PDF/A forbids (WeasyPrint sets it for
    ``image-rendering: auto``): the theme's logo keeps its pixels, the viewer scales them."""
    return CSS(string="*, *::before, *::after { image-rendering: crisp-edges !important; }")


def layout(tree: Any, options: WriteOptions) -> Any:
    """Lay out a prepared HTML tree into a WeasyPrint document (pages with tags and bookmarks)."""
    import lxml.html

    search_path = template_dirs(options.templates)
    labels = labels_sheet(tree)
    html = lxml.html.tostring(tree, encoding="unicode", method="html")
    fetcher = SafeFetcher(search_path)
    return HTML(string=html, base_url=search_path[-1].as_uri() + "/", url_fetcher=fetcher).render(
        stylesheets=[
            *([labels] if labels is not None else []),
            *stylesheets(search_path, options.page_size),
            *([theme_sheet(options.theme.css(), search_path)] if options.theme is not None else []),
            *([pdfa_sheet()] if (options.pdf_variant or "").startswith("pdf/a") else []),
        ],
        font_config=font_config(),
        pdf_tags=True,
    )


def finish(rendered: Any, html: str, options: WriteOptions) -> bytes:
    """Write a laid-out document as tagged PDF bytes with reproducible metadata."""
    stamp = timestamp(options.source_date_epoch)
    rendered.metadata.created = stamp
    rendered.metadata.modified = stamp
    rendered.metadata.generator = "briefgen"
    rendered.metadata.attachments = []
    identifier = hashlib.sha256(html.encode("utf-8")).hexdigest()[:32].encode()
    return rendered.write_pdf(
        pdf_variant=options.pdf_variant,
        pdf_tags=True,
        pdf_identifier=identifier,
        attachments=[],
    )
