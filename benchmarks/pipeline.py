"""Turn the shipped content into single-brief timings: briefgen's pipeline in process and ``--help``.

The pipeline runs content -> validated strategy -> tailored business brief -> HTML -> PDF / Word
bytes. :func:`writer` is the one place that touches briefgen's writer registry; the other modules
reach the writers through it. briefgen's stages are imported inside the functions that use them.
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


_READERS = iter(range(1_000_000))


def pipeline_fresh(fmt: str, **options: Any) -> bytes:
    """:func:`pipeline` for a new reader each run ("Prepared for" changes the cover), so no run is
    served whole from an engine's in-process cache (Typst memoises what it laid out before)."""
    from briefgen.render import render

    return writer(fmt, **options)(render(_reader_brief()))


def business_html() -> str:
    """The HTML intermediate form of the business brief, as the writers receive it."""
    from briefgen.render import render

    return render(business_brief()).html


def _rendered() -> Any:
    from briefgen.render import render

    return render(business_brief())


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
        # pdf_s: the default engine (Typst), a new reader each run; pdf_weasyprint_s is timed in
        # pdfengine.py, in pairs against pydyf's own serialisation
        report.timed("pdf_s", measure(lambda: pipeline_fresh("pdf"), settings.repeats))
        weasyprint = "weasyprint"
        report.timed("docx_pipeline_s", measure(lambda: pipeline("docx"), settings.repeats))
        document, word = render(business_brief()), writer("docx", **ALONE["docx"])
        report.timed("docx_s", measure(lambda: word(document), settings.repeats))
        report.results["pdf_pages"] = page_count(pipeline("pdf"))
        report.results["pdf_weasyprint_pages"] = page_count(writer("pdf", pdf_engine=weasyprint)(_rendered()))


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


def _reader_brief() -> Any:
    """The tailored business brief for a new reader (see :func:`pipeline_fresh`)."""
    from briefgen.stakeholders import Stakeholder
    from briefgen.tailor import Options, tailor
    from briefgen.validate import validate

    reader = Stakeholder(name=f"Reader {next(_READERS)}", organisation="Benchmark")
    return tailor(validate(content_dir()).strategy, Options(audience="business", stakeholder=reader))


def pdf_without_pictures(templates: Path) -> bytes:
    """The business brief's PDF (default engine, a new reader) with no pictures: key figures
    without series, the glance block dropped."""
    from dataclasses import replace

    from briefgen.render import render

    brief = _reader_brief()
    plain = tuple(fig.model_copy(update={"chart": None}) for fig in brief.figures)
    return writer("pdf")(render(replace(brief, figures=plain), templates=(templates,)))


def pdf_with_kept_pictures() -> bytes:
    """The business brief's PDF (default engine, a new reader) with the per-process chart cache
    emptied first: its charts come from the per-user picture cache, as in every build after a
    user's first (the caller fills that cache once)."""
    from briefgen.pictures import chart
    from briefgen.render import render

    chart._svg.cache_clear()
    return writer("pdf")(render(_reader_brief()))


def cpu_seconds(run: Callable[[], object]) -> float:
    """The process CPU time ``run`` takes (steadier than wall time on a shared machine)."""
    started = time.process_time()
    run()
    return time.process_time() - started


#: A fresh process (a ``briefgen build`` after the first): one business PDF with the per-user
#: picture cache emptied first (argv[1] == "cold"), kept ("kept"), or with no pictures ("none", the
#: templates of argv[3]); prints the build's CPU seconds (the interpreter's start left out).
FIRST_BUILD = """
import shutil, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[2])
import pipeline
from briefgen import usercache
if sys.argv[1] == "cold":
    shutil.rmtree(usercache.folder("pictures"), ignore_errors=True)
started = time.process_time()
if sys.argv[1] == "none":
    pipeline.pdf_without_pictures(Path(sys.argv[3]))
else:
    pipeline.pipeline_fresh("pdf")
print(time.process_time() - started)
"""


def new_process_build(state: str, cache: Path, templates: Path) -> float:
    """CPU seconds of a business PDF built by a new process (see :data:`FIRST_BUILD`)."""
    env = {**os.environ, "BRIEFGEN_CACHE_DIR": str(cache)}
    found = subprocess.run(
        [sys.executable, "-c", FIRST_BUILD, state, str(Path(__file__).parent), str(templates)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return float(found.stdout.split()[-1])


@contextmanager
def cache_folder(cache: Path) -> Iterator[None]:
    """briefgen's per-user caches in ``cache`` for the duration."""
    before = os.environ.get("BRIEFGEN_CACHE_DIR")
    os.environ["BRIEFGEN_CACHE_DIR"] = str(cache)
    try:
        yield
    finally:
        if before is None:
            del os.environ["BRIEFGEN_CACHE_DIR"]
        else:
            os.environ["BRIEFGEN_CACHE_DIR"] = before


def bench_pictures(report: Report, settings: Settings, scratch: Path) -> None:
    """What the charts and the at-a-glance page add to the full business PDF (default engine), in
    CPU time, interleaved runs, against the same brief with no chart series and no glance block:

    * pictures_s, pictures_vs_pdf: a new process with the picture cache filled (a ``briefgen
      build`` after a user's first; goal: at most 0.10);
    * pictures_cold_s: what a new process with an empty picture cache pays on top (matplotlib's
      import and the drawing);
    * pictures_in_process_s, pictures_in_process_vs_pdf: a later brief in the same process (a batch
      worker's), where Typst reuses most of the layout it did before.
    """
    templates = scratch / "no-pictures"
    templates.mkdir(exist_ok=True)
    (templates / "business.html.j2").write_text(
        '{% extends "base.html.j2" %}{% block at_a_glance %}{% endblock %}\n', encoding="utf-8"
    )
    cache = scratch / "cache"
    runs: dict[str, list[float]] = {"none": [], "kept": [], "cold": [], "in_none": [], "in_kept": []}
    with captured_warnings(report, "pictures"), cache_folder(cache):
        pdf_with_kept_pictures()  # fills the caches, as a user's first build does
        pdf_without_pictures(templates)
        for _ in range(settings.repeats):
            for state in ("none", "kept", "cold"):
                runs[state].append(new_process_build(state, cache, templates))
            runs["in_none"].append(cpu_seconds(lambda: pdf_without_pictures(templates)))
            runs["in_kept"].append(cpu_seconds(pdf_with_kept_pictures))
    names = {
        "none": "pdf_without_pictures_s",
        "kept": "pdf_with_pictures_s",
        "cold": "pdf_with_pictures_cold_s",
        "in_none": "pdf_in_process_without_pictures_s",
        "in_kept": "pdf_in_process_with_pictures_s",
    }
    for state, key in names.items():
        report.timed(key, runs[state])
    median = {state: statistics.median(samples) for state, samples in runs.items()}
    report.results["pictures_s"] = round(median["kept"] - median["none"], 4)
    report.results["pictures_vs_pdf"] = round(median["kept"] / median["none"] - 1, 4)
    report.results["pictures_cold_s"] = round(median["cold"] - median["kept"], 4)
    report.results["pictures_in_process_s"] = round(median["in_kept"] - median["in_none"], 4)
    report.results["pictures_in_process_vs_pdf"] = round(median["in_kept"] / median["in_none"] - 1, 4)
