"""Turn a file-name pattern and a stakeholder into a safe, unique file stem.

A pattern such as ``{organisation}-{audience}`` is filled from a stakeholder's
fields, then made safe for every common file system and mail client: Unicode
normalised to NFC, path separators, control characters and characters Windows
refuses replaced, no leading dots (no hidden files, no ``..``) and no trailing
dots or spaces (Windows drops them), never a Windows device name (see
:func:`is_reserved`: ``CON``, ``nul.tar.gz``, ``COM¹``...), and at most
:data:`MAX_BYTES` bytes of UTF-8, suffixes from :func:`assign` included.
Stems that would collide on a case-insensitive or normalising file system
(``Zoë`` typed as NFC or NFD, ``ACME`` and ``acme``) are told apart
deterministically with the stakeholder's id.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable, Mapping

from .errors import UsageError

DEFAULT_PATTERN = "{organisation}-{name}"
FIELDS = ("id", "name", "organisation", "audience", "country", "region", "sector")
MAX_BYTES = 120
#: Windows device names (compared case-insensitively), the superscript digits included.
RESERVED = {
    "con", "prn", "aux", "nul", "conin$", "conout$",
    *(f"com{i}" for i in (*"0123456789", "\u00b9", "\u00b2", "\u00b3")),
    *(f"lpt{i}" for i in (*"0123456789", "\u00b9", "\u00b2", "\u00b3")),
}  # fmt: skip
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*\u0085\u2028\u2029]')
_SPACES = re.compile(r"[\s\u00a0]+")
_RUNS = re.compile(r"([-_.])[-_.]+")
#: A fallback (a stakeholder id) that is already a safe stem and is kept as it is.
_PLAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9_-])?")


def check_pattern(pattern: str) -> None:
    """Refuse a pattern with unknown or malformed placeholders (a usage error naming ``--name``)."""
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        raise UsageError(f"--name: {exc} in {pattern!r}") from None
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in FIELDS or spec or conversion:
            known = ", ".join(f"{{{f}}}" for f in FIELDS)
            raise UsageError(f"--name: unknown placeholder {{{field}}} in {pattern!r}; use {known}")
    if not any(field for _, field, _, _ in parsed):
        raise UsageError(f"--name: {pattern!r} has no placeholder, so every file would get the same name")


def is_reserved(name: str) -> bool:
    """Whether Windows takes the file ``name`` for a device: its part before the first dot, less
    trailing spaces, is a device name in any case (``CON``, ``con.txt``, ``NUL .tar.gz``, ``COM¹``)."""
    return name.split(".", 1)[0].rstrip(" ").casefold() in RESERVED


def _unreserve(stem: str) -> str:
    """``stem`` with ``_`` after its part before the first dot when that part is a device name."""
    if not is_reserved(stem):
        return stem
    head, dot, rest = stem.partition(".")
    return _fit(f"{head}_", f"{dot}{rest}")


def _fit(stem: str, suffix: str) -> str:
    """``stem + suffix`` within :data:`MAX_BYTES` (whole characters cut from the end), never
    ending in a dot or a space."""
    encoded = (stem + suffix).encode("utf-8")
    if len(encoded) <= MAX_BYTES:
        return stem + suffix
    return encoded[:MAX_BYTES].decode("utf-8", "ignore").rstrip(". ")


def _clean(text: str) -> str:
    stem = _SPACES.sub("-", unicodedata.normalize("NFC", text))
    stem = "".join(ch for ch in stem if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    stem = _UNSAFE.sub("-", stem)
    stem = _RUNS.sub(r"\1", stem)
    stem = stem.strip("-_. ")
    encoded = stem.encode("utf-8")
    if len(encoded) > MAX_BYTES:
        stem = encoded[:MAX_BYTES].decode("utf-8", "ignore").rstrip("-_. ")
    return stem


def safe_stem(text: str, fallback: str) -> str:
    """Make ``text`` a safe file stem (no extension); ``fallback`` when nothing usable is left."""
    stem = _clean(text)
    if not stem:
        stem = fallback if _PLAIN.fullmatch(fallback) else (_clean(fallback) or "_")
    return _unreserve(stem)


def fill(pattern: str, fields: Mapping[str, str | None]) -> str:
    """Fill ``pattern`` from ``fields``; an empty field leaves no stray separators behind."""
    values = {key: (fields.get(key) or "") for key in FIELDS}
    return pattern.format(**values)


def collision_key(stem: str) -> str:
    """Two stems with the same key would name the same file on some file system."""
    return unicodedata.normalize("NFC", stem).casefold()


def _suffixed(stem: str, suffix: str) -> str:
    """``stem + suffix`` within :data:`MAX_BYTES`: the end of ``stem`` makes room for ``suffix``."""
    room = MAX_BYTES - len(suffix.encode("utf-8"))
    encoded = stem.encode("utf-8")
    if len(encoded) > room:
        stem = encoded[: max(room, 0)].decode("utf-8", "ignore").rstrip("-_. ")
    return stem + suffix


def assign(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Give each ``(id, stem)`` a unique stem, in order: later collisions get ``-<id>`` (then ``-2``...);
    a suffix takes its room from the end of the stem, so every stem stays within :data:`MAX_BYTES`."""
    taken: set[str] = set()
    result: dict[str, str] = {}
    for ident, stem in items:
        candidate = stem
        if collision_key(candidate) in taken:
            candidate = safe_stem(_suffixed(stem, f"-{ident}"), ident)
        number = 2
        base = candidate
        while collision_key(candidate) in taken:
            candidate = _unreserve(_suffixed(base, f"-{number}"))
            number += 1
        taken.add(collision_key(candidate))
        result[ident] = candidate
    return result
