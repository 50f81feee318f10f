"""Shared fixtures: a Click runner, the shipped content and its briefs, a mini fixture, copies to break.

Plain helpers and constants live in helpers.py (``from helpers import ...``), not here.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import EPOCH, MINI

from briefgen import limits
from briefgen.build import BuildRequest, build
from briefgen.paths import builtin_content
from briefgen.validate import Content, validate


@pytest.fixture(autouse=True)
def _work_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test runs in its own folder, so a default ``./output`` never lands in the repo."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.delenv("BRIEFGEN_SCHEDULER", raising=False)
    limits.reset()
    return tmp_path


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def shipped() -> Content:
    """The shipped strategy content, validated once per session."""
    return validate(builtin_content())


@pytest.fixture(scope="session")
def shipped_briefs(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., dict[str, Path]]:
    """Build the shipped content's audiences in the formats asked for, each format once per session.

    ``shipped_briefs("pdf", "html")`` returns ``{"business.pdf": path, ...}`` for those formats. A
    format already built for an earlier caller is reused, so however the modules that ask are ordered
    or selected, no brief is built twice. Builds use ``SOURCE_DATE_EPOCH=EPOCH`` and must not warn.
    """
    made: dict[str, Path] = {}  # "business.pdf" -> path, for every format built so far
    built_formats: set[str] = set()

    def briefs(*formats: str) -> dict[str, Path]:
        missing = tuple(f for f in formats if f not in built_formats)
        if missing:
            out = tmp_path_factory.mktemp("shipped-" + "-".join(missing))
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
                result = build(BuildRequest(content=builtin_content(), out=out, formats=missing))
            assert not result.warnings, result.warnings
            made.update({f"{r.audience}.{r.format}": out / r.path for r in result.files})
            built_formats.update(missing)
        return {key: path for key, path in made.items() if key.rsplit(".", 1)[1] in formats}

    return briefs


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


@pytest.fixture
def smtp(tmp_path: Path):
    """Start real SMTP servers on 127.0.0.1 for the test (``smtp(handler, mode=..., auth=...)``,
    see ``smtp_server.py``); every one is stopped after, within a bound."""
    from smtp_server import Servers

    servers = Servers(tmp_path / "smtp-ca")
    try:
        yield servers.start
    finally:
        servers.stop_all()


@pytest.fixture(scope="session")
def mail_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One html batch of the send tests' four stakeholders, built once for the session."""
    from smtp_server import build_batch, write_list

    folder = tmp_path_factory.mktemp("mail-batch")
    return build_batch(write_list(folder / "list.csv"), folder / "out")


@pytest.fixture(scope="session")
def dask_in_process():
    """The address of an in-process Dask LocalCluster on 127.0.0.1 (two workers of one thread)."""
    from dask_cluster import in_process

    with in_process() as address:
        yield address
