"""Turn text into its width in the shipped fonts, and into lines that fit a width.

Layouts computed in Python (the at-a-glance diagram) need to know how wide a label will be when
drawn; this reads the advance widths of Brief Sans (the shipped Noto Sans files) with fontTools
once per user (then keeps them in the user's cache) and once per process. A character the font
lacks counts as the font's average width, so a label in any script still wraps. Kerning is left
out: it changes widths by a few per cent, which the layouts' margins absorb.
"""

from __future__ import annotations

import array
import functools
import hashlib
import io

from ..paths import builtin_templates

FILES = {False: "NotoSans-Regular.ttf", True: "NotoSans-Bold.ttf"}


@functools.cache
def _metrics(bold: bool) -> tuple[dict[int, float], float]:
    """Advance widths by code point, in ems, and the average width of the font: kept in the user's
    cache (:mod:`briefgen.usercache`, folder ``fonts``) under a hash of the font's bytes, since
    reading them with fontTools costs a new process some 40 ms per font."""
    from .. import usercache

    data = (builtin_templates() / "fonts" / FILES[bold]).read_bytes()
    where = usercache.folder("fonts")
    name = "widths-" + hashlib.sha256(b"advance widths 1\0" + data).hexdigest() + ".bin"
    found = _unpacked(usercache.read(where, name)) if where is not None else None
    if found is not None:
        return found
    widths, average = _read_metrics(data)
    if where is not None:
        usercache.write(where, name, _packed(widths, average))
    return widths, average


def _read_metrics(data: bytes) -> tuple[dict[int, float], float]:
    from fontTools.ttLib import TTFont

    font = TTFont(io.BytesIO(data), lazy=True)
    units = font["head"].unitsPerEm
    metrics = font["hmtx"].metrics
    widths = {code: metrics[name][0] / units for code, name in font.getBestCmap().items()}
    average = font["OS/2"].xAvgCharWidth / units
    return widths, average


def _packed(widths: dict[int, float], average: float) -> bytes:
    """The average, then the code points (uint32) and their widths (float64), native order."""
    codes = array.array("I", sorted(widths))
    return b"".join(
        (
            array.array("d", [average]).tobytes(),
            codes.tobytes(),
            array.array("d", (widths[c] for c in codes)).tobytes(),
        )
    )


def _unpacked(data: bytes | None) -> tuple[dict[int, float], float] | None:
    """What :func:`_packed` wrote, or None when ``data`` cannot be it."""
    if data is None or len(data) < 8 or (len(data) - 8) % 12 or array.array("I").itemsize != 4:
        return None
    count = (len(data) - 8) // 12
    average = array.array("d", data[:8])[0]
    codes = array.array("I", data[8 : 8 + 4 * count])
    values = array.array("d", data[8 + 4 * count :])
    if not all(0 <= w < 10 for w in values) or not 0 < average < 10:
        return None
    return dict(zip(codes, values, strict=True)), average


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
