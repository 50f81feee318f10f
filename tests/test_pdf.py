"""PDF briefs, opened the way a reader and an accessibility checker would open them."""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Callable
from pathlib import Path

import pypdf
import pytest
from click.testing import CliRunner
from helpers import AUDIENCES, EPOCH, html_headings, small, tiny_png

from briefgen.build import BuildRequest, build
from briefgen.log import collect
from briefgen.paths import builtin_content
from briefgen.writers import WriteOptions
from briefgen.writers.docx.office import pdf_outline
from briefgen.writers.pdf import write as write_pdf


def shipped_font_names() -> set[str]:
    """The PostScript and family names of the shipped fonts (WeasyPrint names a font by its family,
    "Brief Sans"; Typst by its PostScript name, "NotoSans-Regular")."""
    from fontTools.ttLib import TTFont

    from briefgen.paths import builtin_templates

    names: set[str] = set()
    for path in (builtin_templates() / "fonts").glob("*.ttf"):
        with TTFont(path, lazy=True) as font:
            names.add(str(font["name"].getDebugName(6)))
            names.add(str(font["name"].getDebugName(1)).replace(" ", ""))
    return names


@pytest.fixture(scope="module")
def built(shipped_briefs: Callable[..., dict[str, Path]]) -> dict[str, Path]:
    """Both shipped audiences as PDF and HTML, built once for the session."""
    return shipped_briefs("pdf", "html")


def outline(reader: pypdf.PdfReader) -> list[tuple[int, str, int]]:
    """Flatten the bookmarks into (level, title, 0-based page index)."""
    return [(level, title, page - 1) for level, title, page in pdf_outline(reader)]


def squash(text: str) -> str:
    """Text without whitespace and soft hyphens, to compare across line breaks."""
    return re.sub(r"[\s\u00ad-]+", "", text)


@pytest.mark.parametrize("audience", AUDIENCES)
def test_bookmarks_mirror_headings_and_land_on_their_page(built: dict[str, Path], audience: str) -> None:
    reader = pypdf.PdfReader(built[f"{audience}.pdf"])
    marks = outline(reader)
    assert len(marks) >= 8
    assert [(level, title) for level, title, _ in marks] == html_headings(built[f"{audience}.html"])
    for _, title, page in marks:
        assert squash(title) in squash(reader.pages[page].extract_text()), (title, page)


@pytest.mark.parametrize("audience", AUDIENCES)
def test_toc_page_numbers_are_the_real_pages(built: dict[str, Path], audience: str) -> None:
    reader = pypdf.PdfReader(built[f"{audience}.pdf"])
    pages = {squash(title): page + 1 for level, title, page in outline(reader) if level <= 2}
    toc_text = reader.pages[1].extract_text()
    assert "Contents" in toc_text
    entries = re.findall(r"^(.+?)\s*(?:\.\s*){3,}(\d+)\s*$", toc_text, flags=re.M)
    assert len(entries) == len(pages), toc_text
    for title, number in entries:
        assert pages[squash(title)] == int(number), title


@pytest.mark.parametrize("audience", AUDIENCES)
def test_metadata_language_tags_and_fonts(built: dict[str, Path], audience: str) -> None:
    reader = pypdf.PdfReader(built[f"{audience}.pdf"])
    info = reader.metadata
    assert info.title and "Digital Strategy" in info.title
    assert "European Commission" in info.author
    assert info.subject and info.get("/Keywords")
    assert info.creation_date.year == 2025 and info.creation_date.month == 6
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "en"
    assert bool(root["/MarkInfo"]["/Marked"])
    assert "/StructTreeRoot" in root
    assert "/EmbeddedFiles" not in root.get("/Names", {})
    assert "/AF" not in root
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"].get("/Font", {}).values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            fonts[str(font["/BaseFont"])] = any(
                k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")
            )
    assert fonts and all(fonts.values()), fonts
    shipped = shipped_font_names()
    assert all(name.split("+")[-1].lstrip("/") in shipped for name in fonts), ("shipped fonts only", fonts)


