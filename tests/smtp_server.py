"""A real SMTP server for the send tests: aiosmtpd on a free 127.0.0.1 port, bounded in time.

Plain helpers, imported with ``from smtp_server import ...`` (``tests/`` is on ``sys.path``).
:class:`Recorder` is the aiosmtpd handler: it keeps every message it accepted (envelope and
bytes) and can misbehave on purpose for chosen recipients: a 5xx, a 4xx a given number of
times, a connection dropped during DATA, a DATA that blocks until the test lets it go, replies
with words of the test's choosing. :class:`Servers` starts servers (plain, STARTTLS with a
``trustme`` certificate, implicit TLS, AUTH) and stops every one of them, each within a bound.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

HOST = "127.0.0.1"
START_S = 10  # for a server to start listening
STOP_S = 10  # for a server's thread to end
BLOCK_S = 30  # the longest a blocking DATA waits for the test to let it go


@dataclass(frozen=True)
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    at: float  # time.monotonic() when its DATA was accepted

    def message(self) -> EmailMessage:
        """The message parsed; UTF-8 headers (RFC 6532) read as UTF-8, as an SMTPUTF8 server would."""
        head = self.data.split(b"\r\n\r\n", 1)[0]
        if head.isascii():
            parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        else:
            parsed = email.message_from_string(self.data.decode("utf-8"), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Recorder:
    """An aiosmtpd handler that records every accepted message; per-recipient misbehaviour.

    ``reject``: recipient -> a 5xx reply to its RCPT. ``tempfail``: recipient -> how many times
    to answer ``tempfail_reply`` (a 4xx) at ``tempfail_at`` (RCPT or DATA) before accepting.
    ``drop``: recipient -> how many times to close the connection during DATA (after the data
    arrived, before any reply; nothing stored). ``block``: a recipient whose first DATA waits
    until :attr:`release` is set (:attr:`blocked` is set while it waits), then answers
    ``block_reply`` without storing the message. ``accept_reply``: the 250 reply to DATA, or a
    function of the recipient giving it. ``mail_reply``: a refusal of every MAIL FROM.
    ``users``: login -> password for AUTH.
    """

    reject: dict[str, str] = field(default_factory=dict)
    tempfail: dict[str, int] = field(default_factory=dict)
    tempfail_at: str = "RCPT"
    tempfail_reply: str = "451 4.7.1 Greylisted, try again later"
    drop: dict[str, int] = field(default_factory=dict)
    block: str | None = None
    block_reply: str = "451 4.3.0 Interrupted, not stored"
    accept_reply: str | Callable[[str], str] = "250 2.0.0 OK queued"
    mail_reply: str | None = None  # an answer to MAIL FROM other than 250
    users: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.received: list[Received] = []
        self.auth_attempts: list[tuple[str, str, bool]] = []  # (mechanism, login, succeeded)
        self.connections = 0
        self.rcpt_seen: list[str] = []
        self.blocked = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._tempfailed: dict[str, int] = {}
        self._dropped: dict[str, int] = {}
        self._block_used = False

    # --- what the test reads -------------------------------------------------------------------

    def messages(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def to(self, address: str) -> list[Received]:
        """Every accepted message with ``address`` among its recipients."""
        return [m for m in self.messages() if address in m.rcpt_tos]

    # --- aiosmtpd hooks ----------------------------------------------------------------------

    def connected(self) -> None:
        """Count one client connection (called by the controller for each new session)."""
        with self._lock:
            self.connections += 1

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list) -> str:
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list) -> str:
        with self._lock:
            self.rcpt_seen.append(address)
        if address in self.reject:
            return self.reject[address]
        if self.tempfail_at == "RCPT" and self._take(self._tempfailed, self.tempfail, address):
            return self.tempfail_reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        recipients = tuple(envelope.rcpt_tos)
        first = recipients[0] if recipients else ""
        if self.tempfail_at == "DATA" and self._take(self._tempfailed, self.tempfail, first):
            return self.tempfail_reply
        if self._take(self._dropped, self.drop, first):
            server.transport.close()  # the client sees the connection go away before any reply
            return "250 2.0.0 never seen"
        if first == self.block and not self._block_used:
            self._block_used = True
            self.blocked.set()
            deadline = time.monotonic() + BLOCK_S
            while not self.release.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            return self.block_reply
        data = envelope.original_content or envelope.content or b""
        with self._lock:
            self.received.append(Received(envelope.mail_from, recipients, bytes(data), time.monotonic()))
        reply = self.accept_reply
        return reply(first) if callable(reply) else reply

    def _take(self, used: dict[str, int], budget: dict[str, int], address: str) -> bool:
        """True (and one use counted) while ``address`` has uses of ``budget`` left."""
        with self._lock:
            if used.get(address, 0) < budget.get(address, 0):
                used[address] = used.get(address, 0) + 1
                return True
            return False

    def authenticator(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        login = password = ""
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", "replace")
            password = auth_data.password.decode("utf-8", "replace")
        ok = bool(login) and self.users.get(login) == password
        with self._lock:
            self.auth_attempts.append((mechanism, login, ok))
        return AuthResult(success=ok, handled=False)


class _Controller(Controller):
    """An aiosmtpd controller on a port the system chooses (no race for a free port), whose stop
    is bounded in time."""

    def factory(self) -> Any:
        self.handler.connected()
        return super().factory()

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()

    def stop(self, no_assert: bool = False) -> None:
        self.loop.call_soon_threadsafe(self.cancel_tasks)
        if self._thread is not None:
            self._thread.join(STOP_S)
            if self._thread.is_alive():
                raise RuntimeError(f"the SMTP server on port {self.port} did not stop within {STOP_S} s")
            self._thread = None
        self._cleanup()


@dataclass
class Running:
    """A started server: where it listens, its handler, and the CLI flags that reach it."""

    controller: _Controller
    handler: Recorder
    security: str  # starttls | ssl | none: what the client should use
    ca_file: Path | None  # the trustme CA (PEM) for --smtp-ca, when the server speaks TLS

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def flags(self, *, trust: bool = True, security: str | None = None) -> list[str]:
        """``--smtp-host/--smtp-port/--smtp-security`` (and ``--smtp-ca`` when ``trust``), plus a short
        timeout and quick retries."""
        found = ["--smtp-host", HOST, "--smtp-port", str(self.port)]
        found += [
            "--smtp-security",
            security or self.security,
            "--smtp-timeout",
            "10",
            "--retry-wait",
            "0.05",
        ]
        if trust and self.ca_file is not None:
            found += ["--smtp-ca", str(self.ca_file)]
        return found


class Servers:
    """Starts SMTP servers for one test (certificates under ``folder``) and stops them all."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.running: list[Running] = []
        self._ca: Any = None

    def _tls(self) -> tuple[ssl.SSLContext, Path]:
        """A server context with a certificate for 127.0.0.1 and localhost, and the CA's PEM file."""
        import trustme

        if self._ca is None:
            self._ca = trustme.CA()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ca.issue_cert(HOST, "localhost").configure_cert(context)
        self.folder.mkdir(parents=True, exist_ok=True)
        pem = self.folder / "smtp-test-ca.pem"
        self._ca.cert_pem.write_to_path(str(pem))
        return context, pem

    def start(
        self,
        handler: Recorder | None = None,
        *,
        mode: str = "plain",  # plain | starttls | ssl
        auth: bool = False,
        **smtp: Any,
    ) -> Running:
        """Start a server in ``mode``; ``auth`` adds AUTH checked against ``handler.users`` (over
        TLS only, unless the mode is plain)."""
        handler = handler or Recorder()
        kwargs: dict[str, Any] = {"server_hostname": "mx.test.invalid", "ready_timeout": START_S}
        ca_file = None
        if mode == "starttls":
            context, ca_file = self._tls()
            kwargs.update(tls_context=context, require_starttls=True)
        elif mode == "ssl":
            context, ca_file = self._tls()
            kwargs["ssl_context"] = context
        elif mode != "plain":
            raise ValueError(mode)
        if auth:
            kwargs.update(authenticator=handler.authenticator, auth_require_tls=mode != "plain")
        kwargs.update(smtp)
        controller = _Controller(handler, hostname=HOST, port=0, **kwargs)
        controller.start()
        with handler._lock:
            handler.connections = 0  # the controller's own start-up probe is not a client
        security = {"plain": "none", "starttls": "starttls", "ssl": "ssl"}[mode]
        server = Running(controller, handler, security, ca_file)
        self.running.append(server)
        return server

    def stop_all(self) -> None:
        problems = []
        for server in self.running:
            server.handler.release.set()
            try:
                server.controller.stop()
            except Exception as exc:
                problems.append(str(exc))
        self.running.clear()
        assert not problems, problems


