"""Turn a chart's series into a Vega-Lite specification, and that into SVG or PNG with vl-convert.

vl-convert runs Vega-Lite without a browser; only this module imports it, and only when a brief
has a chart. It is told about the shipped fonts once per process (``templates/fonts``, nothing
else), so text is measured and set in Brief Sans (Noto Sans by its file name). Numbers are
written on the marks as the brief's language writes them (:func:`~.series.value_text`); the value
axis is left out, since Vega would format its ticks in English. Colours are the theme's.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from ..paths import builtin_templates

#: The family SVG text names: "Brief Sans" for the PDF and HTML (their @font-face), then the
#: shipped file's own name for vl-convert and LibreOffice.
FONT = "Brief Sans, Noto Sans"
#: Drawing size in CSS pixels; the figure scales to the text width.
WIDTH, HEIGHT = 360, 170
#: PNG pixels per CSS pixel for Word's fallback picture (about 300 dpi at the printed size).
PNG_SCALE = 3.0


@functools.cache
def _converter() -> Any:
    """vl-convert with the shipped fonts registered (once per process)."""
    import vl_convert

    vl_convert.register_font_directory(str(builtin_templates() / "fonts"))
    return vl_convert


def spec(kind: str, rows: list[dict[str, Any]], colours: dict[str, str]) -> dict[str, Any]:
    """A Vega-Lite specification for ``rows`` (``label``, ``value``, ``text``, in order)."""
    brand, muted, ink = colours["brand"], colours["muted"], colours["ink"]
    horizontal = kind == "bar"
    category = {
        "field": "label",
        "type": "ordinal",
        "sort": None,
        "axis": {"title": None, "labelAngle": 0, "labelLimit": 160, "ticks": False, "domain": False},
    }
    if not horizontal:
        category["axis"]["labelExpr"] = "split(datum.label, ' ')" if len(rows) > 4 else "datum.label"
    value = {"field": "value", "type": "quantitative", "axis": None, "scale": {"zero": kind != "line"}}
    if kind == "line":
        value["scale"]["padding"] = 14
    encoding: dict[str, Any] = {"y": category, "x": value} if horizontal else {"x": category, "y": value}
    text_at = (
        {"align": "left", "dx": 4, "baseline": "middle"}
        if horizontal
        else {"align": "center", "dy": -7, "baseline": "bottom"}
    )
    if kind == "line":
        mark: dict[str, Any] = {"type": "line", "color": brand, "point": {"color": brand, "size": 40}}
        colour = {}
    else:
        mark = {"type": "bar", "cornerRadiusEnd": 2}
        shades = [muted, brand] if kind == "before-after" else [brand] * len(rows)
        colour = {
            "color": {
                "field": "label",
                "type": "nominal",
                "scale": {"domain": [r["label"] for r in rows], "range": shades[: len(rows)]},
                "legend": None,
            }
        }
    narrow = kind in ("column", "before-after") and len(rows) <= 3
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": {"step": 110} if narrow else WIDTH,
        "height": HEIGHT if not horizontal else max(60, 26 * len(rows)),
        "padding": {"left": 4, "right": 48 if horizontal else 4, "top": 16, "bottom": 4},
        "data": {"values": rows},
        "encoding": encoding,
        "layer": [
            {"mark": mark, "encoding": colour},
            {
                "mark": {"type": "text", "fontWeight": "bold", "color": ink, **text_at},
                "encoding": {"text": {"field": "text"}},
            },
        ],
        "config": {
            "font": FONT,
            "view": {"stroke": None},
            "background": None,
            "axis": {"labelFontSize": 11, "labelColor": ink},
            "text": {"fontSize": 11},
        },
    }


@functools.lru_cache(maxsize=64)
def _svg(spec_json: str) -> str:
    return _converter().vegalite_to_svg(json.loads(spec_json))


@functools.lru_cache(maxsize=64)
def _png(spec_json: str, scale: float) -> bytes:
    return _converter().vegalite_to_png(json.loads(spec_json), scale=scale)


def svg(chart_spec: dict[str, Any]) -> str:
    """The chart as SVG text (text as ``<text>``, in the shipped fonts); the same data draws the
    same bytes, so a batch draws each chart once per process."""
    return _svg(json.dumps(chart_spec, sort_keys=True))


def png(chart_spec: dict[str, Any], scale: float = PNG_SCALE) -> bytes:
    """The chart as a PNG picture, ``scale`` pixels per CSS pixel."""
    return _png(json.dumps(chart_spec, sort_keys=True), scale)


def svg_to_png(svg_text: str, scale: float = PNG_SCALE) -> bytes:
    """Any SVG drawn in the shipped fonts as PNG (the at-a-glance diagram for Word)."""
    return _converter().svg_to_png(svg_text, scale=scale)
