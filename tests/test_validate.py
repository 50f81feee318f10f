"""Validation: the shipped content is valid; broken content reports every problem with its place."""

from __future__ import annotations

import re

import pytest
from helpers import column_of, line_of, replace_once

from briefgen.errors import ContentError
from briefgen.paths import builtin_content
from briefgen.validate import validate

# The focus areas of biz-tech-offer, the only list in business.yaml that starts this way.
OFFER_AREAS = (
    "        focus_areas:\n"
    "          - infrastructure\n"
    "          - emerging-tech\n"
    "          - public-infrastructure\n"
)


def rec_index(content, audience: str, rec_id: str) -> int:
    ids = [r.id for r in content.strategy.audiences[audience].recommendations]
    return ids.index(rec_id)


def errors_of(source) -> ContentError:
    with pytest.raises(ContentError) as info:
        validate(source)
    return info.value


def test_shipped_content_validates(shipped):
    s = shipped.strategy
    assert len(s.objectives) == 3
    assert len(s.focus_areas) == 6
    assert sorted(s.audiences) == ["business", "government"]
    assert len(s.audiences["business"].recommendations) == 8
    assert len(s.audiences["government"].recommendations) == 8
    assert {p.name for p in shipped.files} == {p.name for p in builtin_content().glob("*.yaml")}
    assert re.fullmatch(r"[0-9a-f]{64}", shipped.digest)


def test_shipped_cross_references_resolve(shipped):
    s = shipped.strategy
    areas = {a.id for a in s.focus_areas}
    objectives = {o.id for o in s.objectives}
    for audience in s.audiences.values():
        for rec in audience.recommendations:
            assert set(rec.focus_areas) <= areas
            assert set(rec.objectives) <= objectives


def test_field_problems_in_several_files_are_all_reported(shipped, content_copy):
    business = content_copy / "business.yaml"
    government = content_copy / "government.yaml"
    strategy = content_copy / "strategy.yaml"
    replace_once(business, "      - id: biz-standards\n", "      - id: biz-standards\n        colour: blue\n")
    btext = replace_once(business, "      - id: biz-platforms\n", "      - id: Biz_Platforms\n")
    stext = replace_once(
        strategy,
        "  - id: governance\n    title: Strengthen global digital governance\n",
        "  - id: governance\n",
    )
    gtext = replace_once(government, "    label: Governments\n", "    label: Governments\n    tone: formal\n")

    error = errors_of(content_copy)
    std = rec_index(shipped, "business", "biz-standards")
    plat = rec_index(shipped, "business", "biz-platforms")
    objective = [o.id for o in shipped.strategy.objectives].index("governance")
    expected = {
        (
            "content/business.yaml",
            line_of(btext, "colour: blue"),
            column_of(btext, "colour: blue"),
            f"audiences.business.recommendations[{std}].colour",
            "unknown field",
        ),
        (
            "content/business.yaml",
            line_of(btext, "id: Biz_Platforms"),
            column_of(btext, "id: Biz_Platforms"),
            f"audiences.business.recommendations[{plat}].id",
            "not a valid id: use lower-case letters, digits and single hyphens",
        ),
        (
            # A missing field is reported where its record starts.
            "content/strategy.yaml",
            line_of(stext, "- id: governance"),
            column_of(stext, "id: governance"),
            f"objectives[{objective}].title",
            "required field is missing",
        ),
        (
            "content/government.yaml",
            line_of(gtext, "tone: formal"),
            column_of(gtext, "tone: formal"),
            "audiences.government.tone",
            "unknown field",
        ),
    }
    # Renaming biz-platforms also orphans the lead-section entries that point at it:
    # those are reported in the same run as the field problems.
    orphans = [p for p in error.problems if p.message.startswith("unknown recommendation 'biz-platforms'")]
    assert orphans and all(".refs[" in p.path for p in orphans)
    got = {(p.file, p.line, p.column, p.path, p.message) for p in error.problems if p not in orphans}
    assert got == expected
    assert error.exit_code == 1
    assert error.message.startswith(f"{4 + len(orphans)} content problems:\n")
    for file, line, col, path, message in expected:
        assert f"{file}:{line}:{col}: {path}: {message}" in error.message.splitlines()


