"""The command line, driven through Click's runner the way a user types it."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

from helpers import column_of, line_of, replace_once

from briefgen import __version__
from briefgen.cli import main


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def build_html(runner, *args: str):
    return runner.invoke(main, ["build", "--format", "html", *args])


def test_version(runner):
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"briefgen, version {__version__}"


def test_help_lists_the_commands(runner):
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    for command in ("build", "validate", "audiences", "schema"):
        assert re.search(rf"^\s+{command}\s", result.output, re.M), command


# --- validate -------------------------------------------------------------------------------


def test_validate_shipped_content(runner, shipped):
    result = runner.invoke(main, ["validate"])
    assert result.exit_code == 0, result.output
    s = shipped.strategy
    recs = sum(len(a.recommendations) for a in s.audiences.values())
    assert result.output.startswith("ok: ")
    assert f"{len(s.objectives)} objectives" in result.output
    assert f"{len(s.focus_areas)} focus areas" in result.output
    assert f"{recs} recommendations" in result.output


def test_validate_reports_a_duplicated_key_with_file_and_line(runner, content_copy):
    text = replace_once(
        content_copy / "government.yaml",
        "    label: Governments\n",
        "    label: Governments\n    label: States\n",
    )
    result = runner.invoke(main, ["validate", "content"])
    assert result.exit_code == 1, result.output
    line, col = line_of(text, "label: States"), column_of(text, "label: States")
    assert "Error: 1 content problem:" in result.output
    assert f"content/government.yaml:{line}:{col}: duplicate key 'label'" in result.output
    assert f"first defined at line {line_of(text, 'label: Governments')}" in result.output


def test_validate_a_missing_path_is_a_usage_error(runner):
    result = runner.invoke(main, ["validate", "nowhere"])
    assert result.exit_code == 2
    assert "Error:" in result.output and "nowhere" in result.output


# --- build ----------------------------------------------------------------------------------


def test_build_all_audiences_writes_html_and_a_true_manifest(runner, tmp_path, shipped):
    result = build_html(runner, "--audience", "all", "--out", "briefs")
    assert result.exit_code == 0, result.output
    out = tmp_path / "briefs"
    assert sorted(p.name for p in out.iterdir()) == [
        "business-brief.html",
        "government-brief.html",
        "manifest.json",
    ]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["generator"] == f"briefgen {__version__}"
    entries = {e["path"]: e for e in manifest["files"]}
    assert set(entries) == {"business-brief.html", "government-brief.html"}
    for name, entry in entries.items():
        data = (out / name).read_bytes()
        assert entry["bytes"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["format"] == "html"
        assert entry["audience"] == name.split("-")[0]
        assert re.fullmatch(r"[0-9a-f]{64}", entry["content_sha256"])
    assert (
        entries["business-brief.html"]["content_sha256"] == entries["government-brief.html"]["content_sha256"]
    )
    for audience in ("business", "government"):
        html = (out / f"{audience}-brief.html").read_text(encoding="utf-8")
        assert f"<title>{shipped.strategy.audiences[audience].brief_title}</title>" in html
        assert "<style>" in html
        assert f"wrote {Path('briefs') / f'{audience}-brief.html'}" in result.output


def test_manifest_content_hash_follows_the_content(runner, tmp_path, content_copy):
    first = build_html(runner, "--content", "content", "--audience", "business", "--out", "a")
    assert first.exit_code == 0, first.output
    replace_once(content_copy / "business.yaml", "    label: Businesses\n", "    label: Companies\n")
    second = build_html(runner, "--content", "content", "--audience", "business", "--out", "b")
    assert second.exit_code == 0, second.output
    hashes = [
        json.loads((tmp_path / d / "manifest.json").read_text(encoding="utf-8"))["files"][0]["content_sha256"]
        for d in ("a", "b")
    ]
    assert hashes[0] != hashes[1]


def test_build_defaults_to_output_in_the_working_folder(runner, tmp_path):
    result = build_html(runner, "--audience", "business")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "output" / "business-brief.html").is_file()
    assert not (tmp_path / "output" / "government-brief.html").exists()


def test_build_with_focus_region_and_stakeholder(runner, tmp_path):
    result = build_html(
        runner,
        "--audience",
        "government",
        "--focus",
        "cybersecurity",
        "--focus",
        "infrastructure",
        "--region",
        "africa",
        "--name",
        "Ada Lovelace",
        "--organisation",
        "Engines Ltd",
        "--out",
        "out",
    )
    assert result.exit_code == 0, result.output
    (path,) = (tmp_path / "out").glob("*.html")
    assert path.name == "government-brief-cybersecurity-infrastructure-africa-engines-ltd.html"
    html = path.read_text(encoding="utf-8")
    assert "Prepared for <strong>Ada Lovelace</strong>, Engines Ltd" in html
    assert "Focus region: Africa" in html
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    options = manifest["files"][0]["options"]
    assert options["focus"] == ["cybersecurity", "infrastructure"]
    assert options["region"] == "africa"
    assert options["stakeholder"] == "Ada Lovelace, Engines Ltd"


def test_build_accepts_comma_separated_focus(runner, tmp_path):
    result = build_html(
        runner, "--audience", "business", "--focus", "cybersecurity,infrastructure", "--out", "o"
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o" / "business-brief-cybersecurity-infrastructure.html").is_file()


def test_build_unknown_focus_is_a_usage_error_listing_valid_ids(runner, tmp_path, shipped):
    result = build_html(runner, "--focus", "space-lasers", "--out", "o")
    assert result.exit_code == 2, result.output
    assert "Error: --focus: unknown value 'space-lasers'" in result.output
    for area in shipped.strategy.focus_areas:
        assert area.id in result.output
    assert not (tmp_path / "o").exists()


def test_build_unknown_audience_is_a_usage_error(runner, tmp_path):
    result = build_html(runner, "--audience", "investors", "--out", "o")
    assert result.exit_code == 2, result.output
    assert "Error: --audience: unknown value 'investors'; choose from: business, government" in result.output


def test_build_unknown_format_is_a_usage_error(runner, tmp_path):
    result = runner.invoke(main, ["build", "--format", "xyz", "--out", "o"])
    assert result.exit_code == 2, result.output
    assert "Error: Invalid value for '--format'" in result.output
    assert "'xyz'" in result.output
    assert not (tmp_path / "o").exists()


def test_build_stakeholder_details_need_a_name(runner):
    result = build_html(runner, "--organisation", "Engines Ltd", "--out", "o")
    assert result.exit_code == 2, result.output
    assert "Error:" in result.output and "--name" in result.output


def test_failed_build_leaves_the_output_folder_untouched(runner, tmp_path, content_copy):
    ok = build_html(runner, "--content", "content", "--out", "out")
    assert ok.exit_code == 0, ok.output
    before = snapshot(tmp_path / "out")
    assert "manifest.json" in before and len(before) == 3

    replace_once(content_copy / "strategy.yaml", "  - id: governance\n", "  - id: Governance\n")
    failed = build_html(runner, "--content", "content", "--out", "out")
    assert failed.exit_code == 1, failed.output
    assert "Error:" in failed.output and "content/strategy.yaml:" in failed.output
    assert snapshot(tmp_path / "out") == before


def test_build_failing_in_the_second_audience_writes_nothing(runner, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "government.html.j2").write_text(
        '{% extends "base.html.j2" %}\n{% block closing %}{{ brief.missing_thing }}{% endblock %}\n',
        encoding="utf-8",
    )
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_bytes(b"mine")
    result = build_html(runner, "--templates", "templates", "--out", "out")
    assert result.exit_code == 1, result.output
    assert "Error: audience 'government'" in result.output
    assert "government.html.j2:2" in result.output
    assert snapshot(tmp_path / "out") == {"keep.txt": b"mine"}


# --- audiences and schema -------------------------------------------------------------------


def test_audiences_lists_audience_focus_and_region_ids(runner, shipped):
    result = runner.invoke(main, ["audiences"])
    assert result.exit_code == 0, result.output
    first_words = [line.split()[0] for line in result.output.splitlines() if line.startswith("  ")]
    s = shipped.strategy
    assert first_words == [*s.audiences, *(a.id for a in s.focus_areas), *(r.id for r in s.regions)]


def test_audiences_of_other_content(runner, tmp_path):
    result = runner.invoke(main, ["audiences", "--content", str(Path(__file__).parent / "data" / "mini")])
    assert result.exit_code == 0, result.output
    assert re.search(r"^\s+business\s+Firms: ", result.output, re.M)
    assert re.search(r"^\s+safe-sharing\s+Safe data sharing$", result.output, re.M)


def test_schema_is_json_describing_the_content(runner):
    result = runner.invoke(main, ["schema"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.output)
    assert {"objectives", "focus_areas", "audiences", "strategy"} <= set(schema["properties"])
    assert {"objectives", "focus_areas", "audiences"} <= set(schema["required"])
    assert schema["$schema"].startswith("https://json-schema.org/")


# --- start-up -------------------------------------------------------------------------------


def run_python(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_cli_import_does_not_load_heavy_libraries(tmp_path):
    code = (
        "import briefgen.cli, sys; "
        "print('weasyprint' in sys.modules, 'docx' in sys.modules, 'pydantic' in sys.modules)"
    )
    proc = run_python("-c", code, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False", "False"]


def test_python_m_briefgen_help(tmp_path):
    proc = run_python("-m", "briefgen", "--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Usage: briefgen" in proc.stdout
    assert list(tmp_path.iterdir()) == []
