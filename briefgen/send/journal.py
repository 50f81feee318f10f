"""Turn each step of sending into a line of the send journal, on disk before the next step, and
the journal back into what was sent to whom.

The journal (``send-journal.jsonl`` in the output folder) is append-only: one JSON object a
line, each written whole and ``fsync``'d before the message it describes goes further. A
message is ``sending`` before its first SMTP command, then ``sent`` (with the server's reply)
or ``failed`` (with the code and the server's words). A message whose last line is ``sending``
was interrupted (a crash, SIGKILL) at a moment when the server may or may not have taken it:
it is *uncertain*, and is not sent again unless asked (at most once by default).

The journal lies in the output folder, so it is read back as untrusted: through the opener
(a regular file, at most :data:`MAX_JOURNAL_BYTES`), line by line; a line that is not a
well-formed record is skipped with one warning. It is opened for appending without following
a planted link. The SMTP password never reaches it.
"""

from __future__ import annotations

import json
import os
import stat
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import BriefgenError
from ..output import SHA256_HEX, open_folder
from ..safe import escape_controls

JOURNAL = "send-journal.jsonl"
MAX_JOURNAL_BYTES = 256 * 1024 * 1024
STATES = ("sending", "sent", "failed")
#: What of a server's reply is kept: control characters shown as escapes, at most this long.
MAX_REPLY_CHARS = 500


def shown_reply(text: str | bytes) -> str:
    """A server's words, safe to print and to store on one line: decoded, control characters
    escaped, cut to :data:`MAX_REPLY_CHARS`."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = escape_controls(text)
    return text if len(text) <= MAX_REPLY_CHARS else text[:MAX_REPLY_CHARS] + "..."


@dataclass(frozen=True)
class Record:
    """One line of the journal."""

    id: str
    version: str
    message_id: str
    state: str  # sending | sent | failed
    to: str = ""
    attachments: tuple[tuple[str, str], ...] = ()  # (file name, sha256)
    code: int | None = None
    reply: str = ""
    at: float = 0.0

    def line(self) -> bytes:
        data: dict[str, Any] = {
            "at": round(self.at, 3),
            "id": self.id,
            "state": self.state,
            "message_id": self.message_id,
            "version": self.version,
            "to": self.to,
            "attachments": [{"name": name, "sha256": digest} for name, digest in self.attachments],
        }
        if self.code is not None:
            data["code"] = self.code
        if self.reply:
            data["reply"] = self.reply
        return (json.dumps(data, ensure_ascii=False) + "\n").encode("utf-8")


def _record(raw: Any) -> Record | None:
    """A journal line's object as a record, or None when any field is not what the journal writes."""
    if not isinstance(raw, dict):
        return None
    ident, state, version, message_id = (raw.get(k) for k in ("id", "state", "version", "message_id"))
    if not all(isinstance(v, str) for v in (ident, state, version, message_id)) or state not in STATES:
        return None
    if not SHA256_HEX.fullmatch(version):
        return None
    code = raw.get("code")
    if code is not None and type(code) is not int:
        return None
    files = raw.get("attachments", [])
    if not isinstance(files, list) or not all(
        isinstance(f, dict) and isinstance(f.get("name"), str) and isinstance(f.get("sha256"), str)
        for f in files
    ):
        return None
    at = raw.get("at", 0.0)
    return Record(
        id=ident,
        version=version,
        message_id=message_id,
        state=state,
        to=raw.get("to") if isinstance(raw.get("to"), str) else "",
        attachments=tuple((f["name"], f["sha256"]) for f in files),
        code=code,
        reply=shown_reply(raw.get("reply", "")) if isinstance(raw.get("reply", ""), str) else "",
        at=float(at) if isinstance(at, int | float) and not isinstance(at, bool) else 0.0,
    )


def read(out: Path) -> tuple[list[Record], int]:
    """Every well-formed record of the journal in ``out`` in order, and how many lines were not.

    No journal is an empty one. A journal that cannot be read as a regular file is an error: without
    it, briefgen could not know what was sent, and sends nothing rather than twice."""
    from .. import opener

    path = Path(out) / JOURNAL
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return [], 0
    except OSError as exc:
        raise BriefgenError(f"{path}: cannot read the send journal ({exc.strerror}); nothing sent") from None
    if stat.S_ISLNK(info.st_mode):
        raise BriefgenError(f"{path}: the send journal is a symbolic link; not used, nothing sent")
    try:
        raw = opener.read(path, MAX_JOURNAL_BYTES, "send journal", within=Path(out))
    except opener.InputRefused as exc:
        raise BriefgenError(f"{exc.message}; nothing sent") from None
    records: list[Record] = []
    bad = 0
    for line in raw.split(b"\n"):
        if not line.strip():
            continue
        try:
            found = _record(json.loads(line.decode("utf-8")))
        except (ValueError, RecursionError):
            found = None
        if found is None:
            bad += 1
        else:
            records.append(found)
    return records, bad


class Writer:
    """Appends records to the journal in ``out``, each on disk (``fsync``) before :meth:`add` returns."""

    def __init__(self, out: Path) -> None:
        self.path = Path(out) / JOURNAL
        folder = open_folder(Path(out), Path(out))
        try:
            flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
            flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
            try:
                self.fd = os.open(JOURNAL, flags, 0o600, dir_fd=folder)
            except OSError as exc:
                raise BriefgenError(
                    f"{self.path}: cannot open the send journal ({exc.strerror}); nothing sent"
                ) from None
            info = os.fstat(self.fd)
            if not stat.S_ISREG(info.st_mode) or info.st_nlink > 1:
                os.close(self.fd)
                what = (
                    "not a regular file" if not stat.S_ISREG(info.st_mode) else "a hard link to another file"
                )
                raise BriefgenError(f"{self.path}: the send journal is {what}; nothing sent")
            os.fsync(folder)  # the journal's name is on disk too
            if info.st_size and os.pread(self.fd, 1, info.st_size - 1) != b"\n":
                self._write(b"\n")  # a line torn by a crash must not swallow the next record
        finally:
            os.close(folder)

    def add(self, record: Record) -> None:
        """Append ``record`` (stamped with the time) and return once it is on disk."""
        self._write((record if record.at else replace(record, at=time.time())).line())

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                written = os.write(self.fd, view)
                view = view[written:]
            os.fsync(self.fd)
        except OSError as exc:
            reason = exc.strerror or exc
            raise BriefgenError(f"{self.path}: cannot write the send journal ({reason}); stopped") from None

    def close(self) -> None:
        os.close(self.fd)
