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
    uncertain: list[str] = field(default_factory=list)  # left uncertain by an earlier run: not sent
    lost: list[str] = field(default_factory=list)  # no reply after the final dot in this run: uncertain now
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


def _standing(letter: Letter, history: dict[str, list[Record]]) -> tuple[str, Record | None]:
    """What the journal says of ``letter``: sent, uncertain (this version was left ``sending``),
    failed (this version's last try failed), changed (an earlier version was sent) or due; with
    this version's last record, when there is one."""
    past = history.get(letter.id, [])
    same = [r for r in past if r.version == letter.version]
    last = same[-1] if same else None
    if any(r.state == "sent" for r in same):
        return "sent", last
    if last is not None:
        return ("uncertain" if last.state == "sending" else "failed"), last
    return ("changed" if any(r.state == "sent" for r in past) else "due"), None


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
        standing, last = _standing(letter, history)
        if standing == "sent":
            result.already.append(letter.id)
        elif standing == "changed" and not request.resend_changed:
            result.changed.append(letter.id)
        elif standing == "uncertain" and not request.resend_uncertain:
            result.uncertain.append(letter.id)
        elif standing == "uncertain" and last is not None:  # the same Message-ID: copies can be told apart
            chosen.append(replace(letter, message_id=last.message_id))
        else:
            chosen.append(letter)
    return chosen


def envelope_sender(sender: str | None) -> str:
    """The one address of ``--from`` (a display name allowed); a usage error for anything else."""
    if not sender:
        return ""
    from email.errors import HeaderParseError
    from email.headerregistry import HeaderRegistry

    from ..stakeholders.addresses import address_problem

    try:
        header = HeaderRegistry()("from", sender)
        addresses = header.addresses
    except (HeaderParseError, ValueError, IndexError):
        addresses = ()
    if len(addresses) != 1 or header.defects or not addresses[0].addr_spec:
        raise UsageError(f"--from: {sender!r} is not one e-mail address (a display name may come with it)")
    reason = address_problem(addresses[0].addr_spec)
    if reason:
        raise UsageError(f"--from: {sender!r} is not an e-mail address ({reason})")
    return addresses[0].addr_spec


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
    sender = envelope_sender(request.sender)
    connection = None
    if not request.dry_run:
        if request.server is None:
            raise UsageError("--smtp-host: give the SMTP server to send through (or --dry-run)")
        if not sender:
            raise UsageError("--from: give the sender's address")
        from .smtp import Connection

        connection = Connection(request.server)  # settings and --smtp-ca checked now; connects later
    reading = letters.read(request.out, request.sender)
    result = SendResult(no_address=reading.no_address, not_built=reading.not_built)
    pool = reading.letters
    if request.only:
        known = {letter.id for letter in pool} | set(reading.no_address) | set(reading.not_built)
        known |= {problem.split(":", 1)[0] for problem in reading.problems}
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
    if connection is None or not chosen:
        result.seconds = time.perf_counter() - started
        return result
    _send(connection, chosen, messages, request, sender, result, progress)
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
    headers = {"Message-ID": letter.message_id}
    mail = message(letter.delivery, request.out, sending, headers, seven_bit=True)
    return mail.as_bytes(policy=mail.policy.clone(linesep="\r\n"))


def _send(
    connection: Any,
    chosen: list[Letter],
    builders: dict[str, Callable[[], bytes]],
    request: SendRequest,
    sender: str,
    result: SendResult,
    progress: Progress | None,
) -> None:
    """Send ``chosen`` in order through one session, each step in the journal before the next."""
    from ..distribute import international
    from .journal import Writer
    from .smtp import Stop

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
                _note(
                    book, result, progress, replace(base, state="failed", reply=" ".join(exc.message.split()))
                )
                continue
            book.add(base)
            try:
                utf8 = international(letter.to, request.sender)
                _deliver(connection, book, base, data, utf8, sender, request, result, progress)
            except Stop as stop:  # login, TLS, sender or server refused before this message's data
                book.add(replace(base, state="failed", reply=stop.message))
                result.stopped = stop.message
                return
    finally:
        connection.close()
        book.close()


def _note(book: Any, result: SendResult, progress: Progress | None, record: Record) -> None:
    """Record a final state of a message in the journal, the result and the output."""
    book.add(record)
    words = f"{record.code} {record.reply}" if record.code else record.reply
    if record.state == "sent":
        result.sent.append(record.id)
        words = f"to {record.to} ({words})"
    else:
        result.failed.append((record.id, words))
    if progress:
        progress(record.id, record.state, words)


def _deliver(
    connection: Any,
    book: Any,
    base: Record,
    data: bytes,
    utf8: bool,
    sender: str,
    request: SendRequest,
    result: SendResult,
    progress: Progress | None,
) -> None:
    """One message, retried after a 4xx or a connection lost before its final dot."""
    from .smtp import Refused, Retry, Stop, Uncertain, backoff

    attempt = 0
    while True:
        try:
            code, reply = connection.send(sender, base.to, data, utf8)
        except Retry as retry:
            attempt += 1
            said = f"{retry.code or 'no reply'} {retry.text}"
            if attempt > request.retries:
                if retry.unreachable:  # no session at all: every other message would meet the same
                    raise Stop(f"{said} (after {request.retries} retries)") from None
                words = f"{retry.text} (after {request.retries} retries)"
                _note(book, result, progress, replace(base, state="failed", code=retry.code, reply=words))
                return
            if progress:
                progress(base.id, "retrying", said)
            time.sleep(backoff(request.retry_wait, attempt))
        except Refused as refused:
            _note(
                book, result, progress, replace(base, state="failed", code=refused.code, reply=refused.text)
            )
            return
        except Uncertain as lost:  # the journal keeps "sending": not sent again without --resend-uncertain
            result.lost.append(base.id)
            if progress:
                progress(base.id, "uncertain", f"{lost.text}; not sent again without --resend-uncertain")
            return
        else:
            _note(book, result, progress, replace(base, state="sent", code=code, reply=reply))
            return


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
        standing, last = _standing(letter, history)
        if standing == "failed" and last is not None:
            found.failed.append((letter.id, f"{last.code or ''} {last.reply}".strip()))
        else:
            getattr(found, standing).append(letter.id)
    return found
