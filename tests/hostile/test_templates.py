"""Hostile user templates (``--templates DIR``): sandbox escapes, runaway loops, memory bombs,
template errors that are not Jinja's, and includes or symbolic links that climb out of the
template folder. Nothing may run, nothing may be read from outside, no brief may be written, and
the error names the template file and line."""

from __future__ import annotations

import builtins
import os
import time
from pathlib import Path
from typing import Any

import pytest

from briefgen.errors import RenderError
from briefgen.render import render
from briefgen.tailor import Options, tailor
from briefgen.validate import validate

from .helpers import assert_content_error, block_template, build, copy_mini

#: Payloads that try to reach Python objects; each would create ``PWNED`` in the working folder.
INJECTIONS = {
    "mro-subclasses": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "cycler-globals": "{{ cycler.__init__.__globals__.os.system('touch PWNED') }}",
    "joiner-globals": "{{ joiner.__init__.__globals__.os.system('touch PWNED') }}",
    "lipsum-globals": "{{ lipsum.__globals__['os'].popen('touch PWNED').read() }}",
    "template-reference": (
        "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.system('touch PWNED') }}"
    ),
    "namespace-init": "{{ namespace.__init__.__globals__.os.system('touch PWNED') }}",
    "namespace-holding-cycler": (
        "{% set ns = namespace(c=cycler) %}{{ ns.c.__init__.__globals__.os.system('touch PWNED') }}"
    ),
    "attr-filter": "{{ (cycler|attr('__init__')|attr('__globals__'))['os'].system('touch PWNED') }}",
    "format-attribute": "{{ '{0.__class__.__init__.__globals__}'.format(brief) }}",
    "format-via-attr": "{% set f = '{0.__class__}'|attr('format') %}{{ f(brief) }}",
    "request-config": "{{ config.__class__.__init__.__globals__['os'].system('touch PWNED') }}",
    "brief-globals": "{{ brief.__init__.__globals__['os'].system('touch PWNED') }}",
    "getattr-dunder": "{{ brief['__class__']['__init__']['__globals__'] }}",
}

#: Expressions that would build gigabytes if anything evaluated them naively.
MEMORY_BOMBS = {
    "string-repeat": "{{ 'a' * 10**10 }}",
    "list-repeat": "{{ [0] * 10**9 }}",
    "power": "{{ 2 ** (10**10) }}",
    "ljust": "{{ 'a'.ljust(10**10) }}",
    "center-filter": "{{ 'a'|center(10**10) }}",
    "indent-filter": "{{ 'a'|indent(10**10) }}",
    "format-width": "{{ '{:>10000000000}'.format(1) }}",
    "format-nested-width": "{{ '{:>{w}}'.format(1, w=10**10) }}",
    "percent-width": "{{ '%10000000000d' % 1 }}",
    "percent-star": "{{ '%*d'|format(10**10, 1) }}",
    "tojson-indent": "{{ {'a': [1]}|tojson(indent=10**10) }}",
    "batch-fill": "{{ [1]|batch(10**10, 0)|list }}",
    "slice": "{{ [1]|slice(10**10)|list }}",
    "model-dump-indent": "{{ brief.audience.model_dump_json(indent=10**10) }}",
}


def brief_of(content: Path) -> Any:
    return tailor(validate(content).strategy, Options("business"))


def run_payload(tmp_path: Path, content: Path, payload: str, formats: str = "html") -> Any:
    folder = block_template(tmp_path / "tpl", payload)
    return build(tmp_path, content, tmp_path / "out", formats, "--templates", folder)


def template_line(folder: Path, needle: str) -> str:
    """``path/business.html.j2:N`` of the line holding ``needle``."""
    path = folder / "business.html.j2"
    lines = path.read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines, 1) if needle in line)
    return f"{path}:{number}"


@pytest.mark.parametrize("payload", list(INJECTIONS.values()), ids=list(INJECTIONS))
def test_sandbox_escapes_are_refused_and_nothing_runs(tmp_path: Path, mini_copy: Path, payload: str) -> None:
    run = run_payload(tmp_path, mini_copy, payload)
    place = template_line(tmp_path / "tpl", payload[:20])
    message = assert_content_error(run, place)
    assert "refused by the template sandbox" in message or "undefined" in message, message
    assert "audience 'business'" in message
    assert not (tmp_path / "PWNED").exists()
    assert not (tmp_path / "out").exists()


