"""Turn a finished batch's manifest, read back from the output folder, into letters: who gets which
briefs, under which version and Message-ID, each checked before anything is sent.

The manifest lies in the output folder, so every entry is checked as untrusted words: an id of
the list's shape, one-line text fields, known formats, file names that are plain names in the
folder with the format's extension, sizes and sha256 values of the right type. Only stakeholders
the batch built are letters. A letter's *version* is the sha256 of the brief's input hash and its
attachments' sha256: a brief rebuilt from other content or with other bytes is a new version.
Its Message-ID is stable for the same stakeholder and version.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..distribute import Delivery, attachments
from ..model import language_tag
from ..output import MANIFEST, MANIFEST_LIMIT, plain_name, read_manifest, size_and_digest
from ..stakeholders import ID_RE, Stakeholder

_LINE_BREAK = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")
TEXT_FIELDS = (
    "name",
    "organisation",
    "sector",
    "country",
    "email",
    "audience",
    "audience_label",
    "title",
    "strategy",
    "language",
)


@dataclass(frozen=True)
class Letter:
    """One stakeholder's message: their delivery, its version and Message-ID."""

    delivery: Delivery
    version: str
    message_id: str

    @property
    def id(self) -> str:
        return self.delivery.stakeholder.id or ""

    @property
    def to(self) -> str:
        return self.delivery.stakeholder.email or ""

    @property
    def files(self) -> tuple[tuple[str, str], ...]:
        """(file name, sha256) of each attachment."""
        return tuple((name, str(record["sha256"])) for name, record in attachments(self.delivery))


@dataclass
class Reading:
    """The letters of a manifest, the stakeholders it holds without an address or a built brief,
    and every problem found (stakeholder id first)."""

    letters: list[Letter]
    no_address: list[str]
    not_built: list[str]
    problems: list[str]


def message_id(ident: str, version: str, sender: str | None) -> str:
    """A Message-ID stable for the same stakeholder and version, in the sender's domain."""
    domain = (sender or "").rpartition("@")[2].strip(" >").lower()
    try:
        domain = domain.encode("idna").decode("ascii") if domain else ""
    except UnicodeError:
        domain = ""
    if not re.fullmatch(r"[a-z0-9.-]{1,253}", domain):
        domain = "briefgen.invalid"
    digest = hashlib.sha256(f"{ident}\0{version}".encode()).hexdigest()[:40]
    return f"<{digest}@{domain}>"


def _files(raw: Any, problem: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    from .. import writers

    files: dict[str, tuple[str, dict[str, Any]]] = {}
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            problem.append("a file record is not an object")
            continue
        fmt, name, size, digest = (item.get(k) for k in ("format", "path", "bytes", "sha256"))
        if not isinstance(fmt, str) or fmt not in writers.FORMATS or fmt in files:
            problem.append(f"file record of unknown or repeated format {fmt!r}")
        elif (
            not plain_name(name)
            or not str(name).endswith(writers.extension(fmt))
            or _LINE_BREAK.search(str(name))
        ):
            problem.append(f"file name {str(name)[:80]!r} is not a plain {fmt} file name in the folder")
        elif not size_and_digest(size, digest):
            problem.append(f"file record of {name} has no valid size or sha256")
        else:
            files[fmt] = (name, {"path": name, "format": fmt, "bytes": size, "sha256": digest})
    if not isinstance(raw, list):
        problem.append("no list of files")
    return files


def read(out: Path, sender: str | None) -> Reading:
    """The letters of the batch manifest in ``out`` (a usage error when there is none)."""
    from .. import limits, writers
    from ..errors import UsageError

    manifest = read_manifest(out, max(MANIFEST_LIMIT, limits.current().stakeholders * 16 * 1024))
    entries = manifest.get("stakeholders")
    if manifest.get("kind") != "batch" or not isinstance(entries, list):
        raise UsageError(f"{Path(out) / MANIFEST}: no batch manifest here; run briefgen batch first")
    reading = Reading([], [], [], [])
    seen: set[str] = set()
    for entry in entries:
        ident = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(ident, str) or not ID_RE.fullmatch(ident) or ident in seen:
            reading.problems.append(f"an entry of the manifest has no valid, unique id ({str(ident)[:40]!r})")
            continue
        seen.add(ident)
        if entry.get("status") != "built":
            reading.not_built.append(ident)
            continue
        problem: list[str] = []
        text: dict[str, str | None] = {}
        for key in TEXT_FIELDS:
            value = entry.get(key)
            if value is not None and (not isinstance(value, str) or len(value) > 1000):
                problem.append(f"{key} is not text of at most 1,000 characters")
            elif isinstance(value, str) and _LINE_BREAK.search(value):
                problem.append(f"{key} holds a line break or control character (a header must be one line)")
            else:
                text[key] = value or None
        attach = entry.get("attach") or []
        if not isinstance(attach, list) or not all(
            isinstance(a, str) and a in writers.FORMATS for a in attach
        ):
            problem.append("attach is not a list of known formats")
            attach = []
        files = _files(entry.get("files"), problem)
        if problem:
            reading.problems += [f"{ident}: {p}" for p in problem]
            continue
        if not text.get("email"):
            reading.no_address.append(ident)
            continue
        language = text.get("language") or "en"
        try:
            language = language_tag(language)
        except ValueError:
            reading.problems.append(f"{ident}: language {language[:40]!r} is not a language tag")
            continue
        person = Stakeholder(
            name=text.get("name") or "",
            organisation=text.get("organisation"),
            sector=text.get("sector"),
            country=text.get("country"),
            email=text.get("email"),
            id=ident,
            audience=text.get("audience"),
            language=language,
        )
        stem = next(iter(files.values()))[0].rsplit(".", 1)[0] if files else ident
        label = text.get("audience_label") or text.get("audience") or ""
        delivery = Delivery(
            person,
            stem,
            text.get("title") or "",
            label,
            tuple(attach),
            files,
            language=language,
            strategy=text.get("strategy") or "",
        )
        chosen = attachments(delivery)
        if not chosen:
            reading.problems.append(f"{ident}: no brief to attach")
            continue
        seed = "\0".join([str(person.email), *(f"{name}:{record['sha256']}" for name, record in chosen)])
        version = hashlib.sha256(seed.encode()).hexdigest()
        reading.letters.append(Letter(delivery, version, message_id(ident, version, sender)))
    return reading
