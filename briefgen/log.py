"""Turn warnings from briefgen and the libraries it drives into one visible stream.

Every stage warns through the ``briefgen`` logger. WeasyPrint's own logger is
routed into ``briefgen.weasyprint`` (its "errors" are failed fetches and the
like, which do not stop a document, so they arrive as warnings). A build
collects the warnings of each document with :func:`collect`, so ``--strict``
can turn them into an error and tests can assert that none occurred.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

LOGGER = logging.getLogger("briefgen")


class _Forward(logging.Handler):
    """Re-emit a library's records through a briefgen logger as warnings."""

    def __init__(self, target: logging.Logger) -> None:
        super().__init__(logging.WARNING)
        self.target = target

    def emit(self, record: logging.LogRecord) -> None:
        self.target.warning("%s", record.getMessage())


_ROUTED: set[str] = set()


def route(library: str) -> None:
    """Send the ``library`` logger's warnings and errors to ``briefgen.<library>``."""
    if library in _ROUTED:
        return
    source = logging.getLogger(library)
    source.addHandler(_Forward(LOGGER.getChild(library)))
    source.propagate = False
    _ROUTED.add(library)


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def collect(exclusive: bool = False) -> Iterator[list[str]]:
    """Collect the messages of every warning logged inside the block.

    ``exclusive``: the block's warnings go only to the collection (a batch worker's
    are shown once, with the stakeholder's id, by the batch's progress report).
    """
    handler = _Collector()
    others = list(LOGGER.handlers) if exclusive else []
    for other in others:
        LOGGER.removeHandler(other)
    LOGGER.addHandler(handler)
    try:
        yield handler.messages
    finally:
        LOGGER.removeHandler(handler)
        for other in others:
            LOGGER.addHandler(other)


def warn(message: str, *args: object) -> None:
    """Log a briefgen warning."""
    LOGGER.warning(message, *args)
