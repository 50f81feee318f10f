"""Turn a batch's tasks into outcomes (files already written) on the executor the request names.

Two executors share one interface, :func:`execute`: this machine's pool of worker processes
(:mod:`.pool`, the default) and a Dask cluster (:mod:`.cluster`, when ``--scheduler``,
``[batch] scheduler`` in briefgen.toml or ``BRIEFGEN_SCHEDULER`` gives a scheduler's address).
Either way the outcomes come back in the order they finish, every file they list is on disk
(written atomically), and leaving the generator early stops the work it started.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from ..errors import UsageError
from .plan import Outcome, Task
from .worker import WorkerSettings

#: ``tcp://HOST:PORT`` or ``tls://HOST:PORT``: a host name, an IPv4 address or a bracketed IPv6 one.
ADDRESS_RE = re.compile(
    r"(tcp|tls)://(\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})):(\d{1,5})"
)

Say = Callable[[str], None]


def check_address(text: str, flag: str = "--scheduler") -> str:
    """``text`` when it is a usable scheduler address; otherwise a one-line usage error naming ``flag``."""
    from ..errors import shown

    found = ADDRESS_RE.fullmatch(text.strip()) if isinstance(text, str) else None
    if found is None or not 0 < int(found.group(3)) < 65536:
        raise UsageError(f"{flag}: {shown(str(text))} is not a scheduler address; give tcp://HOST:PORT")
    return text.strip()


def check_cluster(text: str) -> str:
    """The checked address, once the ``cluster`` extra (Dask distributed) is known to be installed."""
    import importlib.util

    address = check_address(text)
    if importlib.util.find_spec("distributed") is None:
        raise UsageError("--scheduler: Dask distributed is not installed; pip install 'briefgen[cluster]'")
    return address


def execute(
    tasks: list[Task], settings: WorkerSettings, jobs: int, say: Say | None = None
) -> Iterator[Outcome]:
    """Yield each task's outcome as it finishes, on the cluster the request names or on this machine."""
    if settings.request.scheduler:
        from .cluster import execute as on_cluster

        return on_cluster(tasks, settings, say or (lambda line: None))
    from .pool import execute as on_this_machine

    return on_this_machine(tasks, settings, jobs)
