"""Turn rendered briefs into PDF and Word files in a background process, one per format, that a
newer change can interrupt.

Each worker is a process of its own (started with ``spawn``), so a PDF or Word rebuild never
holds up the HTML, runs in its process's main thread under the same brief time limit as
``briefgen build`` (:func:`briefgen.sandbox.deadline`), and a stale rebuild is interrupted at
once: the preview raises the generation it wants in shared memory and sends ``SIGUSR1``; the
worker's handler raises :class:`Cancelled` only while it builds an older generation. The Word
worker keeps one LibreOffice for its life (as a build does) and also makes LibreOffice's PDF
of the .docx: the Word tab shows that. A worker ends when its pipe closes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..build import BuildRequest
    from ..limits import Limits
    from ..render import Rendered


class Cancelled(BaseException):
    """A newer change made this rebuild stale (a BaseException: no writer's ``except`` keeps it)."""


@dataclass(frozen=True)
class Job:
    """One rebuild for a worker: the generation, the build request and the rendered document."""

    generation: int
    request: BuildRequest
    document: Rendered
    epoch: int | None
    limits: Limits


@dataclass(frozen=True)
class Done:
    """A worker's answer: the file (None when it failed), LibreOffice's PDF of a Word brief,
    problem lines, warnings, seconds taken; ``cancelled`` when a newer change stopped it."""

    format: str
    generation: int
    data: bytes | None = None
    pages_pdf: bytes | None = None
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0
    cancelled: bool = False


_busy: list[int] = []  # the generation being built, if any


def serve(conn: Any, name: str, wanted: Any) -> None:
    """The worker's life: build each job sent on ``conn`` in format ``name`` until the pipe
    closes; ``wanted`` (a shared integer) is the newest generation the preview asked for."""
    from .. import writers
    from ..log import collect

    def stale(signum: int, frame: Any) -> None:
        if _busy and _busy[0] < wanted.value:
            raise Cancelled

    signal.signal(signal.SIGUSR1, stale)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the preview's to handle
    with contextlib.suppress(Cancelled):
        writers.get(name)  # the format's library, loaded before the first change
    kept = contextlib.ExitStack()
    holding = False
    with kept:
        while True:
            try:
                job = conn.recv()
            except (EOFError, OSError):
                return
            except Cancelled:
                continue
            if job is None:
                return
            if not holding:  # the first job: what the format keeps for the worker's life
                with collect():
                    kept.enter_context(writers.held((name,), _options(job)))
                holding = True
            _busy[:] = [job.generation]
            try:
                with collect() as warnings:
                    done = _build(name, job)
                done = replace(done, warnings=tuple(warnings))
            except Cancelled:
                done = Done(name, job.generation, cancelled=True)
            finally:
                _busy.clear()
            try:
                conn.send(done)
            except (BrokenPipeError, OSError):
                return


def _options(job: Job) -> Any:
    from .. import writers

    return writers.options_for(job.request, job.epoch)


def _build(name: str, job: Job) -> Done:
    """Write ``job``'s document in format ``name`` under the build's brief time limit."""
    from .. import limits, writers
    from ..errors import BriefgenError
    from ..sandbox import LimitError, deadline
    from .problems import lines

    limits.configure({key: getattr(job.limits, key) for key in job.limits.__dataclass_fields__})
    started = time.perf_counter()
    seconds = limits.current().brief_seconds
    try:
        limit = f"the {name} brief took longer than {seconds:g} s (brief_seconds in [limits])"
        with deadline(seconds, limit):
            options = _options(job)
            data = writers.get(name).write(job.document, options)
            pages = _pages_pdf(data) if name == "docx" else None
    except LimitError as exc:
        return Done(name, job.generation, problems=(str(exc),))
    except BriefgenError as exc:
        return Done(name, job.generation, problems=tuple(lines(exc.within(f"format {name}"))))
    except Exception as exc:
        return Done(name, job.generation, problems=tuple(lines(exc)))
    return Done(name, job.generation, data, pages, seconds=time.perf_counter() - started)


def _pages_pdf(docx: bytes) -> bytes | None:
    """LibreOffice's PDF of the Word brief (None without LibreOffice)."""
    from ..writers.docx import libreoffice

    installation, _why = libreoffice.find()
    return libreoffice.pdf_of(docx) if installation is not None else None


def main(conn: Any, name: str, wanted: Any, folder: str) -> None:
    """The process's entry point: work in ``folder`` (the preview's own), at a lower priority than
    the preview's HTML rebuild (which is what the author waits for), then :func:`serve`."""
    os.chdir(Path(folder))
    with contextlib.suppress(OSError):
        os.nice(5)
    serve(conn, name, wanted)
