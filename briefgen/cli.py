"""Turn command-line flags into calls of the pipeline stages (a thin Click layer).

Only Click is imported at start-up; every stage is imported inside the command
that needs it, so ``briefgen --help`` stays fast. Errors derived from
:class:`briefgen.errors.BriefgenError` print as one ``Error:`` line; anything
unexpected prints one line too unless ``--debug`` asks for the traceback.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from . import __version__
from .checkcmd import check as pdf_check
from .flags import (
    CONTENT_MANY,
    LANGUAGE,
    LENGTH,
    LOOK,
    LOOK_NAMES,
    OUT,
    SMTP,
    FormatList,
    Identifier,
    IdentifierList,
    handle_errors,
)
from .inform import INFORMATION
from .paths import builtin_content
from .writers import BATCH_FORMATS


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="briefgen")
@click.option("--debug", is_flag=True, help="Show tracebacks for unexpected errors.")
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Project settings (default: ./briefgen.toml when present).",
)
@click.pass_context
def main(ctx: click.Context, debug: bool, config: Path | None) -> None:
    """Turn structured strategy content into tailored briefings (HTML, PDF, Word)."""
    show_warnings()
    from . import config as settings
    from . import limits

    limits.reset()  # every run starts from the defaults; briefgen.toml and flags change them
    path = settings.find(config)
    if path is not None:
        ctx.default_map = settings.load(path)


class _EchoWarnings(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        click.secho(f"warning: {record.getMessage()}", fg="yellow", err=True)


def show_warnings() -> None:
    """Print briefgen's warnings on standard error, once."""
    logger = logging.getLogger("briefgen")
    if not any(isinstance(h, _EchoWarnings) for h in logger.handlers):
        logger.addHandler(_EchoWarnings(logging.WARNING))
        logger.setLevel(logging.INFO)


@main.command()
@CONTENT_MANY
@click.option(
    "--audience",
    "audiences",
    multiple=True,
    type=Identifier(),
    help="Audience id, or 'all' (default). Repeat for several.",
)
@click.option(
    "--format",
    "formats",
    type=FormatList(),
    default=None,
    help="Comma-separated: html,pdf,docx (default: all available).",
)
@OUT
@click.option(
    "--focus",
    multiple=True,
    type=IdentifierList(),
    help="Focus-area id; repeat or comma-separate for several.",
)
@click.option("--region", type=Identifier(), default=None, help="Region id: brings in that region's context.")
@LENGTH
@click.option("--name", "person", default=None, help="Stakeholder name for the 'Prepared for' line.")
@click.option("--organisation", default=None, help="Stakeholder organisation.")
@click.option("--sector", default=None, help="Stakeholder sector.")
@click.option("--country", default=None, help="Stakeholder country.")
@LANGUAGE
@LOOK
@click.option(
    "--docx-refresh", is_flag=True, help="The same as --docx-pages libreoffice (kept for older scripts)."
)
@handle_errors
def build(
    content: tuple[Path, ...],
    audiences: tuple[str, ...],
    formats: tuple[str, ...] | None,
    out: Path,
    focus: tuple[tuple[str, ...], ...],
    region: str | None,
    length: str,
    person: str | None,
    organisation: str | None,
    sector: str | None,
    country: str | None,
    language: str | None,
    docx_refresh: bool,
    **look: Any,
) -> None:
    """Build briefs for one or all audiences into the output folder."""
    from .build import BuildRequest
    from .build import build as run_build
    from .stakeholders import Stakeholder

    if (organisation or sector or country) and not person:
        raise click.UsageError(
            "--organisation, --sector and --country need --name", ctx=click.get_current_context()
        )
    stakeholder = Stakeholder(person, organisation, sector, country) if person else None
    chosen = () if not audiences or "all" in audiences else tuple(dict.fromkeys(audiences))
    focus_ids = tuple(dict.fromkeys(f for group in focus for f in group))
    from .output import folder_lock

    with folder_lock(out):  # waits for a batch or build already writing there
        result = run_build(
            BuildRequest(
                content=content or builtin_content(),
                out=out,
                audiences=chosen,
                formats=formats or (),
                focus=focus_ids,
                region=region,
                length=length,  # type: ignore[arg-type]
                stakeholder=stakeholder,
                language=language,
                docx_refresh=docx_refresh,
                **look,  # --templates, --pdf-variant, --page-size, --theme, --reference-docx, --strict
            )
        )
    for record in result.files:
        click.echo(f"wrote {out / record.path} ({record.bytes:,} bytes)")
    click.echo(f"wrote {result.manifest} · {len(result.files)} files in {result.seconds:.2f} s")
    for note in result.notes:
        click.echo(note, err=True)


