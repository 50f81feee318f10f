"""Turn a stakeholder list (CSV or YAML) into validated stakeholder rows, or every problem with its place.

Columns (CSV header or YAML keys): ``id``, ``name``, ``organisation``,
``audience``, ``email``, ``country``, ``region``, ``sector``, ``focus``
(focus-area ids separated by ``;``, or a YAML list), ``formats``
(optional: ``pdf;docx``, or a YAML list) and ``language`` (optional: a BCP 47
tag such as ``fr`` or ``pt-PT``, checked and normalised by
:func:`briefgen.authoring.language_tag`; empty means the content's language). Ids
must be unique; audiences, focus areas and regions must exist in the content.
Every problem names the file, the line and the column of the value it is about
(in a CSV file the column is the cell's number, counted from 1, and the line is
where the cell starts; a cell a short row lacks is placed in its header column;
in a YAML list, the place of the key, or of the list item, or of the row when
the key is absent).

The list is read once through :mod:`briefgen.opener` (a regular file within
the ``content_mb`` limit, never a FIFO or a device) and everything is checked
before any work starts:

* every value is text on one line (no line breaks: they would break an e-mail
  header, a file name or a line of the brief), no control characters, no bytes
  that are not UTF-8, and at most 64 characters for an id, 320 for an
  address and 1,000 for anything else (:data:`MAX_CHARS`);
* in a YAML list every row is a mapping and every value is text (``focus`` and
  ``formats`` may also be lists of text), never a nested mapping or list;
* in a CSV file no column is unknown, unnamed or repeated, no row has more
  cells than the header and no quoted cell is left open;
* e-mail addresses are one bare address (no display name, comment, quotes or
  list), internationalised addresses included, whose domain is a valid host
  name (see :func:`address_problem`).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import limits, opener
from ..authoring import Unknowns, language_tag
from ..errors import SHOWN_CHARS, ContentError, Problem, shown
from ..loader import PathKey, display_name, dotted
from ..model import Strategy
from ..safe import XML_UNSAFE
from ..writers import FORMAT_NAMES
from .addresses import address_problem
from .csvcells import parse_csv

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
#: Columns added later: optional, and not part of :data:`COLUMNS`, the header lists have always had.
EXTRA_COLUMNS = ("language",)
#: Every column a list may have.
ALL_COLUMNS = (*COLUMNS, *EXTRA_COLUMNS)
REQUIRED = ("id", "name", "audience")
LIST_FIELDS = ("focus", "formats")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: The most characters a value may have (a list field counts its items joined with ``;``).
MAX_CHARS = {"id": 64, "email": 320}
DEFAULT_MAX_CHARS = 1000
#: Characters that end a line somewhere (Python, Unicode, e-mail headers); tab is allowed.
LINE_BREAK = re.compile("[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
#: A byte that was not UTF-8, kept by the ``surrogateescape`` decoder as U+DC80..U+DCFF.
_RAW_BYTE = re.compile("[\udc80-\udcff]")
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Stakeholder:
    """The person a brief is prepared for: one row of a stakeholder list, or ``build --name``.

    The one stakeholder type: the list reader makes it, tailoring puts it on the cover, the
    batch names files and groups briefs by it, and the e-mail template greets it.
    """

    name: str
    organisation: str | None = None
    sector: str | None = None
    country: str | None = None
    email: str | None = None
    id: str | None = None
    audience: str | None = None
    region: str | None = None
    focus: tuple[str, ...] = ()
    formats: tuple[str, ...] = ()
    language: str | None = None  # a BCP 47 tag; None: the content's language
    list_line: int | None = None  # where the row starts in its list

    @property
    def line(self) -> str:
        """'Name, Organisation' as shown on the cover."""
        return ", ".join(p for p in (self.name, self.organisation) if p)

    def reader(self) -> Stakeholder:
        """Only who the person is (name, organisation, sector, country, e-mail, id) and the
        language they read: what the e-mail template sees, the same whether the message is a
        draft or is sent from the manifest."""
        return Stakeholder(
            self.name,
            self.organisation,
            self.sector,
            self.country,
            self.email,
            self.id,
            language=self.language,
        )


@dataclass(frozen=True)
class Listing:
    """A validated list and the sha256 of the very bytes it was read from."""

    rows: list[Stakeholder]
    sha256: str


@dataclass(frozen=True)
class _Cell:
    """One raw value and where it starts; ``items`` holds the places of a YAML list's items."""

    value: Any
    line: int
    column: int
    items: tuple[tuple[int, int], ...] = ()


