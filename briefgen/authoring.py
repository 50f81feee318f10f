"""Turn what an author wrote into checked values, or a one-line message saying what to write instead.

The checks behind the content model's fields and the stakeholder list's columns:

* :func:`language_tag`: a BCP 47 tag whose language Babel (CLDR) knows, in its
  usual case (``fr-fr`` -> ``fr-FR``); ``en_GB`` and ``english`` get a suggestion;
* :func:`iso_date`: a date written only as YYYY-MM-DD, never a number, a Unix
  timestamp or a date and time;
* :func:`inline_problem`: Markdown shown inside a paragraph, a list item or a
  table cell holds no list, heading-like block or second paragraph;
* :class:`Unknowns`: "unknown region 'x'; did you mean 'y'? (known: ...)", the
  suggestions of one report sharing a budget so thousands of broken names stay quick.

Every message quotes at most :data:`briefgen.errors.SHOWN_CHARS` characters of
what was written and holds no line break.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
from collections.abc import Iterable
from typing import Any

from .errors import shown

# ----- inline Markdown ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _block_parser() -> Any:
    """A plain CommonMark parser (HTML off) that sees the blocks a text would make."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False})


#: Block tokens that an inline field cannot show, and what to call them.
_NOT_INLINE = {
    "bullet_list_open": "a list",
    "ordered_list_open": "a list",
    "heading_open": "a heading",
    "blockquote_open": "a quote block",
    "code_block": "an indented code block",
    "fence": "a code block",
    "hr": "a horizontal rule",
}


def inline_problem(text: str) -> str | None:
    """Why ``text`` cannot be shown inline (None when it can): a list, a heading-like block or
    a second paragraph would be flattened into one run of text."""
    if "\n" not in text and not re.match(r"\s*(?:[-*+>#]|[0-9]{1,9}[.)]|`{3}|~{3}|_{3})", text):
        return None  # one line that starts no block: one paragraph
    tokens = _block_parser().parse(text)
    lines = text.split("\n")  # as markdown-it counts lines
    paragraphs = 0
    for token in tokens:
        if token.level != 0:
            continue
        found = _NOT_INLINE.get(token.type)
        if token.type == "paragraph_open":
            paragraphs += 1
            found = "a second paragraph" if paragraphs > 1 else None
        if found:
            start = token.map[0] if token.map else 0
            line = lines[start].strip() if start < len(lines) else ""
            where = f" ({shown(line)}, line {start + 1} of the text)" if line else ""
            fix = "write one paragraph (emphasis and links are fine)"
            number = re.match(r"([0-9]{1,9})([.)])", line) if token.type == "ordered_list_open" else None
            if number:
                fix += f"; to start a line with a number, write {number[1]}\\{number[2]}"
            return f"shown inline: {found} is not allowed here{where}; {fix}"
    return None


# ----- language tags ------------------------------------------------------------------------------

#: What a language tag looks like, for messages.
BCP47_HINT = (
    "a BCP 47 tag is a language code, then optionally a script and a region, joined by '-', "
    "e.g. en, fr-FR, pt-PT, sr-Latn-RS"
)
#: language, script, region and variants (the groups of a match, in that order).
TAG_PATTERN = (
    r"^([A-Za-z]{2,3})(?:-([A-Za-z]{4}))?(?:-([A-Za-z]{2}|[0-9]{3}))?"
    r"((?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*)$"
)
_TAG = re.compile(TAG_PATTERN)
#: The longest tag looked at; anything longer is refused without parsing.
MAX_TAG = 35


@functools.lru_cache(maxsize=1)
def _cldr() -> tuple[frozenset[str], frozenset[str], frozenset[str], dict[str, str]]:
    """Language, script and region codes Babel (CLDR) knows, and English language names."""
    from babel import Locale

    english = Locale("en")
    languages = frozenset(code for code in english.languages if "_" not in code)
    names = {name.lower(): code for code, name in english.languages.items() if "_" not in code}
    return languages, frozenset(english.scripts), frozenset(english.territories), names


def _known_language(code: str) -> bool:
    from babel import localedata

    return code in _cldr()[0] or localedata.exists(code)


def language_tag(value: str) -> str:
    """Check a BCP 47 language tag and return it in its usual case (``fr-fr`` -> ``fr-FR``).

    Accepted: a language code Babel (CLDR) knows, optionally followed by a script
    (``Latn``), a region (``FR``, ``419``) and variants, joined by ``-``. Raises
    :class:`ValueError` with a one-line message saying what is wrong and what a
    tag looks like, with a suggestion when one is plain (``en_GB``, ``english``).
    """
    if not isinstance(value, str):
        raise ValueError(f"expected a language tag as text; {BCP47_HINT}")
    text = value.strip()
    if not text:
        raise ValueError(f"empty language tag; {BCP47_HINT}")
    if len(text) > MAX_TAG:
        raise ValueError(f"{shown(text)} is not a language tag ({len(text):,} characters); {BCP47_HINT}")
    match = _TAG.match(text) if text.isascii() else None
    if match is None:
        if "_" in text:
            try:
                fixed = language_tag(text.replace("_", "-"))
            except ValueError:
                pass
            else:
                raise ValueError(
                    f"{shown(text)} is not a language tag: did you mean {fixed!r}? (use '-', not '_')"
                )
        named = _cldr()[3].get(text.lower())
        if named:
            raise ValueError(f"{shown(text)} is not a language tag: did you mean {named!r}? ({BCP47_HINT})")
        raise ValueError(f"{shown(text)} is not a language tag; {BCP47_HINT}")
    language, script, region, variants = match.groups()
    language = language.lower()
    if not _known_language(language):
        what = shown(text) if text.lower() == language else f"{language!r} in {shown(text)}"
        raise ValueError(f"{what} is not a known language code; {BCP47_HINT}")
    parts = [language]
    _, scripts, regions, _ = _cldr()
    if script:
        script = script.title()
        if script not in scripts:
            raise ValueError(f"{script!r} in {shown(text)} is not a known script code; {BCP47_HINT}")
        parts.append(script)
    if region:
        region = region.upper()
        if region not in regions:
            hint = " (the United Kingdom is GB)" if region == "UK" else ""
            raise ValueError(f"{region!r} in {shown(text)} is not a known region code{hint}; {BCP47_HINT}")
        parts.append(region)
    parts += [v.lower() for v in variants.split("-") if v]
    return "-".join(parts)


