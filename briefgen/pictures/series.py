"""Turn a chart's raw data into its problems (with field paths), and its values into words.

The model (:class:`briefgen.model.Chart`) checks each field alone: the kind, at most
:data:`~briefgen.model.MAX_POINTS` labels and values, finite numbers of bounded size. What
needs two fields is checked here, on raw data, so each problem keeps its place in the file:
one label per value, unique labels, no negative value on a bar or column chart, exactly two
values for before/after, at least two points on a line. :func:`value_text` and :func:`alt_text`
write numbers and descriptions as the brief's language does (Babel, the gettext catalogue).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..authoring import number_value

if TYPE_CHECKING:
    from ..i18n import Language

Path = tuple[str | int, ...]
#: Kinds whose bars start at zero, so a negative value would point the wrong way.
FROM_ZERO = ("bar", "column", "before-after")


def _number(value: Any) -> float | None:
    found = number_value(value)
    return found if found is not None and math.isfinite(found) else None


def series_problems(data: Any) -> list[tuple[Path, str]]:
    """Problems of every key figure's chart in raw content data, each with its field path."""
    figures = data.get("figures") if isinstance(data, dict) else None
    problems: list[tuple[Path, str]] = []
    for i, figure in enumerate(figures if isinstance(figures, list) else []):
        chart = figure.get("chart") if isinstance(figure, dict) else None
        if isinstance(chart, dict):
            problems += chart_problems(chart, ("figures", i, "chart"))
    return problems


def chart_problems(chart: dict, base: Path) -> list[tuple[Path, str]]:
    """What is wrong across the fields of one chart (the model checks each field alone)."""
    labels, values, kind = chart.get("labels"), chart.get("values"), chart.get("kind")
    problems: list[tuple[Path, str]] = []
    if not isinstance(labels, list) or not isinstance(values, list):
        return problems
    if len(labels) != len(values):
        problems.append(
            ((*base, "values"), f"{len(values)} values for {len(labels)} labels: give one value per label")
        )
    seen: set[str] = set()
    for j, label in enumerate(labels):
        if isinstance(label, str):
            if label.strip() in seen:
                problems.append(((*base, "labels", j), f"label {label.strip()!r} is given twice"))
            seen.add(label.strip())
    if kind in FROM_ZERO:
        for j, value in enumerate(values):
            number = _number(value)
            if number is not None and number < 0:
                problems.append(
                    (
                        (*base, "values", j),
                        f"a {kind} chart starts at zero and cannot show {value}; use a line",
                    )
                )
    if kind == "before-after" and len(values) != 2:
        problems.append(
            ((*base, "values"), f"a before-after chart has 2 values (before, after), not {len(values)}")
        )
    if kind == "line" and len(values) < 2:
        problems.append(((*base, "values"), "a line needs at least 2 points"))
    return problems


def decimals(chart: Any) -> int:
    """Digits after the point: the chart's ``decimals``, else as many as its values need (at most 4)."""
    if chart.decimals is not None:
        return int(chart.decimals)
    needed = 0
    for value in chart.values:
        text = f"{float(value):.4f}".rstrip("0")
        needed = max(needed, len(text.split(".")[1]) if "." in text else 0)
    return min(needed, 4)


def value_text(chart: Any, value: float, lang: Language) -> str:
    """One value as the language writes it, with its currency and unit: €3.00/MB, 3,00 €/Mo."""
    from babel.numbers import format_currency, format_decimal

    locale = lang.format_locale
    if chart.currency:
        text = format_currency(value, chart.currency, locale=locale)
    else:
        digits = decimals(chart)
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        text = format_decimal(value, format=pattern, locale=locale)
    unit = chart.unit or ""
    if not unit:
        return text
    return f"{text}{unit}" if unit[0] in "/%" else f"{text}\u00a0{unit}"


def kind_name(kind: str, lang: Language) -> str:
    """The chart kind as the language names it ("Column chart")."""
    if kind == "bar":
        return lang.pgettext("chart kind", "Bar chart")
    if kind == "line":
        return lang.pgettext("chart kind", "Line chart")
    return lang.pgettext("chart kind", "Column chart")


def alt_text(chart: Any, title: str, lang: Language) -> str:
    """What the chart shows, from its data: "Column chart: average data roaming price: before the
    agreement €3.00/MB and after €0.20/MB."."""
    points = [
        lang.gettext("%(label)s %(value)s") % {"label": label, "value": value_text(chart, value, lang)}
        for label, value in zip(chart.labels, chart.values, strict=False)
    ]
    return lang.gettext("%(kind)s: %(title)s: %(points)s.") % {
        "kind": kind_name(chart.kind, lang),
        "title": title,
        "points": lang.names(points),
    }
