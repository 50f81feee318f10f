"""Turn template folders into a Jinja environment that user templates cannot escape.

On top of Jinja's sandbox (no ``__class__``, ``__globals__``, ``os`` or
``|attr`` tricks):

* templates are read only from the template folders: a path that climbs out or
  a symbolic link that points outside is not found;
* ``builtin/NAME`` always names a built-in template, so a user template can
  extend the built-in one it replaces;
* repetition is bounded: ``'x' * n``, ``[..] * n`` and ``**`` may not build
  values beyond :data:`MAX_VALUE`;
* :func:`bounded_render` stops a template that runs longer than its time limit
  or writes more than :data:`MAX_OUTPUT` characters.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader, PrefixLoader, TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment, SecurityError

MAX_VALUE = 1_000_000
MAX_OUTPUT = 20_000_000
TIME_LIMIT_S = 20.0


class LimitError(SecurityError):
    """A template went past a time or size limit."""


class FolderLoader(FileSystemLoader):
    """Load templates from folders, refusing files whose real path lies outside them."""

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        real = Path(os.path.realpath(filename))
        roots = [Path(os.path.realpath(p)) for p in self.searchpath]
        if not any(real.is_relative_to(root) for root in roots):
            from .log import warn

            warn("template %s points outside the template folders; not read", template)
            raise TemplateNotFound(f"{template} (it points outside the template folders)")
        return source, filename, uptodate


def loader(search_path: tuple[Path, ...], builtin: Path) -> BaseLoader:
    """User folders first, then built-ins; ``builtin/...`` reaches the built-ins directly."""
    return ChoiceLoader(
        [
            PrefixLoader({"builtin": FolderLoader(str(builtin))}),
            FolderLoader([str(p) for p in search_path]),
        ]
    )


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple) else 0


class BriefSandbox(SandboxedEnvironment):
    """Jinja's sandbox with bounded repetition and powers."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if _size(seq) and isinstance(count, int) and _size(seq) * count > MAX_VALUE:
                    raise LimitError(f"repetition would build {_size(seq) * count:,} items")
        if operator == "**" and isinstance(right, int | float) and abs(right) > 100:
            raise LimitError(f"exponent {right} is too large")
        return super().call_binop(context, operator, left, right)


@contextlib.contextmanager
def deadline(seconds: float, message: str) -> Iterator[None]:
    """Raise LimitError(``message``) in the main thread when ``seconds`` pass.

    Deadlines nest: an inner one never outlives an enclosing one, and the
    enclosing one is re-armed with its remaining time afterwards. Outside the
    main thread (or without ``setitimer``) there is no limit.
    """
    usable = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    if not usable or seconds <= 0:
        yield
        return
    outer, _ = signal.getitimer(signal.ITIMER_REAL)
    if outer and outer <= seconds:  # the enclosing deadline comes first; let it fire
        yield
        return
    started = time.monotonic()

    def expire(signum: int, frame: Any) -> None:
        raise LimitError(message)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), 0.001))


def bounded_render(template: Any, time_limit: float = TIME_LIMIT_S, **context: Any) -> str:
    """Render ``template`` with a time limit and a cap on the output size."""
    parts: list[str] = []
    total = 0
    with deadline(time_limit, f"rendering took longer than {time_limit:g} s"):
        for chunk in template.generate(**context):
            total += len(chunk)
            if total > MAX_OUTPUT:
                raise LimitError(f"the template wrote more than {MAX_OUTPUT:,} characters")
            parts.append(chunk)
    return "".join(parts)
