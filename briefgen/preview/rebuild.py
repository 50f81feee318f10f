"""Turn a change (a saved file, a switcher) into a rebuilt brief: the HTML at once, in the main
thread, then the PDF and Word in the background workers.

The rebuild is ``briefgen build``'s own pipeline for one audience: the same
:class:`~briefgen.build.BuildRequest`, :func:`~briefgen.translate.validated`,
:func:`~briefgen.build.rendered` (tailor and render in the template sandbox) and writers, under
the same brief time limit (:func:`~briefgen.sandbox.deadline`, which needs the main thread).
Nothing is written to disk: the files go to :class:`~.state.State`. A failure keeps the last good
files and lists its problems; the next good rebuild clears them.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BriefgenError, WarningAsError
from .choices import Choice, menu
from .problems import lines
from .state import State
from .worker import Done, Job

if TYPE_CHECKING:
    from .background import Workers

#: The background formats and the served file each one fills.
BACKGROUND = {"pdf": "brief.pdf", "docx": "brief.docx"}


@dataclass(frozen=True)
class Settings:
    """What ``briefgen preview`` was asked for: the content, how the brief looks (the build
    flags, as :data:`briefgen.flags.LOOK_NAMES`), the first choice and the stakeholder list."""

    content: tuple[Path, ...]
    look: dict[str, Any] = field(default_factory=dict)
    choice: Choice | None = None
    stakeholders: Path | None = None
    config: Path | None = None  # briefgen.toml, re-read when it changes
    explicit: frozenset[str] = frozenset()  # flags given on the command line (they beat briefgen.toml)
    flag_look: dict[str, Any] = field(default_factory=dict)  # the flags' values without briefgen.toml


def look_from(table: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """How the brief looks with briefgen.toml's ``[build]`` ``table``: its settings for every flag
    not given on the command line, the flags' own values (and defaults) for the rest."""
    from ..flags import LOOK_NAMES

    look = dict(settings.flag_look)
    for key in LOOK_NAMES:
        if key in settings.explicit or key not in table:
            continue
        value = table[key]
        if key == "templates":
            value = tuple(Path(v) for v in (value if isinstance(value, list) else [value]))
        elif key in ("theme", "reference_docx"):
            value = Path(value)
        look[key] = value
    return look


class _Failed(Exception):
    def __init__(self, found: list[str]) -> None:
        self.lines = found


