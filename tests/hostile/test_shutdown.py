"""Stopping a real ``briefgen batch --jobs 2``: SIGTERM and SIGINT stop every worker, leave no
temporary file and a manifest that lists what finished; killing the main process alone (SIGKILL)
takes its workers with it. Every process started here is killed in a ``finally``."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from briefgen.output import folder_lock
from briefgen.paths import builtin_content

EXAMPLE = builtin_content() / "stakeholders.example.csv"
STARTUP_S = 120  # until the first brief is built (imports and the first layout)
STOP_S = 15  # from the signal until every process is gone


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes in the process group ``pgid``, from /proc."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="utf-8", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        state, _ppid, group = stat[stat.rindex(")") + 2 :].split()[:3]
        if int(group) == pgid and state != "Z":
            found.append(int(name))
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as handle:
            stat = handle.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :].split()[0] != "Z"


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="utf-8") as handle:
            return [int(p) for p in handle.read().split()]
    except OSError:
        return []


class Batch:
    """``briefgen batch`` in its own session, its output lines collected by a thread."""

    def __init__(self, *args: str | Path, cwd: Path) -> None:
        command = [sys.executable, "-m", "briefgen", "batch", *(str(a) for a in args)]
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            start_new_session=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[tuple[str, str]] = queue.Queue()
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.workers: list[int] = []
        for name, stream in (("stdout", self.process.stdout), ("stderr", self.process.stderr)):
            threading.Thread(target=self._read, args=(name, stream), daemon=True).start()

    def _read(self, name: str, stream) -> None:
        for line in stream:
            getattr(self, name).append(line.rstrip("\n"))
            self.lines.put((name, line))

    def wait_for(self, stream: str, needle: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(needle in line for line in getattr(self, stream)):
                return
            if self.process.poll() is not None and self.lines.empty():
                break
            with contextlib.suppress(queue.Empty):
                self.lines.get(timeout=0.05)
        pytest.fail(f"no {needle!r} on {stream} in {timeout} s: {self.stdout} {self.stderr}")

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        for pid in self.workers:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


def wait_until_gone(pgid: int, pids: list[int], timeout: float) -> float:
    """Seconds until no process of the group and none of ``pids`` is alive (fails after ``timeout``)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if not group_members(pgid) and not any(alive(p) for p in pids):
            return time.monotonic() - started
        time.sleep(0.01)
    pytest.fail(f"still alive after {timeout} s: group {group_members(pgid)}, workers {pids}")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_every_worker_and_keeps_what_finished(tmp_path: Path, signum: int):
    out = tmp_path / "out"
    batch = Batch(EXAMPLE, "--format", "pdf,docx", "--out", out, "--jobs", "2", cwd=tmp_path)
    try:
        batch.wait_for("stdout", "] built ", STARTUP_S)
        batch.workers = children(batch.process.pid)
        assert len(batch.workers) == 2, batch.workers
        sent = time.monotonic()
        batch.process.send_signal(signum)
        batch.process.wait(timeout=STOP_S)
        exited = time.monotonic() - sent
        gone = wait_until_gone(batch.process.pid, batch.workers, STOP_S) + exited
        print(f"{signal.Signals(signum).name}: main exited after {exited:.3f} s, all gone after {gone:.3f} s")
        time.sleep(0.3)  # nothing may still be writing
        assert batch.process.returncode == 128 + signum
        errors = [line for line in batch.stderr if line.startswith("Error:")]
        assert len(errors) == 1, batch.stderr
        assert f"stopped by {signal.Signals(signum).name}" in errors[0]
        assert "Traceback" not in "\n".join(batch.stderr)
        assert not list(out.glob(".*.part")), list(out.iterdir())

        data = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        recorded = {e["id"]: e for e in data["stakeholders"]}
        shown = {line.split()[3].rstrip(":") for line in batch.stdout if "] built " in line}
        assert shown and shown <= set(recorded)
        for ident in shown:
            assert recorded[ident]["status"] == "built"
            for record in recorded[ident]["files"]:
                assert (out / record["path"]).stat().st_size == record["bytes"]
        built = {p.name for p in out.iterdir() if p.suffix in (".pdf", ".docx")}
        stamps = {p: p.stat().st_mtime_ns for p in out.iterdir()}
        time.sleep(1.0)
        assert {p: p.stat().st_mtime_ns for p in out.iterdir()} == stamps  # no worker still writes
        assert built, "nothing was built before the signal"
    finally:
        batch.kill()


def test_workers_die_with_a_main_process_killed_by_sigkill(tmp_path: Path):
    out = tmp_path / "out"
    batch = Batch(EXAMPLE, "--format", "pdf", "--out", out, "--jobs", "2", cwd=tmp_path)
    try:
        batch.wait_for("stdout", "] built ", STARTUP_S)
        batch.workers = children(batch.process.pid)
        assert len(batch.workers) == 2
        os.kill(batch.process.pid, signal.SIGKILL)  # the main process only: no clean-up can run
        batch.process.wait(timeout=STOP_S)
        gone = wait_until_gone(batch.process.pid, batch.workers, STOP_S)
        print(f"workers gone {gone:.3f} s after the main process")
    finally:
        batch.kill()


def test_a_signal_while_waiting_for_the_lock_ends_the_run_at_once(stakeholder_list, tmp_path: Path):
    listing = stakeholder_list([{"id": "a1", "name": "Ann", "audience": "business"}])
    out = tmp_path / "out"
    out.mkdir()
    with folder_lock(out):  # another run holds the output folder
        batch = Batch(listing, "--format", "html", "--out", out, cwd=tmp_path)
        try:
            batch.wait_for("stderr", "waiting for another briefgen batch or build on", 60)
            batch.process.send_signal(signal.SIGTERM)
            batch.process.wait(timeout=STOP_S)
            assert batch.process.returncode == 128 + signal.SIGTERM
            time.sleep(0.2)
            assert batch.stderr[-1] == "Error: stopped by SIGTERM before any brief was built"
            assert list(out.iterdir()) == []
        finally:
            batch.kill()
