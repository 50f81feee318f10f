"""Validation an author can act on: each message names file:line:col and the field, says what is
wrong and what to write instead (language tags, dates, inline Markdown, folded lists, references
within an audience, did-you-mean, audiences without a template, stakeholder list columns)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import column_of, line_of, replace_once

from briefgen.cli import main
from briefgen.errors import ContentError
from briefgen.model import language_tag
from briefgen.stakeholders import COLUMNS, load
from briefgen.validate import validate

PROBLEM = re.compile(r"^[^:\s]+:\d+:\d+: \S.*$")
PRESENTED = "  presented: 2024-03-14\n"
#: A second audience for the mini content, whose lead section points at ``REF``.
GOVERNMENT = """\
audiences:
  government:
    label: Councils
    brief_title: What the plan means for councils
    description: Neighbouring councils
    intro: The plan invites councils to share data too.
    sections:
      - id: steps
        title: Steps
        entries:
          - text: Agree a common format.
            refs:
              - REF
    recommendations:
      - id: share-berths
        title: Share berth data
        summary: Publish your berth data in the same format.
        rationale: One format serves every firm.
        actions:
          - Adopt the format.
        objectives:
          - open-data
    closing: Write to the data desk.
"""


def problems(runner, *args: str | Path) -> list[str]:
    """Run ``briefgen validate ARGS``; it must fail with one well-formed line per problem."""
    result = runner.invoke(main, ["validate", *map(str, args)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    first, *lines = result.stderr.splitlines()
    assert first.startswith("Error: ") and first.endswith(":"), result.stderr
    assert lines and all(PROBLEM.match(line) for line in lines), result.stderr
    assert first == f"Error: {len(lines)} content problem{'s' if len(lines) > 1 else ''}:"
    return lines


def passes(runner, *args: str | Path) -> None:
    result = runner.invoke(main, ["validate", *map(str, args)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: ")


# ----- 1. language tags ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "tag"),
    [("fr", "fr"), ("fr-FR", "fr-FR"), ("fr-fr", "fr-FR"), ("en-GB", "en-GB"), ("pt-PT", "pt-PT"),
     ("EN-gb", "en-GB"), ("sr-latn-rs", "sr-Latn-RS"), ("es-419", "es-419")],
)  # fmt: skip
def test_a_language_tag_is_accepted_and_its_case_normalised(runner, mini_copy, written, tag):
    replace_once(mini_copy / "strategy.yaml", PRESENTED, f"{PRESENTED}  language: {written}\n")
    passes(runner, mini_copy)
    assert validate(mini_copy).strategy.strategy.language == tag
    assert language_tag(written) == tag


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("en_GB", "'en_GB' is not a language tag: did you mean 'en-GB'? (use '-', not '_')"),
        ("english", "'english' is not a language tag: did you mean 'en'? (a BCP 47 tag is a language code"),
        ("xx-yy-zz", "'xx-yy-zz' is not a language tag; a BCP 47 tag is a language code, then optionally"),
        ("xx", "'xx' is not a known language code; a BCP 47 tag is"),
        ("en-UK", "'UK' in 'en-UK' is not a known region code (the United Kingdom is GB)"),
    ],
)
def test_a_language_that_is_not_a_tag_is_refused_with_what_a_tag_looks_like(
    runner, mini_copy, written, message
):
    text = replace_once(mini_copy / "strategy.yaml", PRESENTED, f"{PRESENTED}  language: {written}\n")
    (line,) = problems(runner, mini_copy)
    where = f"mini/strategy.yaml:{line_of(text, 'language:')}:{column_of(text, 'language:')}"
    assert line.startswith(f"{where}: strategy.language: {message}")
    assert "e.g. en, fr-FR, pt-PT" in line or "did you mean" in line


# ----- 2. dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("0", "'0' is a number, not a date: use YYYY-MM-DD"),
        ("1749081600", "'1749081600' is a number, not a date: use YYYY-MM-DD"),
        ("2025-06-05T10:00:00", "'2025-06-05T10:00:00' is a date and time: use YYYY-MM-DD (the date alone)"),
        ("5 June 2025", "'5 June 2025' is not a date: use YYYY-MM-DD"),
        ("2025-02-30", "'2025-02-30' is not a date (day is out of range for month): use YYYY-MM-DD"),
        ("20250605", "'20250605' is a number, not a date: use YYYY-MM-DD"),
        ("2025-6-5", "'2025-6-5' is not a date: use YYYY-MM-DD"),
    ],
)
def test_presented_is_only_yyyy_mm_dd(runner, mini_copy, written, message):
    text = replace_once(mini_copy / "strategy.yaml", PRESENTED, f"  presented: {written}\n")
    (line,) = problems(runner, mini_copy)
    where = f"mini/strategy.yaml:{line_of(text, 'presented:')}:{column_of(text, 'presented:')}"
    assert line == f"{where}: strategy.presented: {message}"


def test_an_initiative_date_is_only_yyyy_mm_dd_and_a_good_one_is_a_date(runner, mini_copy):
    when = "    when: Spring 2024\n"
    text = replace_once(mini_copy / "strategy.yaml", when, f"{when}    date: 0\n")
    (line,) = problems(runner, mini_copy)
    where = f"mini/strategy.yaml:{line_of(text, 'date: 0')}:{column_of(text, 'date: 0')}"
    assert line == f"{where}: initiatives[0].date: '0' is a number, not a date: use YYYY-MM-DD"
    replace_once(mini_copy / "strategy.yaml", "    date: 0\n", "    date: 2024-04-01\n")
    passes(runner, mini_copy)
    assert str(validate(mini_copy).strategy.initiatives[0].date) == "2024-04-01"


# ----- 3. inline Markdown -------------------------------------------------------------------------


def test_a_list_in_an_inline_field_is_refused_at_the_field(runner, mini_copy):
    text = replace_once(
        mini_copy / "business.yaml",
        "        summary: Use the hourly berth data in your own tools.\n",
        "        summary: |\n          Use the berth data for:\n          - planning\n          - billing\n",
    )
    (line,) = problems(runner, mini_copy)
    where = f"mini/business.yaml:{line_of(text, 'summary: |')}:{column_of(text, 'summary: |')}"
    assert line == (
        f"{where}: audiences.business.recommendations[0].summary: shown inline: a list is not allowed "
        "here ('- planning', line 2 of the text); write one paragraph (emphasis and links are fine)"
    )


@pytest.mark.parametrize(
    ("old", "new", "path", "found"),
    [
        (
            "          - Report gaps to the council.\n",
            "          - |\n            Report gaps.\n\n            Then wait.\n",
            "audiences.business.recommendations[0].actions[1]",
            "a second paragraph is not allowed here ('Then wait.', line 3 of the text)",
        ),
        (
            "            text: Sign up for the berth feed.\n",
            "            text: |\n              # Sign up\n              for the berth feed.\n",
            "audiences.business.sections[0].entries[0].text",
            "a heading is not allowed here ('# Sign up', line 1 of the text)",
        ),
    ],
)
def test_paragraphs_and_headings_in_inline_fields_are_refused(runner, mini_copy, old, new, path, found):
    text = replace_once(mini_copy / "business.yaml", old, new)
    (line,) = problems(runner, mini_copy)
    assert f": {path}: shown inline: {found}; write one paragraph" in line
    assert line.startswith(f"mini/business.yaml:{line_of(text, new.splitlines()[0])}:")


def test_inline_fields_of_the_context_are_checked_too(runner, mini_copy):
    text = replace_once(
        mini_copy / "strategy.yaml",
        "    summary: The older half of the harbour, with the busiest berths.\n",
        "    summary: >\n      The older half of the harbour.\n\n      1. berths\n      2. cranes\n",
    )
    inline, folded = problems(runner, mini_copy)
    where = f"mini/strategy.yaml:{line_of(text, 'summary: >')}:{column_of(text, 'summary: >')}"
    assert inline.startswith(f"{where}: regions[0].summary: shown inline: a list is not allowed here")
    # and folding joins "2. cranes" to "1. berths": reported in the same run, where it happens
    place = f"{line_of(text, '2. cranes')}:{column_of(text, '2. cranes')}"
    assert folded == f"mini/strategy.yaml:{place}: regions[0].summary: {FOLDED}"


def test_a_number_at_the_start_gets_the_escape_in_the_message(runner, mini_copy):
    replace_once(
        mini_copy / "strategy.yaml",
        "      - Keep a public changelog.\n",
        "      - 2024. A public changelog.\n",
    )
    (line,) = problems(runner, mini_copy)
    assert line.endswith("to start a line with a number, write 2024\\.")
    replace_once(mini_copy / "strategy.yaml", "2024. A public", "2024\\. A public")
    passes(runner, mini_copy)


def test_block_fields_keep_lists_and_paragraphs(runner, mini_copy):
    replace_once(
        mini_copy / "business.yaml",
        "        rationale: Early users shape the feed's format.\n",
        "        rationale: |\n          Early users shape the format.\n\n"
        "          - planning\n          - billing\n",
    )
    passes(runner, mini_copy)


def test_the_schema_says_which_markdown_fields_are_inline(runner):
    result = runner.invoke(main, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    defs = schema["$defs"]
    inline = "shown inline"
    block = "Markdown block: paragraphs"
    assert inline in defs["Recommendation"]["properties"]["summary"]["description"]
    assert inline in defs["Recommendation"]["properties"]["actions"]["items"]["description"]
    assert inline in defs["Table"]["properties"]["rows"]["items"]["items"]["description"]
    for record, name in [("SectionEntry", "text"), ("Region", "summary"), ("PolicyArea", "summary")]:
        assert inline in defs[record]["properties"][name]["description"], (record, name)
    for record in ("Objective", "FocusArea", "Initiative"):
        assert inline in defs[record]["properties"]["points"]["items"]["description"], record
    assert block in defs["Recommendation"]["properties"]["rationale"]["description"]
    assert block in defs["Audience"]["properties"]["intro"]["description"]
    assert block in defs["Identity"]["properties"]["overview"]["description"]
    assert "BCP 47" in defs["Identity"]["properties"]["language"]["description"]
    # A strategy may be a regional transport plan: nothing in the schema assumes the EU.
    assert not re.search(r"\bEU\b", result.stdout)


# ----- 4. folded text that swallows a list ---------------------------------------------------------

FOLDED = "folded text (>) joins these list lines into one paragraph; use | to keep the lines"


def test_folded_text_that_joins_list_lines_is_reported_at_the_first_list_line(runner, mini_copy):
    text = replace_once(
        mini_copy / "business.yaml",
        "        rationale: Early users shape the feed's format.\n",
        "        rationale: >-\n          The gaps are:\n"
        "          1. fuel price gap\n          2. crew training\n",
    )
    (line,) = problems(runner, mini_copy)
    place = f"{line_of(text, '1. fuel price gap')}:{column_of(text, '1. fuel price gap')}"
    assert line == f"mini/business.yaml:{place}: audiences.business.recommendations[0].rationale: {FOLDED}"


def test_folded_lists_are_reported_with_the_models_problems(runner, mini_copy):
    replace_once(
        mini_copy / "business.yaml",
        "    intro: The plan gives firms free, regular port data to build on.\n",
        "    intro: >\n      Firms get:\n      - free data\n      - regular data\n",
    )
    replace_once(mini_copy / "strategy.yaml", PRESENTED, "  presented: 0\n")
    lines = problems(runner, mini_copy)
    assert len(lines) == 2
    assert any(line.endswith(f"audiences.business.intro: {FOLDED}") for line in lines)
    assert any("strategy.presented: '0' is a number" in line for line in lines)


def test_a_blank_line_keeps_the_first_list_line_but_not_the_next(runner, mini_copy):
    text = replace_once(
        mini_copy / "business.yaml",
        "        rationale: Early users shape the feed's format.\n",
        "        rationale: >-\n          The gaps are:\n\n          - fuel\n          - crew\n",
    )
    (line,) = problems(runner, mini_copy)
    assert line == (
        f"mini/business.yaml:{line_of(text, '- crew')}:{column_of(text, '- crew')}: "
        f"audiences.business.recommendations[0].rationale: {FOLDED}"
    )


@pytest.mark.parametrize(
    "body",
    [
        ">-\n          The gaps are:\n\n          - fuel\n\n          - crew\n",  # blank lines keep both
        ">-\n          The gaps are:\n            - fuel\n            - crew\n",  # more-indented: kept
        "|-\n          The gaps are:\n          - fuel\n          - crew\n",  # literal: kept
        ">-\n          - fuel and\n          crew are the gaps\n",  # the list line is the first
        ">-\n          Costs rose by\n          10 per cent.\n",  # no list marker
    ],
)
def test_folding_that_keeps_the_lines_is_not_reported(runner, mini_copy, body):
    replace_once(
        mini_copy / "business.yaml",
        "        rationale: Early users shape the feed's format.\n",
        f"        rationale: {body}",
    )
    passes(runner, mini_copy)


# ----- 5. references within their audience ----------------------------------------------------------


def test_a_lead_section_may_only_point_to_its_own_audiences_recommendations(runner, mini_copy):
    (mini_copy / "government.yaml").write_text(GOVERNMENT.replace("REF", "use-feed"), encoding="utf-8")
    text = (mini_copy / "government.yaml").read_text(encoding="utf-8")
    (line,) = problems(runner, mini_copy)
    where = f"mini/government.yaml:{line_of(text, '- use-feed')}:{column_of(text, 'use-feed')}"
    assert line == (
        f"{where}: audiences.government.sections[0].entries[0].refs[0]: recommendation 'use-feed' "
        "belongs to audience 'business'; an entry of 'government' may only point to its own "
        "(recommendations of government: share-berths)"
    )
    (mini_copy / "government.yaml").write_text(GOVERNMENT.replace("REF", "share-berths"), encoding="utf-8")
    passes(runner, mini_copy)


def test_an_unknown_reference_lists_the_audiences_ids_and_suggests_one(runner, mini_copy):
    (mini_copy / "government.yaml").write_text(GOVERNMENT.replace("REF", "share-berth"), encoding="utf-8")
    (line,) = problems(runner, mini_copy)
    assert line.endswith(
        "refs[0]: unknown recommendation 'share-berth'; did you mean 'share-berths'? "
        "(recommendations of government: share-berths)"
    )


# ----- 6. did you mean ------------------------------------------------------------------------------


def test_an_unknown_field_close_to_a_known_one_gets_a_suggestion(runner, mini_copy):
    text = replace_once(
        mini_copy / "business.yaml",
        "        summary: Use the hourly berth data in your own tools.\n",
        "        sumary: Use the hourly berth data in your own tools.\n",
    )
    lines = problems(runner, mini_copy)
    where = f"mini/business.yaml:{line_of(text, 'sumary:')}:{column_of(text, 'sumary:')}"
    assert (
        f"{where}: audiences.business.recommendations[0].sumary: unknown field 'sumary'; "
        "did you mean 'summary'?"
    ) in lines
    assert any(line.endswith("recommendations[0].summary: required field is missing") for line in lines)


def test_unknown_fields_at_every_level_are_matched_against_that_levels_fields(runner, mini_copy):
    replace_once(mini_copy / "strategy.yaml", "\nobjectives:\n", "\nobjectivs: []\nobjectives:\n")
    replace_once(mini_copy / "business.yaml", "    label: Firms\n", "    label: Firms\n    Closing: x\n")
    replace_once(
        mini_copy / "business.yaml",
        "        kind: checklist\n",
        "        kind: checklist\n        intor: x\n",
    )
    replace_once(mini_copy / "business.yaml", "    label: Firms\n", "    label: Firms\n    colour: blue\n")
    lines = problems(runner, mini_copy)
    ends = {line.split(": ", 1)[1] for line in lines}
    assert ends == {
        "objectivs: unknown field 'objectivs'; did you mean 'objectives'?",
        "audiences.business.Closing: unknown field 'Closing'; did you mean 'closing'?",
        "audiences.business.sections[0].intor: unknown field 'intor'; did you mean 'intro'?",
        "audiences.business.colour: unknown field",  # nothing close: the path names it
    }


def test_an_unknown_id_close_to_a_known_one_gets_a_suggestion(runner, mini_copy):
    text = replace_once(
        mini_copy / "business.yaml", "          - safe-sharing\n", "          - safe-sharin\n"
    )
    (line,) = problems(runner, mini_copy)
    assert line == (
        f"mini/business.yaml:{line_of(text, '- safe-sharin')}:{column_of(text, 'safe-sharin')}: "
        "audiences.business.recommendations[1].focus_areas[0]: unknown focus area 'safe-sharin'; "
        "did you mean 'safe-sharing'? (known: safe-sharing)"
    )


def test_many_known_ids_are_counted_not_all_listed(runner, mini_copy):
    extra = "".join(f"  - id: quay-{i:02}\n    name: Quay {i}\n    summary: A quay.\n" for i in range(30))
    replace_once(mini_copy / "strategy.yaml", "\nregions:\n", f"\nregions:\n{extra}")
    replace_once(mini_copy / "business.yaml", "          - north-quay\n", "          - south-quay\n")
    (line,) = problems(runner, mini_copy)
    assert "unknown region 'south-quay'; did you mean 'north-quay'? (known: north-quay, quay-00," in line
    assert line.endswith("and 16 more)")


# ----- 7. an audience without a template ------------------------------------------------------------


def test_an_audience_without_a_template_is_reported_with_the_templates_to_choose(runner, mini_copy, tmp_path):
    text = replace_once(mini_copy / "business.yaml", "  business:\n", "  firms:\n")
    (line,) = problems(runner, mini_copy)
    assert line == (
        f"mini/business.yaml:{line_of(text, 'firms:')}:3: audiences.firms: no template firms.html.j2 in "
        "the built-in templates; set audiences.firms.template to one of: business, government"
    )
    folder = tmp_path / "look"
    folder.mkdir()
    (line,) = problems(runner, mini_copy, "--templates", folder)
    assert "no template firms.html.j2 in look, the built-in templates; set audiences.firms.template" in line
    (folder / "firms.html.j2").write_text('{% extends "builtin/business.html.j2" %}\n', encoding="utf-8")
    passes(runner, mini_copy, "--templates", folder)
    (line,) = problems(runner, mini_copy)  # without the folder it is missing again


def test_an_audience_template_names_the_template_that_renders_it(runner, mini_copy, tmp_path):
    replace_once(mini_copy / "business.yaml", "  business:\n", "  firms:\n")
    text = replace_once(
        mini_copy / "business.yaml", "    label: Firms\n", "    label: Firms\n    template: business\n"
    )
    passes(runner, mini_copy)
    replace_once(mini_copy / "business.yaml", "    template: business\n", "    template: harbour\n")
    text = (mini_copy / "business.yaml").read_text(encoding="utf-8")
    folder = tmp_path / "look"
    folder.mkdir()
    (folder / "ferries.html.j2").write_text("x\n", encoding="utf-8")
    (folder / "base.html.j2").write_text("x\n", encoding="utf-8")
    (line,) = problems(runner, mini_copy, "--templates", folder)
    assert line == (
        f"mini/business.yaml:{line_of(text, 'template: harbour')}:{column_of(text, 'template: harbour')}: "
        "audiences.firms.template: no template harbour.html.j2 in look, the built-in templates; "
        "set audiences.firms.template to one of: business, ferries, government"
    )


# ----- 8. stakeholder lists ---------------------------------------------------------------------------


def batch_problems(runner, listing: Path) -> list[str]:
    result = runner.invoke(main, ["batch", str(listing), "--format", "html", "--out", "out"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    first, *lines = result.stderr.splitlines()
    assert first.startswith("Error: ") and all(PROBLEM.match(line) for line in lines), result.stderr
    assert not Path("out").exists()
    return lines


def test_list_problems_name_the_column_of_the_value(runner, tmp_path):
    listing = tmp_path / "list.csv"
    listing.write_text(
        ",".join(COLUMNS)
        + ",language\n"
        + "a1,Ann,Org,pirates,,,atlantis,,infrastructure;nope,odt,en_GB\n"  # 2
        + '"a2","Bob","Org, Inc",busines,"no-at",,,,,,\n'  # 3: quoted cells
        + "a1,Cy\x01,Org,business\n"  # 4: a short row
        + ",Di,Org,business\n",  # 5
        encoding="utf-8",
    )
    lines = batch_problems(runner, listing)
    assert lines == [
        "list.csv:2:4: audience: unknown audience 'pirates' (known: business, government)",
        "list.csv:2:7: region: unknown region 'atlantis' (known: africa, asia, developed-partners, "
        "latin-america, mediterranean, neighbourhood, western-balkans)",
        "list.csv:2:9: focus: unknown focus area 'nope' (known: cybersecurity, digital-governance, "
        "emerging-tech, infrastructure, online-platforms, public-infrastructure)",
        "list.csv:2:10: formats: unknown format 'odt' (known: docx, html, pdf)",
        "list.csv:2:11: language: 'en_GB' is not a language tag: did you mean 'en-GB'? (use '-', not '_')",
        "list.csv:3:4: audience: unknown audience 'busines'; did you mean 'business'? "
        "(known: business, government)",
        "list.csv:3:5: email: 'no-at' is not an e-mail address (no '@')",
        "list.csv:4:1: id: duplicate id 'a1' (first on line 2)",
        "list.csv:4:2: name: control character U+0001 is not allowed",
        "list.csv:5:1: id: required value is missing",
    ]


def test_a_header_with_spaces_and_a_short_row_place_values_in_their_columns(runner, tmp_path):
    listing = tmp_path / "list.csv"
    listing.write_text(" id , Name ,  audience ,region\nb1,Ann,pirates\nb2\n", encoding="utf-8")
    assert batch_problems(runner, listing) == [
        "list.csv:2:3: audience: unknown audience 'pirates' (known: business, government)",
        "list.csv:3:2: name: required value is missing",  # the short row's missing cells: their columns
        "list.csv:3:3: audience: required value is missing",
    ]


def test_yaml_list_problems_are_placed_at_the_key_or_the_item(runner, tmp_path):
    listing = tmp_path / "list.yaml"
    listing.write_text(
        "stakeholders:\n"
        "  - id: y1\n    name: Ann\n    audience: business\n    focus: [cybersecurity, nope]\n"  # 2-5
        "  - id: y2\n    audience: buisness\n    language: english\n",  # 6-8
        encoding="utf-8",
    )
    lines = batch_problems(runner, listing)
    assert lines[0] == (
        "list.yaml:5:28: focus: unknown focus area 'nope' (known: cybersecurity, digital-governance, "
        "emerging-tech, infrastructure, online-platforms, public-infrastructure)"
    )
    assert lines[1:3] == [
        "list.yaml:6:5: name: required value is missing",  # absent: at its row
        "list.yaml:7:5: audience: unknown audience 'buisness'; did you mean 'business'? "
        "(known: business, government)",
    ]
    assert lines[3].startswith("list.yaml:8:5: language: 'english' is not a language tag: did you mean 'en'?")
    assert len(lines) == 4


def test_the_language_column_is_normalised_and_carried_to_the_reader(shipped, tmp_path):
    listing = tmp_path / "list.csv"
    listing.write_text(
        "id,name,audience,language\nf1,Fleur,business,fr-fr\ne1,Emma,government,\n", encoding="utf-8"
    )
    french, plain = load(listing, shipped.strategy)
    assert (french.language, plain.language) == ("fr-FR", None)
    assert french.reader().language == "fr-FR"
    assert french.reader().audience is None  # the reader is who the person is, not what they get
    with pytest.raises(ContentError) as caught:
        listing.write_text("id,name,audience,language\nx1,X,business,xx-yy-zz\n", encoding="utf-8")
        load(listing, shipped.strategy)
    (problem,) = caught.value.problems
    assert (problem.line, problem.column, problem.path) == (2, 4, "language")
    assert "a BCP 47 tag is a language code" in problem.message
