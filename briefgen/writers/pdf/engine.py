"""Turn the HTML intermediate form into a tagged PDF with WeasyPrint: prepare, lay out, finish.

Work that is the same for every document (font configuration, parsing the stylesheets, reading
the shipped fonts' character maps) is done once per process and cached. Resources are fetched
through :class:`SafeFetcher`: ``data:`` URLs and regular files inside the template folders
only; everything else is refused with a warning naming the URL, and attachments are removed
before rendering.
"""

from __future__ import annotations

import functools
import hashlib
import io
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
from ...log import route, warn
from ...render import template_dirs

if TYPE_CHECKING:
    from ..base import WriteOptions

route("weasyprint")

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


@functools.lru_cache(maxsize=1)
def font_config() -> FontConfiguration:
    """One font configuration per process: @font-face rules are loaded once."""
    return FontConfiguration()


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
    """Every code point that some shipped font in the search path can draw."""
    from fontTools.ttLib import TTFont, TTLibError

    from ... import opener

    points: set[int] = set()
    for folder in search_path:
        for font_path in sorted((folder / "fonts").glob("*.[ot]tf")):
            # A planted link, FIFO or device is never opened, a huge file never read, a broken font
            # never fatal: the font simply draws nothing here (and WeasyPrint refuses it the same way).
            try:
                data = opener.read(font_path, resources.MAX_RESOURCE_BYTES, "font", search_path)
                with TTFont(io.BytesIO(data), lazy=True) as font:
                    points.update(font.getBestCmap() or {})
            except opener.InputRefused as exc:
                warn("%s; not read", exc.message)
            except (TTLibError, OSError, ValueError, KeyError, AssertionError, struct.error) as exc:
                warn("font %s cannot be read (%s); not used", font_path, exc)
    return frozenset(points)


def report_missing_glyphs(tree: Any, covered: frozenset[int]) -> None:
    """Warn once per character that no shipped font has, naming where it occurs."""
    if not covered:
        return
    seen: set[str] = set()
    for element in tree.iter():
        if not isinstance(element.tag, str) or element.tag in ("style", "script", "head", "title"):
            continue
        for text, holder in ((element.text, element), (element.tail, element.getparent())):
            if not text:
                continue
            for char in set(text) - seen:
                if ord(char) in covered or char.isspace() or unicodedata.category(char) in ("Cc", "Cf"):
                    continue
                seen.add(char)
                warn(
                    "no shipped font has %s (U+%04X %s), found in %s",
                    char,
                    ord(char),
                    unicodedata.name(char, "unnamed"),
                    _where(holder),
                )


def _where(element: Any) -> str:
    """Describe an element by its nearest id or heading, for warnings."""
    node = element
    while node is not None:
        if node.get("id"):
            return f"<{node.tag} id={node.get('id')!r}>"
        node = node.getparent()
    return f"<{element.tag}>"


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
    report_images_without_alt(tree)
    report_missing_glyphs(
        tree.body if tree.find("body") is not None else tree, covered_characters(search_path)
    )
    return tree


def layout(tree: Any, options: WriteOptions) -> Any:
    """Lay out a prepared HTML tree into a WeasyPrint document (pages with tags and bookmarks)."""
    import lxml.html

    search_path = template_dirs(options.templates)
    html = lxml.html.tostring(tree, encoding="unicode", method="html")
    fetcher = SafeFetcher(search_path)
    return HTML(string=html, base_url=search_path[-1].as_uri() + "/", url_fetcher=fetcher).render(
        stylesheets=[
            *stylesheets(search_path, options.page_size),
            *([theme_sheet(options.theme.css(), search_path)] if options.theme is not None else []),
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
