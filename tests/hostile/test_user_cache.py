"""The per-user caches (compiled templates, fonts' characters): used only when private to this user."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from briefgen import render as render_module
from briefgen.sandbox import BriefSandbox


@pytest.fixture
def compiled(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the templates Jinja compiled (rather than loaded from the cache)."""
    names: list[str] = []
    real = BriefSandbox.compile

    def spy(self, source, name=None, filename=None, raw=False, defer_init=False):
        if not raw:
            names.append(name)
        return real(self, source, name, filename, raw, defer_init)

    monkeypatch.setattr(BriefSandbox, "compile", spy)
    return names


def fresh_render(templates: tuple[Path, ...] = ()) -> str:
    """Render a one-line template in a new environment (the per-process one is dropped)."""
    render_module.environment.cache_clear()
    return render_module.run_template("hello.html.j2", templates, who="Ada")


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    templates = tmp_path / "tpl"
    templates.mkdir()
    (templates / "hello.html.j2").write_text("<p>Hello {{ who }}</p>\n")
    cache = tmp_path / "cache"
    monkeypatch.setenv("BRIEFGEN_CACHE_DIR", str(cache))
    yield templates
    render_module.environment.cache_clear()


def test_a_second_run_loads_the_compiled_template(folder: Path, tmp_path: Path, compiled: list[str]) -> None:
    assert fresh_render((folder,)) == "<p>Hello Ada</p>\n"
    assert compiled == ["hello.html.j2"]
    cache = tmp_path / "cache" / "templates"
    assert oct(cache.stat().st_mode & 0o777) == "0o700"
    assert [oct(p.stat().st_mode & 0o777) for p in cache.iterdir()] == ["0o600"]
    assert fresh_render((folder,)) == "<p>Hello Ada</p>\n"
    assert compiled == ["hello.html.j2"]  # not compiled again


def test_a_changed_template_is_compiled_again(folder: Path, compiled: list[str]) -> None:
    fresh_render((folder,))
    (folder / "hello.html.j2").write_text("<p>Goodbye {{ who }}</p>\n")
    assert fresh_render((folder,)) == "<p>Goodbye Ada</p>\n"
    assert compiled == ["hello.html.j2", "hello.html.j2"]


def test_a_cache_folder_others_can_write_is_never_read_or_written(
    folder: Path, tmp_path: Path, compiled: list[str]
) -> None:
    fresh_render((folder,))
    cache = tmp_path / "cache" / "templates"
    cache.chmod(0o777)
    before = sorted(p.name for p in cache.iterdir())
    assert fresh_render((folder,)) == "<p>Hello Ada</p>\n"
    assert compiled == ["hello.html.j2", "hello.html.j2"]  # compiled, the planted-able cache ignored
    assert sorted(p.name for p in cache.iterdir()) == before


def test_a_linked_cache_folder_or_file_is_not_followed(
    folder: Path, tmp_path: Path, compiled: list[str]
) -> None:
    fresh_render((folder,))
    cache = tmp_path / "cache" / "templates"
    (entry,) = cache.iterdir()
    moved = tmp_path / "elsewhere"
    cache.rename(moved)
    cache.symlink_to(moved)  # the folder is a link
    fresh_render((folder,))
    cache.unlink()
    cache.mkdir(mode=0o700)
    (cache / entry.name).symlink_to(moved / entry.name)  # the file is a link
    fresh_render((folder,))
    assert compiled == ["hello.html.j2"] * 3


def test_a_damaged_or_foreign_cache_file_is_compiled_over(
    folder: Path, tmp_path: Path, compiled: list[str]
) -> None:
    fresh_render((folder,))
    (entry,) = (tmp_path / "cache" / "templates").iterdir()
    entry.write_bytes(entry.read_bytes()[:40])  # Jinja's header, then half a code object
    assert fresh_render((folder,)) == "<p>Hello Ada</p>\n"
    entry.write_bytes(b"\x00" * 100)
    assert fresh_render((folder,)) == "<p>Hello Ada</p>\n"
    assert compiled == ["hello.html.j2"] * 3


def test_an_empty_setting_turns_the_cache_off(folder: Path, tmp_path: Path, monkeypatch, compiled) -> None:
    monkeypatch.setenv("BRIEFGEN_CACHE_DIR", "")
    fresh_render((folder,))
    fresh_render((folder,))
    assert compiled == ["hello.html.j2"] * 2
    assert not (tmp_path / "cache").exists()
    assert os.environ["BRIEFGEN_CACHE_DIR"] == ""


def test_the_fonts_characters_are_kept_and_a_planted_list_is_never_read(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from briefgen.render import template_dirs
    from briefgen.writers.pdf import engine

    reads: list[int] = []
    real = engine._character_maps
    monkeypatch.setattr(engine, "_character_maps", lambda fonts: reads.append(len(fonts)) or real(fonts))

    def covered() -> frozenset[int]:
        engine.covered_characters.cache_clear()
        return engine.covered_characters(template_dirs(()))

    first = covered()
    assert ord("é") in first and ord("ß") in first
    assert covered() == first and len(reads) == 1  # the second run read no font
    (kept,) = (tmp_path / "cache" / "fonts").iterdir()
    kept.write_bytes(b"\x41\x00\x00\x00")  # a list with only "A"...
    kept.parent.chmod(0o777)  # ...in a folder anyone could have written
    assert covered() == first and len(reads) == 2
    engine.covered_characters.cache_clear()
