"""Turn batch outcomes into what a person watching sees: a progress bar or plain lines, then a summary.

On a terminal a Click progress bar runs on standard error; otherwise (a log,
a CI job, a pipe) every stakeholder gets one plain line on standard output.
Failures and warnings are always printed on standard error as they happen,
and a summary closes the run: built, unchanged, failed, time, where the
manifest and packages are, and every package (zip, e-mail draft) that could
not be written.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from .batch import BatchResult, Outcome

WORDS = {"built": "built", "skipped": "unchanged", "failed": "FAILED"}


class Reporter:
    """Show batch progress; use as a context manager around the run."""

    def __init__(self, interactive: bool | None = None) -> None:
        self.interactive = sys.stderr.isatty() if interactive is None else interactive
        self.bar: Any = None
        self.shown = 0

    def __enter__(self) -> Reporter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.bar is not None:
            self.bar.render_finish()
            self.bar = None

    def update(self, outcome: Outcome, done: int, total: int) -> None:
        """Report one finished (or skipped) stakeholder."""
        if outcome.status == "failed":
            self._above(click.style(f"failed: {outcome.id}: {outcome.error}", fg="red"))
        for message in outcome.warnings:
            self._above(click.style(f"warning: {outcome.id}: {message}", fg="yellow"))
        if self.interactive:
            if self.bar is None:
                self.bar = click.progressbar(length=total, label="Building briefs", file=sys.stderr)
                self.bar.render_progress()
            self.bar.update(done - self.shown)
        else:
            names = ", ".join(f["path"] for f in outcome.files) or "-"
            width = len(str(total))
            click.echo(
                f"[{done:>{width}}/{total}] {WORDS[outcome.status]:<9} {outcome.id}: {names}"
                + (f" ({outcome.seconds:.2f} s)" if outcome.status == "built" else "")
            )
        self.shown = done

    def _above(self, line: str) -> None:
        """Print a line on standard error without tearing the progress bar."""
        if self.bar is not None:
            click.echo("\r\033[K", nl=False, err=True)
        click.echo(line, err=True)
        if self.bar is not None:
            self.bar.render_progress()

    def summary(self, result: BatchResult, out: Path) -> None:
        """Print the closing summary."""
        built, skipped, failed = (result.count(s) for s in ("built", "skipped", "failed"))
        reused = sum(1 for o in result.outcomes.values() if "pdf" in o.reused)
        parts = [f"{built} built", f"{skipped} unchanged", f"{failed} failed"]
        line = f"{result.total} stakeholders: {', '.join(parts)} in {result.seconds:.1f} s"
        if reused:
            line += f" ({reused} PDFs reused a shared body)"
        click.echo(line)
        for path in result.packages:
            if path.suffix == ".zip":
                click.echo(f"wrote {path}")
        drafts = sum(1 for p in result.packages if p.suffix == ".eml")
        if drafts:
            click.echo(f"wrote {drafts} e-mail drafts to {out / 'outbox'}")
        for note in result.notes:
            click.echo(f"note: {note}", err=True)
        for problem in result.problems:
            click.secho(f"failed: {problem}", fg="red", err=True)
        if result.manifest is not None:
            click.echo(f"manifest: {result.manifest}")
        if failed:
            message = f"{failed} stakeholder(s) failed; see the manifest for each error"
            click.secho(message, fg="red", err=True)
