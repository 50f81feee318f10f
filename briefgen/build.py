"""Turn content, audience choices and formats into brief files plus a manifest.

The orchestrator: validate the content once, tailor and render each audience,
run each writer, and only when every document is ready in memory write the
files (atomically) and the manifest. A failure names the audience, template
and format it happened in, and leaves the output folder as it was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .errors import BriefgenError, RenderError, WarningAsError
from .log import collect, warn
from .output import FileRecord, sha256, update_manifest, write_atomic
from .stakeholders import Stakeholder
from .tailor import Length, Options

if TYPE_CHECKING:
    from .render import Rendered
    from .writers import WriteOptions


@dataclass(frozen=True)
class BuildRequest:
    """Everything ``briefgen build`` was asked to do."""

    content: Path | tuple[Path, ...]
    out: Path
    audiences: tuple[str, ...] = ()  # empty: every audience in the content
    formats: tuple[str, ...] = ()  # empty: every available format
    focus: tuple[str, ...] = ()
    region: str | None = None
    length: Length = "full"
    stakeholder: Stakeholder | None = None
    templates: tuple[Path, ...] = ()
    strict: bool = False
    pdf_variant: str | None = None
    pdf_engine: str = "auto"
    page_size: str | None = None  # None: the theme's, else A4
    theme: Path | None = None
    reference_docx: Path | None = None
    docx_refresh: bool = False  # the old flag: the same as docx_pages="libreoffice"
    docx_pages: str = "auto"
    embed_fonts: bool = True
    language: str | None = None  # a BCP 47 tag; None: the content's own language


@dataclass
class BuildResult:
    """What a build wrote and how long it took."""

    files: list[FileRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # shown once: what this machine could do better
    manifest: Path | None = None
    seconds: float = 0.0


def file_stem(request: BuildRequest, audience: str) -> str:
    """Name a brief after its audience and the choices that change its text."""
    from .render import slugify

    parts = [audience, "summary" if request.length == "summary" else "brief"]
    parts += list(request.focus)
    if request.region:
        parts.append(request.region)
    if request.stakeholder is not None:
        parts.append(slugify(request.stakeholder.organisation or request.stakeholder.name))
    if request.language is not None:
        parts.append(request.language.lower())
    return "-".join(parts)


def build(request: BuildRequest) -> BuildResult:
    """Run the whole pipeline for ``request``; write nothing unless everything succeeded."""
    from . import writers
    from .clock import source_date_epoch
    from .limits import current
    from .sandbox import LimitError, deadline
    from .translate import untranslated_warning, validated

    started = time.perf_counter()
    epoch = source_date_epoch()  # a bad value is refused before any work
    formats = request.formats or tuple(writers.available())
    chosen = {name: writers.get(name).write for name in formats}
    content, language, untranslated, source_text = validated(request.content, request.language)
    strategy = content.strategy
    audiences = request.audiences or tuple(strategy.audiences)
    options = writers.options_for(request, epoch)
    result = BuildResult(notes=writers.prepare(formats, options))
    message = untranslated_warning(language, untranslated, audiences)
    if message:
        if request.strict:
            raise WarningAsError(message)
        warn(message)
        result.warnings.append(message)
    pending: list[tuple[Path, bytes, FileRecord]] = []
    limit = current().brief_seconds
    with writers.held(formats, options):  # e.g. the Word writer's LibreOffice, stopped however this ends
        for audience in audiences:
            message = (
                f"audience {audience!r}: the brief took longer than {limit:g} s (brief_seconds in [limits])"
            )
            try:
                with deadline(limit, message):
                    speaking = (language, source_text)
                    pending += _one_audience(
                        request, strategy, content.digest, audience, chosen, options, result, speaking
                    )
            except LimitError as exc:
                raise RenderError(str(exc)) from None
    for path, data, record in pending:
        write_atomic(path, data)
        result.files.append(record)
    result.manifest = update_manifest(request.out, result.files, f"briefgen {__version__}")
    result.seconds = time.perf_counter() - started
    return result


def rendered(
    request: BuildRequest,
    strategy: Any,
    audience: str,
    options: WriteOptions,
    speaking: tuple[str, frozenset[str]],
) -> Rendered:
    """Tailor and render one audience's brief: the HTML document every writer starts from
    (``speaking``: the brief's language and the texts left in the source language)."""
    from .render import render
    from .tailor import check_options, tailor

    tailoring = Options(
        audience=audience,
        focus=request.focus,
        region=request.region,
        length=request.length,
        stakeholder=request.stakeholder,
        language=speaking[0],
        source_text=speaking[1],
    )
    check_options(strategy, tailoring)
    brief = tailor(strategy, tailoring)
    try:
        return render(brief, templates=request.templates, theme=options.theme)
    except BriefgenError as exc:
        raise exc.within(f"audience {audience!r}") from exc


def _one_audience(
    request: BuildRequest,
    strategy: Any,
    content_digest: str,
    audience: str,
    chosen: dict[str, Any],
    options: WriteOptions,
    result: BuildResult,
    speaking: tuple[str, frozenset[str]],
) -> list[tuple[Path, bytes, FileRecord]]:
    """Tailor, render and write one audience's brief in memory, in every chosen format."""
    from . import writers

    pending: list[tuple[Path, bytes, FileRecord]] = []
    document = rendered(request, strategy, audience, options, speaking)
    stem = file_stem(request, audience)
    for name, write in chosen.items():
        where = f"audience {audience!r}, format {name}"
        try:
            with collect() as warnings:
                data = write(document, options)
        except BriefgenError as exc:
            raise exc.within(where) from exc
        result.warnings += [f"{where}: {w}" for w in warnings]
        if warnings and request.strict:
            raise WarningAsError(warnings[0], where)
        path = request.out / f"{stem}{writers.extension(name)}"
        record = FileRecord(
            path=path.name,
            audience=audience,
            format=name,
            bytes=len(data),
            sha256=sha256(data),
            content_sha256=content_digest,
            options={
                "focus": list(request.focus),
                "region": request.region,
                "length": request.length,
                "template": document.template,
                "language": speaking[0],
                "stakeholder": request.stakeholder.line if request.stakeholder else None,
            },
        )
        pending.append((path, data, record))
    return pending
