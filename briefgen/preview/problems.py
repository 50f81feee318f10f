"""Turn a failed rebuild (a YAML, validation, template or sandbox error) into the lines the
preview's overlay and the terminal show: ``file:line:col: message`` where the error knows its
place (a template error knows its file and line only: ``file:line: message``).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import BriefgenError, ContentError

#: ``audience 'x': format y: FILE:LINE: message`` as the build words a template error: the place
#: goes first in the preview, the context after the message.
PLACED = re.compile(r"^(?P<context>(?:[a-z]+ [^:]+: )+)(?P<place>[^\s:][^:]*:\d+(?::\d+)?): (?P<message>.*)$")

#: Most lines one failure shows (a content file can have thousands of problems).
MAX_LINES = 50


def lines(error: BaseException) -> list[str]:
    """The problem lines of ``error``: one per content problem, else the message's own lines."""
    if isinstance(error, ContentError):
        found = [str(problem) for problem in error.problems]
    elif isinstance(error, BriefgenError):
        found = [line for line in error.message.splitlines() if line.strip()]
    else:
        found = [f"internal error: {type(error).__name__}: {error}"]
    if len(found) > MAX_LINES:
        found = [*found[:MAX_LINES], f"... and {len(found) - MAX_LINES:,} more"]
    return [shorter(place_first(line)) for line in found]


def place_first(line: str) -> str:
    """``audience 'x': file:12: message`` as ``file:12: message (audience 'x')``."""
    match = PLACED.match(line)
    if match is None:
        return line
    context = match["context"].rstrip(": ").replace(": ", ", ")
    return f"{match['place']}: {match['message']} ({context})"


def shorter(line: str) -> str:
    """``line`` with the current folder's absolute path left out of file names (as typed)."""
    here = f"{Path.cwd()}/"
    return line.replace(here, "") if len(here) > 1 else line
