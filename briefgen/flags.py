"""Turn command-line text into checked values: the Click parameter types, the option groups
that ``build`` and ``batch`` share, and the error wrapper every command has.

Imported when the command line starts, so it imports Click and nothing heavy.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .writers import FORMAT_NAMES


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn unexpected exceptions into one line (or a traceback with --debug)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            ctx = click.get_current_context(silent=True)
            if ctx is not None and ctx.find_root().params.get("debug"):
                raise
            raise click.ClickException(
                f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)"
            ) from exc

    return wrapper


class FormatList(click.ParamType):
    """A comma-separated list of output formats, e.g. ``pdf,docx``."""

    name = "FORMATS"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, ...]:
        if isinstance(value, tuple):
            return value
        names = tuple(dict.fromkeys(v.strip().lower() for v in str(value).split(",") if v.strip()))
        if not names:
            self.fail("give at least one format", param, ctx)
        for name in names:
            if name not in FORMAT_NAMES:
                self.fail(f"unknown format {name!r}; choose from: {', '.join(FORMAT_NAMES)}", param, ctx)
        return names


class Identifier(click.ParamType):
    """An id as used in content: lower-case letters, digits and hyphens."""

    name = "ID"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        import re

        text = str(value).strip()
        if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", text):
            self.fail(f"{text!r} is not an id (lower-case letters, digits, hyphens)", param, ctx)
        return text


class IdentifierList(Identifier):
    """One or more ids separated by commas, e.g. ``cybersecurity,emerging-tech``."""

    name = "ID[,ID...]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        parts = [p for p in str(value).split(",") if p.strip()]
        if not parts:
            self.fail("give at least one id", param, ctx)
        return tuple(super(IdentifierList, self).convert(p, param, ctx) for p in parts)


class LanguageTag(click.ParamType):
    """A BCP 47 language tag (``fr``, ``fr-BE``, ``pt-PT``), normalised; ``en_GB`` gets a suggestion."""

    name = "LANG"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from .model import language_tag

        try:
            return language_tag(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


LANGUAGE = click.option(
    "--language",
    type=LanguageTag(),
    default=None,
    help="Language of the brief (BCP 47: fr, de, pl, pt-PT): the content's translation and the "
    "catalogue's labels, dates and quotes (default: the content's language).",
)


def content_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--content",
        type=click.Path(exists=True, path_type=Path),
        default=None,
        help="Content file or folder (default: the shipped EU strategy).",
    )(func)


def options(*decorators: Callable[..., Any]) -> Callable[..., Any]:
    """Apply several Click options at once (shared by ``build`` and ``batch``)."""

    def apply(func: Callable[..., Any]) -> Callable[..., Any]:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


CONTENT_MANY = click.option(
    "--content",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Content file or folder (default: the shipped EU strategy); repeat to add files, "
    "e.g. a new audience.",
)
OUT = click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("output"),
    show_default=True,
    help="Output folder.",
)
LENGTH = click.option(
    "--length",
    type=click.Choice(["full", "summary"]),
    default="full",
    show_default=True,
    help="summary: a one-to-two page executive brief.",
)
#: The parameters of :data:`LOOK`.
LOOK_NAMES = (
    "templates",
    "pdf_variant",
    "pdf_engine",
    "page_size",
    "theme",
    "reference_docx",
    "docx_pages",
    "embed_fonts",
    "strict",
)


#: How a brief looks, for build and batch alike; the commands take these as ``**look`` and hand
#: them to their request unchanged, so both requests carry the same fields.
def template_folders(name: str = "templates") -> Callable[..., Any]:
    """``--templates DIR`` (repeatable): template folders searched before the built-in templates,
    their ``locales/`` catalogues first; the value arrives as parameter ``name``."""
    return click.option(
        "--templates",
        name,
        multiple=True,
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="Template folder searched before the built-in templates (repeatable).",
    )


LOOK = options(
    template_folders(),
    click.option(
        "--pdf-variant",
        type=click.Choice(["pdf/ua-1", "pdf/a-3b"]),
        default=None,
        help="PDF standard to follow (default: tagged PDF).",
    ),
    click.option(
        "--pdf-engine",
        type=click.Choice(["auto", "typst", "weasyprint"]),
        default="auto",
        help="What makes the PDF: Typst (fast), WeasyPrint (honours a template folder's CSS), or "
        "auto: Typst unless a template folder brings its own stylesheet (default; or the theme's).",
    ),
    click.option(
        "--page-size",
        type=click.Choice(["a4", "letter"]),
        default=None,
        help="Page size (default: the theme's, else A4).",
    ),
    click.option(
        "--theme",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="Theme file (TOML): organisation, logo, colours, fonts, page size, footer; PDF, HTML and Word.",
    ),
    click.option(
        "--reference-docx",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="Word template whose styles, page set-up, headers and footers the .docx takes.",
    ),
    click.option(
        "--docx-pages",
        type=click.Choice(["auto", "libreoffice", "word"]),
        default="auto",
        help="Who puts page numbers in the Word contents: LibreOffice before writing (libreoffice), "
        "Word when the reader opens it (word), or LibreOffice when installed (auto, the default).",
    ),
    click.option(
        "--embed-fonts/--no-embed-fonts",
        default=True,
        help="Embed the shipped fonts in the Word brief (default) so it looks the same everywhere.",
    ),
    click.option("--strict", is_flag=True, help="Treat warnings as errors."),
)


class Rate(click.ParamType):
    """Messages per minute: ``30/min``, ``30`` or ``0.5/s``."""

    name = "N/min"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            number, unit = float(value), "min"
        else:
            text = str(value).strip().lower().replace(" ", "")
            number_text, _, unit = text.partition("/")
            try:
                number = float(number_text)
            except ValueError:
                self.fail(f"{value!r} is not a rate such as 30/min", param, ctx)
            unit = unit or "min"
        if unit not in ("min", "m", "s", "sec", "h", "hour"):
            self.fail(f"{value!r}: the unit is /min, /s or /h", param, ctx)
        per_minute = number * {"s": 60, "sec": 60, "h": 1 / 60, "hour": 1 / 60}.get(unit, 1)
        if not 1 / 60 <= per_minute <= 100_000:
            self.fail(f"{value!r}: give a rate of at least 1/h and at most 100,000/min", param, ctx)
        return per_minute


#: How to reach the SMTP server, for ``send`` and ``batch --send`` alike (``[send]`` in briefgen.toml).
SMTP = options(
    click.option("--smtp-host", default=None, help="SMTP server to send through."),
    click.option(
        "--smtp-port", type=click.IntRange(1, 65535), default=None, help="Port (default: 587, 465 for ssl)."
    ),
    click.option(
        "--smtp-security",
        type=click.Choice(["starttls", "ssl", "none"]),
        default="starttls",
        show_default=True,
        help="starttls: upgrade to TLS (refused if not offered); ssl: TLS from the start; none: clear text.",
    ),
    click.option(
        "--smtp-user",
        default=None,
        help="Login name; the password comes from BRIEFGEN_SMTP_PASSWORD or a prompt.",
    ),
    click.option(
        "--smtp-ca",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="CA certificates (PEM) to trust besides the system's, e.g. an organisation's own CA.",
    ),
    click.option(
        "--smtp-timeout",
        type=click.FloatRange(1, 600),
        default=60.0,
        show_default=True,
        help="Seconds to wait for each SMTP reply (ten minutes for the reply to a whole message).",
    ),
    click.option(
        "--rate", type=Rate(), default=None, help="At most this many messages a minute, e.g. 30/min."
    ),
    click.option(
        "--max-message-mb",
        type=click.FloatRange(0.01, 1024),
        default=10.0,
        show_default=True,
        help="Refuse (before sending anything) a message larger than this.",
    ),
    click.option(
        "--retries",
        type=click.IntRange(0, 20),
        default=3,
        show_default=True,
        help="Tries again after a 4xx or a lost connection.",
    ),
    click.option(
        "--retry-wait",
        type=click.FloatRange(0, 3600),
        default=2.0,
        show_default=True,
        help="Seconds before the first retry; doubled each time.",
    ),
)
