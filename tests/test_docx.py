"""Word briefs, opened the way a reader, Word's navigation pane and pandoc would open them."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import shutil
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import lxml.etree
import pypandoc
import pypdf
import pytest
from click.testing import CliRunner
from docx import Document
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, RGBColor
from docx.text.paragraph import Paragraph
from helpers import AUDIENCES, EPOCH, html_headings, html_tree, small, squeeze, tiny_png

from briefgen.build import BuildRequest, build
from briefgen.errors import RenderError
from briefgen.log import collect
from briefgen.paths import builtin_content
from briefgen.writers import WriteOptions
from briefgen.writers.docx import write as write_docx
from briefgen.writers.docx.libreoffice import find
from briefgen.writers.docx.office import convert_to_pdf, pdf_outline

SAFE_TARGETS = ("http://", "https://", "mailto:")
TOC_INSTRUCTION = 'TOC \\o "1-2"'
NS = {
    "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
}
SETTINGS_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rIdEvil" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'attachedTemplate" Target="http://127.0.0.1:9/evil.dotm" TargetMode="External"/></Relationships>'
)


# ----- builds and readers ------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(shipped_briefs: Callable[..., dict[str, Path]]) -> dict[str, Path]:
    """Both shipped audiences as Word, HTML and PDF, built once for the session."""
    return shipped_briefs("docx", "html", "pdf")


def xp(element: Any, expression: str) -> Any:
    """XPath with the w:, r: and wp: prefixes, on lxml and python-docx elements alike."""
    return lxml.etree.XPath(expression, namespaces=NS)(element)


def text_of(element: Any) -> str:
    """All the text a reader sees in a Word element (runs inside hyperlinks included)."""
    return "".join(xp(element, ".//w:t/text()"))


def body_paragraphs(doc: Any) -> list[Any]:
    """The body's own paragraphs (not those in table cells), as lxml elements."""
    return list(doc.element.body.iterchildren(qn("w:p")))


def style_name(doc: Any, p: Any) -> str:
    return Paragraph(p, doc._body).style.name


def heading_paragraphs(doc: Any) -> list[tuple[int, str, Any]]:
    found = []
    for p in body_paragraphs(doc):
        name = style_name(doc, p)
        if name.startswith("Heading "):
            found.append((int(name.split()[-1]), squeeze(text_of(p)), p))
    return found


def toc_paragraphs(doc: Any) -> list[Any]:
    """The paragraphs of the TOC field's result that hold an entry (a hyperlink)."""
    paragraphs = body_paragraphs(doc)
    start = next(
        i
        for i, p in enumerate(paragraphs)
        if any(TOC_INSTRUCTION in (t.text or "") for t in p.iter(qn("w:instrText")))
    )
    depth = 0
    for end in range(start, len(paragraphs)):
        for char in paragraphs[end].iter(qn("w:fldChar")):
            kind = char.get(qn("w:fldCharType"))
            depth += (kind == "begin") - (kind == "end")
            if depth == 0:
                return [p for p in paragraphs[start : end + 1] if xp(p, "./w:hyperlink")]
    raise AssertionError("the TOC field is never closed")


def pageref(p: Any) -> tuple[str, str]:
    """(bookmark, shown result) of the PAGEREF field in a TOC entry paragraph."""
    bookmark, shown, state = "", "", None
    for node in p.iter(qn("w:instrText"), qn("w:fldChar"), qn("w:t")):
        if node.tag == qn("w:instrText") and "PAGEREF" in (node.text or ""):
            bookmark, state = node.text.split()[1], "code"
        elif node.tag == qn("w:fldChar") and state is not None:
            kind = node.get(qn("w:fldCharType"))
            if kind == "separate" and state == "code":
                state = "result"
            elif kind == "end" and state == "result":
                return bookmark, shown
        elif node.tag == qn("w:t") and state == "result":
            shown += node.text or ""
    raise AssertionError(f"no complete PAGEREF field in {text_of(p)!r}")


class Numbering:
    """numbering.xml, enough to tell a bullet from a number and find restarts."""

    def __init__(self, doc: Any) -> None:
        root = doc.part.numbering_part.element
        self.formats = {
            a.get(qn("w:abstractNumId")): {
                lvl.get(qn("w:ilvl")): lvl.find(qn("w:numFmt")).get(qn("w:val"))
                for lvl in a.findall(qn("w:lvl"))
            }
            for a in root.findall(qn("w:abstractNum"))
        }
        self.nums = {n.get(qn("w:numId")): n for n in root.findall(qn("w:num"))}

    def format(self, num_id: str, level: str) -> str:
        abstract = self.nums[num_id].find(qn("w:abstractNumId")).get(qn("w:val"))
        return self.formats[abstract][level]

    def start_override(self, num_id: str, level: str) -> list[str]:
        return xp(self.nums[num_id], f"w:lvlOverride[@w:ilvl='{level}']/w:startOverride/@w:val")


