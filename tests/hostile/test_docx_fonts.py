"""Hostile fonts in a reference document: the only fonts a Word brief embeds are briefgen's own.

A font file is parsed by the reader's Word or LibreOffice, so a reference's embedded fonts are
untrusted code paths in someone else's program: every font part (obfuscated or not, reached or
not), every embed element of the font table and every font relationship (external ones too) is
removed, with a warning naming the reference, and the brief carries the shipped faces, from
briefgen's own files, whatever the reference calls its fonts.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from briefgen.errors import RenderError
from briefgen.writers.docx.fonts import face, obfuscate
from briefgen.writers.docx.reference import check_reference

from .helpers import Server, counting_server, docx_parts
from .test_reference_docx import (
    SHIPPED,
    add_rels,
    append,
    assert_nothing_fetches,
    build_with,
    dangling,
    override,
    relationships,
    rewrite,
    written,
)

W = {"w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main"}
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
FONT_KEY = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}fontKey"
OBFUSCATED = "application/vnd.openxmlformats-officedocument.obfuscatedFont"
BOGUS_KEY = "{NOT-A-GUID-0000-ZZZZ}"
#: Bytes that look like nothing: a reader's font parser would choke on them, and must never see them.
HOSTILE_FONT = b"\x00\x01\x00\x00" + os.urandom(4096) + b"HOSTILE-FONT-BYTES"


@pytest.fixture
def server() -> Iterator[Server]:
    with counting_server() as running:
        yield running


@pytest.fixture(scope="module")
def corporate() -> bytes:
    """The shipped reference with a header and a footer of its own (as test_reference_docx.py has it)."""
    import docx

    document = docx.Document(str(SHIPPED))
    document.sections[0].header.paragraphs[0].text = "Corporate header"
    document.sections[0].footer.paragraphs[0].text = "Corporate footer"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def font_entry(name: str, *embeds: tuple[str, str, str]) -> str:
    inner = "".join(f'<w:embed{style} r:id="{rid}" w:fontKey="{key}"/>' for style, rid, key in embeds)
    return f'<w:font w:name="{name}"><w:charset w:val="00"/>{inner}</w:font>'


def reference_with_fonts(source: bytes, entries: str, rels: str, extra: dict | None = None) -> bytes:
    return rewrite(
        source,
        {
            "word/fontTable.xml": append("</w:fonts>", entries),
            "word/_rels/fontTable.xml.rels": rels,
            **(extra or {}),
        },
    )


def brief_fonts(parts: dict[str, bytes]) -> dict[tuple[str, str], bytes]:
    """(font name, style) -> the font part's bytes, de-obfuscated with its key."""
    rels = {r.get("Id"): r for r in etree.fromstring(parts["word/_rels/fontTable.xml.rels"])}
    found = {}
    for entry in etree.fromstring(parts["word/fontTable.xml"]).iterfind("w:font", W):
        for element in entry:
            style = etree.QName(element).localname.removeprefix("embed")
            if style in ("Regular", "Bold", "Italic", "BoldItalic"):
                rel = rels[element.get(R_ID)]
                assert rel.get("TargetMode") is None
                data = parts["word/" + rel.get("Target")]
                found[entry.get(f"{{{W['w']}}}name"), style] = obfuscate(data, element.get(FONT_KEY))
    return found


def assert_only_shipped_fonts(parts: dict[str, bytes]) -> None:
    fonts = brief_fonts(parts)
    assert fonts, "the brief still embeds the shipped faces it uses"
    for (family, style), data in fonts.items():
        assert data == face(family, style).data, (family, style)
    assert not [name for name, data in parts.items() if b"HOSTILE-FONT-BYTES" in data]
    assert dangling(parts) == []


def test_an_obfuscated_font_with_a_bogus_key_is_removed_unread(tmp_path: Path, corporate: bytes) -> None:
    reference = reference_with_fonts(
        corporate,
        font_entry("Evil Sans", ("Regular", "rIdEvil", BOGUS_KEY), ("Bold", "rIdEvil", BOGUS_KEY)),
        relationships(("rIdEvil", "font", "fonts/font1.odttf", False)),
        {
            "word/fonts/font1.odttf": HOSTILE_FONT,
            "[Content_Types].xml": append(
                "</Types>", f'<Default Extension="odttf" ContentType="{OBFUSCATED}"/>'
            ),
        },
    )
    run, path = build_with(tmp_path, reference)
    assert run.code == 0, run.result.output
    mine = [w for w in run.warnings if f"reference document {path.name}: " in w]
    assert [w for w in mine if "removed 2 embedded font(s) from word/fontTable.xml" in w], run.warnings
    assert [w for w in mine if "removed font part(s) word/fonts/font1.odttf" in w], run.warnings
    parts = written(tmp_path)
    assert_only_shipped_fonts(parts)
    entry = etree.fromstring(parts["word/fontTable.xml"]).find("w:font[@w:name='Evil Sans']", W)
    assert entry is None or not [c for c in entry if "embed" in etree.QName(c).localname]


def test_a_font_table_pointing_to_an_external_font_fetches_nothing(
    tmp_path: Path, corporate: bytes, server
) -> None:
    url = f"{server.url}/font.odttf"
    reference = reference_with_fonts(
        corporate,
        font_entry("Remote Sans", ("Regular", "rIdFar", "{00000000-0000-0000-0000-000000000000}")),
        relationships(("rIdFar", "font", url, True), ("rIdFile", "font", "file:///etc/passwd", True)),
    )
    run, path = build_with(tmp_path, reference)
    assert run.code == 0, run.result.output
    assert [w for w in run.warnings if path.name in w and f"removed external font link to {url}" in w]
    assert [w for w in run.warnings if path.name in w and "file:///etc/passwd" in w]
    parts = written(tmp_path)
    assert_nothing_fetches(parts, server, b"passwd")
    assert_only_shipped_fonts(parts)


