"""Turn a content source and a language into that language's content: source text overlaid by a translation.

A content folder may hold one sub-folder per language (``content/fr/``) whose
YAML files overlay the source text, records keyed by id (the format is in
``docs/translations.md``). :func:`content_in` merges the overlay into the raw
source data, checks every overlay node against the source (unknown keys and
ids, untranslatable fields, lists whose length references depend on), then
validates the merged data like any content, so a problem in a translation is
reported at the translation file's line and column. What the overlay does not
translate keeps its source text and is listed in :attr:`Translated.missing`.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

from . import opener
from .errors import ContentError, Problem
from .loader import Loaded, PathKey, display_name, load

#: Fields a translation never writes: identity, structure and references.
NOT_TRANSLATED = frozenset(
    {
        "id",
        "kind",
        "presented",
        "date",
        "language",
        "template",
        "objectives",
        "focus_areas",
        "regions",
        "refs",
        "figures",
        "source",
        "values",
        "currency",
        "decimals",
    }
)
#: Lists of records keyed by id in an overlay (every other list is text or positional).
RECORD_LISTS = frozenset(
    {
        "objectives",
        "focus_areas",
        "sections",
        "recommendations",
        "regions",
        "policy_areas",
        "initiatives",
        "figures",
    }
)


@dataclass
class Translated:
    """A language's merged raw content, where each node came from, and what stayed untranslated."""

    language: str
    loaded: Loaded
    folders: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    untouched: list[str] = field(default_factory=list)  # records with no translated text at all


def same_tag(name: str, tag: str) -> bool:
    """Whether a folder name spells the language tag (``fr_BE``, ``fr-be`` and ``fr-BE`` are one)."""
    return name.replace("_", "-").lower() == tag.replace("_", "-").lower()


def _language_folders(item: Path) -> list[tuple[Path, bool]]:
    """The sub-folders of content folder ``item`` with whether each may be read: a symbolic link
    is followed only when it leads to a folder inside ``item`` (``fr-BE -> fr``)."""
    if not item.is_dir():
        return []
    found = []
    for child in sorted(item.iterdir()):
        if child.is_symlink():
            if opener.inside(child, item):
                if child.is_dir():
                    found.append((child, True))
            else:
                found.append((child, False))
        elif child.is_dir():
            found.append((child, True))
    return found


def _overlay(source: Path | tuple[Path, ...], tag: str) -> tuple[list[Path], list[Problem]]:
    """The translation folders of ``tag`` (``fr-BE`` first, then ``fr``) and the links refused."""
    sources = source if isinstance(source, tuple) else (source,)
    tags = [tag] + ([tag.split("-")[0]] if "-" in tag else [])
    for wanted in tags:
        found: list[Path] = []
        refused: list[Problem] = []
        for item in sources:
            for child, readable in _language_folders(item):
                if not same_tag(child.name, wanted):
                    continue
                if readable:
                    found.append(child)
                else:
                    refused.append(
                        Problem(display_name(child), 1, 1, "", "a link out of its content folder; not read")
                    )
        if found or refused:
            return found, refused
    return [], []


def overlay_folders(source: Path | tuple[Path, ...], tag: str) -> list[Path]:
    """The translation folders of ``tag`` beside the content folders: ``fr-BE`` first, then ``fr``."""
    return _overlay(source, tag)[0]


def available(source: Path | tuple[Path, ...]) -> list[str]:
    """Language tags (normalised) that have a translation folder beside the content; a sub-folder
    whose name is not a language tag (``notes``, ``drafts``) is not a translation."""
    from .model import language_tag

    sources = source if isinstance(source, tuple) else (source,)
    tags = set()
    for item in sources:
        for child, readable in _language_folders(item):
            if not readable or not any(p.suffix in {".yaml", ".yml"} for p in child.iterdir()):
                continue
            try:
                tags.add(language_tag(child.name.replace("_", "-")))
            except ValueError:
                continue
    return sorted(tags)


def content_in(source: Path | tuple[Path, ...], tag: str, loaded: Loaded | None = None) -> Translated:
    """Load ``source`` (unless ``loaded`` is it, already read) and overlay its ``tag`` translation;
    raise :class:`ContentError` on any problem.

    The source is validated on its own first, so a problem in the source is never
    reported as the translation's.
    """
    loaded = load(source) if loaded is None else loaded
    if loaded.problems:
        raise ContentError(loaded.problems)
    result = Translated(language=tag, loaded=loaded)
    folders, refused = _overlay(source, tag)
    if refused:
        raise ContentError(refused)
    if not folders:
        result.missing = ["(no translation: every text stays in the source language)"]
        result.untouched = records(loaded.data)
        return result
    overlay = load(tuple(folders))
    if overlay.problems:
        raise ContentError(overlay.problems)
    merger = _Merger(overlay)
    merged = merger.node(loaded.data, overlay.data, (), ())
    if merger.problems:
        raise ContentError(merger.problems)
    positions = dict(loaded.positions)
    positions.update(merger.positions)
    digest = hashlib.sha256((loaded.digest + overlay.digest).encode()).hexdigest()
    result.loaded = replace(
        loaded, data=merged, positions=positions, files=[*loaded.files, *overlay.files], digest=digest
    )
    if hasattr(loaded, "advice"):  # the loader's advice on the text (folded lists) covers both
        result.loaded.advice = [*loaded.advice, *overlay.advice]
    result.folders = folders
    result.missing = _untranslated(loaded.data, merger.given)
    touched = {_record_of(loaded.data, path)[0] for path in merger.given}
    result.untouched = [record for record in records(loaded.data) if record not in touched]
    return result


