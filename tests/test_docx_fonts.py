"""The Word brief carries the PDF's fonts: the shipped faces it uses, embedded as Word embeds them.

Checked on the package itself (font parts, content type, relationships, font table, settings,
obfuscation undone back to the shipped faces, renamed), on what varies it (themes, references
naming other fonts, --no-embed-fonts, characters for Brief Fallback), on reproducibility, and on
what LibreOffice makes of it: its PDF of the .docx is set in exactly the embedded faces, the
faces briefgen's own PDF uses, also on a machine whose only fonts are DejaVu.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from fontTools.ttLib import TTFont
from helpers import EPOCH, small
from lxml import etree

from briefgen.paths import builtin_content, builtin_templates
from briefgen.render import render
from briefgen.tailor import Options, tailor
from briefgen.theme import Theme
from briefgen.validate import validate
from briefgen.writers import WriteOptions
from briefgen.writers.docx import write
from briefgen.writers.docx.fonts import SHIPPED, face, font_file, obfuscate

W = {"w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main"}
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
FONT_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/font"
OBFUSCATED = "application/vnd.openxmlformats-officedocument.obfuscatedFont"
CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
STYLES = ("Regular", "Bold", "Italic", "BoldItalic")
#: The faces the shipped business brief uses (and briefgen's PDF of it shows).
BUSINESS_FACES = {
    ("Brief Sans", "Regular"),
    ("Brief Sans", "Bold"),
    ("Brief Sans", "Italic"),
    ("Brief Serif", "Regular"),
    ("Brief Serif", "Bold"),
    ("Brief Serif", "Italic"),
    ("Brief Fallback", "Regular"),
}
OFFICE_TIMEOUT_S = 180


@pytest.fixture(scope="module")
def business():
    """The shipped business brief's HTML, rendered once."""
    strategy = validate(builtin_content()).strategy
    return render(tailor(strategy, Options(audience="business")))


def options(**changes) -> WriteOptions:
    return WriteOptions(docx_pages="word", source_date_epoch=int(EPOCH), **changes)


@pytest.fixture(scope="module")
def embedded(business) -> bytes:
    return write(business, options())


@pytest.fixture(scope="module")
def plain(business) -> bytes:
    return write(business, options(embed_fonts=False))


def parts_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def xml(raw: bytes):
    return etree.fromstring(raw)


def embeds(parts: dict[str, bytes]) -> dict[tuple[str, str], tuple[str, bytes]]:
    """(family, style) -> (font key, the font part's bytes), read from the font table."""
    rels = {r.get("Id"): r for r in xml(parts["word/_rels/fontTable.xml.rels"])}
    found = {}
    for entry in xml(parts["word/fontTable.xml"]).iterfind("w:font", W):
        for style in STYLES:
            for element in entry.iterfind(f"w:embed{style}", W):
                rel = rels[element.get(R_ID)]
                assert rel.get("Type") == FONT_REL and rel.get("TargetMode") is None
                part = "word/" + rel.get("Target")
                key = element.get(qn("w:fontKey"))
                found[entry.get(qn("w:name")), style] = (key, parts[part])
    return found


def family_and_style(font: TTFont) -> tuple[str, str]:
    name = font["name"]
    return name.getDebugName(1), name.getDebugName(2).replace(" ", "")


# ----- the package ----------------------------------------------------------------------------


def test_the_faces_the_brief_uses_are_font_parts_with_their_content_type_and_relationships(embedded):
    parts = parts_of(embedded)
    fonts = sorted(name for name in parts if name.startswith("word/fonts/"))
    assert fonts == [f"word/fonts/font{n}.odttf" for n in range(1, len(BUSINESS_FACES) + 1)]
    types = xml(parts["[Content_Types].xml"])
    defaults = {d.get("Extension"): d.get("ContentType") for d in types.iter(f"{CT}Default")}
    assert defaults["odttf"] == OBFUSCATED
    assert not [o for o in types.iter(f"{CT}Override") if "fonts/" in o.get("PartName")]
    rels = xml(parts["word/_rels/fontTable.xml.rels"])
    assert sorted("word/" + r.get("Target") for r in rels if r.get("Type") == FONT_REL) == fonts
    found = embeds(parts)
    assert set(found) == BUSINESS_FACES
    assert len({key for key, _ in found.values()}) == len(found), "every face has its own key"
    assert all(
        re.fullmatch(r"\{[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}\}", key) for key, _ in found.values()
    )


