"""Turn a batch request and a validated stakeholder list into tasks: file names, input hashes,
what is already up to date, and chunks grouped by what makes briefs differ.

Nothing read back from the output folder is believed on its word: a manifest entry counts only
when every field has the expected type, every recorded path is the very name the plan gives that
stakeholder and format, and the file is a regular file in the folder with the recorded size and
checksum; anything else means "rebuild".
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ..filenames import DEFAULT_PATTERN
from ..output import regular_file, sha256, size_and_digest
from ..resources import MAX_RESOURCE_BYTES
from ..stakeholders import Stakeholder
from ..tailor import Length
from ..unpack import MAX_PACKAGE_BYTES
from ..writers import BATCH_FORMATS

CHUNK = 4  # stakeholders per task: small enough for steady progress, large enough to amortise
TEMPLATE_FILE_LIMIT = MAX_RESOURCE_BYTES  # larger files in a template folder are never used
REFERENCE_LIMIT = MAX_PACKAGE_BYTES  # the reference .docx's limit (writers.docx imports python-docx)

#: What makes the briefs of a batch differ besides the reader: audience, focus areas, region.
Group = tuple[str, tuple[str, ...], str | None, str | None]  # audience, focus, region, language


@dataclass(frozen=True)
class BatchRequest:
    """Everything ``briefgen batch`` was asked to do."""

    stakeholders: Path
    content: tuple[Path, ...]
    out: Path
    formats: tuple[str, ...] = BATCH_FORMATS
    jobs: int | None = None  # None: one worker per usable core
    force: bool = False
    name_pattern: str = DEFAULT_PATTERN
    length: Length = "full"
    templates: tuple[Path, ...] = ()
    theme: Path | None = None
    page_size: str | None = None
    pdf_variant: str | None = None
    pdf_engine: str = "auto"
    reference_docx: Path | None = None
    docx_pages: str = "auto"
    embed_fonts: bool = True
    strict: bool = False
    zip: bool = False
    eml: bool = False
    sender: str | None = None
    wait: bool = True  # False (--no-wait): refuse at once when another run holds the output folder
    language: str | None = None  # --language: for rows without a language of their own
    scheduler: str | None = None  # --scheduler: a Dask scheduler's address; None: this machine


@dataclass(frozen=True)
class Task:
    """One stakeholder to build: who, their file stem and formats."""

    stakeholder: Stakeholder
    stem: str
    formats: tuple[str, ...]
    input_sha256: str
    shared: bool = False  # other stakeholders of this batch share the group (and the laid-out body)

    @property
    def group(self) -> Group:
        person = self.stakeholder
        return (person.audience or "", person.focus, person.region, person.language)


@dataclass
class Outcome:
    """What became of one stakeholder."""

    id: str
    status: str  # built | skipped | failed
    files: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    reused: list[str] = field(default_factory=list)  # formats that reused the group's work
    title: str | None = None
    strategy: str | None = None  # the strategy's title, in the brief's language


@dataclass
class BatchResult:
    """Counts, outcomes and timing of a whole batch."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)
    total: int = 0
    seconds: float = 0.0
    manifest: Path | None = None
    packages: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # packages (zips, drafts) that could not be written

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes.values() if o.status == status)


Progress = Callable[[Outcome, int, int], None]


def default_jobs() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def tree_digest(folders: tuple[Path, ...]) -> str:
    """A digest of every file (name and bytes) under ``folders``, in a stable order.

    Files go through :func:`briefgen.opener.files` and :func:`briefgen.opener.digest`: a
    regular file inside the folders of at most :data:`TEMPLATE_FILE_LIMIT` bytes
    (:data:`REFERENCE_LIMIT` for a ``.docx``) is hashed;
    anything else (a link out, a FIFO, a device, a file over the limit) is never opened or
    read: its name and the reason go into the digest instead, with a warning, since the
    loaders refuse it too.
    """
    from .. import opener
    from ..log import warn

    digest = hashlib.sha256()
    for folder in folders:
        for path, reason in opener.files(folder, within=folders):
            digest.update(str(path.relative_to(folder)).encode("utf-8", "surrogateescape") + b"\0")
            if reason is None:
                try:
                    limit = REFERENCE_LIMIT if path.suffix == ".docx" else TEMPLATE_FILE_LIMIT
                    digest.update(bytes.fromhex(opener.digest(path, limit, within=folders)))
                    continue
                except opener.InputRefused as exc:
                    reason = exc.message.removeprefix(f"{path}: ")
            elif reason == "a folder":  # a link to a folder inside: its files are hashed where they lie
                digest.update(b"folder\0")
                continue
            digest.update(f"not read: {reason}".encode("utf-8", "surrogateescape") + b"\0")
            warn("--templates: %s: not read (%s); no brief can use it", path, reason)
    return digest.hexdigest()


