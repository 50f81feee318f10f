"""Turn the preview's address into an open browser tab (unless ``--no-open``), without holding up
the preview: Python's :mod:`webbrowser` runs in a thread of its own."""

from __future__ import annotations

import threading


def open_page(url: str) -> None:
    """Open ``url`` in the user's browser; a machine without one just shows the address."""

    def run() -> None:
        import contextlib
        import webbrowser

        with contextlib.suppress(Exception):  # no browser, no display: the address is printed anyway
            webbrowser.open(url, new=2)

    threading.Thread(target=run, name="preview-browser", daemon=True).start()