@main.command()
@click.argument("stakeholders", metavar="LIST", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@CONTENT_MANY
@click.option(
    "--format",
    "formats",
    type=FormatList(),
    default=",".join(BATCH_FORMATS),
    show_default=True,
    help="Comma-separated: html,pdf,docx for every stakeholder; a row's 'formats' column adds to them "
    "and chooses what its e-mail draft attaches.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("output/batch"),
    show_default=True,
    help="Output folder (its manifest.json makes re-runs incremental).",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: one per core).",
)
@click.option(
    "--scheduler",
    envvar="BRIEFGEN_SCHEDULER",
    default=None,
    metavar="tcp://HOST:PORT",
    help="Build on the Dask cluster of this scheduler instead of this machine (needs briefgen[cluster]).",
)
@click.option("--force", is_flag=True, help="Rebuild every stakeholder, even when nothing changed.")
@click.option(
    "--name",
    "name_pattern",
    default=None,
    help="File-name pattern from {id}, {name}, {organisation}, {audience}, {country}, {region}, {sector} "
    "(default: {organisation}-{name}).",
)
@LENGTH
@LANGUAGE
@LOOK
@click.option("--zip", "make_zip", is_flag=True, help="Also write one zip per format (briefs-pdf.zip...).")
@click.option("--eml", is_flag=True, help="Also write an e-mail draft per stakeholder into OUT/outbox.")
@click.option("--from", "sender", default=None, help="Sender address for the e-mail drafts.")
@click.option(
    "--max-stakeholders",
    type=click.IntRange(min=1),
    default=None,
    help="Refuse longer lists (default: 10,000).",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Seconds one brief may take before it fails alone (default: 120).",
)
@click.option(
    "--memory-limit",
    type=click.IntRange(min=256),
    default=None,
    help="Megabytes of memory each worker may use (default: 2048).",
)
@click.option(
    "--no-wait",
    is_flag=True,
    help="Refuse at once (exit code 1) when another briefgen run is using OUT, instead of waiting.",
)
@click.option(
    "--send", "send_after", is_flag=True, help="Then send each stakeholder their briefs (see send)."
)
@SMTP
@handle_errors
def batch(
    stakeholders: Path,
    content: tuple[Path, ...],
    formats: tuple[str, ...],
    out: Path,
    jobs: int | None,
    scheduler: str | None,
    force: bool,
    name_pattern: str | None,
    length: str,
    language: str | None,
    make_zip: bool,
    eml: bool,
    sender: str | None,
    max_stakeholders: int | None,
    time_limit: float | None,
    memory_limit: int | None,
    no_wait: bool,
    send_after: bool,
    **options: Any,
) -> None:
    """Build a personalised brief per stakeholder in LIST (CSV or YAML), in parallel.

    Unchanged stakeholders are skipped; the manifest in OUT records every file
    with its checksum. One batch or build at a time uses OUT: another waits
    (or, with --no-wait, refuses). Exit code 1 when any stakeholder or package
    failed; on SIGTERM or SIGINT the workers are stopped, the manifest keeps
    what finished and the exit code is 128 + the signal's number (143, 130).
    """
    from . import limits
    from .batch import BatchRequest, Interrupted
    from .batch import run as run_batch
    from .filenames import DEFAULT_PATTERN

    look = {key: value for key, value in options.items() if key in LOOK_NAMES}
    smtp = {key: value for key, value in options.items() if key not in LOOK_NAMES}
    flags = {"stakeholders": max_stakeholders, "brief_seconds": time_limit, "memory_mb": memory_limit}
    limits.configure({k: v for k, v in flags.items() if v is not None}, source="flag")
    request = BatchRequest(
        stakeholders=stakeholders,
        content=content or (builtin_content(),),
        out=out,
        formats=formats,
        jobs=jobs,
        scheduler=scheduler or None,
        force=force,
        name_pattern=name_pattern or DEFAULT_PATTERN,
        length=length,  # type: ignore[arg-type]
        language=language,
        zip=make_zip,
        eml=eml,
        sender=sender,
        wait=not no_wait,
        **look,  # --templates, --pdf-variant, --page-size, --theme, --reference-docx, --strict
    )
    from .progress import Reporter

    sending = None
    if send_after:  # everything sending needs is asked for before the batch starts
        if not smtp.get("smtp_host"):
            raise click.UsageError("--send needs --smtp-host (or smtp_host in [send] of briefgen.toml)")
        if not sender:
            raise click.UsageError("--send needs --from (or from in [batch] or [send] of briefgen.toml)")
        from .send import envelope_sender

        envelope_sender(sender)  # one valid address, before the batch
        sending = _send_request(out, sender, look.get("templates", ()), smtp)
    send_failed: list[bool] = []

    def then(result: Any) -> None:  # inside the batch's lock on OUT: the batch and its sending, one run
        reporter.summary(result, out)
        if sending is not None:
            send_failed.append(_send(sending))

    try:
        with Reporter() as reporter:
            result = run_batch(request, reporter.update, then, say=reporter.say)
    except Interrupted as stop:
        click.secho(f"Error: {stop.message}", fg="red", err=True)
        raise click.exceptions.Exit(128 + stop.signum) from None
    if result.count("failed") or result.problems or any(send_failed):
        raise click.exceptions.Exit(1)