def numbered(p: Any) -> tuple[str, str] | None:
    """(numId, ilvl) of a list paragraph, None for other paragraphs."""
    num = xp(p, "string(w:pPr/w:numPr/w:numId/@w:val)")
    level = xp(p, "string(w:pPr/w:numPr/w:ilvl/@w:val)")
    return (num, level or "0") if num else None


def external_relationships(data: bytes) -> list[tuple[str, str, str]]:
    """(rels part, relationship type, target) of every external relationship in a package."""
    found = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if not name.endswith(".rels"):
                continue
            root = lxml.etree.fromstring(archive.read(name))
            for rel in root.iterfind("rel:Relationship", NS):
                if rel.get("TargetMode") == "External":
                    found.append((name, rel.get("Type").rsplit("/", 1)[-1], rel.get("Target")))
    return found


def data_tables(doc: Any) -> list[Any]:
    """The tables that are HTML tables: not the layout tables of the key figures and the summary's
    cover band, which say they have no header row (tests/test_docx_cover.py)."""
    return [t for t in doc.tables if not xp(t._tbl, "w:tblPr/w:tblLook[@w:firstRow='0']")]


def assert_valid_package(data: bytes) -> Any:
    """Every XML part parses with a strict XML parser, and python-docx opens the file."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        for name in archive.namelist():
            if name.endswith((".xml", ".rels")):
                lxml.etree.fromstring(archive.read(name))
    return Document(io.BytesIO(data))


# ----- 1. headings ---------------------------------------------------------------------------


@pytest.mark.parametrize("audience", AUDIENCES)
def test_headings_use_builtin_styles_in_html_and_pdf_order(built: dict[str, Path], audience: str) -> None:
    doc = Document(built[f"{audience}.docx"])
    headings = heading_paragraphs(doc)
    expected = html_headings(html_tree(built[f"{audience}.html"]))
    assert len(expected) >= 8
    assert [(level, text) for level, text, _ in headings] == expected
    pdf_marks = pdf_outline(pypdf.PdfReader(built[f"{audience}.pdf"]))
    assert [(level, squeeze(title)) for level, title, _ in pdf_marks] == expected
    for level in (1, 2, 3):
        style = doc.styles[f"Heading {level}"]
        assert style.builtin, f"Heading {level} must be Word's built-in style"
        # the outline level is what the navigation pane and the TOC field read
        assert xp(style.element, "w:pPr/w:outlineLvl/@w:val") == [str(level - 1)]


# ----- 2. bookmarks and the contents page ---------------------------------------------------


@pytest.mark.parametrize("audience", AUDIENCES)
def test_every_heading_has_a_bookmark(built: dict[str, Path], audience: str) -> None:
    doc = Document(built[f"{audience}.docx"])
    names = []
    for _, text, p in heading_paragraphs(doc):
        starts = xp(p, "./w:bookmarkStart")
        assert len(starts) == 1, text
        ident = starts[0].get(qn("w:id"))
        assert xp(p, f"./w:bookmarkEnd[@w:id='{ident}']"), f"bookmark not closed: {text}"
        names.append(starts[0].get(qn("w:name")))
    assert len(set(names)) == len(names)
    assert all(0 < len(name) <= 40 and " " not in name for name in names), "Word's bookmark name rules"


@pytest.mark.parametrize("audience", AUDIENCES)
def test_toc_field_lists_h1_h2_linked_to_heading_bookmarks(built: dict[str, Path], audience: str) -> None:
    doc = Document(built[f"{audience}.docx"])
    instructions = [t.text for t in doc.element.body.iter(qn("w:instrText")) if "TOC" in t.text.split()]
    assert len(instructions) == 1 and TOC_INSTRUCTION in instructions[0]
    bookmark_of = {
        (level, text): xp(p, "string(./w:bookmarkStart/@w:name)")
        for level, text, p in heading_paragraphs(doc)
    }
    expected = html_headings(html_tree(built[f"{audience}.html"]), levels="12")
    entries = toc_paragraphs(doc)
    assert [style_name(doc, p) for p in entries] == [f"TOC {level}" for level, _ in expected]
    assert [squeeze(text_of(xp(p, "./w:hyperlink")[0])) for p in entries] == [text for _, text in expected]
    for (level, text), p in zip(expected, entries, strict=True):
        anchors = xp(p, "./w:hyperlink/@w:anchor")
        assert anchors == [bookmark_of[level, text]], text
        assert pageref(p)[0] == bookmark_of[level, text], text
    # With LibreOffice the numbers are in and nothing asks Word to refresh (tests/test_docx_pages.py);
    # without it, Word is asked to fill them in on open.
    settled = find()[0] is not None
    assert xp(doc.settings.element, "w:updateFields/@w:val") == ([] if settled else ["true"])
    assert all(pageref(p)[1].isdigit() for p in entries) == settled


# ----- 3. lists ------------------------------------------------------------------------------


@pytest.mark.parametrize("audience", AUDIENCES)
def test_every_numbered_list_restarts_at_one(built: dict[str, Path], audience: str) -> None:
    doc = Document(built[f"{audience}.docx"])
    numbering = Numbering(doc)
    paragraphs = body_paragraphs(doc)
    runs: dict[str, list[int]] = {}
    levels: dict[str, set[str]] = {}
    for index, p in enumerate(paragraphs):
        found = numbered(p)
        if found and numbering.format(*found) != "bullet":
            runs.setdefault(found[0], []).append(index)
            levels.setdefault(found[0], set()).add(found[1])
    # the contents list is the TOC field, not a numbered list
    ols = html_tree(built[f"{audience}.html"]).xpath("//ol[not(ancestor::nav)]")
    assert len(ols) >= 8
    assert len(runs) == len(ols)
    assert [len(indices) for indices in runs.values()] == [len(ol.xpath("./li")) for ol in ols]
    for num_id, indices in runs.items():
        assert indices == list(range(indices[0], indices[-1] + 1)), f"list {num_id} is interrupted"
        (level,) = levels[num_id]
        assert numbering.start_override(num_id, level) == ["1"], f"list {num_id} does not restart"
    first_items = [squeeze(text_of(paragraphs[indices[0]])) for indices in runs.values()]
    assert first_items == [squeeze(ol.xpath("./li")[0].text_content()) for ol in ols]


@pytest.mark.parametrize("audience", AUDIENCES)
def test_bullet_items_use_a_bullet_numbering(built: dict[str, Path], audience: str) -> None:
    doc = Document(built[f"{audience}.docx"])
    numbering = Numbering(doc)
    bullets = [
        squeeze(text_of(p))
        for p in body_paragraphs(doc)
        if (found := numbered(p)) and numbering.format(*found) == "bullet"
    ]
    items = html_tree(built[f"{audience}.html"]).xpath("//ul[not(ancestor::nav)]/li")
    assert len(items) >= 10
    assert bullets == [squeeze(li.text_content()) for li in items]


# ----- 4. hyperlinks -------------------------------------------------------------------------


@pytest.mark.parametrize("audience", AUDIENCES)
def test_hyperlinks_are_the_contents_web_links_only(built: dict[str, Path], audience: str) -> None:
    path = built[f"{audience}.docx"]
    external = external_relationships(path.read_bytes())
    assert external, "the shipped briefs link to the Commission's site"
    for part, kind, target in external:
        assert kind == "hyperlink", (part, kind, target)
        assert target.startswith(SAFE_TARGETS), (part, target)
    doc = Document(path)
    in_word = [
        (doc.part.rels[link.get(qn("r:id"))].target_ref, squeeze(text_of(link)))
        for link in doc.element.body.iter(qn("w:hyperlink"))
        if link.get(qn("r:id"))
    ]
    in_html = [
        (a.get("href"), squeeze(a.text_content()))
        for a in html_tree(built[f"{audience}.html"]).xpath("//a[starts-with(@href, 'http')]")
    ]
    assert in_html
    assert in_word == in_html


# ----- 5. header and footer ------------------------------------------------------------------


def fields(part: Any) -> list[str]:
    """Field names in a header or footer, complex or simple."""
    names = [t.text.split()[0] for t in part._element.iter(qn("w:instrText")) if t.text and t.text.strip()]
    names += [f.get(qn("w:instr")).split()[0] for f in part._element.iter(qn("w:fldSimple"))]
    return names


@pytest.mark.parametrize("audience", AUDIENCES)
def test_running_title_page_numbers_and_a_bare_cover(built: dict[str, Path], audience: str) -> None:
    doc = Document(built[f"{audience}.docx"])
    section = doc.sections[-1]
    kicker = html_tree(built[f"{audience}.html"]).find(".//p[@class='cover-kicker']")
    assert not section.header.is_linked_to_previous
    assert squeeze(" ".join(p.text for p in section.header.paragraphs)) == squeeze(kicker.text_content())
    assert not section.footer.is_linked_to_previous
    assert {"PAGE", "NUMPAGES"} <= set(fields(section.footer))
    assert xp(section._sectPr, "w:titlePg"), "different first page is not set"
    assert section.different_first_page_header_footer
    for part in (section.first_page_header, section.first_page_footer):
        assert not part.is_linked_to_previous, "the cover must have its own (empty) header and footer"
        assert text_of(part._element).strip() == ""
        assert fields(part) == []
        assert not xp(part._element, ".//w:drawing|.//w:pict")


# ----- 6. document properties ----------------------------------------------------------------


@pytest.mark.parametrize("audience", AUDIENCES)
def test_core_properties(built: dict[str, Path], audience: str) -> None:
    props = Document(built[f"{audience}.docx"]).core_properties
    tree = html_tree(built[f"{audience}.html"])
    assert props.title == squeeze(tree.findtext(".//title"))
    assert "European Commission" in props.author
    assert props.language == "en"
    keywords = tree.find(".//meta[@name='keywords']").get("content")
    assert props.keywords and keywords.startswith(props.keywords)
    assert props.created.replace(tzinfo=None) == dt.datetime(2025, 6, 5, 0, 0)
    assert props.modified.replace(tzinfo=None) == dt.datetime(2025, 6, 5, 0, 0)


# ----- 7. tables -----------------------------------------------------------------------------


@pytest.mark.parametrize("audience", AUDIENCES)
def test_tables_repeat_their_header_row_and_use_the_brief_style(
    built: dict[str, Path], audience: str
) -> None:
    doc = Document(built[f"{audience}.docx"])
    html_tables = html_tree(built[f"{audience}.html"]).xpath("//table")
    assert html_tables
    tables = data_tables(doc)
    assert len(tables) == len(html_tables)
    for table, html_table in zip(tables, html_tables, strict=True):
        assert table.style is not None and table.style.name == "Brief Table"
        first = table.rows[0]._tr
        assert xp(first, "w:trPr/w:tblHeader"), "header row does not repeat"
        assert not any(xp(row._tr, "w:trPr/w:tblHeader") for row in table.rows[1:])
        assert [squeeze(c.text) for c in table.rows[0].cells] == [
            squeeze(th.text_content()) for th in html_table.xpath(".//thead/tr[1]/th")
        ]
        assert len(table.rows) == len(html_table.xpath(".//tr"))


# ----- 8. reproducible bytes -----------------------------------------------------------------


def test_rebuild_is_byte_identical_with_fixed_zip_timestamps(
    built: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    build(BuildRequest(content=builtin_content(), out=tmp_path, formats=("docx",), audiences=("business",)))
    again = (tmp_path / "business-brief.docx").read_bytes()
    assert again == built["business.docx"].read_bytes()
    with zipfile.ZipFile(io.BytesIO(again)) as archive:
        infos = archive.infolist()
    assert infos[0].filename == "[Content_Types].xml"
    assert {info.date_time for info in infos} == {(2025, 6, 5, 0, 0, 0)}


# ----- 9. pandoc reads it back ---------------------------------------------------------------


def pandoc_text(inlines: list[dict]) -> str:
    out = []
    for node in inlines:
        kind, content = node["t"], node.get("c")
        if kind == "Str":
            out.append(content)
        elif kind in ("Space", "SoftBreak", "LineBreak"):
            out.append(" ")
        elif kind in ("Emph", "Strong", "Underline", "Strikeout", "SmallCaps", "Superscript", "Subscript"):
            out.append(pandoc_text(content))
        elif kind in ("Span", "Link"):
            out.append(pandoc_text(content[1]))
        elif kind == "Quoted":
            mark = '"' if content[0]["t"] == "DoubleQuote" else "'"
            out.append(mark + pandoc_text(content[1]) + mark)
        elif kind == "Code":
            out.append(content[1])
    return "".join(out)


def pandoc_headings(path: Path) -> list[tuple[int, str]]:
    document = json.loads(pypandoc.convert_file(str(path), "json"))
    return [
        (block["c"][0], squeeze(pandoc_text(block["c"][2])))
        for block in document["blocks"]
        if block["t"] == "Header"
    ]


@pytest.mark.parametrize("audience", AUDIENCES)
def test_pandoc_reads_the_chapter_headings_back(built: dict[str, Path], audience: str) -> None:
    """Every heading comes back, in order; the contents title aside (see the next test)."""
    tree = html_tree(built[f"{audience}.html"])
    contents_title = squeeze(tree.find(".//p[@class='toc-title']").text_content())
    headers = pandoc_headings(built[f"{audience}.docx"])
    assert [h for h in headers if h != (1, contents_title)] == html_headings(tree)


@pytest.mark.parametrize("audience", AUDIENCES)
def test_pandoc_reads_exactly_the_html_headings_back(built: dict[str, Path], audience: str) -> None:
    assert pandoc_headings(built[f"{audience}.docx"]) == html_headings(html_tree(built[f"{audience}.html"]))


# ----- 10. no empty paragraphs ---------------------------------------------------------------


@pytest.mark.parametrize("audience", AUDIENCES)
def test_no_empty_paragraphs(built: dict[str, Path], audience: str) -> None:
    doc = Document(built[f"{audience}.docx"])
    for index, p in enumerate(body_paragraphs(doc)):
        assert text_of(p).strip() or xp(p, ".//w:drawing|.//w:br|.//w:fldChar"), (
            f"paragraph {index} ({style_name(doc, p)}) is empty"
        )


# ----- 11. a corporate reference document ----------------------------------------------------


def acme_reference(path: Path) -> Path:
    """A reference .docx as a company would bring one: its own heading look, Letter paper, a header."""
    doc = Document()
    heading = doc.styles["Heading 1"]
    heading.font.color.rgb = RGBColor(0xFF, 0x00, 0x00)
    heading.font.name = "Courier New"
    fonts = heading.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)  # theme fonts would override the named font in Word
    section = doc.sections[0]
    section.page_width, section.page_height = Inches(8.5), Inches(11)
    section.header.paragraphs[0].text = "ACME CONFIDENTIAL"
    doc.save(path)
    return path


@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    """The business brief built with the ACME reference: (docx, html, warnings)."""
    folder = tmp_path_factory.mktemp("acme")
    reference = acme_reference(folder / "acme.docx")
    request = BuildRequest(
        content=builtin_content(),
        out=folder / "out",
        formats=("docx", "html"),
        audiences=("business",),
        reference_docx=reference,
    )
    result = build(request)
    files = {r.format: folder / "out" / r.path for r in result.files}
    return files["docx"], files["html"], result.warnings


def test_reference_docx_styles_page_and_header_are_used(acme: tuple[Path, Path, list[str]]) -> None:
    path, html, _ = acme
    doc = Document(path)
    heading = doc.styles["Heading 1"]
    assert heading.font.color.rgb == RGBColor(0xFF, 0x00, 0x00)
    assert heading.font.name == "Courier New"
    chapters = [text for level, text, _ in heading_paragraphs(doc) if level == 1]
    assert chapters == [text for level, text in html_headings(html_tree(html)) if level == 1]
    section = doc.sections[0]
    assert (round(section.page_width.inches, 2), round(section.page_height.inches, 2)) == (8.5, 11.0)
    assert "ACME CONFIDENTIAL" in " ".join(p.text for p in section.header.paragraphs)
    assert {"PAGE", "NUMPAGES"} <= set(fields(section.footer)), "the reference had no footer of its own"


def test_missing_styles_warn_once_and_fall_back(acme: tuple[Path, Path, list[str]]) -> None:
    path, html, warnings = acme
    for style in ("Figure Value", "Key Actions", "Brief Table"):  # a figure's detail is body text (PDF)
        named = [w for w in warnings if f"'{style}'" in w]
        assert len(named) == 1, (style, warnings)
    assert not any("'Heading 1'" in w for w in warnings)
    doc = Document(path)
    tree = html_tree(html)
    first_action = squeeze(tree.xpath("//aside[contains(@class, 'callout-actions')]//li")[0].text_content())
    action = next(p for p in body_paragraphs(doc) if squeeze(text_of(p)) == first_action)
    assert style_name(doc, action) == "Normal"
    assert numbered(action) is not None, "a key action is still a numbered item"
    assert len(data_tables(doc)) == len(tree.xpath("//table"))
    assert all(t.style is not None and t.style.name == "Table Grid" for t in data_tables(doc))


# ----- 12. hostile reference documents -------------------------------------------------------


def rewrite_zip(source: bytes, changes: dict[str, Any]) -> bytes:
    """Copy a zip, replacing members by ``changes[name](old bytes)`` or adding str/bytes members."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as old, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
        for name in old.namelist():
            data = old.read(name)
            change = changes.get(name)
            new.writestr(name, change(data) if callable(change) else data)
        for name, change in changes.items():
            if name not in old.namelist():
                new.writestr(name, change)
    return out.getvalue()


