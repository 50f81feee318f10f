"""Turn Noto Sans and Noto Serif TTFs into the lean fonts shipped in templates/fonts.

The shipped fonts keep the characters of every EU language (Latin with its
extensions, Greek, Cyrillic), punctuation, currency signs and a few symbols;
hinting is dropped (PDF viewers do not need it). Lean fonts make PDFs smaller
and font subsetting faster. Run with the folder of the original TTFs, e.g. the
one Debian's fonts-noto-core package installs:

    python scripts/make_fonts.py /usr/share/fonts/truetype/noto
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset

FACES = [
    f"Noto{family}-{style}.ttf"
    for family in ("Sans", "Serif")
    for style in ("Regular", "Italic", "Bold", "BoldItalic")
]
RANGES = [
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x024F),  # Latin-1 Supplement, Latin Extended-A and -B
    (0x02B0, 0x036F),  # spacing modifiers, combining diacritics
    (0x0370, 0x03FF),  # Greek
    (0x0400, 0x04FF),  # Cyrillic
    (0x1E00, 0x1EFF),  # Latin Extended Additional
    (0x2000, 0x206F),  # General Punctuation
    (0x20A0, 0x20CF),  # Currency Symbols
    (0x2100, 0x214F),  # Letterlike Symbols
    (0x2190, 0x21FF),  # Arrows
    (0x2200, 0x22FF),  # Mathematical Operators
    (0x25A0, 0x25FF),  # Geometric Shapes
    (0xFB00, 0xFB06),  # Latin ligatures
]


def main(source: Path, target: Path) -> None:
    unicodes = [cp for start, end in RANGES for cp in range(start, end + 1)]
    options = subset.Options()
    options.layout_features = ["*"]
    options.hinting = False
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.drop_tables += ["DSIG"]
    target.mkdir(parents=True, exist_ok=True)
    for name in FACES:
        font = subset.load_font(str(source / name), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=unicodes)
        subsetter.subset(font)
        font.save(str(target / name), reorderTables=True)
        print(f"{name}: {(source / name).stat().st_size:,} -> {(target / name).stat().st_size:,} bytes")


if __name__ == "__main__":
    here = Path(__file__).resolve().parent.parent
    main(Path(sys.argv[1]), here / "templates" / "fonts")
