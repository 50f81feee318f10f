"""Turn a running ``briefgen preview`` and saved edits into save-to-visible latencies:
``preview_html_s`` and ``preview_pdf_s``.

The preview runs as a subprocess on a copy of the shipped content (127.0.0.1, a free port, no
browser). Each repetition saves a new recommendation title in ``business.yaml`` and times, from
the save, until ``/brief.html`` has the new title and until ``/brief.pdf`` is a new file (the PDF
of that change: nothing else changes it). Fetched over HTTP every 10 ms; a browser adds its
event-stream poll (40 ms) and the reload of its frame. The preview is always stopped.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from report import Report, Settings

TITLE = "Take part in the EU's digital partnerships and dialogues"
START_S = 120.0
STEP_S = 0.01


def _get(port: int, path: str) -> bytes | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        answer = conn.getresponse()
        body = answer.read()
        return body if answer.status == 200 else None
    except OSError:
        return None
    finally:
        conn.close()


def _until(check: Callable[[], object], seconds: float) -> float | None:
    """Seconds until ``check()`` is true, or None after ``seconds``."""
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        if check():
            return time.perf_counter() - started
        time.sleep(STEP_S)
    return None


def bench_preview(report: Report, settings: Settings, cli: list[str], scratch: Path) -> None:
    """preview_html_s, preview_pdf_s: medians of save-to-served latency over ``settings.repeats`` saves."""
    content = scratch / "preview-content"
    shutil.copytree(Path(__file__).resolve().parent.parent / "content", content)
    command = [*cli, "preview", "--content", str(content), "--no-open", "--port", "0"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True
    )
    ports: list[int] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            found = re.search(r"127\.0\.0\.1:(\d+)/", line)
            if found:
                ports.append(int(found.group(1)))

    threading.Thread(target=read, daemon=True).start()
    html: list[float] = []
    pdf: list[float] = []
    try:
        if _until(lambda: ports or process.poll() is not None, START_S) is None or not ports:
            report.skip(("preview_html_s", "preview_pdf_s"), "briefgen preview did not start")
            return
        port = ports[0]
        if _until(lambda: _get(port, "/brief.pdf") is not None, START_S) is None:
            report.skip(("preview_html_s", "preview_pdf_s"), "briefgen preview built no PDF")
            return
        file = content / "business.yaml"
        source = file.read_text(encoding="utf-8")
        for run in range(settings.repeats):
            title = f"Join the EU's digital partnerships, round {run}"
            before = _get(port, "/brief.pdf")
            file.write_text(source.replace(TITLE, title), encoding="utf-8")
            seen = _until(lambda t=title: t.encode() in (_get(port, "/brief.html") or b""), 30)
            if seen is not None:
                html.append(seen)
            built = _until(lambda b=before: (_get(port, "/brief.pdf") or b) != b, 120)
            if built is not None:
                pdf.append(built)
            time.sleep(0.5)  # the Word brief of this change too, before the next save
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(15)
    report.timed("preview_html_s", html)
    report.timed("preview_pdf_s", pdf)
