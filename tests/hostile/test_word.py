"""Hostile input to the Word writer: characters XML cannot hold, lone surrogates, links with
unsafe schemes, and reference documents that are hostile themselves (external relationships
pointing at a loopback server, zip bombs, files that are no zip at all, endless files, symbolic
links out of the template folder). The brief is a valid .docx without the bad parts, or the build
stops with exit code 1 and a message naming the file, and writes nothing."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from briefgen.log import collect
from briefgen.render import Rendered
from briefgen.writers import WriteOptions
from briefgen.writers.docx import write as write_docx
from briefgen.writers.docx.reference import MAX_REFERENCE_BYTES

from .helpers import (
    MINI,
    SAFE_HREF,
    Server,
    assert_content_error,
    block_template,
    build,
    counting_server,
    docx_external_targets,
    docx_parts,
    docx_text,
)

#: Jinja string escapes for characters XML 1.0 cannot hold.
BAD_CHARACTERS = {
    "nul": "\\x00",
    "soh": "\\x01",
    "backspace": "\\x08",
    "vertical-tab": "\\x0b",
    "form-feed": "\\x0c",
    "unit-separator": "\\x1f",
    "non-character": "\\ufffe",
}


@pytest.fixture
def server() -> Iterator[Server]:
    with counting_server() as running:
        yield running


def read_docx(path: Path) -> bytes:
    data = path.read_bytes()
    docx.Document(io.BytesIO(data))  # python-docx (and so lxml) accepts every part
    return data


# ----- characters -------------------------------------------------------------------------------


@pytest.mark.parametrize("escape", list(BAD_CHARACTERS.values()), ids=list(BAD_CHARACTERS))
def test_characters_xml_cannot_hold_are_removed_from_every_format(
    tmp_path: Path, mini_copy: Path, escape: str
) -> None:
    folder = block_template(tmp_path / "tpl", f'<p class="note">{{{{ "BEFORE{escape}AFTER" }}}}</p>')
    out = tmp_path / "out"
    run = build(tmp_path, mini_copy, out, "html,docx", "--templates", folder)
    assert run.code == 0, run.result.output
    char = escape.encode().decode("unicode_escape")
    html = (out / "business-brief.html").read_text(encoding="utf-8")
    assert "BEFOREAFTER" in html and char not in html
    data = read_docx(out / "business-brief.docx")
    assert "BEFOREAFTER" in docx_text(data)
    assert char.encode() not in docx_parts(data)["word/document.xml"]


def test_a_lone_surrogate_from_a_template_is_removed(tmp_path: Path, mini_copy: Path) -> None:
    folder = block_template(tmp_path / "tpl", "<p class=\"note\">BEFORE{{ '%c'|format(55296) }}AFTER</p>")
    out = tmp_path / "out"
    run = build(tmp_path, mini_copy, out, "html,docx,pdf", "--templates", folder)
    assert run.code == 0, run.result.output
    assert "BEFOREAFTER" in (out / "business-brief.html").read_text(encoding="utf-8")
    assert "BEFOREAFTER" in docx_text(read_docx(out / "business-brief.docx"))


def small(body: str) -> Rendered:
    head = '<!DOCTYPE html><html lang="en"><head><title>T\x01</title></head>'
    html = f'{head}<body><h1 id="a">A</h1>{body}</body></html>'
    return Rendered(html=html, title="T\x01\ud800", language="en", template="test")


@pytest.mark.parametrize("char", ["\x00", "\x02", "\x0b", "\x1f", "\ud800", "\udfff", "\uffff"])
def test_the_word_writer_itself_drops_what_xml_cannot_hold(char: str) -> None:
    # Direct to the writer: a Rendered document from elsewhere (not through render) is cleaned too.
    body = f"<p>BEFORE{char}AFTER</p><p><a href='https://x.example/{char}'>li{char}nk</a></p>"
    data = write_docx(small(body), WriteOptions())
    document = docx.Document(io.BytesIO(data))
    assert "BEFOREAFTER" in docx_text(data)
    assert document.core_properties.title == "T"
    xml_parts = [part for name, part in docx_parts(data).items() if not name.endswith(".odttf")]  # not fonts
    assert all(char.encode("utf-8", "surrogatepass") not in part for part in xml_parts)


# ----- links ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        " javascript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "file:///etc/passwd",
        "\\\\evil.example\\share\\x.docx",
        "ms-word:ofe|u|https://evil.example/x.docx",
    ],
)
def test_an_unsafe_link_in_a_template_is_plain_text_with_a_warning(
    tmp_path: Path, mini_copy: Path, href: str
) -> None:
    folder = block_template(
        tmp_path / "tpl", f'<p class="note">Open <a href="{href}">the-link-text</a> now.</p>'
    )
    out = tmp_path / "out"
    run = build(tmp_path, mini_copy, out, "docx", "--templates", folder)
    assert run.code == 0, run.result.output
    assert f"warning: docx: link to {href.strip()} kept as plain text" in run.stderr
    data = read_docx(out / "business-brief.docx")
    assert "Open the-link-text now." in docx_text(data)
    hyperlinks = [target for kind, target in docx_external_targets(data) if kind == "hyperlink"]
    assert [t for t in hyperlinks if not t.startswith(SAFE_HREF)] == []


def test_a_safe_link_in_a_template_stays_a_hyperlink(tmp_path: Path, mini_copy: Path) -> None:
    folder = block_template(tmp_path / "tpl", '<p class="note"><a href="https://safe.example/x">safe</a></p>')
    out = tmp_path / "out"
    run = build(tmp_path, mini_copy, out, "docx", "--templates", folder)
    assert run.code == 0 and "kept as plain text" not in run.stderr, run.result.output
    assert ("hyperlink", "https://safe.example/x") in docx_external_targets(
        read_docx(out / "business-brief.docx")
    )


# ----- hostile reference documents ------------------------------------------------------------

RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
SUBDOCUMENT = RELS + "subDocument"
ATTACHED_TEMPLATE = RELS + "attachedTemplate"


def hyperlink(paragraph: Any, target: str, text: str) -> None:
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), paragraph.part.relate_to(target, RT.HYPERLINK, is_external=True))
    run = OxmlElement("w:r")
    t = OxmlElement("w:t")
    t.text = text
    run.append(t)
    link.append(run)
    paragraph._p.append(link)


def evil_reference(path: Path, server: str) -> dict[str, str]:
    """A reference .docx whose parts point at ``server``; returns what each target is."""
    doc = docx.Document()
    header = doc.sections[0].header
    header.paragraphs[0].text = "Corporate header "
    targets = {
        "attachedTemplate": f"{server}/evil.dotm",
        "image": f"{server}/linked.png",
        "header-image": f"{server}/header.png",
        "oleObject": f"{server}/object.bin",
        "subDocument": f"{server}/sub.docx",
        "header-file-link": "file:///etc/passwd",
        "header-js-link": "javascript:alert(1)",
    }
    settings = doc.part._settings_part
    template = OxmlElement("w:attachedTemplate")
    template.set(qn("r:id"), settings.relate_to(targets["attachedTemplate"], ATTACHED_TEMPLATE, True))
    settings.element.insert(0, template)
    doc.part.relate_to(targets["image"], RT.IMAGE, is_external=True)
    doc.part.relate_to(targets["oleObject"], RT.OLE_OBJECT, is_external=True)
    doc.part.relate_to(targets["subDocument"], SUBDOCUMENT, is_external=True)
    header.part.relate_to(targets["header-image"], RT.IMAGE, is_external=True)
    hyperlink(header.paragraphs[0], targets["header-file-link"], "policies")
    hyperlink(header.paragraphs[0], targets["header-js-link"], "script")
    hyperlink(header.paragraphs[0], "https://intranet.example/", "intranet")
    doc.save(path)
    return targets


def test_external_relationships_of_a_reference_are_removed_with_warnings(
    tmp_path: Path, mini_copy: Path, server: Server
) -> None:
    reference = tmp_path / "evil.docx"
    targets = evil_reference(reference, server.url)
    out = tmp_path / "out"
    run = build(tmp_path, mini_copy, out, "docx", "--reference-docx", reference)
    assert run.code == 0, run.result.output
    for name, target in targets.items():
        assert [w for w in run.warnings if target in w], (name, run.warnings)
    data = read_docx(out / "business-brief.docx")
    external = docx_external_targets(data)
    assert [(kind, t) for kind, t in external if kind != "hyperlink"] == []
    assert [t for kind, t in external if not t.startswith(SAFE_HREF)] == []
    assert ("hyperlink", "https://intranet.example/") in external  # safe links in the reference survive
    parts = docx_parts(data)
    assert not [name for name, raw in parts.items() if server.url.split("//")[1].encode() in raw]
    assert b"attachedTemplate" not in parts["word/settings.xml"]
    assert server.hits == []


def zip_bomb(path: Path, megabytes: int) -> Path:
    """A .docx-shaped zip with ``megabytes`` of zeros that packs to a few kilobytes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        with archive.open("word/media/zeros.bin", "w") as member:
            chunk = bytes(1024 * 1024)
            for _ in range(megabytes):
                member.write(chunk)
    return path


