"""The bounded zip reader: what it returns for ordinary zips, and what it refuses however the headers lie."""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib

import pytest

from briefgen import unpack
from briefgen.errors import RenderError
from briefgen.unpack import Refused, members
from briefgen.writers.docx.package import normalise_zip


def make(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED, **options: bool) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in entries.items():
            with archive.open(name, "w", **options) as member:
                member.write(data)
    return out.getvalue()


def patch(data: bytes, name: str, field: str, value: int) -> bytes:
    """Set ``field`` (crc, csize or size) of ``name`` in its local header and its directory entry."""
    local_at, central_at = {"crc": (14, 16), "csize": (18, 20), "size": (22, 24)}[field]
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        struct.pack_into("<I", out, archive.getinfo(name).header_offset + local_at, value)
    central = out.find(b"PK\x01\x02")
    while bytes(out[central + 46 : central + 46 + len(name)]) != name.encode():
        central = out.find(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", out, central + central_at, value)
    return bytes(out)


ENTRIES = {"a.xml": b"<a/>" * 5000, "b/c.bin": bytes(range(256)) * 40, "empty": b""}


@pytest.mark.parametrize(
    "data",
    [
        make(ENTRIES),
        make(ENTRIES, zipfile.ZIP_STORED),
        make(ENTRIES, force_zip64=True),
        b"#!/bin/sh\nexit 0\n" + make(ENTRIES),  # a stub in front, as self-extracting archives have
    ],
    ids=["deflated", "stored", "zip64", "prefixed"],
)
def test_an_ordinary_zip_unpacks_to_exactly_what_zipfile_reads(data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        expected = {name: archive.read(name) for name in archive.namelist()}
    assert members(data, 10_000_000) == expected == ENTRIES


def test_folder_entries_are_skipped() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.mkdir("word")
        archive.writestr("word/a.xml", b"<a/>")
    assert members(out.getvalue(), 1000) == {"word/a.xml": b"<a/>"}


def test_a_deflated_member_longer_than_its_header_says_stops_at_the_declared_size() -> None:
    data = patch(make({"big.bin": bytes(50_000_000)}), "big.bin", "size", 100)
    data = patch(data, "big.bin", "crc", zlib.crc32(bytes(100)))
    with pytest.raises(
        Refused, match=re.escape("member big.bin inflates to more than the 100 bytes its header declares")
    ):
        members(data, 1_000_000)


def test_a_deflated_member_shorter_than_its_header_says_is_refused() -> None:
    data = patch(make({"a.xml": b"<a/>" * 100}), "a.xml", "size", 500)
    with pytest.raises(Refused, match=re.escape("member a.xml inflates to 400 bytes, not the 500 declared")):
        members(data, 1_000_000)


def test_a_stored_member_with_two_sizes_is_refused() -> None:
    data = patch(make({"a.xml": b"<a/>" * 100}, zipfile.ZIP_STORED), "a.xml", "size", 10)
    with pytest.raises(Refused, match=re.escape("member a.xml: stored with two different sizes")):
        members(data, 1_000_000)


def test_compressed_data_cut_short_is_refused() -> None:
    data = make({"a.bin": bytes(range(256)) * 400})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        packed = archive.getinfo("a.bin").compress_size
    with pytest.raises(Refused, match=re.escape("member a.bin: its compressed data ends early")):
        members(patch(data, "a.bin", "csize", packed // 2), 1_000_000)


def test_a_wrong_checksum_is_refused() -> None:
    with pytest.raises(Refused, match=re.escape("member a.xml fails its checksum")):
        members(patch(make({"a.xml": b"<a/>"}), "a.xml", "crc", 1234), 1000)


def test_declared_sizes_over_the_limit_are_refused_before_anything_is_inflated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = make({"zeros.bin": bytes(3_000_000)})
    monkeypatch.setattr(unpack, "_inflate", lambda *args: pytest.fail("inflated"))
    with pytest.raises(Refused, match=r"it unpacks to 3,000,000 bytes \(limit 2,000,000, ratio"):
        members(data, 2_000_000)
    with pytest.raises(Refused, match=re.escape("it unpacks to 3,000,000 bytes")):
        members(data, 10_000_000, ratio=100)


def test_the_running_budget_holds_whatever_the_directory_claims() -> None:
    data = make({"zeros.bin": bytes(1_000_000)})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo("zeros.bin")
    with pytest.raises(Refused, match=re.escape("member zeros.bin takes the unpacked size past 1,000 bytes")):
        unpack._inflate(data, info, 1000, 1000)


def test_more_directory_signatures_than_the_member_limit_is_refused_before_the_directory_is_read() -> None:
    data = make({f"m{n}": b"" for n in range(30)})
    with pytest.raises(Refused, match=r"it holds up to 30 members \(limit 20\)"):
        members(data, 1000, max_members=20)


def test_something_that_is_not_a_zip_is_refused() -> None:
    with pytest.raises(Refused, match=re.escape("not a readable zip")):
        members(b"plain text", 1000)


def test_a_local_header_that_names_another_file_is_refused() -> None:
    data = make({"a.xml": b"<a/>"})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        at = archive.getinfo("a.xml").header_offset + 30
    forged = data[:at] + b"b.xml" + data[at + 5 :]
    with pytest.raises(
        Refused, match=re.escape("member a.xml: its local header does not match the directory")
    ):
        members(forged, 1000)


def test_a_word_file_briefgen_reads_back_goes_through_the_same_bounds() -> None:
    data = patch(make({"word/document.xml": bytes(5_000_000)}), "word/document.xml", "size", 10)
    with pytest.raises(
        RenderError, match=re.escape("Word document: member word/document.xml inflates to more than")
    ):
        normalise_zip(data, None)
