"""Rendering: the semantic HTML a reader (and every writer) sees.

The golden file ``tests/data/golden/mini-business.html`` is the rendered business brief of
the mini fixture. After an intended change to templates or rendering, regenerate it with::

    BRIEFGEN_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_render.py -k golden

and review the diff before committing it.
"""

from __future__ import annotations

import difflib
import os
import re
from collections import Counter

import lxml.html
import pytest
from helpers import AUDIENCES, GOLDEN, MINI, replace_once

from briefgen.errors import RenderError
from briefgen.render import render
from briefgen.stakeholders import Stakeholder
from briefgen.tailor import Options, tailor
from briefgen.validate import validate


def parse(html: str):
    return lxml.html.document_fromstring(html)


def text(el) -> str:
    return " ".join(el.text_content().split())


def brief_html(content, audience: str, **options) -> str:
    return render(tailor(content.strategy, Options(audience, **options))).html


@pytest.fixture(scope="module")
def documents(shipped):
    return {audience: parse(brief_html(shipped, audience)) for audience in AUDIENCES}


# --- what the reader finds ------------------------------------------------------------------


@pytest.mark.parametrize("audience", AUDIENCES)
def test_all_objectives_and_recommendations_appear_as_headings(shipped, documents, audience):
    doc = documents[audience]
    s = shipped.strategy
    headings = [text(h) for h in doc.iter("h1", "h2", "h3")]
    for objective in s.objectives:
        assert objective.title in headings
    rec_headings = [text(a.find("h2")) for a in doc.find_class("recommendation")]
    titles = [re.sub(r"^\d+\.\s+", "", h) for h in rec_headings]
    assert titles == [r.title for r in s.audiences[audience].recommendations]
    assert [h.split(".")[0] for h in rec_headings] == [str(n) for n in range(1, len(titles) + 1)]
    assert doc.find(".//title").text == s.audiences[audience].brief_title


@pytest.mark.parametrize("audience", AUDIENCES)
def test_headings_have_unique_ids(documents, audience):
    doc = documents[audience]
    heading_ids = [h.get("id") for h in doc.iter("h1", "h2")]
    assert all(heading_ids)
    assert len(heading_ids) == len(set(heading_ids))
    every_id = Counter(el.get("id") for el in doc.iter() if el.get("id"))
    assert [i for i, n in every_id.items() if n > 1] == []


@pytest.mark.parametrize("audience", AUDIENCES)
def test_toc_links_every_chapter_and_section_in_order(documents, audience):
    doc = documents[audience]
    (nav,) = [n for n in doc.iter("nav") if "toc" in n.get("class", "").split()]
    links = nav.findall(".//a")
    headings = list(doc.iter("h1", "h2"))
    assert [a.get("href") for a in links] == [f"#{h.get('id')}" for h in headings]
    assert [text(a) for a in links] == [text(h) for h in headings]
    ids = {el.get("id") for el in doc.iter() if el.get("id")}
    assert all(a.get("href")[1:] in ids for a in links)
    # Chapters (h1) are the top level; their sections (h2) nest inside.
    assert len(nav.find("ol").findall("li")) == len(list(doc.iter("h1")))


def chapter_ids(doc) -> list[str]:
    return [s.get("id") for s in doc.body if s.tag == "section" and "chapter" in s.get("class", "")]


def test_business_leads_with_its_sections(shipped, documents):
    chapters = chapter_ids(documents["business"])
    assert chapters[:3] == ["introduction", "at-a-glance", "lead"]
    assert chapters.index("lead") < chapters.index("strategy")
    first = shipped.strategy.audiences["business"].sections[0]
    lead = documents["business"].get_element_by_id("lead")
    assert text(lead.find_class("lead-section")[0].find("h2")) == first.title


def test_government_sets_out_the_strategy_before_its_sections(shipped, documents):
    chapters = chapter_ids(documents["government"])
    assert chapters[:3] == ["introduction", "at-a-glance", "strategy"]
    assert chapters.index("strategy") < chapters.index("lead") < chapters.index("recommendations")
    first = shipped.strategy.audiences["government"].sections[0]
    lead = documents["government"].get_element_by_id("lead")
    assert text(lead.find_class("lead-section")[0].find("h2")) == first.title


