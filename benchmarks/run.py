"""Turn the shipped content and a generated stakeholder list into timings: a table and a JSON file.

Measures the briefgen pipeline in process (content -> validated strategy -> tailored brief -> HTML
-> PDF / Word bytes), ``briefgen --help`` and ``briefgen batch`` as subprocesses, and baselines on the
same HTML (WeasyPrint with default settings, pandoc, Typst on comparable content). Every in-process
figure is the median of several warm runs: one untimed run first, then the timed ones, with nothing
carried over between them except the per-process caches briefgen keeps itself (font configuration,
parsed stylesheets, templates). Goals are evaluated and printed, never asserted: the exit code is 0
whatever the figures are.

    python3 benchmarks/run.py [--quick] [--stakeholders N] [--json FILE]

A baseline whose package is missing (pypandoc, typst, psutil) is skipped with a note and null in
the JSON. Without briefgen importable the script re-runs itself with the project's ``.venv``.

This file is the entry point: it parses the arguments, re-runs itself with the venv if needed,
orchestrates the measurements and writes the JSON. The measurements live in the sibling modules
``pipeline``, ``baselines`` and ``batch``; ``report`` holds the results, goals and table, ``timing``
the shared timer (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

# The sibling modules, whichever folder this runs from (also under ``python -P`` or ``-I``, which do
# not put the script's folder on sys.path).
sys.path.insert(0, str(Path(__file__).resolve().parent))

from baselines import bench_naive_pdf, bench_pandoc, bench_typst
from batch import batch_jobs, bench_batch, bench_dask
from pdfengine import bench_cold, bench_distinct, bench_weasyprint
from pipeline import bench_docx_pages, bench_help, bench_pictures, bench_pipeline, business_html, cli_command
from preview import bench_preview
from report import Report, Settings, goals, machine, print_table, ratio

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
REEXEC_MARK = "BRIEFGEN_BENCH_REEXEC"
#: Modules the pipeline needs; a Python that lacks any of them re-runs the script with the venv.
NEEDED = ("briefgen", "jinja2", "weasyprint", "docx")


# --- environment -------------------------------------------------------------------------------


def missing_modules() -> list[str]:
    """The modules of NEEDED this Python cannot import."""
    return [name for name in NEEDED if importlib.util.find_spec(name) is None]


def ensure_environment() -> None:
    """Re-run with the project's venv when briefgen or its libraries are missing, else explain."""
    missing = missing_modules()
    if not missing:
        return
    if VENV_PYTHON.exists() and not os.environ.get(REEXEC_MARK):
        os.environ[REEXEC_MARK] = "1"
        os.execv(VENV_PYTHON, [str(VENV_PYTHON), str(Path(__file__).resolve()), *sys.argv[1:]])
    sys.exit(
        f"benchmarks/run.py: {sys.executable} cannot import {', '.join(missing)}.\n"
        f"Set up the project first, from {ROOT}:\n"
        "    bash scripts/setup.sh && .venv/bin/pip install -e '.[bench]'\n"
        "then run: python3 benchmarks/run.py"
    )


# --- main --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and stakeholders (CI)")
    parser.add_argument("--stakeholders", type=int, metavar="N", help="stakeholders in the batch list")
    parser.add_argument(
        "--distinct", type=int, default=200, metavar="N", help="distinct-profiles list (Dask)"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the results as JSON to FILE")
    args = parser.parse_args(argv)
    n = args.stakeholders if args.stakeholders is not None else (10 if args.quick else 100)
    if n < 1:
        parser.error("--stakeholders must be at least 1")
    return Settings(
        quick=args.quick,
        repeats=3 if args.quick else 7,
        stakeholders=n,
        naive_sample=3 if args.quick else 5,
        batch_runs=1 if args.quick else 3,
        distinct=args.distinct,
        json_path=args.json,
    )


def run(settings: Settings) -> Report:
    report = Report()
    report.results["mode"] = "quick" if settings.quick else "full"
    report.results["repeats"] = settings.repeats
    report.results["machine"] = machine()
    load = os.getloadavg()[0]
    if load > 0.5 * batch_jobs():
        report.notes.append(f"load average {load:.2f} at start: other work was running, timings may be high")
    cli = cli_command(report)
    with tempfile.TemporaryDirectory(prefix="briefgen-bench-") as tmp:
        scratch = Path(tmp)
        bench_pipeline(report, settings)
        bench_weasyprint(report, settings)
        bench_docx_pages(report, settings)
        bench_pictures(report, settings, scratch)
        html = business_html()
        bench_naive_pdf(report, settings, html)
        bench_pandoc(report, settings, html, scratch)
        bench_typst(report, settings)
        bench_help(report, settings, cli)
        bench_batch(report, settings, cli, scratch)
        bench_preview(report, settings, cli, scratch)
        bench_dask(report, settings, cli, scratch)
        bench_cold(report, settings, cli, scratch)
        bench_distinct(report, settings, cli, scratch)
    report.results["pdf_vs_naive"] = ratio(report.results.get("pdf_s"), report.results.get("pdf_naive_s"))
    report.results["docx_vs_pandoc"] = ratio(
        report.results.get("docx_s"), report.results.get("docx_pandoc_s")
    )
    return report


def main(argv: list[str] | None = None) -> int:
    settings = parse_args(argv)
    ensure_environment()
    started = time.perf_counter()
    report = run(settings)
    evaluated = goals(report.results)
    report.results["total_s"] = round(time.perf_counter() - started, 1)
    print_table(report, evaluated)
    print(f"total {report.results['total_s']} s ({report.results['mode']})")
    if settings.json_path is not None:
        document = {**report.results, "goals": evaluated, "samples": report.samples, "notes": report.notes}
        settings.json_path.write_text(
            json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        print(f"wrote {settings.json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
