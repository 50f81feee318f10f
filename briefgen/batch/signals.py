"""Turn SIGTERM and SIGINT during a batch into a clean stop: :class:`Interrupted`, raised once.

The first signal in :func:`stop_on_signals` raises :class:`Interrupted` (not an ``Exception``,
so no stakeholder's ``except Exception`` swallows it); later ones are ignored so the clean-up
and the closing message run to their end. :func:`signals_deferred` holds both back while
clean-up that must finish runs.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .plan import BatchResult


class Interrupted(BaseException):
    """SIGTERM or SIGINT reached the main process; the batch stopped cleanly.

    Not an :class:`Exception`, so no stakeholder's ``except Exception`` swallows it.
    ``result`` holds what finished (None when the signal came before any brief was built).
    Once raised, SIGTERM and SIGINT stay ignored in this process (it is meant to exit); a caller
    that goes on instead restores its own handlers.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.result: BatchResult | None = None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def message(self) -> str:
        result = self.result
        if result is None or not result.outcomes:
            return f"stopped by {self.name} before any brief was built"
        done = len(result.outcomes)
        return (
            f"stopped by {self.name}: {done} of {result.total} stakeholders done and in the manifest; "
            "a re-run builds the rest"
        )


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn the first SIGTERM or SIGINT in the block into :class:`Interrupted`; from then on both are
    ignored (to the end of the process, which is on its way out), so the clean-up and the closing
    message run to their end. Outside the main thread, signals are left alone."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired: list[int] = []
    numbers = (signal.SIGTERM, signal.SIGINT)

    def stop(signum: int, frame: Any) -> None:
        if not fired:
            fired.append(signum)
            for number in numbers:
                signal.signal(number, signal.SIG_IGN)
            raise Interrupted(signum)

    previous = {number: signal.signal(number, stop) for number in numbers}
    try:
        yield
    finally:
        if not fired:
            for number, handler in previous.items():
                signal.signal(number, handler)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGTERM and SIGINT back while the block runs (clean-up that must finish); one that
    arrived meanwhile is delivered when the block ends."""
    held = {signal.SIGTERM, signal.SIGINT}
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)