class _Merger:
    """Walks source and overlay together; collects problems, positions and the text paths given."""

    def __init__(self, overlay: Loaded) -> None:
        self.overlay = overlay
        self.problems: list[Problem] = []
        self.positions: dict[PathKey, tuple[str, int, int]] = {}
        self.given: set[PathKey] = set()

    def problem(self, over_path: PathKey, message: str) -> None:
        self.problems.append(self.overlay.problem(over_path, message))

    def moved(self, src_path: PathKey, over_path: PathKey) -> None:
        """Record that the overlay node at ``over_path`` now sits at ``src_path``."""
        n = len(over_path)
        for path, pos in self.overlay.positions.items():
            if path[:n] == over_path:
                self.positions[(*src_path, *path[n:])] = pos

    def node(self, src: Any, over: Any, src_path: PathKey, over_path: PathKey) -> Any:
        if isinstance(src, dict):
            return self.mapping(src, over, src_path, over_path)
        if isinstance(src, list):
            return self.sequence(src, over, src_path, over_path)
        if not isinstance(over, str) or not over.strip():
            self.problem(over_path, "a translation is text")
            return src
        self.moved(src_path, over_path)
        self.given.add(src_path)
        return over

    def mapping(self, src: dict, over: Any, src_path: PathKey, over_path: PathKey) -> dict:
        if not isinstance(over, dict):
            self.problem(over_path, "expected a mapping of fields, as in the source")
            return src
        merged = dict(src)
        for key, value in over.items():
            where = (*over_path, key)
            if key in NOT_TRANSLATED and not (
                key in RECORD_LISTS and isinstance(src.get(key), list) and _records(src[key])
            ):
                self.problem(
                    where, f"{key!r} is not translated: ids, references, dates and kinds come from the source"
                )
                continue
            if key not in src:
                self.problem(where, f"{key!r} is not in the source content{_did_you_mean(key, src)}")
                continue
            if value is None:
                continue
            if key in RECORD_LISTS and isinstance(src[key], list) and _records(src[key]):
                merged[key] = self.records(src[key], value, (*src_path, key), where)
            elif isinstance(src[key], dict) and key == "audiences":
                merged[key] = self.keyed(src[key], value, (*src_path, key), where, "audience")
            else:
                merged[key] = self.node(src[key], value, (*src_path, key), where)
        return merged

    def keyed(self, src: dict, over: Any, src_path: PathKey, over_path: PathKey, kind: str) -> dict:
        if not isinstance(over, dict):
            self.problem(over_path, f"expected each {kind} keyed by its id")
            return src
        merged = dict(src)
        for key, value in over.items():
            if key not in src:
                self.problem((*over_path, key), f"no {kind} {key!r} in the source{_did_you_mean(key, src)}")
                continue
            merged[key] = self.node(src[key], value, (*src_path, key), (*over_path, key))
        return merged

    def records(self, src: list, over: Any, src_path: PathKey, over_path: PathKey) -> list:
        if not isinstance(over, dict):
            self.problem(over_path, "expected records keyed by their id (id: {fields}), not a list")
            return src
        index = {item.get("id"): i for i, item in enumerate(src) if isinstance(item, dict)}
        merged = list(src)
        for key, value in over.items():
            if key not in index:
                self.problem(
                    (*over_path, key), f"no record with id {key!r} in the source{_did_you_mean(key, index)}"
                )
                continue
            i = index[key]
            merged[i] = self.node(src[i], value, (*src_path, i), (*over_path, key))
        return merged

    def sequence(self, src: list, over: Any, src_path: PathKey, over_path: PathKey) -> list:
        if not isinstance(over, list):
            self.problem(over_path, "expected a list, as in the source")
            return src
        if not over:
            self.problem(over_path, "an empty list: leave the field out to keep the source text")
            return src
        if all(isinstance(item, str) for item in src):  # a list of text: replaced whole
            if not all(isinstance(item, str) and item.strip() for item in over):
                self.problem(over_path, "a list of text translates to a list of text")
                return src
            self.moved(src_path, over_path)
            self.given.add(src_path)
            return list(over)
        if len(over) != len(src):  # entries and table rows: references hang on their places
            self.problem(over_path, f"has {len(over)} items; the source has {len(src)}, in the same order")
            return src
        return [
            self.node(s, o, (*src_path, i), (*over_path, i))
            for i, (s, o) in enumerate(zip(src, over, strict=True))
        ]


