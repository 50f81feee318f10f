"""File names from list values on Windows: device names (CON, nul.tar.gz, COM¹...) are never
produced, names never end in a dot or a space, and every stem stays short and inside the folder;
ordinary names come out as they always have."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from briefgen.cli import main
from briefgen.filenames import MAX_BYTES, assign, collision_key, is_reserved, safe_stem

# Written out here rather than imported, so the rule is checked against the list Windows documents.
DEVICES = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {
    f"{port}{n}" for port in ("COM", "LPT") for n in (*"0123456789", "¹", "²", "³")
}
FORBIDDEN = set('<>:"/\\|?*\x00')


def windows_device(name: str) -> bool:
    """Whether Windows opens a device for ``name``: its part before the first dot, without the
    trailing spaces and dots Windows ignores, is a device name in any case."""
    return name.split(".")[0].rstrip(" .").upper() in DEVICES


def assert_safe(stem: str) -> None:
    assert stem, "empty stem"
    assert not windows_device(stem), stem
    assert not windows_device(f"{stem}.html"), stem
    assert not set(stem) & FORBIDDEN, stem
    assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in stem), stem
    assert len(stem.encode("utf-8")) <= MAX_BYTES, stem
    assert not stem.startswith("."), stem
    assert not stem.endswith((".", " ")), stem
    assert stem not in (".", "..")


@pytest.mark.parametrize(
    ("text", "stem"),
    [
        ("COM¹", "COM¹_"),
        ("com²", "com²_"),
        ("LPT³", "LPT³_"),
        ("LPT¹.report", "LPT¹_.report"),
        ("CON.txt", "CON_.txt"),
        ("nul.tar.gz", "nul_.tar.gz"),
        ("Con.Report.2025", "Con_.Report.2025"),
        ("aux.", "aux_"),
        ("PRN..pdf", "PRN_.pdf"),
        ("conin$", "conin$_"),
        ("CON", "CON_"),
        ("LPT9", "LPT9_"),
        ("COM0", "COM0_"),
    ],
)
def test_windows_device_names_get_an_underscore_before_the_first_dot(text, stem):
    assert safe_stem(text, "id") == stem
    assert not windows_device(stem)


@pytest.mark.parametrize(
    "text",
    [
        "Console",
        "COM10",
        "LPT",
        "CONSOLE.txt",
        "com1x.report",
        "Acme-Ann",
        "Zoë",
        "exe.pdf",
        "NULL",
        "COM⁴",
        "a.b.c",
    ],
)
def test_other_names_are_left_as_they_are(text):
    assert safe_stem(text, "id") == text


def test_spaces_and_dots_windows_would_drop_never_end_a_stem():
    assert safe_stem("CON .txt", "id") == "CON-txt"  # spaces become '-'
    assert safe_stem("report. . .", "id") == "report"
    assert safe_stem("..", "a.") == "a"  # the fallback too
    assert safe_stem("..", "CON") == "CON_"
    assert safe_stem("..", "st-9") == "st-9"


def test_the_rule_itself():
    assert is_reserved("CON") and is_reserved("con.txt") and is_reserved("NUL .tar.gz")
    assert is_reserved("COM¹.html") and is_reserved("lpt³")
    assert not is_reserved("CONSOLE") and not is_reserved("COM10") and not is_reserved("xCON")


def test_a_device_name_with_a_long_tail_stays_within_the_byte_cap():
    stem = safe_stem("CON." + "é" * 200, "id")
    assert stem.startswith("CON_.") and len(stem.encode("utf-8")) <= MAX_BYTES
    assert_safe(stem)


def test_suffixes_for_collisions_keep_the_byte_cap():
    long = "x" * MAX_BYTES
    names = assign([("a", long), ("b", long), ("b2", long), ("c", long)])
    assert names["a"] == long
    assert names["b"].endswith("-b") and names["b2"].endswith("-b2")
    assert all(len(n.encode("utf-8")) <= MAX_BYTES for n in names.values())
    assert len({collision_key(n) for n in names.values()}) == 4


IDS = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")


@given(st.text(), IDS | st.text())
@settings(max_examples=1000, deadline=None)
def test_any_text_gives_a_safe_stem(text, fallback):
    assert_safe(safe_stem(text, fallback))


@given(st.text(alphabet=st.sampled_from(["C", "o", "N", "n", "u", "l", "¹", "³", "1", ".", " ", "x", "P"])))
@settings(max_examples=1000, deadline=None)
def test_device_like_text_gives_a_safe_stem(text):
    assert_safe(safe_stem(text, "id"))


@given(st.lists(st.tuples(IDS, st.text(max_size=150)), max_size=12, unique_by=lambda item: item[0]))
@settings(max_examples=300, deadline=None)
def test_assigned_stems_are_safe_and_distinct(items):
    names = assign((ident, safe_stem(text, ident)) for ident, text in items)
    assert set(names) == {ident for ident, _ in items}
    for stem in names.values():
        assert_safe(stem)
    assert len({collision_key(n) for n in names.values()}) == len(names)


def test_a_batch_never_writes_a_windows_device_name(stakeholder_list, runner, tmp_path: Path):
    organisations = {"a": "COM¹", "b": "LPT³", "c": "CON.txt", "d": "nul.tar.gz", "e": "Acme"}
    rows = [
        {"id": i, "name": "x", "organisation": o, "audience": "business"} for i, o in organisations.items()
    ]
    out = tmp_path / "out"
    args = [
        "batch",
        str(stakeholder_list(rows)),
        "--format",
        "html",
        "--name",
        "{organisation}",
        "--out",
        str(out),
    ]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    data = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    written = {e["id"]: e["files"][0]["path"] for e in data["stakeholders"]}
    assert written == {
        "a": "COM¹_.html",
        "b": "LPT³_.html",
        "c": "CON_.txt.html",
        "d": "nul_.tar.gz.html",
        "e": "Acme.html",
    }
    assert sorted(p.name for p in out.glob("*.html")) == sorted(written.values())
    assert not any(windows_device(name) for name in written.values())
