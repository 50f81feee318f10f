"""Turn a Brief (and a theme) into the pictures its template shows: SVG, alt text, data tables.

:func:`pictures` is called by :func:`briefgen.render.render` before the template runs; templates
see the result as plain data (``pictures.glance``, ``pictures.charts[figure id]``) and write the
element contract of docs/html-intermediate.md around it::

    <figure class="chart" data-series="{...}">
      <svg role="img" aria-label="ALT"><title>ALT</title>...</svg>
      <figcaption>...</figcaption>
      <details><summary>...</summary><table>...data...</table></details>
    </figure>

Every word here comes from the brief's catalogue (:class:`briefgen.i18n.Language`); numbers are
Babel's. SVG from matplotlib gets its ids made unique per chart, so two charts on one page
cannot take each other's clip paths.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from . import glance as glance_form
from .series import decimals, value_text

if TYPE_CHECKING:
    from ..i18n import Language
    from ..tailor import Brief

SVG_NS = "http://www.w3.org/2000/svg"


@dataclass(frozen=True)
class DataTable:
    """The numbers or links a picture shows, as a table for readers who cannot see it."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    #: Per row, per cell: the language of a cell whose text kept the source language (a partial
    #: translation), else "" (the brief's language).
    langs: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Picture:
    """One picture as a template places it."""

    svg: Markup  # <svg role="img" aria-label="..."> with a <title>, ready to insert
    alt: str
    tables: tuple[DataTable, ...]
    series: str = ""  # a chart's data as JSON, for Word's native chart (``data-series``)


@dataclass(frozen=True)
class Pictures:
    """The pictures of one brief."""

    glance: Picture
    charts: dict[str, Picture]


def colours_of(theme: Any) -> dict[str, str]:
    """The theme's colours by name, or the house colours."""
    from ..theme import DEFAULT_COLOURS

    return theme.colours.model_dump() if theme is not None else dict(DEFAULT_COLOURS)


def pictures(brief: Brief, theme: Any, lang: Language) -> Pictures:
    """The at-a-glance diagram and a chart for every key figure of ``brief`` that has a series."""
    colours = colours_of(theme)
    charts = {fig.id: chart_picture(fig, colours, lang) for fig in brief.figures if fig.chart is not None}
    return Pictures(glance=glance_picture(brief, colours, lang), charts=charts)


def accessible(svg_text: str, alt: str, ident: str) -> Markup:
    """``svg_text`` with ``role="img"``, ``aria-label`` and a ``<title>`` holding ``alt`` (the PDF's
    alternative text of the figure), and its ids prefixed with ``ident``."""
    from lxml import etree

    root = etree.fromstring(svg_text.encode(), etree.XMLParser(resolve_entities=False, no_network=True))
    for node in root.iter():
        if node.get("id"):
            node.set("id", f"{ident}-{node.get('id')}")
        for name in ("clip-path", "fill", "stroke", "mask", "filter"):
            value = node.get(name)
            if value and "url(#" in value:
                node.set(name, value.replace("url(#", f"url(#{ident}-"))
    for node in [n for n in root.iter(f"{{{SVG_NS}}}style", f"{{{SVG_NS}}}metadata")]:
        node.getparent().remove(node)  # an SVG <style> in HTML would style the whole document
    root.set("role", "img")
    root.set("aria-label", alt)
    title = etree.Element(f"{{{SVG_NS}}}title")
    title.text = alt
    root.insert(0, title)
    return Markup(etree.tostring(root, encoding="unicode"))


def _ident(kind: str, *parts: str) -> str:
    return f"{kind}-" + hashlib.sha256("\0".join(parts).encode()).hexdigest()[:8]


def chart_picture(figure: Any, colours: dict[str, str], lang: Language) -> Picture:
    """A key figure's series as a chart picture."""
    from . import chart as drawing
    from .series import alt_text

    series = figure.chart
    title = series.title or figure.label
    texts = [value_text(series, v, lang) for v in series.values]
    rows = [
        {"label": label, "value": float(value), "text": shown}
        for label, value, shown in zip(series.labels, series.values, texts, strict=True)
    ]
    alt = alt_text(series, title, lang)
    svg_text = drawing.svg(drawing.spec(series.kind, rows, colours))
    data = {
        "kind": series.kind,
        "title": title,
        "labels": list(series.labels),
        "values": [float(v) for v in series.values],
        "format": excel_format(series, lang),
    }
    table = DataTable(
        columns=(lang.gettext("Item"), lang.gettext("Value")),
        rows=tuple((label, shown) for label, shown in zip(series.labels, texts, strict=True)),
    )
    return Picture(
        svg=accessible(svg_text, alt, _ident("chart", figure.id, title)),
        alt=alt,
        tables=(table,),
        series=json.dumps(data, ensure_ascii=False, sort_keys=True),
    )


