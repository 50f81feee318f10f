"""Tailoring: what each brief says and in which order, before any template runs."""

from __future__ import annotations

import pytest
from helpers import replace_once

from briefgen.errors import UsageError
from briefgen.stakeholders import Stakeholder
from briefgen.tailor import SUMMARY_ENTRIES, SUMMARY_FULL, Options, tailor
from briefgen.validate import validate


def ids(views) -> list[str]:
    return [v.rec.id for v in views]


@pytest.mark.parametrize("audience", ["business", "government"])
def test_each_audience_gets_its_own_recommendations_in_content_order(shipped, audience):
    s = shipped.strategy
    brief = tailor(s, Options(audience))
    assert ids(brief.recommendations) == [r.id for r in s.audiences[audience].recommendations]
    assert [v.number for v in brief.recommendations] == list(range(1, len(brief.recommendations) + 1))
    assert brief.title == s.audiences[audience].brief_title
    assert brief.sections == tuple(s.audiences[audience].sections)
    others = {r.id for name, a in s.audiences.items() if name != audience for r in a.recommendations}
    assert not others & set(ids(brief.recommendations))


def cover_subtitle(brief) -> str:
    """The subtitle line a reader sees on the brief's cover."""
    import lxml.html

    from briefgen.render import render

    doc = lxml.html.document_fromstring(render(brief).html)
    return " ".join(doc.find_class("subtitle")[0].text_content().split())


def test_without_focus_every_recommendation_is_full(shipped):
    brief = tailor(shipped.strategy, Options("business"))
    assert all(v.full for v in brief.recommendations)
    assert not any(v.in_focus for v in brief.recommendations)
    assert brief.focus == ()
    assert cover_subtitle(brief) == shipped.strategy.audiences["business"].description


def test_focus_puts_serving_recommendations_first_and_in_full(shipped):
    s = shipped.strategy
    brief = tailor(s, Options("business", focus=("cybersecurity",)))
    recs = s.audiences["business"].recommendations
    serving = [r.id for r in recs if "cybersecurity" in r.focus_areas]
    rest = [r.id for r in recs if "cybersecurity" not in r.focus_areas]
    assert serving, "the shipped content has business recommendations on cybersecurity"
    assert ids(brief.recommendations) == serving + rest
    for view in brief.recommendations:
        assert view.full is (view.rec.id in serving)
        assert view.in_focus is (view.rec.id in serving)
    assert [a.id for a in brief.focus] == ["cybersecurity"]
    assert brief.focus_areas[0].area.id == "cybersecurity" and brief.focus_areas[0].in_focus
    assert not any(v.in_focus for v in brief.focus_areas[1:])
    assert cover_subtitle(brief) == "Focus: Cybersecurity"


def test_several_focus_areas_rank_by_the_order_given(shipped):
    s = shipped.strategy
    brief = tailor(s, Options("government", focus=("online-platforms", "infrastructure")))
    recs = s.audiences["government"].recommendations
    first = [r.id for r in recs if "online-platforms" in r.focus_areas]
    second = [r.id for r in recs if "infrastructure" in r.focus_areas and r.id not in first]
    assert first and second
    assert ids(brief.recommendations)[: len(first) + len(second)] == first + second
    assert [v.area.id for v in brief.focus_areas[:2]] == ["online-platforms", "infrastructure"]


def test_summary_condenses_everything_and_drops_the_context(shipped):
    s = shipped.strategy
    brief = tailor(s, Options("business", length="summary"))
    assert brief.summary
    assert not any(v.full for v in brief.recommendations)
    assert len(brief.recommendations) == len(s.audiences["business"].recommendations)
    assert brief.context is None
    (section,) = brief.sections
    lead = s.audiences["business"].sections[0]
    assert section.id == lead.id
    assert section.entries == lead.entries[:SUMMARY_ENTRIES]
    assert len(section.entries) < len(lead.entries)


def test_summary_with_region_keeps_only_the_region_profile(shipped):
    brief = tailor(shipped.strategy, Options("government", length="summary", region="western-balkans"))
    assert brief.context is not None
    assert brief.context.region.id == "western-balkans"
    assert brief.context.regions == () and brief.context.initiatives == ()


def test_summary_gives_at_most_three_focused_recommendations_in_full(shipped):
    brief = tailor(
        shipped.strategy, Options("business", length="summary", focus=("cybersecurity", "online-platforms"))
    )
    focused = [v for v in brief.recommendations if v.in_focus]
    assert len(focused) > SUMMARY_FULL
    assert [v.full for v in focused] == [True] * SUMMARY_FULL + [False] * (len(focused) - SUMMARY_FULL)
    assert not any(v.full for v in brief.recommendations if not v.in_focus)


