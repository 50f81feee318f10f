"""Turn a generated stakeholder list into batch figures: ``briefgen batch`` against a naive serial loop.

Generates the list (fictitious, seeded, realistically repeating audience/region/focus combinations),
times ``briefgen batch`` on it as a subprocess while sampling the peak memory of its process tree,
times a naive serial loop on a sample of the same rows, and extrapolates to 1,000 stakeholders.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import random
import re
import signal
import subprocess
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import content_dir, writer
from report import Report, Settings
from timing import captured_warnings

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


# --- peak memory of a process tree -------------------------------------------------------------


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


# --- briefgen batch and the naive loop ---------------------------------------------------------


@dataclass
class BatchRun:
    seconds: float
    peak_bytes: int
    files: int
    built: int
    reused: int = 0  # PDFs that reused their group's body (from the summary line)


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
    cli: list[str],
    listing: Path,
    out: Path,
    sample: Callable[[int], int],
    timeout: float,
    extra: tuple[str, ...] = (),
) -> BatchRun:
    """One ``briefgen batch`` into a fresh folder: wall time, peak tree RSS, files in the manifest."""
    command = [*cli, "batch", str(listing), "--content", str(content_dir())]
    command += ["--format", "pdf,docx", "--out", str(out), "--jobs", str(batch_jobs()), "--force", *extra]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    sampler = PeakSampler(process.pid, sample)
    sampler.start()
    try:
        stdout, stderr = process.communicate(timeout=timeout)
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
    reused = re.search(r"\((\d+) PDFs reused a shared body\)", stdout or "")
    return BatchRun(
        seconds, sampler.peak, *manifest_counts(out / "manifest.json"), int(reused[1]) if reused else 0
    )


def naive_batch(rows: list[Any], sample: int) -> float:
    """Seconds per stakeholder for a serial loop: tailor, render, PDF and Word, from scratch each time."""
    from briefgen.render import render
    from briefgen.tailor import Options, Stakeholder, tailor
    from briefgen.validate import validate

    strategy = validate(content_dir()).strategy
    chosen = [rows[i * len(rows) // sample] for i in range(sample)]
    from briefgen.writers.docx.libreoffice import session

    pdf, docx = writer("pdf"), writer("docx")  # default options, as the batch has them
    with session():  # LibreOffice, when there is one, started in the warm-up and kept, as a worker keeps it
        for audience in {row.audience for row in chosen}:  # warm up: compile each audience's template
            docx(render(tailor(strategy, Options(audience=audience))))
        started = time.perf_counter()
        for row in chosen:
            person = Stakeholder(row.name, row.organisation, row.sector, row.country, row.email, row.id)
            opts = Options(audience=row.audience, focus=row.focus, region=row.region, stakeholder=person)
            rendered = render(tailor(strategy, opts))
            pdf(rendered)
            docx(rendered)
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
    report.results["batch_reused"] = runs[0].reused
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


# --- the same batch on a local Dask cluster ----------------------------------------------------


def distinct_rows(n: int) -> list[dict[str, str]]:
    """``n`` stakeholders, every one a different profile (audience x region x one or two focus areas)."""
    from itertools import combinations

    focus = [(f,) for f in FOCUS_AREAS] + list(combinations(FOCUS_AREAS, 2))
    profiles = [(a, r, f) for f in focus for r in REGIONS for a in AUDIENCES]
    if n > len(profiles):
        raise ValueError(f"at most {len(profiles)} distinct profiles")
    rows = stakeholder_rows(n, seed=17)
    for row, (audience, region, areas) in zip(rows, profiles, strict=False):
        row.update(audience=audience, region=region, focus=";".join(areas), country=REGIONS[region][0])
        if audience == "government":
            row["organisation"], row["sector"] = (
                f"Digital Agency of {REGIONS[region][0]} (fictitious)",
                "agency",
            )
    return rows


def write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def groups_in(listing: Path) -> int:
    with listing.open(encoding="utf-8") as handle:
        return len({(r["audience"], r["region"], r["focus"]) for r in csv.DictReader(handle)})


class DaskCluster:
    """``distributed.LocalCluster`` of ``workers`` processes (one thread each) on 127.0.0.1."""

    def __init__(self, workers: int) -> None:
        from distributed import LocalCluster

        started = time.perf_counter()
        self.cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
        )
        self.start_s = time.perf_counter() - started
        self.address = self.cluster.scheduler_address

    def __enter__(self) -> DaskCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cluster.close(timeout=30)


def reuse_rate(run: BatchRun, listing: Path) -> float | None:
    """PDFs that reused their group's body, of those that could (all but the first of each group)."""
    possible = run.built - groups_in(listing)
    return round(run.reused / possible, 3) if possible > 0 else None


