"""Turn limit settings (defaults, a ``[limits]`` table in briefgen.toml, flags) into the one set
of limits every stage checks.

The defaults are far above what real content, templates and lists need, and
low enough that a hostile or broken input fails fast with a clear error
instead of exhausting the machine. Change them in ``briefgen.toml``::

    [limits]
    content_mb = 5          # each content file and each stakeholder list
    stakeholders = 10000    # rows in one list
    template_seconds = 20   # one template rendering
    brief_seconds = 120     # one brief in a batch, all formats
    memory_mb = 2048        # each batch worker process (one brief at a time)

or per run with ``briefgen batch --max-stakeholders/--time-limit/--memory-limit``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

from .errors import UsageError


@dataclass(frozen=True)
class Limits:
    """Every configurable limit, with its default."""

    content_mb: float = 5.0
    stakeholders: int = 10_000
    template_seconds: float = 20.0
    brief_seconds: float = 120.0
    memory_mb: int = 2048

    @property
    def content_bytes(self) -> int:
        return int(self.content_mb * 1024 * 1024)


#: The largest value each limit may be set to (beyond these a "limit" is no limit at all).
CEILINGS = {
    "content_mb": 1024,
    "stakeholders": 10_000_000,
    "template_seconds": 86_400,
    "brief_seconds": 86_400,
    "memory_mb": 1024 * 1024,
}

_current = Limits()


def current() -> Limits:
    """The limits in force in this process."""
    return _current


def configure(changes: dict[str, Any], source: str = "[limits]") -> Limits:
    """Set some limits (unknown keys and values that are not positive numbers are usage errors)."""
    global _current
    known = {f.name: f.type for f in fields(Limits)}
    checked: dict[str, Any] = {}
    for key, value in changes.items():
        name = key.replace("-", "_")
        if name not in known:
            raise UsageError(f"{source} {key}: unknown limit; known: {', '.join(sorted(known))}")
        whole = known[name] in ("int", int)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise UsageError(f"{source} {key}: give a positive number, not {value!r}")
        if value <= 0:
            raise UsageError(f"{source} {key}: give a positive number, not {value!r}")
        if whole and value != int(value):
            raise UsageError(f"{source} {key}: give a whole number, not {value!r}")
        if value > CEILINGS[name]:
            raise UsageError(f"{source} {key}: give at most {CEILINGS[name]:,}, not {value!r}")
        if name == "memory_mb" and value < 256:
            raise UsageError(f"{source} {key}: give at least 256")
        checked[name] = int(value) if whole else float(value)
    _current = replace(_current, **checked)
    return _current


def reset() -> None:
    """Back to the defaults (for tests)."""
    global _current
    _current = Limits()
