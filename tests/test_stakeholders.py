"""Stakeholder lists: the shipped example validates; bad rows are named by line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from briefgen.errors import ContentError
from briefgen.paths import builtin_content
from briefgen.stakeholders import load

HEADER = "id,name,organisation,audience,email,country,region,sector,focus,formats\n"


def test_the_shipped_example_list_is_valid_and_varied(shipped):
    rows = load(builtin_content() / "stakeholders.example.csv", shipped.strategy)
    assert len(rows) >= 25
    assert {r.audience for r in rows} == {"business", "government"}
    assert len({r.region for r in rows}) >= 5
    assert len({r.id for r in rows}) == len(rows)
    assert all(r.email and r.email.split("@")[1].split(".")[-1] in ("example", "gov") for r in rows)
    first = rows[0]
    assert (first.list_line, first.focus, first.formats) == (
        2,
        ("infrastructure", "cybersecurity"),
        ("pdf", "docx"),
    )


def test_every_bad_row_is_reported_with_its_line(shipped, tmp_path: Path):
    path = tmp_path / "list.csv"
    path.write_text(
        HEADER
        + "a1,Ann,Org,business,ann@x.example,,,,,\n"
        + "a1,Bob,Org,pirates,bob@x.example,,,,,\n"
        + "a3,Cy,Org,government,not-an-email,,atlantis,,no-such-area,pdf;odt\n"
        + "a4,,Org,business,,,,,,\n"
    )
    with pytest.raises(ContentError) as caught:
        load(path, shipped.strategy)
    got = {(p.line, p.path, p.message.split(" (")[0]) for p in caught.value.problems}
    assert got == {
        (3, "id", "duplicate id 'a1'"),
        (3, "audience", "unknown audience 'pirates'"),
        (4, "email", "'not-an-email' is not an e-mail address"),
        (4, "region", "unknown region 'atlantis'"),
        (4, "focus", "unknown focus area 'no-such-area'"),
        (4, "formats", "unknown format 'odt'"),
        (5, "name", "required value is missing"),
    }
    assert "list.csv:3:4: audience: unknown audience 'pirates' (known: business, government)" in str(
        caught.value
    )


def test_unknown_and_missing_columns(shipped, tmp_path: Path):
    path = tmp_path / "list.csv"
    path.write_text("id,name,colour\nx,Y,blue\n")
    with pytest.raises(ContentError) as caught:
        load(path, shipped.strategy)
    messages = {(p.line, p.column, p.path, p.message) for p in caught.value.problems}
    assert (1, 3, "colour", "unknown column") in messages
    assert (1, 1, "audience", "required column is missing") in messages


def test_yaml_lists_have_line_numbers_too(shipped, tmp_path: Path):
    path = tmp_path / "list.yaml"
    path.write_text(
        "stakeholders:\n"
        "  - id: y1\n    name: Ann\n    audience: business\n    focus: [cybersecurity]\n"
        "  - id: y2\n    name: Bob\n    audience: business\n    focus: [nope]\n"
    )
    with pytest.raises(ContentError) as caught:
        load(path, shipped.strategy)
    (problem,) = caught.value.problems
    assert (problem.line, problem.column, problem.path) == (9, 13, "focus")
    path.write_text(
        "stakeholders:\n  - id: y1\n    name: Ann\n    audience: business\n    focus: [cybersecurity]\n"
    )
    (row,) = load(path, shipped.strategy)
    assert row.focus == ("cybersecurity",)


def test_a_list_far_over_the_limit_is_refused(shipped, tmp_path: Path):
    path = tmp_path / "big.csv"
    path.write_text(HEADER + "".join(f"s{i},N,O,business,,,,,,\n" for i in range(30)))
    with pytest.raises(ContentError, match="30 stakeholders; the limit is 20"):
        load(path, shipped.strategy, max_rows=20)
