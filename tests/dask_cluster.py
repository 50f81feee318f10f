"""Real Dask clusters for the tests, on 127.0.0.1 only, bounded in time and always torn down.

:func:`in_process` runs a ``distributed.LocalCluster`` in this process (workers are threads: fast,
for the client's logic); :func:`on_loopback` starts ``dask scheduler`` and ``dask worker``
processes (each with its nanny) as subprocesses, as a user would on two machines.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

START_S = 90.0  # for a scheduler and its workers to be up


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def in_process(workers: int = 2) -> Iterator[str]:
    """An in-process LocalCluster (threads, one per worker) listening on 127.0.0.1: its address."""
    from distributed import LocalCluster

    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=":0",
    )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close(timeout=20)


def _dask(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("dask")), *args]


@dataclass
class Loopback:
    """A scheduler and its workers as subprocesses (each in its own session, so it can be killed whole)."""

    address: str
    log: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def client(self):  # a client of the tests' own, to look at the cluster
        from distributed import Client

        return Client(self.address, timeout=30, set_as_default=False)

    def add_worker(self, *extra: str) -> None:
        command = _dask("worker", self.address, "--host", "127.0.0.1", "--nthreads", "1")
        command += ["--dashboard-address", "127.0.0.1:0"]
        command += [*extra]
        handle = (self.log / f"worker-{len(self.processes)}.log").open("wb")
        self.processes.append(
            subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        )

    def wait_for(self, workers: int) -> None:
        with contextlib.closing(self.client()) as client:
            client.wait_for_workers(workers, timeout=START_S)

    def stop(self) -> None:
        for process in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)


@contextlib.contextmanager
def on_loopback(log: Path, workers: int = 2, *worker_args: str) -> Iterator[Loopback]:
    """``dask scheduler`` and ``workers`` ``dask worker`` processes on 127.0.0.1; stopped at the end."""
    port = free_port()
    log.mkdir(parents=True, exist_ok=True)
    cluster = Loopback(f"tcp://127.0.0.1:{port}", log)
    try:
        command = _dask("scheduler", "--host", "127.0.0.1", "--port", str(port))
        command += ["--dashboard-address", f"127.0.0.1:{free_port()}"]  # its HTTP server, on loopback
        handle = (log / "scheduler.log").open("wb")
        cluster.processes.append(
            subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        )
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            time.sleep(0.2)
        for _ in range(workers):
            cluster.add_worker(*worker_args)
        cluster.wait_for(workers)
        yield cluster
    finally:
        cluster.stop()