def evil_reference(path: Path) -> Path:
    """A reference with an attached template, a linked image and a linked header image, all remote."""
    doc = Document()
    doc.sections[0].header.paragraphs[0].text = "Corporate header"
    header = doc.sections[0].header.part.partname.split("/")[-1]
    buffer = io.BytesIO()
    doc.save(buffer)
    image = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"
    relationships = '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'

    def rel(rid: str, target: str) -> str:
        return f'<Relationship Id="{rid}" Type="{image}" Target="{target}" TargetMode="External"/>'

    def attach(data: bytes) -> bytes:
        assert b"<w:defaultTabStop" in data
        return data.replace(b"<w:defaultTabStop", b'<w:attachedTemplate r:id="rIdEvil"/><w:defaultTabStop', 1)

    path.write_bytes(
        rewrite_zip(
            buffer.getvalue(),
            {
                "word/settings.xml": attach,
                "word/_rels/settings.xml.rels": SETTINGS_RELS,
                "word/_rels/document.xml.rels": lambda data: data.replace(
                    b"</Relationships>",
                    rel("rIdImg", "http://127.0.0.1:9/evil.png").encode() + b"</Relationships>",
                ),
                f"word/_rels/{header}.rels": relationships
                + rel("rIdHdr", "http://127.0.0.1:9/header.png")
                + "</Relationships>",
            },
        )
    )
    return path


