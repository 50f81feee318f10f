"""Briefgen's PDFs pass PDF/UA-1 and PDF/A-3b (page-validation), and ``briefgen check`` says why not."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import EPOCH

from briefgen.render import render
from briefgen.stakeholders import Stakeholder
from briefgen.tailor import Options, tailor
from briefgen.writers import WriteOptions
from briefgen.writers.pdf import for_group, write
from briefgen.writers.pdf.check import Failure, check
from briefgen.writers.pdf.pydyf_once import install

VARIANTS = {"pdf/ua-1": "ua-1", "pdf/a-3b": "a-3b"}
ENGINES = ("typst", "weasyprint")
THEMES = Path(__file__).parents[1] / "templates" / "themes"


def options(variant: str | None, **more) -> WriteOptions:
    return WriteOptions(pdf_variant=variant, source_date_epoch=int(EPOCH), **more)


def plain(failures: list[Failure]) -> str:
    return "\n".join(str(failure) for failure in failures)


@pytest.fixture(scope="module")
def briefs(shipped) -> dict[str, object]:
    """The shipped content rendered as every kind of brief the checks cover, once per module."""
    from briefgen.theme import load as load_theme

    strategy = shipped.strategy
    civic = load_theme(THEMES / "civic.toml")
    reader = Stakeholder(name="Ama Mensah", organisation="Example Works", country="Ghana")
    other = Stakeholder(name="Jon Berg", organisation="Sample Networks", country="Norway")
    group = {"audience": "business", "focus": ("cybersecurity",), "region": "africa"}
    return {
        "business": render(tailor(strategy, Options(audience="business"))),
        "government": render(tailor(strategy, Options(audience="government"))),
        "summary": render(tailor(strategy, Options(audience="business", length="summary"))),
        "first": render(tailor(strategy, Options(stakeholder=reader, **group))),
        "second": render(tailor(strategy, Options(stakeholder=other, **group))),
        "civic": civic,
        "themed": render(tailor(strategy, Options(audience="government")), theme=civic),
    }


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("kind", ["business", "government", "summary"])
def test_every_kind_of_brief_passes_its_standard(briefs, kind: str, variant: str, engine: str) -> None:
    pdf = write(briefs[kind], options(variant, pdf_engine=engine))
    assert check(pdf, VARIANTS[variant], name=kind) == [], plain(check(pdf, VARIANTS[variant], name=kind))
    assert check(pdf, "auto") == []  # auto finds what the file claims


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_a_french_brief_built_by_the_command_passes_its_standard(
    variant: str, engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from briefgen.build import BuildRequest, build
    from briefgen.paths import builtin_content

    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    request = BuildRequest(
        content=builtin_content(),
        out=tmp_path,
        audiences=("government",),
        formats=("pdf",),
        language="fr",
        pdf_variant=variant,
        pdf_engine=engine,
    )
    (record,) = build(request).files
    pdf = tmp_path / record.path
    import pikepdf

    with pikepdf.open(pdf) as opened:
        assert str(opened.Root.Lang) == "fr"
    failures = check(pdf, VARIANTS[variant])
    assert failures == [], plain(failures)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_a_themed_letter_brief_with_a_logo_passes_its_standard(briefs, variant: str, engine: str) -> None:
    themed = options(variant, theme=briefs["civic"], page_size="letter", pdf_engine=engine)
    pdf = write(briefs["themed"], themed)
    if engine == "weasyprint":
        assert b"/Subtype /Image" in pdf  # the theme's logo is in it (Typst draws the SVG as paths)
    failures = check(pdf, VARIANTS[variant])
    assert failures == [], plain(failures)


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_batch_brief_with_a_swapped_cover_passes_its_standard(briefs, variant: str) -> None:
    # the cover swap is the WeasyPrint engine's (Typst builds each stakeholder's PDF whole)
    writer = for_group(options(variant, pdf_engine="weasyprint"), render)
    writer.write(briefs["first"], shared=True)
    second = writer.write(briefs["second"], shared=True)
    assert second.reused  # the body was laid out once, for the first stakeholder
    failures = check(second.data, VARIANTS[variant])
    assert failures == [], plain(failures)


def test_the_pikepdf_join_adds_no_failure_to_a_tagged_brief(briefs) -> None:
    """Without a variant a brief claims no standard, so PDF/UA-1 finds only the missing claim (XMP
    metadata); the joined brief of a batch must have no failure the brief laid out whole has not."""
    weasyprint = options(None, pdf_engine="weasyprint")
    writer = for_group(weasyprint, render)
    writer.write(briefs["first"], shared=True)
    joined = writer.write(briefs["second"], shared=True)
    assert joined.reused and writer.body  # joined by pikepdf to the group's written body
    whole = {failure.rule for failure in check(write(briefs["second"], weasyprint), "ua-1")}
    assert {failure.rule for failure in check(joined.data, "ua-1")} <= whole
    assert whole <= {
        "PDFUA1-ID-PART-001",
        "PDFUA1-ID-SCHEMA-001",
        "PDFUA1-METADATA-STRUCTURE-001",
        "PDFUA1-METADATA-TITLE-001",
    }


def test_a_failure_names_file_page_rule_and_what_is_wrong(briefs) -> None:
    pdf = write(briefs["summary"], options("pdf/ua-1"))
    failures = check(pdf, "a-3b", name="summary.pdf")  # a PDF/UA file is no PDF/A file
    assert failures
    shown = plain(failures)
    assert "summary.pdf: PDF/A-3b PDFA3B-" in shown
    assert "XMP does not contain the PDF/A Identification schema" in shown
    assert any(failure.page == 1 and str(failure).startswith("summary.pdf, page 1: ") for failure in failures)


def test_a_stream_ending_in_carriage_return_gets_cr_lf_before_endstream() -> None:
    import zlib

    import pydyf

    assert install()
    payload = next(b"q Q" + b"\n" * n for n in range(1000) if zlib.compress(b"q Q" + b"\n" * n, 9)[-1] == 13)
    data = pydyf.Stream([payload], compress=True).data
    raw = zlib.compress(payload, 9)
    assert data.endswith(raw + b"\r\nendstream")
    assert f"/Length {len(raw)}".encode() in data
    plain_stream = pydyf.Stream([b"q 1 0 0 1 0 0 cm Q"], compress=True).data
    assert plain_stream.endswith(b"\nendstream") and not plain_stream.endswith(b"\r\nendstream")