def excel_format(series: Any, lang: Language) -> str:
    """A spreadsheet number format that writes values as :func:`value_text` does ("€"0.00"/MB")."""
    sample = value_text(series, 0, lang)
    found = re.search(r"\d(?:[\d.,\u00a0\u202f ]*\d)?", sample)
    digits = 2 if series.currency else decimals(series)
    number = "#,##0" + ("." + "0" * digits if digits else "")
    if found is None:
        return number
    prefix, suffix = sample[: found.start()], sample[found.end() :]

    def quoted(part: str) -> str:
        return '"' + part.replace('"', "") + '"' if part else ""

    return quoted(prefix) + number + quoted(suffix)


def glance_data(brief: Brief, lang: Language) -> glance_form.Glance:
    """The links the diagram draws, from the brief: objectives, focus areas, recommendations."""
    objectives = tuple(
        glance_form.Node(o.id, o.title, mark=str(i)) for i, o in enumerate(brief.objectives, start=1)
    )
    focus = {a.id for a in brief.focus}
    areas = tuple(
        glance_form.Node(v.area.id, v.area.short_title or v.area.title, highlight=v.area.id in focus)
        for v in brief.focus_areas
    )
    recs = tuple(
        glance_form.Node(r.rec.id, r.rec.title, mark=f"{r.number}", highlight=r.in_focus or r.in_region)
        for r in brief.recommendations
    )
    known = {o.id for o in brief.objectives}
    note_parts = []
    if brief.focus:
        note_parts.append(
            lang.ngettext(
                "Highlighted: your focus area (%(areas)s) and the recommendations that serve it.",
                "Highlighted: your focus areas (%(areas)s) and the recommendations that serve them.",
                len(brief.focus),
            )
            % {"areas": lang.names(a.short_title or a.title for a in brief.focus)}
        )
    if brief.region is not None:
        note_parts.append(
            lang.gettext("Also highlighted: the recommendations that apply most in %(region)s.")
            % {"region": brief.region.name}
        )
    return glance_form.Glance(
        objectives=objectives,
        areas=areas,
        recommendations=recs,
        area_objectives=frozenset((v.area.id, o.id) for v in brief.focus_areas for o in v.objectives),
        rec_areas=frozenset((r.rec.id, a.id) for r in brief.recommendations for a in r.focus_areas),
        rec_objectives=frozenset(
            (r.rec.id, o.id) for r in brief.recommendations for o in r.objectives if o.id in known
        ),
        headings=(
            lang.gettext("Objectives"),
            lang.gettext("Focus areas"),
            lang.gettext("Recommendations for %(audience)s") % {"audience": brief.audience.label},
        ),
        objectives_heading=lang.gettext("Objectives"),
        note=" ".join(note_parts),
    )


def glance_alt(brief: Brief, lang: Language) -> str:
    """The diagram's alternative text: what it links, and what is highlighted."""
    counts = {
        "objectives": lang.ngettext("%(n)s objective", "%(n)s objectives", len(brief.objectives))
        % {"n": lang.number(len(brief.objectives))},
        "areas": lang.ngettext("%(n)s focus area", "%(n)s focus areas", len(brief.focus_areas))
        % {"n": lang.number(len(brief.focus_areas))},
        "recs": lang.ngettext("%(n)s recommendation", "%(n)s recommendations", len(brief.recommendations))
        % {"n": lang.number(len(brief.recommendations))},
    }
    text = lang.gettext(
        "Diagram: the strategy at a glance: %(objectives)s, the %(areas)s that serve them and "
        "%(recs)s for %(audience)s, each linked to its focus areas and objectives; the table that "
        "follows lists the links."
    ) % {**counts, "audience": brief.audience.label}
    if brief.focus:
        text += " " + lang.gettext("Your focus: %(areas)s.") % {
            "areas": lang.names(a.title for a in brief.focus)
        }
    return text


def glance_picture(brief: Brief, colours: dict[str, str], lang: Language, form: str = "matrix") -> Picture:
    """The strategy at a glance as a picture (``form``: ``matrix`` or ``columns``)."""
    data = glance_data(brief, lang)
    draw = glance_form.matrix if form == "matrix" else glance_form.columns
    alt = glance_alt(brief, lang)
    source = brief.identity.language

    def kept(records: list[str]) -> str:
        """The source language when every record named in a cell kept its text, else ""."""
        return source if records and all(r in brief.source_text for r in records) else ""

    own = f"audiences.{brief.audience_id}.recommendations."
    recs = DataTable(
        columns=(lang.gettext("Recommendation"), lang.gettext("Focus areas"), lang.gettext("Objectives")),
        rows=tuple(
            (
                f"{r.number}. {r.rec.title}",
                lang.names(a.short_title or a.title for a in r.focus_areas) or "–",
                lang.names(o.title for o in r.objectives),
            )
            for r in brief.recommendations
        ),
        langs=tuple(
            (
                kept([own + r.rec.id]),
                kept([f"focus_areas.{a.id}" for a in r.focus_areas]),
                kept([f"objectives.{o.id}" for o in r.objectives]),
            )
            for r in brief.recommendations
        ),
    )
    return Picture(
        svg=accessible(draw(data, colours), alt, _ident("glance", brief.audience_id, form)),
        alt=alt,
        tables=(recs,),
    )
