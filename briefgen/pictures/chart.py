"""Turn a chart's series into a drawing: SVG with matplotlib, PNG from that SVG with vl-convert.

matplotlib draws the chart (its ``Figure`` API and SVG backend, no global state, no GUI); text stays
``<text>`` (``svg.fonttype: none``) in the shipped Noto Sans, which the PDF knows as Brief Sans.
Numbers are written on the marks as the brief's language writes them (:func:`~.series.value_text`);
the value axis is left out, so no number appears in another language's format. Colours are the
theme's. The same data draws the same bytes (fixed hash salt, no date), and a process draws each
chart once (an lru cache keyed by the drawing's description) and keeps what it drew for later runs
(:mod:`.kept`, the per-user cache), so a build after the first imports neither library.

Vega-Lite through vl-convert was tried first (docs/pictures.md): it starts a V8 runtime, which
cannot reserve its heap under the batch workers' address-space limit (``RLIMIT_AS``), so every
worker died. vl-convert's SVG-to-PNG (resvg, no JavaScript) stays: it draws the PNGs Word gets.
Only this module imports matplotlib and vl-convert, and only to draw a picture not kept from an earlier run.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
from typing import Any

from ..paths import builtin_templates
from .text import width

#: Families SVG text names: "Brief Sans" for the PDF and HTML (their @font-face), then the shipped
#: file's own name for vl-convert and LibreOffice.
FONT = "'Brief Sans', 'Noto Sans'"
#: Drawing size in inches (matplotlib's unit; 1 inch = 72 pt).
WIDTH, HEIGHT = 4.2, 2.3
#: Text size in points, the padding round the axes, and matplotlib's gap between a tick and its label.
SIZE, PAD, TICK_PAD = 8.5, 4.0, 3.5
#: PNG pixels per point for Word's pictures (300 dpi).
PNG_SCALE = 300 / 72


@functools.cache
def _matplotlib() -> Any:
    """matplotlib with the shipped fonts, text kept as text, reproducible SVG (once per process)."""
    import matplotlib
    from matplotlib import font_manager

    for name in ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"):
        font_manager.fontManager.addfont(str(builtin_templates() / "fonts" / name))
    matplotlib.rcParams.update(
        {"svg.fonttype": "none", "svg.hashsalt": "briefgen", "font.family": "Noto Sans", "font.size": SIZE}
    )
    return matplotlib


@functools.cache
def _converter() -> Any:
    """vl-convert with the shipped fonts registered (once per process), for SVG to PNG."""
    import vl_convert

    vl_convert.register_font_directory(str(builtin_templates() / "fonts"))
    return vl_convert


def spec(kind: str, rows: list[dict[str, Any]], colours: dict[str, str]) -> dict[str, Any]:
    """What to draw: the kind, the rows (``label``, ``value``, ``text``, in order) and the colours."""
    return {"kind": kind, "rows": rows, "colours": {k: colours[k] for k in ("brand", "muted", "ink")}}


def _draw(chart: dict[str, Any]) -> str:
    _matplotlib()
    from matplotlib.figure import Figure

    kind, rows, c = chart["kind"], chart["rows"], chart["colours"]
    labels = [r["label"] for r in rows]
    values = [r["value"] for r in rows]
    texts = [r["text"] for r in rows]
    horizontal = kind == "bar"
    narrow = kind in ("column", "before-after") and len(rows) <= 3
    size = (WIDTH, max(0.9, 0.34 * len(rows) + 0.3)) if horizontal else ((2.6 if narrow else WIDTH), HEIGHT)
    figure = Figure(figsize=size)
    axes = figure.add_subplot()
    shades = [c["muted"], c["brand"]] if kind == "before-after" else [c["brand"]] * len(rows)
    positions = list(range(len(rows)))
    if kind == "line":
        axes.plot(positions, values, color=c["brand"], marker="o", linewidth=2, markersize=5)
        for x, y, text in zip(positions, values, texts, strict=True):
            axes.annotate(
                text,
                (x, y),
                textcoords="offset points",
                xytext=(0, 6),
                ha="center",
                fontweight="bold",
                color=c["ink"],
            )
        axes.margins(x=0.08, y=0.25)
    elif horizontal:
        bars = axes.barh(positions, values, color=shades, height=0.65)
        axes.invert_yaxis()
        axes.bar_label(bars, labels=texts, padding=3, fontweight="bold", color=c["ink"])
        # room after the longest bar for its value: a share r of the axes needs a margin r / (1 - r)
        axes_width = size[0] * 72 - _side(labels, size[0] * 72) - PAD
        room = (max(width(t, SIZE, bold=True) for t in texts) + 3 + PAD) / axes_width
        axes.margins(x=max(0.25, room / (1 - room)) if room < 0.8 else 4.0)
    else:
        bars = axes.bar(positions, values, color=shades, width=0.65)
        axes.bar_label(bars, labels=texts, padding=3, fontweight="bold", color=c["ink"])
        axes.margins(y=0.18)
    ticks = axes.set_yticks if horizontal else axes.set_xticks
    ticks(positions, labels=labels, color=c["ink"])
    (axes.xaxis if horizontal else axes.yaxis).set_visible(False)
    for side in ("top", "right", "left" if not horizontal else "bottom"):
        axes.spines[side].set_visible(False)
    axes.spines["bottom" if not horizontal else "left"].set_color(c["muted"])
    axes.tick_params(length=0)
    _fixed_margins(figure, size, labels, texts, horizontal)
    out = io.StringIO()
    figure.savefig(out, format="svg", metadata={"Date": None, "Creator": None}, transparent=True)
    return _presentation(out.getvalue())


def _side(labels: list[str], figure_width: float) -> float:
    """Points left of a bar chart's axes: its longest label and the tick padding (at most 60 % of
    the figure's width)."""
    return min(max(width(label, SIZE) for label in labels) + TICK_PAD + PAD, 0.6 * figure_width)


