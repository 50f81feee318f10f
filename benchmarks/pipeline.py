"""Turn the shipped content into single-brief timings: briefgen's pipeline in process and ``--help``.

The pipeline runs content -> validated strategy -> tailored business brief -> HTML -> PDF / Word
bytes. :func:`writer` is the one place that touches briefgen's writer registry; the other modules
reach the writers through it. briefgen's stages are imported inside the functions that use them.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from report import Report, Settings
from timing import captured_warnings, measure


def content_dir() -> Path:
    from briefgen.paths import builtin_content

    return builtin_content()


def business_brief() -> Any:
    """Content folder to the tailored full business brief: validate, then tailor."""
    from briefgen.tailor import Options, tailor
    from briefgen.validate import validate

    return tailor(validate(content_dir()).strategy, Options(audience="business"))


def writer(fmt: str, **options: Any) -> Callable[[Any], bytes]:
    """briefgen's writer for ``fmt`` with default options (but ``options``): rendered document to bytes.

    ``writers.get(fmt)`` returns either a write function (called ``write(document, options)``) or a
    format object with a ``write`` method; both are accepted, so the benchmark runs against either.
    """
    from briefgen import writers

    found = writers.get(fmt)
    write = getattr(found, "write", found)
    chosen = writers.WriteOptions(**options)
    return lambda document: write(document, chosen)


#: The Word writer alone: the contents' page numbers left to Word (LibreOffice's pass is docx_pages_s).
ALONE = {"docx": {"docx_pages": "word"}}


def pipeline(fmt: str) -> bytes:
    """Content folder to the business brief's bytes in ``fmt``: validate, tailor, render, write."""
    from briefgen.render import render

    return writer(fmt, **ALONE.get(fmt, {}))(render(business_brief()))


def business_html() -> str:
    """The HTML intermediate form of the business brief, as the writers receive it."""
    from briefgen.render import render

    return render(business_brief()).html


def page_count(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def bench_pipeline(report: Report, settings: Settings) -> None:
    """validate_s, html_s, pdf_s, docx_pipeline_s, docx_s (the Word writer alone on the rendered
    brief, as pandoc is given the rendered HTML), and the page count of the PDF."""
    from briefgen.render import render
    from briefgen.validate import validate

    with captured_warnings(report, "pipeline"):
        report.timed("validate_s", measure(lambda: validate(content_dir()), settings.repeats))
        report.timed("html_s", measure(lambda: pipeline("html"), settings.repeats))
        report.timed("pdf_s", measure(lambda: pipeline("pdf"), settings.repeats))
        report.timed("docx_pipeline_s", measure(lambda: pipeline("docx"), settings.repeats))
        document, word = render(business_brief()), writer("docx", **ALONE["docx"])
        report.timed("docx_s", measure(lambda: word(document), settings.repeats))
        report.results["pdf_pages"] = page_count(pipeline("pdf"))


def bench_docx_pages(report: Report, settings: Settings) -> None:
    """docx_pages_s: what LibreOffice's page numbers add to one Word brief, warm (one LibreOffice kept
    for the run, as a build or batch worker keeps it): the Word writer with them minus the Word writer
    alone, timed in pairs; docx_pages_vs_docx: that over the Word writer alone in the same pairs."""
    from briefgen.render import render
    from briefgen.writers.docx import libreoffice

    keys = ("docx_pages_s", "docx_pages_vs_docx")
    installation, why = libreoffice.find()
    if installation is None:
        report.skip(keys, f"docx_pages_s skipped: {why}")
        return
    document = render(business_brief())
    alone, paged = writer("docx", docx_pages="word"), writer("docx", docx_pages="libreoffice")
    with captured_warnings(report, "docx pages"), libreoffice.session():
        if b"updateFields" in paged(document):  # the start, untimed; and LibreOffice did number it
            report.skip(keys, "docx_pages_s skipped: LibreOffice did not lay the brief out")
            return
        pairs = []
        for _ in range(settings.repeats):
            started = time.perf_counter()
            alone(document)
            middle = time.perf_counter()
            paged(document)
            pairs.append((middle - started, time.perf_counter() - middle))
    report.timed("docx_alone_s", [a for a, _ in pairs])
    report.timed("docx_pages_s", [max(b - a, 0.0) for a, b in pairs])
    report.results["docx_pages_vs_docx"] = round(
        report.results["docx_pages_s"] / report.results["docx_alone_s"], 2
    )


# --- the command line as a subprocess ----------------------------------------------------------


def cli_command(report: Report) -> list[str]:
    """The ``briefgen`` console script next to this Python, else ``python -m briefgen``."""
    script = Path(sys.executable).parent / "briefgen"
    if script.exists():
        return [str(script)]
    report.notes.append(f"no briefgen script next to {sys.executable}: using python -m briefgen")
    return [sys.executable, "-m", "briefgen"]


def quiet_run(command: list[str]) -> None:
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def bench_help(report: Report, settings: Settings, cli: list[str]) -> None:
    """help_s: ``briefgen --help`` as a subprocess, median wall time after one warm-up."""
    report.timed("help_s", measure(lambda: quiet_run([*cli, "--help"]), settings.repeats))
