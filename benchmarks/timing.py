"""Turn a callable into timed samples, and the warnings logged while it runs into a report note.

Shared by every measurement: :func:`measure` runs once untimed, then times the repeats;
:func:`captured_warnings` keeps briefgen's and WeasyPrint's warnings off the terminal.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from report import Report


def measure(run: Callable[[], object], repeats: int) -> list[float]:
    """One untimed warm-up call, then ``repeats`` timed calls; seconds of each."""
    run()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return samples


@contextmanager
def captured_warnings(report: Report, where: str) -> Iterator[None]:
    """Keep briefgen's and WeasyPrint's warnings off the terminal; note how many there were."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collect(logging.WARNING)
    loggers = [logging.getLogger("briefgen"), logging.getLogger("weasyprint")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    if messages:
        distinct = list(dict.fromkeys(messages))
        report.notes.append(f"{where}: {len(messages)} warnings, e.g. {distinct[0][:160]!r}")