@pytest.mark.parametrize("audience", AUDIENCES)
def test_cover_has_no_page_number_and_later_pages_do(built: dict[str, Path], audience: str) -> None:
    reader = pypdf.PdfReader(built[f"{audience}.pdf"])
    total = len(reader.pages)
    assert "Page 1 of" not in reader.pages[0].extract_text()
    assert f"Page 2 of {total}" in reader.pages[1].extract_text()
    assert f"Page {total} of {total}" in reader.pages[-1].extract_text()


def test_rebuild_is_byte_identical(
    built: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    build(BuildRequest(content=builtin_content(), out=tmp_path, formats=("pdf",), audiences=("business",)))
    assert (tmp_path / "business-brief.pdf").read_bytes() == built["business.pdf"].read_bytes()


class CountingHandler(http.server.BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> str:
    httpd = http.server.HTTPServer(("127.0.0.1", 0), CountingHandler)
    CountingHandler.hits = 0
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def test_hostile_urls_are_refused_with_a_warning(server: str, tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not for briefs")
    body = (
        f'<img src="{server}/img.png" alt="x"><img src="file://{secret}" alt="y">'
        f'<img src="file:///dev/zero" alt="z"><link rel="attachment" href="file://{secret}">'
        f'<a rel="attachment" href="file://{secret}">a</a>'
        f'<div style="background: url({server}/bg.png)">x</div>'
    )
    with collect() as warnings:
        pdf = write_pdf(small(body), WriteOptions())
    assert CountingHandler.hits == 0
    text = "\n".join(warnings)
    assert f"{server}/img.png" in text and f"file://{secret}" in text and "/dev/zero" in text
    assert "attachment" in text
    reader = pypdf.PdfReader(__import__("io").BytesIO(pdf))
    assert "/EmbeddedFiles" not in reader.trailer["/Root"].get("/Names", {})
    assert b"not for briefs" not in pdf


def test_character_without_a_shipped_font_is_named() -> None:
    with collect() as warnings:
        write_pdf(small('<p id="greeting">Καλημέρα, добрый день, 你好</p>'), WriteOptions())
    joined = "\n".join(warnings)
    assert "U+4F60" in joined and "greeting" in joined
    assert "U+039A" not in joined and "U+0434" not in joined  # Greek and Cyrillic are covered


@pytest.mark.parametrize("variant", ["pdf/ua-1", "pdf/a-3b"])
def test_variants(variant: str) -> None:
    pdf = write_pdf(small("<p>Body</p>"), WriteOptions(pdf_variant=variant, source_date_epoch=0))
    reader = pypdf.PdfReader(__import__("io").BytesIO(pdf))
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root and root["/Lang"] == "en"
    xmp = root["/Metadata"].get_object().get_data()
    assert (b"pdfuaid:part" in xmp) if variant == "pdf/ua-1" else (b"pdfaid:part" in xmp)


def test_letter_page_size() -> None:
    pdf = write_pdf(small("<p>Body</p>"), WriteOptions(page_size="letter"))
    box = pypdf.PdfReader(__import__("io").BytesIO(pdf)).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)


def test_strict_turns_a_refused_resource_into_an_error(tmp_path: Path) -> None:
    from briefgen.cli import main

    templates = tmp_path / "tpl"
    templates.mkdir()
    base = (Path(__file__).parents[1] / "templates" / "business.html.j2").read_text()
    (templates / "business.html.j2").write_text(
        base.replace(
            '{% extends "base.html.j2" %}',
            '{% extends "base.html.j2" %}\n{% block head %}'
            '<link rel="stylesheet" href="http://127.0.0.1:9/x.css">{% endblock %}',
        )
    )
    args = ["build", "--audience", "business", "--format", "pdf", "--templates", str(templates)]
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "o"), "--strict"])
    assert result.exit_code == 1, result.output
    assert "refused to fetch http://127.0.0.1:9/x.css" in result.output
    assert not (tmp_path / "o" / "business-brief.pdf").exists()


def test_image_without_alternative_text_is_a_warning() -> None:
    png = tiny_png()
    with collect() as warnings:
        pdf = write_pdf(
            small(f'<figure><img src="{png}"></figure><img src="{png}" alt="Logo">'), WriteOptions()
        )
    missing_alt = [w for w in warnings if "no alternative text" in w]
    assert len(missing_alt) == 1 and missing_alt[0].startswith("image data:image/png")
    assert re.search(rb"/Subtype\s*/Image", pdf)
