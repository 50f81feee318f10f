"""Turn a build or batch request into what every writer shares: its options, the shape of a writer
and of a group writer, and the checks a writer reports to ``briefgen doctor``.

A format is a module (or package) under :mod:`briefgen.writers` with

* ``write(document, options) -> bytes``: one brief, from the HTML intermediate form;
* ``for_group(options, render) -> GroupWriter``: the briefs of one group of stakeholders (same
  audience, focus areas and region), keeping between them whatever the format may reuse;
* ``checks() -> list[Check]`` (optional): what this machine offers the format;
* ``load()`` (optional): import the format's library, called by :func:`briefgen.writers.get`.
* ``prepare(options) -> list[str]`` (optional): before any work, refuse what this machine cannot
  do for ``options`` (a usage error) or return notes to show once;
* ``session(options)`` (optional): a context manager around a whole build or batch worker, for
  what the format keeps that long (the Word writer's LibreOffice).

Nothing here imports a format's library.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from ..render import Rendered
    from ..stakeholders import Stakeholder

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class WriteOptions:
    """Settings every writer may read; each ignores what does not concern it."""

    templates: tuple[Path, ...] = ()
    strict: bool = False
    source_date_epoch: int | None = None
    pdf_variant: str | None = None
    page_size: str = "a4"
    reference_docx: Path | None = None
    docx_pages: str = "auto"  # auto | libreoffice | word: who fills the Word contents' page numbers
    embed_fonts: bool = True  # the shipped fonts go into the .docx
    theme: Any = None
    pdf_engine: str = "auto"  # auto | typst | weasyprint (:func:`briefgen.writers.pdf.engine_for`)


class LookRequest(Protocol):
    """The fields a build or batch request carries about how its briefs look."""

    templates: tuple[Path, ...]
    strict: bool
    pdf_variant: str | None
    page_size: str | None
    theme: Path | None
    reference_docx: Path | None
    docx_pages: str
    embed_fonts: bool


def options_for(request: LookRequest, epoch: int | None) -> WriteOptions:
    """The writers' options for ``request``: its theme file loaded, the page size from the flag,
    else the theme's, else A4. The one place ``build`` and ``batch`` get their options from."""
    theme = None
    if request.theme is not None:
        from ..theme import load

        theme = load(request.theme)
    return WriteOptions(
        templates=request.templates,
        strict=request.strict,
        source_date_epoch=epoch,
        pdf_variant=request.pdf_variant,
        page_size=request.page_size or (theme.page_size if theme else None) or "a4",
        theme=theme,
        reference_docx=request.reference_docx,
        docx_pages="libreoffice" if getattr(request, "docx_refresh", False) else request.docx_pages,
        embed_fonts=request.embed_fonts,
        pdf_engine=getattr(request, "pdf_engine", "auto") or "auto",
    )


class Writer(Protocol):
    """Writes one brief: the HTML intermediate form in, the file's bytes out."""

    def __call__(self, document: Rendered, options: WriteOptions) -> bytes: ...


#: Renders the group's brief for a given reader (a batch's group fixes everything else).
Render = Callable[["Stakeholder"], "Rendered"]


@dataclass(frozen=True)
class Written:
    """One stakeholder's file: its bytes, its pages when the format has them, and whether work kept
    from an earlier stakeholder of the group was reused."""

    data: bytes
    pages: int | None = None
    reused: bool = False


class GroupWriter(Protocol):
    """Writes the briefs of one group, one stakeholder at a time, reusing what it kept."""

    def write(self, document: Rendered, reader: Stakeholder, shared: bool) -> Written:
        """``document`` rendered for ``reader``; ``shared``: more stakeholders of the group follow."""
        ...


class Each:
    """The group writer of a format that keeps nothing between briefs: every brief written whole."""

    def __init__(self, write: Writer, options: WriteOptions) -> None:
        self._write = write
        self.options = options

    def write(self, document: Rendered, reader: Stakeholder, shared: bool) -> Written:
        return Written(self._write(document, self.options))


@dataclass(frozen=True)
class Check:
    """One line of ``briefgen doctor``: what was checked, how it went, and what that means."""

    name: str
    status: Status
    detail: str