_Record = tuple[int, dict[str, _Cell]]


def _field(name: str) -> str:
    """A column or key name as a message's field path: itself when printable and short."""
    return name if name.isprintable() and 0 < len(name) <= SHOWN_CHARS else shown(name)


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in re.split(r"[;,]", value or "") if v.strip()))


# ----- reading CSV ------------------------------------------------------------------------------


class _TooMany(Exception):
    """More stakeholders than the limit: counted, never checked one by one."""

    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


def _read_csv(
    raw: bytes, name: str, problems: list[Problem], max_rows: int
) -> tuple[list[_Record], set[str]]:
    """The rows of a CSV list, and the required columns its header lacks (reported here once)."""
    text = raw.removeprefix(_BOM).decode("utf-8", "surrogateescape")
    records, unclosed = parse_csv(text)
    header_cells = records[0][1] if records else []
    header: list[str | None] = []
    first: dict[str, int] = {}
    for value, line, col in header_cells:
        key = value.strip().lower()
        control = XML_UNSAFE.search(key)
        message = _text_problem(key, DEFAULT_MAX_CHARS)
        if control and not message:
            message = f"control character U+{ord(control.group()):04X} is not allowed"
        if message:
            problems.append(Problem(name, line, col, "", f"column name: {message}"))
        elif not key:
            problems.append(Problem(name, line, col, "", "column without a name"))
        elif key not in ALL_COLUMNS:
            problems.append(Problem(name, line, col, _field(key), "unknown column"))
        elif key in first:
            problems.append(Problem(name, line, col, key, f"duplicate column (first is column {first[key]})"))
        else:
            first[key] = col
            header.append(key)
            continue
        header.append(None)
    absent = {column for column in REQUIRED if column not in first}
    for column in sorted(absent):
        problems.append(Problem(name, 1, 1, column, "required column is missing"))
    if unclosed:
        line, col = unclosed
        field = header[col - 1] if col <= len(header) and header[col - 1] else ""
        problems.append(
            Problem(name, line, col, field or "", "quoted cell is never closed (a '\"' is missing)")
        )
    count = sum(1 for _, cells in records[1:] if cells)
    if count > max_rows:
        raise _TooMany(count)
    rows: list[_Record] = []
    for start, cells in records[1:]:
        if not cells:
            continue
        if len(cells) > len(header):
            _, line, col = cells[len(header)]
            problems.append(
                Problem(name, line, col, "", f"more cells than columns ({len(header)} in the header)")
            )
        fields = {
            key: _Cell(value, line, col)
            for (value, line, col), key in zip(cells, header, strict=False)
            if key
        }
        last = cells[-1][1]  # a cell the row lacks is placed on its last line, in its header column
        for col, key in enumerate(header[len(cells) :], len(cells) + 1):
            if key:
                fields[key] = _Cell(None, last, col)
        rows.append((start, fields))
    return rows, absent


# ----- reading YAML -----------------------------------------------------------------------------


def _parse_yaml(raw: bytes, name: str) -> tuple[Any, dict[PathKey, tuple[str, int, int]], list[Problem]]:
    """The loader's checks and event walk on bytes already read."""
    from ..loader import parse_bytes

    return parse_bytes(raw, name)


def _read_yaml(
    raw: bytes, name: str, problems: list[Problem], max_rows: int
) -> tuple[list[_Record], set[str]]:
    """The rows of a YAML list (a list, or a mapping whose ``stakeholders`` is one)."""
    data, positions, found = _parse_yaml(raw, name)
    problems.extend(found)
    if found:
        return [], set()
    items = data.get("stakeholders") if isinstance(data, dict) else data
    if not isinstance(items, list):
        problems.append(Problem(name, 1, 1, "stakeholders", "expected a list of stakeholders"))
        return [], set()
    if len(items) > max_rows:
        raise _TooMany(len(items))
    rows: list[_Record] = []
    prefix: PathKey = ("stakeholders",) if isinstance(data, dict) else ()

    def place(path: PathKey, default: tuple[int, int]) -> tuple[int, int]:
        found = positions.get(path)
        return (found[1], found[2]) if found else default

    for i, item in enumerate(items):
        line, col = place((*prefix, i), (1, 1))
        if not isinstance(item, dict):
            message = f"expected a mapping of fields, not {_kind(item)}"
            problems.append(Problem(name, line, col, dotted((*prefix, i)), message))
            continue
        fields: dict[str, _Cell] = {}
        for key, value in item.items():
            key_line, key_col = place((*prefix, i, key), (line, col))
            if key not in ALL_COLUMNS:
                problems.append(Problem(name, key_line, key_col, _field(key), "unknown field"))
                continue
            spots: tuple[tuple[int, int], ...] = ()
            if isinstance(value, list):
                spots = tuple(place((*prefix, i, key, j), (key_line, key_col)) for j in range(len(value)))
            fields[key] = _Cell(value, key_line, key_col, spots)
        for key in ALL_COLUMNS:  # an absent key is placed at its row
            fields.setdefault(key, _Cell(None, line, col))
        rows.append((line, fields))
    return rows, set()