def test_a_namespace_attribute_named_like_a_dunder_is_just_data(tmp_path: Path, mini_copy: Path) -> None:
    # {% set ns.__class__ = ... %} stores a value in the namespace; it cannot reach the real attribute.
    payload = (
        "{% set ns = namespace() %}{% set ns.__class__ = cycler %}<p class='note'>{{ ns.__class__ }}</p>"
    )
    run = run_payload(tmp_path, mini_copy, payload)
    message = assert_content_error(run, template_line(tmp_path / "tpl", "namespace"))
    assert "refused by the template sandbox" in message and "__class__" in message


@pytest.mark.parametrize("payload", list(MEMORY_BOMBS.values()), ids=list(MEMORY_BOMBS))
def test_memory_bombs_are_refused_before_building_anything(
    tmp_path: Path, mini_copy: Path, payload: str
) -> None:
    started = time.monotonic()
    run = run_payload(tmp_path, mini_copy, payload)
    elapsed = time.monotonic() - started
    message = assert_content_error(run, template_line(tmp_path / "tpl", payload[:12]))
    assert "refused by the template sandbox" in message, message
    assert elapsed < 10, f"took {elapsed:.1f} s: something was built before the refusal"


@pytest.mark.parametrize(
    ("payload", "shown"),
    [
        ("{{ '{:,}'.format(2500000) }}", "2,500,000"),
        ("{{ '%05d' % 42 }}", "00042"),
        ("{{ '%-6s|'|format('ab') }}", "ab    |"),
        ("{{ 'ab'.ljust(4, '.') }}", "ab.."),
        ("{{ 'x'|center(5) }}", "  x  "),
        ("{{ 2**10**10 }}", str((2**10) ** 10)),  # Jinja's ** is left-associative: a small number
        ("{{ ('a' * 999999)|length }}", "999999"),
    ],
)
def test_ordinary_formatting_and_sizes_still_work(
    tmp_path: Path, mini_copy: Path, payload: str, shown: str
) -> None:
    run = run_payload(tmp_path, mini_copy, f'<p class="note">[{payload}]</p>')
    assert run.code == 0, run.result.output
    assert f"[{shown}]" in (tmp_path / "out" / "business-brief.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        ("{% for i in range(10**9) %}{{ i }}{% endfor %}", "refused by the template sandbox"),
        ("{% for i in range(200000) %}{% endfor %}", "OverflowError: Range too big"),
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
        ("{{ (10**99) ** 99 }}", "ValueError: Exceeds the limit"),
        ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "RecursionError"),
        ("{% include 'builtin/reference.docx' %}", "UnicodeDecodeError"),
        ("{{ brief.title + 1 }}", "TypeError"),
    ],
)
def test_template_failures_name_the_template_line_not_an_internal_error(
    tmp_path: Path, mini_copy: Path, payload: str, kind: str
) -> None:
    run = run_payload(tmp_path, mini_copy, payload)
    assert_content_error(run, template_line(tmp_path / "tpl", payload[:12]), kind)


