"""The Word brief breaks its pages where the PDF does: laid out by LibreOffice, at least 90% of the
headings (h1 to h3) of a brief are on the page briefgen's PDF puts them on, or the next one.

The Word house style (``scripts/make_reference_docx.py``) follows print.css: body size and line
height, the CSS margins as space before and after, heading sizes, chapters on a new page, blocks the
PDF keeps whole kept on one page. Both shipped briefs in full, a summary and a themed brief are
built as PDF and Word; LibreOffice converts the Word files to PDF in one start, and the two PDFs'
outlines (WeasyPrint's bookmarks, LibreOffice's from the heading styles) give each heading's page.

Needs LibreOffice (``scripts/setup.sh --test``); BRIEFGEN_NO_OFFICE=1 skips.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pypdf
import pytest
from helpers import EPOCH

from briefgen.build import BuildRequest, build
from briefgen.paths import builtin_content
from briefgen.writers.docx.office import libreoffice, pdf_outline

ROOT = Path(__file__).resolve().parent.parent
CIVIC = ROOT / "templates" / "themes" / "civic.toml"
TIMEOUT_S = 240
SHARE = 0.9  # of the headings on the PDF's page or the next


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[list, list]]:
    """For each brief: (the PDF's outline, the outline of LibreOffice's PDF of the .docx)."""
    program = libreoffice()
    if program is None:
        if os.environ.get("BRIEFGEN_NO_OFFICE") == "1":
            pytest.skip("LibreOffice is not installed and BRIEFGEN_NO_OFFICE=1")
        pytest.fail("LibreOffice is not installed: run scripts/setup.sh --test, or set BRIEFGEN_NO_OFFICE=1")
    folder = tmp_path_factory.mktemp("pagination")
    requests = {
        "full": BuildRequest(content=builtin_content(), out=folder / "full", formats=("pdf", "docx")),
        "summary": BuildRequest(
            content=builtin_content(),
            out=folder / "summary",
            formats=("pdf", "docx"),
            audiences=("business",),
            length="summary",
        ),
        "civic": BuildRequest(
            content=builtin_content(),
            out=folder / "civic",
            formats=("pdf", "docx"),
            audiences=("government",),
            theme=CIVIC,
        ),
    }
    words = folder / "word"
    words.mkdir()
    pdfs: dict[str, Path] = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        for key, request in requests.items():
            for made in build(request).files:
                path = request.out / made.path
                name = f"{key}_{made.audience}"
                if path.suffix == ".pdf":
                    pdfs[name] = path
                elif path.suffix == ".docx":  # distinct names: one LibreOffice start converts them all
                    (words / f"{name}.docx").write_bytes(path.read_bytes())
    command = [
        program,
        f"-env:UserInstallation={(folder / 'profile').as_uri()}",
        "--headless",
        "--norestore",
        "--convert-to",
        "pdf",
        "--outdir",
        str(words),
        *map(str, sorted(words.glob("*.docx"))),
    ]
    subprocess.run(command, capture_output=True, timeout=TIMEOUT_S, check=True)
    return {
        name: (pdf_outline(pypdf.PdfReader(pdf)), pdf_outline(pypdf.PdfReader(words / f"{name}.pdf")))
        for name, pdf in pdfs.items()
    }


BRIEFS = ["full_business", "full_government", "summary_business", "civic_government"]


@pytest.mark.parametrize("brief", BRIEFS)
def test_headings_are_on_the_pdfs_page_or_the_next(pages: dict[str, tuple[list, list]], brief: str) -> None:
    ours, word = pages[brief]
    headings = [(title.strip(), page) for level, title, page in ours if level <= 3]
    assert len(headings) >= 10, ours
    in_word: dict[str, int] = {}
    for _level, title, page in word:
        in_word.setdefault(title.strip(), page)
    assert {title for title, _ in headings} <= set(in_word), (headings, word)
    off = [(title, page, in_word[title]) for title, page in headings if not 0 <= in_word[title] - page <= 1]
    placed = len(headings) - len(off)
    assert placed >= SHARE * len(headings), (
        f"{placed}/{len(headings)} headings on the PDF's page or the next; off (PDF page, Word page): {off}"
    )
