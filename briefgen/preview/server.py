"""Turn ``briefgen preview``'s settings into a running preview: the first build, the web server
(uvicorn, in a thread), the background workers, the file watchers, and the main thread's loop
that rebuilds on each change until Ctrl+C or SIGTERM stops everything.

The rebuild runs in the main thread because the build's time limit
(:func:`briefgen.sandbox.deadline`) needs it; the server thread only reads the shared
:class:`~.state.State` and puts choices on the queue.
"""

from __future__ import annotations

import contextlib
import ipaddress
import queue
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from ..errors import UsageError
from .choices import Choice
from .rebuild import BACKGROUND, Rebuilder, Settings
from .state import State

START_S = 10.0  # the web server's start


def loopback(host: str) -> bool:
    """Whether ``host`` is this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port`` (port 0: a free one), or a usage error naming the flag."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"--host/--port: cannot listen on {host}:{port} ({exc.strerror})") from None
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def settings_from(
    ctx: click.Context,
    content: tuple[Path, ...],
    look: dict[str, Any],
    choice: Choice,
    stakeholders: Path | None,
) -> Settings:
    """The preview's settings from its flags, with briefgen.toml's ``[build]`` settings for the
    content and look flags not given on the command line (as ``build`` takes them)."""
    from click.core import ParameterSource

    from .. import config
    from .rebuild import look_from

    explicit = frozenset(
        name for name in ctx.params if ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE
    )
    path = config.find(ctx.find_root().params.get("config"))
    table = (ctx.find_root().default_map or {}).get("build", {})
    if "content" not in explicit and table.get("content"):
        content = tuple(Path(v) for v in table["content"])
    settings = Settings(
        content=content,
        look=dict(look),
        choice=choice,
        stakeholders=stakeholders,
        config=path.resolve() if path is not None else None,
        explicit=explicit,
        flag_look=dict(look),
    )
    return replace(settings, look=look_from(table, settings))


def say(text: str) -> None:
    """A line for the terminal (errors in red)."""
    for line in text.splitlines():
        click.secho(line, err=True, fg="red" if line.startswith("error:") else None)


def needs() -> None:
    """A usage error when the preview's libraries (the ``preview`` extra) are not installed."""
    import importlib.util

    missing = [
        name for name in ("starlette", "uvicorn", "watchfiles") if importlib.util.find_spec(name) is None
    ]
    if missing:
        raise UsageError(f"briefgen preview needs {', '.join(missing)}: pip install 'briefgen[preview]'")


def run(settings: Settings, host: str, port: int, open_browser: bool) -> None:
    """Run the preview until interrupted."""
    needs()
    import uvicorn

    from . import app, browser, watch
    from .background import Workers
    from .choices import Menu

    if not loopback(host):
        click.secho(
            f"warning: --host {host}: anyone who can reach this machine can read the brief",
            fg="yellow",
            err=True,
        )
    sock = bind(host, port)
    port = sock.getsockname()[1]
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    first = settings.choice or Choice(audience="")
    state = State(choice=first, menu=Menu((), (), (), ()))
    stopping = threading.Event()
    rebuilder = Rebuilder(settings, state, say)
    with tempfile.TemporaryDirectory(prefix="briefgen-preview-") as folder, _stop_on_sigterm():
        workers = Workers(tuple(BACKGROUND), Path(folder), rebuilder.answer)
        rebuilder.workers = workers
        server: Any = None
        watchers: list[threading.Thread] = []
        try:
            rebuilder.rebuild("first build")
            application = app.create(state, lambda c: events.put(("choose", c)), host, port, stopping)
            config = uvicorn.Config(
                application,
                log_level="warning",
                lifespan="off",
                timeout_graceful_shutdown=1,
                access_log=False,
            )
            server = uvicorn.Server(config)
            thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
            thread.start()
            _wait_for(lambda: server.started or not thread.is_alive(), START_S)
            shown_host = f"[{host}]" if ":" in host else host
            url = f"http://{shown_host}:{port}/"
            click.echo(f"Preview at {url} (Ctrl+C stops it)", err=False)
            watchers = watch.start(_watched(settings), lambda paths: events.put(("files", paths)), stopping)
            if open_browser:
                browser.open_page(url)
            _loop(events, rebuilder, settings)
        except KeyboardInterrupt:
            pass
        finally:
            stopping.set()
            if server is not None:
                server.should_exit = True
            workers.stop()
            for watcher in watchers:
                watcher.join(1)
            sock.close()
            click.echo("preview stopped", err=True)


def _wait_for(ready: Callable[[], bool], seconds: float) -> None:
    end = time.monotonic() + seconds
    while not ready() and time.monotonic() < end:
        time.sleep(0.02)


@contextlib.contextmanager
def _stop_on_sigterm() -> Any:
    """SIGTERM ends the preview as Ctrl+C does (the workers and LibreOffice are stopped)."""

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _watched(settings: Settings) -> list[Path | None]:
    """Everything a rebuild reads: content, template folders (the built-in ones too), theme,
    reference document, stakeholder list and briefgen.toml."""
    from ..render import template_dirs

    look = settings.look
    return [
        *settings.content,
        *template_dirs(tuple(look.get("templates") or ())),
        look.get("theme"),
        look.get("reference_docx"),
        settings.stakeholders,
        settings.config,
    ]


def _loop(events: queue.Queue[tuple[str, Any]], rebuilder: Rebuilder, settings: Settings) -> None:
    """Rebuild on each batch of events (events that arrive together make one rebuild)."""
    while True:
        try:
            kind, value = events.get(timeout=0.5)
        except queue.Empty:
            continue
        seen = time.time()
        batch = [(kind, value)]
        with contextlib.suppress(queue.Empty):
            while True:
                batch.append(events.get_nowait())
        files = [path for kind, paths in batch if kind == "files" for path in paths]
        choices = [value for kind, value in batch if kind == "choose"]
        if choices:
            rebuilder.state.update(choice=choices[-1])
        if files and settings.config is not None and any(p.name == settings.config.name for p in files):
            rebuilder.reload_config()
        reason = f"changed: {', '.join(sorted({p.name for p in files}))}" if files else "switched"
        rebuilder.rebuild(reason, seen)
