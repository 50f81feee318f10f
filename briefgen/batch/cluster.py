"""Turn a batch's tasks into outcomes on a Dask cluster: the files come back as bytes and the
client writes them, as the local pool's workers would have.

The client (this process) connects to the scheduler given by ``--scheduler``, asks every worker
for its versions of briefgen, Typst, WeasyPrint, matplotlib and the shipped fonts and refuses
the ones that differ (naming them and both versions), sends the batch's input files once to each
worker as data (:mod:`.bundle`: no shared file system), and submits one task per stakeholder, a group's
stakeholders to the same worker so its laid-out body and Word placeholder are reused there
(the worker keeps a :class:`briefgen.batch.worker.Worker` per batch in its process; tasks are
pinned to their worker, so the scheduler never moves them away from the work kept there).

Nothing a worker returns is believed on its word (:func:`accept`): the stakeholder must be the
one the task named, every format the task asked for and no other, each file's bytes within
:data:`RESULT_LIMIT`; file names, sizes and checksums are the client's own. Limits and faults:

- the time limit: a brief running past ``--time-limit`` (from the worker's "started" event) fails
  alone; its task is cancelled and its worker restarted (by its nanny);
- a worker that dies (killed, or by its nanny over its memory limit) has its tasks sent to
  another worker by the client (a group stays together); a stakeholder whose brief was running
  on a worker that died :data:`MAX_DEATHS` times fails alone;
- the scheduler lost: :class:`ClusterLost`, one line; the manifest keeps what finished;
- leaving early (Ctrl-C, SIGTERM): the client cancels its tasks, drops what the workers keep
  for the batch and disconnects; the cluster goes on running.

``distributed`` is imported here only, when a batch names a scheduler (the ``cluster`` extra).
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, NoReturn

from .. import __version__
from ..errors import BriefgenError, UsageError
from ..output import sha256, write_atomic
from .bundle import Bundle, pack, unpack
from .plan import Group, Outcome, Task, planned_names
from .signals import signals_deferred
from .worker import Worker, WorkerSettings

CONNECT_S = 20.0  # to reach the scheduler
WORKERS_S = 30.0  # for a first worker to join
POLL_S = 0.25  # how often the client looks at the time limits and the scheduler
LOST_S = 5.0  # a scheduler out of reach this long is lost
LOOK_S = 1.0  # how often the client looks for workers that left or joined
MAX_DEATHS = 2  # a brief whose worker died this many times while building it fails alone
RESULT_LIMIT = 256 * 1024 * 1024  # one file's bytes from a worker
TEXT_LIMIT = 2000  # characters of an error, a warning or a title from a worker
MAX_WARNINGS = 100
TOPIC = "briefgen-started"


class ClusterLost(BriefgenError):
    """The scheduler went away during the batch (exit code 1); what finished is in the manifest."""


# --- on the worker ------------------------------------------------------------------------------


@functools.cache
def fonts_digest() -> str:
    """A digest of the shipped fonts' names and bytes (what a PDF and a Word brief embed)."""
    import hashlib

    from ..paths import builtin_templates

    digest = hashlib.sha256()
    for path in sorted((builtin_templates() / "fonts").glob("*")):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


#: The libraries whose version decides a brief's bytes, by the name a refusal shows (read from the
#: installed metadata: checking them imports none).
ENGINES = {"Typst": "typst", "WeasyPrint": "weasyprint", "matplotlib": "matplotlib"}


