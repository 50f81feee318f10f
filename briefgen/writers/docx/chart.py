"""Turn the HTML's pictures (``figure.chart``, ``figure.glance``) into Word drawings.

* A chart becomes a native Word chart: a DrawingML chart part whose data sits in an embedded
  workbook, so the reader can open the numbers and restyle the chart in Word. The chart XML
  and the workbook are written by python-pptx (:class:`pptx.chart.xmlwriter.ChartXmlWriter`,
  :class:`pptx.chart.data.CategoryChartData`, which uses XlsxWriter), from the figure's
  ``data-series``. A PNG of the figure's SVG is the ``mc:Fallback`` for readers without charts.
* The at-a-glance diagram becomes a PNG picture at print resolution (300 dpi).

Both carry the figure's alternative text (the SVG's ``aria-label``) as ``wp:docPr/@descr``; the
caption and the data tables that follow are walked as usual. SVG is drawn to PNG by vl-convert's
resvg (:func:`briefgen.pictures.chart.svg_to_png`) in the shipped fonts.
"""

from __future__ import annotations

import copy
import functools
import io
import json
from typing import Any

from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Emu
from lxml.etree import SubElement

from ...log import warn
from ...safe import xml_clean
from .styles import Format
from .wml import W_R, paragraph_property, w

SVG_NS = "http://www.w3.org/2000/svg"
CT_CHART = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
CT_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"
#: Printed resolution of the PNG pictures.
DPI = 300
#: English Metric Units in a point: pictures keep their drawn size, at most the text width (as in the CSS).
EMU_PER_POINT = 12700
KINDS = {
    "bar": "BAR_CLUSTERED",
    "column": "COLUMN_CLUSTERED",
    "before-after": "COLUMN_CLUSTERED",
    "line": "LINE_MARKERS",
}


def picture(walker: Any, element: Any) -> None:
    """Write ``figure.chart`` or ``figure.glance``: the drawing, then its caption and tables."""
    svg = next((child for child in element if child.tag == "svg"), None)
    chart = "chart" in (element.get("class") or "").split()
    if svg is not None:
        alt = xml_clean(svg.get("aria-label") or "").strip()
        paragraph = walker.paragraph("Normal")
        paragraph_property(paragraph._p, "keepNext")
        try:
            png, size = _png(svg)
            width = min(_text_width(walker), int(size[0] * EMU_PER_POINT))
            height = int(width * size[1] / size[0])
            if chart and element.get("data-series"):
                _native_chart(
                    walker, paragraph, json.loads(element.get("data-series")), png, alt, width, height
                )
            else:
                inline = _inline_picture(walker, paragraph, png, width, height)
                inline.docPr.set("descr", alt)
                inline.docPr.set("title", alt)
        except (ValueError, KeyError, TypeError, RuntimeError) as exc:
            warn("docx: a picture could not be drawn (%s); its caption and data are kept", type(exc).__name__)
        walker.finish(paragraph)
    for child in element:
        if not isinstance(child.tag, str) or child.tag == "svg":
            continue
        if child.tag == "details":  # the data tables, open in Word: a heading line, then the tables
            for part in child:
                if part.tag == "summary":
                    line = walker.paragraph("Caption")
                    walker.inline(line, part, Format(bold=True))
                    walker.finish(line)
                elif isinstance(part.tag, str):
                    walker.block(part, "Normal")
        else:
            walker.block(child, "Caption" if child.tag == "figcaption" else "Normal")


def _inline_picture(walker: Any, paragraph: Any, png: bytes, width: int, height: int) -> Any:
    """A new run at the end of ``paragraph`` holding ``png`` at ``width`` x ``height`` EMU; its
    ``wp:inline``."""
    inline = walker.doc.part.new_pic_inline(io.BytesIO(png), Emu(int(width)), Emu(int(height)))
    SubElement(SubElement(paragraph._p, W_R), w("drawing")).append(inline)
    return inline


def _text_width(walker: Any) -> int:
    """The width between the page's margins, in EMU (the walker knows the page it writes on)."""
    return int(walker.page.text_width)