# ----- a batch to send, the command line, the journal ------------------------------------------------

SENDER = "briefs@example.org"
JOURNAL = "send-journal.jsonl"
#: (id, name, organisation, audience, email): three with an address, one without.
PEOPLE = (
    ("st-1", "Ana Novak", "Adriatic Cloud", "business", "ana@example.com"),
    ("st-2", "Elira Hoxha", "Ministry of Digital Services", "government", "elira@example.gov"),
    ("st-3", "Marko Petrovic", "Balkan Fibre", "business", "marko@example.net"),
    ("st-4", "Nina Kos", "No Mail Ltd", "business", ""),
)
ADDRESS = {row[0]: row[4] for row in PEOPLE}


def write_list(path: Path, rows: tuple[tuple[str, ...], ...] = PEOPLE) -> Path:
    """A stakeholder CSV (id, name, organisation, audience, email) at ``path``."""
    import csv

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "organisation", "audience", "email"])
        writer.writerows(rows)
    return path


def invoke(*args: str | Path) -> Any:
    """``briefgen ARGS`` in-process (Click's runner); the result has exit_code, output, stdout, stderr."""
    from click.testing import CliRunner

    from briefgen.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


def build_batch(stakeholders: Path, out: Path, *extra: str | Path) -> Path:
    """``briefgen batch LIST --format html --out OUT``; fails the test unless it succeeds."""
    result = invoke("batch", stakeholders, "--format", "html", "--out", out, *extra)
    assert result.exit_code == 0, result.output
    return out


