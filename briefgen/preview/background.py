"""Turn each new rendered brief into PDF and Word files in the background: the preview's side of
the :mod:`.worker` processes (start, hand a job over, interrupt a stale one, collect the answer).

One worker process per format. A job for a newer generation interrupts the one in progress
(:func:`Workers.submit`); an answer for a generation that is no longer the newest is dropped;
a worker that died is started again for the next job, and its format says it failed.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from .worker import Done, Job

STOP_S = 5.0


class Process:
    """One worker process for format ``name`` and the thread that reads its answers."""

    def __init__(self, name: str, folder: Path, answer: Callable[[Done | str], None]) -> None:
        from . import worker

        context = multiprocessing.get_context("spawn")
        self.name = name
        self.wanted = context.Value("q", 0, lock=False)
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=worker.main, args=(child, name, self.wanted, str(folder)), daemon=True
        )
        self.process.start()
        child.close()
        self.busy = 0  # the generation the worker is building, 0 when idle
        self.lock = threading.Lock()
        self.answer = answer
        self.reader = threading.Thread(target=self._read, name=f"preview-{name}", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                done = self.conn.recv()
            except (EOFError, OSError):
                self.answer(f"the {self.name} worker stopped")
                return
            with self.lock:
                if self.busy == done.generation:
                    self.busy = 0
            self.answer(done)

    def alive(self) -> bool:
        return self.process.is_alive()

    def submit(self, job: Job) -> None:
        """Hand ``job`` over, interrupting an older job in progress."""
        with self.lock:
            self.wanted.value = job.generation
            if self.busy and self.busy < job.generation and self.process.pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.process.pid, signal.SIGUSR1)
            self.busy = job.generation
            self.conn.send(job)

    def stop(self) -> None:
        """Close the pipe (the worker ends, and its LibreOffice with it); kill it if it lingers."""
        with contextlib.suppress(OSError):
            self.conn.send(None)
        with contextlib.suppress(OSError):
            self.conn.close()
        self.process.join(STOP_S)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(STOP_S)


class Workers:
    """The background formats' worker processes (started at once, so their libraries are loaded
    before the first change)."""

    def __init__(self, names: tuple[str, ...], folder: Path, answer: Callable[[Done | str], None]) -> None:
        self.folder = folder
        self.answer = answer
        self.processes = {name: Process(name, folder, answer) for name in names}

    def submit(self, job: Job) -> None:
        """Build ``job`` in every background format (a dead worker is started again first)."""
        for name, process in list(self.processes.items()):
            if not process.alive():
                process.stop()
                process = self.processes[name] = Process(name, self.folder, self.answer)
            process.submit(job)

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()
