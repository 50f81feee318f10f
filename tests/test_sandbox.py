"""User templates: what the sandbox refuses, and the limits that stop runaway templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from briefgen.errors import RenderError
from briefgen.log import collect
from briefgen.render import render
from briefgen.tailor import Options, tailor

EXTENDS = '{% extends "base.html.j2" %}\n'


@pytest.fixture
def brief(shipped):
    return tailor(shipped.strategy, Options("business"))


def user_template(tmp_path: Path, body: str, block: str = "colophon") -> Path:
    folder = tmp_path / "tpl"
    folder.mkdir(exist_ok=True)
    (folder / "business.html.j2").write_text(f"{EXTENDS}{{% block {block} %}}\n{body}\n{{% endblock %}}\n")
    return folder


def test_a_user_template_overrides_one_block_and_keeps_the_rest(tmp_path, brief):
    folder = user_template(tmp_path, '<p class="note">MARKER-42</p>')
    html = render(brief, templates=(folder,)).html
    assert "MARKER-42" in html
    assert brief.recommendations[0].rec.title in html


def test_builtin_prefix_lets_a_template_extend_the_one_it_replaces(tmp_path, brief):
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "business.html.j2").write_text(
        '{% extends "builtin/business.html.j2" %}{% block closing_title %}MARKER-CLOSING{% endblock %}'
    )
    html = render(brief, templates=(folder,)).html
    assert "MARKER-CLOSING" in html
    assert "Opportunities, funding and compliance" in html  # the built-in business template's own title


@pytest.mark.parametrize(
    "payload",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.system('touch PWNED') }}",
        "{{ lipsum.__globals__['os'].system('touch PWNED') }}",
        "{{ (''|attr('__class__')) }}",
        "{{ brief.__class__.__init__.__globals__ }}",
    ],
)
def test_injection_payloads_are_refused_and_never_run(tmp_path, brief, payload, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = user_template(tmp_path, payload)
    with pytest.raises(RenderError) as caught:
        render(brief, templates=(folder,))
    message = caught.value.message
    assert "refused by the template sandbox" in message or "undefined" in message
    assert "business.html.j2:" in message
    assert not (tmp_path / "PWNED").exists()


def test_a_runaway_loop_stops_with_a_clear_error(tmp_path, brief):
    folder = user_template(
        tmp_path, "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    )
    with pytest.raises(RenderError, match="longer than 1 s"):
        render(brief, templates=(folder,), time_limit=1)


@pytest.mark.parametrize("payload", ["{{ 'x' * 10**9 }}", "{{ [1, 2] * 10**8 }}", "{{ 9 ** 999999 }}"])
def test_memory_bombs_are_refused(tmp_path, brief, payload):
    folder = user_template(tmp_path, payload)
    with pytest.raises(RenderError, match="refused by the template sandbox"):
        render(brief, templates=(folder,))


def test_output_is_capped(tmp_path, brief):
    folder = user_template(tmp_path, "{% for i in range(100000) %}{{ 'y' * 999 }}{% endfor %}")
    with pytest.raises(RenderError, match="more than"):
        render(brief, templates=(folder,))


def test_includes_cannot_climb_out_of_the_template_folders(tmp_path, brief):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    folder = user_template(tmp_path, '{% include "../secret.txt" %}')
    with pytest.raises(RenderError, match="template not found"):
        render(brief, templates=(folder,))


def test_a_symlink_out_of_the_template_folder_is_not_followed(tmp_path, brief):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    folder = user_template(tmp_path, '{% include "leak.txt" %}')
    (folder / "leak.txt").symlink_to(secret)
    with collect() as warnings, pytest.raises(RenderError, match=r"template not found: leak\.txt") as caught:
        render(brief, templates=(folder,))
    assert warnings == ["template leak.txt points outside the template folders; not read"]
    assert "TOP-SECRET" not in caught.value.message


def test_an_undefined_variable_names_itself_and_its_place(tmp_path, brief):
    folder = user_template(tmp_path, "{{ no_such_thing }}")
    with pytest.raises(RenderError) as caught:
        render(brief, templates=(folder,))
    assert "no_such_thing" in caught.value.message
    assert "business.html.j2:" in caught.value.message
