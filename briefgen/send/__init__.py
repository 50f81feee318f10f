"""Turn a finished batch into e-mail actually sent: each stakeholder's briefs, once, through SMTP,
with a journal that survives a crash.

``briefgen send OUT`` reads the batch manifest in OUT (:mod:`.letters`), decides from the send
journal (:mod:`.journal`) what still has to go, checks every message before the first one goes
out (addresses, one-line headers, the e-mail template, attachments read back with their sha256,
the size limit), then sends through one SMTP session (:mod:`.smtp`), writing each step to the
journal before the next. At most once by default: a message left ``sending`` by a crash is
*uncertain* and is sent again only with ``resend_uncertain``; a brief rebuilt since it was sent
is a new version and goes again only with ``resend_changed``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import BriefgenError, UsageError
from .journal import Record
from .letters import Letter
from .smtp import Server

#: Default cap on one message's size as sent (briefs are a few hundred kilobytes).
MAX_MESSAGE_MB = 10.0


@dataclass(frozen=True)
class SendRequest:
    """Everything ``briefgen send`` was asked to do."""

    out: Path
    server: Server | None  # None: nothing is sent (dry run, status)
    sender: str | None = None
    templates: tuple[Path, ...] = ()
    only: tuple[str, ...] = ()
    limit: int | None = None
    rate_per_minute: float | None = None
    resend_uncertain: bool = False
    resend_changed: bool = False
    dry_run: bool = False
    max_message_mb: float = MAX_MESSAGE_MB
    retries: int = 3
    retry_wait: float = 2.0  # seconds before the first retry; doubled for each next one
    wait: bool = True  # False: refuse at once when another run holds the output folder


@dataclass
class SendResult:
    """What a send did, letter by letter, and what it left alone and why."""

    sent: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (id, code and server's words)
    already: list[str] = field(default_factory=list)
    uncertain: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    no_address: list[str] = field(default_factory=list)
    not_built: list[str] = field(default_factory=list)
    planned: list[Letter] = field(default_factory=list)  # what is (or, in a dry run, would be) sent
    sizes: dict[str, int] = field(default_factory=dict)  # message bytes per id
    stopped: str | None = None
    seconds: float = 0.0


Progress = Callable[[str, str, str], None]  # (id, state, detail)


def request_from_flags(
    out: Path,
    sender: str | None,
    templates: tuple[Path, ...],
    flags: dict[str, Any],
    password: str | None,
    **more: Any,
) -> SendRequest:
    """A request from the SMTP options of the command line (or ``[send]``), as Click gives them."""
    server = None
    if flags.get("smtp_host"):
        server = Server(
            host=flags["smtp_host"],
            port=flags.get("smtp_port"),
            security=flags.get("smtp_security") or "starttls",
            user=flags.get("smtp_user"),
            password=password,
            ca_file=flags.get("smtp_ca"),
            timeout=flags.get("smtp_timeout") or 60.0,
        )

    def given(key: str, default: Any) -> Any:
        return flags[key] if flags.get(key) is not None else default

    return SendRequest(
        out=out,
        server=server,
        sender=sender,
        templates=tuple(templates),
        rate_per_minute=flags.get("rate"),
        max_message_mb=given("max_message_mb", MAX_MESSAGE_MB),
        retries=given("retries", 3),
        retry_wait=given("retry_wait", 2.0),
        **more,
    )


def _standing(letter: Letter, history: dict[str, list[Record]]) -> str:
    """What the journal says of ``letter``: sent, changed (an earlier version was sent), uncertain
    (left ``sending``), failed (its last try failed) or due (never tried)."""
    past = history.get(letter.id, [])
    same = [r for r in past if r.version == letter.version]
    if any(r.state == "sent" for r in same):
        return "sent"
    if any(r.state == "sent" for r in past):
        return "changed"
    if same and same[-1].state == "sending":
        return "uncertain"
    return "failed" if same else "due"


def _history(records: list[Record]) -> dict[str, list[Record]]:
    history: dict[str, list[Record]] = {}
    for record in records:
        history.setdefault(record.id, []).append(record)
    return history


def _choose(
    letters: list[Letter], records: list[Record], request: SendRequest, result: SendResult
) -> list[Letter]:
    """The letters to send now, by what the journal says of each."""
    history = _history(records)
    chosen = []
    for letter in letters:
        standing = _standing(letter, history)
        if standing == "sent":
            result.already.append(letter.id)
        elif standing == "changed" and not request.resend_changed:
            result.changed.append(letter.id)
        elif standing == "uncertain" and not request.resend_uncertain:
            result.uncertain.append(letter.id)
        else:
            chosen.append(letter)
    return chosen


def _utf8(letter: Letter, sender: str) -> bool:
    return not letter.to.isascii() or not sender.isascii()


def _envelope_sender(sender: str | None) -> str:
    from email.utils import parseaddr

    return parseaddr(sender or "")[1]


def run(request: SendRequest, progress: Progress | None = None) -> SendResult:
    """Send what is due; raise :class:`BriefgenError` (nothing sent) when a check fails before the
    first message, and record a stop (login, TLS, sender refused) in ``result.stopped``."""
    from ..output import folder_lock

    if not Path(request.out).is_dir():
        raise UsageError(f"{request.out}: no such output folder")
    with folder_lock(request.out, wait=request.wait):
        return _run(request, progress)


def _run(request: SendRequest, progress: Progress | None) -> SendResult:
    from . import journal, letters

    started = time.perf_counter()
    sender = _envelope_sender(request.sender)
    if not request.dry_run:
        if request.server is None:
            raise UsageError("--smtp-host: give the SMTP server to send through (or --dry-run)")
        if not sender:
            raise UsageError("--from: give the sender's address")
    if sender:
        from ..stakeholders.addresses import address_problem

        reason = address_problem(sender)
        if reason:
            raise UsageError(f"--from: {sender!r} is not an e-mail address ({reason})")
    reading = letters.read(request.out, request.sender)
    result = SendResult(no_address=reading.no_address, not_built=reading.not_built)
    pool = reading.letters
    if request.only:
        known = {letter.id for letter in pool} | set(reading.no_address) | set(reading.not_built)
        unknown = [ident for ident in request.only if ident not in known]
        if unknown:
            raise UsageError(f"--only: no stakeholder {unknown[0]!r} in the batch manifest")
        pool = [letter for letter in pool if letter.id in request.only]
        result.no_address = [i for i in result.no_address if i in request.only]
        result.not_built = [i for i in result.not_built if i in request.only]
    records, bad = journal.read(request.out)
    if bad:
        from ..log import warn

        warn("%s: %d line(s) of the send journal are not records briefgen writes; skipped", request.out, bad)
    chosen = _choose(pool, records, request, result)
    if request.limit is not None:
        chosen = chosen[: request.limit]
    problems = [p for p in reading.problems if not request.only or p.split(":", 1)[0] in request.only]
    messages = _check(chosen, request, sender, problems, result)
    if problems:
        shown = "\n".join(problems)
        raise BriefgenError(f"{len(problems)} problem(s); nothing sent:\n{shown}")
    result.planned = chosen
    if request.dry_run or not chosen:
        result.seconds = time.perf_counter() - started
        return result
    _send(chosen, messages, request, sender, result, progress)
    result.seconds = time.perf_counter() - started
    return result


def _check(
    chosen: list[Letter], request: SendRequest, sender: str, problems: list[str], result: SendResult
) -> dict[str, Callable[[], bytes]]:
    """Build every chosen message once (template, attachments read back and hashed, headers), so
    every problem is known before the first one is sent; return how to build each again."""
    from ..stakeholders.addresses import address_problem

    builders: dict[str, Callable[[], bytes]] = {}
    cap = int(request.max_message_mb * 1024 * 1024)
    for letter in chosen:
        reason = address_problem(letter.to)
        if reason:
            problems.append(f"{letter.id}: {letter.to!r} is not an e-mail address ({reason})")
            continue

        def build(letter: Letter = letter) -> bytes:
            return _message(letter, request)

        try:
            data = build()
        except BriefgenError as exc:
            problems.append(f"{letter.id}: {' '.join(exc.message.split())}")
            continue
        except (ValueError, TypeError) as exc:  # the email package refuses a header it cannot write
            problems.append(f"{letter.id}: the message cannot be written ({exc})")
            continue
        if len(data) > cap:
            problems.append(
                f"{letter.id}: the message is {len(data) / 1048576:.1f} MB; the limit is "
                f"{request.max_message_mb:g} MB (--max-message-mb)"
            )
            continue
        result.sizes[letter.id] = len(data)
        builders[letter.id] = build
    return builders


def _message(letter: Letter, request: SendRequest) -> bytes:
    """The message as sent: the draft's headers and body, a Message-ID, CRLF line ends."""
    from ..clock import source_date_epoch
    from ..distribute import Sending, message

    sending = Sending(request.templates, request.sender, source_date_epoch())
    mail = message(letter.delivery, request.out, sending, {"Message-ID": letter.message_id})
    return mail.as_bytes(policy=mail.policy.clone(linesep="\r\n"))


