"""Turn the preview page's switchers (query parameters) into a checked :class:`Choice`, and the
content into the :class:`Menu` the switchers offer.

Query parameters are untrusted: the whole query is capped at :data:`MAX_QUERY` characters, each
value at :data:`MAX_VALUE`, an unknown parameter or a repeated one is refused, and every id must
be one the menu offers (an audience, focus area, region, language or stakeholder of the content
and list). A refusal is one line naming the parameter, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..stakeholders import Stakeholder

MAX_QUERY = 2000
MAX_VALUE = 200
PARAMETERS = ("audience", "focus", "region", "length", "language", "stakeholder")
LENGTHS = ("full", "summary")


class Refused(Exception):
    """A switcher value that cannot be used; the message is one line for the reader."""


@dataclass(frozen=True)
class Choice:
    """What the brief is tailored to: one audience, focus areas, region, length, language, stakeholder."""

    audience: str
    focus: tuple[str, ...] = ()
    region: str | None = None
    length: str = "full"
    language: str | None = None
    stakeholder: str | None = None  # a stakeholder id of the --stakeholders list

    def query(self) -> dict[str, str]:
        """The choice as the page's query parameters (empty ones left out)."""
        values = {
            "audience": self.audience,
            "focus": ",".join(self.focus),
            "region": self.region or "",
            "length": self.length,
            "language": self.language or "",
            "stakeholder": self.stakeholder or "",
        }
        return {key: value for key, value in values.items() if value}


@dataclass(frozen=True)
class Menu:
    """What each switcher offers: (id, label) pairs, and the stakeholders' rows by id."""

    audiences: tuple[tuple[str, str], ...]
    focus: tuple[tuple[str, str], ...]
    regions: tuple[tuple[str, str], ...]
    languages: tuple[tuple[str, str], ...]
    stakeholders: dict[str, Stakeholder] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The menu for the page's script (labels are shown as text, never as HTML)."""
        people = [
            {
                "id": key,
                "label": row.line,
                "audience": row.audience or "",
                "focus": list(row.focus),
                "region": row.region or "",
                "language": row.language or "",
            }
            for key, row in self.stakeholders.items()
        ]
        return {
            "audience": [list(pair) for pair in self.audiences],
            "focus": [list(pair) for pair in self.focus],
            "region": [list(pair) for pair in self.regions],
            "length": [[name, name] for name in LENGTHS],
            "language": [list(pair) for pair in self.languages],
            "stakeholder": people,
        }


def menu(strategy: Any, languages: list[str], stakeholders: list[Stakeholder]) -> Menu:
    """The switchers' menu for a validated ``strategy``, its languages and a stakeholder list."""
    own = strategy.strategy.language
    tags = [own, *(tag for tag in languages if tag != own)]
    return Menu(
        audiences=tuple((key, aud.label) for key, aud in strategy.audiences.items()),
        focus=tuple((area.id, area.short_title or area.title) for area in strategy.focus_areas),
        regions=tuple((region.id, region.name) for region in strategy.regions),
        languages=tuple((tag, tag) for tag in tags),
        stakeholders={row.id: row for row in stakeholders if row.id},
    )


def _one(name: str, values: list[str]) -> str:
    if len(values) > 1:
        raise Refused(f"{name}: given {len(values)} times; give it once")
    value = values[0].strip()
    if len(value) > MAX_VALUE:
        raise Refused(f"{name}: longer than {MAX_VALUE} characters")
    return value


def _known(name: str, value: str, offered: tuple[tuple[str, str], ...] | list[str]) -> str:
    ids = [pair[0] if isinstance(pair, tuple) else pair for pair in offered]
    if value not in ids:
        from ..errors import shown

        raise Refused(f"{name}: unknown value {shown(value)}; choose from: {', '.join(ids) or 'none'}")
    return value


def parse(query: str, items: list[tuple[str, str]], offered: Menu, current: Choice) -> Choice:
    """The choice the query asks for (``items``: its decoded pairs), starting from ``current``;
    :class:`Refused` when a parameter is unknown, repeated, too long or not offered."""
    if len(query) > MAX_QUERY:
        raise Refused(f"the query is longer than {MAX_QUERY} characters")
    if len(items) > 4 * len(PARAMETERS):
        raise Refused(f"{len(items)} parameters; the switchers are {', '.join(PARAMETERS)}")
    given: dict[str, list[str]] = {}
    for key, value in items:
        if key not in PARAMETERS:
            from ..errors import shown

            raise Refused(f"unknown parameter {shown(key)}; the switchers are {', '.join(PARAMETERS)}")
        given.setdefault(key, []).append(value)
    values = {key: _one(key, found) for key, found in given.items()}
    changes: dict[str, Any] = {}
    if "audience" in values:
        changes["audience"] = _known("audience", values["audience"], offered.audiences)
    if "focus" in values:
        parts = [p.strip() for p in values["focus"].split(",") if p.strip()]
        changes["focus"] = tuple(dict.fromkeys(_known("focus", p, offered.focus) for p in parts))
    if "region" in values:
        changes["region"] = _known("region", values["region"], offered.regions) if values["region"] else None
    if "length" in values:
        changes["length"] = _known("length", values["length"], list(LENGTHS))
    if "language" in values:
        tag = values["language"]
        changes["language"] = _known("language", tag, offered.languages) if tag else None
    if "stakeholder" in values:
        key = values["stakeholder"]
        changes["stakeholder"] = _known("stakeholder", key, list(offered.stakeholders)) if key else None
    return replace(current, **changes)
