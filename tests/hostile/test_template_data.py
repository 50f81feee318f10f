"""Templates see data, not objects: nothing callable outside the allow-list is reachable from a template."""

from __future__ import annotations

import datetime as dt
import json
import os
import pickle
from pathlib import Path
from typing import Any

import pytest
from jinja2.runtime import Undefined
from markupsafe import Markup

from briefgen.paths import builtin_templates
from briefgen.plain import DATE_ATTRIBUTES, RECORD_METHODS, Record, freeze
from briefgen.render import environment, template_dirs
from briefgen.stakeholders import Stakeholder
from briefgen.tailor import Options, tailor
from briefgen.theme import load as load_theme

from .helpers import assert_content_error, block_template, build

THEME = builtin_templates() / "themes" / "civic.toml"
PLAIN = (type(None), bool, int, float, str, Markup, tuple, dt.date, Record)


def _public(kind: type) -> set[str]:
    return {name for name in dir(kind) if not name.startswith("_")}


#: (type, attribute) pairs a template may call: plain values' own methods, a record's read methods,
#: a date's formatting methods. Nothing of pydantic, pathlib or briefgen's classes.
ALLOWED_CALLS = (
    {("str", n) for n in _public(str)}
    | {("Markup", n) for n in _public(Markup)}
    | {("tuple", n) for n in _public(tuple)}
    | {(t.__name__, n) for t in (int, float, bool) for n in _public(t)}
    | {("date", n) for n in DATE_ATTRIBUTES}
    | {("Record", n) for n in RECORD_METHODS}
)


def _contexts(shipped: Any) -> list[dict[str, Any]]:
    """The template contexts briefgen builds: every audience, tailored every way, with a theme."""
    theme = load_theme(THEME)
    person = Stakeholder("Ana Novak", "Adriatic Cloud", "cloud", "Slovenia", "ana@example.org", "s1")
    strategy = shipped.strategy
    focus = tuple(a.id for a in strategy.focus_areas[:2])
    region = strategy.regions[0].id
    contexts = []
    for audience in strategy.audiences:
        for options in (
            Options(audience),
            Options(audience, focus, region, "full", person),
            Options(audience, focus, region, "summary", person),
        ):
            contexts.append({"brief": tailor(strategy, options), "theme": theme})
    contexts.append(
        {"stakeholder": person, "title": "T", "audience": "A", "files": ["a.pdf"], "sender": None}
    )
    return contexts


def _reach(env: Any, roots: dict[str, Any]) -> tuple[set[tuple[str, str]], set[str]]:
    """Walk everything a template can reach through attributes, items and iteration; return the
    callables found (type, attribute) and the type names of every value."""
    calls: set[tuple[str, str]] = set()
    kinds: set[str] = set()
    seen: set[int] = set()
    todo = [freeze(value) for value in roots.values()]
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        kinds.add(type(obj).__name__)
        if isinstance(obj, str):
            continue  # its methods are in the allow-list; strings hold nothing further
        if isinstance(obj, tuple):
            todo.extend(obj)
        names = set(dir(obj)) | (set(obj) if isinstance(obj, Record) else set())
        for name in sorted(names):
            value = env.getattr(obj, name)
            if isinstance(value, Undefined):
                continue
            if callable(value):
                calls.add((type(obj).__name__, name))
            else:
                todo.append(value)
    return calls, kinds


def test_nothing_callable_outside_the_allow_list_is_reachable_from_any_template_context(shipped) -> None:
    env = environment(template_dirs())
    calls: set[tuple[str, str]] = set()
    kinds: set[str] = set()
    for context in _contexts(shipped):
        found, types = _reach(env, context)
        calls |= found
        kinds |= types
    assert calls - ALLOWED_CALLS == set()
    assert kinds <= {t.__name__ for t in PLAIN}, kinds
    # the walk really went through the brief: records of every level were seen
    assert {"Record", "tuple", "str", "date"} <= kinds


def test_a_frozen_record_is_read_only_and_hides_the_model_behind_it(shipped) -> None:
    identity = freeze(shipped.strategy.strategy)
    assert identity.title == shipped.strategy.strategy.title
    assert not hasattr(identity, "parse_raw") and not hasattr(identity, "model_dump")
    with pytest.raises(AttributeError):
        identity.title = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        freeze(object())


def _pickle_that_touches(marker: Path) -> str:
    """Pickle bytes that would create ``marker`` if anything unpickled them."""

    class Touch:
        def __reduce__(self) -> tuple[Any, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    return pickle.dumps(Touch(), protocol=0).decode("latin-1")


@pytest.mark.parametrize(
    "payload",
    [
        "brief.identity.parse_raw(PICKLE, content_type='application/pickle', allow_pickle=True)",
        "brief.identity.parse_file(SECRET)",
        "brief.audience.recommendations[0].parse_file(SECRET)",
        "brief.recommendations[0].rec.model_validate_json('{}')",
        "brief.identity.model_dump()",
        "brief.identity.model_copy(update={'title': 'x'})",
        "brief.identity.schema_json()",
        "brief.focus_areas[0].area.copy()",
        "theme.model_fields",
        "theme.css()",
        "theme.parse_file(SECRET)",
        "brief.stakeholder.line.__class__",
        "brief.identity.presented.replace(year=1)",
        "brief.identity.presented.fromtimestamp(0)",
        "brief.identity.keys.__self__",
        "brief.identity.get.__func__",
        "brief.title.__class__.__mro__",
        "lipsum.__globals__",
        "cycler.__init__.__globals__",
    ],
)
def test_a_template_cannot_call_a_library_method_or_read_a_file(
    tmp_path: Path, mini_copy: Path, payload: str
) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text('{"id": "leaked-secret-value"}', encoding="utf-8")
    marker = tmp_path / "pwned"
    expression = payload.replace("PICKLE", json.dumps(_pickle_that_touches(marker))).replace(
        "SECRET", json.dumps(str(secret))
    )
    folder = block_template(tmp_path / "tpl", f"<p>{{{{ {expression} }}}}</p>", block="cover")
    run = build(tmp_path, mini_copy, tmp_path / "out", "html", "--templates", folder, "--theme", THEME)
    assert_content_error(run, "business.html.j2:")
    assert not marker.exists()
    assert "leaked-secret-value" not in run.result.output


def test_the_record_read_methods_and_tojson_give_the_content_fields(tmp_path: Path, mini_copy: Path) -> None:
    body = "<p id='k'>{{ brief.identity.keys()|list|join(',') }}</p><p id='j'>{{ brief.identity|tojson }}</p>"
    folder = block_template(tmp_path / "tpl", body, block="colophon")
    run = build(tmp_path, mini_copy, tmp_path / "out", "html", "--templates", folder)
    assert run.code == 0, run.result.output
    html = (tmp_path / "out" / "business-brief.html").read_text(encoding="utf-8")
    assert "id,title,short_title" in html
    assert '"presented": "2024-03-14"' in html  # the date as ISO text
