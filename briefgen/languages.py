"""Turn template folders and a content source into the table of languages briefgen can write.

For each language: how much of the message catalogue (the words templates add)
is translated, and how much of the content has a translation beside it.
``briefgen languages`` prints it; the catalogue counts are measured against the
built-in message template (``templates/locales/briefgen.pot``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from . import i18n
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


def catalogue_tags(search_path: tuple[Path, ...]) -> list[str]:
    """Languages with a compiled catalogue in the template folders."""
    tags = set()
    for folder in i18n.locale_dirs(search_path):
        if folder.is_dir():
            tags |= {
                child.name.replace("_", "-")
                for child in folder.iterdir()
                if (child / "LC_MESSAGES" / f"{i18n.DOMAIN}.mo").is_file()
            }
    return sorted(tags)


def coverage(search_path: tuple[Path, ...], content: Path | tuple[Path, ...]) -> list[Coverage]:
    """One :class:`Coverage` per language that has a catalogue or a content translation."""
    from babel import Locale

    from .errors import BriefgenError
    from .loader import load
    from .translate import available, content_in, records

    keys = _message_keys()
    loaded = load(content)
    all_records = records(loaded.data) if not loaded.problems else []
    own = str((loaded.data.get("strategy") or {}).get("language") or i18n.SOURCE_LANGUAGE)
    rows = []
    for tag in sorted({*catalogue_tags(search_path), *available(content), own}):
        done_keys = _translated_keys(tag, search_path)
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
                name=Locale.parse(tag.replace("-", "_")).get_display_name(tag.replace("-", "_")) or tag,
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

    done: set[tuple[str | None, str]] = set()
    for mo, folder in i18n.catalogue_files(tag, search_path):
        po = mo.with_suffix(".po")
        if not po.is_file():
            continue
        raw = opener.read(po, i18n.CATALOGUE_BYTES, "message catalogue", within=folder)
        for message in read_po(io.BytesIO(raw)):
            strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
            if message.id and all(strings):
                done.add((message.context, message.id if isinstance(message.id, str) else message.id[0]))
    return done
