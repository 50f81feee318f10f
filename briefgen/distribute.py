"""Turn a finished batch into distribution packages: one zip per format and e-mail drafts.

``--zip`` writes ``briefs-<format>.zip`` with every current brief of that
format. ``--eml`` writes one ``.eml`` draft per stakeholder with an e-mail
address into ``outbox/``: To, Subject and a short plain-text body rendered
from ``email.txt.j2`` (a template like any other, so it can be customised),
with the stakeholder's briefs attached. Mail clients open such a file as a
draft to check and send. Everything is written atomically; timestamps come
from ``SOURCE_DATE_EPOCH`` when set, so packages are reproducible.

What goes into a package comes from the plan, never from words read back from
the output folder: each member or attachment is the file the plan names for
that stakeholder and format (stem plus extension), read through
:mod:`briefgen.opener` inside the output folder, and only when it is a regular
file with the size and sha256 this run built or verified. A draft that cannot
be made fails alone with a one-line note; the other drafts are still written.
Addresses with non-ASCII characters (``zoë@exämple.eu``) are written as
internationalised mail (RFC 6532: UTF-8 headers).
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .clock import moment
from .errors import BriefgenError, RenderError
from .output import atomic_file, open_folder, regular_file, sha256, write_atomic

if TYPE_CHECKING:
    from .stakeholders import Stakeholder

OUTBOX = "outbox"
EMAIL_TEMPLATE = "email.txt.j2"
ASCII_MAIL = policy.default
UTF8_MAIL = policy.default.clone(utf8=True)  # RFC 6532, as SMTPUTF8 but with the file's own line ends
SEVEN_BIT_MAIL = policy.default.clone(cte_type="7bit")  # any SMTP server takes it, 8BITMIME or not
#: What a template may not put in a subject or body: C0 control characters but tab and line ends
#: (an escape sequence for a terminal, a NUL); stakeholder lists cannot hold them either.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


class PackageError(BriefgenError):
    """A brief that cannot go into a package (changed or replaced since it was built)."""


@dataclass(frozen=True)
class Delivery:
    """One stakeholder's finished briefs: who, under which file stem, and each format's planned file
    name with the record this run built or verified (``files``); ``attach`` chooses the formats an
    e-mail carries (empty: all)."""

    stakeholder: Stakeholder
    stem: str
    title: str
    audience: str
    attach: tuple[str, ...]
    files: dict[str, tuple[str, dict[str, Any]]]
    language: str = "en"
    strategy: str = ""


@dataclass(frozen=True)
class Sending:
    """How the packages are made: the template folders (for the e-mail template), the sender, the
    epoch that dates them."""

    templates: tuple[Path, ...] = ()
    sender: str | None = None
    epoch: int | None = None


@dataclass
class Packages:
    """What :func:`package` wrote, what it has to say, and what it could not write."""

    written: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def package(out: Path, deliveries: list[Delivery], zips: bool, drafts: bool, sending: Sending) -> Packages:
    """Write the zips (``zips``) and e-mail drafts (``drafts``) of ``deliveries`` into ``out``."""
    done = Packages()
    if zips:
        for fmt in dict.fromkeys(fmt for d in deliveries for fmt in d.files):
            members = [d.files[fmt] for d in deliveries if fmt in d.files]
            target = out / f"briefs-{fmt}.zip"
            try:
                write_zip(target, out, members, sending.epoch)
            except PackageError as exc:
                done.problems.append(f"{target.name} not written: {exc.message}")
                continue
            done.written.append(target)
    if drafts:
        missing = [d.stakeholder.id or "" for d in deliveries if not d.stakeholder.email]
        if any(d.stakeholder.email for d in deliveries):
            os.close(open_folder(out / OUTBOX, out))  # a planted link: one error, no drafts
        for delivery in deliveries:
            if not delivery.stakeholder.email:
                continue
            target = out / OUTBOX / f"{delivery.stem}.eml"
            try:
                write_atomic(target, draft(delivery, out, sending), root=out)
            except Exception as exc:  # one stakeholder's draft fails alone; the others are written
                reason = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
                who = delivery.stakeholder.id
                done.problems.append(f"no e-mail draft for {who}: {' '.join(str(reason).split())}")
                continue
            done.written.append(target)
        if missing:
            done.notes.append(
                f"no e-mail address for {len(missing)} stakeholder(s) ({', '.join(missing[:5])}"
                f"{', ...' if len(missing) > 5 else ''}): no draft written"
            )
    return done


def read_back(folder: Path, name: str, record: dict[str, Any]) -> bytes:
    """The bytes of the brief ``name`` in ``folder``, when it is still the regular file this run
    built or verified (same size and sha256); otherwise :class:`PackageError`."""
    from . import opener

    size = record.get("bytes")
    info = regular_file(folder, name)
    if info is None or type(size) is not int or info.st_size != size:
        raise PackageError(
            f"{folder / name}: no longer the brief this run built (missing, replaced or resized)"
        )
    try:
        data = opener.read(folder / name, size, within=folder)
    except opener.InputRefused as exc:
        raise PackageError(exc.message) from None
    if sha256(data) != record.get("sha256"):
        raise PackageError(f"{folder / name}: changed since this run built it (checksum differs)")
    return data


def write_zip(
    target: Path, folder: Path, members: list[tuple[str, dict[str, Any]]], epoch: int | None
) -> None:
    """Store ``members`` ((file name in ``folder``, its record)) in a zip at ``target``, atomically
    and reproducibly; every member is checked against its record first (:func:`read_back`)."""
    stamp = moment(epoch).timetuple()[:6] if epoch is not None else (1980, 1, 1, 0, 0, 0)
    with atomic_file(target, folder) as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED) as archive:
        for name, record in sorted(members, key=lambda member: member[0]):
            info = zipfile.ZipInfo(name, date_time=max(stamp, (1980, 1, 1, 0, 0, 0)))
            info.external_attr = 0o644 << 16
            archive.writestr(info, read_back(folder, name, record))


def draft(delivery: Delivery, out: Path, sending: Sending) -> bytes:
    """An unsent e-mail draft carrying one stakeholder's briefs, read back from ``out``."""
    return message(delivery, out, sending, {"X-Unsent": "1"}).as_bytes()  # clients open it as a draft


