"""Batch distribution: one personalised brief per stakeholder, a manifest whose checksums hold,
skipping unchanged stakeholders, failures that stay alone, zips and e-mail drafts."""

from __future__ import annotations

import csv
import email
import email.policy
import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from helpers import entries, manifest
from pypdf import PdfReader

from briefgen.cli import main
from briefgen.paths import builtin_content

EXAMPLE = builtin_content() / "stakeholders.example.csv"


def person(ident: str, name: str, organisation: str, audience: str = "business", **extra: str) -> dict:
    return {"id": ident, "name": name, "organisation": organisation, "audience": audience, **extra}


def pdf_pages(data: bytes) -> list[str]:
    return [" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(data)).pages]


def structure_size(data: bytes) -> int:
    """Count the structure elements of a tagged PDF (0 when untagged)."""
    root = PdfReader(io.BytesIO(data)).trailer["/Root"]
    if "/StructTreeRoot" not in root:
        return 0
    count, stack = 0, [root["/StructTreeRoot"].get_object()]
    while stack:
        node = stack.pop()
        count += 1
        kids = node.get("/K")
        for kid in kids if isinstance(kids, list) else [kids] if kids is not None else []:
            kid = kid.get_object() if hasattr(kid, "get_object") else kid
            if isinstance(kid, dict) and "/S" in kid:
                stack.append(kid)
    return count


def run_batch(runner, *args: str):
    return runner.invoke(main, ["batch", *args], catch_exceptions=False)


# --- the shipped example list ---------------------------------------------------------------


def test_the_example_list_gives_every_stakeholder_a_pdf_and_a_word_brief(runner, tmp_path: Path):
    out = tmp_path / "out"
    result = run_batch(runner, str(EXAMPLE), "--format", "pdf,docx", "--out", str(out), "--jobs", "2")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(EXAMPLE.open(encoding="utf-8")))
    assert len(rows) >= 20
    found = entries(out)
    assert set(found) == {row["id"] for row in rows}
    for row in rows:
        entry = found[row["id"]]
        assert entry["status"] == "built" and entry["error"] is None
        formats = {f["format"] for f in entry["files"]}
        assert {"pdf", "docx"} <= formats
        for record in entry["files"]:
            data = (out / record["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == record["sha256"]
            assert len(data) == record["bytes"]
            if record["format"] == "pdf":
                pages = pdf_pages(data)
                assert len(pages) == record["pages"]
                assert f"Prepared for {row['name']}" in pages[0]
            else:
                with zipfile.ZipFile(out / record["path"]) as docx:
                    assert row["name"] in docx.read("word/document.xml").decode("utf-8")
    assert "28 built, 0 unchanged, 0 failed" in result.output

    # nothing changed: every stakeholder is skipped and no file is touched
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    again = run_batch(runner, str(EXAMPLE), "--format", "pdf,docx", "--out", str(out), "--jobs", "2")
    assert again.exit_code == 0, again.output
    assert "0 built, 28 unchanged, 0 failed" in again.output
    assert again.output.splitlines()[0].startswith("[ 1/28] unchanged ")
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name != "manifest.json"} == {
        name: stamp for name, stamp in stamps.items() if name != "manifest.json"
    }


# --- one body, many covers ------------------------------------------------------------------


def test_a_shared_body_with_a_swapped_cover_reads_exactly_like_a_brief_built_alone(
    stakeholder_list, runner, tmp_path: Path
):
    group = {"audience": "government", "focus": "cybersecurity", "region": "africa"}
    rows = [
        person("p1", "Amina Diallo", "Ministry of Examples", **group),
        person("p2", "Kwame Asante", "Agency of Samples", sector="regulator", country="Ghana", **group),
    ]
    listing = stakeholder_list(rows)
    out = tmp_path / "out"
    # the cover swap is the WeasyPrint engine's (Typst builds every PDF whole)
    weasyprint = ("--pdf-engine", "weasyprint")
    result = run_batch(runner, str(listing), "--format", "pdf", "--out", str(out), "--jobs", "1", *weasyprint)
    assert result.exit_code == 0, result.output
    assert "(1 PDFs reused a shared body)" in result.output
    shared = (out / "Agency-of-Samples-Kwame-Asante.pdf").read_bytes()

    alone_out = tmp_path / "alone"
    stakeholder_list(rows[1:], "one.csv")
    assert (
        run_batch(
            runner, str(tmp_path / "one.csv"), "--format", "pdf", "--out", str(alone_out), *weasyprint
        ).exit_code
        == 0
    )
    alone = (alone_out / "Agency-of-Samples-Kwame-Asante.pdf").read_bytes()

    assert pdf_pages(shared) == pdf_pages(alone)  # same text on every page, page numbers included
    assert "Prepared for Kwame Asante, Agency of Samples" in pdf_pages(shared)[0]
    assert not any("Amina" in page for page in pdf_pages(shared))
    assert b"Amina" not in shared
    assert structure_size(shared) == structure_size(alone) > 100
    shared_reader, alone_reader = PdfReader(io.BytesIO(shared)), PdfReader(io.BytesIO(alone))
    titles = [o.title for o in shared_reader.outline if not isinstance(o, list)]
    assert titles == [o.title for o in alone_reader.outline if not isinstance(o, list)]
    assert len(titles) >= 5


# --- re-runs, changes, --force ----------------------------------------------------------------


def test_only_changed_stakeholders_are_rebuilt_and_force_rebuilds_all(
    stakeholder_list, runner, tmp_path: Path
):
    rows = [person(f"r{i}", f"Reader {i}", f"Org {i}", country="Chile") for i in range(3)]
    listing = stakeholder_list(rows)
    out = tmp_path / "out"
    assert run_batch(runner, str(listing), "--format", "html", "--out", str(out)).exit_code == 0
    before = entries(out)

    rows[1]["country"] = "Peru"
    stakeholder_list(rows)
    result = run_batch(runner, str(listing), "--format", "html", "--out", str(out))
    assert result.exit_code == 0
    assert "1 built, 2 unchanged, 0 failed" in result.output
    after = entries(out)
    assert after["r0"]["files"] == before["r0"]["files"]
    assert after["r1"]["files"][0]["sha256"] != before["r1"]["files"][0]["sha256"]
    assert "Peru" in (out / after["r1"]["files"][0]["path"]).read_text(encoding="utf-8")

    (out / after["r2"]["files"][0]["path"]).write_text("damaged", encoding="utf-8")
    result = run_batch(runner, str(listing), "--format", "html", "--out", str(out))
    assert "1 built, 2 unchanged" in result.output  # a file whose checksum fails is rebuilt

    result = run_batch(runner, str(listing), "--format", "html", "--out", str(out), "--force")
    assert "3 built, 0 unchanged" in result.output


def test_a_failing_stakeholder_is_recorded_and_the_batch_goes_on(stakeholder_list, runner, tmp_path: Path):
    templates = tmp_path / "tpl"
    templates.mkdir()
    (templates / "business.html.j2").write_text(
        '{% extends "builtin/business.html.j2" %}\n'
        "{% block cover %}{% if brief.stakeholder.id == 'bad' %}{{ no_such_value }}{% endif %}"
        "{{ super() }}{% endblock %}\n",
        encoding="utf-8",
    )
    rows = [person("good", "Good Reader", "Fine Org"), person("bad", "Bad Reader", "Broken Org")]
    listing = stakeholder_list(rows)
    out = tmp_path / "out"
    result = run_batch(
        runner, str(listing), "--format", "html", "--out", str(out), "--templates", str(templates)
    )
    assert result.exit_code == 1
    assert "1 built, 0 unchanged, 1 failed" in result.output
    found = entries(out)
    assert found["good"]["status"] == "built"
    assert found["bad"]["status"] == "failed"
    assert "business.html.j2:2" in found["bad"]["error"] and "no_such_value" in found["bad"]["error"]
    assert sorted(p.name for p in out.glob("*.html")) == ["Fine-Org-Good-Reader.html"]


def test_a_brief_over_the_time_limit_fails_alone(stakeholder_list, runner, tmp_path: Path):
    templates = tmp_path / "tpl"
    templates.mkdir()
    (templates / "business.html.j2").write_text(
        '{% extends "builtin/business.html.j2" %}\n'
        "{% block cover %}{% if brief.stakeholder.id == 'slow' %}"
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
        "{% endif %}{{ super() }}{% endblock %}\n",
        encoding="utf-8",
    )
    rows = [person("slow", "Slow Reader", "Slow Org"), person("quick", "Quick Reader", "Quick Org")]
    listing = stakeholder_list(rows)
    out = tmp_path / "out"
    result = run_batch(
        runner,
        *(str(listing), "--format", "html", "--out", str(out), "--templates", str(templates)),
        *("--time-limit", "1", "--jobs", "2"),
    )
    assert result.exit_code == 1
    found = entries(out)
    assert found["quick"]["status"] == "built", found["quick"]
    assert found["slow"]["status"] == "failed"
    assert "longer than 1 s" in found["slow"]["error"]


# --- names, packages, progress ---------------------------------------------------------------


def test_name_pattern_fills_fields_and_collisions_get_the_id(stakeholder_list, runner, tmp_path: Path):
    rows = [
        person("a1", "Ann", "Acme", country="Chile"),
        person("a2", "Bob", "ACME", country="Chile"),
        person("a3", "Cy", "Zoë", country="Chile"),
        person("a4", "Di", "Zoe\u0308", country="Chile"),  # the same name, decomposed
    ]
    listing = stakeholder_list(rows)
    out = tmp_path / "out"
    result = run_batch(
        runner, str(listing), "--format", "html", "--out", str(out), "--name", "{organisation}-{audience}"
    )
    assert result.exit_code == 0, result.output
    names = {i: e["files"][0]["path"] for i, e in entries(out).items()}
    assert names == {
        "a1": "Acme-business.html",
        "a2": "ACME-business-a2.html",
        "a3": "Zoë-business.html",
        "a4": "Zoë-business-a4.html",
    }
    assert len(list(out.glob("*.html"))) == 4


def test_an_unknown_name_placeholder_is_a_usage_error(stakeholder_list, runner, tmp_path: Path):
    listing = stakeholder_list([person("a1", "Ann", "Acme")])
    result = runner.invoke(main, ["batch", str(listing), "--name", "{company}"])
    assert result.exit_code == 2
    assert "--name: unknown placeholder {company}" in result.output


def test_zip_per_format_and_an_email_draft_per_stakeholder(
    stakeholder_list, runner, tmp_path: Path, monkeypatch
):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1750000000")
    rows = [
        person("m1", "Mia Example", "Harbour Cloud", email="mia@harbour.example", formats="docx"),
        person("m2", "Noor Example", "Delta Labs", email="noor@delta.example"),
        person("m3", "Omar Example", "No Mail Ltd"),
    ]
    listing = stakeholder_list(rows)
    out = tmp_path / "out"
    result = run_batch(
        runner,
        *(str(listing), "--format", "html", "--out", str(out), "--zip", "--eml"),
        *("--from", "Briefing Desk <desk@briefs.example>"),
    )
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out / "briefs-html.zip") as archive:
        assert sorted(archive.namelist()) == sorted(p.name for p in out.glob("*.html"))
        assert len(archive.namelist()) == 3
    with zipfile.ZipFile(out / "briefs-docx.zip") as archive:  # m1 asked for Word as well
        assert archive.namelist() == ["Harbour-Cloud-Mia-Example.docx"]

    drafts = sorted((out / "outbox").glob("*.eml"))
    assert [d.name for d in drafts] == ["Delta-Labs-Noor-Example.eml", "Harbour-Cloud-Mia-Example.eml"]
    message = email.message_from_bytes(drafts[1].read_bytes(), policy=email.policy.default)
    assert message["To"] == "Mia Example <mia@harbour.example>"
    assert message["From"] == "Briefing Desk <desk@briefs.example>"
    assert message["Subject"].startswith("Your briefing: ")
    assert message["X-Unsent"] == "1"
    body = message.get_body(("plain",)).get_content()
    assert body.startswith("Dear Mia Example,") and "Harbour Cloud" in body
    attachments = list(message.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["Harbour-Cloud-Mia-Example.docx"]
    assert attachments[0].get_content() == (out / "Harbour-Cloud-Mia-Example.docx").read_bytes()
    assert "no e-mail address for 1 stakeholder(s) (m3)" in result.output

    first = (out / "briefs-html.zip").read_bytes()
    run_batch(runner, str(listing), "--format", "html", "--out", str(out), "--zip", "--force")
    assert (out / "briefs-html.zip").read_bytes() == first  # reproducible with SOURCE_DATE_EPOCH


def test_plain_progress_lines_when_not_on_a_terminal(stakeholder_list, runner, tmp_path: Path):
    listing = stakeholder_list([person("a1", "Ann", "Acme"), person("a2", "Bo", "Beta")])
    result = run_batch(runner, str(listing), "--format", "html", "--out", str(tmp_path / "out"))
    lines = result.output.splitlines()
    assert lines[0].startswith("[1/2] built     ")
    assert lines[1].startswith("[2/2] built     ")
    assert "2 stakeholders: 2 built, 0 unchanged, 0 failed in" in result.output
    assert f"manifest: {tmp_path / 'out' / 'manifest.json'}" in result.output


def test_manifest_records_the_inputs(stakeholder_list, runner, tmp_path: Path):
    listing = stakeholder_list([person("a1", "Ann", "Acme")])
    out = tmp_path / "out"
    run_batch(runner, str(listing), "--format", "html", "--out", str(out))
    data = manifest(out)
    assert data["kind"] == "batch"
    inputs = data["inputs"]
    assert inputs["list"] == "list.csv"
    assert inputs["list_sha256"] == hashlib.sha256(listing.read_bytes()).hexdigest()
    assert len(inputs["content_sha256"]) == 64 and len(inputs["templates_sha256"]) == 64


def test_a_stamped_word_brief_is_byte_identical_to_one_built_alone(
    stakeholder_list, runner, tmp_path: Path, monkeypatch
):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1750000000")
    group = {"audience": "business", "focus": "emerging-tech", "region": "asia"}
    rows = [
        person("w1", "Ines Example", "Pacific Chips", sector="semiconductors", country="Japan", **group),
        person("w2", "Tom O'Hara & Sons", "Bits <and> Bytes", sector="start-up", country="India", **group),
    ]
    listing = stakeholder_list(rows)
    out = tmp_path / "out"
    result = run_batch(runner, str(listing), "--format", "docx", "--out", str(out), "--jobs", "1")
    assert result.exit_code == 0, result.output
    stamped = (out / "Bits-and-Bytes-Tom-O'Hara-&-Sons.docx").read_bytes()
    alone = runner.invoke(
        main,
        [
            "build", "--audience", "business", "--format", "docx", "--out", str(tmp_path / "alone"),
            "--focus", "emerging-tech", "--region", "asia", "--name", "Tom O'Hara & Sons",
            "--organisation", "Bits <and> Bytes", "--sector", "start-up", "--country", "India",
        ],
    )  # fmt: skip
    assert alone.exit_code == 0, alone.output
    (built,) = (tmp_path / "alone").glob("*.docx")
    with zipfile.ZipFile(io.BytesIO(stamped)) as a, zipfile.ZipFile(built) as b:
        assert a.namelist() == b.namelist()
        for name in a.namelist():
            if name != "word/document.xml":
                assert a.read(name) == b.read(name), name
        stamped_xml = a.read("word/document.xml").decode("utf-8")
        assert "Tom O&apos;Hara &amp; Sons" in stamped_xml and "Bits &lt;and&gt; Bytes" in stamped_xml
        assert "\ue000" not in stamped_xml
        # the same document: equal once both spell the apostrophe the same way
        assert stamped_xml.replace("&apos;", "'") == b.read("word/document.xml").decode("utf-8")


def test_the_pdf_join_refuses_a_cover_of_two_pages():
    import weasyprint

    from briefgen.writers.pdf.join import JoinError, join

    two = weasyprint.HTML(string="<p>a</p><p style='break-before: page'>b</p>").write_pdf(pdf_tags=True)
    one = weasyprint.HTML(string="<p>body</p>").write_pdf(pdf_tags=True)
    with pytest.raises(JoinError, match="2 pages"):
        join(two, one)
    untagged = weasyprint.HTML(string="<p>c</p>").write_pdf()
    with pytest.raises(JoinError, match="not a tagged PDF"):
        join(untagged, one)
    joined = join(weasyprint.HTML(string="<p>cover</p>").write_pdf(pdf_tags=True), one)
    assert pdf_pages(joined) == ["cover", "body"]
    assert structure_size(joined) == structure_size(one) + 1 + 1  # the cover's P and its NonStruct


def test_a_value_the_fallback_font_draws_is_built_in_full_and_equals_one_built_alone(
    stakeholder_list, runner, tmp_path: Path, monkeypatch
):
    """The Word writer sets ✓ and → apart in Brief Fallback runs; a stamped value cannot be split so."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1750000000")
    group = {"audience": "business", "focus": "emerging-tech", "region": "asia"}
    rows = [
        person("v1", "Ines Example", "Pacific Chips", **group),
        person("v2", "Ana Novak", "Green ✓ Grid", **group),
    ]
    out = tmp_path / "out"
    result = run_batch(
        runner, str(stakeholder_list(rows)), "--format", "docx", "--out", str(out), "--jobs", "1"
    )
    assert result.exit_code == 0, result.output
    args = ["build", "--audience", "business", "--format", "docx", "--out", str(tmp_path / "alone")]
    args += [
        "--focus",
        "emerging-tech",
        "--region",
        "asia",
        "--name",
        "Ana Novak",
        "--organisation",
        "Green ✓ Grid",
    ]
    alone = runner.invoke(main, args)
    assert alone.exit_code == 0, alone.output
    (built,) = (tmp_path / "alone").glob("*.docx")
    (batch,) = out.glob("Green*Ana-Novak.docx")
    with zipfile.ZipFile(batch) as a, zipfile.ZipFile(built) as b:
        assert a.read("word/document.xml") == b.read("word/document.xml")
        assert "Brief Fallback" in a.read("word/document.xml").decode("utf-8")
