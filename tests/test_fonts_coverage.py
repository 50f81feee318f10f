"""Typography: the shipped fonts draw every letter of the EU's languages and the symbols policy text
uses, every font-family stack ends in the shipped fallback, and only running text hyphenates.

The letters of each language are CLDR's main exemplar characters (Unicode CLDR 45, the
``exemplarCharacters`` of ``cldr-json/cldr-misc-full/main/<language>/characters.json``; English
and French from ``cldr-misc-modern``), copied below as CLDR writes them, with the upper case of
each letter added by the test. Babel, which briefgen does not depend on, does not expose them.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from fontTools.ttLib import TTFont
from helpers import MINI, replace_once, small

from briefgen.build import BuildRequest, build
from briefgen.paths import builtin_templates
from briefgen.stakeholders import Stakeholder
from briefgen.writers import WriteOptions
from briefgen.writers.pdf import write as write_pdf

FONTS = builtin_templates() / "fonts"
CSS = builtin_templates() / "css"
FALLBACK = FONTS / "BriefFallback-Regular.ttf"
TEXT_FACES = [
    f"Noto{family}-{style}.ttf"
    for family in ("Sans", "Serif")
    for style in ("Regular", "Italic", "Bold", "BoldItalic")
]

#: CLDR 45 main exemplar characters of the 24 official languages of the EU.
EXEMPLARS = {
    "bg": "[а б в г д е ж з и й к л м н о п р с т у ф х ц ч ш щ ъ ь ю я]",
    "cs": "[aá b c č dď eéě f g h {ch} ií j k l m nň oó p q r ř s š tť uúů v w x yý z ž]",
    "da": "[a b c d e f g h i j k l m n o p q r s t u v w x y z æ ø å]",
    "de": "[aä b c d e f g h i j k l m n oö p q r s ß t uü v w x y z]",
    "el": "[αά β γ δ εέ ζ ηή θ ιίϊΐ κ λ μ ν ξ οό π ρ σς τ υύϋΰ φ χ ψ ωώ]",
    "en": "[a b c d e f g h i j k l m n o p q r s t u v w x y z]",
    "es": "[a á b c d e é f g h i í j k l m n ñ o ó p q r s t u ú ü v w x y z]",
    "et": "[a b c d e f g h i j k l m n o p q r s š z ž t u v w õ ä ö ü x y]",
    "fi": "[a b c d e f g h i j k l m n o p q r sš t u v w x y zž å ä ö]",
    "fr": "[a à â æ b c ç d e é è ê ë f g h i î ï j k l m n o ô œ p q r s t u ù û ü v w x y ÿ z]",
    "ga": "[aá b c d eé f g h ií l m n oó p r s t uú]",
    "hr": "[a b c č ć d {dž} đ e f g h i j k l {lj} m n {nj} o p r s š t u v z ž]",
    "hu": "[aá b c {cs} {ccs} d {dz} {ddz} {dzs} {ddzs} eé f g {gy} {ggy} h ií j k l {ly} {lly} m n "
    "{ny} {nny} oó öő p r s {sz} {ssz} t {ty} {tty} uú üű v z {zs} {zzs}]",
    "it": "[aà b c d eéè f g h iì j k l m n oò p q r s t uù v w x y z]",
    "lt": "[aą b c č d eęė f g h iįy j k l m n o p r s š t uųū v z ž]",
    "lv": "[a ā b c č d e ē f g ģ h i ī j k ķ l ļ m n ņ o p r s š t u ū v z ž]",
    "mt": "[aà b ċ d eè f ġ g {għ} h ħ iì j k l m n oò p q r s t uù v w x ż z]",
    "nl": "[aáä b c d eéë f g h iíï {ij}{íj́} j k l m n oóö p q r s t uúü v w x y z]",
    "pl": "[a ą b c ć d e ę f g h i j k l ł m n ń o ó p r s ś t u w y z ź ż]",
    "pt": "[aáàâã b cç d eéê f g h ií j k l m n oóòôõ p q r s t uú v w x y z]",
    "ro": "[a ă â b c d e f g h i î j k l m n o p q r s ș t ț u v w x y z]",
    "sk": "[aá ä b c č dď {dz} {dž} eé f g h {ch} ií j k lĺľ m nň oó ô p q rŕ s š tť uú v w x yý z ž]",
    "sl": "[a b c č d e f g h i j k l m n o p r s š t u v z ž]",
    "sv": "[aà b c d eé f g h i j k l m n o p q r s t u v w x y z å ä ö]",
}
#: Letters beyond the main sets that EU text still uses: Irish dotted consonants (CLDR's ga
#: auxiliary set), the Romanian cedilla forms older text has, the capital sharp s, the French
#: ordinal letters of 1ᵉʳ and 2ᵈ (CLDR's fr number set).
ALSO = "ḃċḋḟġṁṗṡṫ şţ ẞ ᵈᵉʳˢ"
#: What policy text uses besides letters, in every text face.
SYMBOLS = (
    "".join(chr(cp) for cp in range(0x2070, 0x20A0) if unicodedata.category(chr(cp)) != "Cn")
    + "€£¥$¢±×÷‰%№•‣–—…‘’“”„‚«»‹›°§¶†‡©®™½¼¾⅓'\"`´"
    + "\u00a0\u202f\u2007\u2009\u200a\u2011\u00ad"
)
#: Symbols Noto Sans and Noto Serif lack, which the shipped fallback draws.
FALLBACK_SYMBOLS = "≤≥≠≈−∞→←↑↓↔⇒✓✔✗✘☐☑☒★●○■□▶⚠⟶"


def letters(exemplar: str) -> set[str]:
    """Every character of a CLDR exemplar set (sequences in braces taken apart), with the upper
    case of each (ß's upper case SS, ΐ's Ϊ and a combining accent, each taken apart too)."""
    found = {char for char in exemplar.strip("[]") if char not in " {}"}
    return found | {upper for char in found for upper in char.upper()}


@functools.cache
def cmap(path: Path) -> frozenset[int]:
    """The code points a font file maps to glyphs."""
    with TTFont(path, lazy=True) as font:
        return frozenset(font.getBestCmap())


def gaps(path: Path, wanted: set[str] | str) -> str:
    """The characters of ``wanted`` the font at ``path`` lacks, as a sorted string."""
    points = cmap(path)
    return "".join(sorted(char for char in set(wanted) if ord(char) not in points))


def language_gaps(path: Path) -> dict[str, str]:
    """Per language, the letters the font at ``path`` lacks (languages without gaps left out)."""
    found = {code: gaps(path, letters(exemplar)) for code, exemplar in EXEMPLARS.items()}
    found["also"] = gaps(path, set(ALSO.replace(" ", "")))
    return {code: missing for code, missing in found.items() if missing}


def test_the_shipped_faces_are_the_ones_declared() -> None:
    shipped = sorted(path.name for path in FONTS.glob("*.ttf"))
    assert shipped == sorted([*TEXT_FACES, FALLBACK.name])
    declared = re.findall(r'url\("\.\./fonts/([^"]+)"\)', (CSS / "fonts.css").read_text(encoding="utf-8"))
    assert sorted(declared) == shipped
    assert (FONTS / "OFL.txt").is_file()


def test_exemplars_cover_the_24_languages() -> None:
    assert len(EXEMPLARS) == 24
    assert {"ș", "ț", "Ș", "Ț"} <= letters(EXEMPLARS["ro"])
    assert {"ċ", "ġ", "ħ", "ż", "Ħ"} <= letters(EXEMPLARS["mt"])
    assert {"á", "é", "í", "ó", "ú", "Ú"} <= letters(EXEMPLARS["ga"])
    assert {"ģ", "ķ", "ļ", "ņ", "Ņ"} <= letters(EXEMPLARS["lv"])
    assert {"ė", "į", "ų", "Ė"} <= letters(EXEMPLARS["lt"])


@pytest.mark.parametrize("face", TEXT_FACES)
def test_every_face_has_every_letter_of_every_eu_language(face: str) -> None:
    assert language_gaps(FONTS / face) == {}


@pytest.mark.parametrize("face", TEXT_FACES)
def test_every_face_has_the_symbols_of_policy_text(face: str) -> None:
    assert gaps(FONTS / face, SYMBOLS) == ""


@pytest.mark.parametrize("face", TEXT_FACES)
def test_the_fallback_draws_what_the_faces_lack(face: str) -> None:
    assert gaps(FALLBACK, FALLBACK_SYMBOLS) == ""
    assert gaps(FONTS / face, FALLBACK_SYMBOLS) != "", "the fallback is still needed"


def test_the_check_fails_when_a_face_loses_a_letter(tmp_path: Path) -> None:
    """The coverage test can fail: a copy of a face without ș and ħ is caught, for Romanian and
    Maltese only."""
    copy = tmp_path / "NotoSans-Regular.ttf"
    with TTFont(FONTS / "NotoSans-Regular.ttf") as font:
        for table in font["cmap"].tables:
            for char in "șħ":
                table.cmap.pop(ord(char), None)
        font.save(copy)
    assert language_gaps(copy) == {"ro": "ș", "mt": "ħ"}
    assert gaps(copy, SYMBOLS) == ""


def font_families(css: str) -> list[str]:
    """The value of every ``font-family`` declaration in a stylesheet."""
    return re.findall(r"font-family:\s*([^;}]+)", css)


@pytest.mark.parametrize("sheet", ["brief.css", "print.css"])
def test_every_font_family_stack_ends_in_the_fallback(sheet: str) -> None:
    stacks = font_families((CSS / sheet).read_text(encoding="utf-8"))
    assert stacks
    for stack in stacks:
        assert stack.strip().endswith('"Brief Fallback"'), stack


# ----- hyphenation --------------------------------------------------------------------------------

LONG_TITLE = "Hafeninfrastrukturdatenbereitstellungsprogramm"
LONG_NAME = "Wissenschaftsministeriumsdigitalisierungsbeauftragte"
ADDRESS = "secretariat.harbourtowndataplanning@example.org"
RUNNING = " ".join(["Internationalisation, interoperability and telecommunications infrastructure."] * 12)


def pdftotext(pdf: Path, first: int | None = None, last: int | None = None) -> str:
    pages = [*(["-f", str(first)] if first else []), *(["-l", str(last)] if last else [])]
    return subprocess.run(
        ["pdftotext", "-layout", *pages, str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


@pytest.fixture(scope="module")
def hyphenation_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A brief whose cover title and prepared-for name are single words wider than the cover's
    column, whose closing has an e-mail address, and whose introduction is long running text."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    root = tmp_path_factory.mktemp("hyphenation")
    content = root / "content"
    shutil.copytree(MINI, content)
    business = content / "business.yaml"
    replace_once(
        business, "brief_title: What the Harbour Town Data Plan means for firms", f"brief_title: {LONG_TITLE}"
    )
    replace_once(
        business, "intro: The plan gives firms free, regular port data to build on.", f"intro: {RUNNING}"
    )
    replace_once(
        business,
        "closing: Questions go to the council's data desk.",
        f"closing: Questions go to [{ADDRESS}](mailto:{ADDRESS}) at the council.",
    )
    request = BuildRequest(
        content=content,
        out=root / "out",
        formats=("pdf", "docx"),
        audiences=("business",),
        stakeholder=Stakeholder(name=LONG_NAME),
    )
    result = build(request)
    return next(root / "out" / file.path for file in result.files if file.format == "pdf")


def hyphenated_lines(text: str) -> list[str]:
    """Lines that end in a hyphen WeasyPrint inserted (U+2010) or a soft or plain hyphen."""
    return [line for line in text.splitlines() if re.search(r"[\u2010\u00ad-]$", line.rstrip())]


def test_the_cover_title_and_name_never_hyphenate(hyphenation_pdf: Path) -> None:
    cover = pdftotext(hyphenation_pdf, 1, 1)
    assert LONG_TITLE[:12] in cover and LONG_NAME[:12] in cover
    assert hyphenated_lines(cover) == []
    assert "\u2010" not in cover


#: Words wider than their column (the cover 76 mm wide, the rest 40 mm), where words never hyphenate.
NARROW = {
    "title": "Telecommunicationsinfrastructureprogramme",
    "issuer": "Directorategeneralforcommunicationsnetworks",
    "name": "Wissenschaftsministeriumsdigitalisierungsbeauftragte",
    "heading": "Interoperabilityrequirementsframework",
    "meta": "Implementationtimetableconsultation",
    "figure": "Gigabitconnectivitytargets",
    "th": "Telecommunicationsoperators",
    "contents": "Internationalisationcontents",
}
URL = "https://digitalpartnerships.example.org/internationalisation"


def narrow_brief() -> str:
    """Every place that must not hyphenate, and running text that may, in narrow columns."""
    words = NARROW
    return (
        '<div style="width: 120mm"><header class="cover">'
        f'<p class="title">{words["title"]}</p>'
        f'<dl class="cover-meta"><dt>Issued by</dt><dd class="issuer">{words["issuer"]}</dd></dl>'
        f'<p class="prepared-for">Prepared for {words["name"]}</p></header></div>'
        '<div style="width: 40mm">'
        f'<nav class="toc"><ol><li class="toc-level-1"><a href="#h">{words["contents"]}</a></li></ol></nav>'
        f'<h2 id="h">{words["heading"]}</h2><p class="meta">{words["meta"]}</p>'
        f'<p class="figure-value">{words["figure"]}</p>'
        f'<table class="data"><thead><tr><th>{words["th"]}</th></tr></thead>'
        "<tbody><tr><td>x</td></tr></tbody></table>"
        f'<p>Write to <a href="mailto:{ADDRESS}">{ADDRESS}</a> or see <a href="{URL}">{URL}</a>.</p>'
        f'<p id="running">{RUNNING}</p></div>'
    )


def test_nothing_but_running_text_hyphenates_in_a_narrow_column(tmp_path: Path) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    pdf = tmp_path / "narrow.pdf"
    # the narrow columns are CSS (style="width: ..."), which only the WeasyPrint engine reads
    pdf.write_bytes(write_pdf(small(narrow_brief()), WriteOptions(pdf_engine="weasyprint")))
    text = re.sub(r"\s+", "", pdftotext(pdf))
    for place, word in NARROW.items():
        assert word in text, (place, word)
    assert ADDRESS in text and URL in text
    running = text[text.index("Internationalisation,") :]
    assert "\u2010" in running, "running text still hyphenates"


def test_running_text_still_hyphenates(hyphenation_pdf: Path) -> None:
    body = pdftotext(hyphenation_pdf, 2)
    # a hyphen the engine inserted: WeasyPrint's U+2010, or Typst's soft hyphen (U+00AD) at the line end
    assert any("\u2010" in line or line.rstrip().endswith("\u00ad") for line in hyphenated_lines(body)), body


def test_word_headings_title_and_cover_suppress_hyphenation(hyphenation_pdf: Path) -> None:
    docx = hyphenation_pdf.with_suffix(".docx")
    document = Document(str(docx))
    suppressed = {
        style.name
        for style in document.styles
        if style.element.pPr is not None and style.element.pPr.find(qn("w:suppressAutoHyphens")) is not None
    }
    for name in ("Title", "Subtitle", "Heading 1", "Heading 2", "Heading 3", "Cover Kicker", "Prepared For"):
        assert name in suppressed, name
    assert "Normal" not in suppressed