def test_focus_marks_the_focused_recommendations(shipped):
    doc = parse(brief_html(shipped, "business", focus=("cybersecurity",)))
    articles = doc.find_class("recommendation")
    focused = [a for a in articles if "in-focus" in a.get("class").split()]
    condensed = [a for a in articles if "condensed" in a.get("class").split()]
    serving = [
        r for r in shipped.strategy.audiences["business"].recommendations if "cybersecurity" in r.focus_areas
    ]
    assert [a.get("id") for a in focused] == [f"rec-{r.id}" for r in serving]
    assert articles[: len(focused)] == focused
    assert len(focused) + len(condensed) == len(articles)
    assert all(a.find_class("callout-actions") for a in focused)
    assert not any(a.find_class("callout-actions") for a in condensed)


def test_summary_has_no_contents_and_no_context(shipped):
    doc = parse(brief_html(shipped, "business", length="summary"))
    assert not [n for n in doc.iter("nav") if "toc" in n.get("class", "")]
    assert "context" not in chapter_ids(doc)
    assert not doc.find_class("callout-actions")


def test_region_brief_shows_the_region_profile(shipped):
    doc = parse(brief_html(shipped, "government", region="western-balkans"))
    context = doc.get_element_by_id("context")
    assert "Western Balkans" in text(context.find("h2"))
    shown = [s.get("id") for s in context.find_class("initiative")]
    tagged = [f"initiative-{i.id}" for i in shipped.strategy.initiatives if "western-balkans" in i.regions]
    assert shown == tagged


# --- safety: content is text, not markup ----------------------------------------------------


HOSTILE = (
    "Read *this* and [the site](https://example.org/x?a=1&b=2).\n\n"
    "<script>alert(1)</script> <img src=x onerror=alert(2)>\n\n"
    "[bad](javascript:alert(3)) [local](file:///etc/passwd) [mail](mailto:desk@example.org)"
)


@pytest.fixture
def hostile_doc(mini_copy):
    body = "\n".join("          " + line for line in HOSTILE.splitlines())
    replace_once(
        mini_copy / "business.yaml",
        "        rationale: Early users shape the feed's format.\n",
        f"        rationale: |-\n{body}\n",
    )
    return parse(brief_html(validate(mini_copy), "business"))


def test_markdown_renders_emphasis_and_web_links(hostile_doc):
    article = hostile_doc.get_element_by_id("rec-use-feed")
    assert [text(e) for e in article.iter("em")] == ["this"]
    hrefs = {a.get("href"): text(a) for a in article.iter("a")}
    assert hrefs == {"https://example.org/x?a=1&b=2": "the site", "mailto:desk@example.org": "mail"}


def test_raw_html_in_content_is_shown_as_text(hostile_doc):
    assert list(hostile_doc.iter("script")) == []
    assert list(hostile_doc.iter("img")) == []
    assert not [el for el in hostile_doc.iter() if any(a.startswith("on") for a in el.attrib)]
    shown = text(hostile_doc.get_element_by_id("rec-use-feed"))
    assert "<script>alert(1)</script>" in shown
    assert "<img src=x onerror=alert(2)>" in shown


def test_unsafe_link_schemes_are_not_links(hostile_doc):
    hrefs = [a.get("href", "") for a in hostile_doc.iter("a")]
    assert not [h for h in hrefs if h.lower().startswith(("javascript:", "file:"))]
    shown = text(hostile_doc.get_element_by_id("rec-use-feed"))
    assert "[bad](javascript:alert(3))" in shown
    assert "[local](file:///etc/passwd)" in shown


def test_stakeholder_markup_is_escaped(shipped):
    person = Stakeholder("<b>Eve</b>", "Evil & Co <i>Ltd</i>")
    doc = parse(brief_html(shipped, "business", stakeholder=person))
    (line,) = doc.find_class("prepared-for")
    assert list(line.iter("b")) == [] and list(line.iter("i")) == []
    assert text(line) == "Prepared for <b>Eve</b>, Evil & Co <i>Ltd</i>"


