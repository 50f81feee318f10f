"""Turn ``briefgen check FILE.pdf...`` into the plain-words report of :mod:`briefgen.writers.pdf.check`.

One line per failure (file, page, standard, rule, what is wrong), then one summary line per file;
exit code 1 when any file fails or cannot be checked. Click only at import; the validator is
imported when the command runs.
"""

from __future__ import annotations

from pathlib import Path

import click

from .flags import handle_errors


@click.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--profile",
    type=click.Choice(["auto", "ua-1", "a-3b"]),
    default="auto",
    show_default=True,
    help="Standard to check: PDF/UA-1, PDF/A-3b, or what each file claims (PDF/UA-1 when it claims nothing).",
)
@handle_errors
def check(files: tuple[Path, ...], profile: str) -> None:
    """Check PDFs for accessibility (PDF/UA-1) and archiving (PDF/A-3b); list what fails in plain words."""
    from .writers.pdf.check import TITLES, PdfCheckError, run

    failed = 0
    for path in files:
        try:
            profiles, failures = run(path, profile)
        except PdfCheckError as exc:
            if len(files) == 1:
                raise
            click.echo(f"Error: {exc.message}", err=True)
            failed += 1
            continue
        for failure in failures:
            click.echo(str(failure))
        standards = ", ".join(TITLES[name] for name in profiles)
        if failures:
            failed += 1
            click.echo(f"{path}: {len(failures)} failed checks ({standards})")
        else:
            click.echo(f"{path}: ok ({standards})")
    if failed:
        raise click.exceptions.Exit(1)
