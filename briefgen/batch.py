"""Turn a stakeholder list into one personalised brief per stakeholder and format, plus a manifest.

The plan is made in the main process: validate the content and the list,
name every file (:mod:`briefgen.filenames`), hash the inputs, and skip
stakeholders whose files are already up to date (``--force`` rebuilds all).
The rest is grouped by what makes their briefs differ (audience, focus areas,
region) and handed in small chunks to a pool of long-lived worker processes:
each imports WeasyPrint once, lays out a group's body once and gives every
stakeholder of the group their own cover (:class:`briefgen.writers.pdf.CoverSwap`).

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
import functools
import hashlib
import json
import os
import re
import signal
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from . import __version__
from .errors import BriefgenError, UsageError
from .filenames import DEFAULT_PATTERN
from .limits import Limits
from .output import (
    MANIFEST,
    MANIFEST_LIMIT,
    MANIFEST_VERSION,
    folder_lock,
    read_manifest,
    regular_file,
    remove_stale_parts,
    sha256,
    write_atomic,
)
from .resources import MAX_RESOURCE_BYTES
from .stakeholders import Row
from .tailor import Length
from .unpack import MAX_PACKAGE_BYTES

CHUNK = 4  # stakeholders per task: small enough for steady progress, large enough to amortise
MANIFEST_EVERY_S = 1.0
GROUP_CACHE = 6  # laid-out bodies a worker keeps
STOP_GRACE_S = 2.0  # after SIGTERM to the workers, SIGKILL for those still alive
TEMPLATE_FILE_LIMIT = MAX_RESOURCE_BYTES  # larger files in a template folder are never used
REFERENCE_LIMIT = MAX_PACKAGE_BYTES  # the reference .docx's limit (writers.docx imports python-docx)
OUTBOX = "outbox"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_SHOWN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class Interrupted(BaseException):
    """SIGTERM or SIGINT reached the main process; the batch stopped cleanly.

    Not an :class:`Exception`, so no stakeholder's ``except Exception`` swallows it.
    ``result`` holds what finished (None when the signal came before any brief was built).
    Once raised, SIGTERM and SIGINT stay ignored in this process (it is meant to exit); a caller
    that goes on instead restores its own handlers.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.result: BatchResult | None = None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def message(self) -> str:
        result = self.result
        if result is None or not result.outcomes:
            return f"stopped by {self.name} before any brief was built"
        done = len(result.outcomes)
        return (
            f"stopped by {self.name}: {done} of {result.total} stakeholders done and in the manifest; "
            "a re-run builds the rest"
        )


@dataclass(frozen=True)
class BatchRequest:
    """Everything ``briefgen batch`` was asked to do."""

    stakeholders: Path
    content: tuple[Path, ...]
    out: Path
    formats: tuple[str, ...] = ("pdf", "docx")
    jobs: int | None = None  # None: one worker per usable core
    force: bool = False
    name_pattern: str = DEFAULT_PATTERN
    length: Length = "full"
    templates: tuple[Path, ...] = ()
    theme: Path | None = None
    page_size: str | None = None
    pdf_variant: str | None = None
    reference_docx: Path | None = None
    strict: bool = False
    zip: bool = False
    eml: bool = False
    sender: str | None = None
    wait: bool = True  # False (--no-wait): refuse at once when another run holds the output folder


@dataclass(frozen=True)
class Task:
    """One stakeholder to build: their row, file stem and formats."""

    row: Row
    stem: str
    formats: tuple[str, ...]
    input_sha256: str
    shared: bool = False  # other stakeholders of this batch share the group (and the laid-out body)

    @property
    def group(self) -> tuple[str, tuple[str, ...], str | None]:
        return (self.row.audience, self.row.focus, self.row.region)


@dataclass
class Outcome:
    """What became of one stakeholder."""

    id: str
    status: str  # built | skipped | failed
    files: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cover_reused: bool = False
    title: str | None = None