def test_prepared_for_appears_only_with_a_stakeholder(shipped, documents):
    person = Stakeholder("Grace Hopper", "Navy Labs", "Research", "US")
    doc = parse(brief_html(shipped, "government", stakeholder=person))
    (line,) = doc.find_class("prepared-for")
    assert text(line) == "Prepared for Grace Hopper, Navy Labs (Research, US)"
    # only the cover names the reader: the rest of a personalised brief is shared with its group
    assert text(doc.body).count("Grace Hopper") == 1
    for audience in AUDIENCES:
        assert documents[audience].find_class("prepared-for") == []
        assert "Prepared for" not in text(documents[audience].body)


# --- errors ---------------------------------------------------------------------------------


def test_missing_audience_template_is_a_render_error(mini_copy):
    text_ = (
        (mini_copy / "business.yaml")
        .read_text(encoding="utf-8")
        .replace("  business:\n", "  investors:\n", 1)
    )
    (mini_copy / "business.yaml").write_text(text_, encoding="utf-8")
    brief = tailor(validate(mini_copy).strategy, Options("investors"))
    with pytest.raises(RenderError) as info:
        render(brief)
    assert "investors.html.j2" in info.value.message
    assert info.value.exit_code == 1


def test_template_error_names_the_template_and_line(mini_copy, tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "business.html.j2").write_text(
        '{% extends "base.html.j2" %}\n{% block closing %}\n{{ brief.no_such_field }}\n{% endblock %}\n',
        encoding="utf-8",
    )
    brief = tailor(validate(mini_copy).strategy, Options("business"))
    with pytest.raises(RenderError) as info:
        render(brief, templates=(folder,))
    assert "business.html.j2:3" in info.value.message
    assert "no_such_field" in info.value.message


def test_templates_run_in_a_sandbox(mini_copy, tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "business.html.j2").write_text("{{ brief.__class__.__init__.__globals__ }}\n", encoding="utf-8")
    brief = tailor(validate(mini_copy).strategy, Options("business"))
    with pytest.raises(RenderError) as info:
        render(brief, templates=(folder,))
    assert "unsafe" in info.value.message or "__class__" in info.value.message


# --- content that is not the shipped strategy ------------------------------------------------


def test_strategy_headings_do_not_miscount(mini_copy):
    doc = parse(brief_html(validate(mini_copy), "business"))
    headings = [text(h).lower() for h in doc.iter("h2")]
    assert not [h for h in headings if h.startswith(("three ", "six "))]


def test_lead_section_ids_never_clash_with_chapter_ids(mini_copy):
    replace_once(mini_copy / "business.yaml", "      - id: first-moves\n", "      - id: next-steps\n")
    doc = parse(brief_html(validate(mini_copy), "business"))
    every_id = Counter(el.get("id") for el in doc.iter() if el.get("id"))
    assert [i for i, n in every_id.items() if n > 1] == []


def test_context_without_regions_or_initiatives_has_no_empty_parts(mini_copy):
    strategy = validate(mini_copy).strategy.model_copy(update={"regions": [], "initiatives": []})
    doc = parse(render(tailor(strategy, Options("business"))).html)
    for table in doc.iter("table"):
        assert table.findall(".//tbody/tr"), "a table without rows"
    for heading in doc.iter("h2"):
        following = heading.getnext()
        assert following is not None and following.tag not in {"h1", "h2"}, text(heading)


# --- golden file ----------------------------------------------------------------------------


def test_golden_mini_business_brief():
    html = render(tailor(validate(MINI).strategy, Options("business"))).html
    golden = GOLDEN / "mini-business.html"
    if os.environ.get("BRIEFGEN_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(html, encoding="utf-8")
        pytest.skip(f"rewrote {golden.name}; review the diff")
    expected = golden.read_text(encoding="utf-8")
    if html != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True), html.splitlines(keepends=True), "golden", "rendered"
            )
        )
        pytest.fail(
            f"rendered HTML differs from {golden.name} (BRIEFGEN_UPDATE_GOLDEN=1 rewrites it):\n{diff}"
        )