def test_external_links_in_the_reference_are_removed_with_a_warning(tmp_path: Path) -> None:
    reference = evil_reference(tmp_path / "evil.docx")
    assert len(external_relationships(reference.read_bytes())) == 3
    with collect() as warnings:
        data = write_docx(small("<p>Body</p>"), WriteOptions(reference_docx=reference))
    text = "\n".join(warnings)
    for target in (
        "http://127.0.0.1:9/evil.dotm",
        "http://127.0.0.1:9/evil.png",
        "http://127.0.0.1:9/header.png",
    ):
        assert target in text, target
    assert [rel for rel in external_relationships(data) if rel[1] != "hyperlink"] == []
    doc = assert_valid_package(data)
    assert not xp(doc.settings.element, "w:attachedTemplate")
    assert "Corporate header" in doc.sections[0].header.paragraphs[0].text
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert not [n for n in archive.namelist() if b"127.0.0.1:9" in archive.read(n)]


def test_reference_header_hyperlinks_obey_the_link_rule(tmp_path: Path) -> None:
    doc = Document()
    header = doc.sections[0].header
    paragraph = header.paragraphs[0]
    paragraph.text = "Intranet: "
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), header.part.relate_to("file:///etc/passwd", RT.HYPERLINK, is_external=True))
    run = OxmlElement("w:r")
    t = OxmlElement("w:t")
    t.text = "policies"
    run.append(t)
    link.append(run)
    paragraph._p.append(link)
    doc.save(tmp_path / "ref.docx")
    data = write_docx(small("<p>Body</p>"), WriteOptions(reference_docx=tmp_path / "ref.docx"))
    for _, kind, target in external_relationships(data):
        assert target.startswith(SAFE_TARGETS), (kind, target)


