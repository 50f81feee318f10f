"""Turn batch and send outcomes into what a person watching sees: a progress bar or plain lines,
then a summary.

On a terminal a Click progress bar runs on standard error; otherwise (a log,
a CI job, a pipe) every stakeholder gets one plain line on standard output.
Failures and warnings are always printed on standard error as they happen,
and a summary closes the run: built, unchanged, failed, time, where the
manifest and packages are, and every package (zip, e-mail draft) that could
not be written. Sending prints a line per message (sent, retrying, failed) and a summary that
names what was left alone and why (already sent, uncertain, changed, no address).
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from .batch import BatchResult, Outcome
    from .send import SendResult, Status

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
        self.finish()

    def finish(self) -> None:
        """Close the progress bar (once), so what follows starts on a line of its own."""
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

    def say(self, line: str) -> None:
        """Print a line about the run itself (a refused worker, the dashboard's address) on standard error."""
        self._above(line)

    def _above(self, line: str) -> None:
        """Print a line on standard error without tearing the progress bar."""
        if self.bar is not None:
            click.echo("\r\033[K", nl=False, err=True)
        click.echo(line, err=True)
        if self.bar is not None:
            self.bar.render_progress()

    def summary(self, result: BatchResult, out: Path) -> None:
        """Print the closing summary."""
        self.finish()
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


def _ids(ids: list[str], most: int = 5) -> str:
    return ", ".join(ids[:most]) + (", ..." if len(ids) > most else "")


def send_line(ident: str, state: str, detail: str) -> None:
    """One line per message as it goes: sent on standard output, the rest on standard error."""
    if state == "sent":
        click.echo(f"sent {ident} {detail}")
    else:
        colour = "red" if state == "failed" else "yellow"
        click.secho(f"{state} {ident}: {detail}", fg=colour, err=True)


def send_summary(result: SendResult, dry_run: bool = False) -> None:
    """Close a send (or a dry run) with the counts and what was left alone and why."""
    if dry_run:
        for letter in result.planned:
            files = ", ".join(name for name, _ in letter.files)
            size = result.sizes.get(letter.id, 0)
            click.echo(f"would send {letter.id} to {letter.to}: {files} ({size:,} bytes)")
        total = sum(result.sizes.get(letter.id, 0) for letter in result.planned)
        click.echo(
            f"{len(result.planned)} message(s), {total / 1048576:.1f} MB in all; nothing sent (--dry-run)"
        )
    else:
        parts = [
            f"{len(result.sent)} sent",
            f"{len(result.failed)} failed",
            f"{len(result.already)} already sent",
        ]
        if result.lost:
            parts.insert(2, f"{len(result.lost)} uncertain (no reply after sending; see --resend-uncertain)")
        click.echo(f"{', '.join(parts)} in {result.seconds:.1f} s")
    notes = [
        (result.uncertain, "left uncertain by an interrupted run; not sent again (--resend-uncertain)"),
        (result.changed, "rebuilt since they were sent; not sent again (--resend-changed)"),
        (result.no_address, "have no e-mail address"),
        (result.not_built, "have no built brief in the manifest"),
    ]
    for ids, why in notes:
        if ids:
            click.echo(f"note: {len(ids)} stakeholder(s) {why}: {_ids(ids)}", err=True)
    for ident, words in result.failed:
        click.secho(f"failed: {ident}: {words}", fg="red", err=True)
    if result.stopped:
        click.secho(f"Error: {result.stopped}; stopped, nothing more sent", fg="red", err=True)


def send_status(found: Status) -> None:
    """``briefgen send --status``: where every message of the batch stands."""
    rows = [
        ("sent", found.sent),
        ("rebuilt since sent", found.changed),
        ("failed", [ident for ident, _ in found.failed]),
        ("uncertain", found.uncertain),
        ("not yet sent", found.due),
        ("no address", found.no_address),
        ("not built", found.not_built),
    ]
    for label, ids in rows:
        click.echo(f"{label:<19} {len(ids):>5}" + (f"  {_ids(ids)}" if ids and label != "sent" else ""))
    for ident, words in found.failed:
        click.echo(f"  failed {ident}: {words}")
    if found.skipped_lines:
        click.echo(
            f"note: {found.skipped_lines} journal line(s) are not records briefgen writes; skipped", err=True
        )
