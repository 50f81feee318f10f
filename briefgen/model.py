"""Turn validated content data into a typed Strategy model.

The model is the contract for everything under ``content/``: the strategy's
identity, its objectives and focus areas, one section per audience (with its
recommendations and lead sections), the international context (regions,
policy areas, initiatives) and key figures. Text fields hold Markdown.

Field-level checks live on the classes; cross-references (a recommendation
naming a focus area that does not exist) are checked in
:meth:`Strategy.check_references`, which reports every broken reference at
once with its field path so the loader can attach a file position.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

#: An identifier: lower-case words joined by hyphens, stable across edits.
Id = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$", max_length=64),
    Field(description="Stable identifier: lower-case letters, digits and hyphens."),
]
#: Markdown text: emphasis, links and lists; raw HTML is shown as text.
Markdown = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000),
    Field(description="Markdown text (emphasis, links, lists). Raw HTML is not rendered."),
]
#: A short single-line label such as a title.
Line = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300, pattern=r"^[^\n]*$"),
]

ID_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


class Item(BaseModel):
    """Base for every content record: unknown fields are errors, ids are stable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Identity(Item):
    """Who issued the strategy, when, and what it is about."""

    id: Id
    title: Line
    short_title: Line | None = Field(None, description="Used in running headers.")
    subtitle: Line | None = None
    issuer: list[Line] = Field(min_length=1, description="Bodies that issued the strategy.")
    presented: dt.date = Field(description="Date the strategy was presented (YYYY-MM-DD).")
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")] = "en"
    overview: Markdown
    keywords: list[Line] = []


class Objective(Item):
    """One of the strategy's strategic objectives."""

    id: Id
    title: Line
    summary: Markdown
    points: list[Markdown] = Field(min_length=1)


class FocusArea(Item):
    """A priority area of cooperation with partner countries."""

    id: Id
    title: Line
    short_title: Line | None = None
    summary: Markdown
    points: list[Markdown] = Field(min_length=1)
    objectives: list[Id] = Field(default=[], description="Objectives this area serves.")


class Recommendation(Item):
    """A recommendation to one audience, linked to objectives and focus areas."""

    id: Id
    title: Line
    summary: Markdown = Field(description="One or two sentences: the condensed form.")
    rationale: Markdown = Field(description="Why this matters to the audience.")
    actions: list[Markdown] = Field(min_length=1, description="Concrete steps.")
    objectives: list[Id] = Field(min_length=1)
    focus_areas: list[Id] = Field(default=[])
    regions: list[Id] = Field(default=[], description="Regions where this applies most.")


class SectionEntry(Item):
    """One entry of an audience's lead section (a bullet, a step, a checklist line)."""

    title: Line | None = None
    text: Markdown
    focus_areas: list[Id] = []
    refs: list[Id] = Field(default=[], description="Recommendations this entry points to.")


class Table(Item):
    """A small table: column headings and rows of Markdown cells."""

    columns: list[Line] = Field(min_length=1, max_length=8)
    rows: list[list[Markdown]] = Field(min_length=1)


class Section(Item):
    """A lead section of an audience's brief (opportunities, checklist, steps...)."""

    id: Id
    title: Line
    kind: Literal["list", "steps", "checklist", "table"] = "list"
    intro: Markdown | None = None
    entries: list[SectionEntry] = []
    table: Table | None = None


class Audience(Item):
    """Everything that is written for one audience."""

    label: Line = Field(description="Who the audience is, e.g. 'Businesses'.")
    brief_title: Line = Field(description="Title of this audience's brief.")
    description: Line
    intro: Markdown
    sections: list[Section] = []
    recommendations: list[Recommendation] = Field(min_length=1)
    closing: Markdown


class Region(Item):
    """A region the EU works with on digital matters."""

    id: Id
    name: Line
    group: Line | None = Field(None, description="Grouping, e.g. 'EU neighbourhood'.")
    countries: list[Line] = []
    summary: Markdown


class PolicyArea(Item):
    """A policy area of the EU's digital international relations."""

    id: Id
    name: Line
    summary: Markdown


class Initiative(Item):
    """A dated agreement, declaration or programme that gives context."""

    id: Id
    title: Line
    kind: Literal["declaration", "agreement", "programme", "forum"]
    when: Line = Field(description="When it happened, as readers should see it.")
    date: dt.date | None = None
    summary: Markdown
    parties: list[Line] = []
    regions: list[Id] = []
    points: list[Markdown] = []
    figures: list[Id] = []


