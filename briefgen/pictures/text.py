"""Turn text into its width in the shipped fonts, and into lines that fit a width.

Layouts computed in Python (the at-a-glance diagram) need to know how wide a label will be when
drawn; this reads the advance widths of Brief Sans (the shipped Noto Sans files) with fontTools,
once per process. A character the font lacks counts as the font's average width, so a label in
any script still wraps. Kerning is left out: it changes widths by a few per cent, which the
layouts' margins absorb.
"""

from __future__ import annotations

import functools

from ..paths import builtin_templates

FILES = {False: "NotoSans-Regular.ttf", True: "NotoSans-Bold.ttf"}


@functools.cache
def _metrics(bold: bool) -> tuple[dict[int, float], float]:
    """Advance widths by code point, in ems, and the average width of the font."""
    from fontTools.ttLib import TTFont

    font = TTFont(builtin_templates() / "fonts" / FILES[bold], lazy=True)
    units = font["head"].unitsPerEm
    metrics = font["hmtx"].metrics
    widths = {code: metrics[name][0] / units for code, name in font.getBestCmap().items()}
    average = font["OS/2"].xAvgCharWidth / units
    return widths, average


def width(text: str, size: float, bold: bool = False) -> float:
    """How wide ``text`` is at ``size`` points (or pixels) in Brief Sans."""
    widths, average = _metrics(bold)
    return sum(widths.get(ord(ch), average) for ch in text) * size


def wrap(text: str, size: float, room: float, bold: bool = False, most: int = 4) -> list[str]:
    """``text`` in lines no wider than ``room``, at most ``most`` lines (the last one shortened
    with an ellipsis); a word wider than the room is cut."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if width(candidate, size, bold) <= room or not line:
            line = candidate
        else:
            lines.append(line)
            line = word
        while width(line, size, bold) > room and len(line) > 1:
            cut = len(line)
            while cut > 1 and width(line[:cut], size, bold) > room:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
    if line:
        lines.append(line)
    if len(lines) > most:
        last = lines[most - 1]
        while last and width(last + "…", size, bold) > room:
            last = last[:-1].rstrip()
        lines = [*lines[: most - 1], last + "…"]
    return lines
