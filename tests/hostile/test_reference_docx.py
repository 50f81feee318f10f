"""Hostile reference documents: zips that lie about their sizes or names, fields that fetch, external
relationships anywhere in the package, embedded objects, and paths that are not plain files.

Each hostile input is built here from the shipped reference (its members rewritten with zipfile),
then given to a real ``briefgen build --format docx --reference-docx``. Either the build stops with
exit code 1 and one line naming the file, or the brief is written without the hostile parts, with a
warning naming the reference; nothing is fetched and memory stays low.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import posixpath
import re
import signal
import struct
import subprocess
import sys
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from xml.sax.saxutils import quoteattr

import docx
import pytest
from lxml import etree

from briefgen.log import collect
from briefgen.paths import builtin_templates
from briefgen.render import Rendered
from briefgen.writers import WriteOptions
from briefgen.writers.docx import write as write_docx
from briefgen.writers.docx.reference import MAX_REFERENCE_BYTES, MAX_REFERENCE_MEMBERS, check_reference

from .helpers import (
    MINI,
    SAFE_HREF,
    Run,
    Server,
    assert_content_error,
    build,
    counting_server,
    docx_external_targets,
    docx_parts,
)

SHIPPED = builtin_templates() / "reference.docx"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
R_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
W = {"w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main"}
BOMB_MEGABYTES = 400
DECLARED = 1_000

Change = bytes | str | Callable[[bytes], bytes] | None


@pytest.fixture
def server() -> Iterator[Server]:
    with counting_server() as running:
        yield running


# ----- building hostile references --------------------------------------------------------------


def rewrite(source: bytes, changes: dict[str, Change]) -> bytes:
    """Copy a zip, replacing members by ``changes[name]`` (a function of the old bytes, new bytes,
    or None to drop it) and adding the members it does not have."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as old, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
        for name in old.namelist():
            change = changes.get(name, old.read(name))
            if callable(change):
                change = change(old.read(name))
            if change is not None:
                new.writestr(name, change)
        for name, change in changes.items():
            if name not in old.namelist() and change is not None and not callable(change):
                new.writestr(name, change)
    return out.getvalue()


def append(tag: str, markup: str) -> Callable[[bytes], bytes]:
    """A change that puts ``markup`` just before the closing ``tag`` of a part."""

    def change(data: bytes) -> bytes:
        assert tag.encode() in data, tag
        return data.replace(tag.encode(), markup.encode() + tag.encode(), 1)

    return change


