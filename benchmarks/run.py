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
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import importlib.metadata
import importlib.util
import io
import itertools
import json
import logging
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
REEXEC_MARK = "BRIEFGEN_BENCH_REEXEC"
#: Modules the pipeline needs; a Python that lacks any of them re-runs the script with the venv.
NEEDED = ("briefgen", "jinja2", "weasyprint", "docx")

AUDIENCES = ("business", "government")
FOCUS_AREAS = (
    "infrastructure",
    "emerging-tech",
    "digital-governance",
    "cybersecurity",
    "public-infrastructure",
    "online-platforms",
)
REGIONS: dict[str, tuple[str, ...]] = {
    "neighbourhood": ("Ukraine", "Moldova", "Georgia", "Armenia"),
    "western-balkans": ("Serbia", "Albania", "North Macedonia", "Montenegro", "Bosnia and Herzegovina"),
    "mediterranean": ("Morocco", "Tunisia", "Egypt", "Jordan", "Lebanon"),
    "africa": ("Kenya", "Ghana", "Nigeria", "Senegal", "Rwanda", "South Africa"),
    "asia": ("India", "Indonesia", "Viet Nam", "Philippines", "Malaysia"),
    "latin-america": ("Brazil", "Chile", "Colombia", "Mexico", "Argentina"),
    "developed-partners": ("Japan", "Canada", "Republic of Korea", "Australia", "United States"),
}
# fmt: off
FIRST_NAMES = (
    "Ana", "Marko", "Elira", "Nikola", "Amira", "Youssef", "Layla", "Kwame", "Amina", "Tendai",
    "Grace", "Chinedu", "Mariana", "Diego", "Lucía", "João", "Priya", "Hiroshi", "Siti", "Lan",
    "Olena", "Giorgi", "Ion", "Sarah", "Emir", "Milica", "Arben", "Fatima", "Ravi", "Sofía",
)
LAST_NAMES = (
    "Novak", "Petrović", "Hoxha", "Stojanov", "Haddad", "Benali", "Mansour", "Asante", "Diallo",
    "Moyo", "Wanjiru", "Okafor", "Costa", "Ramírez", "Fernández", "Almeida", "Raman", "Tanaka",
    "Rahmawati", "Nguyen", "Kovalenko", "Beridze", "Rusu", "Mitchell", "Hadžić", "Vuković",
    "Krasniqi", "El Idrissi", "Mensah", "Silva",
)
# fmt: on
BUSINESS_WORDS = (
    ("Adriatic", "Savanna", "Andes", "Lagoon", "Atlas", "Nile", "Mekong", "Caucasus", "Pacific", "Sahel"),
    ("Cloud", "Fibre", "Data", "Payments", "AI", "Secure", "Mobile", "Semiconductor", "Platform", "Grid"),
    ("Works", "Link", "Lab", "Exchange", "Networks", "Systems", "Partners", "Hub"),
)
BUSINESS_SECTORS = (
    "cloud provider",
    "telecom operator",
    "AI start-up",
    "fintech start-up",
    "semiconductor design",
    "online platform",
    "cybersecurity firm",
)
GOVERNMENT_BODIES = (
    ("Ministry of Digital Transformation", "ministry"),
    ("Ministry of Communications", "ministry"),
    ("Electronic Communications Regulator", "regulator"),
    ("Data Protection Authority", "regulator"),
    ("National Cybersecurity Agency", "agency"),
    ("Digital Identity Agency", "agency"),
)

Goal = tuple[str, str, str, float]  # key, label, operator, limit
GOALS: tuple[Goal, ...] = (
    ("pdf_s", "PDF brief", "<=", 0.25),
    ("pdf_vs_naive", "PDF vs naive WeasyPrint", "<=", 0.35),
    ("docx_s", "Word brief", "<=", 0.05),
    ("docx_vs_pandoc", "Word vs pandoc", "<=", 0.3),
    ("help_s", "briefgen --help", "<=", 0.25),
    ("batch_s_per_1000", "batch, per 1000 stakeholders", "<=", 90.0),
    ("batch_speedup", "batch speedup vs naive loop", ">=", 10.0),
    ("batch_peak_rss_mb", "batch peak RSS (MB)", "<=", 1024.0),
)


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


