"""Turn the links of a brief (objectives, focus areas, this audience's recommendations) into an
SVG diagram laid out in Python.

Two forms share the data (:class:`Glance`):

* :func:`matrix` (the one the templates show): the focus areas as columns; the objectives, then
  the recommendations, as rows; a dot where an area serves an objective or a recommendation
  serves an area, and each recommendation's objectives by number in the last column. It reads
  the same with 2 or 6 objectives, 3 or 10 areas and 4 or 12 recommendations: rows and columns
  only get narrower, no line crosses another;
* :func:`columns`: three columns of boxes joined by curves (objective to area to
  recommendation); kept for comparison (docs/pictures.md), it tangles past six areas.

Highlighted (the theme's accent): the reader's focus areas, and the recommendations that serve
them or the reader's region. The layout is deterministic: the same brief draws the same bytes.
Sizes are points; text stays text, in Brief Sans, measured by :mod:`.text`.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import text

SVG_NS = "http://www.w3.org/2000/svg"
#: Width of the diagram in points: the text width of an A4 page with the print margins.
WIDTH = 480.0
FONT = "Brief Sans, Noto Sans"


@dataclass(frozen=True)
class Node:
    """One box or row: an objective, a focus area or a recommendation."""

    key: str
    title: str
    mark: str = ""  # the number shown before the title
    highlight: bool = False


@dataclass(frozen=True)
class Glance:
    """What the diagram shows, in the words of the brief's language."""

    objectives: tuple[Node, ...]
    areas: tuple[Node, ...]
    recommendations: tuple[Node, ...]
    area_objectives: frozenset[tuple[str, str]]  # (area, objective)
    rec_areas: frozenset[tuple[str, str]]  # (recommendation, area)
    rec_objectives: frozenset[tuple[str, str]]  # (recommendation, objective)
    headings: tuple[str, str, str]  # objectives, focus areas, recommendations
    objectives_heading: str  # the last column of the matrix: a recommendation's objectives
    note: str = ""  # what the highlight means, under the diagram


class _Canvas:
    """An SVG tree being drawn, in points."""

    def __init__(self, colours: dict[str, str]) -> None:
        from lxml import etree

        self.etree = etree
        self.colours = colours
        self.root = etree.Element(f"{{{SVG_NS}}}svg", nsmap={None: SVG_NS})

    def el(self, tag: str, parent: object = None, **attrs: object) -> object:
        node = self.etree.SubElement(parent if parent is not None else self.root, f"{{{SVG_NS}}}{tag}")
        for key, value in attrs.items():
            node.set(
                key.rstrip("_").replace("_", "-"), _num(value) if isinstance(value, float) else str(value)
            )
        return node

    def text(
        self,
        x: float,
        y: float,
        lines: list[str],
        size: float,
        *,
        bold: bool = False,
        colour: str = "ink",
        anchor: str = "start",
        leading: float = 1.2,
        rotate: bool = False,
    ) -> None:
        attrs: dict[str, object] = {
            "x": x,
            "y": y,
            "font_family": FONT,
            "font_size": size,
            "fill": self.colours[colour],
        }
        if bold:
            attrs["font_weight"] = "bold"
        if anchor != "start":
            attrs["text_anchor"] = anchor
        if rotate:
            attrs["transform"] = f"rotate(-90 {_num(x)} {_num(y)})"
        node = self.el("text", **attrs)
        if len(lines) == 1:  # one line needs no tspan (each is a text run for the PDF writer to set)
            node.text = lines[0]
            return
        for i, line in enumerate(lines):
            span = self.el("tspan", node, x=x, dy=0.0 if i == 0 else size * leading)
            span.text = line

    def finish(self, height: float) -> str:
        self.root.set("viewBox", f"0 0 {_num(WIDTH)} {_num(height)}")
        self.root.set("width", f"{_num(WIDTH)}pt")
        self.root.set("height", f"{_num(height)}pt")
        return self.etree.tostring(self.root, encoding="unicode")


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def matrix(glance: Glance, colours: dict[str, str]) -> str:
    """The matrix form (see the module's docstring) as SVG text."""
    c = _Canvas(colours)
    areas = glance.areas
    label_w = 196.0 if len(areas) > 6 else 220.0
    last_w = 52.0
    col_w = (WIDTH - label_w - last_w) / len(areas)
    rotated = col_w < 52
    head_size = 7.5
    if rotated:
        heads = [text.wrap(a.title, head_size, 96, bold=a.highlight, most=2) for a in areas]
        head_h = max(text.width(line, head_size, True) for h in heads for line in h) + 8
    else:
        heads = [text.wrap(a.title, head_size, col_w - 6, bold=a.highlight, most=4) for a in areas]
        head_h = max(len(h) for h in heads) * head_size * 1.2 + 8
    head_h = max(head_h, 24.0)
    size = 8.0 if len(glance.recommendations) <= 8 else 7.5
    line_h = size * 1.25

    def row_lines(node: Node) -> list[str]:
        return text.wrap(node.title, size, label_w - 26, bold=node.highlight, most=2)

    obj_rows = [(n, row_lines(n)) for n in glance.objectives]
    rec_rows = [(n, row_lines(n)) for n in glance.recommendations]
    section_h = 18.0
    pad = 5.0
    height = (
        head_h + 2 * section_h + sum(len(lines) * line_h + 2 * pad for _, lines in obj_rows + rec_rows) + 4
    )
    # Columns of the areas in focus: a soft band behind the whole column.
    for i, area in enumerate(areas):
        if area.highlight:
            c.el(
                "rect", x=label_w + i * col_w, y=0.0, width=col_w, height=height, fill=colours["accent_soft"]
            )
    for i, (area, lines) in enumerate(zip(areas, heads, strict=True)):
        x = label_w + (i + 0.5) * col_w
        colour = "brand_dark" if not area.highlight else "ink"
        if rotated:
            c.text(
                x + head_size * 0.35 - (len(lines) - 1) * head_size * 0.6,
                head_h - 4,
                lines,
                head_size,
                bold=area.highlight,
                colour=colour,
                rotate=True,
            )
        else:
            top = head_h - 4 - (len(lines) - 1) * head_size * 1.2
            c.text(x, top, lines, head_size, bold=area.highlight, colour=colour, anchor="middle")
    c.text(
        WIDTH - last_w / 2,
        head_h - 4,
        text.wrap(glance.objectives_heading, head_size, last_w - 4, most=2)[:1],
        head_size,
        colour="brand_dark",
        anchor="middle",
    )
    y = head_h

    def section(title: str) -> None:
        nonlocal y
        c.el("line", x1=0.0, y1=y, x2=WIDTH, y2=y, stroke=colours["brand"], stroke_width=1.2)
        c.text(0.0, y + 12.5, [title], 8.5, bold=True, colour="brand_dark")
        y += section_h

    def rows(items: list[tuple[Node, list[str]]], cells: frozenset[tuple[str, str]], recs: bool) -> None:
        nonlocal y
        for k, (node, lines) in enumerate(items):
            h = len(lines) * line_h + 2 * pad
            if k:
                c.el("line", x1=0.0, y1=y, x2=WIDTH, y2=y, stroke=colours["panel"], stroke_width=0.8)
            if node.highlight:
                c.el("rect", x=0.0, y=y + 2, width=3.0, height=h - 4, fill=colours["accent"])
            c.text(8.0, y + pad + size * 0.95, [node.mark], size, bold=True, colour="brand")
            c.text(24.0, y + pad + size * 0.95, lines, size, bold=node.highlight, leading=1.25)
            middle = y + h / 2
            for i, area in enumerate(areas):
                if (node.key, area.key) in cells:
                    filled = colours["accent"] if (area.highlight and recs) else colours["brand"]
                    c.el("circle", cx=label_w + (i + 0.5) * col_w, cy=middle, r=4.2, fill=filled)
            if recs:
                numbers = [o.mark for o in glance.objectives if (node.key, o.key) in glance.rec_objectives]
                c.text(
                    WIDTH - last_w / 2,
                    middle + size * 0.35,
                    [", ".join(numbers)],
                    size,
                    colour="brand_dark",
                    anchor="middle",
                )
            y += h

    section(glance.headings[0])
    rows(obj_rows, frozenset((o, a) for a, o in glance.area_objectives), recs=False)
    section(glance.headings[2])
    rows(rec_rows, glance.rec_areas, recs=True)
    if glance.note:
        lines = text.wrap(glance.note, 7.5, WIDTH, most=3)
        c.text(0.0, y + 14, lines, 7.5, colour="muted")
        y += 8 + len(lines) * 9.5
    return c.finish(y + 4)


