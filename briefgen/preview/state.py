"""Turn rebuild results into what the preview serves: the current files, their generations and
build times, and the problems the overlay shows, shared between the rebuilding thread and the
web server's thread under one lock.

Only what a rebuild made is ever served: the files live here, in memory, by format name; no
request path reaches the file system.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .choices import Choice, Menu

#: The files the preview serves, by the name a request asks for.
FILES = ("brief.html", "brief.pdf", "brief.docx", "pages.pdf")


@dataclass
class Output:
    """One file of the current brief: its bytes (None until built), the generation they were
    built from, and how the last try of that generation went."""

    data: bytes | None = None
    generation: int = 0  # of the bytes served
    status: str = "waiting"  # waiting | building | ready | failed | stale | none
    seconds: float = 0.0
    note: str = ""
    saved_at: float = 0.0  # when the change this generation answers was seen (time.time())
    ready_at: float = 0.0


@dataclass
class State:
    """The preview's shared state; every change bumps :attr:`version` (the page's event stream
    sends a new snapshot when it moves)."""

    choice: Choice
    menu: Menu
    outputs: dict[str, Output] = field(default_factory=lambda: {name: Output() for name in FILES})
    problems: list[str] = field(default_factory=list)
    generation: int = 0
    version: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def file(self, name: str) -> bytes | None:
        """The current bytes of served file ``name`` (None when not built or not a served file)."""
        with self.lock:
            output = self.outputs.get(name)
            return output.data if output is not None else None

    def update(self, **changes: Any) -> None:
        """Set fields of the state (``choice``, ``menu``, ``problems``, ``generation``)."""
        with self.lock:
            for key, value in changes.items():
                setattr(self, key, value)
            self.version += 1

    def set_output(self, name: str, **changes: Any) -> None:
        """Change what is known of file ``name``."""
        with self.lock:
            output = self.outputs[name]
            for key, value in changes.items():
                setattr(output, key, value)
            if changes.get("status") == "ready":
                output.ready_at = time.time()
            self.version += 1

    def snapshot(self) -> dict[str, Any]:
        """Everything the page shows, as JSON-ready data."""
        with self.lock:
            return {
                "version": self.version,
                "generation": self.generation,
                "choice": self.choice.query(),
                "problems": list(self.problems),
                "files": {
                    name: {
                        "generation": out.generation,
                        "status": out.status,
                        "seconds": round(out.seconds, 3),
                        "note": out.note,
                        "available": out.data is not None,
                        "saved_at": out.saved_at,
                        "ready_at": out.ready_at,
                    }
                    for name, out in self.outputs.items()
                },
            }
