"""One opener for every input path: FIFOs, devices, links out and huge files never hang or leak a build.

Each case runs briefgen in a child process with a time bound, so a regression that blocks on a
FIFO fails the test instead of hanging the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from briefgen import opener
from briefgen.paths import builtin_templates

from .helpers import plant

TIMEOUT = 90


def briefgen(cwd: Path, *args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``briefgen ARGS`` in a child process (bounded in time) and return what it printed."""
    return subprocess.run(
        [sys.executable, "-m", "briefgen.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, **(env or {})},
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess, code: int, *needles: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])


def templates_with(folder: Path) -> Path:
    """A template folder holding only a fonts/ and css/ subfolder to plant things in."""
    (folder / "fonts").mkdir(parents=True)
    (folder / "css").mkdir()
    return folder


def test_a_fifo_font_a_linked_font_and_a_broken_font_are_not_opened(tmp_path: Path, mini_copy: Path) -> None:
    folder = templates_with(tmp_path / "tpl")
    os.mkfifo(folder / "fonts" / "Fifo.ttf")
    outside_fifo = tmp_path / "outside.ttf"
    os.mkfifo(outside_fifo)  # opening it would block: the link must not be followed
    (folder / "fonts" / "Linked.ttf").symlink_to(outside_fifo)
    (folder / "fonts" / "Broken.ttf").write_bytes(b"not a font at all")
    started = time.monotonic()
    result = briefgen(tmp_path, "build", "--content", mini_copy, "--audience", "business",
                      "--format", "pdf", "--templates", folder, "--out", tmp_path / "out")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < TIMEOUT
    assert "Fifo.ttf: not a regular file (a FIFO)" in result.stderr
    assert "Linked.ttf: lies outside" in result.stderr
    assert "Broken.ttf cannot be read" in result.stderr
    assert (tmp_path / "out" / "business-brief.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("name", ["business.html.j2", "css/brief.css"])
def test_a_huge_sparse_template_or_stylesheet_is_refused_unread(
    tmp_path: Path, mini_copy: Path, name: str
) -> None:
    folder = templates_with(tmp_path / "tpl")
    with (folder / name).open("wb") as handle:
        handle.truncate(512 * 1024 * 1024)
    result = briefgen(tmp_path, "build", "--content", mini_copy, "--audience", "business",
                      "--format", "html", "--templates", folder, "--out", tmp_path / "out")  # fmt: skip
    assert "over the limit" in result.stderr, result.stderr
    if name.endswith(".j2"):
        one_line_error(result, 1, "business")
    else:
        assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", ["business.html.j2", "css/brief.css", "macros.html.j2"])
def test_a_fifo_template_or_stylesheet_does_not_hang_the_build(
    tmp_path: Path, mini_copy: Path, name: str
) -> None:
    folder = templates_with(tmp_path / "tpl")
    os.mkfifo(folder / name)
    result = briefgen(tmp_path, "build", "--content", mini_copy, "--audience", "business",
                      "--format", "html,pdf", "--templates", folder, "--out", tmp_path / "out")  # fmt: skip
    assert "Traceback" not in result.stderr
    assert "not a regular file (a FIFO)" in result.stderr or "is not a regular file" in result.stderr


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "link-out"])
def test_a_content_folder_entry_that_is_not_its_own_regular_file_is_a_placed_problem(
    tmp_path: Path, mini_copy: Path, kind: str
) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("strategy: {title: leaked-secret}\n", encoding="utf-8")
    plant(mini_copy / "planted.yaml", kind, secret)
    result = briefgen(tmp_path, "validate", mini_copy)
    assert result.returncode == 1, result.stderr
    assert "planted.yaml:1:1:" in result.stderr and "leaked-secret" not in result.stderr


