"""The orchestrator and the output stage: all-or-nothing builds, atomic writes, the manifest."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from helpers import MINI

from briefgen.build import BuildRequest, build
from briefgen.errors import RenderError, UsageError
from briefgen.output import read_manifest, write_atomic
from briefgen.stakeholders import Stakeholder


def request(out: Path, **kwargs) -> BuildRequest:
    return BuildRequest(content=MINI, out=out, formats=("html",), **kwargs)


# --- build ----------------------------------------------------------------------------------


def test_build_writes_each_file_and_records_it(tmp_path):
    out = tmp_path / "out"
    result = build(request(out))
    assert [r.path for r in result.files] == ["business-brief.html"]
    data = (out / "business-brief.html").read_bytes()
    (record,) = result.files
    assert (record.bytes, record.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert result.manifest == out / "manifest.json"
    manifest = json.loads(result.manifest.read_text(encoding="utf-8"))
    assert manifest["files"][0]["sha256"] == record.sha256
    assert manifest["files"][0]["options"]["template"] == "business.html.j2"


def test_manifest_keeps_entries_of_earlier_builds(tmp_path, content_copy):
    out = tmp_path / "out"
    common = {"content": content_copy, "out": out, "formats": ("html",)}
    build(BuildRequest(audiences=("business",), **common))
    build(BuildRequest(audiences=("government",), **common))
    paths = [e["path"] for e in read_manifest(out)["files"]]
    assert paths == ["business-brief.html", "government-brief.html"]
    # An entry whose file was deleted is dropped at the next build.
    (out / "business-brief.html").unlink()
    build(BuildRequest(audiences=("government",), **common))
    assert [e["path"] for e in read_manifest(out)["files"]] == ["government-brief.html"]


def test_summary_and_stakeholder_change_the_file_name(tmp_path):
    out = tmp_path / "out"
    person = Stakeholder("Ana Silva", "Porto & Co")
    result = build(request(out, length="summary", stakeholder=person))
    assert [r.path for r in result.files] == ["business-summary-porto-co.html"]
    html = (out / "business-summary-porto-co.html").read_text(encoding="utf-8")
    assert "Prepared for <strong>Ana Silva</strong>, Porto &amp; Co" in html


def test_render_error_names_the_audience_and_writes_nothing(tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "business.html.j2").write_text("{% if %}\n", encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(RenderError) as info:
        build(request(out, templates=(templates,)))
    assert info.value.message.startswith("audience 'business': ")
    assert "business.html.j2:1" in info.value.message
    assert not out.exists()


def test_unknown_format_is_a_usage_error_before_any_work(tmp_path):
    with pytest.raises(UsageError):
        build(BuildRequest(content=MINI, out=tmp_path / "out", formats=("rtf",)))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", ["yesterday", "-5"])
def test_bad_source_date_epoch_is_a_usage_error(tmp_path, monkeypatch, value):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    with pytest.raises(UsageError) as info:
        build(request(tmp_path / "out"))
    assert "SOURCE_DATE_EPOCH" in info.value.message
    assert not (tmp_path / "out").exists()


# --- write_atomic ---------------------------------------------------------------------------


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".part")]


def test_write_atomic_creates_folders_and_replaces_a_file_completely(tmp_path):
    target = tmp_path / "deep" / "er" / "brief.html"
    write_atomic(target, b"x" * 10_000)
    write_atomic(target, b"short")
    assert target.read_bytes() == b"short"
    assert leftovers(target.parent) == []
    assert sorted(p.name for p in target.parent.iterdir()) == ["brief.html"]


def test_write_atomic_failure_keeps_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "brief.html"
    target.write_bytes(b"old version")

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, b"new version")
    monkeypatch.undo()
    assert target.read_bytes() == b"old version"
    assert leftovers(tmp_path) == []
    assert [p.name for p in tmp_path.iterdir()] == ["brief.html"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_write_atomic_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "brief.html", b"<p>hi</p>")
    finally:
        os.umask(old)
    assert (tmp_path / "brief.html").stat().st_mode & 0o777 == 0o644


def test_read_manifest_tolerates_a_broken_manifest(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    assert read_manifest(tmp_path) == {}
    out = tmp_path
    build(request(out))
    assert [e["path"] for e in read_manifest(out)["files"]] == ["business-brief.html"]
