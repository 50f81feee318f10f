"""Turn a content file or folder into a validated Strategy, or every problem with its place.

Problems come from three places and are reported together: the loader (YAML
that cannot be read, and folded text that swallows a list), the model (fields,
types, dates, language tags, inline Markdown) with :func:`briefgen.model.reference_problems`
(ids and cross-references), and, when template folders are given, the
templates each audience needs (:func:`template_problems`).
"""

from __future__ import annotations

import os
import stat
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .authoring import did_you_mean
from .errors import ContentError, Problem, shown
from .loader import Loaded, display_name, dotted, load
from .model import ID_RE, Strategy, reference_problems
from .pictures.series import series_problems


@dataclass(frozen=True)
class Content:
    """A validated strategy plus where it came from and a hash of its bytes."""

    strategy: Strategy
    files: tuple[Path, ...]
    digest: str


def fields_at(loc: tuple[Any, ...]) -> list[str]:
    """The field names the model allows at ``loc`` (a pydantic error location), or none when
    ``loc`` does not lead to a record."""
    from pydantic import BaseModel

    kind: Any = Strategy
    for part in loc:
        kind = _record_or_container(kind)
        if isinstance(kind, type) and issubclass(kind, BaseModel) and isinstance(part, str):
            field = kind.model_fields.get(part)
            if field is None:
                return []
            kind = field.annotation
        elif typing.get_origin(kind) is list and isinstance(part, int):
            kind = typing.get_args(kind)[0]
        elif typing.get_origin(kind) is dict and isinstance(part, str):
            kind = typing.get_args(kind)[1]
        else:
            return []
    kind = _record_or_container(kind)
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return list(kind.model_fields)
    return []


def _record_or_container(kind: Any) -> Any:
    """``kind`` without ``Annotated`` and ``| None``."""
    while True:
        origin = typing.get_origin(kind)
        if origin is typing.Annotated:
            kind = typing.get_args(kind)[0]
        elif origin in (typing.Union, types.UnionType):
            options = [arg for arg in typing.get_args(kind) if arg is not type(None)]
            if len(options) != 1:
                return kind
            kind = options[0]
        else:
            return kind


def _message(error: dict[str, Any], loc: tuple[Any, ...]) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        name = loc[-1] if loc else ""
        close = did_you_mean(name, fields_at(loc[:-1])) if isinstance(name, str) else None
        return f"unknown field {shown(name)}; did you mean {close!r}?" if close else "unknown field"
    if kind == "value_error" and isinstance((error.get("ctx") or {}).get("error"), ValueError):
        return " ".join(str(error["ctx"]["error"]).split())
    msg = str(error["msg"])
    if kind == "string_pattern_mismatch" and "[a-z]" in msg:
        return "not a valid id: use lower-case letters, digits and single hyphens"
    return msg[0].lower() + msg[1:] if msg else kind


def problems_from_model(loaded: Loaded) -> tuple[Strategy | None, list[Problem]]:
    """Validate loaded data against the model and check its cross-references, in one pass
    (with the loader's advice on the text, such as folded lists, in the same report)."""
    from pydantic import ValidationError

    problems = list(loaded.advice)
    problems += [loaded.problem(path, msg) for path, msg in reference_problems(loaded.data)]
    problems += [loaded.problem(path, msg) for path, msg in series_problems(loaded.data)]
    try:
        strategy = Strategy.model_validate(loaded.data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            loc = tuple(part for part in error["loc"] if part != "[key]")
            if error["type"] == "missing":
                file, line, col = loaded.locate(loc[:-1])
                problems.append(Problem(file, line, col, dotted(loc), _message(error, loc)))
            else:
                problems.append(loaded.problem(loc, _message(error, loc)))
        return None, problems
    return strategy, problems


# ----- templates --------------------------------------------------------------------------------

AUDIENCE_TEMPLATE = "{}.html.j2"


def _template_found(name: str, search_path: tuple[Path, ...]) -> bool:
    """Whether rendering would find template ``name``: the first folder that has the name holds
    a regular file that lies inside the template folders (as the sandbox's loader requires)."""
    from . import opener

    for folder in search_path:
        candidate = folder / name
        if not os.path.lexists(candidate) or candidate.is_dir():
            continue
        try:
            regular = stat.S_ISREG(os.stat(candidate).st_mode)
        except OSError:
            return False
        return regular and opener.inside(candidate, search_path)
    return False


def audience_templates(search_path: tuple[Path, ...]) -> list[str]:
    """Names of the audience templates on ``search_path`` (``business`` for business.html.j2)."""
    from .customise import audience_templates as listed

    names = [n.removesuffix(".html.j2") for n in listed(search_path)]
    return [n for n in names if _template_found(AUDIENCE_TEMPLATE.format(n), search_path)]


def template_problems(loaded: Loaded, templates: tuple[Path, ...]) -> list[Problem]:
    """For each audience, a problem when no template would render it: ``<template or id>.html.j2``
    looked up in ``templates``, then the built-in templates."""
    from .render import template_dirs

    audiences = loaded.data.get("audiences") if isinstance(loaded.data, dict) else None
    if not isinstance(audiences, dict):
        return []
    search = template_dirs(templates)
    names = (display_name(Path(f)) for f in templates)
    folders = [n if n.isprintable() else shown(n) for n in names] + ["the built-in templates"]
    available: list[str] | None = None
    problems = []
    for key, audience in audiences.items():
        chosen = audience.get("template") if isinstance(audience, dict) else None
        stem = chosen if chosen is not None else key
        if not isinstance(stem, str) or not ID_RE.match(stem) or not ID_RE.match(key):
            continue  # the model reports the bad id or template name
        name = AUDIENCE_TEMPLATE.format(stem)
        if _template_found(name, search):
            continue
        if available is None:
            available = audience_templates(search)
        choice = f"one of: {', '.join(available)}" if available else "a template you add"
        path = ("audiences", key, "template") if chosen is not None else ("audiences", key)
        message = f"no template {name} in {', '.join(folders)}; set audiences.{key}.template to {choice}"
        problems.append(loaded.problem(path, message))
    return problems


def validate(source: Path | tuple[Path, ...], *, templates: tuple[Path, ...] | None = None) -> Content:
    """Load and validate ``source``; raise :class:`ContentError` listing every problem.

    With ``templates`` (user template folders, possibly none), also check that every
    audience has a template in them or among the built-in templates.
    """
    return checked(load(source), templates=templates)


def checked(loaded: Loaded, *, templates: tuple[Path, ...] | None = None) -> Content:
    """Validate content already loaded (:func:`validate` without the read)."""
    if loaded.problems:
        raise ContentError(loaded.problems)
    strategy, problems = problems_from_model(loaded)
    if templates is not None:
        problems += template_problems(loaded, templates)
    if problems or strategy is None:
        raise ContentError(problems)
    return Content(strategy, tuple(loaded.files), loaded.digest)