def test_summary_with_focus_keeps_focused_recommendations_in_full(shipped):
    brief = tailor(shipped.strategy, Options("business", length="summary", focus=("online-platforms",)))
    assert brief.context is None
    assert sum(v.in_focus for v in brief.recommendations) <= SUMMARY_FULL
    assert all(v.full == v.in_focus for v in brief.recommendations)
    assert any(v.full for v in brief.recommendations)


def test_full_brief_carries_the_whole_context(shipped):
    s = shipped.strategy
    brief = tailor(s, Options("government"))
    assert brief.context is not None
    assert brief.context.region is None
    assert brief.context.initiatives == tuple(s.initiatives)
    assert brief.context.regions == tuple(s.regions)


@pytest.mark.parametrize("region", ["western-balkans", "developed-partners", "mediterranean"])
def test_region_brings_its_profile_and_only_its_initiatives(shipped, region):
    s = shipped.strategy
    brief = tailor(s, Options("government", region=region))
    assert brief.region is not None and brief.region.id == region
    assert brief.context.region == brief.region
    tagged = [i.id for i in s.initiatives if region in i.regions]
    assert tagged, "every shipped region has at least one initiative"
    assert [i.id for i in brief.context.initiatives] == tagged
    assert cover_subtitle(brief) == f"Region: {brief.region.name}"


def test_region_recommendations_follow_focused_ones(shipped):
    s = shipped.strategy
    brief = tailor(s, Options("business", focus=("cybersecurity",), region="developed-partners"))
    order = ids(brief.recommendations)
    recs = {r.id: r for r in s.audiences["business"].recommendations}
    kinds = [
        0 if "cybersecurity" in recs[i].focus_areas else 1 if "developed-partners" in recs[i].regions else 2
        for i in order
    ]
    assert kinds == sorted(kinds)
    assert 1 in kinds
    assert all(v.in_region == ("developed-partners" in v.rec.regions) for v in brief.recommendations)


def test_region_figures_come_first(shipped):
    s = shipped.strategy
    brief = tailor(s, Options("business", region="western-balkans"))
    tagged = [f.id for f in s.figures if "western-balkans" in f.regions]
    assert [f.id for f in brief.figures[: len(tagged)]] == tagged


@pytest.mark.parametrize(
    ("options", "flag", "valid"),
    [
        (Options("investors"), "--audience", "business, government"),
        (Options("business", focus=("cybersecurity", "space")), "--focus", None),
        (Options("business", region="atlantis"), "--region", None),
    ],
)
def test_unknown_ids_are_usage_errors_naming_the_flag_and_valid_ids(shipped, options, flag, valid):
    s = shipped.strategy
    with pytest.raises(UsageError) as info:
        tailor(s, options)
    message = info.value.message
    assert info.value.exit_code == 2
    assert message.startswith(f"{flag}: unknown value")
    if flag == "--audience":
        assert valid in message
    choices = {"--focus": [a.id for a in s.focus_areas], "--region": [r.id for r in s.regions]}
    for known in choices.get(flag, []):
        assert known in message


def test_stakeholder_is_on_the_brief(shipped):
    person = Stakeholder("Ada Lovelace", "Analytical Engines Ltd", "Computing", "UK")
    brief = tailor(shipped.strategy, Options("business", stakeholder=person))
    assert brief.stakeholder == person
    assert brief.stakeholder.line == "Ada Lovelace, Analytical Engines Ltd"
    assert tailor(shipped.strategy, Options("business")).stakeholder is None


def test_recommendation_views_resolve_their_references(shipped):
    s = shipped.strategy
    areas = {a.id: a for a in s.focus_areas}
    objectives = {o.id: o for o in s.objectives}
    for view in tailor(s, Options("government")).recommendations:
        assert view.focus_areas == tuple(areas[f] for f in view.rec.focus_areas)
        assert view.objectives == tuple(objectives[o] for o in view.rec.objectives)


def test_region_without_initiatives_shows_none_of_the_others(mini_copy):
    replace_once(
        mini_copy / "strategy.yaml",
        "initiatives:\n",
        "  - id: south-quay\n    name: South Quay\n    summary: The newer, quieter half.\n\ninitiatives:\n",
    )
    brief = tailor(validate(mini_copy).strategy, Options("business", region="south-quay"))
    assert brief.context.region.id == "south-quay"
    assert brief.context.initiatives == ()