# ----- checking values --------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if value is None:
        return "an empty value"
    return "text" if isinstance(value, str) else f"a {type(value).__name__}"


def _text_problem(text: str, cap: int) -> str | None:
    """Why ``text`` cannot be a one-line value (None when it can); control characters are for the caller."""
    raw = _RAW_BYTE.search(text)
    if raw:
        return f"not UTF-8 (byte 0x{ord(raw.group()) - 0xDC00:02x})"
    if len(text) > cap:
        return f"{len(text):,} characters; at most {cap:,}"
    if XML_UNSAFE.search(text):
        return None
    found = LINE_BREAK.search(text)
    if found:
        return f"line break U+{ord(found.group()):04X} is not allowed (a value is one line)"
    return None


@dataclass
class _Value:
    """A field's value once its text is checked: ``text`` or ``items``; ``broken`` when refused.
    ``places`` holds where each item was written (a YAML list's item), when not at the cell."""

    text: str = ""
    items: tuple[str, ...] = ()
    broken: bool = False
    places: dict[str, tuple[int, int]] = field(default_factory=dict)


_Report = Callable[[str, str, "tuple[int, int]"], None]


def _check_cell(field: str, cell: _Cell, report: _Report) -> _Value:
    """Turn one raw value into checked text (or items); report each problem at its place."""
    cap = MAX_CHARS.get(field, DEFAULT_MAX_CHARS)
    value = cell.value
    here = (cell.line, cell.column)

    def text(raw: str, path: str, place: tuple[int, int]) -> str | None:
        stripped = raw.strip()
        message = _text_problem(stripped, cap)
        if message:
            report(path, message, place)
            return None
        control = XML_UNSAFE.search(stripped)
        if control:
            report(path, f"control character U+{ord(control.group()):04X} is not allowed", place)
            return None
        return stripped

    if value is None:
        return _Value()
    if field in LIST_FIELDS:
        if isinstance(value, str):
            checked = text(value, field, here)
            return _Value(items=_split(checked)) if checked is not None else _Value(broken=True)
        if not isinstance(value, list):
            report(field, f"expected text or a list of text, not {_kind(value)}", here)
            return _Value(broken=True)
        parts: list[str] = []
        places: dict[str, tuple[int, int]] = {}
        broken = False
        for j, item in enumerate(value):
            spot = cell.items[j] if j < len(cell.items) else here
            if not isinstance(item, str):
                report(f"{field}[{j}]", f"expected text, not {_kind(item)}", spot)
                broken = True
                continue
            checked = text(item, f"{field}[{j}]", spot)
            if checked is None:
                broken = True
            else:
                parts.append(checked)
                for part in _split(checked):
                    places.setdefault(part, spot)
        if broken:
            return _Value(broken=True)
        joined = ";".join(parts)
        if len(joined) > cap:
            report(field, f"{len(joined):,} characters in all; at most {cap:,}", here)
            return _Value(broken=True)
        return _Value(items=_split(joined), places=places)
    if not isinstance(value, str):
        report(field, f"expected text, not {_kind(value)}", here)
        return _Value(broken=True)
    checked = text(value, field, here)
    return _Value(text=checked) if checked is not None else _Value(broken=True)


def _refusal(exc: opener.InputRefused, path: Path) -> str:
    """The opener's one-line message without the path (the Problem names the file)."""
    message = exc.message.removeprefix(f"{path}: ")
    return f"{message} (content_mb in [limits])" if "limit" in message else message