def _password(user: str | None) -> str | None:
    """The SMTP password: from BRIEFGEN_SMTP_PASSWORD, else asked on the terminal; never from a file."""
    import os

    if not user:
        return None
    found = os.environ.pop("BRIEFGEN_SMTP_PASSWORD", None)  # not inherited by batch workers
    if found is not None:
        return found
    if not sys.stdin.isatty():
        raise click.UsageError(
            "--smtp-user: set BRIEFGEN_SMTP_PASSWORD (no terminal to ask for the password)"
        )
    return click.prompt(f"SMTP password for {user}", hide_input=True, err=True)


def _send_request(
    out: Path, sender: str | None, templates: tuple[Path, ...], smtp: dict[str, Any], **more: Any
) -> Any:
    """The send request of ``briefgen send`` or ``batch --send`` from the SMTP options."""
    from .send import request_from_flags

    password = None if more.get("dry_run") else _password(smtp.get("smtp_user"))
    return request_from_flags(out, sender, templates, smtp, password, **more)


def _send(request: Any) -> bool:
    """Run a send and print what it did; True when anything failed or the run stopped."""
    from .progress import send_line, send_summary
    from .send import run as run_send

    result = run_send(request, send_line)
    send_summary(result, request.dry_run)
    return bool(result.failed or result.lost or result.stopped)