def test_a_font_relationship_to_a_part_that_is_no_font_removes_the_relationship_only(
    tmp_path: Path, corporate: bytes
) -> None:
    reference = reference_with_fonts(
        corporate,
        font_entry("Odd", ("Regular", "rIdDoc", "{00000000-0000-0000-0000-000000000000}")),
        relationships(("rIdDoc", "font", "document.xml", False), ("rIdSelf", "font", "fontTable.xml", False)),
    )
    run, _ = build_with(tmp_path, reference)
    assert run.code == 0, run.result.output
    parts = written(tmp_path)
    assert "Corporate header" in etree.fromstring(parts["word/header1.xml"]).xpath("string()")
    assert_only_shipped_fonts(parts)


def test_font_parts_reached_by_no_relationship_and_of_any_font_type_are_removed(
    tmp_path: Path, corporate: bytes
) -> None:
    changes = {
        "word/fonts/loose.odttf": HOSTILE_FONT,
        "word/media/evil.ttf": HOSTILE_FONT,
        "word/media/evil.bin": HOSTILE_FONT,
        "[Content_Types].xml": lambda data: override("word/media/evil.bin", "application/x-font-ttf")(
            override("word/fonts/loose.odttf", OBFUSCATED)(data)
        ),
        "word/_rels/header1.xml.rels": add_rels(("rIdImg", "image", "media/evil.ttf", False)),
    }
    reference = rewrite(corporate, changes)
    cleaned, notes = check_reference(_saved(tmp_path, reference))
    assert [n for n in notes if "removed font part(s)" in n and "word/media/evil.bin" in n], notes
    kept = docx_parts(cleaned)
    assert not [name for name, data in kept.items() if b"HOSTILE-FONT-BYTES" in data]
    assert (
        b"evil.bin" not in kept["[Content_Types].xml"] and b"loose.odttf" not in kept["[Content_Types].xml"]
    )
    run, _ = build_with(tmp_path, reference)
    assert run.code == 0, run.result.output
    assert_only_shipped_fonts(written(tmp_path))


def test_a_reference_spoofing_the_shipped_names_gets_the_shipped_faces(
    tmp_path: Path, corporate: bytes
) -> None:
    key = "{0A1B2C3D-4E5F-4061-8273-94A5B6C7D8E9}"
    reference = reference_with_fonts(
        corporate,
        font_entry("Brief Serif", ("Regular", "rIdSpoof", key), ("Bold", "rIdSpoof", key)),
        relationships(("rIdSpoof", "font", "fonts/spoof.odttf", False)),
        {"word/fonts/spoof.odttf": obfuscate(HOSTILE_FONT, key)},
    )
    run, _ = build_with(tmp_path, reference)
    assert run.code == 0, run.result.output
    parts = written(tmp_path)
    assert_only_shipped_fonts(parts)
    assert ("Brief Serif", "Regular") in brief_fonts(parts)
    assert (
        etree.fromstring(parts["word/fontTable.xml"]).xpath(
            "count(//w:font[@w:name='Brief Serif'])", namespaces=W
        )
        == 1
    )


def test_a_part_that_is_nothing_but_a_font_embedding_is_refused(tmp_path: Path) -> None:
    source = SHIPPED.read_bytes()
    reference = rewrite(
        source,
        {
            "word/extra.xml": '<w:embedRegular xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/'
            '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
            'r:id="rId1" w:fontKey="{00000000-0000-0000-0000-000000000000}"/>'
        },
    )
    with pytest.raises(
        RenderError, match=r"refused as reference document: part word/extra\.xml is a font embedding"
    ):
        check_reference(_saved(tmp_path, reference))


def test_settings_of_a_reference_cannot_turn_embedding_back_on_with_no_embed_fonts(
    tmp_path: Path, corporate: bytes
) -> None:
    flags = "<w:embedTrueTypeFonts/><w:embedSystemFonts/><w:saveSubsetFonts/>"
    reference = rewrite(
        corporate, {"word/settings.xml": lambda d: d.replace(b"<w:zoom ", flags.encode() + b"<w:zoom ", 1)}
    )
    run, _ = build_with(tmp_path, reference, "flags.docx")
    assert run.code == 0, run.result.output
    settings = written(tmp_path)["word/settings.xml"]
    assert settings.count(b"embedTrueTypeFonts") == 1 and b"embedSystemFonts" not in settings
    assert b"saveSubsetFonts" not in settings
    from .helpers import MINI, build

    out = tmp_path / "plain"
    path = tmp_path / "flags.docx"
    run = build(
        tmp_path, MINI, out, "docx", "--reference-docx", path, "--no-embed-fonts", "--docx-pages", "word"
    )
    assert run.code == 0, run.result.output
    parts = docx_parts((out / "business-brief.docx").read_bytes())
    assert (
        b"embedTrueTypeFonts" not in parts["word/settings.xml"]
        and b"embedSystemFonts" not in parts["word/settings.xml"]
    )
    assert not [name for name in parts if name.endswith(".odttf")]


def _saved(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "saved.docx"
    path.write_bytes(data)
    return path


def test_obfuscation_round_trips_and_refuses_a_key_that_is_no_guid() -> None:
    data = io.BytesIO(os.urandom(100)).getvalue()
    key = "{0A1B2C3D-4E5F-4061-8273-94A5B6C7D8E9}"
    assert obfuscate(obfuscate(data, key), key) == data
    with pytest.raises(ValueError):
        obfuscate(data, BOGUS_KEY)