# --- settings and timing -----------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """How much to measure."""

    quick: bool
    repeats: int
    stakeholders: int
    naive_sample: int
    batch_runs: int
    json_path: Path | None


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


def measure(run: Callable[[], object], repeats: int) -> list[float]:
    """One untimed warm-up call, then ``repeats`` timed calls; seconds of each."""
    run()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return samples


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


@contextmanager
def captured_warnings(report: Report, where: str) -> Iterator[None]:
    """Keep briefgen's and WeasyPrint's warnings off the terminal; note how many there were."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collect(logging.WARNING)
    loggers = [logging.getLogger("briefgen"), logging.getLogger("weasyprint")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    if messages:
        distinct = list(dict.fromkeys(messages))
        report.notes.append(f"{where}: {len(messages)} warnings, e.g. {distinct[0][:160]!r}")


# --- the pipeline in process -------------------------------------------------------------------


def content_dir() -> Path:
    from briefgen.paths import builtin_content

    return builtin_content()


def business_brief() -> Any:
    """Content folder to the tailored full business brief: validate, then tailor."""
    from briefgen.tailor import Options, tailor
    from briefgen.validate import validate

    return tailor(validate(content_dir()).strategy, Options(audience="business"))


def pipeline(fmt: str) -> bytes:
    """Content folder to the business brief's bytes in ``fmt``: validate, tailor, render, write."""
    from briefgen import writers
    from briefgen.render import render

    return writers.get(fmt)(render(business_brief()), writers.WriteOptions())


def business_html() -> str:
    """The HTML intermediate form of the business brief, as the writers receive it."""
    from briefgen.render import render

    return render(business_brief()).html


