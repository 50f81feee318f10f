"""Word briefs as assistive technology reads them: headings in order, header rows, alternative
text, the language of every run and a title, on the shipped briefs (both audiences, a summary,
a themed brief, a French one) and on a partly translated strategy whose untranslated text is
marked with its language."""

from __future__ import annotations

import io
import itertools
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lxml.etree
import pytest
from docx import Document
from helpers import DATA, EPOCH, html_tree, squeeze

from briefgen.build import BuildRequest, build
from briefgen.paths import builtin_content, builtin_templates
from briefgen.render import Rendered
from briefgen.writers import WriteOptions
from briefgen.writers.docx import write as write_docx

NS = {
    "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
    "pic": "http://schemas.openxmlformats.org/drawingml/2006/picture",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
}
W = f"{{{NS['w']}}}"
CIVIC = builtin_templates() / "themes" / "civic.toml"
KINDS = ("full", "summary", "civic", "fr", "partial")
LEAVES = ("p", "li", "h1", "h2", "h3", "dt", "dd", "td", "th")


def xp(element: Any, expression: str) -> Any:
    return lxml.etree.XPath(expression, namespaces=NS)(element)


def built(out: Path, content: Path | None = None, **request: Any) -> dict[str, Path]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        result = build(
            BuildRequest(
                content=content or builtin_content(),
                out=out,
                formats=("docx", "html"),
                docx_pages="word",
                **request,
            )
        )
    if content is None:
        assert not result.warnings, result.warnings
    return {f"{r.audience}.{r.format}": out / r.path for r in result.files}


