"""The Word brief against the HTML it came from, as a reader compares them: the same headings at
the same levels in the same order, the same list items, the same table cells and the same links
(text and target) in the same order, on both shipped briefs and a summary of each."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lxml.etree
import pytest
from helpers import EPOCH, html_tree, squeeze

from briefgen.build import BuildRequest, build
from briefgen.paths import builtin_content

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
HEADING_STYLES = {"Heading1": 1, "Heading2": 2, "Heading3": 3}


@pytest.fixture(scope="module")
def pairs(shipped_briefs: Callable[..., dict[str, Path]], tmp_path_factory: pytest.TempPathFactory) -> list:
    """(docx, html) of both audiences, full and summary."""
    full = shipped_briefs("docx", "html")
    out = tmp_path_factory.mktemp("summary-structure")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        request = BuildRequest(
            content=builtin_content(), out=out, formats=("docx", "html"), length="summary", docx_pages="word"
        )
        result = build(request)
    assert not result.warnings, result.warnings
    summary = {f"{r.audience}.{r.format}": out / r.path for r in result.files}
    return [
        (found[key], found[key.replace(".docx", ".html")])
        for found in (full, summary)
        for key in sorted(found)
        if key.endswith(".docx")
    ]


class Word:
    """What a reader finds in a .docx: its body and its relationships."""

    def __init__(self, path: Path) -> None:
        with zipfile.ZipFile(path) as archive:
            self.body = lxml.etree.fromstring(archive.read("word/document.xml")).find(f"{W}body")
            rels = lxml.etree.fromstring(archive.read("word/_rels/document.xml.rels"))
        self.targets = {rel.get("Id"): rel.get("Target") for rel in rels.iter(f"{RELS}Relationship")}

    @staticmethod
    def text(element: Any) -> str:
        return squeeze("".join(t.text or "" for t in element.iter(f"{W}t")))

    @staticmethod
    def style(p: Any) -> str | None:
        found = p.find(f"{W}pPr/{W}pStyle")
        return found.get(f"{W}val") if found is not None else None

    def headings(self) -> list[tuple[int, str]]:
        return [
            (HEADING_STYLES[self.style(p)], self.text(p))
            for p in self.body.iter(f"{W}p")
            if self.style(p) in HEADING_STYLES
        ]

    def list_items(self) -> list[str]:
        return [self.text(p) for p in self.body.iter(f"{W}p") if p.find(f"{W}pPr/{W}numPr") is not None]

    def tables(self) -> list[list[list[str]]]:
        """The data tables (a table style; the cover band and figure grid are layout tables)."""
        return [
            [[self.text(tc) for tc in tr.findall(f"{W}tc")] for tr in tbl.findall(f"{W}tr")]
            for tbl in self.body.iter(f"{W}tbl")
            if tbl.find(f"{W}tblPr/{W}tblStyle") is not None
        ]

    def links(self) -> list[tuple[str, str]]:
        """(target, text) of every link: a web address, or the text of the heading a bookmark marks."""
        starts = self.body.iter(f"{W}bookmarkStart")
        marked = {start.get(f"{W}name"): self.text(start.getparent()) for start in starts}
        found = []
        for link in self.body.iter(f"{W}hyperlink"):
            anchor = link.get(f"{W}anchor")
            target = marked.get(anchor, f"#{anchor}") if anchor is not None else self.targets[link.get(R_ID)]
            found.append((target, self.text(link)))
        return merged(found)


def merged(links: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Links next to each other with the same target as one (Word splits a link at each change of
    formatting); texts without spaces, which the split moves between runs."""
    out: list[tuple[str, str]] = []
    for target, text in links:
        if out and out[-1][0] == target:
            out[-1] = (target, out[-1][1] + text)
        else:
            out.append((target, text))
    return [(target, "".join(text.split())) for target, text in out]


def outside_contents(element: Any) -> bool:
    return not element.xpath("ancestor::nav[contains(concat(' ', @class, ' '), ' toc ')]")


def own_text(li: Any) -> str:
    """A list item's text without its nested lists."""
    parts = [li.text or ""]
    for child in li:
        if isinstance(child.tag, str) and child.tag not in ("ul", "ol"):
            parts.append(child.text_content())
        parts.append(child.tail or "")
    return squeeze("".join(parts))


def html_links(html: Any) -> list[tuple[str, str]]:
    found = []
    for a in html.iter("a"):
        href = (a.get("href") or "").strip()
        if href.startswith("#"):
            target = html.get_element_by_id(href[1:], None)
            heading = target is not None and target.tag in ("h1", "h2", "h3")
            shown = squeeze(target.text_content()) if heading else href
        elif href.startswith(("http://", "https://", "mailto:")):
            shown = href
        else:
            continue
        found.append((shown, squeeze(a.text_content())))
    return merged(found)


def test_headings_lists_tables_and_links_are_the_htmls(pairs: list) -> None:
    for docx_path, html_path in pairs:
        word, html = Word(docx_path), html_tree(html_path)
        name = docx_path.name
        headings = [(int(h.tag[1]), squeeze(h.text_content())) for h in html.iter("h1", "h2", "h3")]
        assert word.headings() == headings, name
        items = [own_text(li) for li in html.iter("li") if outside_contents(li)]
        assert items and word.list_items() == items, name
        tables = [
            [[squeeze(c.text_content()) for c in tr if c.tag in ("td", "th")] for tr in table.iter("tr")]
            for table in html.iter("table")
        ]
        assert word.tables() == tables, name
        links = html_links(html)
        assert any(target.startswith("https://") for target, _ in links), name
        assert word.links() == links, name
