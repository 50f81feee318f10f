"""Hostile chart data: every bad series is one error at file:line:col, never a broken picture."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from briefgen.errors import ContentError
from briefgen.render import render
from briefgen.tailor import Options, tailor
from briefgen.validate import validate

ROAMING = """      labels: [Before July 2019, From July 2019]
      values: [3, 0.20]
"""


def _with(content_copy: Path, series: str) -> Path:
    path = content_copy / "context.yaml"
    text = path.read_text(encoding="utf-8")
    assert ROAMING in text
    path.write_text(text.replace(ROAMING, series), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("series", "message"),
    [
        ("      labels: [Before, After]\n      values: [3, null]\n", "values[1]: a value is missing"),
        (
            "      labels: [Before, After]\n      values: [3, -1]\n",
            "values[1]: a before-after chart starts at zero",
        ),
        ("      labels: [Before, After, Later]\n      values: [3, 1]\n", "2 values for 3 labels"),
        ("      labels: [Before, After]\n      values: [3, .nan]\n", "values[1]: '.nan' is not a number"),
        ("      labels: [Before, After]\n      values: [3, .inf]\n", "values[1]: '.inf' is not a number"),
        (
            "      labels: [Before, After]\n      values: [3, 1e300]\n",
            "values[1]: input should be less than or equal to",
        ),
        ("      labels: [Before, After]\n      values: [3, three]\n", "'three' is not a number"),
        ("      labels: [Before, Before]\n      values: [3, 1]\n", "label 'Before' is given twice"),
        ("      labels: [Before]\n      values: [3]\n", "a before-after chart has 2 values"),
    ],
)
def test_a_bad_series_is_one_error_at_its_place(content_copy, series, message):
    path = _with(content_copy, series)
    with pytest.raises(ContentError) as caught:
        validate(content_copy)
    text = str(caught.value)
    assert message in text, text
    assert f"{path.name}:" in text and "figures[0].chart" in text
    line = next(
        i for i, row in enumerate(path.read_text().splitlines(), 1) if row.startswith("      values:")
    )
    assert any(f"context.yaml:{n}:" in text for n in (line - 1, line)), text


def test_two_hundred_points_and_an_unknown_kind_are_refused(content_copy):
    labels = ", ".join(f"p{i}" for i in range(200))
    values = ", ".join("1" for _ in range(200))
    path = _with(content_copy, f"      labels: [{labels}]\n      values: [{values}]\n")
    path.write_text(path.read_text().replace("kind: before-after", "kind: pie"), encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        validate(content_copy)
    text = str(caught.value)
    assert "chart.kind: input should be 'bar', 'column', 'line' or 'before-after'" in text
    assert "chart.labels: list should have at most 24 items" in text
    assert "chart.values: list should have at most 24 items" in text


def test_markup_in_labels_and_titles_stays_text_in_the_svg(content_copy):
    hostile = '"</text><script>alert(1)</script><text>'
    _with(content_copy, f"      labels: ['{hostile}', '<svg onload=x>']\n      values: [3, 0.2]\n")
    strategy = validate(content_copy).strategy
    html = render(tailor(strategy, Options(audience="business", region="western-balkans"))).html
    tree = etree.HTML(html.encode())
    assert not tree.xpath("//script") and not tree.xpath("//@onload")
    figure = tree.xpath('//figure[@id="chart-wb-data-roaming"]')[0]
    assert hostile in figure.xpath("string(.//details)")
    label = figure.xpath(".//svg")[0].get("aria-label")
    assert hostile in label


def test_huge_values_keep_their_digits_in_the_alt_text(content_copy):
    _with(content_copy, "      labels: [Before, After]\n      values: [999999999999999, 0.5]\n")
    strategy = validate(content_copy).strategy
    html = render(tailor(strategy, Options(audience="business", region="western-balkans"))).html
    assert "€999,999,999,999,999.00/MB" in html


def test_a_templates_svg_cannot_make_the_word_picture_fetch_anything():
    import lxml.html

    from briefgen.writers.docx.chart import inert

    figure = lxml.html.fragment_fromstring(
        '<figure class="glance"><svg viewBox="0 0 10 10" style="fill:url(http://x/a)">'
        '<image href="file:///etc/passwd" width="10" height="10"/><use href="http://x/s.svg#a"/>'
        "<foreignObject><p>x</p></foreignObject><style>@import url(http://x/c.css);</style>"
        '<rect width="5" height="5" fill="url(#ok)" filter="url(http://x/f)"/><text>kept</text></svg></figure>'
    )
    svg = inert(figure.find("svg"))
    markup = lxml.html.tostring(svg, encoding="unicode")
    assert "http://" not in markup and "file://" not in markup and "<image" not in markup
    assert 'fill="url(#ok)"' in markup and ">kept</text>" in markup