@pytest.fixture(scope="module")
def briefs(shipped_briefs: Callable[..., dict[str, Path]], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """kind -> {"business.docx": path, ...}; "partial" is the test strategy in its partial French."""
    made = tmp_path_factory.mktemp
    return {
        "full": shipped_briefs("docx", "html"),
        "summary": built(made("summary"), length="summary"),
        "civic": built(made("civic"), theme=CIVIC),
        "fr": built(made("fr"), language="fr"),
        "partial": built(made("partial"), content=DATA / "strategies" / "verkehr", language="fr"),
    }


def documents(briefs: dict, kind: str) -> list[tuple[Path, Path]]:
    """(docx, html) of every audience of one kind."""
    found = briefs[kind]
    return [(found[k], found[k.replace(".docx", ".html")]) for k in sorted(found) if k.endswith(".docx")]


CASES = [(kind, index) for kind in KINDS for index in range(2)]


@pytest.fixture(params=CASES, ids=[f"{k}-{i}" for k, i in CASES])
def case(request: pytest.FixtureRequest, briefs: dict) -> tuple[Any, Any, Path]:
    """One brief: (python-docx Document, parsed HTML, docx path)."""
    kind, index = request.param
    docx, html = documents(briefs, kind)[index]
    return Document(docx), html_tree(html), docx


def parts(path: Path) -> dict[str, Any]:
    """Every XML part of a .docx, parsed."""
    with zipfile.ZipFile(path) as archive:
        return {n: lxml.etree.fromstring(archive.read(n)) for n in archive.namelist() if n.endswith(".xml")}


# ----- headings --------------------------------------------------------------------------------


def outline_levels(doc: Any) -> dict[str, int]:
    """Paragraph style id -> outline level (1-based) for every style that has one, inherited."""
    styles = {s.get(f"{W}styleId"): s for s in xp(doc.styles.element, "w:style[@w:type='paragraph']")}

    def level(style_id: str, seen: int = 0) -> int | None:
        style = styles.get(style_id)
        if style is None or seen > 20:
            return None
        found = xp(style, "w:pPr/w:outlineLvl/@w:val")
        if found:
            value = int(found[0])
            return value + 1 if value < 9 else None
        based = xp(style, "w:basedOn/@w:val")
        return level(based[0], seen + 1) if based else None

    return {ident: lvl for ident in styles if (lvl := level(ident)) is not None}


def test_headings_are_in_order_without_skipped_levels(case: tuple) -> None:
    doc, html, _ = case
    levels = outline_levels(doc)
    found = []
    for p in doc.element.body.iter(f"{W}p"):
        direct = xp(p, "w:pPr/w:outlineLvl/@w:val")
        level = int(direct[0]) + 1 if direct else levels.get(xp(p, "string(w:pPr/w:pStyle/@w:val)"))
        if level is not None and level <= 9:
            found.append((level, squeeze("".join(xp(p, ".//w:t/text()")))))
    assert found, "no headings"
    assert found[0][0] == 1, "the first heading is not level 1"
    for (before, _), (level, text) in itertools.pairwise(found):
        assert level <= before + 1, f"{text!r} jumps from level {before} to {level}"
    assert {level for level, _ in found} <= {1, 2, 3}
    expected = [(int(h.tag[1]), squeeze(h.text_content())) for h in html.iter("h1", "h2", "h3")]
    assert found == expected, "the Word outline is not the HTML's"


# ----- tables ----------------------------------------------------------------------------------


def test_data_tables_mark_their_header_row_and_layout_tables_have_none(case: tuple) -> None:
    doc, html, _ = case
    tables = list(doc.element.body.iter(f"{W}tbl"))
    layout = [t for t in tables if xp(t, "w:tblPr/w:tblLook[@w:firstRow='0']")]
    data = [t for t in tables if t not in layout]
    assert len(data) == len(html.findall(".//table"))
    summary = "length-summary" in html.find("body").get("class")
    assert len(layout) == len(html.xpath("//div[contains(@class, 'figures')]")) + summary
    for table, html_table in zip(data, html.iter("table"), strict=True):
        rows = xp(table, "w:tr")
        assert xp(rows[0], "w:trPr/w:tblHeader"), "the header row is not marked"
        assert not any(xp(row, "w:trPr/w:tblHeader") for row in rows[1:])
        headers = [squeeze(th.text_content()) for th in html_table.xpath(".//thead//th")]
        assert [squeeze("".join(xp(tc, ".//w:t/text()"))) for tc in xp(rows[0], "w:tc")] == headers
    for table in layout:
        assert not xp(table, ".//w:tblHeader"), "a layout table claims a header row"
        assert not xp(table, "w:tblPr/w:tblStyle"), "a layout table takes a table style's header look"
        assert xp(table, "string(w:tblPr/w:tblLook/@w:firstColumn)") == "0"


# ----- pictures ----------------------------------------------------------------------------------


def test_every_picture_has_alternative_text_and_shapes_are_decorative(case: tuple) -> None:
    _, html, path = case
    # Images, and the charts and diagrams drawn from data (inline SVG with aria-label).
    alts = [el.get("alt") if el.tag == "img" else el.get("aria-label") for el in html.iter("img", "svg")]
    pictures = []
    for name, root in parts(path).items():
        for frame in xp(root, "//wp:inline|//wp:anchor"):
            if xp(frame, "ancestor::*[local-name()='Fallback']"):
                continue  # a chart's PNG for readers without charts: the same picture, described alike
            (properties,) = xp(frame, "wp:docPr")
            if xp(frame, ".//pic:pic|.//*[local-name()='chart']"):
                assert (properties.get("descr") or "").strip(), f"a picture in {name} has no alternative text"
                pictures.append((name, properties.get("descr")))
            else:
                assert xp(properties, ".//*[local-name()='decorative']/@val") == ["1"], f"{name}: a shape"
    in_body = [descr for name, descr in pictures if name == "word/document.xml"]
    assert in_body == alts, "the body's pictures are not the HTML's images"
    for name, descr in pictures:
        if name != "word/document.xml":  # the theme's logo in the running header: the cover's words
            assert descr in alts, (name, descr)


def test_the_themed_logo_speaks_the_brief_language(tmp_path: Path) -> None:
    found = built(tmp_path, theme=CIVIC, language="fr", audiences=("business",))
    (alt,) = [img.get("alt") for img in html_tree(found["business.html"]).iter("img")]
    assert alt != "Open Policy Lab logo" and "Open Policy Lab" in alt
    descriptions = [
        d for root in parts(found["business.docx"]).values() for d in xp(root, "//wp:docPr/@descr")
    ]
    drawn = {svg.get("aria-label") for svg in html_tree(found["business.html"]).iter("svg")}
    assert descriptions and set(descriptions) == {alt, *drawn}, "the header's logo is described in English"


def test_the_themed_cover_logo_has_the_html_alternative_text(briefs: dict) -> None:
    for docx, html in documents(briefs, "civic"):
        (alt,) = [img.get("alt") for img in html_tree(html).iter("img")]
        assert alt and "Open Policy Lab" in alt
        assert xp(Document(docx).element.body, ".//wp:inline/wp:docPr/@descr")[:1] == [alt]


# ----- languages ---------------------------------------------------------------------------------


def run_languages(p: Any) -> list[tuple[str | None, str]]:
    """(w:lang of the run or None, text) of every run of paragraph ``p`` that shows text."""
    return [
        ((xp(r, "w:rPr/w:lang/@w:val") or [None])[0], "".join(xp(r, "w:t/text()")))
        for r in xp(p, ".//w:r[w:t]")
    ]


def foreign_leaves(html: Any) -> dict[str, str]:
    """Squeezed text -> language of every text block (p, li, heading, cell...) whose whole text is
    in another language than the document's, according to the nearest ``lang``."""
    default = html.get("lang")
    found: dict[str, str] = {}
    for leaf in html.find("body").iter(*LEAVES):
        if any(child.tag in LEAVES or child.tag in ("ul", "ol") for child in leaf.iterdescendants()):
            continue
        if leaf.xpath(".//*[@lang]"):
            continue  # mixed: checked by the small documents below
        (holder,) = leaf.xpath("ancestor-or-self::*[@lang][1]")
        text = squeeze(leaf.text_content())
        if holder.get("lang") != default and text:
            found[text] = holder.get("lang")
    return found


def test_the_document_language_is_the_default_and_every_other_language_is_marked(case: tuple) -> None:
    doc, html, _ = case
    language = html.get("lang")
    assert xp(doc.styles.element, "w:docDefaults/w:rPrDefault/w:rPr/w:lang/@w:val") == [language]
    assert doc.core_properties.language == language
    foreign = foreign_leaves(html)
    marked = 0
    for p in doc.element.body.iter(f"{W}p"):
        runs = run_languages(p)
        text = squeeze("".join(t for _, t in runs))
        if text in foreign:
            assert {lang for lang, t in runs if t.strip()} == {foreign[text]}, text
            marked += 1
        elif not html.xpath("//body//*[@lang]"):
            assert {lang for lang, _ in runs} <= {None}, f"{text!r} says it is not in {language}"
    assert marked >= 0.9 * len(foreign), "text in another language was not found marked"


def test_a_partial_translation_has_marked_runs(briefs: dict) -> None:
    """The test strategy's French keeps German records: their runs say so."""
    for docx, html in documents(briefs, "partial"):
        foreign = foreign_leaves(html_tree(html))
        assert foreign and set(foreign.values()) == {"de"}
        body = Document(docx).element.body
        assert len(xp(body, ".//w:r/w:rPr/w:lang[@w:val='de']")) >= len(foreign)


def small(body: str, language: str = "fr") -> Any:
    html = (
        f'<!DOCTYPE html><html lang="{language}"><head><title>T</title></head>'
        f'<body><h1 id="a">A</h1>{body}</body></html>'
    )
    document = Rendered(html=html, title="T", language=language, template="test")
    data = write_docx(document, WriteOptions(docx_pages="word"))
    return Document(io.BytesIO(data))


def paragraph_languages(doc: Any) -> list[list[tuple[str | None, str]]]:
    return [
        [(lang, text) for lang, text in run_languages(p) if text.strip()]
        for p in doc.element.body.iter(f"{W}p")
        if "".join(xp(p, ".//w:t/text()")).strip()
    ][1:]


def test_lang_on_any_element_marks_its_runs() -> None:
    doc = small(
        '<p>Bonjour <span lang="en-GB">hello <strong>world</strong></span> et '
        '<a lang="de" href="https://example.org/">Welt</a>.</p>'
        '<ul><li lang="de">Eins <em>zwei</em></li><li>trois</li></ul>'
        '<div lang="de"><p>Deutsch <span lang="fr">français</span> <span lang="en">English</span></p>'
        "<ol><li>Liste</li></ol></div>"
        '<table><thead><tr><th lang="en">Name</th><th>Nom</th></tr></thead>'
        '<tbody><tr lang="de"><td>Zeile</td><td>Reihe</td></tr></tbody></table>'
        '<p lang="FR">même langue</p><p lang="not a tag!">sans marque</p>'
    )
    assert paragraph_languages(doc) == [
        [
            (None, "Bonjour "),
            ("en-GB", "hello "),
            ("en-GB", "world"),
            (None, " et "),
            ("de", "Welt"),
            (None, "."),
        ],
        [("de", "Eins "), ("de", "zwei")],
        [(None, "trois")],
        [("de", "Deutsch "), (None, "français"), ("en", "English")],
        [("de", "Liste")],
        [("en", "Name")],
        [(None, "Nom")],
        [("de", "Zeile")],
        [("de", "Reihe")],
        [(None, "même langue")],
        [(None, "sans marque")],
    ]


def test_lang_reaches_the_cover_the_figures_and_the_contents() -> None:
    doc = small(
        '<header class="cover"><p class="title" lang="de">Titel</p>'
        '<dl class="cover-meta"><dt>Stratégie</dt><dd lang="de">Plan</dd></dl></header>'
        '<nav class="toc" aria-label="Sommaire"><p class="toc-title">Sommaire</p><ol class="toc-list">'
        '<li class="toc-level-1"><a href="#b">Kapitel</a></li></ol></nav>'
        '<section class="chapter" lang="de"><h1 id="b">Kapitel</h1>'
        '<div class="figures"><aside class="callout callout-figure" lang="de">'
        '<p class="figure-value">3</p><p class="figure-label">Ziele</p></aside></div></section>'
    )
    shown = paragraph_languages(doc)
    assert [("de", "Titel")] in shown
    assert [(None, "Stratégie"), ("de", "Plan")] in shown
    assert shown.count([("de", "Kapitel")]) == 2, "the contents entry takes its heading's language"
    assert [("de", "Ziele")] in shown and [("de", "3")] in shown


# ----- title -----------------------------------------------------------------------------------


def test_the_document_title_is_in_the_properties(case: tuple) -> None:
    doc, html, _ = case
    title = squeeze(html.findtext(".//title"))
    assert title and squeeze(doc.core_properties.title) == title  # squeeze: no-break spaces as in the HTML
