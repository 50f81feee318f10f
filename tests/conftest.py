"""Shared fixtures: a Click runner, the shipped content, a mini fixture and copies to break."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from briefgen import limits
from briefgen.paths import builtin_content
from briefgen.validate import Content, validate

DATA = Path(__file__).parent / "data"
MINI = DATA / "mini"
GOLDEN = DATA / "golden"


@pytest.fixture(autouse=True)
def _work_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test runs in its own folder, so a default ``./output`` never lands in the repo."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    limits.reset()
    return tmp_path


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def shipped() -> Content:
    """The shipped strategy content, validated once per session."""
    return validate(builtin_content())


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    """A private copy of the shipped content at ``./content`` (relative to the test's cwd)."""
    target = tmp_path / "content"
    shutil.copytree(builtin_content(), target)
    return target


@pytest.fixture
def mini_copy(tmp_path: Path) -> Path:
    """A private copy of the mini fixture content at ``./mini``."""
    target = tmp_path / "mini"
    shutil.copytree(MINI, target)
    return target


def line_of(text: str, needle: str) -> int:
    """1-based line of the only occurrence of ``needle`` in ``text``."""
    assert text.count(needle) == 1, f"{needle!r} occurs {text.count(needle)} times"
    return text[: text.index(needle)].count("\n") + 1


def column_of(text: str, needle: str, offset: int = 0) -> int:
    """1-based column of the only occurrence of ``needle`` (plus ``offset`` characters)."""
    assert text.count(needle) == 1, f"{needle!r} occurs {text.count(needle)} times"
    start = text.index(needle) + offset
    return start - (text.rfind("\n", 0, start) + 1) + 1


def replace_once(path: Path, old: str, new: str) -> str:
    """Replace the single occurrence of ``old`` in ``path``; return the new text."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path.name}"
    text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return text


@pytest.fixture
def stakeholder_list(tmp_path: Path):
    """Write stakeholder rows (dicts; missing columns stay empty) as ``list.csv``; return its path."""
    import csv

    from briefgen.stakeholders import COLUMNS

    def write(rows: list[dict[str, str]], name: str = "list.csv") -> Path:
        path = tmp_path / name
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(COLUMNS))
            writer.writeheader()
            for row in rows:
                writer.writerow({key: row.get(key, "") for key in COLUMNS})
        return path

    return write