def journal(out: Path) -> list[dict[str, Any]]:
    """Every line of the send journal in ``out``, parsed (a line that is not JSON fails the test)."""
    import json

    path = out / JOURNAL
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def states(out: Path) -> dict[str, list[str]]:
    """The journal's states per stakeholder id, in order."""
    found: dict[str, list[str]] = {}
    for record in journal(out):
        found.setdefault(record["id"], []).append(record["state"])
    return found


def briefgen_command(*args: str | Path) -> list[str]:
    """``python -m briefgen ARGS`` with this interpreter, for subprocess."""
    import sys

    return [sys.executable, "-m", "briefgen", *(str(a) for a in args)]


def kill_while_blocked(command: list[str], handler: Recorder, wait_s: float = 60) -> tuple[int, str]:
    """Run ``command``; once ``handler`` blocks in DATA, SIGKILL it, then let the handler answer.

    Returns the process's return code and standard error. Every wait is bounded and the process
    is always killed and reaped; the test fails when the send never reaches the blocking DATA."""
    import contextlib
    import subprocess

    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        reached = handler.blocked.wait(wait_s)
        process.kill()  # SIGKILL: no clean-up, no last journal line
        _, err = process.communicate(timeout=10)
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        handler.release.set()  # the blocked DATA answers with a 4xx: nothing stored
    assert reached, f"the send never reached the blocking DATA: {err.decode(errors='replace')}"
    return process.returncode, err.decode(errors="replace")
