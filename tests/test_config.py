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


def test_limits_table_changes_the_limits_and_bad_values_name_the_key(runner, tmp_path):
    from briefgen.cli import main

    rows = "id,name,audience\n" + "".join(f"s{i},N{i},business\n" for i in range(4))
    (tmp_path / "list.csv").write_text(rows, encoding="utf-8")
    (tmp_path / "briefgen.toml").write_text("[limits]\nstakeholders = 3\n", encoding="utf-8")
    result = runner.invoke(main, ["batch", "list.csv", "--format", "html"])
    assert result.exit_code == 1
    assert "4 stakeholders; the limit is 3" in result.output

    (tmp_path / "briefgen.toml").write_text("[limits]\nstakeholders = -1\n", encoding="utf-8")
    result = runner.invoke(main, ["validate"])
    assert result.exit_code == 2
    assert "[limits] stakeholders: give a positive number, not -1" in result.output

    (tmp_path / "briefgen.toml").write_text("[limits]\nspeed = 3\n", encoding="utf-8")
    result = runner.invoke(main, ["validate"])
    assert result.exit_code == 2
    assert "[limits] speed: unknown limit" in result.output


def test_content_size_limit_applies_to_content_files(runner, tmp_path, mini_copy):
    from briefgen.cli import main

    (tmp_path / "briefgen.toml").write_text("[limits]\ncontent_mb = 0.001\n", encoding="utf-8")
    result = runner.invoke(main, ["validate", str(mini_copy)])
    assert result.exit_code == 1
    assert "the limit is 1,048 (content_mb in [limits])" in result.output


def test_batch_table_sets_batch_defaults(runner, tmp_path):
    from briefgen.cli import main

    (tmp_path / "list.csv").write_text(
        "id,name,organisation,audience\na1,Ann,Acme,business\n", encoding="utf-8"
    )
    (tmp_path / "briefgen.toml").write_text(
        '[batch]\nformats = ["html"]\nname = "{id}-{audience}"\nout = "dist"\n', encoding="utf-8"
    )
    result = runner.invoke(main, ["batch", "list.csv"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "dist" / "a1-business.html").is_file()
