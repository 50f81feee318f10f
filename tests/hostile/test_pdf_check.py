"""``briefgen check`` on files that are not PDFs, or are broken or built to exhaust it: one line each."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

from briefgen.cli import main


@pytest.fixture(scope="module")
def good_pdf() -> bytes:
    import weasyprint

    return weasyprint.HTML(string="<html lang='en'><title>t</title><p>hi</p></html>").write_pdf(pdf_tags=True)


def run_check(runner, *args: str):
    result = runner.invoke(main, ["check", *args])
    assert "Traceback" not in result.output
    return result


def one_error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1, result.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def test_a_file_that_is_not_a_pdf_is_one_line(runner, tmp_path: Path) -> None:
    path = tmp_path / "brief.pdf"
    path.write_bytes(b"PK\x03\x04 a zip file, not a PDF")
    assert "brief.pdf: not a PDF" in one_error_line(run_check(runner, str(path)))


def test_a_truncated_pdf_is_one_line(runner, tmp_path: Path, good_pdf: bytes) -> None:
    path = tmp_path / "cut.pdf"
    path.write_bytes(good_pdf[: len(good_pdf) // 2])
    line = one_error_line(run_check(runner, str(path)))
    assert "cut.pdf: cannot be read as a PDF" in line and "BytesIO" not in line


def test_a_stream_that_inflates_to_250_mb_is_refused_in_bounded_memory(runner, tmp_path: Path) -> None:
    import resource

    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page()
    packer = zlib.compressobj(1)
    chunk = b"0 0 m\n" * (1 << 20)
    raw = b"".join(packer.compress(chunk) for _ in range(40)) + packer.flush()  # 250 MB inflated, 1 MB here
    stream = pikepdf.Stream(pdf, raw)
    stream.Filter = pikepdf.Name.FlateDecode
    pdf.pages[0].Contents = stream
    path = tmp_path / "bomb.pdf"
    pdf.save(path, compress_streams=False)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    line = one_error_line(run_check(runner, str(path)))
    assert "bomb.pdf: too large to check" in line and "decoded-size limit" in line
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 150  # the stream was never inflated whole


def test_a_folder_is_one_line(runner, tmp_path: Path) -> None:
    folder = tmp_path / "briefs.pdf"
    folder.mkdir()
    assert "briefs.pdf: not a regular file" in one_error_line(run_check(runner, str(folder)))


def test_one_bad_file_among_several_is_named_and_the_others_are_checked(
    runner, tmp_path: Path, good_pdf: bytes
) -> None:
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"nothing")
    good = tmp_path / "good.pdf"
    good.write_bytes(good_pdf)
    result = runner.invoke(main, ["check", str(bad), str(good)])
    assert result.exit_code == 1
    assert "Error: " in result.output and "bad.pdf: not a PDF" in result.output
    assert "good.pdf: " in result.output and "PDF/UA-1" in result.output  # good.pdf claims nothing