@dataclass
class BatchResult:
    """Counts, outcomes and timing of a whole batch."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)
    total: int = 0
    seconds: float = 0.0
    manifest: Path | None = None
    packages: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # packages (zips, drafts) that could not be written

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes.values() if o.status == status)


Progress = Callable[[Outcome, int, int], None]


# ----- planning ------------------------------------------------------------------------------


def default_jobs() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def tree_digest(folders: tuple[Path, ...]) -> str:
    """A digest of every file (name and bytes) under ``folders``, in a stable order.

    Files go through :func:`briefgen.opener.files` and :func:`briefgen.opener.digest`: a
    regular file inside the folders of at most :data:`TEMPLATE_FILE_LIMIT` bytes
    (:data:`REFERENCE_LIMIT` for a ``.docx``) is hashed;
    anything else (a link out, a FIFO, a device, a file over the limit) is never opened or
    read: its name and the reason go into the digest instead, with a warning, since the
    loaders refuse it too.
    """
    from . import opener
    from .log import warn

    digest = hashlib.sha256()
    for folder in folders:
        for path, reason in opener.files(folder, within=folders):
            digest.update(str(path.relative_to(folder)).encode("utf-8", "surrogateescape") + b"\0")
            if reason is None:
                try:
                    limit = REFERENCE_LIMIT if path.suffix == ".docx" else TEMPLATE_FILE_LIMIT
                    digest.update(bytes.fromhex(opener.digest(path, limit, within=folders)))
                    continue
                except opener.InputRefused as exc:
                    reason = exc.message.removeprefix(f"{path}: ")
            elif reason == "a folder":  # a link to a folder inside: its files are hashed where they lie
                digest.update(b"folder\0")
                continue
            digest.update(f"not read: {reason}".encode("utf-8", "surrogateescape") + b"\0")
            warn("--templates: %s: not read (%s); no brief can use it", path, reason)
    return digest.hexdigest()


def file_digest(path: Path | None, limit: int, what: str) -> str | None:
    """The sha256 of an input file given by a flag, read through :func:`briefgen.opener.digest`
    (a FIFO, a device or a file over ``limit`` is refused with a one-line error naming ``what``)."""
    from . import opener

    return opener.digest(path, limit, what=what) if path is not None else None


def row_fields(row: Row) -> dict[str, Any]:
    """A row as the manifest records it (without its line number, which does not change a brief)."""
    data = asdict(row)
    data.pop("line")
    data["focus"] = list(row.focus)
    data["formats"] = list(row.formats)
    return data


def plan(request: BatchRequest, rows: list[Row], inputs: dict[str, Any]) -> list[Task]:
    """Name each stakeholder's files and hash what their brief depends on."""
    from .filenames import assign, fill, safe_stem

    stems = assign((row.id, safe_stem(fill(request.name_pattern, asdict(row)), row.id)) for row in rows)
    tasks = []
    for row in rows:
        formats = tuple(dict.fromkeys([*request.formats, *row.formats]))
        key = json.dumps(
            {"inputs": inputs, "row": row_fields(row), "formats": formats, "stem": stems[row.id]},
            sort_keys=True,
            ensure_ascii=False,
        )
        tasks.append(Task(row, stems[row.id], formats, sha256(key.encode())))
    return tasks


def planned_names(task: Task) -> dict[str, str]:
    """The file name the plan gives each of ``task``'s formats: its stem and the format's extension."""
    from . import writers

    return {name: f"{task.stem}{writers.extension(name)}" for name in task.formats}


def checked_record(raw: Any, name: str, fmt: str, out: Path, hashed: bool = True) -> dict[str, Any] | None:
    """A file record read back from a manifest, rebuilt from the plan, when it describes the planned
    file ``name`` of format ``fmt`` and that file is a regular file in ``out`` whose size and sha256
    (checked only when ``hashed``) match; otherwise None. Nothing but the checked values is carried over."""
    from . import opener

    if not isinstance(raw, dict) or raw.get("format") != fmt or raw.get("path") != name:
        return None
    size, digest, pages = raw.get("bytes"), raw.get("sha256"), raw.get("pages")
    if type(size) is not int or size < 0 or not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        return None
    if pages is not None and (type(pages) is not int or pages < 0):
        return None
    info = regular_file(out, name)
    if info is None or info.st_size != size:
        return None
    try:
        if hashed and opener.digest(out / name, size, within=out) != digest:
            return None
    except opener.InputRefused:
        return None
    return {"path": name, "format": fmt, "bytes": size, "sha256": digest, "pages": pages}