def test_zip_bomb_reference_is_refused_without_unpacking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        with archive.open("word/media/zeros.bin", "w") as member:
            chunk = bytes(1024 * 1024)
            for _ in range(60):
                member.write(chunk)
    assert bomb.stat().st_size < 1_000_000
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def spy(self: zipfile.ZipFile, name: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(name if isinstance(name, str) else name.filename)
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    with pytest.raises(RenderError) as caught:
        write_docx(small("<p>Body</p>"), WriteOptions(reference_docx=bomb))
    assert "bomb.docx" in caught.value.message and "unpacks to" in caught.value.message
    assert "word/media/zeros.bin" not in opened


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"plain text, not a zip", "not a readable .docx"), (None, "no word/document.xml")],
)
def test_reference_that_is_not_a_word_file_is_an_error(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "ref.docx"
    if content is None:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("xl/workbook.xml", "<workbook/>")
    else:
        path.write_bytes(content)
    with pytest.raises(RenderError, match=re.escape(message)):
        write_docx(small("<p>Body</p>"), WriteOptions(reference_docx=path))


# ----- 13. small documents -------------------------------------------------------------------


def paragraph_texts(doc: Any) -> list[str]:
    return [text_of(p) for p in body_paragraphs(doc)]


def media(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [n for n in archive.namelist() if n.startswith("word/media/")]


def test_control_characters_are_removed() -> None:
    data = write_docx(small("<p>a\x01b\x0bc</p><p>after</p>"), WriteOptions())
    doc = assert_valid_package(data)
    assert paragraph_texts(doc) == ["A", "abc", "after"]


def test_lone_surrogate_is_removed_and_the_rest_kept() -> None:
    data = write_docx(small("<p>x\ud800y</p><p>after</p>"), WriteOptions())
    doc = assert_valid_package(data)
    assert paragraph_texts(doc) == ["A", "xy", "after"]


def test_unsafe_links_become_plain_text_with_a_warning() -> None:
    body = (
        '<p>Run <a href="javascript:alert(1)">click</a> now.</p>'
        '<p>Open <a href="file:///etc/passwd">the file</a> here.</p>'
    )
    with collect() as warnings:
        data = write_docx(small(body), WriteOptions())
    text = "\n".join(warnings)
    assert "javascript:alert(1)" in text and "file:///etc/passwd" in text
    doc = assert_valid_package(data)
    assert paragraph_texts(doc)[1:] == ["Run click now.", "Open the file here."]
    assert not list(doc.element.body.iter(qn("w:hyperlink")))
    assert external_relationships(data) == []


def test_safe_links_are_real_hyperlinks() -> None:
    body = (
        '<p>See <a href="https://example.org/x">the site</a> or <a href="mailto:a@example.org">mail</a>.</p>'
    )
    with collect() as warnings:
        data = write_docx(small(body), WriteOptions())
    assert warnings == []
    targets = [target for _, kind, target in external_relationships(data) if kind == "hyperlink"]
    assert sorted(targets) == ["https://example.org/x", "mailto:a@example.org"]
    assert paragraph_texts(assert_valid_package(data))[1] == "See the site or mail."


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('<p>Visit <a href="https://example.org/">the site</a></p>', "Visit the site"),
        ('<p><a href="https://example.org/">The site</a> is open</p>', "The site is open"),
    ],
)
def test_space_next_to_a_link_at_a_paragraph_edge_is_kept(body: str, expected: str) -> None:
    doc = assert_valid_package(write_docx(small(body), WriteOptions()))
    assert paragraph_texts(doc)[1] == expected