def page_count(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def bench_pipeline(report: Report, settings: Settings) -> None:
    """validate_s, html_s, pdf_s, docx_s, and the page count of the PDF."""
    from briefgen.validate import validate

    with captured_warnings(report, "pipeline"):
        report.timed("validate_s", measure(lambda: validate(content_dir()), settings.repeats))
        report.timed("html_s", measure(lambda: pipeline("html"), settings.repeats))
        report.timed("pdf_s", measure(lambda: pipeline("pdf"), settings.repeats))
        report.timed("docx_s", measure(lambda: pipeline("docx"), settings.repeats))
        report.results["pdf_pages"] = page_count(pipeline("pdf"))


# --- baselines ---------------------------------------------------------------------------------


def bench_naive_pdf(report: Report, settings: Settings, html: str) -> None:
    """pdf_naive_s: WeasyPrint with default settings and system fonts on the pipeline's HTML."""
    import weasyprint

    def run() -> bytes:
        return weasyprint.HTML(string=html).write_pdf()

    with captured_warnings(report, "naive WeasyPrint"):
        report.timed("pdf_naive_s", measure(run, settings.repeats))
        report.results["pdf_naive_pages"] = page_count(run())


def bench_pandoc(report: Report, settings: Settings, html: str, scratch: Path) -> None:
    """docx_pandoc_s: pandoc converting the pipeline's HTML to Word."""
    try:
        import pypandoc
    except ImportError:
        report.skip(("docx_pandoc_s",), "pandoc baseline skipped: pypandoc is not installed")
        return
    target = scratch / "pandoc.docx"
    try:
        samples = measure(
            lambda: pypandoc.convert_text(html, "docx", format="html", outputfile=str(target)),
            settings.repeats,
        )
    except (OSError, RuntimeError) as exc:  # OSError: pypandoc found no pandoc binary
        report.skip(("docx_pandoc_s",), f"pandoc baseline skipped: {exc}")
        return
    report.timed("docx_pandoc_s", samples)
    report.results["pandoc_version"] = pypandoc.get_pandoc_version()


def bench_typst(report: Report, settings: Settings) -> None:
    """typst_s: Typst compiling a document of comparable content (reported, no goal)."""
    try:
        import typst
    except ImportError:
        report.skip(("typst_s",), "Typst baseline skipped: the typst package is not installed")
        return
    from briefgen.paths import builtin_templates

    source = typst_source(business_brief())
    fonts = [str(builtin_templates() / "fonts")]
    runs = itertools.count()

    def run() -> bytes:
        # A different comment each run, so no run is served whole from Typst's in-process memo cache.
        marked = f"// run {next(runs)}\n{source}".encode()
        return typst.compile(marked, font_paths=fonts, ignore_system_fonts=True)

    try:
        report.timed("typst_s", measure(run, settings.repeats))
    except RuntimeError as exc:  # typst.TypstError
        report.skip(("typst_s",), f"Typst baseline failed: {exc}")
        return
    report.results["typst_pages"] = page_count(run())
    report.results["typst_version"] = importlib.metadata.version("typst")


# --- Typst source from a Brief -----------------------------------------------------------------

TYPST_PREAMBLE = """\
#set document(title: {title}, author: {author})
#set text(font: "Noto Sans", size: 10.5pt, lang: "en")
#set par(leading: 0.7em, spacing: 1.1em)
#set heading(numbering: none)
#show heading.where(level: 1): it => {{ pagebreak(weak: true); text(size: 20pt, it) }}
#show heading.where(level: 2): it => text(size: 14pt, it)
#set table(inset: 6pt, stroke: 0.5pt + luma(180))
#set page(
  paper: "a4",
  margin: (x: 2.2cm, top: 2.6cm, bottom: 2.4cm),
  header: context text(size: 8.5pt, fill: luma(90))[{title_markup}],
  footer: context align(right, text(size: 8.5pt)[Page #counter(page).display("1 of 1", both: true)]),
)
"""


def tstr(text: str) -> str:
    """A Typst string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("\r", " ")
    return f'"{escaped}"'


def lit(text: str | None) -> str:
    """Plain text embedded in markup as a string: nothing in it is read as markup."""
    return f"#{tstr(text)}" if text else ""


def typst_inline(element: Any) -> str:
    """An HTML element's inline content (text, em, strong, links) as Typst markup."""
    parts = [lit(element.text)]
    for child in element:
        inner = typst_inline(child)
        if child.tag == "em":
            inner = f"#emph[{inner}]"
        elif child.tag == "strong":
            inner = f"#strong[{inner}]"
        elif child.tag == "a":
            inner = f"#link({tstr(child.get('href', ''))})[{inner}]"
        parts.append(inner)
        parts.append(lit(child.tail))
    return "".join(parts)


def typst_markdown(text: str | None) -> list[str]:
    """Markdown content (paragraphs and lists) as Typst lines."""
    import lxml.html

    from briefgen.render import markdown_block

    html = str(markdown_block(text))
    if not html:
        return []
    lines: list[str] = []
    for block in lxml.html.fragments_fromstring(html):
        if isinstance(block, str) or block.tag not in ("ul", "ol"):
            lines += [typst_inline(block) if not isinstance(block, str) else lit(block), ""]
            continue
        marker = "+" if block.tag == "ol" else "-"
        lines += [f"{marker} {typst_inline(item)}" for item in block.iter("li")] + [""]
    return lines


def typst_items(texts: list[str], marker: str = "-") -> list[str]:
    return [*(f"{marker} {inline_markdown(t)}" for t in texts), ""]


def inline_markdown(text: str | None) -> str:
    import lxml.html

    from briefgen.render import markdown_inline

    html = str(markdown_inline(text))
    return typst_inline(lxml.html.fragment_fromstring(html, create_parent="span")) if html else ""


def typst_table(columns: list[str], rows: list[list[str]]) -> list[str]:
    header = ", ".join(f"[#strong[{lit(c)}]]" for c in columns)
    cells = ", ".join(f"[{inline_markdown(cell)}]" for row in rows for cell in row)
    return [f"#table(columns: {len(columns)}, table.header({header}), {cells})", ""]


def typst_cover(brief: Any) -> list[str]:
    identity = brief.identity
    return [
        "#page(header: none, footer: none)[",
        "#v(5cm)",
        f"#text(size: 11pt, fill: luma(90))[{lit(identity.short_title or identity.title)}]",
        "",
        f'#text(size: 28pt, weight: "bold")[{lit(brief.title)}]',
        "",
        f"#text(size: 14pt)[{lit(brief.subtitle)}]",
        "#v(2cm)",
        f"#strong[Audience:] {lit(brief.audience.label)} \\",
        f"#strong[Strategy presented:] {lit(identity.presented.isoformat())} \\",
        f"#strong[Issued by:] {lit(' and '.join(identity.issuer))}",
        "]",
        "#outline(depth: 2)",
        "",
    ]


def typst_lead(brief: Any) -> list[str]:
    lines = [f"= {lit('What to do first')}", ""]
    for section in brief.sections:
        lines += [f"== {lit(section.title)}", "", *typst_markdown(section.intro)]
        if section.table is not None:
            lines += typst_table(section.table.columns, section.table.rows)
        marker = "+" if section.kind == "steps" else "-"
        for entry in section.entries:
            title = f"#strong[{lit(entry.title)}]: " if entry.title else ""
            lines.append(f"{marker} {title}{inline_markdown(entry.text)}")
        lines.append("")
    return lines


def typst_recommendations(brief: Any) -> list[str]:
    lines = [f"= {lit('Recommendations for ' + brief.audience.label.lower())}", ""]
    for view in brief.recommendations:
        rec = view.rec
        lines += [
            f"== {lit(f'{view.number}. {rec.title}')}",
            "",
            f"#emph[{inline_markdown(rec.summary)}]",
            "",
        ]
        lines += typst_markdown(rec.rationale)
        lines += [
            "#block(fill: luma(240), inset: 8pt, radius: 3pt, width: 100%)[",
            "#strong[Key actions]",
            "",
        ]
        lines += [*typst_items(rec.actions, "+"), "]", ""]
    return lines


def typst_strategy(brief: Any) -> list[str]:
    lines = [f"= {lit('The strategy in brief')}", "", f"== {lit('Strategic objectives')}", ""]
    for objective in brief.objectives:
        lines += [f"=== {lit(objective.title)}", "", *typst_markdown(objective.summary)]
        lines += typst_items(objective.points)
    lines += [f"== {lit('Priority focus areas')}", ""]
    for view in brief.focus_areas:
        lines += [f"=== {lit(view.area.title)}", "", *typst_markdown(view.area.summary)]
        lines += typst_items(view.area.points)
    return lines


def typst_context(brief: Any) -> list[str]:
    context = brief.context
    if context is None:
        return []
    lines = [f"= {lit('The international context')}", "", f"== {lit('Regions and partners')}", ""]
    rows = [[r.name, ", ".join(r.countries) or (r.group or ""), r.summary] for r in context.regions]
    lines += typst_table(["Region", "Partners", "Cooperation"], rows)
    lines += [f"== {lit('Policy areas')}", ""]
    lines += [f"- #strong[{lit(a.name)}:] {inline_markdown(a.summary)}" for a in context.policy_areas] + [""]
    lines += [f"== {lit('Agreements and initiatives')}", ""]
    for initiative in context.initiatives:
        lines += [f"=== {lit(initiative.title)}", "", f"#emph[{lit(initiative.when)}]", ""]
        lines += typst_markdown(initiative.summary) + typst_items(initiative.points)
    return lines


def typst_source(brief: Any) -> str:
    """A Typst document with the brief's content: cover, contents, chapters, lists and tables."""
    preamble = TYPST_PREAMBLE.format(
        title=tstr(brief.title), author=tstr(brief.author), title_markup=lit(brief.title)
    )
    figures = [[f.label, f.value, f.detail] for f in brief.figures]
    body = [
        *typst_cover(brief),
        f"= {lit('At a glance')}",
        "",
        *typst_markdown(brief.audience.intro),
        *typst_markdown(brief.identity.overview),
        *typst_table(["Key figure", "Value", "Detail"], figures),
        *typst_lead(brief),
        *typst_recommendations(brief),
        *typst_strategy(brief),
        *typst_context(brief),
        f"= {lit('Next steps')}",
        "",
        *typst_markdown(brief.audience.closing),
    ]
    return preamble + "\n".join(body) + "\n"


# --- stakeholders ------------------------------------------------------------------------------


def ascii_slug(text: str, sep: str = "-") -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return sep.join("".join(c if c.isalnum() else " " for c in plain).split())


def profiles(rng: random.Random, count: int = 24) -> list[tuple[str, str, tuple[str, ...]]]:
    """Audience, region and focus combinations; a few of them account for most stakeholders."""
    found: list[tuple[str, str, tuple[str, ...]]] = []
    while len(found) < count:
        focus = tuple(rng.sample(FOCUS_AREAS, rng.choice((1, 1, 2))))
        profile = (rng.choice(AUDIENCES), rng.choice(list(REGIONS)), focus)
        if profile not in found:
            found.append(profile)
    return found


def organisation(rng: random.Random, audience: str, country: str) -> tuple[str, str, str]:
    """A fictitious organisation, its sector and its e-mail domain (always under .example)."""
    if audience == "government":
        body, sector = rng.choice(GOVERNMENT_BODIES)
        return (
            f"{body} of {country} (fictitious)",
            sector,
            f"{ascii_slug(body)}.{ascii_slug(country)}.example",
        )
    name = " ".join(rng.choice(words) for words in BUSINESS_WORDS)
    return name, rng.choice(BUSINESS_SECTORS), f"{ascii_slug(name)}.example"


def stakeholder_rows(n: int, seed: int = 6) -> list[dict[str, str]]:
    """``n`` fictitious stakeholders, realistically repeating audience/region/focus combinations."""
    rng = random.Random(seed)
    pool = profiles(rng)
    weights = [1 / (rank + 1) for rank in range(len(pool))]
    rows = []
    for i in range(1, n + 1):
        audience, region, focus = rng.choices(pool, weights)[0]
        country = rng.choice(REGIONS[region])
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        org, sector, domain = organisation(rng, audience, country)
        rows.append(
            {
                "id": f"st-{i:05d}",
                "name": f"{first} {last}",
                "organisation": org,
                "audience": audience,
                "email": f"{ascii_slug(first, '.')}.{ascii_slug(last, '.')}@{domain}",
                "country": country,
                "region": region,
                "sector": sector,
                "focus": ";".join(focus),
            }
        )
    return rows


def write_stakeholders(path: Path, n: int) -> Path:
    rows = stakeholder_rows(n)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def load_stakeholders(path: Path) -> list[Any]:
    """The list through briefgen's own validation, so a bad generated row fails here, not in batch."""
    from briefgen import stakeholders
    from briefgen.validate import validate

    return stakeholders.load(path, validate(content_dir()).strategy)


# --- subprocesses: help and batch --------------------------------------------------------------


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


def rss_kb_proc(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def tree_rss_proc(root: int) -> int:
    """Sum of VmRSS over ``root`` and its descendants, from /proc (bytes)."""
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss_kb_proc(pid)
        todo += parents.get(pid, [])
    return total * 1024


def tree_rss_psutil(root: int) -> int:
    """Sum of RSS over ``root`` and its descendants, with psutil (bytes)."""
    import psutil

    try:
        process = psutil.Process(root)
        tree = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for proc in tree:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue
    return total


def tree_rss_sampler() -> tuple[str, Callable[[int], int]]:
    if importlib.util.find_spec("psutil") is not None:
        return "psutil", tree_rss_psutil
    return "/proc", tree_rss_proc


class PeakSampler(threading.Thread):
    """Sample the summed RSS of a process tree every ``interval`` seconds; keep the peak."""

    def __init__(self, pid: int, sample: Callable[[int], int], interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.sample, self.interval = pid, sample, interval
        self.peak = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, self.sample(self.pid))
            self.done.wait(self.interval)


@dataclass
class BatchRun:
    seconds: float
    peak_bytes: int
    files: int
    built: int


def manifest_counts(manifest: Path) -> tuple[int, int]:
    """Files listed in a batch manifest, and stakeholders whose status is "built"."""
    if not manifest.exists():
        return 0, 0
    data = json.loads(manifest.read_text(encoding="utf-8"))
    people = data.get("stakeholders", [])
    files = len(data.get("files", [])) + sum(len(p.get("files", [])) for p in people)
    return files, sum(1 for p in people if p.get("status") == "built")


def batch_jobs() -> int:
    return len(os.sched_getaffinity(0))


def batch_available(cli: list[str]) -> tuple[bool, str]:
    done = subprocess.run([*cli, "batch", "--help"], capture_output=True, text=True)
    if done.returncode == 0:
        return True, ""
    last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
    return False, last


def run_batch(
    cli: list[str], listing: Path, out: Path, sample: Callable[[int], int], timeout: float
) -> BatchRun:
    """One ``briefgen batch`` into a fresh folder: wall time, peak tree RSS, files in the manifest."""
    command = [*cli, "batch", str(listing), "--content", str(content_dir())]
    command += ["--format", "pdf,docx", "--out", str(out), "--jobs", str(batch_jobs()), "--force"]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    sampler = PeakSampler(process.pid, sample)
    sampler.start()
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the session this call started: batch and its workers
        process.communicate()
        raise RuntimeError(f"briefgen batch did not finish in {timeout:.0f} s") from None
    finally:
        sampler.done.set()
        sampler.join()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        last = (stderr.strip().splitlines() or [""])[-1]
        raise RuntimeError(f"briefgen batch exited with {process.returncode}: {last}")
    return BatchRun(seconds, sampler.peak, *manifest_counts(out / "manifest.json"))


def naive_batch(rows: list[Any], sample: int) -> float:
    """Seconds per stakeholder for a serial loop: tailor, render, PDF and Word, from scratch each time."""
    from briefgen import writers
    from briefgen.render import render
    from briefgen.tailor import Options, Stakeholder, tailor
    from briefgen.validate import validate

    strategy = validate(content_dir()).strategy
    chosen = [rows[i * len(rows) // sample] for i in range(sample)]
    pdf, docx, options = writers.get("pdf"), writers.get("docx"), writers.WriteOptions()
    for audience in {row.audience for row in chosen}:  # warm up: compile each audience's template
        render(tailor(strategy, Options(audience=audience)))
    started = time.perf_counter()
    for row in chosen:
        person = Stakeholder(row.name, row.organisation, row.sector, row.country, row.email, row.id)
        opts = Options(audience=row.audience, focus=row.focus, region=row.region, stakeholder=person)
        rendered = render(tailor(strategy, opts))
        pdf(rendered, options)
        docx(rendered, options)
    return (time.perf_counter() - started) / len(chosen)


def bench_batch(report: Report, settings: Settings, cli: list[str], scratch: Path) -> None:
    """batch_* figures: ``briefgen batch`` on a generated list against a naive serial loop."""
    keys = ("batch_s", "batch_s_per_1000", "batch_naive_s_per_doc", "batch_speedup", "batch_peak_rss_mb")
    n = settings.stakeholders
    report.results["batch_n"] = n
    listing = write_stakeholders(scratch / "stakeholders.csv", n)
    rows = load_stakeholders(listing)
    with captured_warnings(report, "naive batch loop"):
        per_doc = naive_batch(rows, min(settings.naive_sample, n))
    report.results["batch_naive_s_per_doc"] = round(per_doc, 4)
    available, why = batch_available(cli)
    if not available:
        report.skip(keys, f"batch skipped: `briefgen batch` is not available ({why})")
        return
    name, sample = tree_rss_sampler()
    report.results["batch_jobs"] = batch_jobs()
    report.results["batch_rss_sampler"] = name
    timeout = max(600.0, 30.0 * n)
    try:
        runs = [
            run_batch(cli, listing, scratch / f"batch-{i}", sample, timeout)
            for i in range(settings.batch_runs)
        ]
    except (RuntimeError, OSError, ValueError) as exc:
        report.skip(keys, f"batch failed: {exc}")
        return
    report.timed("batch_s", [r.seconds for r in runs])
    batch_s = report.results["batch_s"]
    report.results["batch_files"] = runs[-1].files
    report.results["batch_built"] = runs[-1].built
    if runs[-1].built != n:
        report.notes.append(f"batch manifest reports {runs[-1].built} of {n} stakeholders built")
    per_1000 = batch_s / n * 1000
    how = "linear: batch_s / N * 1000 (an upper bound: fixed costs are scaled too)"
    if n >= 1000:
        how = "measured at N >= 1000, scaled linearly"
    elif not settings.quick:
        # A second list twice as long, from the same generator (its first N rows are the first list): the
        # extra N stakeholders cost what each stakeholder costs once the common bodies are laid out, plus
        # the groups that first appear among them. That marginal cost carries the estimate on to 1,000.
        double = write_stakeholders(scratch / "stakeholders-2n.csv", 2 * n)
        try:
            second = run_batch(cli, double, scratch / "batch-2n", sample, 2 * timeout)
        except (RuntimeError, OSError, ValueError) as exc:
            report.notes.append(f"batch at 2N failed ({exc}); extrapolating linearly")
        else:
            runs.append(second)
            report.results["batch_2n_s"] = round(second.seconds, 3)
            marginal = max(second.seconds - batch_s, 0.0) / n
            report.results["batch_marginal_s_per_stakeholder"] = round(marginal, 4)
            per_1000 = second.seconds + (1000 - 2 * n) * marginal
            how = "two-point: batch at 2N plus (1000 - 2N) times the marginal cost between N and 2N"
    report.results["batch_s_per_1000"] = round(per_1000, 2)
    report.results["batch_extrapolation"] = how
    report.results["batch_speedup_at_n"] = round(per_doc * n / batch_s, 2)
    report.results["batch_speedup"] = round(per_doc * 1000 / per_1000, 2)
    report.results["batch_peak_rss_mb"] = round(max(r.peak_bytes for r in runs) / 2**20, 1)


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
        ("pdf_naive_s", "  naive WeasyPrint, same HTML", " s"),
        ("pdf_vs_naive", "  PDF / naive", " x"),
        ("docx_s", "Word brief (pipeline)", " s"),
        ("docx_pandoc_s", "  pandoc, same HTML", " s"),
        ("docx_vs_pandoc", "  Word / pandoc", " x"),
        ("typst_s", "Typst, comparable content", " s"),
        ("help_s", "briefgen --help", " s"),
        ("batch_n", "batch stakeholders", ""),
        ("batch_s", "batch wall time (pdf+docx)", " s"),
        ("batch_2n_s", "  same, 2N stakeholders", " s"),
        ("batch_s_per_1000", "  per 1000 stakeholders", " s"),
        ("batch_naive_s_per_doc", "  naive loop, per stakeholder", " s"),
        ("batch_speedup", "  speedup vs naive loop", " x"),
        ("batch_peak_rss_mb", "  peak RSS, process tree", " MB"),
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


# --- main --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and stakeholders (CI)")
    parser.add_argument("--stakeholders", type=int, metavar="N", help="stakeholders in the batch list")
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
        html = business_html()
        bench_naive_pdf(report, settings, html)
        bench_pandoc(report, settings, html, scratch)
        bench_typst(report, settings)
        bench_help(report, settings, cli)
        bench_batch(report, settings, cli, scratch)
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