class Figure(Item):
    """A key figure a brief can show in a callout."""

    id: Id
    label: Line
    value: Line
    before: Line | None = None
    detail: Markdown
    regions: list[Id] = []
    focus_areas: list[Id] = []
    source: Id | None = Field(None, description="Initiative id the figure comes from.")


class Strategy(Item):
    """The whole content set: one strategy, its audiences and its context."""

    strategy: Identity
    objectives: list[Objective] = Field(min_length=1)
    focus_areas: list[FocusArea] = Field(min_length=1)
    audiences: dict[Id, Audience] = Field(min_length=1)
    regions: list[Region] = []
    policy_areas: list[PolicyArea] = []
    initiatives: list[Initiative] = []
    figures: list[Figure] = []

    def check_references(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Return (field path, message) for every duplicate id and broken cross-reference."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        known: dict[str, set[str]] = {}

        def collect(kind: str, items: list, path: tuple[str | int, ...]) -> None:
            seen: set[str] = set()
            for i, item in enumerate(items):
                if item.id in seen:
                    problems.append(((*path, i, "id"), f"duplicate {kind} id {item.id!r}"))
                seen.add(item.id)
            known[kind] = seen

        collect("objective", self.objectives, ("objectives",))
        collect("focus area", self.focus_areas, ("focus_areas",))
        collect("region", self.regions, ("regions",))
        collect("policy area", self.policy_areas, ("policy_areas",))
        collect("initiative", self.initiatives, ("initiatives",))
        collect("figure", self.figures, ("figures",))
        rec_ids: set[str] = set()
        for name, audience in self.audiences.items():
            seen: set[str] = set()
            for i, rec in enumerate(audience.recommendations):
                if rec.id in seen or rec.id in rec_ids:
                    problems.append(
                        (
                            ("audiences", name, "recommendations", i, "id"),
                            f"duplicate recommendation id {rec.id!r}",
                        )
                    )
                seen.add(rec.id)
            rec_ids |= seen
            sec_seen: set[str] = set()
            for i, sec in enumerate(audience.sections):
                if sec.id in sec_seen:
                    problems.append(
                        (("audiences", name, "sections", i, "id"), f"duplicate section id {sec.id!r}")
                    )
                sec_seen.add(sec.id)
        known["recommendation"] = rec_ids

        def refs(kind: str, values: list[str], path: tuple[str | int, ...]) -> None:
            for j, value in enumerate(values):
                if value not in known[kind]:
                    valid = ", ".join(sorted(known[kind])) or "none defined"
                    problems.append(((*path, j), f"unknown {kind} {value!r} (known: {valid})"))

        for i, area in enumerate(self.focus_areas):
            refs("objective", area.objectives, ("focus_areas", i, "objectives"))
        for name, audience in self.audiences.items():
            for i, rec in enumerate(audience.recommendations):
                base = ("audiences", name, "recommendations", i)
                refs("objective", rec.objectives, (*base, "objectives"))
                refs("focus area", rec.focus_areas, (*base, "focus_areas"))
                refs("region", rec.regions, (*base, "regions"))
            for i, sec in enumerate(audience.sections):
                for k, entry in enumerate(sec.entries):
                    base = ("audiences", name, "sections", i, "entries", k)
                    refs("focus area", entry.focus_areas, (*base, "focus_areas"))
                    refs("recommendation", entry.refs, (*base, "refs"))
                if sec.kind == "table" and sec.table is None:
                    problems.append(
                        (("audiences", name, "sections", i, "table"), "a table section needs 'table'")
                    )
                if sec.kind != "table" and not sec.entries:
                    problems.append(
                        (
                            ("audiences", name, "sections", i, "entries"),
                            f"a {sec.kind} section needs at least one entry",
                        )
                    )
                if sec.table is not None:
                    width = len(sec.table.columns)
                    for r, row in enumerate(sec.table.rows):
                        if len(row) != width:
                            problems.append(
                                (
                                    ("audiences", name, "sections", i, "table", "rows", r),
                                    f"row has {len(row)} cells, the table has {width} columns",
                                )
                            )
        for i, initiative in enumerate(self.initiatives):
            refs("region", initiative.regions, ("initiatives", i, "regions"))
            refs("figure", initiative.figures, ("initiatives", i, "figures"))
        for i, figure in enumerate(self.figures):
            refs("region", figure.regions, ("figures", i, "regions"))
            refs("focus area", figure.focus_areas, ("figures", i, "focus_areas"))
            if figure.source is not None:
                refs("initiative", [figure.source], ("figures", i, "source"))
        return problems