def relationships(*rels: tuple[str, str, str, bool]) -> str:
    """A relationships part from (id, type, target, external)."""
    body = "".join(
        f'<Relationship Id="{rid}" Type="{REL}{kind}" Target={quoteattr(target)}'
        + (' TargetMode="External"' if external else "")
        + "/>"
        for rid, kind, target, external in rels
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{RELS_NS}">{body}</Relationships>'


def add_rels(*rels: tuple[str, str, str, bool]) -> Callable[[bytes], bytes]:
    return append("</Relationships>", relationships(*rels).split(">", 2)[2].removesuffix("</Relationships>"))


def override(part: str, content_type: str) -> Callable[[bytes], bytes]:
    return append("</Types>", f'<Override PartName="/{part}" ContentType="{content_type}"/>')


@pytest.fixture(scope="module")
def corporate() -> bytes:
    """The shipped reference with a header and a footer of its own (word/header1.xml, footer1.xml)."""
    document = docx.Document(str(SHIPPED))
    document.sections[0].header.paragraphs[0].text = "Corporate header"
    document.sections[0].footer.paragraphs[0].text = "Corporate footer"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def paragraph(*inner: str) -> str:
    return (
        '<w:p><w:r><w:t xml:space="preserve">Before </w:t></w:r>'
        + "".join(inner)
        + '<w:r><w:t xml:space="preserve"> after</w:t></w:r></w:p>'
    )


def text_run(text: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r>'


def char(kind: str) -> str:
    return f'<w:r><w:fldChar w:fldCharType="{kind}"/></w:r>'


def instr(*pieces: str) -> str:
    """One run holding one or more pieces of a field's instruction."""
    texts = "".join(f'<w:instrText xml:space="preserve">{escape(p)}</w:instrText>' for p in pieces)
    return f"<w:r>{texts}</w:r>"


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def complex_field(*runs: str, result: str = "FIELD-RESULT") -> str:
    """begin, the instruction ``runs``, separate, a result, end."""
    return char("begin") + "".join(runs) + char("separate") + text_run(result) + char("end")


def simple_field(instruction: str, result: str = "FIELD-RESULT") -> str:
    return f'<w:fldSimple w:instr="{escape(instruction)}">{text_run(result)}</w:fldSimple>'


def build_with(tmp_path: Path, reference: bytes, name: str = "hostile.docx") -> tuple[Run, Path]:
    """A real ``briefgen build --format docx --reference-docx`` of the mini content."""
    path = tmp_path / name
    path.write_bytes(reference)
    content = tmp_path / "mini"
    if not content.exists():
        import shutil

        shutil.copytree(MINI, content)
    run = build(tmp_path, content, tmp_path / "out", "docx", "--reference-docx", path)
    return run, path


def written(tmp_path: Path) -> dict[str, bytes]:
    """The parts of the brief, after python-docx (and so lxml) accepted every one of them."""
    data = (tmp_path / "out" / "business-brief.docx").read_bytes()
    docx.Document(io.BytesIO(data))
    return docx_parts(data)


def dangling(parts: dict[str, bytes]) -> list[tuple[str, str]]:
    """(part, id) for every r:id, r:embed, r:link... that names no relationship of its part."""
    found = []
    for name, raw in parts.items():
        if name.endswith(".rels") or name == "[Content_Types].xml" or not raw.lstrip().startswith(b"<"):
            continue
        folder, base = posixpath.split(name)
        rels = posixpath.join(folder, "_rels", base + ".rels")
        ids = {rel.get("Id") for rel in etree.fromstring(parts[rels])} if rels in parts else set()
        for element in etree.fromstring(raw).iter():
            for attribute, value in element.attrib.items():
                if attribute.startswith(R_NS) and value not in ids:
                    found.append((name, value))
    return found


FETCHING = {"INCLUDEPICTURE", "INCLUDETEXT", "LINK", "DDE", "DDEAUTO", "IMPORT"}


def field_kinds(parts: dict[str, bytes]) -> set[str]:
    """Every word of every field instruction (simple and complex) in the package, upper-cased."""
    words: set[str] = set()
    for name, raw in parts.items():
        if not name.endswith(".xml"):
            continue
        root = etree.fromstring(raw)
        texts = root.xpath("//w:instrText/text()|//w:delInstrText/text()", namespaces=W)
        codes = ["".join(texts), " ".join(texts)]  # pieces of one instruction, and instructions side by side
        codes += root.xpath("//w:fldSimple/@w:instr", namespaces=W)
        for code in codes:
            words |= {word.upper() for word in re.split(r'[\s"\\]+', code) if word}
    return words


def assert_nothing_fetches(parts: dict[str, bytes], server: Server, *needles: bytes) -> None:
    """No external target but safe links, no id that names a removed relationship, no needle."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        for name, raw in parts.items():
            archive.writestr(name, raw)
    external = docx_external_targets(data.getvalue())
    assert [(kind, t) for kind, t in external if kind != "hyperlink" or not t.startswith(SAFE_HREF)] == []
    assert dangling(parts) == []
    host = server.url.split("//")[1].encode()
    for needle in (host, *needles):
        assert [name for name, raw in parts.items() if needle in raw.lower()] == [], needle
    assert server.hits == []


# ----- zips that lie ------------------------------------------------------------------------------


def patch_member(
    data: bytes, name: str, *, size: int | None = None, crc: int | None = None, flags: int = 0
) -> bytes:
    """Patch the declared size, checksum or flags of ``name`` in its local header and its directory entry."""
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        local = archive.getinfo(name).header_offset
    central = out.find(b"PK\x01\x02")
    while bytes(out[central + 46 : central + 46 + len(name)]) != name.encode():
        central = out.find(b"PK\x01\x02", central + 4)
        assert central > 0
    for offset, (flags_at, crc_at, size_at) in ((local, (6, 14, 22)), (central, (8, 16, 24))):
        if size is not None:
            struct.pack_into("<I", out, offset + size_at, size)
        if crc is not None:
            struct.pack_into("<I", out, offset + crc_at, crc)
        if flags:
            struct.pack_into(
                "<H", out, offset + flags_at, struct.unpack_from("<H", out, offset + flags_at)[0] | flags
            )
    return bytes(out)


@pytest.fixture(scope="module")
def deflate_bomb() -> bytes:
    """The shipped reference plus an image that the document refers to, whose deflate stream holds
    400 MB of zeros while the local header and the central directory declare 1,000 bytes (with the
    checksum of 1,000 zeros, so a reader that believes the size finds nothing wrong)."""
    image = "word/media/image1.png"
    refer = rewrite(
        SHIPPED.read_bytes(),
        {
            "word/_rels/document.xml.rels": add_rels(("rIdBomb", "image", "media/image1.png", False)),
            "[Content_Types].xml": append("</Types>", '<Default Extension="png" ContentType="image/png"/>'),
        },
    )
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(refer)) as old, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
        for name in old.namelist():
            new.writestr(name, old.read(name))
        with new.open(image, "w") as member:
            chunk = bytes(1 << 20)
            for _ in range(BOMB_MEGABYTES):
                member.write(chunk)
    return patch_member(out.getvalue(), image, size=DECLARED, crc=zlib.crc32(bytes(DECLARED)))


def real_size(data: bytes, name: str) -> int:
    """What the member's compressed bytes really inflate to, counted in small steps."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(name)
    start = info.header_offset + 30 + len(name) + struct.unpack_from("<H", data, info.header_offset + 28)[0]
    inflater, pending, size = zlib.decompressobj(-15), data[start : start + info.compress_size], 0
    while pending and not inflater.eof:
        size += len(inflater.decompress(pending, 1 << 20))
        pending = inflater.unconsumed_tail
    return size


MEASURE = """
import json, resource, sys
from click.testing import CliRunner
from briefgen.cli import main
args = ["build", "--content", sys.argv[1], "--audience", "business", "--format", "docx", "--out", sys.argv[2]]
result = CliRunner().invoke(main, args + ["--reference-docx", sys.argv[3]])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(json.dumps({"code": result.exit_code, "stderr": result.stderr, "peak_mb": peak}))
"""


def measure(out: Path, reference: Path) -> dict:
    """Build into ``out`` in a fresh interpreter; its exit code, stderr and peak resident memory in MB."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    args = [sys.executable, "-c", MEASURE, str(MINI), str(out), str(reference)]
    done = subprocess.run(
        args, capture_output=True, text=True, timeout=120, env=env, cwd=out.parent, check=True
    )
    return json.loads(done.stdout.splitlines()[-1])


def test_a_deflate_bomb_whose_directory_declares_small_sizes_is_refused_and_memory_stays_low(
    tmp_path: Path, deflate_bomb: bytes
) -> None:
    bomb = tmp_path / "bomb.docx"
    bomb.write_bytes(deflate_bomb)
    with zipfile.ZipFile(bomb) as archive:
        declared = sum(info.file_size for info in archive.infolist())
    assert bomb.stat().st_size < 500_000 and declared < 1_000_000  # small, and honest-looking
    assert real_size(deflate_bomb, "word/media/image1.png") == BOMB_MEGABYTES << 20  # yet 400 MB inside
    shipped = measure(tmp_path / "shipped", SHIPPED)
    hostile = measure(tmp_path / "out", bomb)
    assert hostile["code"] == 1, hostile
    assert (
        f"--reference-docx: {bomb}: refused as reference document: member word/media/image1.png inflates "
        f"to more than the {DECLARED:,} bytes its header declares"
    ) in hostile["stderr"]
    assert len(hostile["stderr"].strip().splitlines()) == 1
    # Before the bounded unpacker, this build peaked at about 850 MB.
    assert hostile["peak_mb"] < shipped["peak_mb"] + 30, (hostile, shipped)
    assert not (tmp_path / "out").exists()


def test_a_member_whose_stream_is_longer_than_declared_is_refused_even_if_its_checksum_is_honest(
    tmp_path: Path,
) -> None:
    big = b"<w:document/>" + b" " * 200_000
    data = rewrite(SHIPPED.read_bytes(), {"word/extra.xml": big})
    run, path = build_with(tmp_path, patch_member(data, "word/extra.xml", size=100))
    assert_content_error(
        run, f"{path}: refused as reference document: member word/extra.xml inflates to more"
    )


#: How many members the shipped reference has (a bomb adds its own to them).
SHIPPED_MEMBERS = len(zipfile.ZipFile(SHIPPED).namelist())


def many_members(count: int) -> bytes:
    return rewrite(SHIPPED.read_bytes(), {f"customXml/item{n}.xml": b"<x/>" for n in range(count)})


def duplicate_names(first: str, second: str) -> bytes:
    data = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate, and writes it
        with zipfile.ZipFile(io.BytesIO(SHIPPED.read_bytes())) as old, zipfile.ZipFile(data, "w") as new:
            for name in old.namelist():
                new.writestr(name, old.read(name))
            new.writestr(first, b"<w:styles/>")
            new.writestr(second, b"<w:styles/>")
    return data.getvalue()


def named(evil: str) -> bytes:
    """The shipped reference plus a member called ``evil`` (patched in, so zipfile cannot tidy it)."""
    stand_in = "x" * len(evil.encode())
    data = rewrite(SHIPPED.read_bytes(), {stand_in: b"<evil/>"})
    assert data.count(stand_in.encode()) == 2
    return data.replace(stand_in.encode(), evil.encode())


def bzip2_member() -> bytes:
    data = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(SHIPPED.read_bytes())) as old, zipfile.ZipFile(data, "w") as new:
        for name in old.namelist():
            new.writestr(name, old.read(name), compress_type=zipfile.ZIP_DEFLATED)
        new.writestr("word/media/x.bin", bytes(1000), compress_type=zipfile.ZIP_BZIP2)
    return data.getvalue()


def markup_bomb() -> bytes:
    """1.1 million tags in a part nothing refers to (parsed, about 200 MB of lxml), with enough
    incompressible bytes beside it that the compression ratio looks ordinary."""
    import random

    tags = b"<x>" + b"<a/>" * 1_100_000 + b"</x>"
    noise = random.Random(0).randbytes(60_000)
    return rewrite(SHIPPED.read_bytes(), {"customXml/item1.xml": tags, "word/media/noise.bin": noise})


def encrypted_member() -> bytes:
    return patch_member(
        rewrite(SHIPPED.read_bytes(), {"word/extra.xml": b"<x/>"}), "word/extra.xml", flags=0x1
    )


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (
            lambda: many_members(MAX_REFERENCE_MEMBERS + 10),
            f"it holds up to {MAX_REFERENCE_MEMBERS + 10 + SHIPPED_MEMBERS:,} members "
            f"(limit {MAX_REFERENCE_MEMBERS:,})",
        ),
        (lambda: duplicate_names("word/x.xml", "word/x.xml"), "member name 'word/x.xml' occurs twice"),
        (lambda: duplicate_names("word/x.xml", "WORD/X.xml"), "member name 'WORD/X.xml' occurs twice"),
        (lambda: named("../evil"), "member name '../evil' is not a plain relative path"),
        (lambda: named("word/../../evil"), "member name 'word/../../evil' is not a plain relative path"),
        (lambda: named("/etc/evil"), "member name '/etc/evil' is not a plain relative path"),
        (lambda: named("word\\..\\evil"), "is not a plain relative path"),
        (lambda: named("C:/evil.xml"), "member name 'C:/evil.xml' is not a plain relative path"),
        (encrypted_member, "member word/extra.xml is encrypted"),
        (bzip2_member, "member word/media/x.bin uses compression method 12"),
        (
            lambda: rewrite(
                SHIPPED.read_bytes(), {"word/x.xml": b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'}
            ),
            "part word/x.xml declares a DTD, which Office documents may not",
        ),
        (markup_bomb, "its XML parts hold 1,10"),  # the bomb's 1,100,000 and the reference's own
        (
            lambda: rewrite(
                SHIPPED.read_bytes(), {"word/x.xml": b'<?xml version="1.0" encoding="UTF-7"?><x/>'}
            ),
            "part word/x.xml is in 'UTF-7'; Office documents use UTF-8 or UTF-16",
        ),
    ],
    ids=[
        "member-count",
        "duplicate",
        "duplicate-in-another-case",
        "dot-dot",
        "dot-dot-inside",
        "absolute",
        "backslashes",
        "drive-letter",
        "encrypted",
        "bzip2",
        "dtd",
        "markup",
        "utf-7",
    ],
)
def test_a_zip_that_is_not_a_plain_package_is_refused_naming_the_file(
    tmp_path: Path, make: Callable[[], bytes], reason: str
) -> None:
    run, path = build_with(tmp_path, make())
    message = assert_content_error(run, f"--reference-docx: {path}: refused as reference document: ", reason)
    assert len(message.strip().splitlines()) == 1, message


# ----- fields that fetch ----------------------------------------------------------------------------

HEADER = "word/header1.xml"
FOOTER = "word/footer1.xml"


def field_cases(url: str) -> dict[str, tuple[str, str, str]]:
    """name -> (part, paragraph markup, what the warning names)."""
    return {
        "includepicture-split-over-runs": (
            HEADER,
            paragraph(
                complex_field(
                    instr("  inclu"),
                    instr("dePicture  ", f'"{url}/'),
                    instr("header.png"),
                    instr('" \\d', " \\* MERGEFORMAT "),
                )
            ),
            "removed INCLUDEPICTURE field from word/header1.xml",
        ),
        "includetext-simple": (
            FOOTER,
            paragraph(simple_field(f' INCLUDETEXT "{url}/footer.docx" ')),
            "removed INCLUDETEXT field from word/footer1.xml",
        ),
        "ddeauto": (
            HEADER,
            paragraph(complex_field(instr('DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc"'))),
            "removed DDEAUTO field from word/header1.xml",
        ),
        "dde-lowercase-simple": (
            FOOTER,
            paragraph(simple_field(f'dde "{url}/dde" "x"')),
            "removed DDE field from word/footer1.xml",
        ),
        "link": (
            HEADER,
            paragraph(complex_field(instr(f'LINK Excel.Sheet.12 "{url}/book.xlsx" "Sheet1!R1C1" \\a \\f 4'))),
            "removed LINK field from word/header1.xml",
        ),
        "import": (
            FOOTER,
            paragraph(simple_field(f'\tIMPORT "{url}/import.wmf"')),
            "removed IMPORT field from word/footer1.xml",
        ),
        "nested-in-an-if": (
            HEADER,
            paragraph(
                char("begin"),
                instr(" IF 1 = 1 "),
                instr('"'),
                complex_field(instr(f' INCLUDETEXT "{url}/nested.docx" ')),
                instr('" "no" '),
                char("separate"),
                text_run("IF-RESULT"),
                char("end"),
            ),
            "removed INCLUDETEXT field from word/header1.xml",
        ),
        "type-computed-by-a-nested-field": (
            HEADER,
            paragraph(
                char("begin"),
                complex_field(instr(' QUOTE "INCLUDETEXT" ')),
                instr(f' "{url}/computed.docx" '),
                char("separate"),
                text_run("FIELD-RESULT"),
                char("end"),
            ),
            "removed a field whose type another field computes from word/header1.xml",
        ),
        "spanning-paragraphs": (
            HEADER,
            paragraph(char("begin"), instr(f'INCLUDEPICTURE "{url}/span.png"'), char("separate"))
            + "<w:p>"
            + text_run("FIELD-RESULT")
            + "</w:p>"
            + paragraph(char("end")),
            "removed INCLUDEPICTURE field from word/header1.xml",
        ),
        "never-ended": (
            FOOTER,
            paragraph(char("begin"), instr(f'INCLUDEPICTURE "{url}/open.png"')),
            "removed INCLUDEPICTURE field from word/footer1.xml",
        ),
    }


CASES = list(field_cases("http://x"))


@pytest.mark.parametrize("case", CASES)
def test_a_field_that_fetches_is_removed_from_headers_and_footers_with_a_warning(
    tmp_path: Path, corporate: bytes, server: Server, case: str
) -> None:
    part, markup, warning = field_cases(server.url)[case]
    closing = "</w:hdr>" if part == HEADER else "</w:ftr>"
    run, path = build_with(tmp_path, rewrite(corporate, {part: append(closing, markup)}))
    assert run.code == 0, run.result.output
    assert [w for w in run.warnings if f"reference document {path.name}: {warning}" in w], run.warnings
    parts = written(tmp_path)
    assert_nothing_fetches(parts, server, b"field-result")
    assert field_kinds(parts) & FETCHING == set()
    text = etree.fromstring(parts[part]).xpath("string()")
    assert "Before" in text and "after" in text  # the text around the field stays
    assert "Corporate" in text


def glossary(*extra: tuple[str, str, str, bool], body: str = "") -> dict[str, Change]:
    """A glossary document (building blocks), reached only through the main document's relationships."""
    ns = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    ns += ' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    ns += ' xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office"'
    part = (
        f'<?xml version="1.0" encoding="UTF-8"?><w:glossaryDocument {ns}><w:docParts><w:docPart>'
        f'<w:docPartPr><w:name w:val="Block"/></w:docPartPr><w:docPartBody>{body}</w:docPartBody>'
        "</w:docPart></w:docParts></w:glossaryDocument>"
    )
    changes: dict[str, Change] = {
        "word/glossary/document.xml": part,
        "word/_rels/document.xml.rels": add_rels(
            ("rIdGlossary", "glossaryDocument", "glossary/document.xml", False)
        ),
        "[Content_Types].xml": override(
            "word/glossary/document.xml",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document.glossary+xml",
        ),
    }
    if extra:
        changes["word/glossary/_rels/document.xml.rels"] = relationships(*extra)
    return changes


def test_a_field_in_a_part_python_docx_does_not_read_is_removed_too(
    tmp_path: Path, corporate: bytes, server: Server
) -> None:
    body = paragraph(complex_field(instr(f'INCLUDETEXT "{server.url}/glossary.docx"'))) + paragraph(
        simple_field(f'LINK Word.Document.12 "{server.url}/linked.docx" ""')
    )
    run, path = build_with(tmp_path, rewrite(corporate, glossary(body=body)))
    assert run.code == 0, run.result.output
    for kind in ("INCLUDETEXT", "LINK"):
        warning = f"reference document {path.name}: removed {kind} field from word/glossary/document.xml"
        assert [w for w in run.warnings if warning in w], run.warnings
    parts = written(tmp_path)
    assert "word/glossary/document.xml" in parts  # the building blocks are kept, without the fields
    assert_nothing_fetches(parts, server, b"field-result")
    assert field_kinds(parts) & FETCHING == set()


def test_an_unsafe_hyperlink_field_becomes_plain_text_and_a_safe_one_stays(
    tmp_path: Path, corporate: bytes, server: Server
) -> None:
    markup = paragraph(
        complex_field(instr(' HYPERLINK "file:///etc/passwd" '), result="policies"),
        simple_field(' HYPERLINK "javascript:alert(1)" ', result="script"),
        complex_field(instr(' HYPERLINK "https://intranet.example/" '), result="intranet"),
        complex_field(instr(' HYPERLINK \\l "top" '), result="top"),
    )
    run, path = build_with(tmp_path, rewrite(corporate, {HEADER: append("</w:hdr>", markup)}))
    assert run.code == 0, run.result.output
    for target in ("file:///etc/passwd", "javascript:alert(1)"):
        assert [w for w in run.warnings if path.name in w and f"link to {target}" in w], run.warnings
    header = written(tmp_path)[HEADER]
    assert b"passwd" not in header and b"javascript" not in header
    assert b"https://intranet.example/" in header and b'\\l "top"' in header
    text = etree.fromstring(header).xpath("string()")
    assert all(word in text for word in ("policies", "script", "intranet", "top"))


# ----- external relationships anywhere in the package ---------------------------------------------


def external_cases(url: str) -> dict[str, tuple[dict[str, Change], list[str]]]:
    """name -> (changes to the corporate reference, targets the warnings must name)."""
    blip = '<w:r><w:pict><v:shape id="s1"><v:imagedata r:id="{rid}" o:title=""/></v:shape></w:pict></w:r>'
    return {
        "package-rels": (
            {
                "_rels/.rels": add_rels(
                    ("rIdPkg", "attachedTemplate", f"{url}/package.dotm", True),
                    ("rIdThumb", "metadata/thumbnail", f"{url}/thumb.png", True),
                )
            },
            [f"{url}/package.dotm", f"{url}/thumb.png"],
        ),
        "settings-attached-template": (
            {
                "word/settings.xml": append("</w:settings>", '<w:attachedTemplate r:id="rIdTpl"/>'),
                "word/_rels/settings.xml.rels": relationships(
                    ("rIdTpl", "attachedTemplate", f"{url}/t.dotm", True)
                ),
            },
            [f"{url}/t.dotm"],
        ),
        "header-linked-image": (
            {
                HEADER: append("</w:hdr>", paragraph(blip.format(rid="rIdHdr"))),
                "word/_rels/header1.xml.rels": relationships(("rIdHdr", "image", f"{url}/header.png", True)),
            },
            [f"{url}/header.png"],
        ),
        "lower-case-target-mode": (
            {
                HEADER: append("</w:hdr>", paragraph(blip.format(rid="rIdLow"))),
                "word/_rels/header1.xml.rels": relationships(
                    ("rIdLow", "image", f"{url}/lower.png", False)
                ).replace("/>", ' TargetMode="external"/>'),
            },
            [f"{url}/lower.png"],
        ),
        "part-reached-only-through-another-part": (
            {
                "word/_rels/header1.xml.rels": relationships(
                    ("rIdData", "diagramData", "diagrams/data1.xml", False)
                ),
                "word/diagrams/data1.xml": '<dgm:dataModel xmlns:dgm="http://schemas.openxmlformats.org/'
                'drawingml/2006/diagram" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
                'relationships"><dgm:ptLst/><dgm:extLst r:id="rIdDeep"/></dgm:dataModel>',
                "word/diagrams/_rels/data1.xml.rels": relationships(
                    ("rIdDeep", "image", f"{url}/deep.png", True),
                    ("rIdBack", "header", "../header1.xml", False),  # a cycle back to the header
                ),
                "[Content_Types].xml": override(
                    "word/diagrams/data1.xml",
                    "application/vnd.openxmlformats-officedocument.drawingml.diagramData+xml",
                ),
            },
            [f"{url}/deep.png"],
        ),
        "glossary": (
            glossary(
                ("rIdGlossImg", "image", f"{url}/glossary.png", True),
                ("rIdGlossLink", "hyperlink", "file:///etc/passwd", True),
                body=paragraph(
                    blip.format(rid="rIdGlossImg"),
                    '<w:hyperlink r:id="rIdGlossLink">' + text_run("policies") + "</w:hyperlink>",
                ),
            ),
            [f"{url}/glossary.png", "file:///etc/passwd"],
        ),
    }


@pytest.mark.parametrize("case", list(external_cases("http://x")))
def test_an_external_relationship_anywhere_in_the_package_is_removed_with_a_warning(
    tmp_path: Path, corporate: bytes, server: Server, case: str
) -> None:
    changes, targets = external_cases(server.url)[case]
    run, path = build_with(tmp_path, rewrite(corporate, changes))
    assert run.code == 0, run.result.output
    for target in targets:
        assert [w for w in run.warnings if f"reference document {path.name}: " in w and target in w], (
            target,
            run.warnings,
        )
    parts = written(tmp_path)
    assert_nothing_fetches(parts, server, b"passwd")
    assert "Corporate header" in etree.fromstring(parts[HEADER]).xpath("string()")


def ole_object(rid: str) -> str:
    return (
        '<w:r><w:object><v:shape id="ole1" style="width:10pt;height:10pt"/>'
        f'<o:OLEObject Type="Embed" ProgID="Package" ShapeID="ole1" DrawAspect="Icon" r:id="{rid}"/>'
        "</w:object></w:r>"
    )


def test_embedded_objects_are_removed_from_every_part(
    tmp_path: Path, corporate: bytes, server: Server
) -> None:
    changes = glossary(
        ("rIdPackage", "package", "../embeddings/inner.docx", False), body=paragraph(ole_object("rIdPackage"))
    )
    changes |= {
        HEADER: append("</w:hdr>", paragraph(ole_object("rIdOle"))),
        "word/_rels/header1.xml.rels": relationships(
            ("rIdOle", "oleObject", "embeddings/oleObject1.bin", False)
        ),
        "word/embeddings/oleObject1.bin": b"\xd0\xcf\x11\xe0 OLE " + server.url.encode(),
        "word/embeddings/inner.docx": b"PK inner package " + server.url.encode(),
        "[Content_Types].xml": append(
            "</Types>",
            '<Default Extension="bin" ContentType="application/vnd.openxmlformats-officedocument.oleObject"/>'
            '<Default Extension="docx" ContentType="application/vnd.openxmlformats-officedocument.'
            'wordprocessingml.document"/>',
        ),
    }
    run, path = build_with(tmp_path, rewrite(corporate, changes))
    assert run.code == 0, run.result.output
    for target in ("embeddings/oleObject1.bin", "../embeddings/inner.docx"):
        warning = f"reference document {path.name}: removed embedded object {target}"
        assert [w for w in run.warnings if warning in w], run.warnings
    parts = written(tmp_path)
    assert [name for name in parts if "embeddings/" in name] == []
    assert_nothing_fetches(parts, server, b"oleobject", b"w:object")


def test_warnings_of_a_reference_are_given_again_on_every_build(tmp_path: Path, corporate: bytes) -> None:
    reference = tmp_path / "evil.docx"
    markup = paragraph(complex_field(instr('INCLUDEPICTURE "http://127.0.0.1:9/x.png"')))
    reference.write_bytes(rewrite(corporate, {HEADER: append("</w:hdr>", markup)}))
    html = '<!DOCTYPE html><html lang="en"><head><title>T</title></head><body><h1 id="a">A</h1></body></html>'
    document = Rendered(html=html, title="T", language="en", template="t")
    for _ in range(2):  # the second build reads the cleaned package from the cache
        with collect() as warnings_seen:
            data = write_docx(document, WriteOptions(reference_docx=reference))
        assert [w for w in warnings_seen if "evil.docx: removed INCLUDEPICTURE field" in w], warnings_seen
        assert b"includepicture" not in docx_parts(data)[HEADER].lower()


def test_the_shipped_reference_passes_through_the_cleaning_byte_for_byte() -> None:
    cleaned, notes = check_reference(SHIPPED)
    assert notes == ()
    assert docx_parts(cleaned) == docx_parts(SHIPPED.read_bytes())


# ----- paths that are not plain files -------------------------------------------------------------


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Fail the test, rather than hang it, if the block takes longer than ``seconds``."""

    def expire(*_: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def reference_at(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / "ref.docx"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "link-to-dev-zero":
        if not Path("/dev/zero").exists():
            pytest.skip("no /dev/zero here")
        path.symlink_to("/dev/zero")
    elif kind == "sparse-512-mb":
        with path.open("wb") as handle:
            handle.truncate(512 << 20)
    return path


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("fifo", "not a regular file (a FIFO)"),
        ("link-to-dev-zero", "not a regular file (a character device)"),
        ("sparse-512-mb", f"it is {512 << 20:,} bytes (limit {MAX_REFERENCE_BYTES:,})"),
    ],
)
def test_a_reference_that_is_not_a_plain_file_is_refused_at_once(
    tmp_path: Path, mini_copy: Path, kind: str, reason: str
) -> None:
    path = reference_at(tmp_path, kind)
    with deadline(10):
        run = build(tmp_path, mini_copy, tmp_path / "out", "docx", "--reference-docx", path)
    message = assert_content_error(run, f"--reference-docx: {path}: refused as reference document: {reason}")
    assert len(message.strip().splitlines()) == 1, message


def test_a_fifo_named_reference_docx_in_a_template_folder_is_refused_at_once(
    tmp_path: Path, mini_copy: Path
) -> None:
    folder = (tmp_path / "tpl").resolve()
    folder.mkdir()
    os.mkfifo(folder / "reference.docx")
    with deadline(10):
        run = build(tmp_path, mini_copy, tmp_path / "out", "docx", "--templates", folder)
    assert_content_error(
        run, f"{folder / 'reference.docx'}: refused as reference document: not a regular file (a FIFO)"
    )


# ----- odd shapes: never an internal error, never a forged line ---------------------------------


def test_a_newline_in_a_target_cannot_add_a_line_to_the_warnings(tmp_path: Path, corporate: bytes) -> None:
    target = "http://127.0.0.1:9/a.png\nwarning: all clear"
    changes = {"word/_rels/header1.xml.rels": relationships(("rIdNl", "image", target, True))}
    run, _ = build_with(tmp_path, rewrite(corporate, changes))
    assert run.code == 0, run.result.output
    assert not [line for line in run.stderr.splitlines() if line.startswith("warning: all clear")]
    assert [w for w in run.warnings if "http://127.0.0.1:9/a.png\\x0awarning: all clear" in w], run.warnings


def test_field_characters_nested_inside_each_other_are_removed_with_the_field(
    tmp_path: Path, corporate: bytes
) -> None:
    nested = (
        '<w:r><w:fldChar w:fldCharType="begin"><w:instrText>INCLUDEPICTURE "http://127.0.0.1:9/n.png"'
        '</w:instrText><w:fldChar w:fldCharType="end"/></w:fldChar></w:r>'
    )
    run, _ = build_with(tmp_path, rewrite(corporate, {HEADER: append("</w:hdr>", paragraph(nested))}))
    assert run.code == 0, run.result.output
    assert field_kinds(written(tmp_path)) & FETCHING == set()


def test_a_part_that_is_nothing_but_a_fetching_field_is_refused(tmp_path: Path, corporate: bytes) -> None:
    changes = glossary()
    changes["word/glossary/document.xml"] = (
        '<w:fldSimple xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
        'w:instr="INCLUDETEXT &quot;http://127.0.0.1:9/x.docx&quot;"/>'
    )
    run, path = build_with(tmp_path, rewrite(corporate, changes))
    assert_content_error(
        run, f"{path}: refused as reference document: part word/glossary/document.xml is a field that fetches"
    )
