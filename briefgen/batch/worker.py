"""Turn tasks into stakeholders' files: the worker that tailors, renders and writes each brief.

A worker lives in one process (a pool worker, or the main process for one job). It validates
the content once and keeps, per group of stakeholders (audience, focus areas, region), each
format's group writer (:func:`briefgen.writers.get` ``(name).for_group``), so a format can reuse
what it made for the previous stakeholder of the group: the PDF's laid-out body, the Word
brief's placeholder copy. It names no format. Every file is written atomically by the worker;
a stakeholder whose brief fails (a template error, the time or memory limit) becomes a failed
outcome, never an exception.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BriefgenError, WarningAsError
from ..limits import Limits
from ..output import sha256, write_atomic
from .plan import BatchRequest, Group, Outcome, Task

if TYPE_CHECKING:
    from ..render import Rendered
    from ..stakeholders import Stakeholder
    from ..translate import InLanguage
    from ..writers import GroupWriter

GROUP_CACHE = 6  # groups whose kept work (laid-out bodies, placeholder briefs) a worker holds


@dataclass(frozen=True)
class WorkerSettings:
    """What every worker needs to build briefs (picklable): the request, and what the plan fixed."""

    request: BatchRequest
    source_date_epoch: int | None = None
    limits: Limits = field(default_factory=Limits)


class Worker:
    """Builds stakeholders' briefs in one process, keeping each group's writers between them."""

    def __init__(self, settings: WorkerSettings) -> None:
        from .. import writers

        self.settings = settings
        self.request = request = settings.request
        self.languages: dict[str | None, InLanguage] = {}
        self.options = writers.options_for(request, settings.source_date_epoch)
        self.groups: OrderedDict[Group, dict[str, GroupWriter]] = OrderedDict()
        # what the formats keep for the worker's life (the Word writer's LibreOffice): see close()
        self.kept = contextlib.ExitStack()
        # read and checked before the first task: a worker that cannot read the content fails to start,
        # and the batch's default language is ready under its tag, as the rows name it
        first = self.content(request.language)
        self.languages.setdefault(first.language, first)
        self.kept.enter_context(writers.held(request.formats, self.options))

    def close(self) -> None:
        """Let go of what the formats kept (LibreOffice is stopped); the worker is done."""
        for group in list(self.groups):
            _close_group(self.groups.pop(group))
        self.kept.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def content(self, language: str | None) -> InLanguage:
        """The content in ``language`` (None: its own), its tag and what stays untranslated; kept."""
        from ..translate import validated

        if language not in self.languages:
            self.languages[language] = validated(self.request.content, language)
        return self.languages[language]

    def brief(self, group: Group, reader: Stakeholder) -> Rendered:
        """Tailor and render the brief of ``group`` for ``reader``."""
        from ..render import render
        from ..tailor import Options, tailor

        audience, focus, region, language = group
        speaking = self.content(language)
        options = Options(
            audience,
            focus,
            region,
            self.request.length,
            reader.reader(),
            speaking.language,
            speaking.source_text,
        )
        strategy = speaking.content.strategy
        return render(tailor(strategy, options), templates=self.request.templates, theme=self.options.theme)

    def writer(self, group: Group, name: str) -> GroupWriter:
        """Format ``name``'s group writer for ``group``: the one kept from earlier stakeholders, or new."""
        from .. import writers

        if group in self.groups:
            self.groups.move_to_end(group)
        kept = self.groups.setdefault(group, {})
        while len(self.groups) > GROUP_CACHE:
            _close_group(self.groups.popitem(last=False)[1])
        if name not in kept:
            kept[name] = writers.get(name).for_group(self.options, functools.partial(self.brief, group))
        return kept[name]

    def build(self, task: Task) -> Outcome:
        """Render, write and describe one stakeholder's files; record any failure instead of raising."""
        started = time.perf_counter()
        outcome, documents = self.make(task)
        if outcome.status == "built":
            with self.failures(outcome):
                for path, data, record in documents:
                    write_atomic(path, data)
                    outcome.files.append(record)
        outcome.seconds = time.perf_counter() - started
        return outcome

    def make(self, task: Task) -> tuple[Outcome, list[tuple[Path, bytes, dict[str, Any]]]]:
        """One stakeholder's files in memory, not written (none when it failed), and its outcome."""
        from ..log import collect
        from ..sandbox import deadline

        started = time.perf_counter()
        outcome = Outcome(id=task.stakeholder.id or "", status="built")
        limit = self.settings.limits.brief_seconds
        documents: list[tuple[Path, bytes, dict[str, Any]]] = []
        with self.failures(outcome):
            with (
                collect(exclusive=True) as warnings,
                deadline(limit, f"the brief took longer than {limit:g} s"),
            ):
                documents = self.documents(task, outcome)
            if warnings and self.request.strict:
                raise WarningAsError(warnings[0])
            outcome.warnings = list(dict.fromkeys(warnings))
        outcome.seconds = time.perf_counter() - started
        return outcome, documents if outcome.status == "built" else []

    @contextlib.contextmanager
    def failures(self, outcome: Outcome) -> Iterator[None]:
        """Turn any failure inside the block into ``outcome``'s status and error."""
        from ..sandbox import LimitError

        try:
            yield
        except (BriefgenError, LimitError) as exc:
            outcome.status, outcome.error = "failed", str(getattr(exc, "message", exc))
        except MemoryError:
            outcome.status = "failed"
            outcome.error = f"ran out of memory (limit {self.settings.limits.memory_mb:,} MB per worker)"
        except Exception as exc:  # a bug or a library failure: this stakeholder fails, the batch goes on
            outcome.status, outcome.error = "failed", f"internal error: {type(exc).__name__}: {exc}"

    def documents(self, task: Task, outcome: Outcome) -> list[tuple[Path, bytes, dict[str, Any]]]:
        """Every format's file of ``task`` in memory, with its manifest record."""
        from .. import writers
        from ..log import warn
        from ..translate import untranslated_warning

        reader = task.stakeholder
        speaking = self.content(reader.language)
        message = untranslated_warning(speaking.language, speaking.untranslated, (reader.audience or "",))
        if message:
            warn(message)
        document = self.brief(task.group, reader)
        outcome.title, outcome.strategy = document.title, speaking.content.strategy.strategy.title
        result = []
        for name in task.formats:
            written = self.writer(task.group, name).write(document, reader, task.shared)
            if written.reused:
                outcome.reused.append(name)
            path = self.request.out / f"{task.stem}{writers.extension(name)}"
            record = {
                "path": path.name,
                "format": name,
                "bytes": len(written.data),
                "sha256": sha256(written.data),
                "pages": written.pages,
            }
            result.append((path, written.data, record))
        return result


def _close_group(kept: dict[str, GroupWriter]) -> None:
    """A group writer may keep something outside this process (LibreOffice's open documents)."""
    for writer in kept.values():
        close = getattr(writer, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):
                close()


_WORKER: Worker | None = None


def init_worker(settings: WorkerSettings) -> None:
    """Set up this process's worker: the limits, a memory cap, Ctrl-C left to the parent."""
    import signal

    from .. import limits

    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)
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


def close_worker() -> None:
    """End this process's worker (see :func:`init_worker`): what its formats kept is let go."""
    global _WORKER
    if _WORKER is not None:
        worker, _WORKER = _WORKER, None
        worker.close()


def run_chunk(chunk: list[Task]) -> list[Outcome]:
    """Build a chunk on this process's worker (set up by :func:`init_worker`)."""
    assert _WORKER is not None, "worker not initialised"
    return [_WORKER.build(task) for task in chunk]