def test_each_font_part_deobfuscates_to_the_shipped_face_renamed_and_nothing_else_changed(embedded):
    for (family, style), (key, data) in embeds(parts_of(embedded)).items():
        clear = obfuscate(data, key)
        assert data[32:] == clear[32:] and data[:32] != clear[:32], "only the first 32 bytes are hidden"
        assert clear == face(family, style).data
        font = TTFont(io.BytesIO(clear))
        assert family_and_style(font) == (family, style)
        assert font["name"].getDebugName(6) == f"{family.replace(' ', '')}-{style}"
        original = TTFont(str(font_file(family, style)))
        for table in ("glyf", "GPOS", "GSUB", "cmap", "hmtx", "OS/2"):
            assert font.reader[table] == original.reader[table], (family, style, table)
        assert "Noto is a trademark" in font["name"].getDebugName(7)  # the notices stay
        assert "Open Font License" in font["name"].getDebugName(13)


def test_the_font_table_describes_each_family_and_names_its_faces_in_schema_order(embedded):
    table = xml(parts_of(embedded)["word/fontTable.xml"])
    entries = {e.get(qn("w:name")): e for e in table.iterfind("w:font", W)}
    assert set(SHIPPED) <= set(entries)
    for family, entry in entries.items():
        if family not in SHIPPED:
            continue
        tags = [etree.QName(child).localname for child in entry]
        embedded_tags = [t for t in tags if t.startswith("embed")]
        assert tags[: len(tags) - len(embedded_tags)][-5:] == ["panose1", "charset", "family", "pitch", "sig"]
        assert embedded_tags == sorted(embedded_tags, key=lambda t: STYLES.index(t.removeprefix("embed")))
    assert entries["Brief Serif"].find("w:family", W).get(qn("w:val")) == "roman"
    assert entries["Brief Sans"].find("w:family", W).get(qn("w:val")) == "swiss"
    assert entries["Brief Sans"].find("w:altName", W).get(qn("w:val")) == "Noto Sans"


def test_settings_ask_word_to_keep_the_fonts_embedded_and_nothing_else(embedded):
    settings = xml(parts_of(embedded)["word/settings.xml"])
    names = [etree.QName(child).localname for child in settings]
    assert names.count("embedTrueTypeFonts") == 1
    assert "saveSubsetFonts" not in names and "embedSystemFonts" not in names  # whole faces, no system fonts
    assert names.index("embedTrueTypeFonts") == names.index("zoom") + 1  # CT_Settings order


def test_the_styles_name_the_shipped_families_as_the_pdf_does(embedded):
    doc = Document(io.BytesIO(embedded))

    def font(style: str) -> str:
        return doc.styles[style].element.rPr.find(qn("w:rFonts")).get(qn("w:ascii"))

    assert font("Normal") == "Brief Serif"
    assert {font(s) for s in ("Heading 1", "Heading 2", "Title", "Table Text", "Callout", "Header")} == {
        "Brief Sans"
    }
    defaults = doc.styles.element.find("w:docDefaults/w:rPrDefault/w:rPr/w:rFonts", W)
    assert defaults.get(qn("w:ascii")) == "Brief Serif"
    css = (builtin_templates() / "css" / "fonts.css").read_text()
    assert '"Brief Sans"' in css and '"Brief Serif"' in css


def test_every_face_of_a_text_family_has_the_same_characters():
    # Characters go to Brief Fallback by the Regular face's coverage: it must hold for all four.
    for family in ("Brief Sans", "Brief Serif"):
        maps = {style: set(TTFont(str(font_file(family, style)))["cmap"].getBestCmap()) for style in STYLES}
        assert all(found == maps["Regular"] for found in maps.values()), family


def test_two_builds_are_byte_identical(business, tmp_path):
    from click.testing import CliRunner

    from briefgen.cli import main

    assert write(business, options()) == write(business, options())
    runs = []
    for out in ("a", "b"):
        result = CliRunner().invoke(
            main,
            ["build", "--audience", "business", "--format", "docx", "--docx-pages", "word", "--out", out],
            env={"SOURCE_DATE_EPOCH": EPOCH},
        )
        assert result.exit_code == 0, result.output
        runs.append((tmp_path / out / "business-brief.docx").read_bytes())
    assert runs[0] == runs[1]
    assert embeds(parts_of(runs[0])).keys() == BUSINESS_FACES


