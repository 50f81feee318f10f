"""Hostile input to the authoring checks: huge and odd language tags, dates that are not dates,
a 10,000-line folded scalar, Markdown built to be slow, thousands of broken names among thousands
of known ones. Each is refused (or accepted) quickly, with one short line per problem naming
file:line:col and the field, exit code 1 and no traceback."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from briefgen.errors import ContentError
from briefgen.loader import FOLDED_LIST, load_file
from briefgen.model import inline_problem, language_tag
from briefgen.stakeholders import load

from .helpers import Run, cli

PROBLEM = re.compile(r"^mini/[a-z]+\.yaml:\d+:\d+: \S+: \S.*$")
PRESENTED = "  presented: 2024-03-14\n"
#: The longest line a message may be: it quotes at most 60 characters of what was written.
SHORT = 400


def refused(run: Run) -> list[str]:
    """Exit code 1, no traceback, one short well-formed line per problem, nothing written."""
    output = run.result.output
    assert run.code == 1, output
    assert isinstance(run.result.exception, SystemExit), run.result.exception
    assert "Traceback" not in output and "internal error" not in output, output
    first, *lines = run.stderr.splitlines()
    assert first.startswith("Error: ") and first.endswith(":"), run.stderr
    assert lines and all(PROBLEM.match(line) for line in lines), run.stderr
    assert all(len(line) < SHORT for line in lines), max(lines, key=len)
    assert run.changed == []
    return lines


def set_strategy(mini: Path, text: str) -> str:
    path = mini / "strategy.yaml"
    body = path.read_text(encoding="utf-8")
    assert body.count(PRESENTED) == 1
    body = body.replace(PRESENTED, text)
    path.write_text(body, encoding="utf-8")
    return body


# ----- language tags ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "x" * 10_000,
        "en-" + "GB-" * 3_000 + "GB",
        '"en-GB\\u200b"',  # an invisible character after a good tag
        '"\\uff45\\uff4e"',  # fullwidth "en"
        '"e\\u0301n"',  # a combining accent
        "en--GB",
        "-en",
        "en-",
        "EN_gb_",
        "'12'",
        "i-klingon",
        "en-US-u-ca-gregory",
        "zh-Hant-TW-x-private",
        "qaa",
        "art-lojban",
        "[en, fr]",
        "{en: GB}",
        "''",
    ],
)
def test_odd_language_tags_are_refused_on_one_short_line(tmp_path: Path, mini_copy: Path, written: str):
    text = set_strategy(mini_copy, f"{PRESENTED}  language: {written}\n")
    started = time.monotonic()
    (line,) = refused(cli(tmp_path, "validate", mini_copy))
    assert time.monotonic() - started < 5
    number = text[: text.index("  language:")].count("\n") + 1
    assert line.startswith(f"mini/strategy.yaml:{number}:3: strategy.language: ")
    assert "BCP 47" in line or "valid string" in line or "did you mean" in line, line


def test_a_huge_tag_is_not_parsed_or_quoted_whole():
    with pytest.raises(ValueError) as caught:
        language_tag("en-" * 1_000_000)
    assert len(str(caught.value)) < SHORT
    assert "3,000,000 characters" in str(caught.value)


# ----- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "0000-00-00",
        "0000-01-01",
        "2025-13-01",
        "2025-00-10",
        "+2025-06-05",
        "2025-06-05Z",
        "2025-06-05 10:00",
        "2025-06-05T00:00:00+00:00",
        "10000-01-01",
        "1e10",
        "-1",
        "0x10",
        "'2025\u201006\u201005'",  # Unicode hyphens
        "'\uff12\uff10\uff12\uff15-06-05'",  # fullwidth digits
        "'\u0662\u0660\u0662\u0665-\u0660\u0666-\u0660\u0665'",  # Arabic-Indic digits
        "9" * 10_000,
        "2025-W23-4",
        "2025-156",
        "[2025, 6, 5]",
        "{year: 2025}",
        "''",
        "~",
        "yes",
    ],
)
def test_dates_that_are_not_yyyy_mm_dd_are_refused_on_one_short_line(
    tmp_path: Path, mini_copy: Path, written: str
):
    text = set_strategy(mini_copy, f"  presented: {written}\n")
    (line,) = refused(cli(tmp_path, "validate", mini_copy))
    number = text[: text.index("  presented:")].count("\n") + 1
    assert line.startswith(f"mini/strategy.yaml:{number}:3: strategy.presented: ")
    assert line.endswith("use YYYY-MM-DD") or "use YYYY-MM-DD (" in line, line


@pytest.mark.parametrize("written", ["1970-01-01", "9999-12-31", "'2025-06-05'", "|\n    2025-06-05"])
def test_real_dates_in_any_yaml_style_are_dates(tmp_path: Path, mini_copy: Path, written: str):
    set_strategy(mini_copy, f"  presented: {written}\n")
    run = cli(tmp_path, "validate", mini_copy)
    assert run.code == 0, run.result.output


# ----- folded text --------------------------------------------------------------------------------


def folded_overview(lines: list[str]) -> str:
    return "  overview: >-\n" + "".join(f"    {line}\n" for line in lines)


def test_a_10000_line_folded_scalar_is_checked_in_linear_time(tmp_path: Path, mini_copy: Path):
    lines = [f"word {i} of a very long overview" for i in range(10_000)]
    lines[9_000] = "- the one list line"
    body = set_strategy(mini_copy, PRESENTED + folded_overview(lines))
    path = mini_copy / "strategy.yaml"
    old = body[body.index("  overview: >-\n    A short plan") :].split("\n\n", 1)[0] + "\n"
    path.write_text(body.replace(old, ""), encoding="utf-8")  # the original overview goes
    text = path.read_text(encoding="utf-8")
    started = time.monotonic()
    problems = refused(cli(tmp_path, "validate", mini_copy))
    assert time.monotonic() - started < 10
    number = text[: text.index("- the one list line")].count("\n") + 1
    assert f"mini/strategy.yaml:{number}:5: strategy.overview: {FOLDED_LIST}" in problems
    assert any("at most 20000 characters" in line for line in problems)  # and the model's problem too
    assert len(problems) == 2


def test_10000_list_lines_folded_together_are_one_problem(tmp_path: Path):
    path = tmp_path / "folded.yaml"
    path.write_text("text: >\n" + "".join(f"  - item {i}\n" for i in range(10_000)), encoding="utf-8")
    started = time.monotonic()
    data, _, problems = load_file(path)
    assert time.monotonic() - started < 5
    assert [(p.line, p.column, p.path, p.message) for p in problems] == [(3, 3, "text", FOLDED_LIST)]
    assert data["text"].startswith("- item 0 - item 1 - item 2")


@pytest.mark.parametrize(
    "text",
    [
        "key: >\n\n\n",  # nothing but blank lines
        "key: >-\n",  # empty at the end of the file
        "key: >2\n     - deep\n    - joined\n",  # more-indented first line, explicit indentation
        "key: >\n  a\n\t- tab\n",  # a tab cannot indent: the YAML is refused, not a crash
        "key: >\n  a\r\n  - crlf\r\n",
        "key: >\n  a\u2028  - ls\n",
        "- >\n  a\n  - b\n- >\n  c\n  * d\n",
        ">\n a\n - top level\n",
    ],
)
def test_odd_folded_scalars_load_or_are_refused_without_a_crash(tmp_path: Path, text: str):
    path = tmp_path / "odd.yaml"
    path.write_text(text, encoding="utf-8", newline="")
    data, _, problems = load_file(path)
    for problem in problems:
        assert problem.line >= 1 and problem.column >= 1 and "\n" not in problem.message
        if problem.message == FOLDED_LIST:
            assert data is not None


# ----- inline Markdown built to be slow ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "> " * 10_000 + "x",
        "- " * 10_000 + "x",
        "- a\n" * 5_000,
        "\n\n".join(["p"] * 5_000),
        "a\n" + "  " * 5_000 + "- deep",
        "[" * 20_000,
        "*" * 20_000,
        "`" * 20_000,
        "1. " * 6_000,
        "a\n" + "=" * 19_000,
    ],
)
def test_inline_checks_stay_quick_and_short(text: str):
    started = time.monotonic()
    problem = inline_problem(text)
    assert time.monotonic() - started < 2
    assert problem is None or (len(problem) < SHORT and "\n" not in problem)


def test_a_long_list_in_an_inline_field_is_one_problem(tmp_path: Path, mini_copy: Path):
    path = mini_copy / "business.yaml"
    body = path.read_text(encoding="utf-8")
    old = "        summary: Use the hourly berth data in your own tools.\n"
    items = "".join(f"          - use {i}\n" for i in range(1_500))  # within the 20,000 characters
    path.write_text(body.replace(old, f"        summary: |\n          Uses:\n{items}"), encoding="utf-8")
    (line,) = refused(cli(tmp_path, "validate", mini_copy))
    assert "recommendations[0].summary: shown inline: a list is not allowed here ('- use 0'" in line


# ----- thousands of broken names among thousands of known ones -------------------------------------


def test_many_broken_references_among_many_ids_are_reported_quickly(tmp_path: Path, mini_copy: Path):
    regions = "".join(f"  - id: quay-{i}\n    name: Quay {i}\n    summary: A quay.\n" for i in range(3_000))
    refs = "".join(f"      - quay-{i}x\n" for i in range(3_000))
    path = mini_copy / "strategy.yaml"
    body = path.read_text(encoding="utf-8")
    body = body.replace("\nregions:\n", f"\nregions:\n{regions}")
    body = body.replace("    regions:\n      - north-quay\n", f"    regions:\n{refs}")
    path.write_text(body, encoding="utf-8")
    started = time.monotonic()
    problems = refused(cli(tmp_path, "validate", mini_copy))
    assert time.monotonic() - started < 30
    assert len(problems) == 3_000
    assert (
        "unknown region 'quay-0x'; did you mean 'quay-0'? (known: north-quay, quay-0, quay-1," in problems[0]
    )
    assert problems[0].endswith("and 2,986 more)")


def test_a_list_of_thousands_of_unknown_names_is_checked_quickly(shipped, tmp_path: Path):
    path = tmp_path / "list.csv"
    rows = "".join(f"s{i},N,busines,infrastructur,fr_FR\n" for i in range(10_000))
    path.write_text("id,name,audience,focus,language\n" + rows, encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(ContentError) as caught:
        load(path, shipped.strategy)
    assert time.monotonic() - started < 30
    problems = caught.value.problems
    assert len(problems) == 30_000
    assert all(len(str(p)) < SHORT for p in problems)
    first = [str(p) for p in problems[:3]]
    assert first[0].startswith("list.csv:2:3: audience: unknown audience 'busines'; did you mean 'business'?")
    assert first[1].startswith("list.csv:2:4: focus: unknown focus area 'infrastructur'; did you mean")
    assert (
        first[2]
        == "list.csv:2:5: language: 'fr_FR' is not a language tag: did you mean 'fr-FR'? (use '-', not '_')"
    )


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("x" * 1_001, "1,001 characters; at most 1,000"),
        ('"fr\nBE"', "line break U+000A is not allowed"),
        ("fr\x00", "control character U+0000 is not allowed"),
        ("\uff46\uff52", "is not a language tag"),
        ("fr-" * 300, "is not a language tag (900 characters)"),
    ],
)
def test_a_hostile_language_cell_is_refused_at_its_cell(shipped, tmp_path: Path, cell: str, message: str):
    path = tmp_path / "list.csv"
    path.write_text(f"id,name,audience,language\na1,Ann,business,{cell}\n", encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        load(path, shipped.strategy)
    (problem,) = caught.value.problems
    assert (problem.line, problem.column, problem.path) == (2, 4, "language")
    assert message in problem.message and len(str(problem)) < SHORT


def test_a_template_folder_with_a_line_break_in_its_name_stays_on_one_line(tmp_path: Path, mini_copy: Path):
    body = (mini_copy / "business.yaml").read_text(encoding="utf-8")
    (mini_copy / "business.yaml").write_text(body.replace("  business:\n", "  firms:\n"), encoding="utf-8")
    folder = tmp_path / "look\nBcc: x"
    folder.mkdir()
    (line,) = refused(cli(tmp_path, "validate", mini_copy, "--templates", folder))
    assert "no template firms.html.j2 in 'look\\nBcc: x', the built-in templates;" in line
