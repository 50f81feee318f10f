"""Themes: one file brands the PDF, the HTML and the Word brief alike."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pypdf
import pytest
from docx import Document
from docx.oxml.ns import qn

from briefgen.build import BuildRequest, build
from briefgen.cli import main
from briefgen.log import collect
from briefgen.paths import builtin_content, builtin_templates

THEMES = builtin_templates() / "themes"


@pytest.fixture(scope="module")
def civic(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("civic")
    result = build(
        BuildRequest(
            content=builtin_content(),
            out=out,
            audiences=("business",),
            formats=("html", "pdf", "docx"),
            theme=THEMES / "civic.toml",
        )
    )
    assert not result.warnings, result.warnings
    return {r.format: out / r.path for r in result.files}


def test_html_carries_the_theme_colours_and_logo(civic):
    html = civic["html"].read_text()
    assert "--brand: #1f5f4a;" in html and "--accent: #d9632b;" in html
    assert '<img src="data:image/png;base64,' in html and 'alt="Open Policy Lab logo"' in html


def test_pdf_carries_the_footer_logo_and_colours(civic):
    data = civic["pdf"].read_bytes()
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert "Open Policy Lab · briefings" in reader.pages[2].extract_text()
    assert re.search(rb"/Subtype\s*/Image", data)
    # The cover is filled with the theme's brand green (31, 95, 74) instead of the house navy.
    content = reader.pages[0].get_contents().get_data()
    assert re.search(rb"0\.1215(69|686)\d* 0\.3725\d* 0\.2901\d* (rg|scn)", content)  # WeasyPrint, Typst


def test_word_styles_take_the_theme_colours_and_fonts(civic):
    doc = Document(str(civic["docx"]))
    heading = doc.styles["Heading 1"]
    assert str(heading.font.color.rgb) == "123A2D"
    fonts = heading.element.rPr.find(qn("w:rFonts"))
    assert fonts.get(qn("w:ascii")) == "Brief Sans"  # civic is sans throughout, as its PDF
    assert doc.styles["Normal"].element.rPr.find(qn("w:rFonts")).get(qn("w:ascii")) == "Brief Sans"


def test_word_header_has_the_logo_and_footer_the_text(civic):
    doc = Document(str(civic["docx"]))
    section = doc.sections[0]
    descr = section.header._element.xpath(".//wp:docPr/@descr")
    assert descr == ["Open Policy Lab logo"]
    assert "Open Policy Lab · briefings" in section.footer.paragraphs[0].text


def test_the_second_theme_contrasts_and_sets_letter_paper(tmp_path):
    result = build(
        BuildRequest(
            content=builtin_content(),
            out=tmp_path,
            audiences=("government",),
            formats=("pdf",),
            theme=THEMES / "slate.toml",
        )
    )
    box = pypdf.PdfReader(tmp_path / result.files[0].path).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)


def test_a_flag_overrides_the_theme_page_size(tmp_path):
    result = build(
        BuildRequest(
            content=builtin_content(),
            out=tmp_path,
            audiences=("government",),
            formats=("pdf",),
            theme=THEMES / "slate.toml",
            page_size="a4",
        )
    )
    box = pypdf.PdfReader(tmp_path / result.files[0].path).pages[0].mediabox
    assert round(float(box.height)) == 842


def test_an_svg_logo_works_in_pdf_and_is_a_warning_for_word(tmp_path):
    (tmp_path / "logo.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20"/></svg>'
    )
    (tmp_path / "t.toml").write_text('organisation = "SVG Org"\nlogo = "logo.svg"\n')
    with collect() as warnings:
        build(
            BuildRequest(
                content=builtin_content(),
                out=tmp_path / "o",
                audiences=("business",),
                formats=("pdf", "docx"),
                theme=tmp_path / "t.toml",
            )
        )
    assert any("Word takes PNG or JPEG" in w for w in warnings)
    # the default engine (Typst) draws the SVG on the cover as vector paths, tagged with its alt text
    cover = pypdf.PdfReader(tmp_path / "o" / "business-brief.pdf").pages[0].get_contents().get_data()
    assert b"/Alt(SVG Org logo)" in cover and b"40 20 l" in cover


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[colours]\nbrand = "green"\n', "colours.brand"),
        ('colour = "#000000"\n', "colour: Extra inputs are not permitted"),
        ('logo = "missing.png"\n', "logo: missing.png is missing"),
        ('logo = "x.gif"\n', "use a PNG, JPEG or SVG"),
        ("name = \n", "line 1"),
    ],
)
def test_a_bad_theme_is_a_usage_error_naming_file_and_field(runner, tmp_path, text, expected):
    (tmp_path / "bad.toml").write_text(text)
    result = runner.invoke(main, ["build", "--theme", "bad.toml", "--format", "html"])
    assert result.exit_code == 2, result.output
    assert "--theme: bad.toml" in result.output and expected in result.output
