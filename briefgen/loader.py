"""Turn YAML content files into plain data with a source position for every node.

The loader walks PyYAML's event stream itself instead of using a constructor,
which makes the dangerous and surprising parts of YAML impossible:

* no tags: ``!!python/object`` and every other explicit tag is an error;
* no anchors or aliases, so alias bombs cannot expand;
* duplicate mapping keys are errors;
* every plain scalar stays text (``No``, ``0755``, ``1e3`` are strings); only
  ``null``/``~``/an empty value become ``None``. Types come from the model;
* nesting deeper than :data:`MAX_DEPTH` and files larger than the ``content_mb``
  limit (:mod:`briefgen.limits`)
  are refused, and so are bytes that are not UTF-8, anything but a regular file
  (``/dev/zero``, a FIFO), and characters text cannot hold (control characters,
  lone surrogates), written raw or as escapes.

The loader also gives advice on the text itself, reported with the model's
problems rather than instead of them: a folded scalar (``>``, ``>-``) whose
folding joins Markdown list lines into one run-on paragraph.

Several files merge into one document: top-level keys must be unique across
files, except ``audiences``, whose entries may live one per file.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import limits, opener
from .errors import Problem
from .safe import XML_UNSAFE

MAX_DEPTH = 40
MERGED_KEYS = frozenset({"audiences"})
NULLS = frozenset({"", "~", "null", "Null", "NULL"})
#: Characters YAML refuses in a file (it allows tab, line breaks and printable text).
UNPRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

PathKey = tuple[str | int, ...]


@dataclass
class Loaded:
    """Merged raw data plus where each node came from."""

    data: dict[str, Any] = field(default_factory=dict)
    positions: dict[PathKey, tuple[str, int, int]] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: Problems in the text that leave the data usable (folded lists): reported with the model's.
    advice: list[Problem] = field(default_factory=list)
    digest: str = ""  # sha256 over each file's name and the bytes read, in order

    def locate(self, path: PathKey) -> tuple[str, int, int]:
        """Return the position of ``path`` or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            found = self.positions.get(tuple(path[:end]))
            if found:
                return found
        return (str(self.files[0]) if self.files else "<content>", 1, 1)

    def problem(self, path: PathKey, message: str) -> Problem:
        file, line, col = self.locate(path)
        return Problem(file, line, col, dotted(path), message)


