"""Turn a Strategy and an audience's choices into a Brief: plain data, no templates.

Tailoring decides *what* a brief says and in which order; templates decide how
it looks. The rules:

* ``audience`` picks the audience section of the content (its lead sections,
  recommendations, introduction and closing).
* ``focus`` (focus-area ids): recommendations serving a focus area come first
  and in full; the others are condensed to their summary. Focus areas in focus
  are listed first and marked.
* ``region``: the region's profile, the initiatives and figures tagged with it
  come into the context section, and recommendations tagged with it follow the
  focused ones.
* ``length="summary"``: a one-to-two page executive brief: objectives and focus
  areas by title only, recommendations condensed (the first three focused ones keep their
  actions), the first five entries of the first lead section, key figures, and of the context only
  the region's profile when a region is given.
* ``stakeholder``: name, organisation, sector and country for "Prepared for".
* ``language``: the language the brief is written in (a BCP 47 tag); the content
  given to :func:`tailor` is already in that language (see :mod:`briefgen.translate`).
  Every word a template adds comes from that language's catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .errors import UsageError
from .model import (
    Audience,
    FocusArea,
    Identity,
    Initiative,
    Objective,
    PolicyArea,
    Recommendation,
    Region,
    Section,
    Strategy,
)
from .model import Figure as KeyFigure
from .stakeholders import Stakeholder

Length = Literal["full", "summary"]
LENGTHS: tuple[Length, ...] = ("full", "summary")
#: Entries of the lead section an executive summary keeps.
SUMMARY_ENTRIES = 5
#: Focused recommendations an executive summary gives in full (the rest are condensed).
SUMMARY_FULL = 3


@dataclass(frozen=True)
class Options:
    """What a user asked for: ``briefgen build`` flags, or one stakeholder row."""

    audience: str
    focus: tuple[str, ...] = ()
    region: str | None = None
    length: Length = "full"
    stakeholder: Stakeholder | None = None
    language: str | None = None
    #: Records that keep the source language's text (``objectives.partnerships``), marked ``lang``.
    source_text: frozenset[str] = frozenset()


@dataclass(frozen=True)
class FocusView:
    """A focus area as a brief shows it."""

    area: FocusArea
    in_focus: bool
    objectives: tuple[Objective, ...]
    recommendations: tuple[str, ...]


@dataclass(frozen=True)
class RecommendationView:
    """A recommendation in its place in the brief."""

    number: int
    rec: Recommendation
    full: bool
    in_focus: bool
    in_region: bool
    objectives: tuple[Objective, ...]
    focus_areas: tuple[FocusArea, ...]


@dataclass(frozen=True)
class Context:
    """The international context a brief carries."""

    region: Region | None
    regions: tuple[Region, ...]
    policy_areas: tuple[PolicyArea, ...]
    initiatives: tuple[Initiative, ...]


@dataclass(frozen=True)
class Brief:
    """Everything one brief says, in order, ready for a template."""

    audience_id: str
    audience: Audience
    identity: Identity
    title: str
    length: Length
    focus: tuple[FocusArea, ...]
    region: Region | None
    stakeholder: Stakeholder | None
    objectives: tuple[Objective, ...]
    focus_areas: tuple[FocusView, ...]
    sections: tuple[Section, ...]
    recommendations: tuple[RecommendationView, ...]
    context: Context | None
    figures: tuple[KeyFigure, ...]
    keywords: tuple[str, ...] = field(default=())
    language: str = "en"
    #: Each recommendation's number in this brief, by id (for links from lead entries).
    numbers: dict[str, int] = field(default_factory=dict)
    #: The initiatives the key figures cite as their source, by id.
    sources: dict[str, Initiative] = field(default_factory=dict)
    #: Every key figure of the content, by id (for initiatives that cite theirs).
    figure_index: dict[str, KeyFigure] = field(default_factory=dict)
    #: Records whose text is in the source language (an incomplete translation), by dotted id.
    source_text: frozenset[str] = frozenset()

    @property
    def template(self) -> str:
        """The template that renders this brief: the audience's ``template``, else its id."""
        return self.audience.template or self.audience_id

    @property
    def summary(self) -> bool:
        return self.length == "summary"

    @property
    def author(self) -> str:
        return "; ".join(self.identity.issuer)


def _unknown(flag: str, value: str, valid: list[str]) -> UsageError:
    return UsageError(f"{flag}: unknown value {value!r}; choose from: {', '.join(valid)}")


