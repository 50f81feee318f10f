"""Turn a message and a recipient into an SMTP transaction, and the server's answer into a verdict:
sent, failed for good, worth retrying, uncertain, or a reason to stop the whole run.

The SMTP client is the standard library's :mod:`smtplib`; TLS is :mod:`ssl`'s default context
(certificates and host names verified; ``--smtp-ca`` adds a CA bundle, nothing turns checking
off). ``starttls`` upgrades a plain connection and refuses a server that does not offer it;
``ssl`` speaks TLS from the first byte; ``none`` sends in clear and refuses to log in unless the
server is on this machine. The server's replies are untrusted: a reply is read to at most
:data:`MAX_REPLY_LINES` lines of smtplib's line limit, and kept only through
:func:`briefgen.send.journal.shown_reply`, with the password, in any form, masked.

Verdicts, per RFC 5321: a 2xx after the message's final dot is *sent*; a 5xx to the recipient or
the data fails that message alone (:class:`Refused`); a 4xx, or a connection that drops before
the final dot went out, means the server did not take the message and it is retried
(:class:`Retry`). A connection that drops or times out *after* the final dot leaves the message
*uncertain* (:class:`Uncertain`): the server may have taken it, so it is not sent again (RFC 1047's
duplicate). The DATA phase is therefore driven here, with smtplib's primitives, so the two cases
can be told apart. A refused login, a failed TLS handshake, a missing STARTTLS, no usable login
mechanism, a refused sender, or a server that cannot be reached after the retries would fail every
message alike: they stop the run at once (:class:`Stop`).
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import re
import smtplib
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import BriefgenError, UsageError
from .journal import shown_reply

Security = Literal["starttls", "ssl", "none"]
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
#: Lines of one reply read at most (a hostile server could send continuation lines forever).
MAX_REPLY_LINES = 100
#: Seconds to wait for the reply to the final dot (RFC 5321 4.5.3.2.6 suggests ten minutes).
FINAL_REPLY_S = 600.0


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
    """A failure that every message would meet (login, TLS, sender, no server): the run stops."""


class Retry(Exception):
    """The server did not take the message this time (4xx, or the connection went away before the
    final dot); ``unreachable`` when no session could be opened at all."""

    def __init__(self, code: int | None, text: str, unreachable: bool = False) -> None:
        super().__init__(text)
        self.code, self.text, self.unreachable = code, text, unreachable


class Refused(Exception):
    """The server refused this message for good (5xx to the recipient or the data)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code, self.text = code, text


class Uncertain(Exception):
    """The final dot went out but no reply came: the server may or may not have the message."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class _Bounded:
    """smtplib's reply reader, with a cap on the lines of one reply."""

    def getreply(self: Any) -> tuple[int, bytes]:
        lines: list[bytes] = []
        code = -1
        while True:
            if self.file is None:
                self.file = self.sock.makefile("rb")
            try:
                line = self.file.readline(smtplib._MAXLINE + 1)
            except OSError as exc:
                self.close()
                raise smtplib.SMTPServerDisconnected(f"connection lost: {exc}") from None
            if not line:
                self.close()
                raise smtplib.SMTPServerDisconnected("connection closed")
            if len(line) > smtplib._MAXLINE or len(lines) >= MAX_REPLY_LINES:
                self.close()
                raise smtplib.SMTPServerDisconnected("reply too long")
            lines.append(line[4:].strip(b" \t\r\n"))
            try:
                code = int(line[:3])
            except ValueError:
                code = -1
                break
            if line[3:4] != b"-":
                break
        return code, b"\n".join(lines)


class _SMTP(_Bounded, smtplib.SMTP):
    pass


class _SMTP_SSL(_Bounded, smtplib.SMTP_SSL):
    pass


#: The largest CA bundle read for ``--smtp-ca`` (the system's whole bundle is about 200 KB).
MAX_CA_BYTES = 4 * 1024 * 1024


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """The default TLS context (certificates and host names verified), trusting also the PEM
    certificates of ``ca_file``, read through the opener (a FIFO or device is refused, not read)."""
    from .. import opener

    context = ssl.create_default_context()
    if ca_file is not None:
        try:
            text = opener.read(ca_file, MAX_CA_BYTES, "--smtp-ca").decode("ascii")
            context.load_verify_locations(cadata=text)
        except opener.InputRefused as exc:
            raise UsageError(exc.message) from None
        except (UnicodeDecodeError, ssl.SSLError, ValueError) as exc:
            raise UsageError(f"--smtp-ca: {ca_file}: not PEM certificates ({type(exc).__name__})") from None
    return context


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check(server: Server) -> None:
    """Refuse settings that would send a password in clear to another machine, or that smtplib
    cannot send (it writes the login in ASCII)."""
    if server.security == "none" and server.user and not _loopback(server.host):
        raise UsageError(
            "--smtp-security none with --smtp-user would send the password in clear; "
            "use starttls or ssl (a login without TLS is allowed only on this machine)"
        )
    if not (server.user or "").isascii() or not (server.password or "").isascii():
        raise UsageError(
            "--smtp-user and BRIEFGEN_SMTP_PASSWORD: the SMTP login is sent in ASCII; "
            "a name or password with other characters cannot be used"
        )