def test_unknown_elements_warn_by_name_and_keep_their_text() -> None:
    body = "<marquee>hello</marquee><details><summary>More</summary>inside</details>"
    with collect() as warnings:
        data = write_docx(small(body), WriteOptions())
    text = "\n".join(warnings)
    assert "<marquee>" in text and "<details>" in text
    texts = paragraph_texts(assert_valid_package(data))
    assert "hello" in texts and "inside" in texts


def test_nested_lists_keep_their_levels_and_inner_numbers_restart() -> None:
    body = (
        "<ol><li>one<ul><li>bullet<ol><li>deep one</li><li>deep two</li></ol></li></ul></li>"
        "<li>two<ol><li>again</li></ol></li></ol>"
    )
    doc = assert_valid_package(write_docx(small(body), WriteOptions()))
    numbering = Numbering(doc)
    items = {text_of(p): numbered(p) for p in body_paragraphs(doc) if numbered(p)}
    assert list(items) == ["one", "bullet", "deep one", "deep two", "two", "again"]
    assert [items[t][1] for t in items] == ["0", "1", "2", "2", "0", "1"]
    assert numbering.format(*items["bullet"]) == "bullet"
    assert all(numbering.format(*items[t]) != "bullet" for t in ("one", "deep one", "two", "again"))
    assert items["one"][0] == items["two"][0], "the outer list continues after the nested one"
    assert items["deep one"][0] == items["deep two"][0]
    inner = {items["deep one"][0], items["again"][0]}
    assert len(inner) == 2 and items["one"][0] not in inner, "every inner <ol> is its own list"
    assert numbering.start_override(*items["one"]) == ["1"]
    assert numbering.start_override(*items["deep one"]) == ["1"]
    assert numbering.start_override(*items["again"]) == ["1"]


