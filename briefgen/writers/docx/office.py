"""Turn a .docx into LibreOffice's own PDF of it, and a PDF into its outline: how the tests and the
benchmark see a Word brief as LibreOffice lays it out.

A command-line conversion (``soffice --convert-to pdf``, headless, a throw-away profile): one
LibreOffice start per file, which is why the Word writer itself keeps one LibreOffice running
instead (:mod:`.libreoffice`).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

TIMEOUT_S = 180


def libreoffice() -> str | None:
    """Path of the LibreOffice program, if installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


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
