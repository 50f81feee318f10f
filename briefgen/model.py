"""Turn validated content data into a typed Strategy model.

The model is the contract for everything under ``content/``: the strategy's
identity, its objectives and focus areas, one section per audience (with its
recommendations and lead sections), the context (regions, policy areas,
initiatives) and key figures. Text fields hold Markdown of two kinds:
:data:`Markdown` (block: paragraphs and lists) and :data:`Inline` (shown inside
a paragraph, a list item or a table cell: one paragraph, no list or heading).

Field-level checks live on the classes: language tags (:func:`language_tag`,
also used by ``--language`` and stakeholder lists), dates written only as
YYYY-MM-DD (:func:`iso_date`) and inline Markdown (:func:`inline_problem`);
these checks and their messages live in :mod:`briefgen.authoring`.
Cross-references (a recommendation naming a focus area that does not exist)
are checked by :func:`reference_problems`, which works on raw data too and
reports every broken reference with its field path so the loader can attach a
file position. Messages about unknown names suggest the closest known one.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from .authoring import (
    TAG_PATTERN,
    Unknowns,
    chart_number,
    inline_problem,
    iso_date,
    known_list,
    language_tag,
    optional_date,
)
from .errors import shown

#: An identifier: lower-case words joined by hyphens, stable across edits.
Id = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$", max_length=64),
    Field(description="Stable identifier: lower-case letters, digits and hyphens."),
]
#: What a block Markdown field accepts, said in the JSON Schema.
BLOCK_NOTE = (
    "Markdown block: paragraphs (separated by a blank line), lists, emphasis and links. "
    "Raw HTML is shown as text."
)
#: What an inline Markdown field accepts, said in the JSON Schema.
INLINE_NOTE = (
    "Markdown shown inline (inside a paragraph, a list item or a table cell): one paragraph "
    "with emphasis and links; no list, heading or second paragraph. Raw HTML is shown as text."
)
_MARKDOWN_TEXT = StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)


def _inline(text: str) -> str:
    problem = inline_problem(text)
    if problem:
        raise ValueError(problem)
    return text


#: Markdown text shown as blocks: paragraphs, lists, emphasis and links; raw HTML is shown as text.
Markdown = Annotated[str, _MARKDOWN_TEXT, Field(description=BLOCK_NOTE)]
#: Markdown text shown inline: one paragraph of emphasis and links (see :func:`inline_problem`).
Inline = Annotated[str, _MARKDOWN_TEXT, AfterValidator(_inline), Field(description=INLINE_NOTE)]
#: A short single-line label such as a title.
Line = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300, pattern=r"^[^\n]*$"),
]


def _language(value: Any) -> Any:
    return language_tag(value) if isinstance(value, str) else value


#: A BCP 47 language tag, checked and normalised by :func:`language_tag`.
Language = Annotated[
    str,
    AfterValidator(_language),
    Field(
        description="Language of the text as a BCP 47 tag: en, fr-FR, pt-PT (case is normalised).",
        json_schema_extra={"pattern": TAG_PATTERN},
    ),
]

#: A calendar date, written only as YYYY-MM-DD.
Date = Annotated[dt.date, BeforeValidator(iso_date)]
#: A calendar date written as YYYY-MM-DD, or nothing.
OptionalDate = Annotated[dt.date | None, BeforeValidator(optional_date)]

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
    presented: Date = Field(description="Date the strategy was presented, written YYYY-MM-DD.")
    language: Language = "en"
    overview: Markdown
    keywords: list[Line] = []


class Objective(Item):
    """One of the strategy's strategic objectives."""

    id: Id
    title: Line
    summary: Markdown
    points: list[Inline] = Field(
        min_length=1, description=f"Key points, each shown as one list item. {INLINE_NOTE}"
    )


class FocusArea(Item):
    """A priority area of the strategy, where its work concentrates."""

    id: Id
    title: Line
    short_title: Line | None = None
    summary: Markdown
    points: list[Inline] = Field(
        min_length=1, description=f"Key points, each shown as one list item. {INLINE_NOTE}"
    )
    objectives: list[Id] = Field(default=[], description="Objectives this area serves.")


class Recommendation(Item):
    """A recommendation to one audience, linked to objectives and focus areas."""

    id: Id
    title: Line
    summary: Inline = Field(description=f"One or two sentences: the condensed form. {INLINE_NOTE}")
    rationale: Markdown = Field(description=f"Why this matters to the audience. {BLOCK_NOTE}")
    actions: list[Inline] = Field(
        min_length=1, description=f"Concrete steps, each shown as one list item. {INLINE_NOTE}"
    )
    objectives: list[Id] = Field(min_length=1)
    focus_areas: list[Id] = Field(default=[])
    regions: list[Id] = Field(default=[], description="Regions where this applies most.")


class SectionEntry(Item):
    """One entry of an audience's lead section (a bullet, a step, a checklist line)."""

    title: Line | None = None
    text: Inline
    focus_areas: list[Id] = []
    refs: list[Id] = Field(
        default=[], description="Recommendations of the same audience that this entry points to."
    )