def read(path: Path, strategy: Strategy, *, max_rows: int | None = None) -> Listing:
    """Read and validate a stakeholder list against ``strategy``; raise ContentError listing every problem.

    The file is read once (through :func:`briefgen.opener.read`); the listing
    carries the sha256 of those bytes.
    """
    name = display_name(path)
    try:
        raw = opener.read(path, limits.current().content_bytes)
    except opener.InputRefused as exc:
        raise ContentError([Problem(name, 1, 1, "", _refusal(exc, path))]) from None
    problems: list[Problem] = []
    max_rows = max_rows or limits.current().stakeholders
    reader = _read_yaml if Path(path).suffix.lower() in (".yaml", ".yml") else _read_csv
    try:
        records, absent = reader(raw, name, problems, max_rows)
    except _TooMany as many:
        problems.append(Problem(name, 1, 1, "", f"{many.count:,} stakeholders; the limit is {max_rows:,}"))
        raise ContentError(problems) from None
    rows = _validate(records, strategy, name, problems, absent)
    if problems:
        raise ContentError(problems)
    return Listing(rows, hashlib.sha256(raw).hexdigest())


def load(path: Path, strategy: Strategy, *, max_rows: int | None = None) -> list[Stakeholder]:
    """Read and validate a stakeholder list against ``strategy``; raise ContentError listing every problem."""
    return read(path, strategy, max_rows=max_rows).rows


def _validate(
    records: list[_Record], strategy: Strategy, name: str, problems: list[Problem], absent: set[str]
) -> list[Stakeholder]:
    """Check every row's values against the content; columns in ``absent`` are already reported.
    Each problem is placed at the value it is about (see the module's docstring)."""
    audiences = tuple(sorted(strategy.audiences))
    areas = tuple(sorted(a.id for a in strategy.focus_areas))
    regions = tuple(sorted(r.id for r in strategy.regions))
    known = (audiences, frozenset(areas), frozenset(regions))
    formats = tuple(sorted(FORMAT_NAMES))
    unknown = Unknowns().message
    seen: dict[str, int] = {}
    rows: list[Stakeholder] = []
    for line, cells in records:

        def at(field: str, cells: dict[str, _Cell] = cells, line: int = line) -> tuple[int, int]:
            cell = cells.get(field)
            return (cell.line, cell.column) if cell else (line, 1)

        def bad(field: str, message: str, place: tuple[int, int] | None = None) -> None:
            row_line, col = place or at(field)
            problems.append(Problem(name, row_line, col, field, message))

        values = {field: _check_cell(field, cell, bad) for field, cell in cells.items()}
        broken = {field for field, value in values.items() if value.broken}

        def text(field: str, values: dict[str, _Value] = values) -> str:
            value = values.get(field)
            return value.text if value else ""

        def items(field: str, values: dict[str, _Value] = values) -> tuple[str, ...]:
            value = values.get(field)
            return value.items if value else ()

        def item_at(field: str, item: str, values: dict[str, _Value] = values) -> tuple[int, int]:
            value = values.get(field)
            return value.places.get(item) or at(field) if value else at(field)

        for column in REQUIRED:
            if column not in broken and column not in absent and not text(column):
                bad(column, "required value is missing")
        ident = text("id")
        if ident and not ID_RE.match(ident):
            bad("id", f"{shown(ident)} is not a valid id (letters, digits, '.', '_' or '-', at most 64)")
        if ident in seen:
            bad("id", f"duplicate id {shown(ident)} (first on line {seen[ident]})")
        elif ident:
            seen[ident] = line
        audience = text("audience")
        if audience and audience not in known[0]:
            bad("audience", unknown("audience", audience, audiences))
        focus = items("focus")
        for value in focus:
            if value not in known[1]:
                bad("focus", unknown("focus area", value, areas), item_at("focus", value))
        region = text("region") or None
        if region and region not in known[2]:
            bad("region", unknown("region", region, regions))
        email = unicodedata.normalize("NFC", text("email")) or None
        if email:
            reason = address_problem(email)
            if reason:
                bad("email", f"{shown(email)} is not an e-mail address ({reason})")
        chosen = tuple(f.lower() for f in items("formats"))
        for value, written in zip(chosen, items("formats"), strict=True):
            if value not in FORMAT_NAMES:
                bad("formats", unknown("format", value, formats), item_at("formats", written))
        language = None
        if text("language"):
            try:
                language = language_tag(text("language"))
            except ValueError as exc:
                bad("language", str(exc))
        rows.append(
            Stakeholder(
                list_line=line,
                id=ident,
                name=text("name"),
                audience=audience,
                organisation=text("organisation") or None,
                email=email,
                country=text("country") or None,
                region=region,
                sector=text("sector") or None,
                focus=focus,
                formats=chosen,
                language=language,
            )
        )
    return rows
