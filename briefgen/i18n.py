"""Turn a BCP 47 language tag into a Language: the brief's message catalogue and locale formatting.

Everything a template writes that is not content comes from a gettext
catalogue (``locales/LANG/LC_MESSAGES/briefgen.mo`` in the template folders,
user folders first, then the built-in templates), compiled by Babel from
``.po`` files. Formatting comes from Babel's CLDR data: dates (``5 juin
2025``), numbers and lists of names (``A, B et C``). The catalogue also holds
what CLDR does not give: number words (``pgettext("number word", "3")``) and
quotation marks (``pgettext("quotation marks", "“ ” ‘ ’")``).

A language without a catalogue keeps the English messages; ``briefgen
languages`` shows what each catalogue covers.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import RenderError, shown

if TYPE_CHECKING:
    from babel import Locale
    from babel.support import Translations

DOMAIN = "briefgen"
#: The language messages are written in (msgids), and the default of content.
SOURCE_LANGUAGE = "en"
#: Largest catalogue read (a compiled .mo); the shipped ones are ~10 KB.
CATALOGUE_BYTES = 2 * 1024 * 1024
#: Counts spelled out when the catalogue gives a word (``pgettext("number word", "3")``).
NUMBER_WORDS_UP_TO = 12
#: Locale used for formatting a bare language whose CLDR default is not the EU's usage.
FORMAT_LOCALE = {"en": "en_001"}


def locale_dirs(search_path: Iterable[Path]) -> tuple[Path, ...]:
    """The catalogue folders of a template search path, in lookup order."""
    return tuple(Path(folder) / "locales" for folder in search_path)


def _candidates(tag: str) -> list[str]:
    """Catalogue folder names for a tag, most specific first: fr-BE -> fr_BE, fr."""
    parts = tag.replace("-", "_").split("_")
    return ["_".join(parts[:n]) for n in range(len(parts), 0, -1)]


def _read_catalogue(path: Path, folder: Path) -> Translations:
    """Read one compiled catalogue through the opener and check it; a broken one is a one-line error.

    The opener refuses a link out of the ``locales`` folder, a FIFO, a device and a
    file over :data:`CATALOGUE_BYTES`; then the catalogue must parse and every
    message must pass :func:`_message_problem`, and its plural rule must give a
    number for the counts a brief uses.
    """
    from babel.support import Translations

    from . import opener

    raw = opener.read(path, CATALOGUE_BYTES, "message catalogue", within=folder)
    try:
        found = Translations(io.BytesIO(raw), domain=DOMAIN)
    except Exception as exc:  # a corrupt or hostile .mo: struct errors, bad plural forms, bad charset
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise RenderError(f"{path}: not a compiled message catalogue ({reason})") from None
    try:
        for n in PLURAL_PROBES:
            found.plural(n)
    except Exception as exc:  # n%0, n/(n-3): a Plural-Forms rule that fails on a count
        reason = f"{type(exc).__name__}: {exc}"
        raise RenderError(f"{path}: its Plural-Forms rule fails for {n} ({reason})") from None
    for key, text in getattr(found, "_catalog", {}).items():
        message, plural = (key, False) if isinstance(key, str) else (str(key[0]), True)
        problem = _message_problem(message, text, plural) if message else None
        if problem:
            raise RenderError(f"{path}: message {shown(message)}: {problem}")
    return found


#: Counts a catalogue's plural rule is tried on when it is read (briefs count a few items).
PLURAL_PROBES = (*range(0, 201), 1_000, 10_000, 100_000, 1_000_000)
#: A printf conversion as Jinja's newstyle gettext applies it to every message (``%%`` included).
_CONVERSION = re.compile(r"%(%|(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d*))?[hlL]?[a-zA-Z]?)")
#: A placeholder a plural translation may use (its msgid_plural is not kept in a compiled catalogue).
_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
#: Line breaks other than ``\n``, and control characters: never in a translation.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _message_problem(message: str, text: str, plural: bool) -> str | None:
    """What is wrong with ``text`` as the translation of ``message``, or None.

    Jinja formats every message with ``%`` (newstyle gettext) and writes it into
    HTML, CSS strings, Word footers and e-mail subjects, so a translation may use
    only the placeholders its message uses, written the same way (no width that
    would build a gigabyte from ``%(name)999999999s``), ``%%`` for a percent sign,
    and no control character or line break the message does not have.
    """
    source = message.split("\x04", 1)[-1]  # a pgettext key is "context\x04message"
    bad = _CONTROL.search(text)
    if bad:
        return f"the translation holds the control character U+{ord(bad.group()):04X}"
    if "\n" in text and "\n" not in source:
        return "the translation has a line break the message does not have"
    allowed = {m.group() for m in _CONVERSION.finditer(source) if m.group(1) != "%"}
    for found in _CONVERSION.finditer(text):
        spec = found.group()
        if found.group(1) == "%" or spec in allowed or (plural and _PLACEHOLDER.fullmatch(spec)):
            continue
        if not found.group(1):
            return "a lone '%' in the translation: write '%%' for a percent sign"
        return f"{spec!r} in the translation is not a placeholder of the message ('%%' is a percent sign)"
    return None


def catalogue_files(tag: str, search_path: tuple[Path, ...]) -> list[tuple[Path, Path]]:
    """(catalogue, its locales folder) pairs for ``tag``, most specific and user folders first.

    Whatever stands at a catalogue's place is listed (a link, a FIFO, a folder), so that
    reading it refuses it by name rather than passing over it in silence.
    """
    found = []
    for name in _candidates(tag):
        for folder in locale_dirs(search_path):
            path = folder / name / "LC_MESSAGES" / f"{DOMAIN}.mo"
            if os.path.lexists(path):
                found.append((path, folder))
    return found


@dataclass(frozen=True)
class Language:
    """One brief language: its tag, Babel locale and catalogue."""

    tag: str
    locale: Locale
    translations: Translations

    # messages (each checked: Jinja formats it with %, outside the sandbox) ---------
    def gettext(self, message: str) -> str:
        return _bounded(self.translations.ugettext(message))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _bounded(self.translations.ungettext(singular, plural, n))

    def pgettext(self, context: str, message: str) -> str:
        return _bounded(self.translations.upgettext(context, message))

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return _bounded(self.translations.unpgettext(context, singular, plural, n))

    # formatting ------------------------------------------------------------
    def date(self, value: dt.date | None) -> str:
        """A date as this language writes it in running text: 5 June 2025, 5 juin 2025."""
        from babel.dates import format_date

        return format_date(value, format="long", locale=self.format_locale) if value is not None else ""

    def names(self, items: Iterable[str], style: str = "standard") -> str:
        """A list of names joined as the language does: A, B and C; A, B et C."""
        from babel.lists import format_list

        values = [str(v) for v in items if v]
        return format_list(values, style=style, locale=self.format_locale) if values else ""

    def series(self, items: Iterable[str]) -> str:
        """Titles in a row, joined by the language's separator ("A; B"; "A ; B" in French)."""
        return self.pgettext("list separator", "; ").join(str(v) for v in items if v)

    def number(self, value: float | int) -> str:
        """A number with the language's separators: 12,500 / 12 500 / 12.500."""
        from babel.numbers import format_decimal

        return format_decimal(value, locale=self.format_locale)

    def number_word(self, value: int) -> str:
        """A small count as the catalogue spells it ("three", "trois"); digits otherwise."""
        if 0 <= value <= NUMBER_WORDS_UP_TO:
            return self.pgettext("number word", str(value))
        return self.number(value)

    @property
    def quotes(self) -> tuple[str, str, str, str]:
        """Opening and closing marks, outer then inner (“ ” ‘ ’; «  » “ ” in French)."""
        marks = self.pgettext("quotation marks", "“ ” ‘ ’").split(" ")
        if len(marks) != 4 or not all(marks):
            marks = ["“", "”", "‘", "’"]
        return (marks[0], marks[1], marks[2], marks[3])

    def quote(self, text: str) -> str:
        opening, closing, _, _ = self.quotes
        return f"{opening}{text}{closing}"

    @functools.cached_property
    def format_locale(self) -> Locale:
        from babel import Locale

        override = FORMAT_LOCALE.get(str(self.locale))
        return Locale.parse(override) if override else self.locale