def picture_descriptions(doc: Any) -> list[str]:
    return xp(doc.element.body, ".//w:drawing//wp:docPr/@descr")


def test_inline_image_is_a_picture_with_its_alternative_text() -> None:
    with collect() as warnings:
        data = write_docx(
            small(f'<p>Our logo <img src="{tiny_png()}" alt="Blue square"> here.</p>'), WriteOptions()
        )
    assert warnings == []
    doc = assert_valid_package(data)
    assert picture_descriptions(doc) == ["Blue square"]
    assert len(media(data)) == 1
    assert paragraph_texts(doc)[1] == "Our logo here."


def test_figure_image_is_a_picture_with_its_alternative_text() -> None:
    body = f'<figure><img src="{tiny_png()}" alt="Blue square"><figcaption>Our logo</figcaption></figure>'
    data = write_docx(small(body), WriteOptions())
    doc = assert_valid_package(data)
    assert picture_descriptions(doc) == ["Blue square"]
    assert "Our logo" in paragraph_texts(doc)


def test_images_outside_data_urls_are_refused_and_nothing_is_embedded() -> None:
    body = (
        '<p>See <img src="file:///etc/hostname" alt="host"> and '
        '<img src="http://127.0.0.1:9/x.png" alt="net"> here.</p>'
    )
    with collect() as warnings:
        data = write_docx(small(body), WriteOptions())
    text = "\n".join(warnings)
    assert "file:///etc/hostname" in text and "http://127.0.0.1:9/x.png" in text
    doc = assert_valid_package(data)
    assert not xp(doc.element.body, ".//w:drawing|.//w:pict")
    assert media(data) == []
    assert external_relationships(data) == []


