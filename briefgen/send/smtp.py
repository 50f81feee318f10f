"""Turn a message and a recipient into an SMTP transaction, and the server's answer into a verdict:
sent, failed for good, worth retrying, or a reason to stop the whole run.

The SMTP client is the standard library's :mod:`smtplib`; TLS is :mod:`ssl`'s default context
(certificates and host names verified; ``--smtp-ca`` adds a CA bundle, nothing turns checking
off). ``starttls`` upgrades a plain connection and refuses a server that does not offer it;
``ssl`` speaks TLS from the first byte; ``none`` sends in clear and refuses to log in unless the
server is on this machine. The server's replies are untrusted text: they are kept only through
:func:`briefgen.send.journal.shown_reply`.

Verdicts, per RFC 5321: a 2xx after the message's data is *sent*; a 5xx to the recipient or the
data fails that message alone (*failed*); a 4xx, or a connection that drops or times out, means
the server did not take the message and it is *retried* (with backoff, a bounded number of
times); a refused login, a failed TLS handshake, a missing STARTTLS or a refused sender would
fail every message alike, so they *stop* the run at once.
"""

from __future__ import annotations

import contextlib
import ipaddress
import smtplib
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..errors import BriefgenError, UsageError
from .journal import shown_reply

Security = Literal["starttls", "ssl", "none"]
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


@dataclass(frozen=True)
class Server:
    """Where and how to send: host, port, security, login and trust."""

    host: str
    port: int | None = None
    security: Security = "starttls"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    timeout: float = 60.0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port or DEFAULT_PORTS[self.security]}"


class Stop(BriefgenError):
    """A failure that every message would meet (login, TLS, sender): the run stops at once."""


class Retry(Exception):
    """The server did not take the message this time (4xx, or the connection went away)."""

    def __init__(self, code: int | None, text: str) -> None:
        super().__init__(text)
        self.code, self.text = code, text


class Refused(Exception):
    """The server refused this message for good (5xx to the recipient or the data)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code, self.text = code, text


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check(server: Server) -> None:
    """Refuse settings that would send a password in clear to another machine."""
    if server.security == "none" and server.user and not _loopback(server.host):
        raise UsageError(
            "--smtp-security none with --smtp-user would send the password in clear; "
            "use starttls or ssl (a login without TLS is allowed only on this machine)"
        )


class Connection:
    """One SMTP session, opened on first use and again after the server went away."""

    def __init__(self, server: Server) -> None:
        check(server)
        self.server = server
        self.smtp: smtplib.SMTP | None = None

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.server.ca_file is not None:
            context.load_verify_locations(cafile=str(self.server.ca_file))
        return context

    def open(self) -> smtplib.SMTP:
        if self.smtp is not None:
            return self.smtp
        server = self.server
        port = server.port or DEFAULT_PORTS[server.security]
        try:
            if server.security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    server.host, port, timeout=server.timeout, context=self._context()
                )
            else:
                smtp = smtplib.SMTP(server.host, port, timeout=server.timeout)
            try:
                smtp.ehlo()
                if server.security == "starttls":
                    if not smtp.has_extn("starttls"):
                        raise Stop(
                            f"SMTP server {server.address} does not offer STARTTLS; nothing sent in clear "
                            "(use --smtp-security ssl, or none only for a server on this machine)"
                        )
                    smtp.starttls(context=self._context())
                    smtp.ehlo()
                if server.user:
                    smtp.login(server.user, server.password or "")
            except BaseException:
                with contextlib.suppress(Exception):
                    smtp.close()
                raise
        except smtplib.SMTPAuthenticationError as exc:
            raise Stop(
                f"SMTP server {server.address} refused the login of {server.user!r}: "
                f"{exc.smtp_code} {shown_reply(exc.smtp_error)}"
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise Stop(f"SMTP server {server.address}: {shown_reply(str(exc))}") from None
        except (ssl.SSLError, ssl.CertificateError) as exc:
            raise Stop(f"TLS with SMTP server {server.address} failed: {shown_reply(str(exc))}") from None
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise Retry(exc.smtp_code, shown_reply(exc.smtp_error)) from None
            words = shown_reply(exc.smtp_error)
            raise Stop(f"SMTP server {server.address} refused the session: {exc.smtp_code} {words}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise Retry(
                None, f"cannot reach {server.address}: {shown_reply(str(exc) or type(exc).__name__)}"
            ) from None
        self.smtp = smtp
        return smtp

    def send(self, sender: str, recipient: str, data: bytes, utf8: bool) -> tuple[int, str]:
        """Send ``data`` to ``recipient``; the server's (code, words) when it took the message.

        Raises :class:`Retry`, :class:`Refused` or :class:`Stop`."""
        smtp = self.open()
        try:
            options = []
            if utf8:
                if not smtp.has_extn("smtputf8"):
                    raise Refused(
                        553, "the server does not take internationalised addresses (no SMTPUTF8); not sent"
                    )
                options = ["SMTPUTF8", "BODY=8BITMIME"]
            elif smtp.has_extn("8bitmime"):
                options = ["BODY=8BITMIME"]
            code, text = smtp.mail(sender, options)
            if code >= 400:
                self._reset()
                if code < 500:
                    raise Retry(code, shown_reply(text))
                where = f"SMTP server {self.server.address}"
                raise Stop(f"{where} refused the sender {sender!r}: {code} {shown_reply(text)}")
            code, text = smtp.rcpt(recipient)
            if code not in (250, 251):
                self._reset()
                if 400 <= code < 500:
                    raise Retry(code, shown_reply(text))
                raise Refused(code, shown_reply(text))
            code, text = smtp.data(data)
        except smtplib.SMTPDataError as exc:
            self._reset()
            if 400 <= exc.smtp_code < 500:
                raise Retry(exc.smtp_code, shown_reply(exc.smtp_error)) from None
            raise Refused(exc.smtp_code, shown_reply(exc.smtp_error)) from None
        except (TimeoutError, smtplib.SMTPServerDisconnected, OSError) as exc:
            self.drop()
            raise Retry(None, f"connection lost: {shown_reply(str(exc) or type(exc).__name__)}") from None
        if 200 <= code < 300:
            return code, shown_reply(text)
        self._reset()
        if 400 <= code < 500:
            raise Retry(code, shown_reply(text))
        raise Refused(code, shown_reply(text))

    def _reset(self) -> None:
        """Clear a failed transaction so the session can carry the next message."""
        if self.smtp is not None:
            try:
                self.smtp.rset()
            except (smtplib.SMTPException, OSError):
                self.drop()

    def drop(self) -> None:
        """Forget the session (the next message opens a new one)."""
        if self.smtp is not None:
            with contextlib.suppress(Exception):
                self.smtp.close()
        self.smtp = None

    def close(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(Exception):
                self.smtp.quit()
        self.drop()
