"""Turn a content folder into a running ``briefgen preview`` subprocess the tests talk to over HTTP.

The real command, started on 127.0.0.1 on a free port (``--port 0``; the address is read from its
first line), bounded in time and always stopped (SIGTERM, then SIGKILL of its process group).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

START_S = 90.0
STOP_S = 15.0


@dataclass
class Preview:
    """A running preview: its port, its process and what it printed so far."""

    port: int
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def get(
        self, path: str, host: str | None = None, method: str = "GET"
    ) -> tuple[int, dict[str, str], bytes]:
        """Send ``path`` as it is (no normalising) with Host ``host``; status, headers, body."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            if host is None:
                host = f"127.0.0.1:{self.port}"
            if host:
                conn.putheader("Host", host)
            conn.endheaders()
            answer = conn.getresponse()
            return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
        finally:
            conn.close()


def wait_until(check: Callable[[], object], seconds: float, step: float = 0.02) -> object:
    """Call ``check`` until it returns something true (returned) or ``seconds`` pass (AssertionError)."""
    end = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > end:
            raise AssertionError(f"not within {seconds} s")
        time.sleep(step)


@contextlib.contextmanager
def running(content: Path, *flags: str) -> Iterator[Preview]:
    """``briefgen preview --content CONTENT --no-open --port 0 FLAGS`` until the block ends."""
    command = [sys.executable, "-m", "briefgen", "preview", "--content", str(content), "--no-open"]
    command += ["--port", "0"]
    process = subprocess.Popen(
        [*command, *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    output: list[str] = []
    found: list[int] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line.rstrip("\n"))
            match = re.search(r"Preview at http://127\.0\.0\.1:(\d+)/", line)
            if match:
                found.append(int(match.group(1)))

    threading.Thread(target=read, daemon=True).start()
    try:
        wait_until(lambda: found or process.poll() is not None, START_S, 0.05)
        assert found, "the preview did not start:\n" + "\n".join(output)
        yield Preview(found[0], process, output)
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(STOP_S)