@pytest.fixture
def unpacked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of zip members anything opens for reading while the test runs."""
    names: list[str] = []
    real_open = zipfile.ZipFile.open

    def spy(self: zipfile.ZipFile, name: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if mode == "r":
            names.append(name if isinstance(name, str) else name.filename)
        return real_open(self, name, mode, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    return names


@pytest.mark.parametrize(
    ("megabytes", "how"), [(60, "--reference-docx"), (20, "--reference-docx"), (60, "--templates")]
)
def test_a_zip_bomb_reference_is_refused_before_unpacking(
    tmp_path: Path, mini_copy: Path, unpacked: list[str], megabytes: int, how: str
) -> None:
    if how == "--templates":
        folder = tmp_path / "tpl"
        folder.mkdir()
        bomb = zip_bomb(folder / "reference.docx", megabytes)
        extra: tuple[str | Path, ...] = ("--templates", folder)
    else:
        bomb = zip_bomb(tmp_path / "bomb.docx", megabytes)
        extra = ("--reference-docx", bomb)
    assert bomb.stat().st_size < 200_000
    with zipfile.ZipFile(bomb) as archive:  # reads the directory only, not the members
        total = sum(info.file_size for info in archive.infolist())
    unpacked.clear()
    run = build(tmp_path, mini_copy, tmp_path / "out", "docx", *extra)
    assert_content_error(run, f"{bomb.name}: refused as reference document: it unpacks to {total:,} bytes")
    assert "word/media/zeros.bin" not in unpacked


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        ("text", "not a readable .docx"),
        ("empty", "not a readable .docx"),
        ("xlsx", "not a Word document (no word/document.xml)"),
        ("sparse", f"it is {MAX_REFERENCE_BYTES + 1:,} bytes (limit {MAX_REFERENCE_BYTES:,})"),
    ],
)
def test_a_reference_that_is_not_a_word_file_is_an_error(
    tmp_path: Path, mini_copy: Path, make: str, needle: str
) -> None:
    path = tmp_path / "ref.docx"
    if make == "text":
        path.write_text("plain text, not a zip", encoding="utf-8")
    elif make == "empty":
        path.write_bytes(b"")
    elif make == "xlsx":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("xl/workbook.xml", "<workbook/>")
    else:
        with path.open("wb") as handle:  # sparse: no disk space, but over the limit if read
            handle.truncate(MAX_REFERENCE_BYTES + 1)
    run = build(tmp_path, mini_copy, tmp_path / "out", "docx", "--reference-docx", path)
    assert_content_error(run, "ref.docx: ", needle)


@pytest.mark.parametrize("kind", ["dev-zero", "fifo"])
def test_an_endless_or_blocking_reference_is_refused_without_reading(tmp_path: Path, kind: str) -> None:
    if kind == "dev-zero":
        reference = Path("/dev/zero")
        if not reference.exists():
            pytest.skip("no /dev/zero here")
    else:
        reference = tmp_path / "ref.docx"
        os.mkfifo(reference)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    args = ["build", "--content", str(MINI), "--format", "docx", "--out", str(tmp_path / "out")]
    done = subprocess.run(
        [sys.executable, "-m", "briefgen", *args, "--reference-docx", str(reference)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
    )
    assert done.returncode == 1, done.stderr
    assert f"{reference.name}: refused as reference document: not a regular file" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_symlinked_reference_in_a_template_folder_is_not_used(tmp_path: Path, mini_copy: Path) -> None:
    outside = docx.Document()
    outside.sections[0].header.paragraphs[0].text = "OUTSIDE-HEADER-SECRET"
    outside.save(tmp_path / "outside.docx")
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "reference.docx").symlink_to(tmp_path / "outside.docx")
    out = tmp_path / "out"
    run = build(tmp_path, mini_copy, out, "docx", "--templates", folder)
    assert run.code == 0, run.result.output
    assert any("reference.docx points outside the template folders" in w for w in run.warnings), run.warnings
    parts = docx_parts(read_docx(out / "business-brief.docx"))
    assert not [name for name, raw in parts.items() if b"OUTSIDE-HEADER-SECRET" in raw]


def test_warnings_collected_by_the_writer_name_the_reference(tmp_path: Path, server: Server) -> None:
    reference = tmp_path / "evil.docx"
    evil_reference(reference, server.url)
    with collect() as warnings:
        write_docx(small("<p>Body</p>"), WriteOptions(reference_docx=reference))
    assert warnings and all("evil.docx" in w for w in warnings if "reference document" in w)
    assert server.hits == []
