"""The pictures a reader sees: charts of key figures and the strategy at a glance, in every format."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pikepdf
import pytest
import yaml
from helpers import html_tree
from lxml import etree

from briefgen.i18n import language
from briefgen.pictures import glance, text
from briefgen.pictures.build import colours_of, glance_data, glance_picture
from briefgen.render import render, template_dirs
from briefgen.tailor import Options, tailor
from briefgen.validate import validate

SVG = "{http://www.w3.org/2000/svg}"


def _figures(pdf: Path) -> list[str]:
    """The alternative texts of the PDF's Figure structure elements."""
    found = []
    with pikepdf.open(pdf) as doc:
        stack = [doc.Root.StructTreeRoot]
        while stack:
            node = stack.pop()
            if isinstance(node, pikepdf.Dictionary):
                if node.get("/S") == "/Figure" and "/Alt" in node:
                    found.append(str(node.Alt))
                kids = node.get("/K")
                if kids is not None:
                    stack.extend(kids if isinstance(kids, pikepdf.Array) else [kids])
            elif isinstance(node, pikepdf.Array):
                stack.extend(node)
    return found


def test_the_pdf_tags_each_chart_and_the_glance_diagram_as_a_figure_with_alt_text_from_its_data(
    shipped_briefs,
):
    alts = _figures(shipped_briefs("pdf")["business.pdf"])
    assert any(a.startswith("Column chart:") and "€3.00/MB" in a and "€0.20/MB" in a for a in alts), alts
    assert any(a.startswith("Bar chart:") and "25\u00a0countries" in a for a in alts), alts
    assert any(a.startswith("Diagram: the strategy at a glance: 3 objectives") for a in alts), alts


def test_the_html_figures_keep_the_element_contract(shipped_briefs):
    tree = html_tree(shipped_briefs("html")["government.html"])
    charts = tree.xpath('//figure[@class="chart"]')
    glances = tree.xpath('//figure[@class="glance"]')
    assert len(charts) == 2 and len(glances) == 1
    for figure in charts + glances:
        svg = figure.find("svg")
        assert svg is not None and svg.get("role") == "img" and svg.get("aria-label")
        assert svg.find("title").text == svg.get("aria-label")
        assert svg.xpath(".//text"), "text stays text"
        assert figure.find("figcaption") is not None
        assert figure.find("details/summary") is not None and figure.findall("details/table")
    roaming = tree.xpath('//figure[@id="chart-wb-data-roaming"]//td/text()')
    assert roaming == ["Before July 2019", "€3.00/MB", "From July 2019", "€0.20/MB"]


def test_the_word_brief_holds_a_native_chart_with_its_workbook_a_png_fallback_and_alt_text(shipped_briefs):
    with zipfile.ZipFile(shipped_briefs("docx")["business.docx"]) as z:
        names = z.namelist()
        chart = z.read("word/charts/chart1.xml").decode()
        rels = z.read("word/charts/_rels/chart1.xml.rels").decode()
        book = z.read("word/embeddings/Microsoft_Excel_Sheet1.xlsx")
        body = z.read("word/document.xml").decode()
    assert "<c:barChart>" in chart and "<c:externalData" in chart and "Microsoft_Excel_Sheet1.xlsx" in rels
    with zipfile.ZipFile(io.BytesIO(book)) as sheet:
        cells = sheet.read("xl/worksheets/sheet1.xml").decode()
    assert "<v>3</v>" in cells and "<v>0.2</v>" in cells
    assert body.count("<mc:AlternateContent") >= 2 and body.count("<mc:Fallback><w:drawing>") >= 2
    assert re.search(r'descr="Column chart: [^"]*€3\.00/MB', body)
    assert re.search(r'descr="Diagram: the strategy at a glance', body)
    assert sum(n.startswith("word/media/") and n.endswith(".png") for n in names) >= 3


def test_a_french_brief_writes_its_chart_in_french(shipped):
    from briefgen.paths import builtin_content
    from briefgen.translate import content_in
    from briefgen.validate import checked

    french = checked(content_in(builtin_content(), "fr").loaded).strategy
    brief = tailor(french, Options(audience="business", language="fr"))
    html = render(brief).html
    assert "Graphique en colonnes : Prix moyen des données mobiles en itinérance" in html
    assert "3,00\u00a0€/Mo" in html and "En un coup d’œil" in html


