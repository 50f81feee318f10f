"""One look, two engines: the Typst and WeasyPrint PDFs of the same brief, read as a reader would."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pypdf
import pytest
from click.testing import CliRunner
from helpers import AUDIENCES, EPOCH, small

from briefgen.build import BuildRequest, build
from briefgen.cli import main
from briefgen.log import collect
from briefgen.paths import builtin_content, builtin_templates
from briefgen.theme import load as load_theme
from briefgen.writers import WriteOptions
from briefgen.writers.docx.office import pdf_outline
from briefgen.writers.pdf import engine_for
from briefgen.writers.pdf import write as write_pdf
from briefgen.writers.pdf.check import check

THEMES = builtin_templates() / "themes"


def built_with(folder: Path, engine: str, **extra: object) -> dict[str, Path]:
    """The shipped briefs as PDFs from ``engine``, keyed by audience."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        request = BuildRequest(
            content=builtin_content(), out=folder, formats=("pdf",), pdf_engine=engine, **extra
        )
        result = build(request)
    assert not result.warnings, result.warnings
    return {record.audience: folder / record.path for record in result.files}


@pytest.fixture(scope="module")
def typst_briefs(shipped_briefs: Callable[..., dict[str, Path]]) -> dict[str, Path]:
    """The default engine's briefs (Typst), shared with the other PDF tests."""
    return {audience: shipped_briefs("pdf")[f"{audience}.pdf"] for audience in AUDIENCES}


@pytest.fixture(scope="module")
def weasyprint_briefs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return built_with(tmp_path_factory.mktemp("weasyprint"), "weasyprint")


def reader(path: Path | bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(path) if isinstance(path, bytes) else path)


def squash(text: str) -> str:
    return re.sub(r"[\s\u00ad-]+", "", text)


@pytest.mark.parametrize("audience", AUDIENCES)
def test_every_heading_is_on_the_same_page_or_the_next(
    typst_briefs: dict[str, Path], weasyprint_briefs: dict[str, Path], audience: str
) -> None:
    typst, weasy = reader(typst_briefs[audience]), reader(weasyprint_briefs[audience])
    marks_t, marks_w = pdf_outline(typst), pdf_outline(weasy)
    assert [(level, title) for level, title, _ in marks_t] == [(level, title) for level, title, _ in marks_w]
    assert len(marks_t) >= 30
    for (_, title, page_t), (_, _, page_w) in zip(marks_t, marks_w, strict=True):
        assert abs(page_t - page_w) <= 1, (title, page_t, page_w)
        # and the heading is really printed on that page
        assert squash(title) in squash(typst.pages[page_t - 1].extract_text()), title
    assert abs(len(typst.pages) - len(weasy.pages)) <= 1


@pytest.mark.parametrize("engine", ["typst", "weasyprint"])
@pytest.mark.parametrize("audience", AUDIENCES)
def test_cover_contents_running_heads_and_page_labels(
    typst_briefs: dict[str, Path], weasyprint_briefs: dict[str, Path], engine: str, audience: str
) -> None:
    pdf = reader((typst_briefs if engine == "typst" else weasyprint_briefs)[audience])
    pages = [page.extract_text() for page in pdf.pages]
    total = len(pages)
    assert "Page 1 of" not in pages[0]  # the cover has no furniture
    assert "Contents" in pages[1] and f"Page 2 of {total}" in pages[1]
    # contents entries with real page numbers: the outline's pages
    numbers = {squash(title): page for level, title, page in pdf_outline(pdf) if level == 1}
    for title, number in re.findall(r"^(.+?)\s*(?:\.\s*){3,}(\d+)\s*$", pages[1], flags=re.M):
        if squash(title) in numbers:
            assert numbers[squash(title)] == int(number), title
    # every later page: the issuer at the foot, "Page X of Y", and the chapter as running head
    chapters = [(title, page) for level, title, page in pdf_outline(pdf) if level == 1]
    for number in range(3, total + 1):
        text = pages[number - 1]
        assert f"Page {number} of {total}" in text
        current = [title for title, page in chapters if page <= number][-1]
        assert squash(current) in squash(text), (number, current)


