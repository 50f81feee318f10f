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
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
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
from .output import MANIFEST, MANIFEST_VERSION, read_manifest, remove_stale_parts, sha256, write_atomic
from .stakeholders import Row
from .tailor import Length

CHUNK = 4  # stakeholders per task: small enough for steady progress, large enough to amortise
MANIFEST_EVERY_S = 1.0
GROUP_CACHE = 6  # laid-out bodies a worker keeps


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
    """A digest of every file (name and bytes) under ``folders``, in a stable order."""
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(folder)).encode("utf-8", "surrogateescape") + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def file_digest(path: Path | None) -> str | None:
    return sha256(path.read_bytes()) if path is not None else None


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


def up_to_date(task: Task, entry: dict[str, Any] | None, out: Path) -> list[dict[str, Any]] | None:
    """The recorded files when ``entry`` says ``task`` was built from the same inputs and every file
    is still there with its checksum; otherwise None."""
    if not entry or entry.get("status") != "built" or entry.get("input_sha256") != task.input_sha256:
        return None
    files = entry.get("files")
    if not isinstance(files, list) or {f.get("format") for f in files} != set(task.formats):
        return None
    for record in files:
        path = out / str(record.get("path"))
        try:
            if path.is_symlink() or not path.is_file() or path.stat().st_size != record.get("bytes"):
                return None
            if sha256(path.read_bytes()) != record.get("sha256"):
                return None
        except OSError:
            return None
    return files


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
    """The batch manifest: inputs plus one entry per stakeholder, rewritten atomically as results come."""

    def __init__(self, out: Path, inputs: dict[str, Any], tasks: list[Task], labels: dict[str, str]) -> None:
        self.path = out / MANIFEST
        self.labels = labels
        self.inputs = inputs
        previous = read_manifest(out).get("stakeholders")
        entries = previous if isinstance(previous, list) else []
        self.previous = {str(e.get("id")): e for e in entries if isinstance(e, dict)}
        self.order = [task.row.id for task in tasks]
        self.rows = {task.row.id: task for task in tasks}
        self.entries: dict[str, dict[str, Any]] = {}
        self.written_at = 0.0

    def record(self, outcome: Outcome) -> None:
        task = self.rows[outcome.id]
        earlier = self.previous.get(outcome.id) or {}
        entry: dict[str, Any] = {
            "id": outcome.id,
            "line": task.row.line,
            "name": task.row.name,
            "organisation": task.row.organisation,
            "audience": task.row.audience,
            "audience_label": self.labels.get(task.row.audience),
            "sector": task.row.sector,
            "country": task.row.country,
            "email": task.row.email,
            "attach": list(task.row.formats or task.formats),
            "title": outcome.title or earlier.get("title"),
            "status": outcome.status if outcome.status != "skipped" else "built",
            "input_sha256": task.input_sha256,
            "files": outcome.files,
            "error": outcome.error,
            "warnings": outcome.warnings,
        }
        if outcome.status == "failed":  # earlier files stay on disk; keep describing them
            entry["input_sha256"] = None
            entry["files"] = earlier.get("files", [])
        self.entries[outcome.id] = entry

    def write(self, force: bool = False) -> None:
        """Write the manifest (at most once a second unless ``force``)."""
        now = time.monotonic()
        if not force and now - self.written_at < MANIFEST_EVERY_S:
            return
        unfinished = {i: self.previous[i] for i in self.order if i not in self.entries and i in self.previous}
        entries = [self.entries.get(i) or unfinished.get(i) for i in self.order]
        data = {
            "manifest_version": MANIFEST_VERSION,
            "generator": f"briefgen {__version__}",
            "kind": "batch",
            "inputs": self.inputs,
            "stakeholders": [e for e in entries if e is not None],
        }
        write_atomic(self.path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
        self.written_at = now


def run(request: BatchRequest, progress: Progress | None = None) -> BatchResult:
    """Build every stakeholder's brief; never raises for one stakeholder's failure."""
    from . import limits, stakeholders, writers
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
    content = validate(request.content)
    rows = stakeholders.load(request.stakeholders, content.strategy)
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
        "reference_docx_sha256": file_digest(request.reference_docx),
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
    inputs = {**depends, "list": request.stakeholders.name, "list_sha256": file_digest(request.stakeholders)}
    request.out.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(request.out)
    labels = {key: audience.label for key, audience in content.strategy.audiences.items()}
    manifest = Manifest(request.out, inputs, tasks, labels)
    result = BatchResult(total=len(tasks))
    todo = []
    for task in tasks:
        files = None if request.force else up_to_date(task, manifest.previous.get(task.row.id), request.out)
        if files is None:
            todo.append(task)
            continue
        outcome = Outcome(task.row.id, "skipped", files=files)
        result.outcomes[task.row.id] = outcome
        manifest.record(outcome)
        if progress:
            progress(outcome, len(result.outcomes), len(tasks))
    settings = WorkerSettings(replace(request, out=request.out.resolve()), epoch, limits.current())
    try:
        for outcome in _execute(todo, settings, jobs):
            result.outcomes[outcome.id] = outcome
            manifest.record(outcome)
            manifest.write()
            if progress:
                progress(outcome, len(result.outcomes), len(tasks))
    finally:
        manifest.write(force=True)
    result.manifest = manifest.path
    gone = sorted(set(manifest.previous) - set(manifest.order))
    if gone:
        result.notes.append(
            f"{len(gone)} stakeholder(s) no longer in the list ({', '.join(gone[:5])}"
            f"{', ...' if len(gone) > 5 else ''}); their files were left in place"
        )
    if request.zip or request.eml:
        from .distribute import package

        package(request, manifest, result, epoch)
    result.seconds = time.perf_counter() - started
    return result


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
        self.process = context.Process(target=_serve, args=(theirs, settings), daemon=True)
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
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)
        self.conn.close()


def _serve(conn: Any, settings: WorkerSettings) -> None:
    """A worker process: build the chunks it is sent until told to stop or the parent goes away."""
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
    chunk it held and is replaced; the batch goes on.
    """
    import multiprocessing
    from multiprocessing.connection import wait

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    queues: dict[Any, list[list[Task]]] = {}
    for chunk in work:
        queues.setdefault(chunk[0].group, []).append(chunk)
    workers = [_Process(context, settings) for _ in range(jobs)]
    try:
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
    finally:
        for worker in workers:
            worker.stop()


def _failed(chunk: list[Task], message: str) -> Iterator[Outcome]:
    for task in chunk:
        yield Outcome(task.row.id, "failed", error=message)