def test_image_without_alternative_text_is_a_warning() -> None:
    png = tiny_png()
    with collect() as warnings:
        write_docx(
            small(f'<p>One <img src="{png}"> two <img src="{png}" alt="Logo"> three</p>'), WriteOptions()
        )
    missing = [w for w in warnings if "no alternative text" in w]
    assert len(missing) == 1 and "data:image/png" in missing[0]


# ----- 14. --strict through the CLI ----------------------------------------------------------


@pytest.fixture
def marquee_templates(tmp_path: Path) -> Path:
    folder = tmp_path / "tpl"
    folder.mkdir()
    base = (Path(__file__).parents[1] / "templates" / "business.html.j2").read_text(encoding="utf-8")
    block = "\n{% block colophon %}{{ super() }}<marquee>x</marquee>{% endblock %}\n"
    (folder / "business.html.j2").write_text(base + block, encoding="utf-8")
    return folder


def test_strict_turns_an_unknown_element_into_an_error(
    runner: CliRunner, marquee_templates: Path, tmp_path: Path
) -> None:
    from briefgen.cli import main

    args = ["build", "--audience", "business", "--format", "docx", "--templates", str(marquee_templates)]
    result = runner.invoke(main, [*args, "--out", str(tmp_path / "o"), "--strict"])
    assert result.exit_code == 1, result.output
    assert "Error:" in result.output and "<marquee>" in result.output
    assert not (tmp_path / "o" / "business-brief.docx").exists()


def test_without_strict_an_unknown_element_is_a_warning(
    runner: CliRunner, marquee_templates: Path, tmp_path: Path
) -> None:
    from briefgen.cli import main

    args = ["build", "--audience", "business", "--format", "docx", "--templates", str(marquee_templates)]
    result = runner.invoke(main, [*args, "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert re.search(r"^warning: .*<marquee>", result.output, flags=re.M), result.output
    doc = Document(tmp_path / "o" / "business-brief.docx")
    assert "x" in paragraph_texts(doc), "the unknown element's text is kept"


# ----- 15. --docx-refresh, the old flag: --docx-pages libreoffice (tests/test_docx_pages.py) ---


@pytest.fixture
def soffice() -> Iterator[str]:
    program = shutil.which("soffice")
    if program is None:
        if os.environ.get("BRIEFGEN_NO_OFFICE") == "1":
            pytest.skip("LibreOffice is not installed and BRIEFGEN_NO_OFFICE=1")
        pytest.fail(
            "LibreOffice (soffice) is not installed: --docx-refresh cannot be tested. "
            "Install it (CI does), or set BRIEFGEN_NO_OFFICE=1 to skip these tests."
        )
    yield program


def office_pdf(soffice: str, docx: Path, folder: Path) -> Path:
    """LibreOffice's own PDF of ``docx``, made with a throw-away profile."""
    return convert_to_pdf(soffice, docx, folder)


def test_docx_refresh_writes_the_real_page_numbers(
    soffice: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    audience = "business"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    result = build(
        BuildRequest(
            content=builtin_content(),
            out=tmp_path / "out",
            formats=("docx",),
            audiences=(audience,),
            docx_refresh=True,
        )
    )
    assert not result.warnings, result.warnings
    docx = tmp_path / "out" / result.files[0].path
    assert not xp(Document(docx).settings.element, "w:updateFields"), "nothing asks Word to refresh"
    entries = [
        (squeeze(text_of(xp(p, "./w:hyperlink")[0])), pageref(p)[1]) for p in toc_paragraphs(Document(docx))
    ]
    assert all(shown.isdigit() for _, shown in entries), entries
    pages = [int(shown) for _, shown in entries]
    assert pages == sorted(pages), "page numbers go backwards"
    assert pages[0] >= 3, "the cover and the contents come before the first chapter"
    reader = pypdf.PdfReader(office_pdf(soffice, docx, tmp_path / "lo"))
    marks = [(squeeze(title), page) for level, title, page in pdf_outline(reader) if level <= 2]
    assert [title for title, _ in marks] == [title for title, _ in entries]
    assert marks == [(title, page) for title, page in zip([t for t, _ in entries], pages, strict=True)]


def test_the_parts_taken_from_python_docx_are_what_it_saves() -> None:
    from briefgen.writers.docx.package import parts_of, unpack

    link = '<a href="https://example.org/">link</a>'
    body = f'<p>Body {link}</p><ul><li>item</li></ul><img src="{tiny_png()}" alt="x">'
    doc = Document(io.BytesIO(write_docx(small(body), WriteOptions(docx_pages="word"))))
    saved = io.BytesIO()
    doc.save(saved)
    assert parts_of(doc) == unpack(saved.getvalue())