def check_options(strategy: Strategy, options: Options) -> None:
    """Raise a usage error naming the flag for every id the content does not know."""
    if options.audience not in strategy.audiences:
        raise _unknown("--audience", options.audience, sorted(strategy.audiences))
    areas = [a.id for a in strategy.focus_areas]
    for value in options.focus:
        if value not in areas:
            raise _unknown("--focus", value, areas)
    regions = [r.id for r in strategy.regions]
    if options.region is not None and options.region not in regions:
        raise _unknown("--region", options.region, regions)
    if options.length not in LENGTHS:
        raise _unknown("--length", options.length, list(LENGTHS))


def tailor(strategy: Strategy, options: Options) -> Brief:
    """Select and order the content of ``strategy`` for ``options``."""
    check_options(strategy, options)
    audience = strategy.audiences[options.audience]
    summary = options.length == "summary"
    objectives = {o.id: o for o in strategy.objectives}
    areas = {a.id: a for a in strategy.focus_areas}
    focus = tuple(dict.fromkeys(options.focus))
    focus_rank = {fid: i for i, fid in enumerate(focus)}

    def rec_rank(item: tuple[int, Recommendation]) -> tuple[int, int, int]:
        index, rec = item
        ranks = [focus_rank[f] for f in rec.focus_areas if f in focus_rank]
        if ranks:
            return (0, min(ranks), index)
        if options.region and options.region in rec.regions:
            return (1, 0, index)
        return (2, 0, index)

    ordered = sorted(enumerate(audience.recommendations), key=rec_rank)
    recommendations = []
    for number, (_, rec) in enumerate(ordered, start=1):
        in_focus = any(f in focus_rank for f in rec.focus_areas)
        recommendations.append(
            RecommendationView(
                number=number,
                rec=rec,
                full=(in_focus and (not summary or number <= SUMMARY_FULL)) or (not focus and not summary),
                in_focus=in_focus,
                in_region=bool(options.region and options.region in rec.regions),
                objectives=tuple(objectives[o] for o in rec.objectives),
                focus_areas=tuple(areas[f] for f in rec.focus_areas),
            )
        )

    area_order = sorted(
        enumerate(strategy.focus_areas),
        key=lambda item: (focus_rank.get(item[1].id, len(focus_rank)), item[0]),
    )
    focus_views = tuple(
        FocusView(
            area=area,
            in_focus=area.id in focus_rank,
            objectives=tuple(objectives[o] for o in area.objectives),
            recommendations=tuple(r.rec.id for r in recommendations if area.id in r.rec.focus_areas),
        )
        for _, area in area_order
    )

    region = next((r for r in strategy.regions if r.id == options.region), None)
    figures = _figures(strategy, focus, options.region)
    context = None
    if not summary:
        initiatives = tuple(i for i in strategy.initiatives if region is None or region.id in i.regions)
        context = Context(
            region=region,
            regions=tuple(strategy.regions),
            policy_areas=tuple(strategy.policy_areas),
            initiatives=initiatives,
        )
    elif region is not None:
        context = Context(region=region, regions=(), policy_areas=(), initiatives=())

    sections = tuple(audience.sections)
    if summary:
        sections = tuple(
            sec.model_copy(update={"entries": sec.entries[:SUMMARY_ENTRIES]}) for sec in sections[:1]
        )
    keywords = tuple(
        dict.fromkeys(
            [*strategy.strategy.keywords, audience.label, *(areas[f].title for f in focus)]
            + ([region.name] if region else [])
        )
    )
    return Brief(
        audience_id=options.audience,
        audience=audience,
        identity=strategy.strategy,
        title=audience.brief_title,
        length=options.length,
        focus=tuple(areas[f] for f in focus),
        region=region,
        stakeholder=options.stakeholder,
        objectives=tuple(strategy.objectives),
        focus_areas=focus_views,
        sections=sections,
        recommendations=tuple(recommendations),
        context=context,
        figures=figures,
        keywords=keywords,
        language=options.language or strategy.strategy.language,
        numbers={view.rec.id: view.number for view in recommendations},
        sources={i.id: i for i in strategy.initiatives if any(fig.source == i.id for fig in figures)},
        figure_index={fig.id: fig for fig in strategy.figures},
        source_text=options.source_text,
    )


def _figures(strategy: Strategy, focus: tuple[str, ...], region: str | None) -> tuple[KeyFigure, ...]:
    """Key figures, those matching the region or focus first; at most six."""

    def rank(item: tuple[int, KeyFigure]) -> tuple[int, int]:
        index, fig = item
        # A figure tagged with every focus area says nothing about any one of them.
        specific = len(fig.focus_areas) < len(strategy.focus_areas)
        hit = (region is not None and region in fig.regions) or (
            specific and any(f in focus for f in fig.focus_areas)
        )
        return (0 if hit else 1, index)

    return tuple(fig for _, fig in sorted(enumerate(strategy.figures), key=rank)[:6])
