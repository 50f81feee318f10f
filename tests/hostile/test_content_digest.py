"""The content's sha256 in a manifest is of the very bytes that were validated: a content file is
read once, through the opener, so swapping it for a FIFO, a bigger file or other text after the
check can neither hang a build nor make the manifest describe content no brief was made from."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from briefgen import loader
from briefgen.build import BuildRequest, build
from briefgen.validate import validate

from .helpers import MINI


def expected_digest(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def test_the_content_digest_is_of_each_file_name_and_bytes_in_order(tmp_path: Path) -> None:
    content = tmp_path / "mini"
    shutil.copytree(MINI, content)
    result = validate(content)
    assert result.digest == expected_digest(list(result.files))
    out = tmp_path / "out"
    build(BuildRequest(content=content, out=out, formats=("html",)))
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {f["content_sha256"] for f in manifest["files"]} == {result.digest}


def test_a_content_file_swapped_after_it_was_read_does_not_change_the_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = tmp_path / "mini"
    shutil.copytree(MINI, content)
    honest = validate(content).digest
    real_parse = loader.parse_bytes

    def parse_then_swap(raw: bytes, name: str):  # the file changes on disk right after its one read
        parsed = real_parse(raw, name)
        (content / Path(name).name).write_bytes(raw + b"# changed after it was read\n")
        return parsed

    monkeypatch.setattr(loader, "parse_bytes", parse_then_swap)
    swapped = validate(content)
    assert swapped.digest == honest


def test_a_content_file_is_never_read_a_second_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    content = tmp_path / "mini"
    shutil.copytree(MINI, content)

    def no_second_read(self: Path) -> bytes:
        raise AssertionError(f"{self} read again outside the opener")

    monkeypatch.setattr(Path, "read_bytes", no_second_read)
    assert len(validate(content).digest) == 64
