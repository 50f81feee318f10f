"""Turn content, audience choices and formats into brief files plus a manifest.

The orchestrator: validate the content once, tailor and render each audience,
run each writer, and only when every document is ready in memory write the
files (atomically) and the manifest. A failure names the audience, template
and format it happened in, and leaves the output folder as it was.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .errors import BriefgenError, RenderError, UsageError, WarningAsError
from .log import collect
from .output import FileRecord, sha256, update_manifest, write_atomic
from .tailor import Length, Options, Stakeholder

#: 2107-12-31 23:59:59 UTC: the last moment a zip entry (and so a .docx) can record.
MAX_EPOCH = 4_354_819_199


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
    page_size: str | None = None  # None: the theme's, else A4
    theme: Path | None = None
    reference_docx: Path | None = None
    docx_refresh: bool = False


@dataclass
class BuildResult:
    """What a build wrote and how long it took."""

    files: list[FileRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    manifest: Path | None = None
    seconds: float = 0.0


def source_date_epoch() -> int | None:
    """The ``SOURCE_DATE_EPOCH`` timestamp, or None when unset; a bad value is a usage error."""
    raw = os.environ.get("SOURCE_DATE_EPOCH")
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970, not {raw!r}") from None
    if value < 0:
        raise UsageError("SOURCE_DATE_EPOCH must not be negative")
    if value > MAX_EPOCH:
        raise UsageError(
            f"SOURCE_DATE_EPOCH must be at most {MAX_EPOCH} (the end of 2107, the last date a zip file "
            f"such as a Word document can hold), not {value}"
        )
    return value


def file_stem(request: BuildRequest, audience: str) -> str:
    """Name a brief after its audience and the choices that change its text."""
    from .render import slugify

    parts = [audience, "summary" if request.length == "summary" else "brief"]
    parts += list(request.focus)
    if request.region:
        parts.append(request.region)
    if request.stakeholder is not None:
        parts.append(slugify(request.stakeholder.organisation or request.stakeholder.name))
    return "-".join(parts)


def build(request: BuildRequest) -> BuildResult:
    """Run the whole pipeline for ``request``; write nothing unless everything succeeded."""
    from . import writers
    from .limits import current
    from .sandbox import LimitError, deadline
    from .validate import validate

    started = time.perf_counter()
    epoch = source_date_epoch()  # a bad value is refused before any work
    formats = request.formats or tuple(writers.available())
    chosen = {name: writers.get(name) for name in formats}
    content = validate(request.content)
    strategy = content.strategy
    audiences = request.audiences or tuple(strategy.audiences)
    theme = None
    if request.theme is not None:
        from .theme import load as load_theme

        theme = load_theme(request.theme)
    page_size = request.page_size or (theme.page_size if theme else None) or "a4"
    options = writers.WriteOptions(
        templates=request.templates,
        strict=request.strict,
        source_date_epoch=epoch,
        pdf_variant=request.pdf_variant,
        page_size=page_size,
        theme=theme,
        reference_docx=request.reference_docx,
        docx_refresh=request.docx_refresh,
    )
    result = BuildResult()
    pending: list[tuple[Path, bytes, FileRecord]] = []
    limit = current().brief_seconds
    for audience in audiences:
        message = f"audience {audience!r}: the brief took longer than {limit:g} s (brief_seconds in [limits])"
        try:
            with deadline(limit, message):
                pending += _one_audience(
                    request, strategy, content.digest, audience, theme, chosen, options, result
                )
        except LimitError as exc:
            raise RenderError(str(exc)) from None
    for path, data, record in pending:
        write_atomic(path, data)
        result.files.append(record)
    result.manifest = update_manifest(request.out, result.files, f"briefgen {__version__}")
    result.seconds = time.perf_counter() - started
    return result


def _one_audience(
    request: BuildRequest,
    strategy: Any,
    content_digest: str,
    audience: str,
    theme: Any,
    chosen: dict[str, Any],
    options: Any,
    result: BuildResult,
) -> list[tuple[Path, bytes, FileRecord]]:
    """Tailor, render and write one audience's brief in memory, in every chosen format."""
    from . import writers
    from .render import render
    from .tailor import check_options, tailor

    pending: list[tuple[Path, bytes, FileRecord]] = []
    tailoring = Options(
        audience=audience,
        focus=request.focus,
        region=request.region,
        length=request.length,
        stakeholder=request.stakeholder,
    )
    check_options(strategy, tailoring)
    brief = tailor(strategy, tailoring)
    try:
        document = render(brief, templates=request.templates, theme=theme)
    except BriefgenError as exc:
        exc.message = f"audience {audience!r}: {exc.message}"
        raise
    stem = file_stem(request, audience)
    for name, write in chosen.items():
        where = f"audience {audience!r}, format {name}"
        try:
            with collect() as warnings:
                data = write(document, options)
        except BriefgenError as exc:
            exc.message = f"{where}: {exc.message}"
            raise
        result.warnings += [f"{where}: {w}" for w in warnings]
        if warnings and request.strict:
            raise WarningAsError(f"{where}: {warnings[0]} (--strict turns warnings into errors)")
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
                "stakeholder": request.stakeholder.line if request.stakeholder else None,
            },
        )
        pending.append((path, data, record))
    return pending
