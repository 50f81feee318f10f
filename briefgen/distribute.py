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

import datetime as dt
import os
import zipfile
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import BriefgenError, RenderError
from .output import atomic_file, open_folder, regular_file, sha256, write_atomic

if TYPE_CHECKING:
    from .batch import BatchRequest, BatchResult, Manifest

OUTBOX = "outbox"
EMAIL_TEMPLATE = "email.txt.j2"
MIME = {
    ".pdf": ("application", "pdf"),
    ".docx": ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ".html": ("text", "html"),
}
ASCII_MAIL = policy.default
UTF8_MAIL = policy.default.clone(utf8=True)  # RFC 6532, as SMTPUTF8 but with the file's own line ends


class PackageError(BriefgenError):
    """A brief that cannot go into a package (changed or replaced since it was built)."""


def package(request: BatchRequest, manifest: Manifest, result: BatchResult, epoch: int | None) -> None:
    """Write the packages ``request`` asks for from the stakeholders this run built or found up to date."""
    from .batch import planned_names

    built = []  # (entry, {format: (planned file name, record)})
    for ident in manifest.order:
        entry, outcome = manifest.entries.get(ident), result.outcomes.get(ident)
        if entry is None or outcome is None or outcome.status not in ("built", "skipped"):
            continue
        task = manifest.rows[ident]
        records = {r.get("format"): r for r in outcome.files}
        files = {
            fmt: (name, records[fmt])
            for fmt, name in planned_names(task).items()
            if fmt in records and records[fmt].get("path") == name
        }
        built.append((entry, files))
    if request.zip:
        for fmt in dict.fromkeys(fmt for _, files in built for fmt in files):
            members = [files[fmt] for _, files in built if fmt in files]
            target = request.out / f"briefs-{fmt}.zip"
            try:
                write_zip(target, request.out, members, epoch)
            except PackageError as exc:
                result.problems.append(f"{target.name} not written: {exc.message}")
                continue
            result.packages.append(target)
    if request.eml:
        missing = [e["id"] for e, _ in built if not e.get("email")]
        if any(e.get("email") for e, _ in built):
            os.close(open_folder(request.out / OUTBOX, request.out))  # a planted link: one error, no drafts
        for entry, files in built:
            if not entry.get("email"):
                continue
            target = request.out / OUTBOX / f"{manifest.rows[entry['id']].stem}.eml"
            try:
                write_atomic(target, draft(entry, request, epoch, files), root=request.out)
            except Exception as exc:  # one stakeholder's draft fails alone; the others are written
                reason = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
                result.problems.append(f"no e-mail draft for {entry['id']}: {' '.join(str(reason).split())}")
                continue
            result.packages.append(target)
        if missing:
            result.notes.append(
                f"no e-mail address for {len(missing)} stakeholder(s) ({', '.join(missing[:5])}"
                f"{', ...' if len(missing) > 5 else ''}): no draft written"
            )


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
    stamp = _moment(epoch).timetuple()[:6] if epoch is not None else (1980, 1, 1, 0, 0, 0)
    with atomic_file(target, folder) as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED) as archive:
        for name, record in sorted(members, key=lambda member: member[0]):
            info = zipfile.ZipInfo(name, date_time=max(stamp, (1980, 1, 1, 0, 0, 0)))
            info.external_attr = 0o644 << 16
            archive.writestr(info, read_back(folder, name, record))


def draft(
    entry: dict[str, Any],
    request: BatchRequest,
    epoch: int | None,
    files: dict[str, tuple[str, dict[str, Any]]],
) -> bytes:
    """An unsent e-mail (RFC 5322, MIME; RFC 6532 when an address is not ASCII) carrying one
    stakeholder's briefs: ``files`` maps each format to its planned file name and record."""
    from .render import run_template

    attach = set(entry.get("attach") or [])
    chosen = [(name, record) for fmt, (name, record) in files.items() if not attach or fmt in attach]
    names = [name for name, _ in chosen]
    text = run_template(
        EMAIL_TEMPLATE,
        request.templates,
        stakeholder=_Person(entry),
        title=entry.get("title") or "",
        audience=entry.get("audience_label") or entry.get("audience") or "",
        files=names,
        sender=request.sender,
    )
    subject, body = _split_subject(text)
    address = str(entry["email"])
    sender_address = parseaddr(request.sender or "")[1]
    international = not address.isascii() or not sender_address.isascii()  # names alone fit RFC 2047
    message = EmailMessage(policy=UTF8_MAIL if international else ASCII_MAIL)
    username, _, domain = address.rpartition("@")
    message["To"] = Address(display_name=entry.get("name") or "", username=username, domain=domain)
    if request.sender:
        message["From"] = request.sender
    message["Subject"] = subject
    message["Date"] = format_datetime(_moment(epoch))
    message["X-Unsent"] = "1"  # open as a draft in clients that know the header
    message.set_content(body)
    for name, record in chosen:
        maintype, subtype = MIME.get(Path(name).suffix, ("application", "octet-stream"))
        data = read_back(request.out, name, record)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


class _Person:
    """The stakeholder fields an e-mail template may use."""

    def __init__(self, entry: dict[str, Any]) -> None:
        self.id = entry.get("id")
        self.name = entry.get("name")
        self.organisation = entry.get("organisation")
        self.sector = entry.get("sector")
        self.country = entry.get("country")
        self.email = entry.get("email")


def _split_subject(text: str) -> tuple[str, str]:
    """Split the template's ``Subject:`` first line from the body; the subject must be one line."""
    first, _, rest = text.lstrip("\n").partition("\n")
    if not first.lower().startswith("subject:"):
        raise RenderError(f"{EMAIL_TEMPLATE}: the first line must be 'Subject: ...'")
    subject = " ".join(first[len("subject:") :].split())
    return subject, rest.lstrip("\n").rstrip() + "\n"


def _moment(epoch: int | None) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC) if epoch is not None else dt.datetime.now(dt.UTC)