def _fixed_margins(
    figure: Any, size: tuple[float, float], labels: list[str], texts: list[str], horizontal: bool
) -> None:
    """Place the axes with margins computed from the labels' widths in the shipped font, rather than
    matplotlib's constrained layout (which draws the figure twice to measure it; a third of a chart's
    cost). The value axis is hidden, so only the category labels and the value texts need room."""
    w, h = size[0] * 72, size[1] * 72
    if horizontal:
        left, right, bottom, top = _side(labels, w), PAD, PAD, PAD
    else:  # labels and values centred on the columns or points: the outer ones may reach past the axes
        line = SIZE * 1.25
        ends = (0, -1)
        half = max(*(width(labels[i], SIZE) for i in ends), *(width(texts[i], SIZE, True) for i in ends)) / 2
        slot = (w - 2 * PAD) / (len(labels) + 0.6)  # bar slots, with the axes' own side margins
        left = right = max(PAD, half - slot / 2 + PAD)
        bottom, top = line + TICK_PAD + PAD, PAD
    figure.subplots_adjust(left=left / w, right=1 - right / w, bottom=bottom / h, top=1 - top / h)


def _presentation(svg_text: str) -> str:
    """matplotlib's ``style="fill: ...; font: 8.5px 'Noto Sans'"`` as SVG presentation attributes
    (``fill="..."``, ``font-family="..."``): an HTML page would read a ``style`` attribute as CSS,
    where SVG properties are unknown (WeasyPrint warns about each one)."""
    from lxml import etree

    root = etree.fromstring(svg_text.encode(), etree.XMLParser(resolve_entities=False, no_network=True))
    for node in root.iter():
        style = node.attrib.pop("style", None) if isinstance(node.tag, str) else None
        for declaration in (style or "").split(";"):
            name, _, value = (part.strip() for part in declaration.partition(":"))
            if name == "font":  # "8.5px 'Noto Sans'" (matplotlib's shorthand: size, then family)
                size, _, _family = value.partition(" ")
                node.set("font-size", size)
                node.set("font-family", FONT)
            elif name == "font-family":
                node.set("font-family", FONT)
            elif name and value:
                node.set(name, value)
    return etree.tostring(root, encoding="unicode")


@functools.lru_cache(maxsize=64)
def _svg(chart_json: str) -> str:
    """The chart drawn from its description: kept from an earlier run (:mod:`.kept`), else drawn."""
    from . import kept

    name = kept.name("svg", chart_json, "matplotlib")
    found = kept.read(name)
    if found is not None:
        with contextlib.suppress(UnicodeDecodeError):
            return found.decode("utf-8")
    drawn = _draw(json.loads(chart_json))
    kept.write(name, drawn.encode("utf-8"))
    return drawn


def svg(chart: dict[str, Any]) -> str:
    """The chart as SVG text (text as ``<text>``, in the shipped fonts)."""
    return _svg(json.dumps(chart, sort_keys=True))


def svg_to_png(svg_text: str, scale: float = PNG_SCALE) -> bytes:
    """Any SVG drawn in the shipped fonts as PNG, ``scale`` pixels per SVG unit (Word's pictures)."""
    from . import kept

    name = kept.name("png", f"{scale!r}\0{svg_text}", "vl_convert")
    found = kept.read(name)
    if found is None:
        found = bytes(_converter().svg_to_png(svg_text, scale=scale))
        kept.write(name, found)
    return found
