"""Turn a stakeholder list into one personalised brief per stakeholder and format, plus a manifest.

The plan is made in the main process (:mod:`.plan`): validate the content and the list,
name every file (:mod:`briefgen.filenames`), hash the inputs, and skip
stakeholders whose files are already up to date (``--force`` rebuilds all).
The rest is grouped by what makes their briefs differ (audience, focus areas,
region) and handed in small chunks to a pool of long-lived worker processes
(:mod:`.pool`): each imports the writers' libraries once, and its worker
(:mod:`.worker`) keeps every format's group writer, so a format reuses what it
made for the group (the PDF's laid-out body, the Word brief's placeholder copy).
This package names no format: formats come from :mod:`briefgen.writers`.
With ``--scheduler`` the same tasks run on a Dask cluster instead (:mod:`.executor`,
:mod:`.cluster`): the inputs travel as data, the files come back as bytes and this
process writes them and the manifest, exactly as below.

Every file is written atomically by the worker that made it, the manifest
after every few results, so a batch killed at any moment leaves only complete
files and a re-run finishes the rest. A stakeholder whose brief fails (bad
template, time or memory limit) is recorded with its error; the batch goes on.

Nothing read back from the output folder is believed on its word: a manifest
entry counts only when every field has the expected type, every recorded path
is the very name the plan gives that stakeholder and format, and the file is
a regular file in the folder with the recorded size and checksum; anything
else means "rebuild". The output folder is locked for the whole batch
(:func:`briefgen.output.folder_lock`). SIGTERM or SIGINT stops the workers
(terminated, killed after :data:`STOP_GRACE_S`), removes temporary files,
writes the manifest with what finished and raises :class:`Interrupted`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from .. import __version__
from ..distribute import OUTBOX
from ..errors import UsageError
from ..output import MANIFEST_LIMIT, folder_lock, remove_stale_parts, sha256
from ..stakeholders import ID_RE
from ..translate import validated
from .executor import Say, execute
from .manifest import Manifest
from .plan import (
    REFERENCE_LIMIT,
    BatchRequest,
    BatchResult,
    Outcome,
    Progress,
    Task,
    default_jobs,
    file_digest,
    plan,
    planned_names,
    tree_digest,
    up_to_date,
)
from .signals import Interrupted, signals_deferred, stop_on_signals
from .worker import WorkerSettings

__all__ = ["BatchRequest", "BatchResult", "Interrupted", "Outcome", "run"]


def clear_parts(out: Path) -> None:
    """Remove the temporary files a stopped or killed run left in ``out`` and its outbox."""
    remove_stale_parts(out)
    remove_stale_parts(out / OUTBOX)


def run(
    request: BatchRequest,
    progress: Progress | None = None,
    then: Callable[[BatchResult], None] | None = None,
    say: Say | None = None,
) -> BatchResult:
    """Build every stakeholder's brief; never raises for one stakeholder's failure. ``then`` runs
    with the result while the output folder is still locked (``batch --send`` sends there).

    Raises :class:`Interrupted` after a clean stop on SIGTERM or SIGINT.
    """
    with stop_on_signals():
        return _run(request, progress, then, say)


def _run(
    request: BatchRequest,
    progress: Progress | None,
    then: Callable[[BatchResult], None] | None,
    say: Say | None = None,
) -> BatchResult:
    from .. import limits, opener, stakeholders, writers
    from ..clock import source_date_epoch
    from ..filenames import check_pattern
    from ..validate import validate

    started = time.perf_counter()
    for name in request.formats:
        writers.get(name)  # an unknown format is a usage error before any work
    check_pattern(request.name_pattern)
    jobs = request.jobs or default_jobs()
    if jobs < 1:
        raise UsageError("--jobs: give at least 1")
    if request.scheduler is not None:
        from .executor import check_cluster

        request = replace(request, scheduler=check_cluster(request.scheduler))
    # files given by flags are checked (a FIFO or /dev/zero is refused) before any work
    opener.check(request.stakeholders, limits.current().content_bytes, "LIST")
    reference_sha256 = file_digest(request.reference_docx, REFERENCE_LIMIT, "--reference-docx")
    content = validate(request.content)
    listing = stakeholders.read(request.stakeholders, content.strategy)  # read once, through the opener
    own = content.strategy.strategy.language
    rows = [replace(row, language=row.language or request.language or own) for row in listing.rows]
    list_sha256 = listing.sha256
    from ..i18n import language as catalogue
    from ..render import template_dirs

    labels: dict[object, str] = {}
    titles: dict[object, str] = {}
    for language in dict.fromkeys(row.language for row in rows):  # a broken translation stops the batch here
        catalogue(language or own, template_dirs(request.templates))  # and so does a broken catalogue
        for key, audience in validated(request.content, language)[0].strategy.audiences.items():
            labels[(key, language)], titles[(key, language)] = audience.label, audience.brief_title
    if not rows:
        raise UsageError(f"{request.stakeholders}: the list has no stakeholders")
    theme_digest = None
    if request.theme is not None:
        from ..theme import load as load_theme

        theme_digest = sha256(repr(load_theme(request.theme)).encode())

    epoch = source_date_epoch()
    # a format that cannot do what was asked (--docx-pages libreoffice without it) stops here
    notes = writers.prepare(request.formats, writers.options_for(request, epoch))
    depends = {  # what every brief depends on, besides its own row
        "briefgen": __version__,
        "content_sha256": content.digest,
        "templates_sha256": tree_digest(template_dirs(request.templates)),
        "theme_sha256": theme_digest,
        "reference_docx_sha256": reference_sha256,
        "options": {
            "length": request.length,
            "page_size": request.page_size,
            "pdf_variant": request.pdf_variant,
            "pdf_engine": request.pdf_engine,
            "strict": request.strict,
            "name": request.name_pattern,
            "source_date_epoch": epoch,
        },
    }
    tasks = plan(request, rows, depends)
    inputs = {**depends, "list": request.stakeholders.name, "list_sha256": list_sha256}
    audiences = content.strategy.audiences
    labels.update({key: audience.label for key, audience in audiences.items()})
    titles.update({key: audience.brief_title for key, audience in audiences.items()})
    manifest_limit = max(MANIFEST_LIMIT, limits.current().stakeholders * 16 * 1024)
    result = BatchResult(total=len(tasks), notes=notes)
    with folder_lock(request.out, wait=request.wait, create=True):
        try:
            clear_parts(request.out)
            manifest = Manifest(request.out, inputs, tasks, labels, titles, manifest_limit)
            _build(request, tasks, manifest, result, epoch, jobs, progress, say)
            result.manifest = manifest.path
            gone = sorted(set(manifest.previous) - set(manifest.order))
            if gone:
                shown = [ident for ident in gone if ID_RE.fullmatch(ident)][:5]
                more = ", ..." if len(gone) > len(shown) else ""
                result.notes.append(
                    f"{len(gone)} stakeholder(s) no longer in the list ({', '.join(shown)}{more}); "
                    "their files were left in place"
                )
            if request.zip or request.eml:
                _package(request, manifest, result, epoch)
            result.seconds = time.perf_counter() - started
            if then is not None:
                then(result)
        except Interrupted as stop:
            stop.result = result
            result.seconds = time.perf_counter() - started
            raise
    result.seconds = time.perf_counter() - started
    return result


def _build(
    request: BatchRequest,
    tasks: list[Task],
    manifest: Manifest,
    result: BatchResult,
    epoch: int | None,
    jobs: int,
    progress: Progress | None,
    say: Say | None = None,
) -> None:
    """Skip what is up to date, build the rest; the manifest is written whatever happens."""
    from .. import limits

    try:
        todo = []
        for task in tasks:
            files = (
                None
                if request.force
                else up_to_date(task, manifest.previous.get(task.stakeholder.id), request.out)
            )
            if files is None:
                todo.append(task)
                continue
            outcome = Outcome(task.stakeholder.id, "skipped", files=files)
            result.outcomes[task.stakeholder.id] = outcome
            manifest.record(outcome)
            if progress:
                progress(outcome, len(result.outcomes), len(tasks))
        settings = WorkerSettings(replace(request, out=request.out.resolve()), epoch, limits.current())
        if todo:
            from .charts import draw_ahead

            draw_ahead(request, (task.group[3] for task in todo))  # no worker draws a chart
        with contextlib.closing(execute(todo, settings, jobs, say)) as outcomes:
            for outcome in outcomes:
                result.outcomes[outcome.id] = outcome
                manifest.record(outcome)
                manifest.write()
                if progress:
                    progress(outcome, len(result.outcomes), len(tasks))
    finally:  # the workers are gone by now (closing the generator stops them)
        with signals_deferred():
            clear_parts(request.out)
            manifest.write(force=True)


def _package(request: BatchRequest, manifest: Manifest, result: BatchResult, epoch: int | None) -> None:
    """Hand the stakeholders this run built or found up to date to :mod:`briefgen.distribute`."""
    from ..distribute import Delivery, Sending, package

    deliveries = []
    for ident in manifest.order:
        entry, outcome = manifest.entries.get(ident), result.outcomes.get(ident)
        if entry is None or outcome is None or outcome.status not in ("built", "skipped"):
            continue
        task = manifest.tasks[ident]
        records = {r.get("format"): r for r in outcome.files}
        files = {
            fmt: (name, records[fmt])
            for fmt, name in planned_names(task).items()
            if fmt in records and records[fmt].get("path") == name
        }
        audience = entry.get("audience_label") or entry.get("audience") or ""
        attach = tuple(entry.get("attach") or ())
        deliveries.append(
            Delivery(
                task.stakeholder,
                task.stem,
                entry.get("title") or "",
                audience,
                attach,
                files,
                language=task.stakeholder.language or "en",
                strategy=entry.get("strategy") or "",
            )
        )
    sending = Sending(request.templates, request.sender, epoch)
    done = package(request.out, deliveries, request.zip, request.eml, sending)
    result.packages += done.written
    result.notes += done.notes
    result.problems += done.problems
