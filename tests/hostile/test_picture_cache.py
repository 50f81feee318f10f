"""Planted pictures in the per-user cache: a file or folder someone else could write is never read."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from briefgen.pictures import chart, kept

ROWS = [{"label": "Before", "value": 3.0, "text": "3"}, {"label": "After", "value": 1.0, "text": "1"}]
COLOURS = {"brand": "#1f4e79", "muted": "#8899aa", "ink": "#222222"}
SPEC = chart.spec("column", ROWS, COLOURS)
PLANTED = b'<svg xmlns="http://www.w3.org/2000/svg"><text>PLANTED</text></svg>'


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BRIEFGEN_CACHE_DIR", str(tmp_path / "cache"))
    chart._svg.cache_clear()
    yield tmp_path / "cache" / "pictures"
    chart._svg.cache_clear()


def expected_name() -> str:
    return kept.name("svg", json.dumps(SPEC, sort_keys=True), "matplotlib")


def fresh_svg() -> str:
    chart._svg.cache_clear()
    return chart.svg(SPEC)


def plant(folder: Path, data: bytes = PLANTED) -> Path:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / expected_name()
    path.write_bytes(data)
    return path


def test_a_planted_file_anyone_can_write_is_drawn_over(cache: Path) -> None:
    path = plant(cache)
    path.chmod(0o666)
    drawn = fresh_svg()
    assert "PLANTED" not in drawn and ">3<" in drawn


def test_a_planted_file_of_another_owner_is_not_read(cache: Path) -> None:
    path = plant(cache)
    if os.getuid() != 0:
        pytest.skip("giving a file to another user needs root")
    os.chown(path, 65534, 65534)
    path.chmod(0o600)
    assert "PLANTED" not in fresh_svg()


def test_a_file_that_is_not_an_svg_is_drawn_over(cache: Path) -> None:
    plant(cache, b"<script>alert(1)</script>")
    assert fresh_svg().startswith("<svg ")
    assert (cache / expected_name()).read_bytes().startswith(b"<svg ")  # replaced by the real drawing


def test_a_linked_or_shared_folder_is_neither_read_nor_written(cache: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    plant(elsewhere)
    cache.parent.mkdir(mode=0o700)
    cache.symlink_to(elsewhere)
    assert "PLANTED" not in fresh_svg()
    assert sorted(p.name for p in elsewhere.iterdir()) == [expected_name()]  # nothing written through it
    cache.unlink()
    plant(cache).chmod(0o600)
    cache.chmod(0o777)
    assert "PLANTED" not in fresh_svg()


def test_a_linked_file_is_not_followed(cache: Path, tmp_path: Path) -> None:
    target = tmp_path / "target.svg"
    target.write_bytes(PLANTED)
    cache.mkdir(parents=True, mode=0o700)
    (cache / expected_name()).symlink_to(target)
    assert "PLANTED" not in fresh_svg()
    assert target.read_bytes() == PLANTED  # the link's target is not overwritten


def test_damaged_or_shared_font_widths_are_read_from_the_font_again(cache: Path) -> None:
    from briefgen.pictures import text

    text._metrics.cache_clear()
    true = text._metrics(False)
    (kept_file,) = (cache.parent / "fonts").glob("widths-*.bin")
    kept_file.write_bytes(kept_file.read_bytes()[:-5])  # cut short
    text._metrics.cache_clear()
    assert text._metrics(False) == true
    wide = bytearray(kept_file.read_bytes())
    wide[8 + 4 * ((len(wide) - 8) // 12) :] = b"\x00\x00\x00\x00\x00\x00\x59\x40" * ((len(wide) - 8) // 12)
    kept_file.write_bytes(bytes(wide))  # every width 100 em: labels that never fit
    text._metrics.cache_clear()
    assert text._metrics(False) == true
    text._metrics.cache_clear()