# ----- dates -------------------------------------------------------------------------------------

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def iso_date(value: Any) -> dt.date:
    """A date written as YYYY-MM-DD (a ``date`` passes); anything else (nothing, a number, a Unix
    timestamp, a date and time, 5 June 2025) raises :class:`ValueError` saying what was written."""
    if value is None:
        raise ValueError("no date: use YYYY-MM-DD")
    if isinstance(value, dt.datetime):
        raise ValueError(f"{value.isoformat()} is a date and time: use YYYY-MM-DD")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if _ISO_DATE.fullmatch(text):
            try:
                return dt.date.fromisoformat(text)
            except ValueError as exc:
                raise ValueError(f"{shown(text)} is not a date ({exc}): use YYYY-MM-DD") from None
        if not text:
            raise ValueError("no date: use YYYY-MM-DD")
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.+Z-]*", text):
            raise ValueError(f"{shown(text)} is a date and time: use YYYY-MM-DD (the date alone)")
        if re.fullmatch(r"[+-]?[0-9]+(\.[0-9]*)?", text):
            raise ValueError(f"{shown(text)} is a number, not a date: use YYYY-MM-DD")
        raise ValueError(f"{shown(text)} is not a date: use YYYY-MM-DD")
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"{value!r} is a number, not a date: use YYYY-MM-DD")
    what = "a list" if isinstance(value, list | tuple) else "a mapping" if isinstance(value, dict) else None
    raise ValueError(f"{what or shown(repr(value))} is not a date: use YYYY-MM-DD")


def optional_date(value: Any) -> dt.date | None:
    return None if value is None else iso_date(value)


# ----- names -------------------------------------------------------------------------------------

#: How many known names a message lists in full.
LISTED = 15


#: A number as content writes it: digits, an optional point and decimals, an optional exponent.
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def number_value(value: Any) -> float | None:
    """A chart value as a float: a YAML number, or text that is one (``3``, ``0.20``, ``-1e3``);
    ``None`` for anything else (words, ``.nan``, ``true``, an empty value)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and NUMBER.fullmatch(value.strip()):
        return float(value)
    return None


def chart_number(value: Any) -> float:
    """:func:`number_value` for the model: a number, or an error saying how to write one."""
    found = number_value(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("a value is missing: give a number for every label")
    if found is None:
        raise ValueError(f"{shown(str(value))} is not a number: write digits, e.g. 3 or 0.20")
    return found


def did_you_mean(value: str, known: Iterable[str]) -> str | None:
    """The known name closest to ``value`` (case aside), when one is close enough."""
    choices = list(known)
    if not isinstance(value, str) or not choices or len(value) > 200:
        return None
    lowered = {c.lower(): c for c in choices}
    if value.lower() in lowered:
        return lowered[value.lower()]
    close = difflib.get_close_matches(value.lower().replace("_", "-"), list(lowered), n=1, cutoff=0.75)
    if not close:
        close = difflib.get_close_matches(value.lower().replace("-", "_"), list(lowered), n=1, cutoff=0.75)
    return lowered[close[0]] if close else None


def known_list(known: Iterable[str]) -> str:
    """Known names for a message: all of them when few, else the first :data:`LISTED` and a count.
    A tuple is taken as already sorted."""
    names = known if isinstance(known, tuple) else sorted(known)
    if not names:
        return "none defined"
    if len(names) <= LISTED:
        return ", ".join(names)
    return f"{', '.join(names[:LISTED])} and {len(names) - LISTED:,} more"


#: How many known names the suggestions of one report may compare against, in all: about a
#: second of work, so thousands of broken names among thousands of known ones stay quick.
SUGGESTION_BUDGET = 20_000


class Unknowns:
    """Messages about unknown names for one report, whose suggestions share a budget."""

    def __init__(self, budget: int = SUGGESTION_BUDGET) -> None:
        self.left = budget

    def message(self, kind: str, value: str, known: Iterable[str], where: str = "known") -> str:
        """``unknown region 'x'; did you mean 'y'? (known: ...)``; ``known`` sorted when a tuple."""
        names = known if isinstance(known, tuple) else tuple(sorted(known))
        close = None
        if self.left >= len(names):
            self.left -= len(names)
            close = did_you_mean(value, names)
        hint = f"; did you mean {close!r}?" if close else ""
        return f"unknown {kind} {shown(value)}{hint} ({where}: {known_list(names)})"


def unknown(kind: str, value: str, known: Iterable[str], where: str = "known") -> str:
    """``unknown region 'x'; did you mean 'y'? (known: ...)`` for one name that is not defined."""
    return Unknowns().message(kind, value, known, where)
