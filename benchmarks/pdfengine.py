"""Turn the PDF engines and the command line into ``pdf_weasyprint_s``, ``pdf_cold_s`` and
``batch_distinct_s_per_1000``.

* ``pdf_weasyprint_s``: the business brief through the WeasyPrint engine, warm (whole pipeline,
  as ``pdf_s``), timed in pairs with ``pdf_weasyprint_before_s``, the same with pydyf's own
  serialisation (before briefgen deflated each stream once); ``pdf_weasyprint_vs_before`` is the
  median ratio of the pairs and ``pdf_weasyprint_same_bytes`` whether every PDF had one sha256.
* ``pdf_cold_s``: ``briefgen build --format pdf --audience business`` as a new process, wall time.
  One untimed call first fills the user's caches (compiled templates, the fonts' characters), as
  any earlier run would have; ``pdf_cold_first_s`` is one call with an empty cache folder.
* ``batch_distinct_s``: ``briefgen batch`` (PDF + Word) on a list where no two stakeholders share
  audience, region and focus areas, so no laid-out body is reused; extrapolated linearly to 1,000
  (``batch_distinct_s / N * 1000``, an upper bound: start-up is scaled too).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import itertools
import os
import random
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from batch import (
    FOCUS_AREAS,
    REGIONS,
    batch_jobs,
    load_stakeholders,
    run_batch,
    stakeholder_rows,
    tree_rss_sampler,
)
from pipeline import business_brief, content_dir, writer
from report import Report, Settings
from timing import captured_warnings, measure

#: Stakeholders of the distinct-profile batch: at least 200 in a full run, a few in --quick.
DISTINCT_FULL, DISTINCT_QUICK = 200, 6
#: The reproducible-build date every timed command line gets.
EPOCH = "1749081600"


def bench_weasyprint(report: Report, settings: Settings) -> None:
    """pdf_weasyprint_s: the WeasyPrint engine, warm; pdf_weasyprint_before_s: the same with pydyf's
    own serialisation (each stream deflated twice, as before briefgen's change), timed in pairs in
    this run; pdf_weasyprint_same_bytes: whether both gave PDFs with the same sha256."""
    from briefgen.render import render
    from briefgen.writers import WriteOptions
    from briefgen.writers.pdf import pydyf_once

    options = {"source_date_epoch": int(EPOCH)}
    if "pdf_engine" in {f.name for f in dataclasses.fields(WriteOptions)}:
        options["pdf_engine"] = "weasyprint"
    write = writer("pdf", **options)
    if not pydyf_once.install():
        report.notes.append("pdf_weasyprint_before_s skipped: this pydyf version is not patched")
    pairs, digests = [], set()
    with captured_warnings(report, "WeasyPrint engine"):
        write(render(business_brief()))  # warm-up
        try:
            for _ in range(settings.repeats):
                times = []
                for before in (True, False):
                    (pydyf_once.uninstall if before else pydyf_once.install)()
                    started = time.perf_counter()
                    digests.add(hashlib.sha256(write(render(business_brief()))).hexdigest())
                    times.append(time.perf_counter() - started)
                pairs.append(times)
        finally:
            pydyf_once.install()
    report.timed("pdf_weasyprint_before_s", [before for before, _ in pairs])
    report.timed("pdf_weasyprint_s", [after for _, after in pairs])
    report.results["pdf_weasyprint_vs_before"] = round(
        statistics.median(after / before for before, after in pairs), 3
    )
    report.results["pdf_weasyprint_same_bytes"] = len(digests) == 1
    report.results["pdf_weasyprint_sha256"] = (
        sorted(digests)[0][:16] if len(digests) == 1 else sorted(digests)
    )


def bench_cold(report: Report, settings: Settings, cli: list[str], scratch: Path) -> None:
    """pdf_cold_s (caches filled) and pdf_cold_first_s (empty cache folder): one PDF from a new process."""
    out = scratch / "cold"
    command = [*cli, "build", "--format", "pdf", "--audience", "business"]
    command += ["--content", str(content_dir()), "--out", str(out)]
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}

    def call(environment: dict[str, str]) -> None:
        subprocess.run(
            command, check=True, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    try:
        with tempfile.TemporaryDirectory(prefix="briefgen-cold-cache-") as empty:
            started = time.perf_counter()
            call({**env, "BRIEFGEN_CACHE_DIR": empty})
            report.results["pdf_cold_first_s"] = round(time.perf_counter() - started, 4)
        report.timed("pdf_cold_s", measure(lambda: call(env), settings.repeats))
    except (subprocess.CalledProcessError, OSError) as exc:
        report.skip(("pdf_cold_s", "pdf_cold_first_s"), f"pdf_cold_s skipped: {exc}")


def distinct_rows(n: int, seed: int = 16) -> list[dict[str, str]]:
    """``n`` stakeholders, no two with the same audience, region and focus areas (at most 1,312)."""
    regions = ["", *REGIONS]
    focus = [c for size in (1, 2, 3) for c in itertools.combinations(FOCUS_AREAS, size)]
    profiles = list(itertools.product(("business", "government"), regions, focus))
    random.Random(seed).shuffle(profiles)
    if n > len(profiles):
        raise ValueError(f"only {len(profiles)} distinct profiles; asked for {n}")
    people = stakeholder_rows(n, seed)
    rows = []
    for person, (audience, region, areas) in zip(people, profiles, strict=False):
        country = REGIONS[region][0] if region else person["country"]
        rows.append(
            {**person, "audience": audience, "region": region, "country": country, "focus": ";".join(areas)}
        )
    return rows


def bench_distinct(report: Report, settings: Settings, cli: list[str], scratch: Path) -> None:
    """batch_distinct_s and batch_distinct_s_per_1000: every stakeholder a profile of their own."""
    keys = ("batch_distinct_s", "batch_distinct_s_per_1000")
    n = DISTINCT_QUICK if settings.quick else DISTINCT_FULL
    listing = scratch / "distinct.csv"
    rows = distinct_rows(n)
    with listing.open("w", encoding="utf-8", newline="") as handle:
        table = csv.DictWriter(handle, fieldnames=list(rows[0]))
        table.writeheader()
        table.writerows(rows)
    load_stakeholders(listing)  # briefgen's own validation of the generated rows
    _, sample = tree_rss_sampler()
    try:
        done = run_batch(cli, listing, scratch / "distinct", sample, max(600.0, 30.0 * n))
    except (RuntimeError, OSError, ValueError) as exc:
        report.skip(keys, f"distinct-profile batch failed: {exc}")
        return
    report.results["batch_distinct_n"] = n
    report.results["batch_distinct_jobs"] = batch_jobs()
    report.timed("batch_distinct_s", [done.seconds])
    report.results["batch_distinct_s_per_1000"] = round(done.seconds / n * 1000, 1)
    report.results["batch_distinct_extrapolation"] = (
        f"linear from {n} stakeholders: batch_distinct_s / N * 1000 (an upper bound: start-up is scaled too)"
    )
    if done.built != n:
        report.notes.append(f"distinct-profile batch: manifest reports {done.built} of {n} built")