class Table(Item):
    """A small table: column headings and rows of Markdown cells."""

    columns: list[Line] = Field(min_length=1, max_length=8)
    rows: list[list[Inline]] = Field(
        min_length=1, description=f"Rows of cells, one per column. {INLINE_NOTE}"
    )


class Section(Item):
    """A lead section of an audience's brief (opportunities, checklist, steps...)."""

    id: Id
    title: Line
    kind: Literal["list", "steps", "checklist", "table"] = "list"
    intro: Markdown | None = Field(None, description=f"Shown before the entries. {BLOCK_NOTE}")
    entries: list[SectionEntry] = []
    table: Table | None = None


class Chapters(Item):
    """Chapter titles of one audience's brief; a missing one takes the catalogue's generic title."""

    introduction: Line | None = None
    at_a_glance: Line | None = None
    lead: Line | None = None
    recommendations: Line | None = None
    strategy: Line | None = None
    context: Line | None = None
    closing: Line | None = None


class Audience(Item):
    """Everything that is written for one audience."""

    label: Line = Field(description="Who the audience is, e.g. 'Businesses'.")
    brief_title: Line = Field(description="Title of this audience's brief.")
    description: Line
    template: Id | None = Field(
        None, description="Template that renders this audience (NAME.html.j2); default: the audience id."
    )
    chapters: Chapters = Field(default_factory=Chapters, description="Chapter titles for this audience.")
    intro: Markdown
    sections: list[Section] = []
    recommendations: list[Recommendation] = Field(min_length=1)
    closing: Markdown


class Region(Item):
    """A region the strategy concerns: a partner region, a district, a country."""

    id: Id
    name: Line
    group: Line | None = Field(None, description="Grouping of regions, e.g. 'Neighbourhood'.")
    countries: list[Line] = Field(default=[], description="Countries or places in the region.")
    summary: Inline


class PolicyArea(Item):
    """A policy area the strategy's context covers."""

    id: Id
    name: Line
    summary: Inline


class Initiative(Item):
    """A dated agreement, declaration or programme that gives context."""

    id: Id
    title: Line
    kind: Literal["declaration", "agreement", "programme", "forum"]
    when: Line = Field(description="When it happened, as readers should see it.")
    date: OptionalDate = Field(None, description="When it happened, written YYYY-MM-DD (for sorting).")
    summary: Markdown
    parties: list[Line] = []
    regions: list[Id] = []
    points: list[Inline] = Field(
        default=[], description=f"Key points, each shown as one list item. {INLINE_NOTE}"
    )
    figures: list[Id] = []


#: Chart kinds: horizontal bars, vertical columns, a line over the labels, two columns (before, after).
CHART_KINDS = ("bar", "column", "line", "before-after")
#: The most points a chart may hold: more would not be readable at a brief's size.
MAX_POINTS = 24
#: The largest magnitude a chart value may have (beyond it, numbers lose their digits).
MAX_VALUE = 1e15


class Chart(Item):
    """A small data series a key figure shows as a chart (checked further by
    :func:`briefgen.pictures.series.series_problems`)."""

    kind: Literal["bar", "column", "line", "before-after"]
    title: Line | None = Field(None, description="What the chart shows; default: the figure's label.")
    unit: Line | None = Field(None, description="Unit after each number, e.g. '/MB' or 'countries'.")
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = Field(
        None, description="ISO 4217 code when the values are amounts of money, e.g. EUR."
    )
    decimals: int | None = Field(None, ge=0, le=4, description="Digits after the decimal point.")
    labels: list[Line] = Field(min_length=1, max_length=MAX_POINTS)
    values: list[
        Annotated[
            float, BeforeValidator(chart_number), Field(allow_inf_nan=False, ge=-MAX_VALUE, le=MAX_VALUE)
        ]
    ] = Field(min_length=1, max_length=MAX_POINTS)


class Figure(Item):
    """A key figure a brief can show in a callout, and as a chart when it carries a series."""

    id: Id
    label: Line
    value: Line
    before: Line | None = None
    detail: Markdown
    regions: list[Id] = []
    focus_areas: list[Id] = []
    source: Id | None = Field(None, description="Initiative id the figure comes from.")
    chart: Chart | None = Field(None, description="A small data series shown as a chart.")


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


Path = tuple[str | int, ...]


def _items(data: Any, key: str) -> list[tuple[int, dict]]:
    """The mappings of a list field, with their indexes; tolerant of bad shapes."""
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _ids(values: Any) -> list[tuple[int, str]]:
    if not isinstance(values, list):
        return []
    return [(j, v) for j, v in enumerate(values) if isinstance(v, str)]


