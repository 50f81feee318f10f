"""Turn a content file or folder into a validated Strategy, or every problem with its place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ContentError, Problem
from .loader import Loaded, dotted, load
from .model import Strategy, reference_problems


@dataclass(frozen=True)
class Content:
    """A validated strategy plus where it came from and a hash of its bytes."""

    strategy: Strategy
    files: tuple[Path, ...]
    digest: str


def _message(error: dict[str, Any]) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field"
    msg = str(error["msg"])
    if kind == "string_pattern_mismatch" and "[a-z]" in msg:
        return "not a valid id: use lower-case letters, digits and single hyphens"
    return msg[0].lower() + msg[1:] if msg else kind


def problems_from_model(loaded: Loaded) -> tuple[Strategy | None, list[Problem]]:
    """Validate loaded data against the model and check its cross-references, in one pass."""
    from pydantic import ValidationError

    problems = [loaded.problem(path, msg) for path, msg in reference_problems(loaded.data)]
    try:
        strategy = Strategy.model_validate(loaded.data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            loc = tuple(part for part in error["loc"] if part != "[key]")
            if error["type"] == "missing":
                file, line, col = loaded.locate(loc[:-1])
                problems.append(Problem(file, line, col, dotted(loc), _message(error)))
            else:
                problems.append(loaded.problem(loc, _message(error)))
        return None, problems
    return strategy, problems


def validate(source: Path | tuple[Path, ...]) -> Content:
    """Load and validate ``source``; raise :class:`ContentError` listing every problem."""
    loaded = load(source)
    if loaded.problems:
        raise ContentError(loaded.problems)
    strategy, problems = problems_from_model(loaded)
    if problems or strategy is None:
        raise ContentError(problems)
    return Content(strategy, tuple(loaded.files), loaded.digest)