def versions() -> dict[str, str]:
    """What must be the same on the client and every worker for the same bytes to come out."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(package: str) -> str:
        try:
            return version(package)
        except PackageNotFoundError:
            return "not installed"

    engines = {name: installed(package) for name, package in ENGINES.items()}
    return {"briefgen": __version__, **engines, "fonts": fonts_digest()}


@dataclass
class _Kept:
    """What a worker keeps for one batch: the briefgen worker (its groups' work) and its inputs' copy."""

    builder: Worker
    root: Path
    lock: threading.Lock


_KEPT: dict[tuple[str, str], _Kept] = {}
_KEPT_LOCK = threading.Lock()


def _kept(address: str, bundle: Bundle) -> _Kept:
    """This worker's state for the batch: made from the bundle on its first task, then kept."""
    with _KEPT_LOCK:
        found = _KEPT.get((address, bundle.token))
        if found is None:
            from .. import limits

            settings, root = unpack(bundle)
            limits.configure({f.name: getattr(settings.limits, f.name) for f in fields(settings.limits)})
            found = _KEPT[(address, bundle.token)] = _Kept(Worker(settings), root, threading.Lock())
        return found


def remote_build(bundle: Bundle, task: Task, expected: dict[str, str]) -> dict[str, Any]:
    """A Dask task: build one stakeholder's files on this worker and return them as bytes."""
    from distributed import get_worker

    here = get_worker()
    mine = versions()
    if mine != expected:
        return {"id": task.stakeholder.id, "refused": _difference(here.address, expected, mine)}
    kept = _kept(here.address, bundle)
    with kept.lock:  # one brief at a time per worker, whatever its thread count
        here.log_event(f"{TOPIC}-{bundle.token}", {"id": task.stakeholder.id, "worker": here.address})
        outcome, documents = kept.builder.make(task)
    return {
        "id": outcome.id,
        "status": outcome.status,
        "error": outcome.error,
        "warnings": outcome.warnings,
        "title": outcome.title,
        "strategy": outcome.strategy,
        "reused": outcome.reused,
        "seconds": outcome.seconds,
        "files": [(record["format"], data, record["pages"]) for _path, data, record in documents],
    }


def forget(token: str, dask_worker: Any = None) -> int:
    """Drop what this worker keeps for batch ``token`` (LibreOffice stopped, inputs' copy removed)."""
    import shutil

    address = getattr(dask_worker, "address", "")
    with _KEPT_LOCK:
        kept = _KEPT.pop((address, token), None)
    if kept is None:
        return 0

    def drop() -> None:  # once the brief it may be building (a cancelled task's) is done
        with kept.lock:
            kept.builder.close()
        shutil.rmtree(kept.root, ignore_errors=True)

    threading.Thread(target=drop, name="briefgen-forget", daemon=True).start()
    return 1


# --- on the client ------------------------------------------------------------------------------


def _difference(worker: str, ours: dict[str, str], theirs: Any) -> str:
    if not isinstance(theirs, dict):
        return f"worker {worker} refused: it could not tell its versions ({str(theirs)[:200]})"
    wrong = [
        f"{name} {ours[name]} here, {str(theirs.get(name))[:40]} there"
        for name in ours
        if theirs.get(name) != ours[name]
    ]
    return f"worker {worker} refused: {'; '.join(wrong)}"


def _text(value: Any) -> str | None:
    return value[:TEXT_LIMIT] if isinstance(value, str) else None


def accept(task: Task, raw: Any) -> tuple[Outcome, list[tuple[str, bytes, dict[str, Any]]]]:
    """A worker's result for ``task`` as an outcome and the files to write (name, bytes, record).

    Every field is checked; names, sizes and checksums are made here from the plan and the bytes.
    A result that does not hold is the stakeholder's failure, never a file.
    """
    ident = task.stakeholder.id or ""

    def failed(why: str) -> tuple[Outcome, list[tuple[str, bytes, dict[str, Any]]]]:
        return Outcome(ident, "failed", error=why), []

    if not isinstance(raw, dict):
        return failed("the worker returned something that is not a result")
    if raw.get("id") != ident:
        return failed(f"the worker returned a result for another stakeholder ({str(raw.get('id'))[:60]!r})")
    if "refused" in raw:
        return failed(_text(raw["refused"]) or "the worker refused the task")
    status = raw.get("status")
    if status not in ("built", "failed"):
        return failed("the worker returned a result without a status")
    warnings = raw.get("warnings")
    warnings = (
        [w[:TEXT_LIMIT] for w in warnings[:MAX_WARNINGS] if isinstance(w, str)]
        if isinstance(warnings, list)
        else []
    )
    reused = raw.get("reused")
    reused = [name for name in task.formats if isinstance(reused, list) and name in reused]
    seconds = raw.get("seconds")
    outcome = Outcome(
        ident,
        status,
        error=_text(raw.get("error")) or ("failed on the worker" if status == "failed" else None),
        warnings=warnings,
        seconds=float(seconds) if isinstance(seconds, (int, float)) and 0 <= seconds < 1e7 else 0.0,
        reused=reused,
        title=_text(raw.get("title")),
        strategy=_text(raw.get("strategy")),
    )
    if status == "failed":
        outcome.error = outcome.error or "failed on the worker"
        return outcome, []
    files = raw.get("files")
    if not isinstance(files, list) or len(files) != len(task.formats):
        return failed("the worker returned other files than the task asked for")
    names = planned_names(task)
    documents = []
    for fmt, item in zip(task.formats, files, strict=True):
        if not isinstance(item, (tuple, list)) or len(item) != 3 or item[0] != fmt:
            return failed(f"the worker returned other files than the task asked for (expected {fmt})")
        _, data, pages = item
        if not isinstance(data, bytes):
            return failed(f"{fmt}: the worker returned no bytes")
        if len(data) > RESULT_LIMIT:
            return failed(f"{fmt}: the worker returned {len(data):,} bytes; the limit is {RESULT_LIMIT:,}")
        if pages is not None and (type(pages) is not int or not 0 <= pages < 1_000_000):
            return failed(f"{fmt}: the worker returned a page count that is not a count")
        record = {
            "path": names[fmt],
            "format": fmt,
            "bytes": len(data),
            "sha256": sha256(data),
            "pages": pages,
        }
        documents.append((names[fmt], data, record))
    return outcome, documents


def place(tasks: list[Task], workers: list[str]) -> list[tuple[Task, str]]:
    """Each task (marked shared when its group has others) with the worker its whole group goes to:
    the largest groups first, each to the worker with the fewest stakeholders so far."""
    groups: dict[Group, list[Task]] = {}
    for task in tasks:
        groups.setdefault(task.group, []).append(task)
    load = dict.fromkeys(workers, 0)
    placed = []
    for members in sorted(groups.values(), key=len, reverse=True):
        chosen = min(workers, key=lambda w: load[w])
        load[chosen] += len(members)
        placed += [(replace(task, shared=len(members) > 1), chosen) for task in members]
    return placed


def _connect(address: str) -> Any:
    from distributed import Client

    try:
        return Client(address, timeout=CONNECT_S, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise UsageError(f"--scheduler: no Dask scheduler answered at {address} ({reason})") from None


def _accepted(client: Any, address: str, say: Callable[[str], None]) -> tuple[list[str], dict[str, str]]:
    """The workers whose versions match this client's (the others are refused, each in one line)."""
    ours = versions()
    try:
        client.wait_for_workers(1, timeout=WORKERS_S)
    except (TimeoutError, OSError):
        raise UsageError(
            f"--scheduler: no worker joined the scheduler at {address} in {WORKERS_S:g} s"
        ) from None
    found = client.run(versions, on_error="return")
    accepted = sorted(worker for worker, theirs in found.items() if theirs == ours)
    for worker in sorted(set(found) - set(accepted)):
        say(_difference(worker, ours, found[worker]))
    if not accepted:
        raise UsageError(f"--scheduler: no worker at {address} has this client's versions; see above")
    return accepted, ours


class _Run:
    """One batch on the cluster: its futures, the briefs running now, and how they end."""

    def __init__(self, client: Any, settings: WorkerSettings, say: Callable[[str], None]) -> None:
        self.client, self.settings, self.say = client, settings, say
        self.token = uuid.uuid4().hex
        self.pending: dict[Any, Task] = {}
        self.started: dict[str, tuple[float, str]] = {}
        self.lock = threading.Lock()
        self.out = settings.request.out
        self.limit = settings.limits.brief_seconds
        self.where: dict[Any, str] = {}  # the worker each pending task is pinned to
        self.deaths: dict[str, int] = {}  # stakeholders whose worker died while building them
        self.sent = 0
        self.orphaned_since: float | None = None
        self.workers: list[str] = []
        self.refused: set[str] = set()
        self.expected: dict[str, str] = {}
        self.bundle: Any = None

    def note_start(self, event: Any) -> None:
        """A worker's "started" event (subscribed topic; runs on the client's event loop thread)."""
        message = event[1] if isinstance(event, (tuple, list)) and len(event) == 2 else event
        if isinstance(message, dict) and isinstance(message.get("id"), str):
            with self.lock:
                self.started[message["id"]] = (time.monotonic(), str(message.get("worker", ""))[:200])

    def submit(self, tasks: list[Task]) -> None:
        client = self.client
        self.workers, self.expected = _accepted(client, self.settings.request.scheduler or "", self.say)
        self.refused = set(client.scheduler_info()["workers"]) - set(self.workers)
        services = client.scheduler_info().get("services", {})
        if "dashboard" in services:
            self.say(f"Dask dashboard: {client.dashboard_link}")
        client.subscribe_topic(f"{TOPIC}-{self.token}", self.note_start)
        self.bundle = client.scatter(
            pack(self.settings, self.token), broadcast=True, workers=self.workers, hash=False
        )
        for task, worker in place(tasks, self.workers):
            self.send(task, worker)

    def send(self, task: Task, worker: str) -> None:
        """Submit ``task`` to run on ``worker`` only (a worker that leaves: see :meth:`reassign`)."""
        self.sent += 1
        future = self.client.submit(
            remote_build,
            self.bundle,
            task,
            self.expected,
            key=f"briefgen-{self.token[:12]}-{self.sent}",
            workers=[worker],
            allow_other_workers=False,  # the group's work is kept there; stealing would lose it
            pure=False,
        )
        self.pending[future] = task
        self.where[future] = worker

    def reassign(self) -> Iterator[Outcome]:
        """Move the tasks of workers that left to workers that are here (a group stays together);
        a stakeholder whose brief was running on a worker that died :data:`MAX_DEATHS` times fails."""
        live = set(self.client.scheduler_info()["workers"])
        for worker in sorted(live - set(self.workers) - self.refused):  # a restarted or new worker
            try:
                found = self.client.run(versions, workers=[worker], on_error="return").get(worker)
            except (OSError, TimeoutError, KeyError):  # gone again, or not ready: asked at the next look
                continue
            if found == self.expected:
                self.workers.append(worker)
            else:
                self.refused.add(worker)
                self.say(_difference(worker, self.expected, found))
        self.workers = [w for w in self.workers if w in live]
        # a task cancelled by the scheduler: the batch's inputs were lost with the workers that held them
        gone = {f: w for f, w in self.where.items() if w not in live or f.status == "cancelled"}
        if not gone:
            return
        if not self.workers:
            self.orphaned_since = self.orphaned_since or time.monotonic()
            if time.monotonic() - self.orphaned_since > WORKERS_S:
                raise ClusterLost(
                    f"--scheduler: no worker left at {self.settings.request.scheduler}; the briefs built "
                    "so far are in the manifest and a re-run builds the rest"
                )
            return
        self.orphaned_since = None
        if self.bundle.status != "finished":  # lost with the workers that held it: sent again
            self.bundle = self.client.scatter(
                pack(self.settings, self.token), broadcast=True, workers=self.workers, hash=False
            )
        moved: dict[str, str] = {}
        load = {w: sum(1 for x in self.where.values() if x == w) for w in self.workers}
        for future, old in gone.items():
            task = self.pending[future]
            ident = task.stakeholder.id or ""
            with self.lock:
                began = self.started.get(ident)
            died = began is not None and began[1] == old  # it was being built when its worker died
            if died and self.deaths.get(ident, 0) + 1 >= MAX_DEATHS:
                why = f"its worker died {self.deaths.get(ident, 0) + 1} times while building it"
                outcome = Outcome(ident, "failed", error=f"{why} (killed, or over its memory limit)")
            else:
                if old not in moved:
                    moved[old] = min(self.workers, key=lambda w: load[w])
                load[moved[old]] += 1
                self.send(task, moved[old])  # if the scheduler cannot take it, the old one stays for now
                outcome = None
            del self.pending[future], self.where[future]
            future.cancel()
            with self.lock:
                self.started.pop(ident, None)
            if died:
                self.deaths[ident] = self.deaths.get(ident, 0) + 1
            if outcome is not None:
                yield outcome

    def outcomes(self) -> Iterator[Outcome]:
        from distributed import wait

        away_since: float | None = None
        looked = time.monotonic()
        while self.pending:
            try:
                with self.client.as_current():
                    done, _ = wait(list(self.pending), timeout=POLL_S, return_when="FIRST_COMPLETED")
            except TimeoutError:
                done = set()
            except (CancelledError, OSError):  # the scheduler going, or lost inputs (see reassign)
                done, looked = set(), 0.0
            for future in done:
                if future.status == "cancelled":  # not by this client: see reassign
                    looked = 0.0
                    continue
                task = self.pending.pop(future)
                self.where.pop(future, None)
                yield self.finish(future, task)
            yield from self.overdue()
            if self.client.status == "running":
                away_since = None
                if time.monotonic() - looked > LOOK_S:
                    looked = time.monotonic()
                    try:
                        moved = list(self.reassign())
                    except (OSError, KeyError, TimeoutError):  # a worker or the scheduler went away meanwhile
                        moved = []  # asked again at the next look; a scheduler gone is caught above
                    yield from moved
            elif away_since is None:
                away_since = time.monotonic()
            elif time.monotonic() - away_since > LOST_S:
                self.lost()

    def lost(self) -> NoReturn:
        raise ClusterLost(
            f"--scheduler: the scheduler at {self.settings.request.scheduler} was lost; the briefs built "
            "so far are in the manifest and a re-run builds the rest"
        )

    def finish(self, future: Any, task: Task) -> Outcome:
        """The outcome of a finished future; its files written by this process."""
        ident = task.stakeholder.id or ""
        if future.status == "error":
            from distributed import KilledWorker

            exc = future.exception()
            future.release()
            if isinstance(exc, KilledWorker):
                why = "its workers died while building it (killed, or over their memory limit)"
            else:
                why = f"failed on the worker: {type(exc).__name__}: {str(exc)[:TEXT_LIMIT]}"
            return Outcome(ident, "failed", error=why)
        raw = future.result()
        future.release()
        outcome, documents = accept(task, raw)
        try:
            for name, data, record in documents:
                write_atomic(self.out / name, data)
                outcome.files.append(record)
        except OSError as exc:
            outcome.status, outcome.error = "failed", f"could not write: {exc}"
        return outcome

    def overdue(self) -> Iterator[Outcome]:
        """Briefs past the time limit: cancelled, their workers restarted, each failed alone."""
        now = time.monotonic()
        for future, task in list(self.pending.items()):
            with self.lock:
                began = self.started.get(task.stakeholder.id or "")
            if began is None or now - began[0] <= self.limit:
                continue
            del self.pending[future]
            self.where.pop(future, None)
            future.cancel()
            threading.Thread(
                target=self._restart, args=(began[1],), name="briefgen-restart", daemon=True
            ).start()
            yield Outcome(
                task.stakeholder.id or "", "failed", error=f"the brief took longer than {self.limit:g} s"
            )

    def _restart(self, worker: str) -> None:
        with contextlib.suppress(Exception):  # a worker without a nanny cannot be restarted
            self.client.restart_workers([worker], raise_for_error=False)

    def close(self) -> None:
        """Cancel what is left, drop what the workers keep for this batch, disconnect."""
        client = self.client
        with contextlib.suppress(Exception):
            if self.pending:
                client.cancel(list(self.pending), force=True)
        with contextlib.suppress(Exception):
            client.unsubscribe_topic(f"{TOPIC}-{self.token}")
        if client.status == "running":
            with contextlib.suppress(Exception):
                client.run(forget, self.token, wait=True, on_error="ignore")
        with contextlib.suppress(Exception):
            client.close(timeout=5)


def execute(tasks: list[Task], settings: WorkerSettings, say: Callable[[str], None]) -> Iterator[Outcome]:
    """Yield outcomes as the cluster finishes them; the client writes every file."""
    if not tasks:
        return
    import logging

    import distributed  # noqa: F401  (its loggers exist once it is imported)

    # distributed's own handlers would print its reconnect tracebacks: the batch says it in one line
    names = [name for name in logging.root.manager.loggerDict if name.split(".")[0] == "distributed"]
    handlers = {h: h.level for name in names for h in logging.getLogger(name).handlers}
    for handler in handlers:
        handler.setLevel(logging.CRITICAL)
    try:
        run = _Run(_connect(settings.request.scheduler or ""), settings, say)
        try:
            run.submit(tasks)
            yield from run.outcomes()
        finally:
            with signals_deferred():
                run.close()
    finally:
        for handler, level in handlers.items():
            handler.setLevel(level)