def dotted(path: PathKey) -> str:
    """Render a field path as ``a.b[2].c``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _Refused(Exception):
    def __init__(self, mark: Any, message: str, path: PathKey = ()) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message
        self.path = path


def content_files(source: Path) -> list[Path]:
    """List the YAML files of a content source (a file or a folder, sorted)."""
    if source.is_dir():
        return sorted(p for p in source.iterdir() if p.suffix in {".yaml", ".yml"} and not p.is_dir())
    return [source]


def display_name(path: Path) -> str:
    """Show a path relative to the working folder when it is inside it (by its own name, not a
    link's target, so a planted link is reported where it was planted)."""
    here = Path(os.getcwd())
    for candidate, base in ((Path(os.path.abspath(path)), here), (path.resolve(), here.resolve())):
        try:
            return str(candidate.relative_to(base))
        except ValueError:
            continue
    return os.fspath(path)


def load_file(
    path: Path, within: Path | None = None
) -> tuple[Any, dict[PathKey, tuple[str, int, int]], list[Problem]]:
    """Parse one YAML file into plain data and positions; never raise on bad YAML.

    A file found in a content folder (``within``) must really lie in it: a
    link out of the folder is refused, as is anything but a regular file.
    """
    raw, problems = read_file(path, within)
    return parse_bytes(raw, display_name(path)) if raw is not None else (None, {}, problems)


def read_file(path: Path, within: Path | None = None) -> tuple[bytes | None, list[Problem]]:
    """The bytes of one content file, read once through the opener, or the problem that stops it."""
    name = display_name(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            return None, [Problem(name, 1, 1, "", "not a regular file")]
        limit = limits.current().content_bytes
        if info.st_size > limit:
            message = f"file is {info.st_size:,} bytes; the limit is {limit:,} (content_mb in [limits])"
            return None, [Problem(name, 1, 1, "", message)]
        if within is not None and not opener.inside(path, within):
            return None, [Problem(name, 1, 1, "", "a link out of its content folder; not read")]
        return opener.read(path, limit, within=within), []
    except opener.InputRefused as exc:
        message = exc.message.removeprefix(f"{path}: ")
        if "over the limit" in message or "past the limit" in message:
            message = f"file is over the limit of {limit:,} bytes (content_mb in [limits])"
        return None, [Problem(name, 1, 1, "", message)]
    except OSError as exc:
        return None, [Problem(name, 1, 1, "", f"cannot read: {exc.strerror}")]


def parse_bytes(raw: bytes, name: str) -> tuple[Any, dict[PathKey, tuple[str, int, int]], list[Problem]]:
    """Parse YAML bytes already read (shown as ``name``) into plain data and positions; never raise.

    The checks of :func:`load_file` after the read: UTF-8 (a byte-order mark is
    dropped), no control characters, then the safe event walk. When the data is
    None the problems say why; problems returned with data are advice on the text
    (a folded scalar that swallows list lines) and leave the data usable.
    """
    import yaml

    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, {}, [Problem(name, line, col, "", f"not UTF-8 (byte 0x{raw[exc.start]:02x})")]
    bad = UNPRINTABLE.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        col = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
        message = f"character U+{ord(bad.group()):04X} is not allowed in YAML"
        return None, {}, [Problem(name, line, col, "", message)]

    positions: dict[PathKey, tuple[str, int, int]] = {}
    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        events = yaml.parse(text, Loader=loader_cls)
        advice: list[Problem] = []
        data = _build(events, name, positions, _Source(text), advice)
    except _Refused as exc:
        line, col = (exc.mark.line + 1, exc.mark.column + 1) if exc.mark else (1, 1)
        return None, positions, [Problem(name, line, col, dotted(exc.path), exc.message)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return None, positions, [Problem(name, line, col, "", f"YAML syntax: {exc.problem or exc.context}")]
    except yaml.YAMLError as exc:
        return None, positions, [Problem(name, 1, 1, "", f"YAML: {exc}")]
    return data, positions, advice if data is not None else []


#: How YAML ends a line (the marks of both parsers count these).
_YAML_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
#: A Markdown list item: a bullet or a number with a dot or parenthesis, a space, then text.
_LIST_LINE = re.compile(r"(?:[-*+]|[0-9]{1,9}[.)])[ \t]+\S")
FOLDED_LIST = "folded text (>) joins these list lines into one paragraph; use | to keep the lines"


class _Source:
    """The lines of the text being parsed, split once and only when a folded scalar needs them."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._lines: list[str] | None = None

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = _YAML_BREAK.split(self.text)
        return self._lines


def swallowed_list_line(lines: list[str], event: Any) -> tuple[int, int] | None:
    """Where a folded scalar first joins a list line to the line before it (1-based line and
    column), or None. Folding joins two lines at the scalar's indentation with no blank line
    between; a more-indented line, and the lines after a blank one, keep their line breaks."""
    value = event.value.lstrip("\n")
    first = value.split("\n", 1)[0]
    extra = len(first) - len(first.lstrip(" "))  # how far the first line is indented past the block
    end = event.end_mark.line + (1 if event.end_mark.column else 0)
    indent: int | None = None
    joined = False  # whether the line before was a line that folding joins to the next
    for number in range(event.start_mark.line + 1, min(end, len(lines))):
        line = lines[number]
        if not line.strip():
            joined = False
            continue
        if indent is None:
            indent = len(line) - len(line.lstrip(" ")) - extra
        if len(line) - len(line.lstrip(" ")) < indent:
            break  # a comment or the next key: the scalar has ended
        body = line[indent:]
        if body[:1] in (" ", "\t"):
            joined = False  # a more-indented line keeps its line breaks
            continue
        if joined and _LIST_LINE.match(body):
            return number + 1, indent + 1
        joined = True
    return None


def _build(
    events: Any,
    name: str,
    positions: dict[PathKey, tuple[str, int, int]],
    source: _Source | None = None,
    advice: list[Problem] | None = None,
) -> Any:
    """Build data from a YAML event stream, recording the position of every node (and, given
    the source and a list for advice, each folded scalar that swallows list lines)."""
    import yaml

    documents: list[Any] = []

    def node(event: Any, path: PathKey, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise _Refused(event.start_mark, f"nesting deeper than {MAX_DEPTH} levels")
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(event.start_mark, "aliases (*name) are not allowed in content")
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise _Refused(event.start_mark, f"anchors (&{anchor}) are not allowed in content")
        tag = getattr(event, "tag", None)
        if tag is not None:
            raise _Refused(event.start_mark, f"tags ({tag}) are not allowed in content")
        if isinstance(event, yaml.ScalarEvent):
            positions[path] = (name, event.start_mark.line + 1, event.start_mark.column + 1)
            bad = XML_UNSAFE.search(event.value)
            if bad:
                where = path[:-1] if path and path[-1] == "\0key" else path
                raise _Refused(
                    event.start_mark, f"character U+{ord(bad.group()):04X} is not allowed in text", where
                )
            if not event.style and event.value in NULLS:
                return None
            if event.style == ">" and source is not None and advice is not None and path[-1:] != ("\0key",):
                found = swallowed_list_line(source.lines, event)
                if found:
                    advice.append(Problem(name, found[0], found[1], dotted(path), FOLDED_LIST))
            return event.value
        positions[path] = (name, event.start_mark.line + 1, event.start_mark.column + 1)
        if isinstance(event, yaml.SequenceStartEvent):
            items: list[Any] = []
            for child in iterator:
                if isinstance(child, yaml.SequenceEndEvent):
                    return items
                items.append(node(child, (*path, len(items)), depth + 1))
        if isinstance(event, yaml.MappingStartEvent):
            mapping: dict[str, Any] = {}
            for key_event in iterator:
                if isinstance(key_event, yaml.MappingEndEvent):
                    return mapping
                if not isinstance(key_event, yaml.ScalarEvent):
                    raise _Refused(key_event.start_mark, "mapping keys must be plain text")
                key = node(key_event, (*path, "\0key"), depth + 1)
                key = "" if key is None else key
                key_pos = (name, key_event.start_mark.line + 1, key_event.start_mark.column + 1)
                if key in mapping:
                    first = positions.get((*path, key), key_pos)
                    raise _Refused(
                        key_event.start_mark,
                        f"duplicate key {key!r} (first defined at line {first[1]})",
                    )
                value = node(next(iterator), (*path, key), depth + 1)
                # Point at the key rather than the value: that is where authors look.
                positions[(*path, key)] = key_pos
                mapping[key] = value
        raise _Refused(getattr(event, "start_mark", None), f"unexpected YAML event {type(event).__name__}")

    iterator = iter(events)
    for event in iterator:
        if isinstance(event, yaml.DocumentStartEvent):
            body = next(iterator)
            if isinstance(body, yaml.DocumentEndEvent):
                documents.append(None)
                continue
            documents.append(node(body, (), 0))
            next(iterator)  # DocumentEndEvent
            if len(documents) > 1:
                raise _Refused(body.start_mark, "a content file holds one YAML document")
    positions.pop(("\0key",), None)
    return documents[0] if documents else None


def load(source: Path | tuple[Path, ...]) -> Loaded:
    """Load content files or folders (merged in order); collect every problem, not just the first."""
    result = Loaded()
    files: list[Path] = []
    folders: dict[Path, Path] = {}
    for item in source if isinstance(source, tuple) else (source,):
        if not item.exists():
            result.problems.append(Problem(display_name(item), 1, 1, "", "no such file or folder"))
            continue
        found = content_files(item)
        if not found:
            result.problems.append(Problem(display_name(item), 1, 1, "", "no .yaml files in this folder"))
        files += [f for f in found if f not in files]
        if item.is_dir():
            folders.update({f: item for f in found})
    result.files = files
    if result.problems or not files:
        return result
    owners: dict[PathKey, str] = {}
    digest = hashlib.sha256()
    for path in files:
        raw, problems = read_file(path, folders.get(path))
        if raw is not None:  # the digest is of the very bytes parsed, never of a second read
            digest.update(path.name.encode() + b"\0" + raw + b"\0")
            data, positions, problems = parse_bytes(raw, display_name(path))
            if data is not None:  # advice on the text: the data is still merged and checked
                result.advice.extend(problems)
                problems = []
        result.problems.extend(problems)
        if problems:
            continue
        name = display_name(path)
        if data is None:
            result.problems.append(Problem(name, 1, 1, "", "file is empty"))
            continue
        if not isinstance(data, dict):
            result.problems.append(Problem(name, 1, 1, "", "the top level must be a mapping of keys"))
            continue
        for key, value in data.items():
            if key in MERGED_KEYS and isinstance(value, dict):
                target = result.data.setdefault(key, {})
                if not isinstance(target, dict):
                    continue
                for sub, subvalue in value.items():
                    clash = owners.get((key, sub))
                    if clash:
                        _, line, col = positions[(key, sub)]
                        result.problems.append(
                            Problem(name, line, col, dotted((key, sub)), f"already defined in {clash}")
                        )
                        continue
                    owners[(key, sub)] = name
                    target[sub] = subvalue
                    _copy_positions(positions, result.positions, (key, sub))
                result.positions.setdefault((key,), positions[(key,)])
                continue
            clash = owners.get((key,))
            if clash:
                _, line, col = positions[(key,)]
                result.problems.append(Problem(name, line, col, key, f"already defined in {clash}"))
                continue
            owners[(key,)] = name
            result.data[key] = value
            _copy_positions(positions, result.positions, (key,))
    result.digest = digest.hexdigest()
    return result


def _copy_positions(src: dict[PathKey, Any], dst: dict[PathKey, Any], prefix: PathKey) -> None:
    n = len(prefix)
    for path, pos in src.items():
        if path[:n] == prefix:
            dst[path] = pos