@main.command()
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--from", "sender", default=None, help="Sender address (From and envelope sender).")
@SMTP
@click.option(
    "--templates",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Template folder with your email.txt.j2 (as given to batch; repeatable).",
)
@click.option(
    "--only", multiple=True, help="Send only to these stakeholder ids (repeatable), for a pilot run."
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Send at most N messages.")
@click.option("--dry-run", is_flag=True, help="Print who would get what, and the total size; send nothing.")
@click.option("--status", is_flag=True, help="Summarise the send journal and the batch; send nothing.")
@click.option("--resend-uncertain", is_flag=True, help="Send again messages a crash left uncertain.")
@click.option("--resend-changed", is_flag=True, help="Send again briefs rebuilt since they were sent.")
@click.option("--no-wait", is_flag=True, help="Refuse at once when another briefgen run is using OUT.")
@handle_errors
def send(
    out: Path,
    sender: str | None,
    templates: tuple[Path, ...],
    only: tuple[str, ...],
    limit: int | None,
    dry_run: bool,
    status: bool,
    resend_uncertain: bool,
    resend_changed: bool,
    no_wait: bool,
    **smtp: Any,
) -> None:
    """Send each stakeholder of the batch in OUT their briefs by e-mail, once.

    Every step goes to OUT/send-journal.jsonl before the next: a re-run sends only
    what was not sent. A message a crash left uncertain is not sent again without
    --resend-uncertain (at most once); a rebuilt brief is sent again only with
    --resend-changed. Everything is checked before the first message goes out.
    Exit code 1 when a message failed or the server refused the login, TLS or the sender.
    """
    if status:
        from .progress import send_status
        from .send import status as read_status

        send_status(read_status(out, sender))
        return
    ids = tuple(dict.fromkeys(i.strip() for group in only for i in group.split(",") if i.strip()))
    request = _send_request(
        out,
        sender,
        templates,
        smtp,
        only=ids,
        limit=limit,
        dry_run=dry_run,
        resend_uncertain=resend_uncertain,
        resend_changed=resend_changed,
        wait=not no_wait,
    )
    if _send(request):
        raise click.exceptions.Exit(1)


@main.command()
@CONTENT_MANY
@click.option("--audience", type=Identifier(), default=None, help="Audience shown first (default: first).")
@click.option(
    "--focus",
    multiple=True,
    type=IdentifierList(),
    help="Focus-area id shown first; repeat or comma-separate for several.",
)
@click.option("--region", type=Identifier(), default=None, help="Region id shown first.")
@LENGTH
@LANGUAGE
@LOOK
@click.option(
    "--stakeholders",
    "stakeholder_list",
    metavar="LIST",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Stakeholder list (CSV or YAML) whose people the page's stakeholder switcher offers.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (anything but loopback lets others read the brief; a warning says so).",
)
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Port (default: a free one).")
@click.option("--no-open", is_flag=True, help="Do not open the browser.")
@handle_errors
def preview(
    content: tuple[Path, ...],
    audience: str | None,
    focus: tuple[tuple[str, ...], ...],
    region: str | None,
    length: str,
    language: str | None,
    stakeholder_list: Path | None,
    host: str,
    port: int,
    no_open: bool,
    **look: Any,
) -> None:
    """Show the brief in the browser and rebuild it on every save (HTML at once, then PDF and Word).

    Watches the content, the template folders, the theme, the reference document, the
    stakeholder list and briefgen.toml. Serves only 127.0.0.1 on a free port by default; the
    page's switchers choose audience, focus areas, region, length, language and stakeholder.
    """
    from .preview.choices import Choice
    from .preview.server import run, settings_from

    ctx = click.get_current_context()
    choice = Choice(
        audience=audience or "",
        focus=tuple(dict.fromkeys(f for group in focus for f in group)),
        region=region,
        length=length,
        language=language,
    )
    settings = settings_from(ctx, content or (builtin_content(),), look, choice, stakeholder_list)
    run(settings, host, port, open_browser=not no_open)


for command in INFORMATION:
    main.add_command(command)
main.add_command(pdf_check)


def run() -> None:
    """Console-script entry point."""
    main(prog_name="briefgen")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