def _send(
    chosen: list[Letter],
    builders: dict[str, Callable[[], bytes]],
    request: SendRequest,
    sender: str,
    result: SendResult,
    progress: Progress | None,
) -> None:
    from .journal import Writer
    from .smtp import Connection, Refused, Retry, Stop

    assert request.server is not None
    connection = Connection(request.server)
    book = Writer(request.out)
    interval = 60.0 / request.rate_per_minute if request.rate_per_minute else 0.0
    last_start = None
    try:
        for letter in chosen:
            if last_start is not None and interval:
                time.sleep(max(0.0, last_start + interval - time.monotonic()))
            last_start = time.monotonic()
            base = Record(letter.id, letter.version, letter.message_id, "sending", letter.to, letter.files)
            try:
                data = builders[letter.id]()
            except BriefgenError as exc:  # a brief changed on disk since the check: this one fails alone
                words = " ".join(exc.message.split())
                book.add(replace(base, state="failed", reply=words))
                result.failed.append((letter.id, words))
                if progress:
                    progress(letter.id, "failed", words)
                continue
            book.add(base)
            attempt = 0
            while True:
                try:
                    code, reply = connection.send(sender, letter.to, data, _utf8(letter, sender))
                except Retry as retry:
                    attempt += 1
                    if attempt > request.retries:
                        words = f"{retry.code or 'no reply'} {retry.text} (after {request.retries} retries)"
                        book.add(replace(base, state="failed", code=retry.code, reply=words))
                        result.failed.append((letter.id, words))
                        if progress:
                            progress(letter.id, "failed", words)
                        break
                    if progress:
                        progress(letter.id, "retrying", f"{retry.code or 'no reply'} {retry.text}")
                    time.sleep(request.retry_wait * 2 ** (attempt - 1))
                    continue
                except Refused as refused:
                    words = f"{refused.code} {refused.text}"
                    book.add(replace(base, state="failed", code=refused.code, reply=refused.text))
                    result.failed.append((letter.id, words))
                    if progress:
                        progress(letter.id, "failed", words)
                    break
                book.add(replace(base, state="sent", code=code, reply=reply))
                result.sent.append(letter.id)
                if progress:
                    progress(letter.id, "sent", f"to {letter.to} ({code} {reply})")
                break
    except Stop as stop:
        # the message in hand was not taken (login, TLS or sender refused before its data)
        book.add(replace(base, state="failed", reply=stop.message))
        result.stopped = stop.message
    finally:
        connection.close()
        book.close()


@dataclass
class Status:
    """The send journal set against the batch: where each stakeholder's message stands."""

    sent: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # sent, then rebuilt: the new version is not sent
    failed: list[tuple[str, str]] = field(default_factory=list)
    uncertain: list[str] = field(default_factory=list)
    due: list[str] = field(default_factory=list)  # never tried
    no_address: list[str] = field(default_factory=list)
    not_built: list[str] = field(default_factory=list)
    skipped_lines: int = 0


def status(out: Path, sender: str | None = None) -> Status:
    """Where each message of the batch in ``out`` stands, by the send journal (nothing is sent)."""
    from . import journal, letters

    reading = letters.read(out, sender)
    records, bad = journal.read(out)
    found = Status(no_address=reading.no_address, not_built=reading.not_built, skipped_lines=bad)
    history = _history(records)
    for letter in reading.letters:
        standing = _standing(letter, history)
        if standing == "failed":
            last = [r for r in history[letter.id] if r.version == letter.version][-1]
            found.failed.append((letter.id, f"{last.code or ''} {last.reply}".strip()))
        else:
            getattr(found, standing).append(letter.id)
    return found
