"""Turn a .docx into the page number of each heading, by letting LibreOffice lay it out.

Used by ``--docx-refresh``: LibreOffice (headless, with a throw-away profile)
converts the Word file to PDF, and each heading is looked up, in order, in the
text of the pages. The Word writer then writes those numbers into its
contents page, so the file is complete before anyone updates its fields.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from ...log import warn

TIMEOUT_S = 180


def libreoffice() -> str | None:
    """Path of the LibreOffice program, if installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def _squash(text: str) -> str:
    return re.sub(r"[\s\u00ad\-‐-―]+", "", text).lower()


def pdf_outline(reader: Any) -> list[tuple[int, str, int]]:
    """A PDF's bookmarks, flattened in order, as (level, title, 1-based page)."""
    flat: list[tuple[int, str, int]] = []

    def walk(items: list, level: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
            else:
                flat.append((level, item.title, reader.get_destination_page_number(item) + 1))

    walk(reader.outline, 1)
    return flat


def convert_to_pdf(program: str, docx: Path, folder: Path) -> Path:
    """LibreOffice's own PDF of ``docx`` in ``folder``, made with a throw-away profile."""
    folder.mkdir(parents=True, exist_ok=True)
    command = [
        program,
        f"-env:UserInstallation={(folder / 'profile').as_uri()}",
        "--headless",
        "--norestore",
        "--convert-to",
        "pdf",
        "--outdir",
        str(folder),
        str(docx),
    ]
    subprocess.run(command, capture_output=True, timeout=TIMEOUT_S, check=True)
    return folder / f"{docx.stem}.pdf"


def page_numbers(docx: bytes, headings: list[tuple[str, str]]) -> dict[str, int] | None:
    """Map heading ids to 1-based page numbers; None (with a warning) when that cannot be done."""
    program = libreoffice()
    if program is None:
        warn("--docx-refresh: LibreOffice is not installed; the contents page has no page numbers")
        return None
    import pypdf

    with tempfile.TemporaryDirectory(prefix="briefgen-office-") as tmp:
        folder = Path(tmp)
        source = folder / "brief.docx"
        source.write_bytes(docx)
        try:
            pdf = convert_to_pdf(program, source, folder)
            reader = pypdf.PdfReader(io.BytesIO(pdf.read_bytes()))
            marks = [(_squash(title), page) for _, title, page in pdf_outline(reader)]
        except (OSError, subprocess.SubprocessError, pypdf.errors.PdfReadError) as exc:
            warn("--docx-refresh: LibreOffice could not lay out the document (%s)", type(exc).__name__)
            return None
    # LibreOffice exports a bookmark per heading, in document order: match them in turn.
    found: dict[str, int] = {}
    position = 0
    for ident, text in headings:
        needle = _squash(text)
        for index in range(position, len(marks)):
            if marks[index][0] == needle:
                found[ident] = marks[index][1]
                position = index + 1
                break
    missing = [text for ident, text in headings if ident not in found]
    if missing:
        warn(
            "--docx-refresh: %d headings not found in LibreOffice's layout, e.g. %r", len(missing), missing[0]
        )
    return found
