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
import time
from collections.abc import Callable
from pathlib import Path

from .worker import Done, Job

STOP_S = 3.0


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
        self.stopping = False
        self.lock = threading.Lock()
        self.answer = answer
        self.reader = threading.Thread(target=self._read, name=f"preview-{name}", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                done = self.conn.recv()
            except (EOFError, OSError, TypeError):  # TypeError: the pipe was closed under the read
                if not self.stopping:
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

    def ask_to_stop(self) -> None:
        """Interrupt the job in progress and close the pipe: the worker ends (and its LibreOffice,
        whose client ends when its input closes)."""
        with self.lock:
            self.wanted.value = 2**62
            if self.busy and self.process.pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.process.pid, signal.SIGUSR1)
        self.stopping = True
        with contextlib.suppress(OSError):
            self.conn.send(None)

    def stop(self, until: float | None = None) -> None:
        """Ask the worker to stop; kill it if it is still there at ``until`` (monotonic time)."""
        self.ask_to_stop()
        self.process.join(max((until or time.monotonic() + STOP_S) - time.monotonic(), 0.01))
        if self.process.is_alive():
            self.process.kill()
            self.process.join(STOP_S)
        self.reader.join(1)
        with contextlib.suppress(OSError):
            self.conn.close()


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
        """Stop every worker at once, waiting at most :data:`STOP_S` for them all."""
        until = time.monotonic() + STOP_S
        for process in self.processes.values():
            process.ask_to_stop()
        for process in self.processes.values():
            process.stop(until)