def test_a_runaway_loop_stops_at_the_time_limit(tmp_path: Path, mini_copy: Path) -> None:
    folder = block_template(
        tmp_path / "tpl", "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    )
    started = time.monotonic()
    with pytest.raises(RenderError, match=r"business\.html\.j2:\d+: .*longer than 0\.5 s") as caught:
        render(brief_of(mini_copy), templates=(folder,), time_limit=0.5)
    assert time.monotonic() - started < 10
    assert str(folder) in caught.value.message


def test_a_runaway_recursion_stops_at_the_time_limit_or_the_stack(tmp_path: Path, mini_copy: Path) -> None:
    body = (
        "{% macro spin(n) %}{% for i in range(100000) %}{% endfor %}{{ spin(n) }}{% endmacro %}{{ spin(1) }}"
    )
    folder = block_template(tmp_path / "tpl", body)
    started = time.monotonic()
    with pytest.raises(RenderError, match=r"business\.html\.j2:\d+: .*(longer than 0\.5 s|RecursionError)"):
        render(brief_of(mini_copy), templates=(folder,), time_limit=0.5)
    assert time.monotonic() - started < 15


def test_a_flood_of_output_is_capped(tmp_path: Path, mini_copy: Path) -> None:
    run = run_payload(tmp_path, mini_copy, "{% for i in range(100000) %}{{ 'y' * 999 }}{% endfor %}")
    assert_content_error(run, "the template wrote more than 20,000,000 characters")


# ----- reading outside the template folders ----------------------------------------------------


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.j2"
    path.write_text("TEMPLATE-SECRET-91c2", encoding="utf-8")
    return path


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every path ``open()`` is called with while the test runs."""
    seen: list[str] = []
    real_open = builtins.open

    def spy(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, str | os.PathLike):
            seen.append(os.path.realpath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    return seen


@pytest.mark.parametrize(
    "statement",
    [
        "{% include '../secret.j2' %}",
        "{% include '../../etc/passwd' %}",
        "{% include '/etc/passwd' %}",
        "{% include SECRET %}",
        "{% include 'builtin/../../secret.j2' %}",
        "{% import '../secret.j2' as leak %}",
        "{% from '../secret.j2' import leak %}",
        "{% include ['../secret.j2', '/etc/passwd'] %}",
    ],
)
def test_includes_that_climb_out_are_not_found(
    tmp_path: Path, mini_copy: Path, secret: Path, opened: list[str], statement: str
) -> None:
    run = run_payload(tmp_path, mini_copy, statement.replace("SECRET", repr(str(secret))))
    message = assert_content_error(run, template_line(tmp_path / "tpl", statement[:10]), "template not found")
    assert "TEMPLATE-SECRET" not in run.result.output
    assert str(secret) not in opened and "/etc/passwd" not in opened
    assert "TEMPLATE-SECRET" not in message


def test_a_symlink_out_of_the_template_folder_is_refused_unread(
    tmp_path: Path, mini_copy: Path, secret: Path, opened: list[str]
) -> None:
    folder = block_template(tmp_path / "tpl", "{% include 'leak.j2' %}")
    (folder / "leak.j2").symlink_to(secret)
    run = build(tmp_path, mini_copy, tmp_path / "out", "html", "--templates", folder)
    assert_content_error(run, template_line(folder, "leak.j2"), "template not found: leak.j2")
    assert "warning: template leak.j2 points outside the template folders; not read" in run.stderr
    assert str(secret) not in opened
    assert "TEMPLATE-SECRET" not in run.result.output


def test_a_symlinked_folder_out_of_the_template_folder_is_refused(
    tmp_path: Path, mini_copy: Path, secret: Path, opened: list[str]
) -> None:
    folder = block_template(tmp_path / "tpl", "{% include 'shared/secret.j2' %}")
    (folder / "shared").symlink_to(tmp_path)
    run = build(tmp_path, mini_copy, tmp_path / "out", "html", "--templates", folder)
    assert_content_error(run, "template not found: shared/secret.j2")
    assert str(secret) not in opened


def test_the_audience_template_itself_may_not_be_a_symlink_out(
    tmp_path: Path, mini_copy: Path, secret: Path
) -> None:
    secret.write_text("<p>TEMPLATE-SECRET-91c2</p>", encoding="utf-8")
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "business.html.j2").symlink_to(secret)
    run = build(tmp_path, mini_copy, tmp_path / "out", "html", "--templates", folder)
    assert_content_error(run, "no template for audience 'business'")
    assert "business.html.j2 points outside the template folders" in run.stderr


def test_an_include_inside_the_folder_still_works(tmp_path: Path, mini_copy: Path) -> None:
    folder = block_template(tmp_path / "tpl", "{% include 'parts/note.j2' %}")
    (folder / "parts").mkdir()
    (folder / "parts" / "note.j2").write_text('<p class="note">INCLUDED-OK</p>', encoding="utf-8")
    run = build(tmp_path, mini_copy, tmp_path / "out", "html", "--templates", folder)
    assert run.code == 0, run.result.output
    assert "INCLUDED-OK" in (tmp_path / "out" / "business-brief.html").read_text(encoding="utf-8")


def test_two_template_folders_may_include_from_each_other(tmp_path: Path) -> None:
    # The second folder is a template folder too: including from it is allowed, unlike a symlink out.
    content = copy_mini(tmp_path / "content")
    first = block_template(tmp_path / "first", "{% include 'shared.j2' %}")
    second = tmp_path / "second"
    second.mkdir()
    (second / "shared.j2").write_text('<p class="note">FROM-SECOND</p>', encoding="utf-8")
    out = tmp_path / "out"
    run = build(tmp_path, content, out, "html", "--templates", first, "--templates", second)
    assert run.code == 0, run.result.output
    assert "FROM-SECOND" in (out / "business-brief.html").read_text(encoding="utf-8")
