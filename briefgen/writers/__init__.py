"""Turn a format name into its writer: the registry of output formats.

Each format lives in its own module or package under :mod:`briefgen.writers` (see
:mod:`briefgen.writers.base` for what it offers) and is the only place its library is imported:
WeasyPrint and pikepdf under ``pdf/``, python-docx under ``docx/``. A format is imported only
when it writes (or when ``doctor`` asks it what this machine offers), so a command that writes
HTML never imports WeasyPrint or python-docx. A new format needs its module and one line in
:data:`FORMATS`.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType

from ..errors import UsageError
from .base import Check, Each, GroupWriter, WriteOptions, Writer, Written, options_for


@dataclass(frozen=True)
class Format:
    """Where a format's writer lives, and what its files are called and sent as."""

    module: str
    extension: str
    mime: tuple[str, str]


FORMATS: dict[str, Format] = {
    "html": Format("briefgen.writers.html", ".html", ("text", "html")),
    "pdf": Format("briefgen.writers.pdf", ".pdf", ("application", "pdf")),
    "docx": Format(
        "briefgen.writers.docx",
        ".docx",
        ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ),
}
#: Every format name, in the order formats are listed and built.
FORMAT_NAMES = tuple(FORMATS)
#: What ``briefgen batch`` builds for every stakeholder unless ``--format`` says otherwise.
BATCH_FORMATS = ("pdf", "docx")

__all__ = [
    "BATCH_FORMATS",
    "FORMATS",
    "FORMAT_NAMES",
    "Check",
    "Each",
    "Format",
    "GroupWriter",
    "WriteOptions",
    "Writer",
    "Written",
    "available",
    "extension",
    "get",
    "held",
    "mime",
    "options_for",
    "prepare",
]


def available() -> list[str]:
    """Format names whose writer module exists in this installation."""
    return [name for name, fmt in FORMATS.items() if importlib.util.find_spec(fmt.module)]


def extension(name: str) -> str:
    """The file extension of format ``name`` (``.pdf``), without importing its writer."""
    return FORMATS[name].extension


def mime(file_name: str) -> tuple[str, str]:
    """The MIME type of a brief by its file name's extension (``application/octet-stream`` if none)."""
    found = next((fmt.mime for fmt in FORMATS.values() if file_name.endswith(fmt.extension)), None)
    return found or ("application", "octet-stream")


def get(name: str) -> ModuleType:
    """The writer of format ``name``, its library loaded: a module with ``write`` and ``for_group``
    (a usage error if unknown)."""
    if name not in FORMATS or name not in available():
        raise UsageError(f"--format: unknown format {name!r}; choose from: {', '.join(available())}")
    module = importlib.import_module(FORMATS[name].module)
    if hasattr(module, "load"):
        module.load()  # the format's library, before any work
    return module


def prepare(names: tuple[str, ...] | list[str], options: WriteOptions) -> list[str]:
    """Before any work: each format's look at this machine for ``options`` (its optional
    ``prepare``): a usage error when an option asks for what is missing, else notes to show once."""
    notes: list[str] = []
    for name in names:
        module = get(name)
        if hasattr(module, "prepare"):
            notes += module.prepare(options)
    return notes


@contextlib.contextmanager
def held(names: tuple[str, ...] | list[str], options: WriteOptions) -> Iterator[None]:
    """What the formats ``names`` keep for a whole build or batch worker (their optional
    ``session``: the Word writer's LibreOffice), let go when the block ends, however it ends."""
    with contextlib.ExitStack() as stack:
        for name in names:
            module = get(name)
            if hasattr(module, "session"):
                stack.enter_context(module.session(options))
        yield