def _png(svg: Any) -> tuple[bytes, tuple[float, float]]:
    """The SVG element of the parsed HTML drawn as PNG at :data:`DPI`, and its size in points.

    The HTML parser lowers the case of SVG names (``viewBox``, ``clipPath``); the SVG is parsed
    again as HTML5 does (tinyhtml5, WeasyPrint's parser), which gives them back their case."""
    from ...pictures import chart as drawing
    from ...pictures.svg import svg_element, svg_text

    found = svg_element(inert(copy.deepcopy(svg)))
    text = svg_text(found)
    box = [float(v) for v in (found.get("viewBox") or "").split()]
    if len(box) != 4 or box[2] <= 0 or box[3] <= 0:
        raise ValueError("no viewBox")
    unit = 1.0 if (found.get("width") or "").endswith("pt") else 0.75  # CSS pixels to points
    width, height = box[2] * unit, box[3] * unit
    return drawing.svg_to_png(text, scale=DPI / 72 * unit), (width, height)


#: SVG elements that load or run something: a template's SVG loses them before it is drawn.
ACTIVE = frozenset({"image", "foreignobject", "script", "style", "feimage", "iframe", "object"})


def inert(svg: Any) -> Any:
    """``svg`` (from the HTML, which a template writes) without what would make the PNG drawing
    fetch a file or a URL: elements that load things, links that leave the drawing, ``url()``
    values other than ``url(#id)``."""
    for node in list(svg.iter()):
        if not isinstance(node.tag, str):
            continue
        if node.tag.rsplit("}", 1)[-1].lower() in ACTIVE and node is not svg:
            node.getparent().remove(node)
            continue
        for name, value in list(node.attrib.items()):
            local = name.rsplit("}", 1)[-1].rsplit(":", 1)[-1].lower()
            outside = (
                "url(" in value.replace(" ", "").lower() and "url(#" not in value.replace(" ", "").lower()
            )
            if (local == "href" and not value.startswith("#")) or outside:
                del node.attrib[name]
    return svg


def _native_chart(
    walker: Any, paragraph: Any, series: dict, png: bytes, alt: str, width: int, height: int
) -> None:
    """A Word chart with its workbook, and ``png`` as the fallback picture, in one run."""
    values = [float(v) for v in series["values"]]
    kind = str(series["kind"])
    colours = walker.theme.colours.model_dump() if walker.theme is not None else None
    chart_bytes, book = _chart_parts(
        json.dumps(series, sort_keys=True), json.dumps(colours, sort_keys=True), walker.epoch
    )
    chart_xml = parse_xml(chart_bytes)

    doc_part = walker.doc.part
    package = doc_part.package
    number = len([p for p in package.iter_parts() if str(p.partname).startswith("/word/charts/")]) + 1
    workbook = Part(
        PackURI(f"/word/embeddings/Microsoft_Excel_Sheet{number}.xlsx"),
        CT_XLSX,
        book,
        package,
    )
    chart_part = Part(PackURI(f"/word/charts/chart{number}.xml"), CT_CHART, b"", package)
    book_rid = chart_part.relate_to(workbook, RT.PACKAGE)
    external = parse_xml(
        f'<c:externalData {nsdecls("c", "r")} r:id="{book_rid}"><c:autoUpdate val="0"/></c:externalData>'
    )
    chart_xml.append(external)
    from lxml import etree

    chart_part._blob = etree.tostring(chart_xml, xml_declaration=True, encoding="UTF-8", standalone=True)
    chart_rid = doc_part.relate_to(chart_part, RT.CHART)

    fallback = _inline_picture(walker, paragraph, png, width, height)
    drawing = fallback.getparent()
    fallback.docPr.set("descr", alt)
    fallback.docPr.set("title", alt)
    ident = doc_part.next_id + 1
    inline = copy.deepcopy(fallback)
    inline.docPr.set("id", str(ident))
    inline.docPr.set("name", f"Chart {number}")
    inline.extent.cy = int(width * (max(0.3, 0.1 * len(values)) if kind == "bar" else 0.55))
    graphic_data = inline.find(qn("a:graphic")).find(qn("a:graphicData"))
    for child in list(graphic_data):
        graphic_data.remove(child)
    graphic_data.set("uri", "http://schemas.openxmlformats.org/drawingml/2006/chart")
    graphic_data.append(parse_xml(f'<c:chart {nsdecls("c", "r")} r:id="{chart_rid}"/>'))
    alternate = parse_xml(
        f'<mc:AlternateContent xmlns:mc="{MC_NS}" {nsdecls("w", "c")}>'
        '<mc:Choice Requires="c"><w:drawing/></mc:Choice><mc:Fallback/></mc:AlternateContent>'
    )
    choice, fall = alternate[0], alternate[1]
    choice[0].append(inline)
    drawing.addprevious(alternate)
    fall.append(drawing)


