"""The YAML loader: safe parsing, positions of every problem, text stays text, files merge."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from helpers import column_of, line_of

from briefgen.errors import Problem
from briefgen.loader import MAX_DEPTH, load, load_file


def load_text(tmp_path: Path, text: str | bytes, name: str = "content.yaml"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return load_file(path)


def only_problem(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


# --- errors carry file:line:col -------------------------------------------------------------


def test_duplicate_key_points_at_the_second_key_and_names_the_first_line(tmp_path):
    text = "title: First\nsummary: >-\n  Some words.\ntitle: Second\n"
    data, _, problems = load_text(tmp_path, text)
    problem = only_problem(problems)
    assert data is None
    assert (problem.file, problem.line, problem.column) == ("content.yaml", line_of(text, "title: Second"), 1)
    assert "duplicate key 'title'" in problem.message
    assert f"line {line_of(text, 'title: First')}" in problem.message
    assert str(problem).startswith(f"content.yaml:{problem.line}:1: ")


def test_duplicate_key_in_a_nested_mapping(tmp_path):
    text = "strategy:\n  id: one\n  title: A\n  id: two\n"
    _, _, problems = load_text(tmp_path, text)
    problem = only_problem(problems)
    assert (problem.line, problem.column) == (line_of(text, "id: two"), column_of(text, "id: two"))
    assert f"first defined at line {line_of(text, 'id: one')}" in problem.message


def test_python_tag_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "pwned"
    text = f"title: ok\nsummary: !!python/object/apply:os.system ['touch {marker}']\n"
    data, _, problems = load_text(tmp_path, text)
    problem = only_problem(problems)
    assert data is None
    assert not marker.exists()
    assert (problem.line, problem.column) == (2, column_of(text, "!!python"))
    assert "tags" in problem.message and "python/object/apply:os.system" in problem.message


@pytest.mark.parametrize(
    "value",
    ["!!python/name:os.system", "!custom value", "!!str 0755", "!!binary aGVsbG8="],
)
def test_every_explicit_tag_is_refused(tmp_path, value):
    text = f"id: x\nvalue: {value}\n"
    _, _, problems = load_text(tmp_path, text)
    problem = only_problem(problems)
    assert (problem.line, problem.column) == (2, len("value: ") + 1)
    assert "not allowed" in problem.message


def test_anchor_and_alias_are_refused_at_the_anchor(tmp_path):
    text = "a: &shared Some text\nb: *shared\n"
    data, _, problems = load_text(tmp_path, text)
    problem = only_problem(problems)
    assert data is None
    assert (problem.line, problem.column) == (1, column_of(text, "&shared"))
    assert "&shared" in problem.message


def test_alias_without_anchor_is_refused(tmp_path):
    # An alias to an undefined anchor is a YAML error before it is ours; either way it is refused.
    _, _, problems = load_text(tmp_path, "a: 1\nb: *nowhere\n")
    problem = only_problem(problems)
    assert problem.line == 2


def test_billion_laughs_is_refused_without_expansion(tmp_path):
    # Nine levels of nine-fold aliases: 9**9 (387 million) strings if anything expanded them.
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        refs = ",".join([f"*l{i - 1}"] * 9)
        lines.append(f"l{i}: &l{i} [{refs}]")
    text = "\n".join(lines) + "\n"
    data, positions, problems = load_text(tmp_path, text)
    problem = only_problem(problems)
    assert data is None
    assert (problem.line, problem.column) == (1, column_of(text, "&l0"))
    assert "anchors" in problem.message
    assert len(positions) < 20  # it stopped at the first anchor instead of walking the bomb


def test_invalid_utf8_reports_line_and_column_of_the_bad_byte(tmp_path):
    raw = b"id: ok\ntitle: Caf\xe9 society\n"
    data, _, problems = load_text(tmp_path, raw)
    problem = only_problem(problems)
    assert data is None
    assert (problem.line, problem.column) == (2, raw.split(b"\n")[1].index(b"\xe9") + 1)
    assert "UTF-8" in problem.message and "0xe9" in problem.message


def test_utf8_byte_order_mark_is_accepted(tmp_path):
    raw = b"\xef\xbb\xbftitle: Caf\xc3\xa9\nid: x\nid: y\n"
    data, _, problems = load_text(tmp_path, raw[: raw.index(b"id: y")])
    assert problems == []
    assert data == {"title": "Café", "id": "x"}
    # Positions are counted from after the mark: the duplicate sits at line 3, column 1.
    _, _, problems = load_text(tmp_path, raw)
    assert (only_problem(problems).line, only_problem(problems).column) == (3, 1)


def test_deep_nesting_is_refused_with_a_clear_message(tmp_path):
    text = "data: " + "[" * 200 + "]" * 200 + "\n"
    data, _, problems = load_text(tmp_path, text)
    problem = only_problem(problems)
    assert data is None
    assert problem.message == f"nesting deeper than {MAX_DEPTH} levels"
    # The root mapping is level 0 and each bracket one more: the refused node is bracket MAX_DEPTH + 1.
    assert (problem.line, problem.column) == (1, len("data: ") + MAX_DEPTH + 1)


def test_deep_block_nesting_is_refused(tmp_path):
    text = "".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "leaf\n"
    _, _, problems = load_text(tmp_path, text)
    assert "nesting deeper than" in only_problem(problems).message


def test_yaml_syntax_error_has_line_and_column(tmp_path):
    text = "id: x\ntitle: A\n summary: B\n"
    data, _, problems = load_text(tmp_path, text)
    problem = only_problem(problems)
    assert data is None
    assert (problem.line, problem.column) == (3, column_of(text, ": B"))
    assert problem.message.startswith("YAML syntax:")


def test_two_documents_in_one_file_are_refused(tmp_path):
    text = "id: x\n---\nid: y\n"
    _, _, problems = load_text(tmp_path, text)
    problem = only_problem(problems)
    assert problem.line == 3
    assert "one YAML document" in problem.message


def test_complex_keys_are_refused(tmp_path):
    _, _, problems = load_text(tmp_path, "? [a, b]\n: value\n")
    assert "keys must be plain text" in only_problem(problems).message


# --- YAML 1.1 surprises stay text ------------------------------------------------------------


def test_yaml_11_surprises_stay_exactly_the_text_written(tmp_path):
    text = (
        "country: No\n"
        "answer: yes\n"
        "switch: on\n"
        "mode: 0755\n"
        "amount: 1e3\n"
        "when: 2025-06-05\n"
        "ratio: 1:30\n"
        "count: 12\n"
        "flag: True\n"
        "items: [No, off, 010]\n"
    )
    data, _, problems = load_text(tmp_path, text)
    assert problems == []
    assert data == {
        "country": "No",
        "answer": "yes",
        "switch": "on",
        "mode": "0755",
        "amount": "1e3",
        "when": "2025-06-05",
        "ratio": "1:30",
        "count": "12",
        "flag": "True",
        "items": ["No", "off", "010"],
    }


def test_quoted_null_words_stay_text(tmp_path):
    data, _, problems = load_text(tmp_path, "a: 'null'\nb: \"~\"\nc: ''\n")
    assert problems == []
    assert data == {"a": "null", "b": "~", "c": ""}


NULLS_TEXT = "tilde: ~\nword: null\nshout: NULL\nempty:\nitems:\n  - ~\n  -\n"
NULLS_DATA = {"tilde": None, "word": None, "shout": None, "empty": None, "items": [None, None]}


def test_null_words_and_empty_values_are_none_with_the_pure_python_parser(tmp_path, monkeypatch):
    monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    data, _, problems = load_text(tmp_path, NULLS_TEXT)
    assert problems == []
    assert data == NULLS_DATA


def test_null_words_and_empty_values_are_none(tmp_path):
    data, _, problems = load_text(tmp_path, NULLS_TEXT)
    assert problems == []
    assert data == NULLS_DATA


def test_positions_point_at_keys_and_list_items(tmp_path):
    text = "strategy:\n  id: x\nobjectives:\n  - id: a\n    points:\n      - one\n      - two\n"
    _, positions, problems = load_text(tmp_path, text)
    assert problems == []
    assert positions[("strategy", "id")] == ("content.yaml", 2, 3)
    assert positions[("objectives", 0)] == ("content.yaml", 4, column_of(text, "id: a"))
    assert positions[("objectives", 0, "points", 1)] == ("content.yaml", 7, column_of(text, "two"))


# --- folders of files merge ------------------------------------------------------------------


def write_files(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_folder_of_files_merges_in_one_document(tmp_path):
    folder = write_files(
        tmp_path / "c",
        {
            "a.yaml": "strategy:\n  id: s\n",
            "b.yml": "objectives:\n  - id: o\n",
            "c.yaml": "audiences:\n  business:\n    label: B\n",
            "d.yaml": "audiences:\n  government:\n    label: G\n",
            "notes.txt": "not: yaml content\n",
        },
    )
    loaded = load(folder)
    assert loaded.problems == []
    assert loaded.data == {
        "strategy": {"id": "s"},
        "objectives": [{"id": "o"}],
        "audiences": {"business": {"label": "B"}, "government": {"label": "G"}},
    }
    assert [p.name for p in loaded.files] == ["a.yaml", "b.yml", "c.yaml", "d.yaml"]
    # Each node keeps the position in its own file.
    assert loaded.locate(("audiences", "government", "label")) == ("c/d.yaml", 3, 5)
    assert loaded.locate(("objectives", 0, "id")) == ("c/b.yml", 2, 5)


def test_same_top_level_key_in_two_files_names_both(tmp_path):
    second = "# comment\nfocus_areas: []\n\nstrategy:\n  id: other\n"
    folder = write_files(tmp_path / "c", {"a.yaml": "strategy:\n  id: s\n", "b.yaml": second})
    loaded = load(folder)
    problem = only_problem(loaded.problems)
    assert problem.file == "c/b.yaml"
    assert (problem.line, problem.column) == (line_of(second, "strategy:"), 1)
    assert problem.path == "strategy"
    assert "c/a.yaml" in problem.message
    assert loaded.data["strategy"] == {"id": "s"}


def test_same_audience_in_two_files_is_an_error(tmp_path):
    second = "audiences:\n  government:\n    label: G\n  business:\n    label: B2\n"
    folder = write_files(
        tmp_path / "c", {"a.yaml": "audiences:\n  business:\n    label: B1\n", "b.yaml": second}
    )
    loaded = load(folder)
    problem = only_problem(loaded.problems)
    assert problem.file == "c/b.yaml"
    assert problem.line == line_of(second, "business:")
    assert problem.path == "audiences.business"
    assert "c/a.yaml" in problem.message
    assert loaded.data["audiences"] == {"business": {"label": "B1"}, "government": {"label": "G"}}


def test_same_audience_in_two_files_points_at_the_key_column(tmp_path):
    second = "audiences:\n  business:\n    label: B2\n"
    folder = write_files(
        tmp_path / "c", {"a.yaml": "audiences:\n  business:\n    label: B1\n", "b.yaml": second}
    )
    problem = only_problem(load(folder).problems)
    assert (problem.line, problem.column) == (2, column_of(second, "business:"))


def test_every_broken_file_of_a_folder_is_reported(tmp_path):
    folder = write_files(
        tmp_path / "c",
        {"a.yaml": "a: 1\na: 2\n", "b.yaml": "b: &x 1\n", "c.yaml": "", "d.yaml": "- just\n- a list\n"},
    )
    problems = load(folder).problems
    assert [(p.file, p.line) for p in problems] == [
        ("c/a.yaml", 2),
        ("c/b.yaml", 1),
        ("c/c.yaml", 1),
        ("c/d.yaml", 1),
    ]
    assert "empty" in problems[2].message
    assert "mapping" in problems[3].message


def test_missing_source_and_empty_folder_are_problems(tmp_path):
    (tmp_path / "empty").mkdir()
    assert "no such file" in only_problem(load(tmp_path / "absent").problems).message
    assert "no .yaml files" in only_problem(load(tmp_path / "empty").problems).message