def checked_files(task: Task, raw: Any, out: Path, hashed: bool = True) -> list[dict[str, Any]]:
    """The records of ``raw`` (a manifest entry's ``files``) that :func:`checked_record` accepts."""
    names = planned_names(task)
    found: dict[str, dict[str, Any]] = {}
    for item in raw if isinstance(raw, list) else []:
        fmt = item.get("format") if isinstance(item, dict) else None
        if isinstance(fmt, str) and fmt in names and fmt not in found:
            record = checked_record(item, names[fmt], fmt, out, hashed)
            if record is not None:
                found[fmt] = record
    return [found[fmt] for fmt in task.formats if fmt in found]


def up_to_date(task: Task, entry: Any, out: Path) -> list[dict[str, Any]] | None:
    """The files of ``task`` when ``entry`` (read back from the manifest) says it was built from the
    same inputs and every planned file is still there with its checksum; otherwise None.

    The records returned are made from the plan and the checks, never copied from the entry.
    """
    if not isinstance(entry, dict) or entry.get("status") != "built":
        return None
    if entry.get("input_sha256") != task.input_sha256:  # a str compared with a str: no other type equals
        return None
    if entry.get("email") != task.row.email:  # as the list says, or the entry is not this stakeholder's
        return None
    raw = entry.get("files")
    if not isinstance(raw, list) or len(raw) != len(task.formats):
        return None
    files = checked_files(task, raw, out)
    return files if len(files) == len(task.formats) else None