def test_reference_problems_are_all_reported(shipped, content_copy):
    business = content_copy / "business.yaml"
    replace_once(business, OFFER_AREAS, OFFER_AREAS.replace("- infrastructure", "- no-such-area"))
    replace_once(
        business,
        "          - tech-business-offer\n          - governance\n",
        "          - nowhere\n          - governance\n",
    )
    text = business.read_text(encoding="utf-8")

    error = errors_of(content_copy)
    offer = rec_index(shipped, "business", "biz-tech-offer")
    public = rec_index(shipped, "business", "biz-public-infrastructure")
    by_path = {p.path: p for p in error.problems}
    assert set(by_path) == {
        f"audiences.business.recommendations[{offer}].focus_areas[0]",
        f"audiences.business.recommendations[{public}].objectives[0]",
    }
    area = by_path[f"audiences.business.recommendations[{offer}].focus_areas[0]"]
    assert (area.file, area.line, area.column) == (
        "content/business.yaml",
        line_of(text, "- no-such-area"),
        column_of(text, "no-such-area"),
    )
    assert "unknown focus area 'no-such-area'" in area.message
    for known in (a.id for a in shipped.strategy.focus_areas):
        assert known in area.message
    objective = by_path[f"audiences.business.recommendations[{public}].objectives[0]"]
    assert objective.line == line_of(text, "- nowhere")
    assert "unknown objective 'nowhere'" in objective.message


def test_field_and_reference_problems_are_reported_together(shipped, content_copy):
    business = content_copy / "business.yaml"
    replace_once(business, OFFER_AREAS, OFFER_AREAS.replace("- infrastructure", "- no-such-area"))
    replace_once(business, "      - id: biz-standards\n", "      - id: biz-standards\n        colour: blue\n")
    replace_once(business, "      - id: biz-platforms\n", "      - id: Biz_Platforms\n")
    replace_once(
        content_copy / "strategy.yaml",
        "  - id: governance\n    title: Strengthen global digital governance\n",
        "  - id: governance\n",
    )
    error = errors_of(content_copy)
    offer = rec_index(shipped, "business", "biz-tech-offer")
    paths = {p.path for p in error.problems}
    assert f"audiences.business.recommendations[{offer}].focus_areas[0]" in paths
    orphans = [p for p in error.problems if p.message.startswith("unknown recommendation 'biz-platforms'")]
    assert len(error.problems) - len(orphans) == 4


def test_duplicate_recommendation_id_is_reported(shipped, content_copy):
    business = content_copy / "business.yaml"
    text = replace_once(business, "      - id: biz-cybersecurity\n", "      - id: biz-emerging-tech\n")
    # The entries that pointed at the renamed recommendation are now broken references too.
    error = errors_of(content_copy)
    dup = [p for p in error.problems if "duplicate" in p.message]
    assert len(dup) == 1
    index = rec_index(shipped, "business", "biz-cybersecurity")
    assert dup[0].path == f"audiences.business.recommendations[{index}].id"
    assert dup[0].message == "duplicate recommendation id 'biz-emerging-tech'"
    second = text.index("      - id: biz-emerging-tech\n", text.index("      - id: biz-emerging-tech\n") + 1)
    assert dup[0].line == text[:second].count("\n") + 1
    assert any("unknown recommendation 'biz-cybersecurity'" in p.message for p in error.problems)


def test_recommendation_id_shared_across_audiences_is_reported(content_copy):
    replace_once(
        content_copy / "government.yaml", "      - id: gov-platforms\n", "      - id: biz-platforms\n"
    )
    error = errors_of(content_copy)
    assert any(p.message == "duplicate recommendation id 'biz-platforms'" for p in error.problems)


def test_bad_audience_key_has_a_clean_field_path(content_copy):
    text = replace_once(content_copy / "government.yaml", "  government:\n", "  Government:\n")
    (problem,) = errors_of(content_copy).problems
    assert problem.path == "audiences.Government"
    assert problem.line == line_of(text, "Government:")


def test_wrong_types_are_reported_not_coerced(mini_copy):
    text = replace_once(
        mini_copy / "strategy.yaml", "  presented: 2024-03-14\n", "  presented: 14 March 2024\n"
    )
    (problem,) = errors_of(mini_copy).problems
    assert problem.path == "strategy.presented"
    assert problem.line == line_of(text, "presented:")
    assert "date" in problem.message


def test_yaml_11_words_survive_validation_as_text(mini_copy):
    replace_once(mini_copy / "strategy.yaml", "    title: Open the port's data\n", "    title: No\n")
    replace_once(mini_copy / "business.yaml", "    label: Firms\n", "    label: 0755\n")
    replace_once(mini_copy / "business.yaml", "        title: First moves\n", "        title: 2025-06-05\n")
    strategy = validate(mini_copy).strategy
    assert strategy.objectives[0].title == "No"
    assert strategy.audiences["business"].label == "0755"
    assert strategy.audiences["business"].sections[0].title == "2025-06-05"


def test_loader_problems_stop_before_the_model(content_copy):
    text = replace_once(
        content_copy / "strategy.yaml", "  language: en\n", "  language: en\n  language: fr\n"
    )
    (problem,) = errors_of(content_copy).problems
    assert (problem.file, problem.line) == ("content/strategy.yaml", line_of(text, "language: fr"))
    assert "duplicate key 'language'" in problem.message
