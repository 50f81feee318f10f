"""Turn template folders and a content source into the table of languages briefgen can write.

For each language: how much of the message catalogue (the words templates add)
is translated, and how much of the content has a translation beside it.
``briefgen languages`` prints it; the catalogue counts are measured against the
built-in message template (``templates/locales/briefgen.pot``).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

from . import i18n
from .errors import shown
from .paths import builtin_templates


@dataclass(frozen=True)
class Coverage:
    """What briefgen has for one language."""

    tag: str
    name: str
    messages: int
    messages_total: int
    records: int | None  # None: no content translation; for the source language, every record
    records_total: int
    source: bool


def _message_keys() -> list[tuple[str | None, str]]:
    """(context, msgid) of every message the built-in templates and code use."""
    from babel.messages.pofile import read_po

    with open(builtin_templates() / "locales" / f"{i18n.DOMAIN}.pot", "rb") as handle:
        catalogue = read_po(handle)
    return [(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in catalogue if m.id]


def _tag(name: str) -> str | None:
    """The language tag a folder name spells (``fr_BE`` -> ``fr-BE``), or None (``notes``)."""
    from .model import language_tag

    try:
        return language_tag(name.replace("_", "-"))
    except ValueError:
        return None


def catalogue_tags(search_path: tuple[Path, ...]) -> list[str]:
    """Languages with a compiled catalogue in the template folders (folders whose names are not
    language tags are no language's catalogue)."""
    tags = set()
    for folder in i18n.locale_dirs(search_path):
        if folder.is_dir():
            for child in folder.iterdir():
                tag = _tag(child.name)
                if tag and os.path.lexists(child / "LC_MESSAGES" / f"{i18n.DOMAIN}.mo"):
                    tags.add(tag)
    return sorted(tags)


def _own_language(data: object) -> str:
    """The content's language as a tag; the default when it is missing or not a tag (``briefgen
    validate`` reports that)."""
    strategy = data.get("strategy") if isinstance(data, dict) else None
    raw = strategy.get("language") if isinstance(strategy, dict) else None
    tag = _tag(raw) if isinstance(raw, str) else None
    if raw is not None and tag is None:
        from .log import warn

        warn("strategy.language %s is not a language tag; run briefgen validate", shown(str(raw)))
    return tag or i18n.SOURCE_LANGUAGE


def _display_name(tag: str) -> str:
    """The language's name in itself (``français (Belgique)``); the tag when Babel has none."""
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(tag.replace("-", "_")).get_display_name(tag.replace("-", "_")) or tag
    except (UnknownLocaleError, ValueError, TypeError):
        return tag


def _catalogue_problem(tag: str, search_path: tuple[Path, ...]) -> str | None:
    """Why ``tag``'s catalogues cannot be used by a build, or None."""
    from .errors import BriefgenError

    try:
        i18n.language(tag, search_path)
    except BriefgenError as exc:
        return exc.message
    return None


def coverage(search_path: tuple[Path, ...], content: Path | tuple[Path, ...]) -> list[Coverage]:
    """One :class:`Coverage` per language that has a catalogue or a content translation."""
    from .errors import BriefgenError
    from .loader import load
    from .log import warn
    from .translate import available, content_in, records

    keys = _message_keys()
    loaded = load(content)
    all_records = records(loaded.data) if not loaded.problems else []
    own = _own_language(loaded.data)
    rows = []
    for tag in sorted({*catalogue_tags(search_path), *available(content), own}):
        problem = _catalogue_problem(tag, search_path)
        if problem:
            warn("language %s: %s", tag, problem)
        done_keys = set() if problem else _translated_keys(tag, search_path)
        done = sum(1 for key in keys if key in done_keys)
        source = tag.split("-")[0] == own.split("-")[0]
        translated: int | None = len(all_records) if source else None
        if not source and tag in available(content):
            try:
                missing = content_in(content, tag).missing
                translated = len(all_records) - len({m.split(" (")[0] for m in missing})
            except BriefgenError:
                translated = 0
        rows.append(
            Coverage(
                tag=tag,
                name=_display_name(tag),
                messages=done,
                messages_total=len(keys),
                records=translated,
                records_total=len(all_records),
                source=source,
            )
        )
    return rows


def _translated_keys(tag: str, search_path: tuple[Path, ...]) -> set[tuple[str | None, str]]:
    """(context, msgid) of the messages translated in ``tag``'s .po files (beside the .mo files)."""
    from babel.messages.pofile import read_po

    from . import opener
    from .log import warn

    done: set[tuple[str | None, str]] = set()
    for mo, folder in i18n.catalogue_files(tag, search_path):
        po = mo.with_suffix(".po")
        if not po.is_file():
            continue
        try:
            raw = opener.read(po, i18n.CATALOGUE_BYTES, "message catalogue", within=folder)
            messages = list(read_po(io.BytesIO(raw)))
        except opener.InputRefused as exc:
            warn("%s; its messages are not counted", exc.message)
            continue
        except Exception as exc:  # a broken .po: bad encoding, syntax Babel gives up on
            warn("%s: cannot be read as a .po file (%s); its messages are not counted", po, exc)
            continue
        for message in messages:
            strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
            if message.id and all(strings):
                done.add((message.context, message.id if isinstance(message.id, str) else message.id[0]))
    return done