def chunks(tasks: list[Task], jobs: int) -> list[list[Task]]:
    """Group tasks by audience, focus and region, then cut each group into small chunks."""
    groups: dict[Any, list[Task]] = {}
    for task in tasks:
        groups.setdefault(task.group, []).append(task)
    result = []
    for members in groups.values():
        members = [replace(task, shared=len(members) > 1) for task in members]
        size = max(1, min(CHUNK, -(-len(members) // jobs)))
        result += [members[i : i + size] for i in range(0, len(members), size)]
    return result


# ----- the worker side -----------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerSettings:
    """What every worker needs to build briefs (picklable): the request, and what the plan fixed."""

    request: BatchRequest
    source_date_epoch: int | None = None
    limits: Limits = field(default_factory=Limits)


class Worker:
    """Builds stakeholders' briefs in one process, keeping laid-out bodies between them."""

    def __init__(self, settings: WorkerSettings) -> None:
        from . import writers
        from .theme import load as load_theme
        from .validate import validate

        self.settings = settings
        self.request = request = settings.request
        self.strategy = validate(request.content).strategy
        self.theme = load_theme(request.theme) if request.theme is not None else None
        page_size = request.page_size or (self.theme.page_size if self.theme else None) or "a4"
        self.options = writers.WriteOptions(
            templates=request.templates,
            strict=request.strict,
            source_date_epoch=settings.source_date_epoch,
            pdf_variant=request.pdf_variant,
            page_size=page_size,
            theme=self.theme,
            reference_docx=request.reference_docx,
        )
        self.layouts: OrderedDict[Any, Any] = OrderedDict()
        from .stamp import Stamper

        self.stamper = Stamper(
            functools.partial(writers.get("docx"), options=self.options), settings.source_date_epoch
        )

    @staticmethod
    def person(row: Row) -> Any:
        from .tailor import Stakeholder

        return Stakeholder(row.name, row.organisation, row.sector, row.country, row.email, row.id)

    def brief(self, row: Row, person: Any = None) -> Any:
        """Tailor and render one stakeholder's brief (for ``person`` instead, when given)."""
        from .render import render
        from .tailor import Options, tailor

        options = Options(
            row.audience, row.focus, row.region, self.request.length, person or self.person(row)
        )
        return render(tailor(self.strategy, options), templates=self.request.templates, theme=self.theme)

    def cover_swap(self, group: tuple[str, tuple[str, ...], str | None]) -> Any:
        """The group's cover swapper: it keeps the first brief's layout for the next stakeholders."""
        from .writers.pdf import CoverSwap

        if group in self.layouts:
            self.layouts.move_to_end(group)
            return self.layouts[group]
        swap = CoverSwap(self.options)
        self.layouts[group] = swap
        while len(self.layouts) > GROUP_CACHE:
            self.layouts.popitem(last=False)
        return swap

    def build(self, task: Task) -> Outcome:
        """Render, write and describe one stakeholder's files; record any failure instead of raising."""
        from .log import collect
        from .sandbox import LimitError, deadline

        started = time.perf_counter()
        outcome = Outcome(id=task.row.id, status="built")
        limit = self.settings.limits.brief_seconds
        try:
            with collect() as warnings, deadline(limit, f"the brief took longer than {limit:g} s"):
                documents = self.documents(task, outcome)
            if warnings and self.request.strict:
                raise BriefgenError(f"{warnings[0]} (--strict turns warnings into errors)")
            outcome.warnings = list(dict.fromkeys(warnings))
            for path, data, record in documents:
                write_atomic(path, data)
                outcome.files.append(record)
        except (BriefgenError, LimitError) as exc:
            outcome.status, outcome.error = "failed", str(getattr(exc, "message", exc))
        except MemoryError:
            outcome.status = "failed"
            outcome.error = f"ran out of memory (limit {self.settings.limits.memory_mb:,} MB per worker)"
        except Exception as exc:  # a bug or a library failure: this stakeholder fails, the batch goes on
            outcome.status, outcome.error = "failed", f"internal error: {type(exc).__name__}: {exc}"
        outcome.seconds = time.perf_counter() - started
        return outcome

    def documents(self, task: Task, outcome: Outcome) -> list[tuple[Path, bytes, dict[str, Any]]]:
        from . import writers

        document = self.brief(task.row)
        outcome.title = document.title
        result = []
        for name in task.formats:
            pages = None
            if name == "pdf":
                swap = self.cover_swap(task.group)
                before = swap.reused
                data, pages = swap.write(document, shared=task.shared)
                outcome.cover_reused = swap.reused > before
            elif name == "docx":
                render = functools.partial(self.brief, task.row)
                data = self.stamper.docx(task.group, self.person(task.row), document, render)
            else:
                data = writers.get(name)(document, self.options)
            path = self.request.out / f"{task.stem}{writers.extension(name)}"
            record = {"path": path.name, "format": name, "bytes": len(data), "sha256": sha256(data)}
            record["pages"] = pages
            result.append((path, data, record))
        return result


_WORKER: Worker | None = None


def _init_worker(settings: WorkerSettings) -> None:
    """Pool initializer: cap memory, ignore Ctrl-C (the parent handles it), set up the worker."""
    import signal

    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from . import limits

    limits.configure({f.name: getattr(settings.limits, f.name) for f in fields(settings.limits)})
    _limit_memory(settings.limits.memory_mb)
    _WORKER = Worker(settings)


def _limit_memory(megabytes: int) -> None:
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        limit = megabytes * 1024 * 1024
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard == resource.RLIM_INFINITY or limit < hard:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _run_chunk(chunk: list[Task]) -> list[Outcome]:
    assert _WORKER is not None, "worker not initialised"
    return [_WORKER.build(task) for task in chunk]


# ----- the main side -------------------------------------------------------------------------


class Manifest:
    """The batch manifest: inputs plus one entry per stakeholder, rewritten atomically as results come.

    The previous manifest's entries (``previous``) are raw words read back from the output
    folder: :func:`up_to_date` and :meth:`carried` check them before any is used or copied.
    """

    def __init__(
        self,
        out: Path,
        inputs: dict[str, Any],
        tasks: list[Task],
        labels: dict[str, str],
        titles: dict[str, str] | None = None,
        limit: int = MANIFEST_LIMIT,
    ) -> None:
        self.out = out
        self.path = out / MANIFEST
        self.labels = labels
        self.titles = titles or {}
        self.inputs = inputs
        previous = read_manifest(out, limit).get("stakeholders")
        self.previous: dict[str, dict[str, Any]] = {}
        for entry in previous if isinstance(previous, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                self.previous.setdefault(entry["id"], entry)
        self.order = [task.row.id for task in tasks]
        self.rows = {task.row.id: task for task in tasks}
        self.entries: dict[str, dict[str, Any]] = {}
        self._carried: dict[str, dict[str, Any] | None] = {}
        self.written_at = 0.0

    def _entry(self, task: Task) -> dict[str, Any]:
        """An entry's fields that come from the plan (the validated list and content)."""
        row = task.row
        return {
            "id": row.id,
            "line": row.line,
            "name": row.name,
            "organisation": row.organisation,
            "audience": row.audience,
            "audience_label": self.labels.get(row.audience),
            "sector": row.sector,
            "country": row.country,
            "email": row.email,
            "attach": list(row.formats or task.formats),
            "title": self.titles.get(row.audience),
        }

    def record(self, outcome: Outcome) -> None:
        task = self.rows[outcome.id]
        entry = self._entry(task)
        entry.update(
            title=outcome.title or entry["title"],
            status=outcome.status if outcome.status != "skipped" else "built",
            input_sha256=task.input_sha256,
            files=outcome.files,
            error=outcome.error,
            warnings=outcome.warnings,
        )
        if outcome.status == "failed":  # earlier files stay on disk; keep describing those that check out
            entry["input_sha256"] = None
            earlier = (self.previous.get(outcome.id) or {}).get("files")
            entry["files"] = checked_files(task, earlier, self.out, hashed=False)
        self.entries[outcome.id] = entry

    def carried(self, ident: str) -> dict[str, Any] | None:
        """The previous entry of a stakeholder this run did not finish, rebuilt from the plan with only
        the fields of the old entry that check out (None when there was none). Files are checked by
        name, kind and size, not hashed: a re-run hashes them before believing them."""
        if ident not in self._carried:
            self._carried[ident] = self._carry(ident)
        return self._carried[ident]

    def _carry(self, ident: str) -> dict[str, Any] | None:
        old = self.previous.get(ident)
        if old is None:
            return None
        task = self.rows[ident]
        status = old.get("status") if old.get("status") in ("built", "failed") else "failed"
        digest = old.get("input_sha256")
        error, warnings = old.get("error"), old.get("warnings")
        entry = self._entry(task)
        entry.update(
            status=status,
            input_sha256=digest if status == "built" and isinstance(digest, str) else None,
            files=checked_files(task, old.get("files"), self.out, hashed=False),
            error=error[:2000] if isinstance(error, str) else None,
            warnings=[w[:2000] for w in warnings if isinstance(w, str)] if isinstance(warnings, list) else [],
        )
        return entry

    def write(self, force: bool = False) -> None:
        """Write the manifest (at most once a second unless ``force``)."""
        now = time.monotonic()
        if not force and now - self.written_at < MANIFEST_EVERY_S:
            return
        entries = [self.entries.get(i) or self.carried(i) for i in self.order]
        data = {
            "manifest_version": MANIFEST_VERSION,
            "generator": f"briefgen {__version__}",
            "kind": "batch",
            "inputs": self.inputs,
            "stakeholders": [e for e in entries if e is not None],
        }
        write_atomic(self.path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
        self.written_at = now


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn the first SIGTERM or SIGINT in the block into :class:`Interrupted`; from then on both are
    ignored (to the end of the process, which is on its way out), so the clean-up and the closing
    message run to their end. Outside the main thread, signals are left alone."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired: list[int] = []
    numbers = (signal.SIGTERM, signal.SIGINT)

    def stop(signum: int, frame: Any) -> None:
        if not fired:
            fired.append(signum)
            for number in numbers:
                signal.signal(number, signal.SIG_IGN)
            raise Interrupted(signum)

    previous = {number: signal.signal(number, stop) for number in numbers}
    try:
        yield
    finally:
        if not fired:
            for number, handler in previous.items():
                signal.signal(number, handler)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGTERM and SIGINT back while the block runs (clean-up that must finish); one that
    arrived meanwhile is delivered when the block ends."""
    held = {signal.SIGTERM, signal.SIGINT}
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def clear_parts(out: Path) -> None:
    """Remove the temporary files a stopped or killed run left in ``out`` and its outbox."""
    remove_stale_parts(out)
    remove_stale_parts(out / OUTBOX)


def run(request: BatchRequest, progress: Progress | None = None) -> BatchResult:
    """Build every stakeholder's brief; never raises for one stakeholder's failure.

    Raises :class:`Interrupted` after a clean stop on SIGTERM or SIGINT.
    """
    with stop_on_signals():
        return _run(request, progress)


def _run(request: BatchRequest, progress: Progress | None) -> BatchResult:
    from . import limits, opener, stakeholders, writers
    from .build import source_date_epoch
    from .filenames import check_pattern
    from .validate import validate

    started = time.perf_counter()
    for name in request.formats:
        writers.get(name)  # an unknown format is a usage error before any work
    check_pattern(request.name_pattern)
    jobs = request.jobs or default_jobs()
    if jobs < 1:
        raise UsageError("--jobs: give at least 1")
    # files given by flags are checked (a FIFO or /dev/zero is refused) before any work
    opener.check(request.stakeholders, limits.current().content_bytes, "LIST")
    reference_sha256 = file_digest(request.reference_docx, REFERENCE_LIMIT, "--reference-docx")
    content = validate(request.content)
    listing = stakeholders.read(request.stakeholders, content.strategy)  # read once, through the opener
    rows, list_sha256 = listing.rows, listing.sha256
    if not rows:
        raise UsageError(f"{request.stakeholders}: the list has no stakeholders")
    theme_digest = None
    if request.theme is not None:
        from .theme import load as load_theme

        theme_digest = sha256(repr(load_theme(request.theme)).encode())
    from .render import template_dirs

    epoch = source_date_epoch()
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
            "strict": request.strict,
            "name": request.name_pattern,
            "source_date_epoch": epoch,
        },
    }
    tasks = plan(request, rows, depends)
    inputs = {**depends, "list": request.stakeholders.name, "list_sha256": list_sha256}
    audiences = content.strategy.audiences
    labels = {key: audience.label for key, audience in audiences.items()}
    titles = {key: audience.brief_title for key, audience in audiences.items()}
    manifest_limit = max(MANIFEST_LIMIT, limits.current().stakeholders * 16 * 1024)
    result = BatchResult(total=len(tasks))
    with folder_lock(request.out, wait=request.wait, create=True):
        try:
            clear_parts(request.out)
            manifest = Manifest(request.out, inputs, tasks, labels, titles, manifest_limit)
            _build(request, tasks, manifest, result, epoch, jobs, progress)
            result.manifest = manifest.path
            gone = sorted(set(manifest.previous) - set(manifest.order))
            if gone:
                shown = [ident for ident in gone if _SHOWN_ID.fullmatch(ident)][:5]
                more = ", ..." if len(gone) > len(shown) else ""
                result.notes.append(
                    f"{len(gone)} stakeholder(s) no longer in the list ({', '.join(shown)}{more}); "
                    "their files were left in place"
                )
            if request.zip or request.eml:
                from .distribute import package

                package(request, manifest, result, epoch)
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
) -> None:
    """Skip what is up to date, build the rest; the manifest is written whatever happens."""
    from . import limits

    try:
        todo = []
        for task in tasks:
            files = (
                None if request.force else up_to_date(task, manifest.previous.get(task.row.id), request.out)
            )
            if files is None:
                todo.append(task)
                continue
            outcome = Outcome(task.row.id, "skipped", files=files)
            result.outcomes[task.row.id] = outcome
            manifest.record(outcome)
            if progress:
                progress(outcome, len(result.outcomes), len(tasks))
        settings = WorkerSettings(replace(request, out=request.out.resolve()), epoch, limits.current())
        with contextlib.closing(_execute(todo, settings, jobs)) as outcomes:
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


def _execute(tasks: list[Task], settings: WorkerSettings, jobs: int) -> Iterator[Outcome]:
    """Yield outcomes as workers finish them; in process when one job (or one task) suffices."""
    if not tasks:
        return
    work = chunks(tasks, jobs)
    if jobs == 1 or len(tasks) == 1:
        worker = Worker(settings)
        for chunk in work:
            yield from (worker.build(task) for task in chunk)
        return
    yield from _pool(work, settings, min(jobs, len(work)))


class _Process:
    """One worker process, the pipe to it, its chunk in progress and the groups it has laid out."""

    def __init__(self, context: Any, settings: WorkerSettings) -> None:
        ours, theirs = context.Pipe()
        self.process = context.Process(target=_serve, args=(theirs, settings, os.getpid()), daemon=True)
        with signals_deferred():  # the child starts with them held, until it has its own handlers
            self.process.start()
        theirs.close()
        self.conn = ours
        self.chunk: list[Task] | None = None
        self.groups: OrderedDict[Any, None] = OrderedDict()

    def give(self, chunk: list[Task]) -> None:
        self.chunk = chunk
        self.groups[chunk[0].group] = None
        self.groups.move_to_end(chunk[0].group)
        while len(self.groups) > GROUP_CACHE:
            self.groups.popitem(last=False)
        self.conn.send(chunk)

    def stop(self) -> None:
        _stop_all([self], hurry=False)


def _stop_all(workers: list[_Process], hurry: bool) -> None:
    """Stop ``workers``: idle ones are asked to quit, busy ones (every one when ``hurry``) get SIGTERM;
    whoever is still alive after the grace period gets SIGKILL. Every process is joined."""
    for worker in workers:
        if hurry or worker.chunk is not None:
            with contextlib.suppress(OSError, ValueError):
                worker.process.terminate()
        else:
            with contextlib.suppress(OSError, ValueError):
                worker.conn.send(None)
    deadline = time.monotonic() + (STOP_GRACE_S if hurry else 5.0)
    for worker in workers:
        with contextlib.suppress(ValueError):
            worker.process.join(timeout=max(0.0, deadline - time.monotonic()))
    for worker in workers:
        with contextlib.suppress(OSError, ValueError):
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=5)
        with contextlib.suppress(OSError):
            worker.conn.close()


def _die_with_parent(parent: int) -> None:
    """Make this worker end when the batch's main process ends, however it ends (even SIGKILL):
    on Linux the kernel sends SIGKILL (``PR_SET_PDEATHSIG``); elsewhere a thread watches the parent."""
    armed = False
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(1, int(signal.SIGKILL), 0, 0, 0) == 0  # 1: PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
    if not armed:

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(1)

        threading.Thread(target=watch, name="briefgen-parent-watch", daemon=True).start()


def _serve(conn: Any, settings: WorkerSettings, parent: int) -> None:
    """A worker process: build the chunks it is sent until told to stop or the parent goes away."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the parent's handler is inherited: a worker just ends
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent handles it
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    _die_with_parent(parent)
    problem = None
    try:
        _init_worker(settings)
    except Exception as exc:  # e.g. content that vanished since the plan: every chunk fails with it
        problem = f"the worker could not start: {getattr(exc, 'message', None) or exc}"
    while True:
        try:
            chunk = conn.recv()
            if chunk is None:
                return
            conn.send(list(_failed(chunk, problem)) if problem else _run_chunk(chunk))
        except (EOFError, OSError):  # the parent is gone
            return


def _pick(worker: _Process, queues: dict[Any, list[list[Task]]], others: list[_Process]) -> list[Task] | None:
    """The next chunk for ``worker``: from a group it has laid out, else from a group no other worker
    has, else from the group with most work left (so each body is laid out as few times as possible)."""
    for group in reversed(worker.groups):
        if queues.get(group):
            return queues[group].pop(0)
    claimed = {group for other in others for group in other.groups}
    for group, queue in queues.items():
        if queue and group not in claimed:
            return queue.pop(0)
    busiest = max(queues, key=lambda g: len(queues[g]), default=None)
    return queues[busiest].pop(0) if busiest is not None and queues[busiest] else None


def _pool(work: list[list[Task]], settings: WorkerSettings, jobs: int) -> Iterator[Outcome]:
    """Run chunks on ``jobs`` worker processes, keeping each group on the worker that laid it out.

    A worker that dies (killed, or out of memory in native code) fails the
    chunk it held and is replaced; the batch goes on. When the generator is
    left early (an exception, :class:`Interrupted`, or closed), every worker
    is terminated at once and killed after :data:`STOP_GRACE_S`.
    """
    import multiprocessing
    from multiprocessing.connection import wait

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    queues: dict[Any, list[list[Task]]] = {}
    for chunk in work:
        queues.setdefault(chunk[0].group, []).append(chunk)
    workers: list[_Process] = []
    hurry = False
    try:
        for _ in range(jobs):
            workers.append(_Process(context, settings))
        while True:
            for index, worker in enumerate(workers):
                if worker.chunk is None and not worker.process.is_alive():
                    worker.stop()
                    workers[index] = worker = _Process(context, settings)
                if worker.chunk is None:
                    chunk = _pick(worker, queues, [w for w in workers if w is not worker])
                    if chunk is not None:
                        worker.give(chunk)
            busy = [w for w in workers if w.chunk is not None]
            if not busy:
                return
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
            for index, worker in enumerate(workers):
                if worker.chunk is None or (
                    worker.conn not in ready and worker.process.sentinel not in ready
                ):
                    continue
                chunk, worker.chunk = worker.chunk, None
                try:
                    outcomes = worker.conn.recv()
                except (EOFError, OSError):
                    outcomes = list(_failed(chunk, "the worker process building this brief died"))
                    worker.stop()
                    workers[index] = _Process(context, settings)
                yield from outcomes
    except BaseException:  # Interrupted, GeneratorExit (closed early) or a failure: no waiting
        hurry = True
        raise
    finally:
        with signals_deferred():
            _stop_all(workers, hurry)


def _failed(chunk: list[Task], message: str) -> Iterator[Outcome]:
    for task in chunk:
        yield Outcome(task.row.id, "failed", error=message)
