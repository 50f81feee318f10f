"""Turn the figures of a run into a report: settings, machine facts, goals, ratios and the printed table.

Holds what every measurement writes into (:class:`Report`) and what says how much to measure
(:class:`Settings`); evaluates the goals and prints the table. Goals are reported, never asserted.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Goal = tuple[str, str, str, float]  # key, label, operator, limit
GOALS: tuple[Goal, ...] = (
    ("pdf_s", "PDF brief", "<=", 0.15),
    ("pdf_vs_naive", "PDF vs naive WeasyPrint", "<=", 0.1),
    ("docx_s", "Word writer", "<=", 0.05),
    ("docx_vs_pandoc", "Word vs pandoc", "<=", 0.3),
    ("help_s", "briefgen --help", "<=", 0.25),
    ("batch_s_per_1000", "batch, per 1000 stakeholders", "<=", 90.0),
    ("batch_speedup", "batch speedup vs naive loop", ">=", 10.0),
    ("batch_peak_rss_mb", "batch peak RSS (MB)", "<=", 1024.0),
    ("preview_html_s", "preview: save to HTML served", "<=", 0.5),
    ("pdf_cold_s", "cold CLI call, one PDF", "<=", 0.8),
    ("batch_distinct_s_per_1000", "batch, every profile distinct, per 1000", "<=", 120.0),
)


# --- settings and results ----------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """How much to measure."""

    quick: bool
    repeats: int
    stakeholders: int
    naive_sample: int
    batch_runs: int
    json_path: Path | None
    distinct: int = 200  # rows of the distinct-profiles list (the Dask scaling figure)


@dataclass
class Report:
    """The figures, the raw samples behind them and the notes gathered on the way."""

    results: dict[str, Any] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def timed(self, key: str, samples: list[float] | None) -> None:
        """Record the median of ``samples`` under ``key`` (None when skipped)."""
        self.results[key] = round(statistics.median(samples), 4) if samples else None
        if samples:
            self.samples[key] = [round(s, 4) for s in samples]

    def skip(self, keys: tuple[str, ...], why: str) -> None:
        for key in keys:
            self.results.setdefault(key, None)
        self.notes.append(why)


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


# --- machine -----------------------------------------------------------------------------------


def cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def memory_mb() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except (OSError, ValueError):
        pass
    return None


def version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def harfbuzz_subset_active() -> bool:
    """True when WeasyPrint subsets fonts with HarfBuzz (as weasyprint.pdf.fonts decides), not fontTools."""
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    return bool(harfbuzz_subset) and bool(harfbuzz.hb_version_atleast(4, 1, 0))


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "cores_available": len(os.sched_getaffinity(0)),
        "cpu": cpu_model(),
        "memory_mb": memory_mb(),
        "python": platform.python_version(),
        "briefgen": version("briefgen"),
        "weasyprint": version("weasyprint"),
        "pydyf": version("pydyf"),
        "python_docx": version("python-docx"),
        "harfbuzz_subset": harfbuzz_subset_active(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "date": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
    }


# --- goals and output --------------------------------------------------------------------------


def goals(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each goal with its value and whether it is met (None when the figure is missing)."""
    evaluated = {}
    for key, label, op, limit in GOALS:
        value = results.get(key)
        met = None if value is None else (value <= limit if op == "<=" else value >= limit)
        evaluated[key] = {"label": label, "value": value, "goal": f"{op} {limit:g}", "met": met}
    return evaluated


def fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}{unit}" if value < 10 else f"{value:.1f}{unit}"
    return f"{value}{unit}"


def table_rows(results: dict[str, Any], evaluated: dict[str, dict[str, Any]]) -> list[tuple[str, ...]]:
    shown = (
        ("validate_s", "validate (content)", " s"),
        ("html_s", "HTML brief (pipeline)", " s"),
        ("pdf_s", "PDF brief (pipeline)", " s"),
        ("pdf_weasyprint_s", "  WeasyPrint engine (pipeline)", " s"),
        ("pdf_weasyprint_vs_before", "  / pydyf deflating twice, same run", " x"),
        ("pdf_cold_s", "  cold CLI call, one PDF", " s"),
        ("pdf_cold_first_s", "  same, empty user cache", " s"),
        ("pdf_naive_s", "  naive WeasyPrint, same HTML", " s"),
        ("pdf_vs_naive", "  PDF / naive", " x"),
        ("docx_pipeline_s", "Word brief (pipeline)", " s"),
        ("docx_s", "Word writer, rendered brief", " s"),
        ("docx_pandoc_s", "  pandoc, same HTML", " s"),
        ("docx_vs_pandoc", "  Word / pandoc", " x"),
        ("docx_pages_s", "LibreOffice page numbers, per brief (warm)", " s"),
        ("docx_pages_vs_docx", "  / Word writer alone, same run", " x"),
        ("typst_s", "Typst, comparable content", " s"),
        ("help_s", "briefgen --help", " s"),
        ("batch_n", "batch stakeholders", ""),
        ("batch_s", "batch wall time (pdf+docx)", " s"),
        ("batch_2n_s", "  same, 2N stakeholders", " s"),
        ("batch_s_per_1000", "  per 1000 stakeholders", " s"),
        ("batch_naive_s_per_doc", "  naive loop, per stakeholder", " s"),
        ("batch_speedup", "  speedup vs naive loop", " x"),
        ("batch_peak_rss_mb", "  peak RSS, process tree", " MB"),
        ("preview_html_s", "preview: save to HTML served", " s"),
        ("preview_pdf_s", "preview: save to PDF served", " s"),
        ("dask_batch_s", "batch on a local Dask cluster, same list", " s"),
        ("dask_vs_pool", "  Dask / this machine's pool", " x"),
        ("dask_cluster_start_s", "  cluster start-up (not in the above)", " s"),
        ("pool_reuse_rate", "  reuse rate, pool", ""),
        ("dask_reuse_rate", "  reuse rate, Dask", ""),
        ("dask_distinct_1w_s", "distinct profiles on 1 Dask worker", " s"),
        ("dask_distinct_2w_s", "  on 2 Dask workers", " s"),
        ("dask_scaling_1_to_2", "  scaling 1 -> 2 workers", " x"),
        ("batch_distinct_n", "batch, every profile distinct: stakeholders", ""),
        ("batch_distinct_s", "  wall time (pdf+docx)", " s"),
        ("batch_distinct_s_per_1000", "  per 1000 stakeholders (linear)", " s"),
    )
    rows = [("measure", "value", "goal", "status")]
    for key, label, unit in shown:
        goal = evaluated.get(key)
        status = "" if goal is None else {True: "pass", False: "FAIL", None: "n/a"}[goal["met"]]
        rows.append((label, fmt(results.get(key), unit), goal["goal"] if goal else "", status))
    return rows


def print_table(report: Report, evaluated: dict[str, dict[str, Any]]) -> None:
    rows = table_rows(report.results, evaluated)
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print(
            "  ".join(
                cell.ljust(widths[i]) if i != 1 else cell.rjust(widths[i]) for i, cell in enumerate(row)
            )
        )
    pages = report.results
    print(
        f"pages: pipeline PDF {fmt(pages.get('pdf_pages'))}, naive {fmt(pages.get('pdf_naive_pages'))}, "
        f"Typst {fmt(pages.get('typst_pages'))}"
    )
    for note in report.notes:
        print(f"note: {note}")