class Rebuilder:
    """Rebuilds the brief for the current choice and publishes it in ``state``."""

    def __init__(self, settings: Settings, state: State, say: Callable[[str], None]) -> None:
        self.settings = settings
        self.state = state
        self.say = say
        self.workers: Workers | None = None
        self.failed = False
        self.config_problems: list[str] = []

    def reload_config(self) -> None:
        """Read briefgen.toml again: its ``[limits]`` and its ``[build]`` look settings apply to the
        next rebuilds (flags given on the command line still win); a bad file is a problem to show."""
        from .. import config, limits

        path = self.settings.config
        if path is None:
            return
        limits.reset()
        try:
            table = config.load(path).get("build", {})
        except BriefgenError as exc:
            self.config_problems = lines(exc)
            return
        self.config_problems = []
        self.settings = dataclasses.replace(self.settings, look=look_from(table, self.settings))

    def rebuild(self, reason: str, saved_at: float | None = None) -> bool:
        """Rebuild the HTML now and hand the PDF and Word to the workers; False when it failed."""
        from .. import limits
        from ..sandbox import LimitError, deadline

        saved_at = saved_at or time.time()
        generation = self.state.generation + 1
        self.state.update(generation=generation)
        started = time.perf_counter()
        seconds = limits.current().brief_seconds
        try:
            if self.config_problems:
                raise _Failed(self.config_problems)
            with deadline(seconds, f"the brief took longer than {seconds:g} s (brief_seconds in [limits])"):
                job, html = self._html(generation)
        except Exception as exc:  # every failure is shown; the preview goes on with the last good brief
            if isinstance(exc, _Failed):
                problems = exc.lines
            else:
                problems = lines(BriefgenError(str(exc)) if isinstance(exc, LimitError) else exc)
            self.state.update(problems=problems)
            self.say("\n".join(f"error: {line}" for line in problems))
            self.failed = True
            return False
        took = time.perf_counter() - started
        self.state.update(problems=[])
        self.state.set_output(
            "brief.html", data=html, generation=generation, status="ready", seconds=took, saved_at=saved_at
        )
        if self.failed:
            self.say("fixed: the preview shows the brief again")
        self.failed = False
        self.say(f"{reason}: HTML rebuilt in {took:.2f} s (generation {generation})")
        for name in BACKGROUND.values():
            self.state.set_output(name, status="building", saved_at=saved_at)
        self.state.set_output("pages.pdf", status="building", saved_at=saved_at)
        if self.workers is not None:
            self.workers.submit(job)
        return True

    def _html(self, generation: int) -> tuple[Job, bytes]:
        """Validate, tailor and render the current choice; the HTML brief and the workers' job."""
        from .. import limits, writers
        from ..build import BuildRequest, rendered
        from ..clock import source_date_epoch
        from ..log import collect
        from ..stakeholders import load as load_stakeholders
        from ..translate import available, untranslated_warning, validated

        settings = self.settings
        choice = self.state.choice
        with collect() as warnings:
            content, language, untranslated, source_text = validated(settings.content, choice.language)
            strategy = content.strategy
            rows = load_stakeholders(settings.stakeholders, strategy) if settings.stakeholders else []
            offered = menu(strategy, available(settings.content), rows)
            if choice.audience not in strategy.audiences:  # the audience was renamed or removed
                choice = dataclasses.replace(choice, audience=next(iter(strategy.audiences)))
            person = offered.stakeholders.get(choice.stakeholder) if choice.stakeholder else None
            if choice.stakeholder and person is None:
                choice = dataclasses.replace(choice, stakeholder=None)
            self.state.update(menu=offered, choice=choice)
            request = BuildRequest(
                content=settings.content,
                out=Path("."),  # nothing is written: the preview keeps its files in memory
                audiences=(choice.audience,),
                formats=("html", *BACKGROUND),
                focus=choice.focus,
                region=choice.region,
                length=choice.length,  # type: ignore[arg-type]
                stakeholder=person,
                language=language if choice.language else None,
                **settings.look,
            )
            epoch = source_date_epoch()
            options = writers.options_for(request, epoch)
            message = untranslated_warning(language, untranslated, (choice.audience,))
            if message and request.strict:
                raise WarningAsError(message)
            document = rendered(request, strategy, choice.audience, options, (language, source_text))
            html = writers.get("html").write(document, options)
        if warnings and request.strict:
            raise WarningAsError(warnings[0], "format html")
        return Job(generation, request, document, epoch, limits.current()), html

    def answer(self, done: Done | str) -> None:
        """Publish a worker's answer (called from the worker's reader thread)."""
        if isinstance(done, str):  # the worker died
            for name in (*BACKGROUND.values(), "pages.pdf"):
                self.state.set_output(name, status="failed", note=done)
            return
        if done.cancelled or done.generation != self.state.generation:
            return  # a newer change is being built
        name = BACKGROUND[done.format]
        label = "PDF" if done.format == "pdf" else "Word"
        if done.data is None:
            self.state.set_output(name, status="failed", note="; ".join(done.problems))
            if done.format == "docx":
                self.state.set_output("pages.pdf", status="failed", note="the Word brief failed")
            self.say("\n".join(f"error: {line}" for line in done.problems))
            return
        if done.warnings and self.settings.look.get("strict"):
            self.state.set_output(name, status="failed", note=f"{done.warnings[0]} (--strict)")
            return
        self.state.set_output(
            name, data=done.data, generation=done.generation, status="ready", seconds=done.seconds, note=""
        )
        if done.format == "docx":
            if done.pages_pdf is not None:
                self.state.set_output(
                    "pages.pdf", data=done.pages_pdf, generation=done.generation, status="ready", note=""
                )
            else:
                note = done.warnings[-1] if done.warnings else "LibreOffice is not installed"
                self.state.set_output("pages.pdf", status="none", note=note)
        self.say(f"{label} rebuilt in {done.seconds:.2f} s (generation {done.generation})")
