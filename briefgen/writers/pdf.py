"""Turn the HTML intermediate form into a tagged PDF with WeasyPrint.

The only module that imports WeasyPrint. Work that is the same for every
document (font configuration, parsing the stylesheets, reading the shipped
fonts' character maps) is done once per process and cached. Resources are
fetched through :class:`SafeFetcher`: ``data:`` URLs and regular files inside
the template folders only; everything else is refused with a warning naming
the URL, and attachments are removed before rendering.
"""

from __future__ import annotations

import datetime as dt
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

from .. import resources
from ..errors import UsageError
from ..log import route, warn
from ..render import template_dirs

if TYPE_CHECKING:
    from ..render import Rendered
    from . import WriteOptions

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

    from .. import opener

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
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC) if epoch is not None else dt.datetime.now(dt.UTC)
    return moment.replace(microsecond=0).isoformat()


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


def write(document: Rendered, options: WriteOptions) -> bytes:
    """Lay out ``document`` with the print CSS and return PDF bytes."""
    check(options)
    tree = prepare(document.html, template_dirs(options.templates))
    return finish(layout(tree, options), document.html, options)


# ----- one body, many covers -------------------------------------------------------


def split_cover(tree: Any) -> tuple[Any, str] | None:
    """Return the cover element (the first element of ``<body>``, class ``cover``) and the
    serialised document without it, or None when the document has no such cover."""
    import copy

    import lxml.html

    body = tree.find("body")
    first = next((child for child in body if isinstance(child.tag, str)), None) if body is not None else None
    if first is None or "cover" not in (first.get("class") or "").split():
        return None
    rest = copy.deepcopy(tree)
    rest_body = rest.find("body")
    rest_body.remove(next(child for child in rest_body if isinstance(child.tag, str)))
    return first, lxml.html.tostring(rest, encoding="unicode", method="html")


def cover_only(tree: Any) -> Any:
    """A copy of ``tree`` whose body holds nothing but the cover."""
    import copy

    only = copy.deepcopy(tree)
    body = only.find("body")
    children = [child for child in body if isinstance(child.tag, str)]
    for child in children[1:]:
        body.remove(child)
    return only


def cover_pages(rendered: Any) -> int | None:
    """How many leading pages hold the cover and nothing else; None when the cover shares a page
    with the body (then its pages cannot be swapped)."""
    cover_ids: set[int] = set()
    body = next((b for b in rendered.pages[0]._page_box.descendants() if b.element_tag == "body"), None)
    if body is None:
        return None
    first = next((child for child in body.element if isinstance(child.tag, str)), None)
    if first is None:
        return None
    cover_ids = {id(element) for element in first.iter()}

    def kinds(page: Any) -> set[str]:
        found = set()
        for box in page._page_box.descendants():
            element = getattr(box, "element", None)
            if element is None or box.element_tag in ("html", "body"):
                continue
            found.add("cover" if id(element) in cover_ids else "body")
        return found

    count = 0
    for page in rendered.pages:
        seen = kinds(page)
        if seen == {"cover"}:
            count += 1
            continue
        if "cover" in seen:
            return None
        break
    return count or None


class CoverSwap:
    """Lay out a group's body once and give each stakeholder their own cover.

    The first brief written is laid out in full and kept. For each later
    brief whose HTML is identical apart from the cover (the first element of
    ``<body>``, class ``cover``, which must fill whole pages of its own), only
    the cover is laid out. A one-page cover is written alone and joined to
    the body, written once for the group, by :func:`briefgen.writers.pdfjoin.join`,
    which keeps the structure tree whole. Otherwise (or if the join refuses)
    the cover pages are joined to the kept body pages with WeasyPrint's
    ``Document.copy`` and the PDF is written from those. Either way the PDF
    keeps its tags, bookmarks, links and page numbers and holds nothing of
    another stakeholder's cover. A brief that does not qualify is laid out in full.
    """

    def __init__(self, options: WriteOptions) -> None:
        check(options)
        self.options = options
        self.search_path = template_dirs(options.templates)
        self.document: Any = None
        self.rest: str | None = None
        self.cover_count: int | None = None
        self.body: Any = None  # the group's body, written once and opened for joining; False: refused
        self.reused = 0

    def write(self, document: Rendered, shared: bool = False) -> tuple[bytes, int]:
        """PDF bytes and page count for one stakeholder's brief.

        ``shared`` says more briefs of the group will follow: the first one is
        then written as cover plus body too, so the body is painted only once.
        """
        tree = prepare(document.html, self.search_path)
        split = split_cover(tree)
        if self.document is None:
            rendered = layout(tree, self.options)
            if split is not None:
                self.document, self.rest, self.cover_count = rendered, split[1], cover_pages(rendered)
            if shared and self.cover_count == 1:
                joined = self._join(rendered.copy(rendered.pages[:1]), document)
                if joined is not None:
                    return joined, len(rendered.pages)
            return finish(rendered, document.html, self.options), len(rendered.pages)
        if self.cover_count and split is not None and split[1] == self.rest:
            cover = layout(cover_only(tree), self.options)
            if len(cover.pages) == self.cover_count:
                self.reused += 1
                pages = len(self.document.pages)
                joined = self._join(cover, document) if self.cover_count == 1 else None
                if joined is not None:
                    return joined, pages
                both = self.document.copy([*cover.pages, *self.document.pages[self.cover_count :]])
                return finish(both, document.html, self.options), pages
        rendered = layout(tree, self.options)
        return finish(rendered, document.html, self.options), len(rendered.pages)

    def _join(self, cover: Any, document: Rendered) -> bytes | None:
        """Join a written cover to the written body; None when the join refuses."""
        from .pdfjoin import Body, JoinError

        if self.options.pdf_variant is not None:
            return None  # a PDF/A or PDF/UA file is written whole, by WeasyPrint
        if self.body is False:
            return None
        if self.body is None:
            body = self.document.copy(self.document.pages[self.cover_count :])
            try:
                self.body = Body(finish(body, self.rest or "", self.options))
            except JoinError:
                self.body = False  # this body cannot take covers; Document.copy still can
                return None
        try:
            data = self.body.join(finish(cover, document.html, self.options))
        except JoinError:
            return None
        return data