def _records(items: list) -> bool:
    return bool(items) and all(isinstance(item, dict) and isinstance(item.get("id"), str) for item in items)


def _did_you_mean(key: Any, known: Any) -> str:
    close = difflib.get_close_matches(str(key), [str(k) for k in known], n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _text_paths(node: Any, path: PathKey, out: list[PathKey]) -> None:
    """Every translatable text node under ``node`` (lists of text count as one node)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key not in NOT_TRANSLATED or (
                key in RECORD_LISTS and isinstance(value, list) and _records(value)
            ):
                _text_paths(value, (*path, key), out)
    elif isinstance(node, list):
        if node and all(isinstance(item, str) for item in node):
            out.append(path)
        else:
            for i, item in enumerate(node):
                _text_paths(item, (*path, i), out)
    elif isinstance(node, str):
        out.append(path)


def _record_of(data: Any, path: PathKey) -> tuple[str, str]:
    """The record a text path belongs to, named by ids, and its field:
    ``("audiences.business.recommendations.biz-x", "actions")``."""
    names: list[str] = []
    record_end = 1
    node = data
    for part in path:
        if isinstance(node, list) and isinstance(part, int) and part < len(node):
            item = node[part]
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                names.append(item["id"])
                record_end = len(names)
            else:
                names.append(str(part))
            node = item
        elif isinstance(node, dict) and part in node:
            names.append(str(part))
            node = node[part]
            if len(names) == 2 and names[0] == "audiences":
                record_end = 2
        else:
            break
    field_parts = [n for n in names[record_end:] if not n.isdigit()]
    return ".".join(names[:record_end]), (field_parts[0] if field_parts else names[-1])


def records(data: Any) -> list[str]:
    """Every record of raw content that has text to translate, named by ids, in source order."""
    paths: list[PathKey] = []
    _text_paths(data, (), paths)
    return list(dict.fromkeys(_record_of(data, path)[0] for path in paths))


def _untranslated(data: Any, given: set[PathKey]) -> list[str]:
    """The records with at least one text the overlay did not give, with those fields, in source order."""
    paths: list[PathKey] = []
    _text_paths(data, (), paths)
    missing: dict[str, dict[str, None]] = {}
    for path in paths:
        if path not in given:
            record, name = _record_of(data, path)
            missing.setdefault(record, {}).setdefault(name)
    return [f"{record} ({', '.join(fields)})" for record, fields in missing.items()]


#: Untranslated records named in the warning before "and N more".
SHOWN_MISSING = 8


def untranslated_warning(
    tag: str, missing: list[str], audiences: tuple[str, ...] | None = None
) -> str | None:
    """One line naming what a ``tag`` brief takes from the source text (None: nothing).

    ``audiences``: the audiences being built; another audience's untranslated records
    are not in these briefs, so they are not named.
    """
    if audiences is not None:
        missing = [
            m for m in missing if not m.startswith("audiences.") or m.split(".")[1].split(" ")[0] in audiences
        ]
    if not missing:
        return None
    if missing[0].startswith("(no translation"):
        return (
            f"language {tag}: the content has no {tag} translation; every text stays in the source language"
        )
    shown = ", ".join(missing[:SHOWN_MISSING])
    more = f" and {len(missing) - SHOWN_MISSING} more" if len(missing) > SHOWN_MISSING else ""
    return f"language {tag}: {len(missing)} record(s) not translated, the source text is used: {shown}{more}"


class InLanguage(NamedTuple):
    """Content in one language: the normalised tag, what keeps the source text (records with
    their fields, for the warning) and the records wholly in the source language (for ``lang``)."""

    content: Any
    language: str
    untranslated: list[str]
    source_text: frozenset[str]


def validated(source: Path | tuple[Path, ...], tag: str | None) -> InLanguage:
    """The validated content of ``source`` in language ``tag`` (None: its own language).

    ``untranslated`` is empty when the brief is in the source language or the
    translation is complete.
    """
    from .validate import Content, checked, problems_from_model

    loaded = load(source)  # read once: validated on its own first, then overlaid
    content = checked(loaded)  # the source's problems are reported as its own
    own = content.strategy.strategy.language
    if tag is None:
        return InLanguage(content, own, [], frozenset())
    if tag.split("-")[0].lower() == own.split("-")[0].lower():
        return InLanguage(content, tag, [], frozenset())  # same language, perhaps other formats: no overlay
    translated = content_in(source, tag, loaded)
    strategy, problems = problems_from_model(translated.loaded)
    if problems or strategy is None:
        raise ContentError(problems)
    merged = Content(strategy, tuple(translated.loaded.files), translated.loaded.digest)
    return InLanguage(merged, tag, translated.missing, frozenset(translated.untouched))
