"""The Word brief's cover and key figures in the PDF's look: a page of the brand colour, the
summary's band, the figures' grid; read from the .docx and seen as LibreOffice lays it out."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lxml.etree
import pypdf
import pytest
from docx import Document
from docx.oxml.ns import qn
from helpers import AUDIENCES, EPOCH, html_tree, squeeze, tiny_png

from briefgen.build import BuildRequest, build
from briefgen.paths import builtin_content, builtin_templates
from briefgen.render import Rendered
from briefgen.theme import DEFAULT_COLOURS
from briefgen.theme import load as load_theme
from briefgen.writers import WriteOptions
from briefgen.writers.docx import write as write_docx
from briefgen.writers.docx.office import convert_to_pdf

NS = {
    "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "pic": "http://schemas.openxmlformats.org/drawingml/2006/picture",
    "wps": "http://schemas.microsoft.com/office/word/2010/wordprocessingShape",
    "mc": "http://schemas.openxmlformats.org/markup-compatibility/2006",
    "v": "urn:schemas-microsoft-com:vml",
}
CIVIC = builtin_templates() / "themes" / "civic.toml"
DEFAULT_BRAND = DEFAULT_COLOURS["brand"][1:].upper()
DEFAULT_PANEL = DEFAULT_COLOURS["panel"][1:].upper()


def xp(element: Any, expression: str) -> Any:
    return lxml.etree.XPath(expression, namespaces=NS)(element)


def text_of(element: Any) -> str:
    return squeeze("".join(xp(element, ".//w:t/text()")))


def built(out: Path, **request: Any) -> dict[str, Path]:
    """Word and HTML briefs of every audience: ``{"business.docx": path, ...}``."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        request = {"docx_pages": "word", **request}  # the cover and figures do not depend on the pages
        result = build(BuildRequest(content=builtin_content(), out=out, formats=("docx", "html"), **request))
    assert not result.warnings, result.warnings
    return {f"{r.audience}.{r.format}": out / r.path for r in result.files}


