"""Turn every failure briefgen knows about into one exception tree.

All errors derive from :class:`BriefgenError`, itself a ``click.ClickException``,
so the CLI prints them as one ``Error: ...`` line and exits with their code:
1 for content and render errors, 2 for usage errors.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import click

#: The most characters of an untrusted value a message quotes.
SHOWN_CHARS = 60


def shown(text: str) -> str:
    """``text`` quoted for a one-line message: escapes for anything unprintable, long values cut."""
    cut = text[:SHOWN_CHARS]
    return repr(cut) + ("..." if len(text) > SHOWN_CHARS else "")


class BriefgenError(click.ClickException):
    """Base of every error briefgen raises on purpose (exit code 1)."""

    exit_code = 1

    def within(self, where: str) -> BriefgenError:
        """A new error of the same kind whose message starts with ``where`` (the audience, the
        format...); raise it ``from`` this one, which stays as it was raised."""
        located = copy.copy(self)
        located.message = f"{where}: {self.message}"
        return located


class UsageError(BriefgenError):
    """A flag or argument value that cannot be used (exit code 2)."""

    exit_code = 2


@dataclass(frozen=True, order=True)
class Problem:
    """One content problem with its place: ``file:line:col: field.path: message``."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ContentError(BriefgenError):
    """Content that cannot be loaded or validated; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        count = len(self.problems)
        lines = "\n".join(str(p) for p in self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{count} content {noun}:\n{lines}")


class RenderError(BriefgenError):
    """A template or writer failed for a reason the user can act on."""


class WarningAsError(BriefgenError):
    """A warning raised to an error by ``--strict``: the first warning, where it happened."""

    def __init__(self, warning: str, where: str = "") -> None:
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}{warning} (--strict turns warnings into errors)")
