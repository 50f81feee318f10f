"""briefgen.toml: project defaults for build, overridden by flags."""

from __future__ import annotations

from pathlib import Path

from briefgen.cli import main


def test_config_in_the_working_folder_sets_build_defaults(runner, tmp_path: Path):
    (tmp_path / "briefgen.toml").write_text(
        '[build]\nformats = ["html"]\naudience = ["government"]\nout = "briefs"\nlength = "summary"\n'
    )
    result = runner.invoke(main, ["build"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "briefs").iterdir()) == [
        "government-summary.html",
        "manifest.json",
    ]


def test_flags_override_the_config(runner, tmp_path: Path):
    (tmp_path / "briefgen.toml").write_text(
        '[build]\nformats = "html"\naudience = ["government"]\nout = "briefs"\n'
    )
    result = runner.invoke(main, ["build", "--audience", "business", "--out", "elsewhere"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "elsewhere" / "business-brief.html").is_file()
    assert not (tmp_path / "briefs").exists()


def test_paths_are_relative_to_the_config_file(runner, tmp_path: Path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "settings.toml").write_text(
        '[build]\nformats = "html"\nout = "built"\naudience = "business"\n'
    )
    result = runner.invoke(main, ["--config", str(project / "settings.toml"), "build"])
    assert result.exit_code == 0, result.output
    assert (project / "built" / "business-brief.html").is_file()


def test_an_unknown_setting_is_a_usage_error_naming_file_and_key(runner, tmp_path: Path):
    (tmp_path / "briefgen.toml").write_text("[build]\nformts = ['pdf']\n")
    result = runner.invoke(main, ["build"])
    assert result.exit_code == 2
    assert "briefgen.toml: [build] formts: unknown setting" in result.output


def test_a_toml_syntax_error_names_the_line(runner, tmp_path: Path):
    (tmp_path / "briefgen.toml").write_text("[build]\nout = \n")
    result = runner.invoke(main, ["build"])
    assert result.exit_code == 2
    assert "briefgen.toml" in result.output and "line 2" in result.output