@pytest.mark.parametrize("engine", ["typst", "weasyprint"])
def test_a_table_that_breaks_repeats_its_header(
    typst_briefs: dict[str, Path], weasyprint_briefs: dict[str, Path], engine: str
) -> None:
    pdf = reader((typst_briefs if engine == "typst" else weasyprint_briefs)["business"])
    header = squash("Route What it funds How to engage")
    pages_with_header = [n for n, page in enumerate(pdf.pages) if header in squash(page.extract_text())]
    assert len(pages_with_header) >= 2, pages_with_header  # the routes table spans two pages


def pixel(pdf: Path | bytes, page: int, x: float, y: float) -> tuple[int, int, int]:
    """The colour at (x, y) (fractions of the page) of ``page``, rendered by poppler."""
    from PIL import Image

    data = pdf.read_bytes() if isinstance(pdf, Path) else pdf
    png = subprocess.run(
        ["pdftoppm", "-png", "-r", "20", "-f", str(page), "-l", str(page), "-"],
        input=data,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return image.getpixel((int(x * image.width), int(y * image.height)))


def near(colour: tuple[int, int, int], hex_colour: str) -> bool:
    wanted = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return all(abs(a - b) <= 6 for a, b in zip(colour, wanted, strict=True))


@pytest.mark.parametrize(("theme", "size"), [("civic", (595, 842)), ("slate", (612, 792))])
def test_themes_colour_the_cover_and_set_the_page_size(theme: str, size: tuple[int, int]) -> None:
    loaded = load_theme(THEMES / f"{theme}.toml")
    options = WriteOptions(pdf_engine="typst", theme=loaded, page_size=loaded.page_size or "a4")
    document = small("<p>Body</p>").html.replace(
        "<body>",
        '<body><header class="cover"><figure class="cover-logo">'
        f'<img src="{loaded.logo_url}" alt="Logo of {theme}">'
        '</figure><p class="cover-kicker">Kicker</p><p class="title">Title</p></header>',
    )
    from briefgen.render import Rendered

    pdf = write_pdf(Rendered(html=document, title="T", language="en", template="t"), options)
    box = reader(pdf).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == size
    assert near(pixel(pdf, 1, 0.02, 0.02), loaded.colours.brand)  # full bleed: the very corner
    assert near(pixel(pdf, 1, 0.98, 0.98), loaded.colours.brand)
    assert re.search(rb"/Subtype\s*/Image", pdf)
    assert b"Logo of " + theme.encode() in pdf


def test_summary_with_a_theme_matches_in_both_engines(tmp_path: Path) -> None:
    theme = THEMES / "civic.toml"
    typst = built_with(tmp_path / "t", "typst", length="summary", theme=theme, audiences=("business",))
    weasy = built_with(tmp_path / "w", "weasyprint", length="summary", theme=theme, audiences=("business",))
    pdf_t, pdf_w = reader(typst["business"]), reader(weasy["business"])
    # a page of text, the at-a-glance page, the recommendations: three pages; WeasyPrint's taller
    # table rows may carry the last lines over to a fourth
    assert len(pdf_t.pages) <= 3
    assert len(pdf_t.pages) <= len(pdf_w.pages) <= len(pdf_t.pages) + 1
    text = squash("".join(page.extract_text() for page in pdf_t.pages))
    assert squash("Open Policy Lab · briefings") in text  # the theme's footer
    assert squash("Executive summary") in text
    assert near(pixel(typst["business"], 1, 0.5, 0.12), "#1f5f4a")  # the header band


@pytest.mark.parametrize(
    ("language", "label"),
    [
        ("fr", "Page 2 sur"),
        ("de", "Seite 2 von"),
        ("es", "Página 2 de"),
        ("it", "Pagina 2 di"),
        ("pl", "Strona 2 z"),
    ],
)
def test_languages_label_pages_and_set_the_document_language(
    tmp_path: Path, language: str, label: str
) -> None:
    with collect():
        built = built_with_warnings(tmp_path, language)
    pdf = reader(built)
    assert pdf.trailer["/Root"]["/Lang"] == language
    assert label in pdf.pages[1].extract_text()


def built_with_warnings(folder: Path, language: str) -> Path:
    """A brief in ``language`` (a language without a content translation warns; that is fine here)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        request = BuildRequest(
            content=builtin_content(),
            out=folder,
            formats=("pdf",),
            audiences=("government",),
            language=language,
            length="summary",
        )
        result = build(request)
    return folder / result.files[0].path


def test_focus_and_region_tailoring_reach_the_typst_pdf(tmp_path: Path) -> None:
    out = tmp_path / "o"
    args = [
        "build",
        "--audience",
        "business",
        "--format",
        "pdf",
        "--out",
        str(out),
        "--focus",
        "infrastructure",
    ]
    result = CliRunner().invoke(main, [*args, "--region", "western-balkans"])
    assert result.exit_code == 0, result.output
    text = squash("".join(page.extract_text() for page in reader(next(out.glob("*.pdf"))).pages))
    assert squash("(your focus)") in text and squash("Focus region: Western Balkans") in text


def test_an_unknown_element_is_named_and_its_text_kept() -> None:
    with collect() as warnings:
        pdf = write_pdf(
            small("<blink>kept words</blink><p>x <marquee>inline words</marquee></p>"), WriteOptions()
        )
    assert any("<blink>" in w for w in warnings) and any("<marquee>" in w for w in warnings)
    text = reader(pdf).pages[0].extract_text()
    assert "kept words" in text and "inline words" in text


def test_inline_svg_charts_are_drawn_with_their_alternative_text() -> None:
    svg = (
        '<svg viewBox="0 0 100 40" role="img" aria-label="Roaming price fell">'
        "<title>Roaming price fell</title>"
        '<rect x="0" y="0" width="60" height="40" fill="#123c69"/></svg>'
    )
    html = (
        f'<figure class="chart">{svg}<figcaption>Price per megabyte</figcaption>'
        "<details><summary>Data</summary><table><thead><tr><th>Year</th><th>Price</th></tr></thead>"
        "<tbody><tr><td>2019</td><td>0.20</td></tr></tbody></table></details></figure>"
    )
    with collect() as warnings:
        pdf = write_pdf(small(html), WriteOptions(source_date_epoch=int(EPOCH)))
    assert not warnings, warnings
    text = reader(pdf).pages[0].extract_text()
    assert "Price per megabyte" in text and "2019" in text
    assert b"Roaming price fell" in pdf_streams(pdf)  # the figure's /Alt in the structure tree
    assert b"/Figure" in pdf_streams(pdf)


def pdf_streams(pdf: bytes) -> bytes:
    """The PDF's bytes and every stream decoded (object streams hold the structure tree)."""
    import zlib

    parts = [pdf]
    for match in re.finditer(rb"stream\r?\n", pdf):
        try:
            parts.append(zlib.decompressobj().decompress(pdf[match.end() :]))
        except zlib.error:
            continue
    return b"\n".join(parts)


# ----- choosing the engine -----------------------------------------------------------------------


def test_auto_is_typst_and_an_edited_stylesheet_brings_weasyprint(tmp_path: Path) -> None:
    ejected = tmp_path / "ejected"
    result = CliRunner().invoke(main, ["templates", "eject", "business", "--to", str(ejected)])
    assert result.exit_code == 0, result.output
    assert (ejected / "typst" / "brief.typ").is_file()
    assert engine_for(WriteOptions()) == ("typst", None)
    assert engine_for(WriteOptions(templates=(ejected,)))[0] == "typst"  # an unedited copy
    edited = tmp_path / "edited"
    (edited / "css").mkdir(parents=True)
    (edited / "css" / "print.css").write_text("h1 { color: red; }")
    engine, why = engine_for(WriteOptions(templates=(edited,)))
    assert engine == "weasyprint" and why is not None and "print.css" in why
    assert engine_for(WriteOptions(templates=(edited,), pdf_engine="typst")) == ("typst", None)


def test_the_theme_can_choose_the_engine_and_the_flag_wins(tmp_path: Path) -> None:
    theme = tmp_path / "t.toml"
    theme.write_text('name = "T"\npdf_engine = "weasyprint"\n')
    loaded = load_theme(theme)
    assert engine_for(WriteOptions(theme=loaded))[0] == "weasyprint"
    assert engine_for(WriteOptions(theme=loaded, pdf_engine="typst"))[0] == "typst"


def test_the_cli_says_in_one_line_why_weasyprint_was_chosen(tmp_path: Path, mini_copy: Path) -> None:
    folder = tmp_path / "tpl" / "css"
    folder.mkdir(parents=True)
    (folder / "print.css").write_text("h1 { color: #a00; }")
    args = ["build", "--content", str(mini_copy), "--audience", "business", "--format", "pdf"]
    result = CliRunner().invoke(
        main, [*args, "--templates", str(folder.parent), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "PDF engine: WeasyPrint" in line]
    assert len(lines) == 1 and "print.css" in lines[0]


def test_the_typst_path_never_imports_weasyprint(tmp_path: Path, mini_copy: Path) -> None:
    code = (
        "import sys\nfrom briefgen.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print('weasyprint' in sys.modules, 'pydyf' in sys.modules)\n"
    )
    args = [
        "build",
        "--content",
        str(mini_copy),
        "--audience",
        "business",
        "--format",
        "pdf",
        "--out",
        str(tmp_path),
    ]
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False False"
    assert list(tmp_path.glob("*.pdf"))


def test_a_typst_batch_builds_every_pdf_whole_and_tagged(tmp_path: Path, mini_copy: Path) -> None:
    listing = tmp_path / "list.csv"
    listing.write_text(
        "id,name,organisation,audience\n"
        "a,Amina Diallo,Ministry of Examples,business\n"
        "b,Kwame Asante,Agency of Samples,business\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    args = ["batch", str(listing), "--content", str(mini_copy), "--format", "pdf", "--out", str(out)]
    result = CliRunner().invoke(main, [*args, "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert "reused a shared body" not in result.output  # no cover swap: each PDF compiled whole
    pdfs = {path.name: reader(path) for path in out.glob("*.pdf")}
    assert len(pdfs) == 2
    for name, pdf in pdfs.items():
        first = pdf.pages[0].extract_text()
        mine, other = ("Amina", "Kwame") if "Amina" in name else ("Kwame", "Amina")
        assert f"Prepared for {mine}" in first
        assert not any(other in page.extract_text() for page in pdf.pages)
        assert "/StructTreeRoot" in pdf.trailer["/Root"]


@pytest.mark.parametrize(("variant", "marker"), [("pdf/ua-1", b"pdfuaid:part"), ("pdf/a-3b", b"pdfaid:part")])
def test_typst_checks_the_whole_shipped_brief_against_the_standard(
    tmp_path: Path, variant: str, marker: bytes
) -> None:
    # Typst refuses to write a PDF/UA-1 or PDF/A-3b file that breaks the standard's rules it checks
    # (a contents entry wrapped by a show rule, an image without alt text...): the build must pass
    theme = THEMES / "civic.toml"
    built = built_with(tmp_path, "typst", pdf_variant=variant, theme=theme, audiences=("government",))
    pdf = reader(built["government"])
    assert marker in pdf.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert len(pdf.pages) >= 10
    # and an independent validator finds nothing wrong, for the standard asked and for PDF/UA-1
    for profile in ("ua-1", variant.removeprefix("pdf/")):
        assert check(built["government"], profile) == [], profile


def test_every_default_typst_brief_is_a_valid_pdf_ua_1(typst_briefs: dict[str, Path]) -> None:
    # no --pdf-variant: the Typst engine still claims PDF/UA-1, and the claim holds
    for audience, path in typst_briefs.items():
        metadata = reader(path).trailer["/Root"]["/Metadata"].get_object().get_data()
        assert b"pdfuaid:part" in metadata, audience
        assert check(path, "auto") == [], audience


def test_a_process_forked_after_a_compile_still_compiles(tmp_path: Path) -> None:
    # Typst's thread pool does not survive a fork: a batch worker forked from a process that had
    # compiled would wait forever, so such a child compiles in a fresh process instead
    code = (
        "import os, sys\n"
        "from briefgen.render import Rendered\n"
        "from briefgen.writers import WriteOptions\n"
        "from briefgen.writers.pdf import write\n"
        "def brief(text):\n"
        "    html = f'<!DOCTYPE html><html lang=\"en\"><head><title>T</title></head>'\n"
        "    html += f'<body><p>{text}</p></body></html>'\n"
        "    return Rendered(html=html, title='T', language='en', template='t')\n"
        "write(brief('parent'), WriteOptions())\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    data = write(brief('child'), WriteOptions())\n"
        "    os._exit(0 if data.startswith(b'%PDF') else 3)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "sys.exit(os.waitstatus_to_exitcode(status))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_a_stream_whose_data_ends_in_cr_keeps_its_bytes_and_loses_the_cr_before_endstream() -> None:
    import pikepdf

    from briefgen.writers.pdf.streamends import SIGN, mended

    document = pikepdf.new()
    document.add_blank_page()
    ending_in_cr = pikepdf.Stream(document, b"0 0 m 10 10 l S\r")
    document.pages[0].obj["/Contents"] = document.make_indirect(ending_in_cr)
    written = io.BytesIO()
    document.save(written, compress_streams=False)
    before = written.getvalue()
    assert SIGN in before  # the case PDF/A's stream-length rule misreads
    after = mended(before)
    assert SIGN not in after
    with pikepdf.open(io.BytesIO(after)) as again:
        assert again.pages[0].obj["/Contents"].read_bytes() == b"0 0 m 10 10 l S\r"
    plain = mended(after)
    assert plain == after  # nothing to mend: the very same bytes


CHART_TITLE = "Average price of mobile data roaming in the Western Balkans"


def caption_line(pdf: Path) -> tuple[int, float, list[str]]:
    """The page (1-based) that shows the roaming chart's caption, the caption's baseline (points
    from the bottom) and that page's text lines."""
    found: list[float] = []

    def visit(text: str, cm: list, tm: list, *_: object) -> None:
        if text.strip().startswith(CHART_TITLE):
            found.append(tm[4] * cm[1] + tm[5] * cm[3] + cm[5])

    for number, page in enumerate(reader(pdf).pages, start=1):
        text = page.extract_text(visitor_text=visit)
        if found:
            return number, found[0], text.splitlines()
    raise AssertionError(f"no page shows {CHART_TITLE!r} in {pdf.name}")


def drawn_width(pdf: Path, page: int, baseline: float) -> float:
    """The width in points of what is drawn in the 100 points above a caption's baseline (the chart)."""
    from PIL import Image

    dpi = 72
    png = subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), str(pdf)],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    image = Image.open(io.BytesIO(png)).convert("L")
    top, bottom = image.height - int(baseline + 110), image.height - int(baseline + 12)
    band = image.crop((0, top, image.width, bottom)).point(lambda v: 255 if v < 200 else 0)
    box = band.getbbox()
    assert box is not None, "nothing is drawn above the caption"
    return (box[2] - box[0]) * 72 / dpi


@pytest.mark.parametrize("audience", AUDIENCES)
def test_charts_keep_their_size_and_caption_lines_in_both_engines(
    audience: str, typst_briefs: dict[str, Path], weasyprint_briefs: dict[str, Path]
) -> None:
    widths = {}
    for engine, briefs in (("typst", typst_briefs), ("weasyprint", weasyprint_briefs)):
        page, baseline, lines = caption_line(briefs[audience])
        widths[engine] = drawn_width(briefs[audience], page, baseline)
        # title, source and the data's label each on a line of its own, in that order
        title = next(i for i, line in enumerate(lines) if line.startswith(CHART_TITLE))
        assert lines[title + 1].startswith("Source: Western Balkans regional roaming agreement"), engine
        assert lines[title + 2] == "The chart's data", engine
        assert lines[title + 3].startswith("Item") and "Value" in lines[title + 3], engine
    # drawn at the SVG's own width (187 pt, not the 480 pt of the line), alike in both engines
    assert widths["typst"] < 200 and widths["weasyprint"] < 200, widths
    assert abs(widths["typst"] - widths["weasyprint"]) < 6, widths
