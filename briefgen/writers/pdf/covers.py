"""Turn one group's briefs into PDFs that share a laid-out body: the PDF format's group writer.

Stakeholders of a batch group (same audience, focus areas and region) get briefs that differ
only in their cover. :class:`CoverSwap` lays the first one out in full, keeps it, and for each
later stakeholder lays out only the cover and joins it to the body (:mod:`.join`), keeping the
PDF's structure tree, bookmarks, links and page numbers whole.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...render import template_dirs
from ..base import Written
from .engine import check, finish, layout, prepare

if TYPE_CHECKING:
    from ...render import Rendered
    from ...stakeholders import Stakeholder
    from ..base import WriteOptions


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
    the body, written once for the group, by :func:`briefgen.writers.pdf.join.join`,
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

    def write(self, document: Rendered, reader: Stakeholder | None = None, shared: bool = False) -> Written:
        """One stakeholder's PDF with its page count; ``reused`` when the group's body was reused.

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
                    return Written(joined, len(rendered.pages))
            return Written(finish(rendered, document.html, self.options), len(rendered.pages))
        if self.cover_count and split is not None and split[1] == self.rest:
            cover = layout(cover_only(tree), self.options)
            if len(cover.pages) == self.cover_count:
                pages = len(self.document.pages)
                joined = self._join(cover, document) if self.cover_count == 1 else None
                if joined is not None:
                    return Written(joined, pages, reused=True)
                both = self.document.copy([*cover.pages, *self.document.pages[self.cover_count :]])
                return Written(finish(both, document.html, self.options), pages, reused=True)
        rendered = layout(tree, self.options)
        return Written(finish(rendered, document.html, self.options), len(rendered.pages))

    def _join(self, cover: Any, document: Rendered) -> bytes | None:
        """Join a written cover to the written body; None when the join refuses."""
        from .join import Body, JoinError

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
