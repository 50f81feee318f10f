"""Turn content, templates and the machine into the answers of briefgen's information commands.

``validate``, ``audiences``, ``languages``, ``schema``, ``templates list|eject`` and
``doctor``: each reads and reports, none writes a brief. Like the rest of the
command line, every stage is imported inside the command that needs it.
"""

from __future__ import annotations

from pathlib import Path

import click

from .flags import content_option, handle_errors, template_folders
from .paths import builtin_content


@click.command()
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@template_folders("folders")
@handle_errors
def validate(path: Path | None, folders: tuple[Path, ...]) -> None:
    """Check a content file or folder; report every problem with file:line:col.

    Also checks that every audience has a template (named after the audience, or
    as its template field says) in the --templates folders or the built-in ones.
    """
    from .validate import validate as run_validate

    content = run_validate(path or builtin_content(), templates=folders)
    s = content.strategy
    recs = sum(len(a.recommendations) for a in s.audiences.values())
    click.echo(
        f"ok: {len(content.files)} files, {len(s.objectives)} objectives, {len(s.focus_areas)} focus areas, "
        f"{len(s.audiences)} audiences, {recs} recommendations, {len(s.regions)} regions"
    )


@click.command()
@content_option
@handle_errors
def audiences(content: Path | None) -> None:
    """List audiences, focus-area ids and region ids of the content."""
    from .validate import validate as run_validate

    s = run_validate(content or builtin_content()).strategy
    click.echo("Audiences:")
    for key, audience in s.audiences.items():
        click.echo(f"  {key:<22} {audience.label}: {audience.description}")
    click.echo("Focus areas (--focus):")
    for area in s.focus_areas:
        click.echo(f"  {area.id:<22} {area.title}")
    click.echo("Regions (--region):")
    for region in s.regions:
        click.echo(f"  {region.id:<22} {region.name}")


@click.command()
@content_option
@template_folders("folders")
@handle_errors
def languages(content: Path | None, folders: tuple[Path, ...]) -> None:
    """List the languages briefs can be written in, and how complete each one is."""
    from .languages import coverage
    from .render import template_dirs

    rows = coverage(template_dirs(folders), content or builtin_content())
    click.echo(f"{'language':<10} {'name':<22} {'labels (catalogue)':<20} content")
    for row in rows:
        labels = f"{row.messages}/{row.messages_total} ({100 * row.messages // max(row.messages_total, 1)}%)"
        if row.source:
            text = "source language"
        elif row.records is None:
            text = "no translation (source text with a warning)"
        else:
            text = f"{row.records}/{row.records_total} records translated"
        click.echo(f"{row.tag:<10} {row.name:<22} {labels:<20} {text}")
    click.echo("Add a language: bash scripts/messages.sh init LANG; translate; compile (docs/languages.md).")


@click.command()
@handle_errors
def schema() -> None:
    """Print the JSON Schema of the content (for YAML language servers)."""
    import json

    from .model import Strategy

    document = Strategy.model_json_schema()
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "briefgen content"
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


@click.group()
def templates() -> None:
    """List and eject the templates briefs are rendered with."""


@templates.command("list")
@template_folders("folders")
@handle_errors
def templates_list(folders: tuple[Path, ...]) -> None:
    """Show each template, where it comes from, what it extends and its blocks.

    A template that does not parse, and every file no brief can use (a FIFO, a
    device, a broken link, a link out of the folders), gets a line saying why.
    """
    from .customise import listing

    for info in listing(folders):
        if info.problem:
            click.echo(f"{info.name}  [{info.origin}]  ({info.problem})")
            continue
        extends = f" extends {info.extends}" if info.extends else ""
        click.echo(f"{info.name}  [{info.origin}]{extends}")
        if info.blocks:
            click.echo(f"    blocks: {', '.join(info.blocks)}")


@templates.command("eject")
@click.argument("audience", default="all")
@click.option(
    "--to", "to", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder to copy into."
)
@click.option("--force", is_flag=True, help="Overwrite files that already exist there.")
@handle_errors
def templates_eject(audience: str, to: Path, force: bool) -> None:
    """Copy editable templates, stylesheets and the reference .docx into a folder."""
    from .customise import eject

    written = eject(audience, to, force=force)
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"use them with: briefgen build --templates {to}")


@click.command()
@handle_errors
def doctor() -> None:
    """Check the libraries and tools briefgen uses, and say what a missing one means."""
    from .doctor import checks

    failed = False
    for check in checks():
        mark = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}[check.status]
        colour = {"ok": "green", "warn": "yellow", "fail": "red"}[check.status]
        click.echo(f"{click.style(mark, fg=colour)} {check.name}: {check.detail}")
        failed = failed or check.status == "fail"
    if failed:
        raise click.exceptions.Exit(1)


INFORMATION = (validate, audiences, languages, schema, templates, doctor)