def file_digest(path: Path | None, limit: int, what: str) -> str | None:
    """The sha256 of an input file given by a flag, read through :func:`briefgen.opener.digest`
    (a FIFO, a device or a file over ``limit`` is refused with a one-line error naming ``what``)."""
    from .. import opener

    return opener.digest(path, limit, what=what) if path is not None else None


def row_fields(row: Stakeholder) -> dict[str, Any]:
    """A row as the manifest records it (without its line number, which does not change a brief)."""
    data = asdict(row)
    data.pop("list_line")
    data["focus"] = list(row.focus)
    data["formats"] = list(row.formats)
    return data


def plan(request: BatchRequest, rows: list[Stakeholder], inputs: dict[str, Any]) -> list[Task]:
    """Name each stakeholder's files and hash what their brief depends on."""
    from ..filenames import assign, fill, safe_stem

    stems = assign((row.id, safe_stem(fill(request.name_pattern, asdict(row)), row.id)) for row in rows)
    tasks = []
    for row in rows:
        formats = tuple(dict.fromkeys([*request.formats, *row.formats]))
        key = json.dumps(
            {"inputs": inputs, "row": row_fields(row), "formats": formats, "stem": stems[row.id]},
            sort_keys=True,
            ensure_ascii=False,
        )
        tasks.append(Task(row, stems[row.id], formats, sha256(key.encode())))
    return tasks


def planned_names(task: Task) -> dict[str, str]:
    """The file name the plan gives each of ``task``'s formats: its stem and the format's extension."""
    from .. import writers

    return {name: f"{task.stem}{writers.extension(name)}" for name in task.formats}


def checked_record(raw: Any, name: str, fmt: str, out: Path, hashed: bool = True) -> dict[str, Any] | None:
    """A file record read back from a manifest, rebuilt from the plan, when it describes the planned
    file ``name`` of format ``fmt`` and that file is a regular file in ``out`` whose size and sha256
    (checked only when ``hashed``) match; otherwise None. Nothing but the checked values is carried over."""
    from .. import opener

    if not isinstance(raw, dict) or raw.get("format") != fmt or raw.get("path") != name:
        return None
    size, digest, pages = raw.get("bytes"), raw.get("sha256"), raw.get("pages")
    if not size_and_digest(size, digest):
        return None
    if pages is not None and (type(pages) is not int or pages < 0):
        return None
    info = regular_file(out, name)
    if info is None or info.st_size != size:
        return None
    try:
        if hashed and opener.digest(out / name, size, within=out) != digest:
            return None
    except opener.InputRefused:
        return None
    return {"path": name, "format": fmt, "bytes": size, "sha256": digest, "pages": pages}


def checked_files(task: Task, raw: Any, out: Path, hashed: bool = True) -> list[dict[str, Any]]:
    """The records of ``raw`` (a manifest entry's ``files``) that :func:`checked_record` accepts."""
    names = planned_names(task)
    found: dict[str, dict[str, Any]] = {}
    for item in raw if isinstance(raw, list) else []:
        fmt = item.get("format") if isinstance(item, dict) else None
        if isinstance(fmt, str) and fmt in names and fmt not in found:
            record = checked_record(item, names[fmt], fmt, out, hashed)
            if record is not None:
                found[fmt] = record
    return [found[fmt] for fmt in task.formats if fmt in found]


def up_to_date(task: Task, entry: Any, out: Path) -> list[dict[str, Any]] | None:
    """The files of ``task`` when ``entry`` (read back from the manifest) says it was built from the
    same inputs and every planned file is still there with its checksum; otherwise None.

    The records returned are made from the plan and the checks, never copied from the entry.
    """
    if not isinstance(entry, dict) or entry.get("status") != "built":
        return None
    if entry.get("input_sha256") != task.input_sha256:  # a str compared with a str: no other type equals
        return None
    if (
        entry.get("email") != task.stakeholder.email
    ):  # as the list says, or the entry is not this stakeholder's
        return None
    raw = entry.get("files")
    if not isinstance(raw, list) or len(raw) != len(task.formats):
        return None
    files = checked_files(task, raw, out)
    return files if len(files) == len(task.formats) else None


def chunks(tasks: list[Task], jobs: int) -> list[list[Task]]:
    """Group tasks by audience, focus and region, then cut each group into small chunks."""
    groups: dict[Group, list[Task]] = {}
    for task in tasks:
        groups.setdefault(task.group, []).append(task)
    result = []
    for members in groups.values():
        members = [replace(task, shared=len(members) > 1) for task in members]
        size = max(1, min(CHUNK, -(-len(members) // jobs)))
        result += [members[i : i + size] for i in range(0, len(members), size)]
    return result
