"""Turn saved files into change events: which paths the preview watches (the content, the
template folders, the theme, the reference document, briefgen.toml, the stakeholder list) and
the :mod:`watchfiles` threads that report their changes.

Folders are watched with everything below them; a single file is watched through its folder
(editors often save by replacing the file), reporting that file only. Editor swap and backup
files, ``.git`` and caches are ignored (watchfiles' default filter).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path

#: Milliseconds watchfiles waits for more changes before it reports (short: the HTML target is 0.5 s).
STEP_MS = 30
DEBOUNCE_MS = 400


def targets(paths: Iterable[Path | None]) -> tuple[list[Path], list[Path]]:
    """The folders to watch whole and the single files to watch, resolved, without repeats."""
    folders: dict[Path, None] = {}
    files: dict[Path, None] = {}
    for path in paths:
        if path is None:
            continue
        path = Path(path).resolve()
        if path.is_dir():
            folders[path] = None
        elif path.exists():
            files[path] = None
    return list(folders), [f for f in files if not any(f.is_relative_to(d) for d in folders)]


def start(
    paths: Iterable[Path | None], changed: Callable[[list[Path]], None], stop: threading.Event
) -> list[threading.Thread]:
    """Watch ``paths`` until ``stop`` is set, calling ``changed`` with the paths of each batch."""
    folders, files = targets(paths)
    threads = []
    if folders:
        threads.append(_thread(folders, True, None, changed, stop))
    if files:
        wanted = {str(f) for f in files}
        threads.append(_thread(sorted({f.parent for f in files}), False, wanted, changed, stop))
    for thread in threads:
        thread.start()
    return threads


def _thread(
    roots: list[Path],
    recursive: bool,
    only: set[str] | None,
    changed: Callable[[list[Path]], None],
    stop: threading.Event,
) -> threading.Thread:
    from watchfiles import DefaultFilter, watch

    default = DefaultFilter()

    def keep(change: object, path: str) -> bool:
        return (only is None or path in only) and default(change, path)  # type: ignore[arg-type]

    def run() -> None:
        for batch in watch(
            *roots,
            watch_filter=keep,
            recursive=recursive,
            step=STEP_MS,
            debounce=DEBOUNCE_MS,
            stop_event=stop,
            raise_interrupt=False,
        ):
            changed(sorted(Path(path) for _change, path in batch))

    return threading.Thread(target=run, name="preview-watch", daemon=True)
