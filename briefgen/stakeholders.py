"""Turn a stakeholder list (CSV or YAML) into validated stakeholder rows, or every problem with its line.

Columns (CSV header or YAML keys): ``id``, ``name``, ``organisation``,
``audience``, ``email``, ``country``, ``region``, ``sector``, ``focus``
(focus-area ids separated by ``;``) and ``formats`` (optional: ``pdf;docx``).
Ids must be unique; audiences, focus areas and regions must exist in the
content. Every problem names the file, the line and the column.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import limits
from .errors import ContentError, Problem
from .loader import UNSAFE_TEXT, display_name, load_file
from .model import Strategy

COLUMNS = (
    "id",
    "name",
    "organisation",
    "audience",
    "email",
    "country",
    "region",
    "sector",
    "focus",
    "formats",
)
REQUIRED = ("id", "name", "audience")
FORMATS = ("html", "pdf", "docx")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
EMAIL_RE = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


@dataclass(frozen=True)
class Row:
    """One validated stakeholder."""

    line: int
    id: str
    name: str
    audience: str
    organisation: str | None = None
    email: str | None = None
    country: str | None = None
    region: str | None = None
    sector: str | None = None
    focus: tuple[str, ...] = ()
    formats: tuple[str, ...] = ()


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in re.split(r"[;,]", value or "") if v.strip()))


def _read_csv(path: Path, name: str, problems: list[Problem]) -> list[tuple[int, dict[str, Any]]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.append(Problem(name, line, 1, "", f"not UTF-8 (byte 0x{raw[exc.start]:02x})"))
        return []
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    unknown = [h for h in header if h not in COLUMNS]
    for column in unknown:
        problems.append(Problem(name, 1, header.index(column) + 1, column, "unknown column"))
    for column in REQUIRED:
        if column not in header:
            problems.append(Problem(name, 1, 1, column, "required column is missing"))
    reader.fieldnames = header
    rows = []
    for record in reader:
        if record.get(None):
            problems.append(Problem(name, reader.line_num, 1, "", "more cells than columns"))
        rows.append((reader.line_num, {k: (v or "").strip() for k, v in record.items() if k}))
    return rows


def _read_yaml(path: Path, name: str, problems: list[Problem]) -> list[tuple[int, dict[str, Any]]]:
    data, positions, found = load_file(path)
    problems.extend(found)
    if found:
        return []
    items = data.get("stakeholders") if isinstance(data, dict) else data
    if not isinstance(items, list):
        problems.append(Problem(name, 1, 1, "stakeholders", "expected a list of stakeholders"))
        return []
    rows = []
    prefix = ("stakeholders",) if isinstance(data, dict) else ()
    for i, item in enumerate(items):
        line = positions.get((*prefix, i), (name, 1, 1))[1]
        if not isinstance(item, dict):
            problems.append(Problem(name, line, 1, f"[{i}]", "expected a mapping"))
            continue
        for key in item:
            if key not in COLUMNS:
                problems.append(Problem(name, positions[(*prefix, i, key)][1], 1, key, "unknown field"))
        rows.append((line, {k: ";".join(v) if isinstance(v, list) else (v or "") for k, v in item.items()}))
    return rows


def load(path: Path, strategy: Strategy, *, max_rows: int | None = None) -> list[Row]:
    """Read and validate a stakeholder list against ``strategy``; raise ContentError listing every problem."""
    name = display_name(path)
    problems: list[Problem] = []
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ContentError([Problem(name, 1, 1, "", f"cannot read: {exc.strerror}")]) from None
    max_rows = max_rows or limits.current().stakeholders
    max_bytes = limits.current().content_bytes
    if size > max_bytes:
        message = f"file is {size:,} bytes; the limit is {max_bytes:,} (content_mb in [limits])"
        raise ContentError([Problem(name, 1, 1, "", message)])
    reader = _read_yaml if path.suffix.lower() in (".yaml", ".yml") else _read_csv
    records = reader(path, name, problems)
    if len(records) > max_rows:
        problems.append(Problem(name, 1, 1, "", f"{len(records):,} stakeholders; the limit is {max_rows:,}"))
        raise ContentError(problems)
    audiences = sorted(strategy.audiences)
    areas = [a.id for a in strategy.focus_areas]
    regions = [r.id for r in strategy.regions]
    seen: dict[str, int] = {}
    rows: list[Row] = []
    for line, record in records:

        def bad(field: str, message: str, line: int = line) -> None:
            problems.append(Problem(name, line, 1, field, message))

        for column in REQUIRED:
            if not record.get(column):
                bad(column, "required value is missing")
        for column, value in record.items():
            found = UNSAFE_TEXT.search(value) if isinstance(value, str) else None
            if found:
                bad(column, f"control character U+{ord(found.group()):04X} is not allowed")
        ident = record.get("id", "")
        if ident and not ID_RE.match(ident):
            bad("id", f"{ident!r} is not a valid id (letters, digits, '.', '_' or '-', at most 64)")
        if ident in seen:
            bad("id", f"duplicate id {ident!r} (first on line {seen[ident]})")
        elif ident:
            seen[ident] = line
        audience = record.get("audience", "")
        if audience and audience not in audiences:
            bad("audience", f"unknown audience {audience!r} (known: {', '.join(audiences)})")
        focus = _split(record.get("focus"))
        for value in focus:
            if value not in areas:
                bad("focus", f"unknown focus area {value!r} (known: {', '.join(areas)})")
        region = record.get("region") or None
        if region and region not in regions:
            bad("region", f"unknown region {region!r} (known: {', '.join(regions)})")
        email = record.get("email") or None
        if email and not EMAIL_RE.match(email):
            bad("email", f"{email!r} is not an e-mail address")
        formats = tuple(f.lower() for f in _split(record.get("formats")))
        for value in formats:
            if value not in FORMATS:
                bad("formats", f"unknown format {value!r} (known: {', '.join(FORMATS)})")
        rows.append(
            Row(
                line=line,
                id=ident,
                name=record.get("name", ""),
                audience=audience,
                organisation=record.get("organisation") or None,
                email=email,
                country=record.get("country") or None,
                region=region,
                sector=record.get("sector") or None,
                focus=focus,
                formats=formats,
            )
        )
    if problems:
        raise ContentError(problems)
    return rows
