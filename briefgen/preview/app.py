"""Turn HTTP requests into the preview's answers: the Starlette application.

Routes, and nothing else (no route maps a request path to a file): ``/`` the page (its query
sets the switchers), ``/preview.js`` and ``/preview.css`` its static parts, ``/menu.json`` what
the switchers offer, ``/events`` the server-sent events that tell the page a file changed,
``/brief.html``, ``/brief.pdf``, ``/brief.docx`` the current brief and ``/pages.pdf``
LibreOffice's pages of the Word brief. Every request's Host header must name this server as
127.0.0.1, localhost or [::1] with its port (or the ``--host`` given), so a page of another site
whose name resolves here (DNS rebinding) gets nothing. Every answer forbids sniffing, framing
by other sites and caching; the page and the HTML brief carry a strict Content-Security-Policy.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .choices import MAX_QUERY, Choice, Refused, parse
from .state import State

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; frame-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
#: The brief runs no script (the HTML writer removed them); its styles, images and fonts are inline.
BRIEF_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'; sandbox allow-same-origin allow-popups "
    "allow-popups-to-escape-sandbox"
)
COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Frame-Options": "SAMEORIGIN",
}
SERVED = {
    "brief.html": ("text/html; charset=utf-8", None),
    "brief.pdf": ("application/pdf", "inline"),
    "brief.docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "attachment"),
    "pages.pdf": ("application/pdf", "inline"),
}
STATIC = {
    "preview.js": "text/javascript; charset=utf-8",
    "preview.css": "text/css; charset=utf-8",
}
POLL_S = 0.04  # how often the event stream looks for a new state
PING_S = 15.0


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """The Host header values that name this server."""
    names = {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}
    if host not in ("127.0.0.1", "localhost", "::1"):
        names.add(f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
    return frozenset(names)


class HostCheck:
    """Refuse (403) any request whose Host header does not name this server."""

    def __init__(self, app: ASGIApp, hosts: frozenset[str]) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            found = [v for k, v in scope.get("headers", []) if k == b"host"]
            host = found[0].decode("latin-1").lower() if len(found) == 1 else ""
            if host not in self.hosts:
                response = PlainTextResponse(
                    "refused: this preview answers only to its own address\n", 403, headers=COMMON_HEADERS
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _static(name: str) -> bytes:
    return resources.files(__package__).joinpath("static", name).read_bytes()


def create(state: State, choose: Callable[[Choice], None], host: str, port: int, stopping: Any) -> ASGIApp:
    """The preview's application for ``state``; ``choose`` asks for a rebuild with a new choice."""
    page = _static("page.html")
    static = {name: _static(name) for name in STATIC}

    async def index(request: Request) -> Response:
        query = request.scope.get("query_string", b"").decode("latin-1")
        if query:
            try:
                if len(query) > MAX_QUERY:
                    raise Refused(f"the query is longer than {MAX_QUERY} characters")
                items = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
                with state.lock:
                    current, offered = state.choice, state.menu
                choice = parse(query, items, offered, current)
            except (Refused, ValueError) as exc:
                return PlainTextResponse(f"refused: {exc}\n", 400, headers=COMMON_HEADERS)
            if choice != current:
                choose(choice)
        return Response(page, media_type="text/html; charset=utf-8", headers=_csp(PAGE_CSP))

    async def asset(request: Request) -> Response:
        name = request.url.path.lstrip("/")
        return Response(static[name], media_type=STATIC[name], headers=_csp(PAGE_CSP))

    async def menu(request: Request) -> Response:
        with state.lock:
            data = state.menu.as_json()
        return Response(json.dumps(data), media_type="application/json", headers=COMMON_HEADERS)

    async def brief(request: Request) -> Response:
        name = request.url.path.lstrip("/")
        data = state.file(name)
        if data is None:
            return PlainTextResponse(f"{name} is not built (yet)\n", 503, headers=COMMON_HEADERS)
        media, disposition = SERVED[name]
        headers = _csp(BRIEF_CSP) if name == "brief.html" else dict(COMMON_HEADERS)
        if disposition:
            headers["Content-Disposition"] = f'{disposition}; filename="{name}"'
        return Response(data, media_type=media, headers=headers)

    async def events(request: Request) -> Response:
        async def stream() -> Any:
            seen = -1
            quiet = 0.0
            yield "retry: 500\n\n"
            while not stopping.is_set():
                snapshot = state.snapshot()
                if snapshot["version"] != seen:
                    seen = snapshot["version"]
                    quiet = 0.0
                    yield f"data: {json.dumps(snapshot)}\n\n"
                elif quiet > PING_S:
                    quiet = 0.0
                    yield ": ping\n\n"
                await asyncio.sleep(POLL_S)
                quiet += POLL_S

        return StreamingResponse(stream(), media_type="text/event-stream", headers=COMMON_HEADERS)

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/menu.json", menu, methods=["GET"]),
        Route("/events", events, methods=["GET"]),
        *(Route(f"/{name}", asset, methods=["GET"]) for name in STATIC),
        *(Route(f"/{name}", brief, methods=["GET"]) for name in SERVED),
    ]
    app = Starlette(routes=routes)
    return HostCheck(app, allowed_hosts(host, port))


def _csp(policy: str) -> dict[str, str]:
    return {**COMMON_HEADERS, "Content-Security-Policy": policy}