def _bounded(text: str) -> str:
    """``text``, unless a printf width or precision in it would build a huge string when Jinja
    formats it (a template's own ``_("%(x)999999999s")`` as much as a catalogue's)."""
    if "%" in text:
        from .sandbox import MAX_VALUE, LimitError

        for found in _CONVERSION.finditer(text):
            sizes = re.findall(r"\d+", re.sub(r"^\([^)]*\)", "", found.group(1)))
            if any(len(n) > 7 or int(n) > MAX_VALUE for n in sizes):
                raise LimitError(f"a message's format width or precision is above {MAX_VALUE:,}")
    return text


def page_label_parts(label: str) -> list[str]:
    """Split a translated "Page %(page)s of %(pages)s" into text and the two counters.

    Returns a list whose items are plain text, ``"\\0page"`` or ``"\\0pages"``;
    the PDF stylesheet and the Word footer are both built from it.
    """
    import re

    parts: list[str] = []
    for piece in re.split(r"(%\((?:page|pages)\)s)", label):
        if piece == "%(page)s":
            parts.append("\0page")
        elif piece == "%(pages)s":
            parts.append("\0pages")
        elif piece:
            parts.append(piece.replace("%%", "%"))
    return parts


@functools.lru_cache(maxsize=32)
def language(tag: str, search_path: tuple[Path, ...]) -> Language:
    """The Language for ``tag`` with catalogues from ``search_path`` (chained, most specific first)."""
    from babel import Locale, UnknownLocaleError
    from babel.support import NullTranslations

    try:
        locale = Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError) as exc:
        raise RenderError(f"language {tag!r}: not a language Babel knows ({exc})") from None
    chain: Any = None
    for path, folder in catalogue_files(tag, search_path):
        found = _read_catalogue(path, folder)
        if chain is None:
            chain = found
        else:
            chain.add_fallback(found)
    return Language(tag=tag, locale=locale, translations=chain or NullTranslations())


def _messages_made_at_run_time(lang: Language) -> None:  # pragma: no cover - read by pybabel extract
    """The messages whose ids are computed, spelled out so that extraction finds them."""
    lang.gettext("Page %(page)s of %(pages)s")
    for word in (
        lang.pgettext("number word", "0"),
        lang.pgettext("number word", "1"),
        lang.pgettext("number word", "2"),
        lang.pgettext("number word", "3"),
        lang.pgettext("number word", "4"),
        lang.pgettext("number word", "5"),
        lang.pgettext("number word", "6"),
        lang.pgettext("number word", "7"),
        lang.pgettext("number word", "8"),
        lang.pgettext("number word", "9"),
        lang.pgettext("number word", "10"),
        lang.pgettext("number word", "11"),
        lang.pgettext("number word", "12"),
    ):
        del word


def gettext_callables(lang: Language) -> dict[str, Callable[..., Any]]:
    """The callables Jinja's i18n extension installs for ``lang``."""
    return {
        "gettext": lang.gettext,
        "ngettext": lang.ngettext,
        "pgettext": lang.pgettext,
        "npgettext": lang.npgettext,
    }
