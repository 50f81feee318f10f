"""Turn chunks of tasks into outcomes on a pool of long-lived worker processes on this machine.

Each worker process imports the writers' libraries once and keeps its groups' work
(:mod:`briefgen.batch.worker`); chunks of a group go back to the worker that has laid it out.
A worker that dies (killed, or out of memory in native code) fails the chunk it held and is
replaced. Workers end with the batch however it ends: asked to quit, terminated and then killed
after :data:`STOP_GRACE_S` when the batch is interrupted, and killed by the kernel if the main
process dies (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from . import worker as work_in_process
from .plan import Outcome, Task, chunks
from .signals import signals_deferred
from .worker import GROUP_CACHE, Worker, WorkerSettings

STOP_GRACE_S = 2.0  # after SIGTERM to the workers, SIGKILL for those still alive


def execute(tasks: list[Task], settings: WorkerSettings, jobs: int) -> Iterator[Outcome]:
    """Yield outcomes as workers finish them; in process when one job (or one task) suffices."""
    if not tasks:
        return
    work = chunks(tasks, jobs)
    if jobs == 1 or len(tasks) == 1:
        with Worker(settings) as builder:  # what its formats keep (LibreOffice) ends with it
            for chunk in work:
                yield from (builder.build(task) for task in chunk)
        return
    yield from pool(work, settings, min(jobs, len(work)))


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
        work_in_process.init_worker(settings)
    except Exception as exc:  # e.g. content that vanished since the plan: every chunk fails with it
        problem = f"the worker could not start: {getattr(exc, 'message', None) or exc}"
    try:
        while True:
            try:
                chunk = conn.recv()
                if chunk is None:
                    return
                conn.send(list(_failed(chunk, problem)) if problem else work_in_process.run_chunk(chunk))
            except (EOFError, OSError):  # the parent is gone
                return
    finally:  # what the worker's formats keep (LibreOffice) ends with it; SIGKILL: see libreoffice.py
        work_in_process.close_worker()


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


def pool(work: list[list[Task]], settings: WorkerSettings, jobs: int) -> Iterator[Outcome]:
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
        yield Outcome(task.stakeholder.id or "", "failed", error=message)