def columns(glance: Glance, colours: dict[str, str]) -> str:
    """The columns form (three columns of boxes joined by curves) as SVG text."""
    c = _Canvas(colours)
    gap = 34.0
    col_w = (WIDTH - 2 * gap) / 3
    size = 7.5
    groups = (glance.objectives, glance.areas, glance.recommendations)
    boxes: dict[str, tuple[float, float, float]] = {}  # key -> x, y top, height
    laid: list[list[tuple[Node, list[str], float]]] = []
    heights = []
    for nodes in groups:
        column = []
        for node in nodes:
            label = f"{node.mark} {node.title}".strip()
            lines = text.wrap(label, size, col_w - 12, bold=node.highlight, most=3)
            column.append((node, lines, len(lines) * size * 1.2 + 10))
        laid.append(column)
        heights.append(sum(h for _, _, h in column) + 6 * (len(column) - 1))
    top = 22.0
    total = max(heights)
    for k, column in enumerate(laid):
        x = k * (col_w + gap)
        c.text(x, 12.0, [glance.headings[k]], 8.5, bold=True, colour="brand_dark")
        spare = (total - heights[k]) / max(len(column), 1)
        y = top + spare / 2
        for node, _lines, h in column:
            boxes[node.key] = (x, y, h)
            y += h + 6 + spare
    curves = c.el("g", fill="none")
    for pairs in (glance.area_objectives, glance.rec_areas):
        for a, b in sorted(pairs):
            source, target = b, a  # (area, objective) and (recommendation, area): left is second
            if source not in boxes or target not in boxes:
                continue
            x1, y1, h1 = boxes[source]
            x2, y2, h2 = boxes[target]
            ya, yb = y1 + h1 / 2, y2 + h2 / 2
            xa, xb = x1 + col_w, x2
            hot = any(n.key == a and n.highlight for n in glance.areas + glance.recommendations)
            c.el(
                "path",
                curves,
                d=f"M{_num(xa)},{_num(ya)} C{_num(xa + gap / 2)},{_num(ya)} "
                f"{_num(xb - gap / 2)},{_num(yb)} {_num(xb)},{_num(yb)}",
                stroke=colours["accent"] if hot else colours["muted"],
                stroke_width=1.0 if hot else 0.6,
            )
    for k, column in enumerate(laid):
        for node, lines, h in column:
            x, y, _ = boxes[node.key]
            fill = colours["accent_soft"] if node.highlight else (colours["panel"] if k else colours["brand"])
            c.el(
                "rect",
                x=x,
                y=y,
                width=col_w,
                height=h,
                rx=3.0,
                fill=fill,
                stroke=colours["accent"] if node.highlight else "none",
            )
            c.text(
                x + 6, y + 5 + size * 0.95, lines, size, bold=node.highlight, colour="ink" if k else "panel"
            )
    return c.finish(top + total + 6)