def attachments(delivery: Delivery) -> list[tuple[str, dict[str, Any]]]:
    """The files an e-mail to ``delivery``'s stakeholder carries: (file name, record) in format order."""
    attach = set(delivery.attach)
    return [(name, record) for fmt, (name, record) in delivery.files.items() if not attach or fmt in attach]


def message(
    delivery: Delivery,
    out: Path,
    sending: Sending,
    headers: dict[str, str] | None = None,
    seven_bit: bool = False,
) -> EmailMessage:
    """The e-mail (RFC 5322, MIME; RFC 6532 when an address is not ASCII) carrying one stakeholder's
    briefs, read back from ``out``: To, From, Subject, Date, then ``headers``; the body from the
    e-mail template; the MIME boundary from the message's own content, so it is reproducible.
    ``seven_bit``: an ASCII message's parts are encoded to 7 bits (for servers without 8BITMIME)."""
    from . import writers
    from .render import run_template

    person = delivery.stakeholder
    chosen = attachments(delivery)
    text = run_template(
        EMAIL_TEMPLATE,
        sending.templates,
        language=delivery.language,
        stakeholder=person.reader(),
        title=delivery.title,
        strategy=delivery.strategy,
        audience=delivery.audience,
        files=[name for name, _ in chosen],
        sender=sending.sender,
    )
    subject, body = _split_subject(text)
    address = str(person.email)
    utf8 = international(address, sending.sender)
    mail = EmailMessage(policy=UTF8_MAIL if utf8 else SEVEN_BIT_MAIL if seven_bit else ASCII_MAIL)
    username, _, domain = address.rpartition("@")
    mail["To"] = Address(display_name=person.name or "", username=username, domain=domain)
    if sending.sender:
        mail["From"] = sending.sender
    mail["Subject"] = subject
    mail["Date"] = format_datetime(moment(sending.epoch))
    for key, value in (headers or {}).items():
        mail[key] = value
    mail.set_content(body)
    for name, record in chosen:
        maintype, subtype = writers.mime(name)
        data = read_back(out, name, record)
        params = {"charset": "utf-8"} if maintype == "text" else {}  # briefgen writes text as UTF-8
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=name, params=params)
    if mail.is_multipart():
        seed = "\0".join([address, subject, body, *(str(record.get("sha256")) for _, record in chosen)])
        mail.set_boundary(f"briefgen-{sha256(seed.encode('utf-8', 'surrogateescape'))[:40]}")
    return mail


def international(address: str, sender: str | None) -> bool:
    """Whether a message to ``address`` from ``sender`` needs UTF-8 headers (RFC 6532) and, to be sent,
    SMTPUTF8: when either address is not ASCII (display names alone fit RFC 2047)."""
    return not address.isascii() or not parseaddr(sender or "")[1].isascii()


def _split_subject(text: str) -> tuple[str, str]:
    """Split the template's ``Subject:`` first line from the body; the subject must be one line."""
    first, _, rest = text.lstrip("\n").partition("\n")
    if not first.lower().startswith("subject:"):
        raise RenderError(f"{EMAIL_TEMPLATE}: the first line must be 'Subject: ...'")
    subject = " ".join(first[len("subject:") :].split())
    if _CONTROL.search(subject) or _CONTROL.search(rest):
        raise RenderError(f"{EMAIL_TEMPLATE}: the message holds a control character; not written")
    return subject, rest.lstrip("\n").rstrip() + "\n"
