"""Turn the HTML intermediate form into output bytes, one writer per format.

Every writer has the same shape: ``write(document, options) -> bytes``. Writers
are looked up by format name and imported only when used, so a command that
writes HTML never imports WeasyPrint or python-docx.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import UsageError

if TYPE_CHECKING:
    from ..render import Rendered

#: format name -> (module, file extension)
FORMATS: dict[str, tuple[str, str]] = {
    "html": ("briefgen.writers.html", ".html"),
    "pdf": ("briefgen.writers.pdf", ".pdf"),
    "docx": ("briefgen.writers.docx", ".docx"),
}


@dataclass(frozen=True)
class WriteOptions:
    """Settings every writer may read; each ignores what does not concern it."""

    templates: tuple[Path, ...] = ()
    strict: bool = False
    source_date_epoch: int | None = None
    pdf_variant: str | None = None
    page_size: str = "a4"
    reference_docx: Path | None = None
    docx_refresh: bool = False
    theme: Any = None


class Writer(Protocol):
    def __call__(self, document: Rendered, options: WriteOptions) -> bytes: ...


def available() -> list[str]:
    """Format names whose writer module exists in this installation."""
    return [name for name, (module, _) in FORMATS.items() if importlib.util.find_spec(module)]


def extension(name: str) -> str:
    return FORMATS[name][1]


def get(name: str) -> Writer:
    """Return the writer for format ``name``."""
    if name not in FORMATS or name not in available():
        raise UsageError(f"--format: unknown format {name!r}; choose from: {', '.join(available())}")
    module = importlib.import_module(FORMATS[name][0])
    return module.write