@functools.lru_cache(maxsize=32)
def _chart_parts(series_json: str, colours_json: str, epoch: int | None) -> tuple[bytes, bytes]:
    """The chart XML (styled, before its workbook link) and the workbook of one series: the same
    for every brief of a build or batch, so made once per process."""
    from pptx.chart.data import CategoryChartData
    from pptx.chart.xmlwriter import ChartXmlWriter
    from pptx.enum.chart import XL_CHART_TYPE

    series = json.loads(series_json)
    kind = str(series["kind"])
    data = CategoryChartData(number_format=str(series.get("format") or "General"))
    data.categories = [str(v) for v in series["labels"]]
    data.add_series(str(series.get("title") or ""), [float(v) for v in series["values"]])
    chart_xml = parse_xml(ChartXmlWriter(getattr(XL_CHART_TYPE, KINDS[kind]), data).xml.encode())
    _style(chart_xml, kind, json.loads(colours_json))
    from lxml import etree

    return etree.tostring(chart_xml), _reproducible(data.xlsx_blob, epoch)


def _reproducible(book: bytes, given: int | None) -> bytes:
    """The workbook with the brief's own creation time (``given``, the writer's
    ``source_date_epoch``, else ``SOURCE_DATE_EPOCH``; XlsxWriter writes now), so a rebuild of the
    same brief is byte-identical."""
    import re

    from ...clock import moment, source_date_epoch
    from .package import pack, unpack

    epoch = given if given is not None else source_date_epoch()
    parts = unpack(book)
    core = parts.get("docProps/core.xml")
    if core is not None:
        when = moment(epoch).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
        parts["docProps/core.xml"] = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", when, core)
    return pack(parts, epoch)


def _style(chart_xml: Any, kind: str, colours: dict[str, str] | None) -> None:
    """The theme's colours on the marks, values written on them, 9pt text in Brief Sans."""
    from ...theme import DEFAULT_COLOURS

    c = colours or DEFAULT_COLOURS
    brand, muted = c["brand"].lstrip("#"), c["muted"].lstrip("#")
    for auto in chart_xml.iter(qn("c:autoTitleDeleted")):
        auto.set("val", "1")
    for ser in chart_xml.iter(qn("c:ser")):
        fill = f'<a:solidFill><a:srgbClr val="{brand}"/></a:solidFill>'
        line = f'<a:ln w="28575"><a:solidFill><a:srgbClr val="{brand}"/></a:solidFill></a:ln>'
        sp = parse_xml(f"<c:spPr {nsdecls('c', 'a')}>{line if kind == 'line' else fill}</c:spPr>")
        anchor = ser.find(qn("c:tx"))
        (anchor if anchor is not None else ser[1]).addnext(sp)
        extra = []
        if kind == "before-after":
            extra.append(
                f'<c:dPt {nsdecls("c", "a")}><c:idx val="0"/><c:invertIfNegative val="0"/>'
                '<c:bubble3D val="0"/>'
                f'<c:spPr><a:solidFill><a:srgbClr val="{muted}"/></a:solidFill></c:spPr></c:dPt>'
            )
        extra.append(
            f'<c:dLbls {nsdecls("c")}><c:showLegendKey val="0"/><c:showVal val="1"/><c:showCatName val="0"/>'
            '<c:showSerName val="0"/><c:showPercent val="0"/><c:showBubbleSize val="0"/></c:dLbls>'
        )
        place = ser.find(qn("c:invertIfNegative"))
        if place is None:
            place = ser.find(qn("c:marker"))
        if place is None:
            place = sp
        for xml in reversed(extra):
            place.addnext(parse_xml(xml))
    for rpr in chart_xml.iter(qn("a:defRPr")):
        rpr.set("sz", "900")
        rpr.append(parse_xml(f'<a:latin {nsdecls("a")} typeface="Brief Sans"/>'))
