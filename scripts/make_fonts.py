"""Turn Noto TTFs into the lean fonts shipped in templates/fonts.

Sources: Debian's fonts-noto-core package (version 20201225, the Noto fonts of Google's
notofonts project, SIL Open Font License 1.1), which installs them in
/usr/share/fonts/truetype/noto. Run with that folder:

    apt-get install fonts-noto-core
    python scripts/make_fonts.py /usr/share/fonts/truetype/noto

It writes, into templates/fonts:

* ``NotoSans-*.ttf`` and ``NotoSerif-*.ttf`` (regular, italic, bold, bold italic), declared as
  "Brief Sans" and "Brief Serif" in templates/css/fonts.css: every letter of the 24 official
  EU languages in Latin, Greek and Cyrillic script, plus what names and policy text from the
  EU's partner regions bring (Vietnamese, pinyin, Azerbaijani, Ukrainian, Kazakh, Welsh,
  transliterations), the punctuation, spaces, super- and subscripts, currency signs, letterlike
  symbols and number forms in :data:`TEXT_RANGES`.
* ``BriefFallback-Regular.ttf``, declared as "Brief Fallback" and named last in every
  font-family stack: what Noto Sans and Noto Serif lack, merged from Noto Sans Math (arrows,
  mathematical operators such as ≤ ≥ − ≠) and Noto Sans Symbols 2 (check marks ✓ ✗, ballot
  boxes, geometric shapes, dingbats, stars, warning signs); :data:`FALLBACK_SOURCES`. Its
  .notdef box is what a character no shipped font has is drawn with.

Lean fonts keep PDFs small and font subsetting fast: hinting is dropped (PDF viewers do not
use it), only the OpenType features text needs are kept (:data:`TEXT_FEATURES`: small capitals,
old-style figures and stylistic sets go), and each face keeps only the characters above. The
output is reproducible: the same sources give the same bytes. tests/test_fonts_coverage.py
checks every shipped face against the letters of each EU language and the symbol list.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from fontTools import subset
from fontTools.merge import Merger
from fontTools.ttLib import TTFont

TEXT_FACES = [
    f"Noto{family}-{style}.ttf"
    for family in ("Sans", "Serif")
    for style in ("Regular", "Italic", "Bold", "BoldItalic")
]

#: Code point ranges (inclusive) of the text faces.
TEXT_RANGES = [
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x017F),  # Latin-1 Supplement (NBSP, « » ° § ± × ÷ ²), Latin Extended-A
    (0x018F, 0x018F),  # Ə (Azerbaijani)
    (0x0192, 0x0192),  # ƒ
    (0x01A0, 0x01A1),  # Ơ ơ (Vietnamese)
    (0x01AF, 0x01B0),  # Ư ư (Vietnamese)
    (0x01C4, 0x01DC),  # DŽ Lj Nj digraphs (Croatian, Serbian), pinyin ǎ ǐ ǒ ǔ ǖ ǘ ǚ ǜ
    (0x01E6, 0x01E7),  # Ǧ ǧ
    (0x01F1, 0x01F5),  # DZ digraphs, Ǵ ǵ
    (0x01FA, 0x01FF),  # Ǻ ǻ Ǽ ǽ Ǿ ǿ
    (0x0218, 0x021B),  # Ș ș Ț ț: Romanian comma below
    (0x0237, 0x0237),  # ȷ
    (0x0259, 0x0259),  # ə (Azerbaijani)
    (0x02B0, 0x02BF),  # modifier letters ʰ ʲ ʳ ʷ, ʹ ʺ ʻ ʼ ʽ ʾ ʿ (apostrophes, transliteration)
    (0x02C6, 0x02C7),  # ˆ ˇ
    (0x02C9, 0x02C9),  # ˉ
    (0x02D8, 0x02DD),  # ˘ ˙ ˚ ˛ ˜ ˝
    (0x02E0, 0x02E4),  # ˡ ˢ ˣ (ˢ of French ordinals: 1ᵉʳ, 2ᵈ, 3ᵉˢ)
    (0x1D43, 0x1D5B),  # modifier small letters ᵃ ᵇ ᵈ ᵉ ᵍ ᵏ ᵐ ᵒ ᵖ ᵗ ᵘ ᵛ
    (0x0300, 0x0338),  # combining diacritics (text in decomposed form, NFD)
    (0x0370, 0x03CF),  # Greek (monotonic, as written today)
    (0x0400, 0x045F),  # Cyrillic: Bulgarian, Russian, Ukrainian, Belarusian, Serbian, Macedonian
    (0x0490, 0x0493),  # Ґ ґ (Ukrainian), Ғ ғ
    (0x049A, 0x049B),  # Қ қ (Kazakh)
    (0x04A2, 0x04A3),  # Ң ң
    (0x04AE, 0x04B1),  # Ү ү Ұ ұ
    (0x04BA, 0x04BB),  # Һ һ
    (0x04D8, 0x04D9),  # Ә ә
    (0x04E8, 0x04E9),  # Ө ө
    (0x1E00, 0x1EFF),  # Latin Extended Additional: Vietnamese, Welsh, Irish dotted consonants, ẞ
    (0x2000, 0x206F),  # General Punctuation: spaces (figure, thin, narrow no-break), dashes,
    #                    quotes ‘ ’ “ ” „ ‹ ›, • ‣ … ‰, word joiner
    (0x2070, 0x209F),  # Superscripts and Subscripts (CO₂, m³, ⁰...⁹, ₀...₉)
    (0x20A0, 0x20CF),  # Currency Symbols (€ ₴ ₽ ₺ ₹ ...)
    (0x2100, 0x214F),  # Letterlike Symbols (№ ™ ℃ ℓ ℮)
    (0x2150, 0x218F),  # Number Forms (⅓ ⅔ ⅛ Ⅰ Ⅱ Ⅲ)
    (0x25CA, 0x25CA),  # ◊
    (0x25CC, 0x25CC),  # ◌ dotted circle (shapers draw a lone combining mark on it)
    (0xFB00, 0xFB06),  # Latin ligatures
    (0xFFFD, 0xFFFD),  # replacement character
]

#: OpenType features the text faces keep: composition, language forms, ligatures, kerning, mark
#: placement, capital forms, figure styles (lining, tabular, proportional), super- and subscripts.
TEXT_FEATURES = [
    "ccmp",
    "locl",
    "liga",
    "kern",
    "mark",
    "mkmk",
    "case",
    "lnum",
    "tnum",
    "pnum",
    "subs",
    "sups",
]

FALLBACK = "BriefFallback-Regular.ttf"
#: The fallback face: each source font with the ranges taken from it (the first font that has
#: a character gives it).
FALLBACK_SOURCES = [
    (
        "NotoSansMath-Regular.ttf",
        [
            (0x0020, 0x0020),  # space
            (0x00A0, 0x00A0),  # no-break space
            (0x2190, 0x21FF),  # Arrows (← ↑ → ↓ ↔ ⇒)
            (0x2200, 0x222B),  # Mathematical Operators: ∀ ∂ ∃ ∅ ∆ ∈ ∏ ∑ − ∓ ∗ ∘ √ ∝ ∞ ∧ ∨ ∩ ∪ ∫
            (0x2234, 0x2235),  # ∴ ∵
            (0x223C, 0x223C),  # ∼
            (0x2243, 0x2245),  # ≃ ≄ ≅
            (0x2248, 0x2248),  # ≈
            (0x2260, 0x2265),  # ≠ ≡ ≢ ≣ ≤ ≥
            (0x226A, 0x226B),  # ≪ ≫
            (0x2282, 0x2287),  # ⊂ ⊃ ⊄ ⊅ ⊆ ⊇
            (0x2295, 0x2299),  # ⊕ ⊖ ⊗ ⊘ ⊙
            (0x22A5, 0x22A5),  # ⊥
            (0x22C5, 0x22C5),  # ⋅
            (0x22EF, 0x22EF),  # ⋯
            (0x2300, 0x230B),  # ⌀ ⌂ ⌈ ⌉ ⌊ ⌋
            (0x27F0, 0x27FF),  # Supplementary Arrows-A (⟶ ⟹)
        ],
    ),
    (
        "NotoSansSymbols2-Regular.ttf",
        [
            (0x2190, 0x21FF),  # arrows Noto Sans Math lacks
            (0x2300, 0x23FF),  # Miscellaneous Technical (⌘ ⏱ ⏳)
            (0x25A0, 0x25FF),  # Geometric Shapes (■ □ ▲ ▶ ● ○ ◆)
            (0x2600, 0x2606),  # ☀ ☁ ☂ ☃ ☄ ★ ☆
            (0x260E, 0x2612),  # ☎ ☏ ☐ ☑ ☒
            (0x261A, 0x261F),  # pointing hands
            (0x2690, 0x2691),  # ⚐ ⚑
            (0x26A0, 0x26A1),  # ⚠ ⚡
            (0x26AA, 0x26AB),  # ⚪ ⚫
            (0x2700, 0x27BF),  # Dingbats (✓ ✔ ✗ ✘ ✱ ❶ ➔ ➜)
            (0x2B00, 0x2B0D),  # ⬀ ⬁ ⬂ ⬃ ⬄ ⬅ ⬆ ⬇ ⬈ ⬉ ⬊ ⬋ ⬌ ⬍
            (0x2B1B, 0x2B1C),  # ⬛ ⬜
            (0x2B24, 0x2B24),  # ⬤
            (0x2B50, 0x2B55),  # ⭐ ⭑ ⭒ ⭓ ⭔ ⭕
            (0x2B95, 0x2B95),  # ⮕
        ],
    ),
]
FALLBACK_NAME = "Brief Fallback"
#: The vertical metrics the fallback takes from Noto Sans.
METRICS = {
    "hhea": ("ascent", "descent", "lineGap"),
    "OS/2": ("sTypoAscender", "sTypoDescender", "sTypoLineGap", "usWinAscent", "usWinDescent"),
}


def options(features: list[str]) -> subset.Options:
    """fontTools subsetting options shared by every face."""
    found = subset.Options()
    found.layout_features = features
    found.hinting = False
    found.name_IDs = ["*"]
    found.name_languages = ["*"]
    found.notdef_outline = True
    found.recalc_timestamp = False
    found.drop_tables += ["DSIG"]
    return found


def cut(path: Path, ranges: list[tuple[int, int]], features: list[str]) -> TTFont:
    """The subset of the font at ``path`` with the characters of ``ranges``."""
    chosen = options(features)
    font = subset.load_font(str(path), chosen, lazy=False)
    font.recalcTimestamp = False
    subsetter = subset.Subsetter(chosen)
    subsetter.populate(unicodes=[cp for start, end in ranges for cp in range(start, end + 1)])
    subsetter.subset(font)
    return font


def fallback(source: Path) -> TTFont:
    """One face from :data:`FALLBACK_SOURCES`, named :data:`FALLBACK_NAME`."""
    taken: set[int] = set()
    parts = []
    for name, ranges in FALLBACK_SOURCES:
        with TTFont(source / name, lazy=True) as original:
            cmap = original.getBestCmap()
        wanted = [cp for start, end in ranges for cp in range(start, end + 1) if cp in cmap]
        fresh = [cp for cp in wanted if cp not in taken]
        taken.update(fresh)
        font = cut(source / name, [(cp, cp) for cp in fresh], [])
        buffer = io.BytesIO()
        font.save(buffer)
        parts.append(buffer)
    merged = Merger(options=None).merge([io.BytesIO(part.getvalue()) for part in parts])
    merged.recalcTimestamp = False
    with TTFont(source / FALLBACK_SOURCES[0][0], lazy=True) as first:
        merged["head"].created = first["head"].created
        merged["head"].modified = first["head"].modified
    with TTFont(source / TEXT_FACES[0], lazy=True) as text:
        # Line height as Noto Sans's: a ✓ in a line must not make the line taller.
        for table, fields in METRICS.items():
            for field in fields:
                setattr(merged[table], field, getattr(text[table], field))
    rename(merged, FALLBACK_NAME)
    return merged


def rename(font: TTFont, family: str) -> None:
    """Give ``font`` the family ``family`` (style Regular), saying what it was made from."""
    name = font["name"]
    postscript = family.replace(" ", "") + "-Regular"
    sources = " and ".join(source.removesuffix("-Regular.ttf") for source, _ in FALLBACK_SOURCES)
    for record in list(name.names):
        if record.nameID in (1, 3, 4, 6, 16, 17, 21, 22):
            name.removeNames(nameID=record.nameID)
    for name_id, text in (
        (1, family),
        (2, "Regular"),
        (3, f"{postscript};briefgen"),
        (4, f"{family} Regular"),
        (6, postscript),
        (5, f"Subset of {sources} (made by briefgen's scripts/make_fonts.py)"),
    ):
        name.setName(text, name_id, 3, 1, 0x409)
        name.setName(text, name_id, 1, 0, 0)


def save(font: TTFont, path: Path) -> None:
    """Write ``font`` with its tables in a stable order."""
    font.save(str(path), reorderTables=True)


def main(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name in TEXT_FACES:
        save(cut(source / name, TEXT_RANGES, TEXT_FEATURES), target / name)
        print(f"{name}: {(source / name).stat().st_size:,} -> {(target / name).stat().st_size:,} bytes")
    save(fallback(source), target / FALLBACK)
    print(f"{FALLBACK}: {(target / FALLBACK).stat().st_size:,} bytes")


if __name__ == "__main__":
    here = Path(__file__).resolve().parent.parent
    main(Path(sys.argv[1]), here / "templates" / "fonts")