def bench_dask(report: Report, settings: Settings, cli: list[str], scratch: Path) -> None:
    """dask_* figures: the usual list on a local Dask cluster against this machine's pool, the reuse
    rate on both, and (full run) a distinct-profiles list on 1 and 2 Dask workers."""
    keys = ("dask_batch_s", "dask_vs_pool", "dask_reuse_rate", "dask_scaling_1_to_2")
    if importlib.util.find_spec("distributed") is None:
        report.skip(keys, "dask skipped: distributed is not installed (pip install 'briefgen[cluster]')")
        return
    _, sample = tree_rss_sampler()
    listing = scratch / "stakeholders.csv"
    n = settings.stakeholders
    if not listing.exists():
        write_stakeholders(listing, n)
    jobs = batch_jobs()
    timeout = max(600.0, 30.0 * n)
    pool_s, pool_reused = report.results.get("batch_s"), report.results.get("batch_reused")
    if not pool_s:
        report.skip(keys, "dask skipped: the batch on this machine's pool did not run")
        return
    try:
        with DaskCluster(jobs) as cluster:
            report.results["dask_cluster_start_s"] = round(cluster.start_s, 2)
            on_dask = run_batch(
                cli, listing, scratch / "dask", sample, timeout, ("--scheduler", cluster.address)
            )
    except (RuntimeError, OSError, ValueError) as exc:
        report.skip(keys, f"dask failed: {exc}")
        return
    report.results["dask_workers"] = jobs
    report.results["dask_batch_s"] = round(on_dask.seconds, 3)
    report.results["dask_vs_pool"] = round(on_dask.seconds / pool_s, 3)  # pool: batch_s, the same list
    report.results["dask_with_start_vs_pool"] = round((on_dask.seconds + cluster.start_s) / pool_s, 3)
    pool = BatchRun(pool_s, 0, 0, report.results.get("batch_built", n), pool_reused or 0)
    report.results["pool_reuse_rate"] = reuse_rate(pool, listing)
    report.results["dask_reuse_rate"] = reuse_rate(on_dask, listing)
    if settings.quick:
        report.notes.append(
            "dask: the distinct-profiles scaling (1 and 2 workers) runs in the full benchmark only"
        )
        return
    count = settings.distinct
    distinct = write_rows(scratch / "distinct.csv", distinct_rows(count))
    try:
        alone = run_batch(cli, distinct, scratch / "distinct-pool", sample, 60.0 * count)
        runs = {}
        for workers in (1, 2):
            with DaskCluster(workers) as cluster:
                runs[workers] = run_batch(
                    cli, distinct, scratch / f"distinct-{workers}", sample, 60.0 * count,
                    ("--scheduler", cluster.address),
                )  # fmt: skip
    except (RuntimeError, OSError, ValueError) as exc:
        report.skip(("dask_scaling_1_to_2",), f"dask distinct profiles failed: {exc}")
        return
    report.results["dask_distinct_n"] = count
    report.results["dask_distinct_pool_s"] = round(alone.seconds, 2)
    for workers, run in runs.items():
        report.results[f"dask_distinct_{workers}w_s"] = round(run.seconds, 2)
        report.results[f"dask_distinct_{workers}w_per_worker_per_min"] = round(
            count / run.seconds * 60 / workers, 2
        )
    report.results["dask_scaling_1_to_2"] = round(runs[1].seconds / runs[2].seconds, 3)
