"""Characters and stylesheets that would pull a machine font into a PDF: every PDF names only the
shipped fonts, a character none of them has is named in one warning (an error with --strict) and
drawn as the shipped fallback's box.

Each build is checked with poppler's ``pdffonts``, the way a reader would list a file's fonts.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import replace_once

from .helpers import build, copy_mini

pytestmark = pytest.mark.skipif(
    shutil.which("pdffonts") is None or shutil.which("pdftotext") is None,
    reason="poppler-utils (pdffonts, pdftotext) is not installed",
)

#: Text in the mini content's first checklist entry: a subscript, a check mark (the fallback has
#: it), a CJK character no shipped font has (twice, and a second one), inline code (monospace).
TEXT = "Sign up for the berth feed: CO₂ ✓ 漢 and `code`, 漢字."
#: A shipped font in pdffonts' list: a subset tag, then the CSS family WeasyPrint names it by.
#: The shipped fonts as WeasyPrint names them (family) and as Typst does (the files' PostScript names).
SHIPPED = re.compile(
    r"^[A-Z]{6}\+(Brief-(Sans|Serif|Fallback)(-Bold)?(-Italic)?"
    r"|Noto(Sans|Serif)-(Regular|Bold|Italic|BoldItalic)|BriefFallback-Regular)$"
)


def pdffonts(pdf: Path) -> list[str]:
    """The names of the fonts ``pdf`` uses, as pdffonts lists them."""
    listing = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True, timeout=60)
    return [line.split()[0] for line in listing.stdout.splitlines()[2:] if line.strip()]


def pdftotext(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True, timeout=60
    ).stdout


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """The mini content with :data:`TEXT` in it."""
    mini = copy_mini(tmp_path / "content")
    replace_once(mini / "business.yaml", "text: Sign up for the berth feed.", f'text: "{TEXT}"')
    return mini


def test_only_shipped_fonts_and_one_warning_for_what_none_has(tmp_path: Path, content: Path) -> None:
    run = build(tmp_path, content, tmp_path / "out", "pdf")
    assert run.code == 0, run.stderr
    missing = [line for line in run.warnings if "no shipped font" in line]
    assert len(missing) == 1, run.warnings
    assert "漢 (U+6F22" in missing[0] and "字 (U+5B57" in missing[0], missing[0]
    assert "U+2082" not in missing[0] and "U+2713" not in missing[0], "₂ and ✓ are shipped"
    assert not [line for line in run.warnings if ".notdef" in line], run.warnings
    pdf = next((tmp_path / "out").glob("*.pdf"))
    fonts = pdffonts(pdf)
    assert fonts and all(SHIPPED.match(name) for name in fonts), fonts
    assert any(re.search(r"Brief-?Fallback", name) for name in fonts), fonts
    text = pdftotext(pdf)
    # the characters stay in the PDF's text; a character no font has is kept by WeasyPrint only
    # (Typst, the default engine, draws the empty box with no Unicode mapping: a known limitation)
    assert "CO₂ ✓" in text, "the characters stay in the PDF's text"


def test_strict_turns_the_missing_character_into_an_error(tmp_path: Path, content: Path) -> None:
    run = build(tmp_path, content, tmp_path / "out", "pdf", "--strict")
    assert run.code == 1, run.stderr
    assert "U+6F22" in run.stderr
    assert run.changed == []


def test_a_stylesheet_asking_for_machine_fonts_still_gets_shipped_ones(tmp_path: Path, content: Path) -> None:
    """A template folder whose print.css names fonts this machine has (and one by local()) and
    generic families: Pango finds none of them, and the text is set in the shipped fonts."""
    templates = tmp_path / "templates"
    (templates / "css").mkdir(parents=True)
    (templates / "css" / "print.css").write_text(
        '@font-face { font-family: "Local"; src: local("DejaVu Sans"), local("DejaVuSans"); }\n'
        'body { font-family: "Local", "DejaVu Sans", "Liberation Serif", "Noto Sans CJK JP", serif; }\n'
        "code { font-family: monospace; }\n"
        "h1 { font-family: sans-serif; }\n",
        encoding="utf-8",
    )
    run = build(tmp_path, content, tmp_path / "out", "pdf", "--templates", templates)
    assert run.code == 0, run.stderr
    fonts = pdffonts(next((tmp_path / "out").glob("*.pdf")))
    assert fonts and all(SHIPPED.match(name) for name in fonts), fonts
