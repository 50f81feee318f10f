"""Customising: templates list, eject, edits that show in HTML and Word, a new audience without code."""

from __future__ import annotations

from pathlib import Path

from docx import Document

from briefgen.cli import main
from briefgen.paths import builtin_content

INVESTORS = """\
audiences:
  investors:
    label: Investors
    brief_title: Where the EU's digital strategy points capital
    description: Funds and development banks weighing digital projects in partner countries
    intro: The strategy pairs public money with private capital; this note shows where.
    closing: Watch the calls for proposals and talk to the EU delegations early.
    recommendations:
      - id: inv-co-finance
        title: Co-finance Tech Business Offer projects
        summary: Join the packages the EU assembles with partner countries.
        rationale: Public money lowers the risk of early digital infrastructure.
        actions:
          - Track the Global Gateway pipeline.
        objectives: [tech-business-offer]
        focus_areas: [infrastructure]
"""


def docx_text(path: Path) -> str:
    return "\n".join(p.text for p in Document(str(path)).paragraphs)


def test_templates_list_shows_origin_extends_and_blocks(runner, tmp_path: Path):
    result = runner.invoke(main, ["templates", "list"])
    assert result.exit_code == 0, result.output
    assert "business.html.j2  [built-in] extends base.html.j2" in result.output
    assert "recommendation" in result.output and "cover" in result.output
    ejected = runner.invoke(main, ["templates", "eject", "business", "--to", "mine"])
    assert ejected.exit_code == 0, ejected.output
    listed = runner.invoke(main, ["templates", "list", "--templates", "mine"])
    assert "business.html.j2  [mine] extends base.html.j2" in listed.output
    assert "government.html.j2  [built-in]" in listed.output


def test_a_marker_in_an_ejected_block_shows_in_html_and_word(runner, tmp_path: Path):
    result = runner.invoke(main, ["templates", "eject", "business", "--to", "mine"])
    assert result.exit_code == 0, result.output
    for name in ("business.html.j2", "base.html.j2", "css/brief.css", "reference.docx", "README.md"):
        assert (tmp_path / "mine" / name).is_file(), name
    base = tmp_path / "mine" / "base.html.j2"
    text = base.read_text()
    anchor = '<p class="lead">{{ r.rec.summary|md_inline }}</p>'
    assert anchor in text
    base.write_text(text.replace(anchor, anchor + '\n<p class="note">MARKER-7731</p>', 1))
    built = runner.invoke(
        main,
        ["build", "--audience", "business", "--format", "html,docx", "--templates", "mine", "--out", "o"],
    )
    assert built.exit_code == 0, built.output
    html = (tmp_path / "o" / "business-brief.html").read_text()
    assert html.count("MARKER-7731") == 8  # once per recommendation
    assert docx_text(tmp_path / "o" / "business-brief.docx").count("MARKER-7731") == 8


def test_eject_refuses_to_overwrite_and_names_unknown_audiences(runner, tmp_path: Path):
    assert runner.invoke(main, ["templates", "eject", "all", "--to", "mine"]).exit_code == 0
    again = runner.invoke(main, ["templates", "eject", "all", "--to", "mine"])
    assert again.exit_code == 2 and "already exists" in again.output
    assert runner.invoke(main, ["templates", "eject", "all", "--to", "mine", "--force"]).exit_code == 0
    unknown = runner.invoke(main, ["templates", "eject", "pirates", "--to", "other"])
    assert unknown.exit_code == 2 and "business" in unknown.output and "government" in unknown.output


def test_a_new_audience_needs_only_a_template_and_a_content_section(runner, tmp_path: Path):
    extra = tmp_path / "investors.yaml"
    extra.write_text(INVESTORS)
    templates = tmp_path / "tpl"
    templates.mkdir()
    (templates / "investors.html.j2").write_text(
        '{% extends "base.html.j2" %}{% block closing_title %}Before you commit capital{% endblock %}'
    )
    args = [
        "build",
        "--content",
        str(builtin_content()),
        "--content",
        str(extra),
        "--templates",
        str(templates),
    ]
    result = runner.invoke(main, [*args, "--audience", "investors", "--format", "html,docx", "--out", "o"])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "o" / "investors-brief.html").read_text()
    assert "<title>Where the EU's digital strategy points capital</title>" in html
    assert "Co-finance Tech Business Offer projects" in html and "Before you commit capital" in html
    assert "Before you commit capital" in docx_text(tmp_path / "o" / "investors-brief.docx")
    listed = runner.invoke(main, ["audiences", "--content", str(extra)])
    assert listed.exit_code == 1  # the extra file alone is not a whole strategy


def test_an_audience_without_a_template_is_a_clear_error(runner, tmp_path: Path):
    extra = tmp_path / "investors.yaml"
    extra.write_text(INVESTORS)
    args = ["build", "--content", str(builtin_content()), "--content", str(extra), "--audience", "investors"]
    result = runner.invoke(main, [*args, "--format", "html", "--out", "o"])
    assert result.exit_code == 1
    assert "no template for audience 'investors': add investors.html.j2 to a template folder" in result.output


def test_the_readme_worked_example_runs_as_written(tmp_path: Path):
    import os
    import re
    import subprocess
    import sys

    import pypdf

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    block = re.search(r"<!-- worked-example -->\n```sh\n(.*?)```\n<!-- /worked-example -->", readme, re.S)
    assert block, "the README lost its worked example"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.group(1)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    out = tmp_path / "my-briefs"
    html = (out / "business-brief.html").read_text()
    marker = "Questions on this recommendation? Write to briefs@example.org."
    assert html.count(marker) == 8
    assert "--brand: #7a1f3d;" in html and 'alt="Open Policy Lab logo"' in html
    doc = Document(str(out / "business-brief.docx"))
    assert sum(marker in p.text for p in doc.paragraphs) == 8
    assert doc.sections[0].header._element.xpath(".//wp:docPr/@descr") == ["Open Policy Lab logo"]
    cover = pypdf.PdfReader(out / "business-brief.pdf").pages[0].get_contents().get_data()
    # the burgundy brand colour fills the cover (WeasyPrint writes "rg", Typst "scn")
    assert re.search(rb"0\.47843\d* 0\.1215(68|69)\d* 0\.2392(15|16)\d* (rg|scn)", cover)