def test_a_build_that_outruns_the_brief_time_limit_stops_in_the_writer(
    tmp_path: Path, mini_copy: Path
) -> None:
    folder = tmp_path / "tpl"
    folder.mkdir()
    # Cheap for Jinja, long for the PDF writer: thousands of paragraphs to lay out.
    (folder / "business.html.j2").write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Long</title></head><body>'
        "{% for i in range(20000) %}<p>Paragraph {{ i }} of a brief that is far too long.</p>{% endfor %}"
        "</body></html>\n",
        encoding="utf-8",
    )
    (tmp_path / "briefgen.toml").write_text("[limits]\nbrief_seconds = 2\n", encoding="utf-8")
    started = time.monotonic()
    result = briefgen(tmp_path, "build", "--content", mini_copy, "--audience", "business",
                      "--format", "html,pdf", "--templates", folder, "--out", tmp_path / "out")  # fmt: skip
    elapsed = time.monotonic() - started
    one_line_error(result, 1, "audience 'business'", "took longer than 2 s", "brief_seconds")
    assert elapsed < 30, elapsed
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize(
    ("setting", "needle"),
    [
        ("content_mb = inf", "give a positive number"),
        ("content_mb = nan", "give a positive number"),
        ("brief_seconds = -inf", "give a positive number"),
        ("stakeholders = 2.5", "give a whole number"),
        ("memory_mb = 1e300", "give at most"),
        ("template_seconds = 1e400", "give a positive number"),
        ("stakeholders = 99999999999999999999", "give at most"),
    ],
)
def test_a_limit_that_is_no_number_or_no_limit_is_a_one_line_usage_error(
    tmp_path: Path, setting: str, needle: str
) -> None:
    (tmp_path / "briefgen.toml").write_text(f"[limits]\n{setting}\n", encoding="utf-8")
    result = briefgen(tmp_path, "validate", builtin_templates().parent / "content")
    one_line_error(result, 2, "[limits]", needle)


@pytest.mark.parametrize("value", ["1000000000000", "4354819200", "-1", "soon", "1e9"])
def test_a_source_date_epoch_out_of_range_is_refused_before_any_work(
    tmp_path: Path, mini_copy: Path, value: str
) -> None:
    result = briefgen(tmp_path, "build", "--content", mini_copy, "--format", "html,docx",
                      "--out", tmp_path / "out", env={"SOURCE_DATE_EPOCH": value})  # fmt: skip
    one_line_error(result, 2, "SOURCE_DATE_EPOCH")
    assert not (tmp_path / "out").exists()


def test_the_last_zip_date_is_a_valid_source_date_epoch(tmp_path: Path, mini_copy: Path) -> None:
    last = {"SOURCE_DATE_EPOCH": "4354819199"}
    result = briefgen(tmp_path, "build", "--content", mini_copy, "--audience", "business",
                      "--format", "docx", "--out", tmp_path / "out", env=last)  # fmt: skip
    assert result.returncode == 0, result.stderr


# ----- the opener itself ----------------------------------------------------------------------


def test_the_opener_refuses_each_kind_of_non_file_and_reads_a_plain_one(tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_bytes(b"hello")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "zero").symlink_to("/dev/zero")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dangling").symlink_to(tmp_path / "missing")
    assert opener.read(plain, 10) == b"hello"
    for name, reason in [
        ("fifo", "a FIFO"),
        ("zero", "a character device"),
        ("dir", "a folder"),
        ("dangling", "no such file"),
    ]:
        with pytest.raises(opener.InputRefused, match=reason):
            opener.read(tmp_path / name, 10)
    with pytest.raises(opener.InputRefused, match="over the limit"):
        opener.read(plain, 4)


def test_the_opener_keeps_a_file_in_its_folder_whatever_the_links_say(tmp_path: Path) -> None:
    inside = tmp_path / "inside"
    inside.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("secret", encoding="utf-8")
    (inside / "link.txt").symlink_to(outside)
    (inside / "sub").symlink_to(tmp_path)
    (inside / "own.txt").write_text("own", encoding="utf-8")
    (inside / "to-own.txt").symlink_to(inside / "own.txt")
    for name in ("link.txt", "sub/outside.txt", "../outside.txt"):
        with pytest.raises(opener.InputRefused, match="lies outside"):
            opener.read(inside / name, 100, within=inside)
    assert opener.read(inside / "to-own.txt", 100, within=inside) == b"own"
    walked = {path.name: reason for path, reason in opener.files(inside)}
    assert walked == {"link.txt": "a link out of its folder", "sub": "a link out of its folder",
                      "own.txt": None, "to-own.txt": None}  # fmt: skip


def test_the_opener_digest_matches_the_bytes_and_refuses_the_same_inputs(tmp_path: Path) -> None:
    import hashlib

    data = os.urandom(3 * opener.CHUNK + 5)
    (tmp_path / "f").write_bytes(data)
    assert opener.digest(tmp_path / "f", len(data)) == hashlib.sha256(data).hexdigest()
    os.mkfifo(tmp_path / "p")
    with pytest.raises(opener.InputRefused, match="a FIFO"):
        opener.digest(tmp_path / "p", 10)