@pytest.fixture(scope="module")
def briefs(shipped_briefs: Callable[..., dict[str, Path]], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The shipped briefs: house colours, the Civic theme, and the summaries."""
    return {
        "house": shipped_briefs("docx", "html"),
        "civic": built(tmp_path_factory.mktemp("civic"), theme=CIVIC),
        "summary": built(tmp_path_factory.mktemp("summary"), length="summary"),
    }


def cover_blocks(doc: Any) -> list[Any]:
    """The body's blocks on the cover page: up to the first that starts a new page."""
    blocks = []
    for block in doc.element.body.iterchildren(qn("w:p"), qn("w:tbl")):
        style = xp(block, "string(w:pPr/w:pStyle/@w:val)")
        if blocks and (xp(block, "w:pPr/w:pageBreakBefore") or style == "TOCHeading"):
            break
        blocks.append(block)
    return blocks


def background(doc: Any) -> Any:
    """The anchored shape behind the cover (the only one in the body)."""
    (anchor,) = xp(doc.element.body, ".//wp:anchor[a:graphic/a:graphicData/wps:wsp]")
    return anchor


def figure_cells(table: Any) -> list[Any]:
    """The shaded cells of the key figures' grid, in reading order."""
    return xp(table._tbl, ".//w:tc[w:tcPr/w:shd/@w:fill]")


def layout_tables(doc: Any) -> list[Any]:
    return [t for t in doc.tables if xp(t._tbl, "w:tblPr/w:tblLook[@w:firstRow='0']")]


# ----- the cover page ------------------------------------------------------------------------


@pytest.mark.parametrize(("look", "brand"), [("house", DEFAULT_BRAND), ("civic", "1F5F4A")])
@pytest.mark.parametrize("audience", AUDIENCES)
def test_the_cover_is_a_page_sized_shape_of_the_brand_colour_behind_the_text(
    briefs: dict, look: str, brand: str, audience: str
) -> None:
    doc = Document(briefs[look][f"{audience}.docx"])
    section = doc.sections[0]
    anchor = background(doc)
    assert anchor in [a for block in cover_blocks(doc) for a in xp(block, ".//wp:anchor")], "not on the cover"
    assert anchor.get("behindDoc") == "1"
    assert xp(anchor, "string(wp:positionH/@relativeFrom)") == xp(
        anchor, "string(wp:positionV/@relativeFrom)"
    )
    assert xp(anchor, "string(wp:positionH/@relativeFrom)") == "page"
    assert (
        xp(anchor, "number(wp:positionH/wp:posOffset)")
        == xp(anchor, "number(wp:positionV/wp:posOffset)")
        == 0
    )
    assert (int(xp(anchor, "string(wp:extent/@cx)")), int(xp(anchor, "string(wp:extent/@cy)"))) == (
        section.page_width,
        section.page_height,
    )
    assert xp(anchor, "string(.//wps:spPr/a:solidFill/a:srgbClr/@val)") == brand
    fallback = xp(anchor, "ancestor::mc:AlternateContent/mc:Fallback//v:rect")
    assert fallback and fallback[0].get("fillcolor") == f"#{brand.lower()}", (
        "no VML rectangle for older readers"
    )
    assert xp(anchor, "wp:docPr//*[local-name()='decorative']/@val") == ["1"], "not marked decorative"


@pytest.mark.parametrize("audience", AUDIENCES)
def test_the_cover_text_is_white_with_the_accent_as_in_the_pdf(briefs: dict, audience: str) -> None:
    doc = Document(briefs["civic"][f"{audience}.docx"])
    html = html_tree(briefs["civic"][f"{audience}.html"])
    paragraphs = [p for block in cover_blocks(doc) for p in xp(block, "descendant-or-self::w:p")]
    by_text = {text_of(p): p for p in paragraphs if text_of(p)}
    kicker = by_text[squeeze(html.find(".//p[@class='cover-kicker']").text_content())]
    title = by_text[squeeze(html.find(".//p[@class='title']").text_content())]
    assert set(xp(kicker, ".//w:r/w:rPr/w:color/@w:val")) == {"D9632B"}  # civic accent
    assert set(xp(title, ".//w:r/w:rPr/w:color/@w:val")) == {"FFFFFF"}
    terms = [squeeze(dt.text_content()) for dt in html.findall(".//dl[@class='cover-meta']/dt")]
    for term in terms:
        meta = next(p for t, p in by_text.items() if t.startswith(term))
        runs = xp(meta, ".//w:r[w:t]")
        assert xp(runs[0], "string(w:rPr/w:color/@w:val)") == "D9632B", term
        assert xp(runs[-1], "string(w:rPr/w:color/@w:val)") == "FFFFFF", term
    texts = [text_of(p) for p in paragraphs]
    assert all(squeeze(p.text_content()) in " ".join(texts) for p in html.find(".//header").iter("p"))


@pytest.mark.parametrize("audience", AUDIENCES)
def test_the_theme_logo_is_on_the_cover_with_its_alternative_text(briefs: dict, audience: str) -> None:
    doc = Document(briefs["civic"][f"{audience}.docx"])
    alt = html_tree(briefs["civic"][f"{audience}.html"]).find(".//figure[@class='cover-logo']/img").get("alt")
    pictures = [d for block in cover_blocks(doc) for d in xp(block, ".//wp:inline[.//pic:pic]/wp:docPr")]
    assert [d.get("descr") for d in pictures] == [alt]
    first = cover_blocks(doc)[0]
    assert xp(first, ".//pic:pic") and xp(first, ".//wps:wsp"), "the logo comes first, on the shape's page"


def test_the_summary_cover_is_a_band_of_the_brand_colour_and_no_page_of_its_own(briefs: dict) -> None:
    doc = Document(briefs["summary"]["business.docx"])
    html = html_tree(briefs["summary"]["business.html"])
    first = next(doc.element.body.iterchildren(qn("w:p"), qn("w:tbl")))
    assert first.tag == qn("w:tbl"), "the band is the first block"
    assert xp(first, "string(w:tblPr/w:tblLook/@w:firstRow)") == "0"
    assert xp(first, ".//w:tc/w:tcPr/w:shd/@w:fill") == [DEFAULT_BRAND]
    assert not xp(first, ".//w:tblHeader")
    assert text_of(first).startswith(squeeze(html.find(".//p[@class='cover-kicker']").text_content()))
    assert not xp(doc.element.body, ".//wps:wsp"), "no full-page shape in a summary"
    after = first.getnext()
    assert not xp(after, "w:pPr/w:pageBreakBefore[not(@w:val='0')]"), "the summary goes on under its band"
    assert not doc.sections[0].different_first_page_header_footer, (
        "page 1 has the running head, as in the PDF"
    )


# ----- key figures -----------------------------------------------------------------------------


@pytest.mark.parametrize(("look", "columns"), [("house", 2), ("summary", 3)])
@pytest.mark.parametrize("audience", AUDIENCES)
def test_key_figures_are_a_grid_of_shaded_cells(briefs: dict, look: str, columns: int, audience: str) -> None:
    doc = Document(briefs[look][f"{audience}.docx"])
    html = html_tree(briefs[look][f"{audience}.html"])
    figures = html.xpath("//div[contains(@class, 'figures')]/aside")
    assert figures
    (grid,) = [t for t in layout_tables(doc) if DEFAULT_PANEL in xp(t._tbl, ".//w:shd/@w:fill")]
    cells = figure_cells(grid)
    assert len(cells) == len(figures)
    assert {xp(c, "string(w:tcPr/w:shd/@w:fill)") for c in cells} == {DEFAULT_PANEL}
    assert {xp(c, "string(w:tcPr/w:tcBorders/w:left/@w:color)") for c in cells} == {DEFAULT_BRAND}
    rows = [r for r in xp(grid._tbl, "w:tr") if xp(r, "w:tc[w:tcPr/w:shd/@w:fill]")]
    per_row = [len(xp(r, "w:tc[w:tcPr/w:shd/@w:fill]")) for r in rows]
    assert per_row[:-1] == [columns] * (len(per_row) - 1) and 0 < per_row[-1] <= columns
    for cell, aside in zip(cells, figures, strict=True):
        value = squeeze(aside.find("p[@class='figure-value']").text_content())
        label = squeeze(aside.find("p[@class='figure-label']").text_content())
        shown = [text_of(p) for p in xp(cell, "w:p") if text_of(p)]
        assert shown[:2] == [value, label]
        if look == "summary":  # print.css shows value and label only
            assert len(shown) == 2
        else:
            assert len(shown) == len([p for p in aside.iter("p") if squeeze(p.text_content())])
        assert not xp(cell, ".//w:pPr/w:pBdr/*[not(@w:val='nil')]"), "a box inside the box"
    widths = [sum(int(c) for c in xp(r, "w:tc/w:tcPr/w:tcW/@w:w")) for r in xp(grid._tbl, "w:tr")]
    assert len(set(widths)) == 1, "every row spans the grid"


def test_key_figures_take_the_theme_colours(briefs: dict) -> None:
    doc = Document(briefs["civic"]["business.docx"])
    (grid,) = layout_tables(doc)
    cells = figure_cells(grid)
    assert {xp(c, "string(w:tcPr/w:shd/@w:fill)") for c in cells} == {"EEF4F1"}
    assert {xp(c, "string(w:tcPr/w:tcBorders/w:left/@w:color)") for c in cells} == {"1F5F4A"}


def figure_html(count: int) -> str:
    return "".join(
        f'<aside class="callout callout-figure"><p class="figure-value">{n}</p>'
        f'<p class="figure-label">L{n}</p><p>Detail {n}</p></aside>'
        for n in range(count)
    )


def written(body: str, length: str = "full", theme: Any = None) -> Any:
    """The Word document of an HTML body (the cover first, as templates put it)."""
    html = (
        '<!DOCTYPE html><html lang="en"><head><title>T</title></head>'
        f'<body class="brief length-{length}">{body}<h1 id="a">A</h1><p>Text</p></body></html>'
    )
    document = Rendered(html=html, title="T", language="en", template="test")
    return Document(io.BytesIO(write_docx(document, WriteOptions(theme=theme, docx_pages="word"))))


def test_a_last_row_that_is_not_full_shares_the_width() -> None:
    doc = written(f'<div class="figures">{figure_html(3)}</div>')
    (grid,) = doc.tables
    rows = [r for r in xp(grid._tbl, "w:tr") if xp(r, "w:tc[w:tcPr/w:shd/@w:fill]")]
    cells = [[[text_of(p) for p in xp(c, "w:p")] for c in xp(r, "w:tc[w:tcPr/w:shd]")] for r in rows]
    assert cells == [[["0", "L0", "Detail 0"], ["1", "L1", "Detail 1"]], [["2", "L2", "Detail 2"]]]
    (last,) = xp(rows[-1], "w:tc")
    assert int(xp(last, "string(w:tcPr/w:gridSpan/@w:val)")) == len(xp(grid._tbl, "w:tblGrid/w:gridCol"))
    assert not xp(grid._tbl, ".//w:tblHeader")


def test_a_summary_grid_has_three_columns_and_shows_value_and_label() -> None:
    doc = written(f'<div class="figures">{figure_html(5)}</div>', length="summary")
    (grid,) = doc.tables
    rows = [xp(r, "w:tc[w:tcPr/w:shd]") for r in xp(grid._tbl, "w:tr") if xp(r, "w:tc[w:tcPr/w:shd]")]
    assert [len(r) for r in rows] == [3, 2]
    assert [[text_of(p) for p in xp(c, "w:p")] for c in rows[1]] == [["3", "L3"], ["4", "L4"]]
    widths = {sum(int(w) for w in xp(r, "w:tc/w:tcPr/w:tcW/@w:w")) for r in xp(grid._tbl, "w:tr")}
    assert len(widths) == 1


def test_a_cover_without_a_theme_takes_the_house_colours_and_keeps_the_logo_text() -> None:
    body = (
        '<header class="cover">'
        f'<figure class="cover-logo"><img src="{tiny_png()}" alt="Blue square"></figure>'
        '<p class="cover-kicker">K</p><p class="title">T</p></header>'
    )
    doc = written(body)
    assert xp(background(doc), "string(.//a:srgbClr/@val)") == DEFAULT_BRAND
    assert xp(doc.element.body, ".//wp:inline/wp:docPr/@descr") == ["Blue square"]
    theme = load_theme(CIVIC)
    assert xp(background(written(body, theme=theme)), "string(.//a:srgbClr/@val)") == "1F5F4A"


# ----- as LibreOffice lays it out ----------------------------------------------------------------


@pytest.fixture(scope="module")
def soffice() -> str:
    program = shutil.which("soffice")
    if program is None or shutil.which("pdftoppm") is None:
        if os.environ.get("BRIEFGEN_NO_OFFICE") == "1":
            pytest.skip("LibreOffice or pdftoppm is not installed and BRIEFGEN_NO_OFFICE=1")
        pytest.fail(
            "LibreOffice (soffice) and pdftoppm are needed: install them, or set BRIEFGEN_NO_OFFICE=1"
        )
    return program


def page_pixels(pdf: Path, page: int, folder: Path) -> tuple[tuple[int, int], list[tuple[int, int, int]]]:
    """The size and RGB pixels of one page of ``pdf`` at 20 dpi (pdftoppm's PPM, read by hand)."""
    stem = folder / f"page-{page}"
    subprocess.run(
        ["pdftoppm", "-r", "20", "-f", str(page), "-l", str(page), "-singlefile", str(pdf), str(stem)],
        check=True,
        timeout=60,
    )
    data = stem.with_suffix(".ppm").read_bytes()
    header = re.match(rb"P6\s+(\d+)\s+(\d+)\s+255\s", data)
    assert header, "not a binary PPM"
    width, height = int(header[1]), int(header[2])
    raw = data[header.end() :]
    pixels = [(raw[i], raw[i + 1], raw[i + 2]) for i in range(0, width * height * 3, 3)]
    return (width, height), pixels


def share(pixels: list[tuple[int, int, int]], colour: str) -> float:
    target = bytes.fromhex(colour)
    near = sum(1 for p in pixels if all(abs(a - b) <= 12 for a, b in zip(p, target, strict=True)))
    return near / len(pixels)


@pytest.mark.parametrize(("look", "brand"), [("house", DEFAULT_BRAND), ("civic", "1F5F4A")])
def test_libreoffice_lays_out_page_one_in_the_brand_colour(
    briefs: dict, soffice: str, tmp_path: Path, look: str, brand: str
) -> None:
    pdf = convert_to_pdf(soffice, briefs[look]["business.docx"], tmp_path / "lo")
    reader = pypdf.PdfReader(pdf)
    _, pixels = page_pixels(pdf, 1, tmp_path)
    assert share(pixels, brand) > 0.85, "page 1 is not mostly the brand colour"
    _, second = page_pixels(pdf, 2, tmp_path)
    assert share(second, brand) < 0.1, "the colour runs on past the cover"
    title = squeeze(html_tree(briefs[look]["business.html"]).find(".//p[@class='title']").text_content())
    assert title in squeeze(reader.pages[0].extract_text())
    if look == "civic":
        assert list(reader.pages[0].images), "the logo is not on page one"


def test_libreoffice_lays_out_the_summary_band_at_the_top_of_page_one(
    briefs: dict, soffice: str, tmp_path: Path
) -> None:
    pdf = convert_to_pdf(soffice, briefs["summary"]["business.docx"], tmp_path / "lo")
    (width, height), pixels = page_pixels(pdf, 1, tmp_path)
    rows = [pixels[y * width : (y + 1) * width] for y in range(height)]
    banded = [share(row, DEFAULT_BRAND) > 0.7 for row in rows]
    assert any(banded[: height // 3]), "no band at the top"
    assert 0.05 < sum(banded) / height < 0.35, "the band is a band, not a page"


def test_a_figure_cell_sets_value_label_and_detail_as_the_pdf_does() -> None:
    doc = written(
        '<div class="figures"><aside class="callout callout-figure"><p class="figure-value">€3</p>'
        '<p class="figure-label">Price <span class="figure-before">(previously €5)</span></p>'
        '<p>Detail text.</p><p class="figure-source">Source: <a href="https://example.org/">X</a></p>'
        "</aside></div>"
    )
    (cell,) = figure_cells(doc.tables[0])
    value, label, detail, source = xp(cell, "w:p")
    styles = {s.style_id: s.name for s in doc.styles}
    assert [styles[xp(p, "string(w:pPr/w:pStyle/@w:val)")] for p in (value, label, detail, source)] == [
        "Figure Value",
        "Figure Label",
        "Normal",
        "Normal",
    ]
    assert set(xp(value, ".//w:r/w:rPr/w:sz/@w:val")) == {"34"}  # 17pt
    assert (
        set(xp(detail, ".//w:r/w:rPr/w:sz/@w:val")) == set(xp(source, ".//w:r/w:rPr/w:sz/@w:val")) == {"18"}
    )
    (before,) = [r for r in xp(label, "w:r") if "previously" in "".join(xp(r, "w:t/text()"))]
    assert xp(before, "string(w:rPr/w:b/@w:val)") in ("0", "false")
    assert xp(before, "string(w:rPr/w:color/@w:val)") == DEFAULT_COLOURS["muted"][1:].upper()