def test_font_parts_deflated_once_pack_to_the_bytes_zipfile_writes(embedded):
    from briefgen.writers.docx import package

    parts = parts_of(embedded)
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w", zipfile.ZIP_DEFLATED) as target:  # what pack did before
        for name in sorted(parts, key=lambda n: (n != "[Content_Types].xml", n.startswith("docProps/"), n)):
            info = zipfile.ZipInfo(name, date_time=(2025, 6, 5, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, parts[name], compresslevel=6)
    assert package.pack(parts, int(EPOCH)) == plain_zip.getvalue() == embedded
    assert package.pack(parts, int(EPOCH)) == embedded  # the second time from the deflated cache
    with zipfile.ZipFile(io.BytesIO(embedded)) as archive:
        assert archive.testzip() is None


# ----- what varies it -------------------------------------------------------------------------


def test_no_embed_fonts_writes_no_font_part_no_flag_and_names_the_public_families(plain):
    parts = parts_of(plain)
    assert not [name for name in parts if name.startswith("word/fonts/") or name.endswith(".odttf")]
    assert b"odttf" not in parts["[Content_Types].xml"]
    assert FONT_REL.encode() not in parts.get("word/_rels/fontTable.xml.rels", b"")
    assert not re.search(rb"<w:embed(Regular|Bold|Italic|BoldItalic)\b", parts["word/fontTable.xml"])
    assert not re.search(rb"embedTrueTypeFonts|saveSubsetFonts|embedSystemFonts", parts["word/settings.xml"])
    assert not re.search(rb'w:(ascii|hAnsi|cs|eastAsia)="Brief', parts["word/styles.xml"])
    assert b"Brief " not in parts["word/fontTable.xml"]
    doc = Document(io.BytesIO(plain))
    assert doc.styles["Normal"].element.rPr.find(qn("w:rFonts")).get(qn("w:ascii")) == "Noto Serif"
    assert doc.styles["Heading 1"].element.rPr.find(qn("w:rFonts")).get(qn("w:ascii")) == "Noto Sans"
    assert b"Brief Fallback" not in parts["word/document.xml"]


def test_a_character_only_brief_fallback_has_gets_a_run_of_its_own(business):
    data = write(small("<p>Prices ≤ 5 € → <strong>now ✓</strong> done</p>"), options())
    doc = Document(io.BytesIO(data))
    paragraph = next(p for p in doc.paragraphs if "Prices" in p.text)
    assert paragraph.text == "Prices ≤ 5 € → now ✓ done"  # the text is unchanged
    runs = [(r.text, r.font.name, bool(r.bold)) for r in paragraph.runs]
    assert ("≤", "Brief Fallback", False) in runs and ("→", "Brief Fallback", False) in runs
    assert ("✓", "Brief Fallback", True) in runs, "the run keeps its other properties"
    assert all(font is None for text, font, _ in runs if not set(text) & set("≤→✓"))
    assert ("Brief Fallback", "Regular") in embeds(parts_of(data))
    without = write(small("<p>Prices of 5 €</p>"), options())
    assert ("Brief Fallback", "Regular") not in embeds(parts_of(without))


def test_what_a_stamped_value_must_not_hold_is_known():
    from briefgen.writers.docx.fonts import set_apart

    assert not set_apart("Zoë Łukasiewicz-Ørsted, Γιώργος, Ольга, Nguyễn, O'Hara & Sons €")
    assert set_apart("Tick ✓") and set_apart("A → B") and set_apart("≤")
    assert not set_apart("漢字")  # no shipped font has it: nothing to split for


@pytest.mark.parametrize(
    ("fonts", "families"),
    [
        ({"pdf_heading": "sans", "pdf_body": "sans"}, {"Brief Sans"}),  # Word follows the PDF's choice
        ({"word_heading": "serif", "word_body": "serif"}, {"Brief Serif"}),
        ({"word_heading": "Verdana", "word_body": "serif"}, {"Brief Serif"}),  # Verdana: not embedded
        ({"word_heading": "Verdana", "word_body": "Georgia"}, set()),
    ],
)
def test_a_theme_chooses_among_the_shipped_families_and_only_those_are_embedded(business, fonts, families):
    theme = Theme.model_validate({"fonts": fonts})
    parts = parts_of(write(business, options(theme=theme)))
    found = {family for family, _ in embeds(parts)} if "word/_rels/fontTable.xml.rels" in parts else set()
    assert found - {"Brief Fallback"} == families
    named = {n.decode() for n in re.findall(rb'w:ascii="([^"]+)"', parts["word/styles.xml"])}
    assert set(fonts.values()) - {"sans", "serif"} <= named, "other fonts are named as they are"
    assert (b"embedTrueTypeFonts" in parts["word/settings.xml"]) == bool(found), "no flag, nothing embedded"


def test_the_shipped_themes_use_the_shipped_families(business):
    themes = builtin_templates() / "themes"
    from briefgen.theme import load

    civic = parts_of(write(business, options(theme=load(themes / "civic.toml"))))
    assert {family for family, _ in embeds(civic)} == {"Brief Sans", "Brief Fallback"}  # sans throughout
    slate = parts_of(write(business, options(theme=load(themes / "slate.toml"))))
    assert {family for family, _ in embeds(slate)} == {"Brief Serif", "Brief Fallback"}


def test_a_reference_document_naming_other_fonts_gets_no_font_part(tmp_path, business):
    reference = tmp_path / "arial.docx"
    source = parts_of((builtin_templates() / "reference.docx").read_bytes())
    source["word/styles.xml"] = (
        source["word/styles.xml"].replace(b'"Brief Sans"', b'"Arial"').replace(b'"Brief Serif"', b'"Georgia"')
    )
    with zipfile.ZipFile(reference, "w") as archive:
        for name, data in source.items():
            archive.writestr(name, data)
    parts = parts_of(write(business, options(reference_docx=reference)))
    assert not [name for name in parts if name.endswith(".odttf")]
    assert b"embedTrueTypeFonts" not in parts["word/settings.xml"]


# ----- what LibreOffice makes of it -----------------------------------------------------------


@pytest.fixture(scope="module")
def soffice() -> str:
    program = shutil.which("soffice")
    if program is None or shutil.which("pdffonts") is None:
        if os.environ.get("BRIEFGEN_NO_OFFICE") == "1":
            pytest.skip("LibreOffice or pdffonts is not installed and BRIEFGEN_NO_OFFICE=1")
        pytest.fail(
            "LibreOffice (soffice) and poppler-utils (pdffonts) are needed to check the embedded fonts; "
            "install them (setup.sh --test does), or set BRIEFGEN_NO_OFFICE=1 to skip these tests."
        )
    return program


def office_fonts(soffice: str, docx: bytes, folder: Path, fontconfig: Path | None = None) -> set[str]:
    """The fonts of LibreOffice's PDF of ``docx`` (subset prefixes dropped), made in bounded time."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "brief.docx").write_bytes(docx)
    env = dict(os.environ)
    if fontconfig is not None:
        env["FONTCONFIG_FILE"] = str(fontconfig)
    command = [
        soffice, "--headless", "--norestore", f"-env:UserInstallation={(folder / 'profile').as_uri()}",
        "--convert-to", "pdf", "--outdir", str(folder), str(folder / "brief.docx"),
    ]  # fmt: skip
    subprocess.run(command, env=env, capture_output=True, timeout=OFFICE_TIMEOUT_S, check=False)
    assert (folder / "brief.pdf").exists(), "LibreOffice wrote no PDF"
    return pdf_fonts(folder / "brief.pdf")


def pdf_fonts(pdf: Path) -> set[str]:
    listing = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, timeout=60, check=True)
    return {line.split()[0].split("+", 1)[-1] for line in listing.stdout.splitlines()[2:] if line.strip()}


def face_name(family: str, style: str) -> str:
    return f"{family.replace(' ', '')}-{style}"


def test_libreoffice_sets_the_brief_in_exactly_the_embedded_faces(soffice, embedded, tmp_path):
    used = office_fonts(soffice, embedded, tmp_path / "lo")
    assert used == {face_name(*item) for item in BUSINESS_FACES}  # "Brief ..." exists nowhere else


def test_on_a_machine_without_noto_libreoffice_still_uses_the_embedded_faces(
    soffice, embedded, plain, tmp_path
):
    dejavu = subprocess.run(
        ["fc-match", "-f", "%{file}", "DejaVu Sans"], capture_output=True, text=True, timeout=30, check=False
    ).stdout
    if "DejaVu" not in dejavu:
        pytest.skip("no DejaVu font to give LibreOffice instead of the machine's fonts")
    config = tmp_path / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd"><fontconfig>'
        f"<dir>{Path(dejavu).parent}</dir><cachedir>{tmp_path / 'fc-cache'}</cachedir></fontconfig>"
    )
    with_fonts = office_fonts(soffice, embedded, tmp_path / "embedded", config)
    assert with_fonts == {face_name(*item) for item in BUSINESS_FACES}
    without = office_fonts(soffice, plain, tmp_path / "plain", config)
    assert without and not [name for name in without if "Brief" in name or "Noto" in name]


def test_the_word_brief_and_the_pdf_are_set_in_the_same_faces(soffice, embedded, shipped_briefs):
    faces = pdf_fonts(shipped_briefs("pdf")["business.pdf"])

    def normal(name: str) -> str:
        # Typst names the shipped subsets by their PostScript names (NotoSans-Bold), WeasyPrint by
        # the @font-face family (Brief-Sans-Bold): the same files, so the same faces
        name = name.replace("-", "").replace("NotoSans", "BriefSans").replace("NotoSerif", "BriefSerif")
        return name if name.endswith(("Bold", "Italic", "Regular")) else name + "Regular"

    assert {normal(n) for n in faces} == {normal(face_name(*item)) for item in BUSINESS_FACES}
