"""Turn an ``<svg>`` element of parsed HTML back into SVG text with its names in their proper case.

HTML parsing lowers the case of every name (``viewBox`` becomes ``viewbox``, ``clipPath``
``clippath``, ``textLength`` ``textlength``), which SVG readers (resvg, Typst) do not recognise.
The element is serialised and parsed again as HTML5 parses foreign content (tinyhtml5, the parser
WeasyPrint uses), which gives SVG names back their case; the writers that draw SVG outside a
browser (Word's PNG fallback, the Typst engine) read it through :func:`svg_text`.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

SVG_NS = "http://www.w3.org/2000/svg"


def svg_element(svg: Any) -> Any:
    """The lxml ``svg`` element of parsed HTML as an ElementTree element in the SVG namespace,
    its names in SVG case; ``ValueError`` if there is no SVG in it."""
    import lxml.html

    svg = copy.deepcopy(svg)
    for name in [n for n in svg.attrib if n.startswith("xmlns")]:
        del svg.attrib[name]
    return copy.deepcopy(_parsed(lxml.html.tostring(svg, encoding="unicode")))


@functools.lru_cache(maxsize=64)
def _parsed(markup: str) -> Any:
    """``markup`` parsed as HTML5 parses an inline SVG; kept, as every brief of a build or batch
    holds the same pictures (parsing one is ~15 ms)."""
    import tinyhtml5

    found = tinyhtml5.parse(markup).find(f".//{{{SVG_NS}}}svg")
    if found is None:
        raise ValueError("no svg")
    return found


def svg_text(found: Any) -> str:
    """An element from :func:`svg_element` as SVG text (SVG the default namespace)."""
    import xml.etree.ElementTree as ET

    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    return ET.tostring(found, encoding="unicode")