class Connection:
    """One SMTP session, opened on first use and again after the server went away."""

    def __init__(self, server: Server) -> None:
        check(server)
        self.server = server
        self.smtp: smtplib.SMTP | None = None
        self.tls = tls_context(server.ca_file)
        secret = server.password or ""
        user = server.user or ""
        forms = [secret, *(base64.b64encode(s.encode()).decode() for s in (secret, f"\0{user}\0{secret}"))]
        self._secrets = [s for s in forms if len(s) >= 3]

    def words(self, text: str | bytes) -> str:
        """A server's words as stored and shown: one safe line, the password masked in any form."""
        shown = shown_reply(text)
        for secret in self._secrets:
            shown = shown.replace(secret, "***")
        return shown

    def _ehlo(self, smtp: smtplib.SMTP) -> None:
        code, text = smtp.ehlo()
        if code == 250:
            return
        if 400 <= code < 500:
            raise smtplib.SMTPResponseException(code, text)
        raise Stop(f"SMTP server {self.server.address} refused EHLO: {code} {self.words(text)}")

    def open(self) -> smtplib.SMTP:
        if self.smtp is not None:
            return self.smtp
        server = self.server
        where = f"SMTP server {server.address}"
        port = server.port or DEFAULT_PORTS[server.security]
        try:
            if server.security == "ssl":
                smtp: smtplib.SMTP = _SMTP_SSL(server.host, port, timeout=server.timeout, context=self.tls)
            else:
                smtp = _SMTP(server.host, port, timeout=server.timeout)
            try:
                self._ehlo(smtp)
                if server.security == "starttls":
                    if not smtp.has_extn("starttls"):
                        raise Stop(
                            f"{where} does not offer STARTTLS; nothing sent in clear "
                            "(use --smtp-security ssl, or none only for a server on this machine)"
                        )
                    smtp.starttls(context=self.tls)
                    self._ehlo(smtp)
                if server.user:
                    smtp.login(server.user, server.password or "")
            except BaseException:
                with contextlib.suppress(Exception):
                    smtp.close()
                raise
        except smtplib.SMTPAuthenticationError as exc:
            if 400 <= exc.smtp_code < 500:
                raise Retry(exc.smtp_code, self.words(exc.smtp_error)) from None
            refusal = f"{exc.smtp_code} {self.words(exc.smtp_error)}"
            raise Stop(f"{where} refused the login of {server.user!r}: {refusal}") from None
        except (ssl.SSLError, ssl.CertificateError) as exc:
            raise Stop(f"TLS with {where} failed: {self.words(str(exc))}") from None
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise Retry(exc.smtp_code, self.words(exc.smtp_error), unreachable=True) from None
            refusal = f"{exc.smtp_code} {self.words(exc.smtp_error)}"
            raise Stop(f"{where} refused the session: {refusal}") from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            reason = self.words(str(exc) or type(exc).__name__)
            raise Retry(None, f"cannot reach {server.address}: {reason}", unreachable=True) from None
        except smtplib.SMTPException as exc:  # no usable login mechanism, STARTTLS refused...
            raise Stop(f"{where}: {self.words(str(exc))}") from None
        except (UnicodeError, ValueError) as exc:
            raise Stop(f"{where}: the session could not be set up ({type(exc).__name__})") from None
        self.smtp = smtp
        return smtp

    def send(self, sender: str, recipient: str, data: bytes, utf8: bool) -> tuple[int, str]:
        """Send ``data`` to ``recipient``; the server's (code, words) when it took the message.

        Raises :class:`Retry`, :class:`Refused`, :class:`Uncertain` or :class:`Stop`."""
        smtp = self.open()
        try:
            options = []
            if utf8:
                if not smtp.has_extn("smtputf8"):
                    raise Refused(553, "the server does not take internationalised addresses (no SMTPUTF8)")
                options = ["SMTPUTF8", "BODY=8BITMIME"]
            code, text = smtp.mail(sender, options)
            if code >= 400:
                self._reset()
                if code < 500:
                    raise Retry(code, self.words(text))
                refusal = f"{code} {self.words(text)}"
                raise Stop(f"SMTP server {self.server.address} refused the sender {sender!r}: {refusal}")
            code, text = smtp.rcpt(recipient)
            if code not in (250, 251):
                self._reset()
                if 400 <= code < 500:
                    raise Retry(code, self.words(text))
                raise Refused(code, self.words(text))
            smtp.putcmd("data")
            code, text = smtp.getreply()
            if code != 354:
                self._reset()
                if 400 <= code < 500:
                    raise Retry(code, self.words(text))
                raise Refused(code, self.words(text))
            body = re.sub(rb"(?m)^\.", b"..", data)
            if not body.endswith(b"\r\n"):
                body += b"\r\n"
            smtp.send(body + b".\r\n")
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.drop()  # the final dot did not go out: the server has nothing to deliver
            raise Retry(None, f"connection lost: {self.words(str(exc) or type(exc).__name__)}") from None
        try:
            if smtp.sock is not None:
                smtp.sock.settimeout(max(self.server.timeout, FINAL_REPLY_S))
            code, text = smtp.getreply()
            if smtp.sock is not None:
                smtp.sock.settimeout(self.server.timeout)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.drop()
            reason = self.words(str(exc) or type(exc).__name__)
            raise Uncertain(f"no reply after the message was sent ({reason})") from None
        if 200 <= code < 300:
            return code, self.words(text)
        self._reset()
        if 400 <= code < 500:
            raise Retry(code, self.words(text))
        raise Refused(code, self.words(text))

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


def backoff(wait: float, attempt: int) -> float:
    """Seconds before try ``attempt`` (1, 2, ...): ``wait`` doubled each time, at most five minutes."""
    return min(300.0, wait * 2 ** (attempt - 1))


def pause(seconds: float) -> None:
    time.sleep(max(0.0, seconds))
