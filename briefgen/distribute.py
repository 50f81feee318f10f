"""Turn a finished batch into distribution packages: one zip per format and e-mail drafts.

``--zip`` writes ``briefs-<format>.zip`` with every current brief of that
format. ``--eml`` writes one ``.eml`` draft per stakeholder with an e-mail
address into ``outbox/``: To, Subject and a short plain-text body rendered
from ``email.txt.j2`` (a template like any other, so it can be customised),
with the stakeholder's briefs attached. Mail clients open such a file as a
draft to check and send. Everything is written atomically; timestamps come
from ``SOURCE_DATE_EPOCH`` when set, so packages are reproducible.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import RenderError
from .output import atomic_file, write_atomic

if TYPE_CHECKING:
    from .batch import BatchRequest, BatchResult, Manifest

OUTBOX = "outbox"
EMAIL_TEMPLATE = "email.txt.j2"
MIME = {
    ".pdf": ("application", "pdf"),
    ".docx": ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ".html": ("text", "html"),
}


def package(request: BatchRequest, manifest: Manifest, result: BatchResult, epoch: int | None) -> None:
    """Write the packages ``request`` asks for from the stakeholders the manifest lists as built."""
    built = [
        manifest.entries[i]
        for i in manifest.order
        if i in manifest.entries and manifest.entries[i].get("status") == "built"
    ]
    if request.zip:
        for name in dict.fromkeys(f["format"] for e in built for f in e["files"]):
            members = [f["path"] for e in built for f in e["files"] if f.get("format") == name]
            if members:
                target = request.out / f"briefs-{name}.zip"
                write_zip(target, request.out, members, epoch)
                result.packages.append(target)
    if request.eml:
        missing = [e["id"] for e in built if not e.get("email")]
        for entry in built:
            if entry.get("email"):
                target = request.out / OUTBOX / f"{Path(entry['files'][0]['path']).stem}.eml"
                write_atomic(target, draft(entry, request, epoch))
                result.packages.append(target)
        if missing:
            result.notes.append(
                f"no e-mail address for {len(missing)} stakeholder(s) ({', '.join(missing[:5])}"
                f"{', ...' if len(missing) > 5 else ''}): no draft written"
            )


def write_zip(target: Path, folder: Path, members: list[str], epoch: int | None) -> None:
    """Store ``members`` (file names in ``folder``) in a zip at ``target``, atomically and reproducibly."""
    stamp = _moment(epoch).timetuple()[:6] if epoch is not None else (1980, 1, 1, 0, 0, 0)
    with atomic_file(target) as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED) as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=max(stamp, (1980, 1, 1, 0, 0, 0)))
            info.external_attr = 0o644 << 16
            with (folder / name).open("rb") as source, archive.open(info, "w") as sink:
                while chunk := source.read(1 << 20):
                    sink.write(chunk)


def draft(entry: dict[str, Any], request: BatchRequest, epoch: int | None) -> bytes:
    """An unsent e-mail (RFC 5322, MIME) carrying one stakeholder's briefs."""
    from .render import run_template

    attach = set(entry.get("attach") or [])
    files = [f["path"] for f in entry["files"] if not attach or f.get("format") in attach]
    text = run_template(
        EMAIL_TEMPLATE,
        request.templates,
        stakeholder=_Person(entry),
        title=entry.get("title") or "",
        audience=entry.get("audience_label") or entry.get("audience") or "",
        files=files,
        sender=request.sender,
    )
    subject, body = _split_subject(text)
    message = EmailMessage()
    message["To"] = formataddr((entry["name"], entry["email"]))
    if request.sender:
        message["From"] = request.sender
    message["Subject"] = subject
    message["Date"] = format_datetime(_moment(epoch))
    message["X-Unsent"] = "1"  # open as a draft in clients that know the header
    message.set_content(body)
    for name in files:
        maintype, subtype = MIME.get(Path(name).suffix, ("application", "octet-stream"))
        data = (request.out / name).read_bytes()
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return bytes(message)


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