def reference_problems(data: Any) -> list[tuple[Path, str]]:
    """Check ids and cross-references on raw or dumped data.

    Works on partly invalid data too, so broken references are reported in the
    same run as missing or malformed fields.
    """
    problems: list[tuple[Path, str]] = []
    known: dict[str, set[str]] = {}

    def collect(kind: str, entries: list[tuple[int, dict]], path: Path) -> None:
        seen: set[str] = set()
        for i, item in entries:
            ident = item.get("id")
            if not isinstance(ident, str):
                continue
            if ident in seen or ident in known.get(kind, set()):
                problems.append(((*path, i, "id"), f"duplicate {kind} id {ident!r}"))
            seen.add(ident)
        known[kind] = known.get(kind, set()) | seen

    for kind, key in (
        ("objective", "objectives"),
        ("focus area", "focus_areas"),
        ("region", "regions"),
        ("policy area", "policy_areas"),
        ("initiative", "initiatives"),
        ("figure", "figures"),
    ):
        collect(kind, _items(data, key), (key,))
    audiences = data.get("audiences") if isinstance(data, dict) else None
    audiences = audiences if isinstance(audiences, dict) else {}
    known.setdefault("recommendation", set())
    owner: dict[str, str] = {}  # recommendation id -> the audience it belongs to (the first one)
    own: dict[str, set[str]] = {}  # audience -> its recommendation ids
    for name, audience in audiences.items():
        collect("recommendation", _items(audience, "recommendations"), ("audiences", name, "recommendations"))
        for _, rec in _items(audience, "recommendations"):
            if isinstance(rec.get("id"), str):
                owner.setdefault(rec["id"], name)
                own.setdefault(name, set()).add(rec["id"])
        sections = _items(audience, "sections")
        seen_sections: set[str] = set()
        for i, sec in sections:
            ident = sec.get("id")
            if isinstance(ident, str) and ident in seen_sections:
                problems.append((("audiences", name, "sections", i, "id"), f"duplicate section id {ident!r}"))
            seen_sections.add(ident)

    unknowns = Unknowns()
    names = {kind: tuple(sorted(ids)) for kind, ids in known.items()}  # sorted once, for messages
    own_names = {name: tuple(sorted(ids)) for name, ids in own.items()}

    def refs(kind: str, values: Any, path: Path) -> None:
        for j, value in _ids(values):
            if value not in known[kind]:
                problems.append(((*path, j), unknowns.message(kind, value, names[kind])))

    def own_refs(name: str, values: Any, path: Path) -> None:
        """Recommendations a lead-section entry of audience ``name`` points to: its own only."""
        mine = own.get(name, set())
        where = f"recommendations of {name}"
        for j, value in _ids(values):
            if value in mine:
                continue
            if value in owner:
                message = (
                    f"recommendation {shown(value)} belongs to audience {owner[value]!r}; an entry of "
                    f"{name!r} may only point to its own ({where}: {known_list(own_names.get(name, ()))})"
                )
            else:
                message = unknowns.message("recommendation", value, own_names.get(name, ()), where)
            problems.append(((*path, j), message))

    for i, area in _items(data, "focus_areas"):
        refs("objective", area.get("objectives"), ("focus_areas", i, "objectives"))
    for name, audience in audiences.items():
        for i, rec in _items(audience, "recommendations"):
            base: Path = ("audiences", name, "recommendations", i)
            refs("objective", rec.get("objectives"), (*base, "objectives"))
            refs("focus area", rec.get("focus_areas"), (*base, "focus_areas"))
            refs("region", rec.get("regions"), (*base, "regions"))
        for i, sec in _items(audience, "sections"):
            base = ("audiences", name, "sections", i)
            for k, entry in _items(sec, "entries"):
                refs("focus area", entry.get("focus_areas"), (*base, "entries", k, "focus_areas"))
                own_refs(name, entry.get("refs"), (*base, "entries", k, "refs"))
            kind = sec.get("kind", "list")
            table = sec.get("table")
            if kind == "table" and table is None:
                problems.append(((*base, "table"), "a table section needs 'table'"))
            if kind != "table" and not sec.get("entries"):
                problems.append(((*base, "entries"), f"a {kind} section needs at least one entry"))
            if isinstance(table, dict) and isinstance(table.get("columns"), list):
                width = len(table["columns"])
                for r, row in enumerate(table.get("rows") or []):
                    if isinstance(row, list) and len(row) != width:
                        problems.append(
                            (
                                (*base, "table", "rows", r),
                                f"row has {len(row)} cells, the table has {width} columns",
                            )
                        )
    for i, initiative in _items(data, "initiatives"):
        refs("region", initiative.get("regions"), ("initiatives", i, "regions"))
        refs("figure", initiative.get("figures"), ("initiatives", i, "figures"))
    for i, figure in _items(data, "figures"):
        refs("region", figure.get("regions"), ("figures", i, "regions"))
        refs("focus area", figure.get("focus_areas"), ("figures", i, "focus_areas"))
        source = figure.get("source")
        if isinstance(source, str) and source not in known["initiative"]:
            message = unknowns.message("initiative", source, names["initiative"])
            problems.append((("figures", i, "source"), message))
    return problems