def _strategy(objectives: int, areas: int, recs: int) -> dict:
    """Content with the given numbers of objectives, focus areas and recommendations (long titles)."""
    words = [
        "Strengthen",
        "trusted",
        "cooperation",
        "on",
        "secure",
        "digital",
        "infrastructure",
        "across",
        "partner",
        "regions",
    ]
    objs = [
        {"id": f"o{i}", "title": " ".join(words[: 4 + i]), "summary": "S.", "points": ["P."]}
        for i in range(objectives)
    ]
    fas = [
        {
            "id": f"a{i}",
            "title": " ".join(words[i % 3 : i % 3 + 3 + i % 4]),
            "summary": "S.",
            "points": ["P."],
            "objectives": [f"o{i % objectives}", f"o{(i + 1) % objectives}"],
        }
        for i in range(areas)
    ]
    rec_list = [
        {
            "id": f"r{i}",
            "title": " ".join(words[: 3 + i % 8]),
            "summary": "S.",
            "rationale": "R.",
            "actions": ["A."],
            "objectives": [f"o{i % objectives}"],
            "focus_areas": [f"a{i % areas}", f"a{(i * 3) % areas}"][: 1 + i % 2],
            "regions": ["north"] if i % 3 == 0 else [],
        }
        for i in range(recs)
    ]
    return {
        "strategy": {"id": "s", "title": "T", "issuer": ["I"], "presented": "2025-01-01", "overview": "O."},
        "objectives": objs,
        "focus_areas": fas,
        "regions": [{"id": "north", "name": "North", "summary": "N."}],
        "audiences": {
            "business": {
                "label": "Firms",
                "brief_title": "B",
                "description": "D",
                "intro": "I.",
                "recommendations": rec_list,
                "closing": "C.",
            }
        },
    }


@pytest.mark.parametrize(("objectives", "areas", "recs"), [(2, 3, 4), (6, 10, 12), (6, 3, 12), (2, 10, 4)])
@pytest.mark.parametrize("form", ["matrix", "columns"])
def test_the_glance_diagram_shows_every_title_inside_the_page_width_at_the_extremes(
    tmp_path, objectives, areas, recs, form
):
    source = tmp_path / "c.yaml"
    source.write_text(yaml.safe_dump(_strategy(objectives, areas, recs)), encoding="utf-8")
    strategy = validate(source).strategy
    brief = tailor(strategy, Options(audience="business", focus=("a1",), region="north"))
    lang = language("en", template_dirs())
    picture = glance_picture(brief, colours_of(None), lang, form=form)
    root = etree.fromstring(str(picture.svg).encode())
    drawn = " ".join(" ".join(t.itertext()) for t in root.iter(f"{SVG}text"))
    squeezed = " ".join(drawn.split())
    for node in (
        *brief.objectives,
        *(v.area for v in brief.focus_areas),
        *(r.rec for r in brief.recommendations),
    ):
        first_word = node.title.split()[0]
        assert first_word in squeezed
    for node in root.iter(f"{SVG}text"):
        if node.get("transform") or node.get("text-anchor"):
            continue  # rotated column heads and centred numbers: laid out in their own room
        size, bold = float(node.get("font-size")), node.get("font-weight") == "bold"
        runs = [(span.get("x"), span.text) for span in node] or [(node.get("x"), node.text)]
        for x, line in runs:
            right = float(x) + text.width(line or "", size, bold)
            assert right <= glance.WIDTH + 0.5, (line, right)
    height = float(root.get("viewBox").split()[3])
    assert height < 720, "the diagram fits one A4 page"


def test_the_glance_diagram_highlights_the_readers_focus_and_is_the_same_every_time(shipped):
    brief = tailor(shipped.strategy, Options(audience="business", focus=("cybersecurity",)))
    lang = language("en", template_dirs())
    first = glance_picture(brief, colours_of(None), lang)
    assert first == glance_picture(brief, colours_of(None), lang)
    data = glance_data(brief, lang)
    assert [a.key for a in data.areas if a.highlight] == ["cybersecurity"]
    assert "Your focus: Cybersecurity cooperation." in first.alt
    assert "Highlighted: your focus area (Cybersecurity)" in str(first.svg)


def test_the_summary_shows_the_glance_instead_of_the_strategy_chapter(shipped):
    brief = tailor(shipped.strategy, Options(audience="government", length="summary"))
    html = render(brief).html
    assert 'class="glance"' in html and 'id="strategy"' not in html
