"""A second strategy: briefgen is not written around the EU strategy or around English.

``tests/data/strategies/verkehr`` is a small but complete strategy of its own: a made-up German
regional transport and climate plan (four objectives, five focus areas, three issuers, two
audiences called ``betriebe`` and ``kommunen``, every kind of lead section, Markdown lists in
block fields, CO₂ and m², two regions, a dated agreement, key figures with a source) with a
partial French translation in ``fr/``. Built once per module: both audiences in every format,
both as executive summaries, and a batch of three stakeholders (German, French, Polish) with
e-mail drafts. What a reader of those files checks: nothing of the shipped EU content and no
English label appears, counts, dates, quotation marks and lists of names are German, CO₂ survives,
each e-mail speaks its stakeholder's language, and the partial translation is reported.
"""

from __future__ import annotations

import csv
import email
import functools
import re
import subprocess
import unicodedata
from email import policy
from pathlib import Path

import pytest
import yaml
from helpers import DATA, EPOCH, entries, squeeze

from briefgen.cli import main
from briefgen.paths import builtin_content, builtin_templates

FIXTURE = DATA / "strategies" / "verkehr"
LOCALES = builtin_templates() / "locales"
AUDIENCES = ("betriebe", "kommunen")
FORMATS = ("html", "pdf", "docx")
PLACEHOLDER = re.compile(r"%\(\w+\)s")

ISSUERS_DE = (
    "Regionalverband Wendelgau, Verkehrsverbund Wendelgau-Rheintal und Handels- und Gewerbekammer Wendelgau"
)
ISSUERS_FR = (
    "Association régionale du Wendelgau, Communauté tarifaire Wendelgau-Rheintal et "
    "Chambre du commerce et de l’artisanat du Wendelgau"
)
PRESENTED = {"de": "18. März 2025", "fr": "18 mars 2025", "pl": "18 marca 2025"}  # strategy.presented
TITLE_DE = "Mobilitätsplan Wendelgau 2030"
TITLE_FR = "Plan de mobilité Wendelgau 2030"
LONG_AREA = "Güterverkehr auf Schiene und Wasserstraße verlagern und die letzte Meile emissionsfrei zustellen"
HEADINGS = {"de": ("Vier strategische Ziele", "Fünf Schwerpunktbereiche")}
HEADINGS["fr"] = ("Quatre objectifs stratégiques", "Cinq domaines prioritaires")

#: The stakeholder list of the batch: one row per language.
ROWS = [
    {
        "id": "de1",
        "name": "Jana Möller",
        "organisation": "Schreinerei Möller",
        "audience": "betriebe",
        "email": "jana.moeller@example.org",
        "region": "rheinebene",
        "sector": "Handwerk",
        "focus": "betriebsmobilitaet",
        "language": "de",
    },
    {
        "id": "fr1",
        "name": "Claire Dubois",
        "organisation": "Commune de Tannegg",
        "audience": "kommunen",
        "email": "claire.dubois@example.org",
        "region": "bergtaeler",
        "focus": "takt",
        "language": "fr",
    },
    {
        "id": "pl1",
        "name": "Piotr Nowak",
        "organisation": "Spedycja Nowak",
        "audience": "betriebe",
        "email": "piotr.nowak@example.org",
        "sector": "Logistyka",
        "focus": "gueter",
        "language": "pl",
    },
]
LANGUAGE_OF = {row["id"]: row["language"] for row in ROWS}


# ----- catalogues --------------------------------------------------------------------------------


@functools.cache
def catalogue(language: str) -> dict[tuple[str | None, str], tuple[str, ...]]:
    """(context, msgid) -> msgstr forms of a shipped catalogue."""
    from babel.messages.pofile import read_po

    with open(LOCALES / language / "LC_MESSAGES" / "briefgen.po", "rb") as handle:
        messages = read_po(handle)
    found = {}
    for message in messages:
        if not message.id:
            continue
        ident = message.id if isinstance(message.id, str) else message.id[0]
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        found[(message.context, ident)] = tuple(strings)
    return found


def say(language: str, msgid: str, **values: str) -> str:
    """The catalogue's (singular) message with its placeholders filled."""
    return catalogue(language)[(None, msgid)][0] % values


def word_pattern(piece: str) -> re.Pattern[str]:
    """``piece`` as whole words, any case, any run of spaces between its words."""
    return re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, piece.split())) + r"(?!\w)", re.IGNORECASE)


@functools.cache
def english_pieces() -> tuple[str, ...]:
    """The literal pieces of every English catalogue message a reader would spot as English.

    Each msgstr is cut at its placeholders and stripped of punctuation. Pieces of two words or
    more are kept ("strategic objectives", "Prepared for", "Key actions"); single words only
    from four letters ("Page", "Contents", "Audience"): shorter ones ("of", "by", "on", "no")
    are words of other languages too. Quotation marks and separators are not words.
    """
    pieces: set[str] = set()
    for (context, _), strings in catalogue("en").items():
        if context in ("quotation marks", "list separator"):
            continue
        for text in strings:
            for piece in PLACEHOLDER.split(text):
                words = re.findall(r"[A-Za-z]+", piece)
                if len(words) >= 2 or (len(words) == 1 and len(words[0]) >= 4):
                    pieces.add(" ".join(words))
    return tuple(sorted(pieces))


@functools.cache
def also_in(languages: tuple[str, ...]) -> frozenset[str]:
    """English pieces that are words of ``languages`` too (German "Format", "Region", "Briefing";
    French "Introduction", "Source"): their catalogues use them, so finding them proves nothing."""
    own = " \n ".join(
        PLACEHOLDER.sub(" ", s)
        for language in languages
        for strings in catalogue(language).values()
        for s in strings
    )
    return frozenset(piece for piece in english_pieces() if word_pattern(piece).search(own))


#: English pieces that are words of the fixture's German text too ("ihre Programme"): no catalogue
#: tells, so where the label would stand is checked instead (test_initiative_kinds_are_german).
GERMAN_TOO = frozenset({"Programme"})


def english_in(text: str, languages: tuple[str, ...]) -> list[str]:
    """English catalogue pieces in ``text``, a document whose words are of ``languages``."""
    skip = also_in(languages) | (GERMAN_TOO if "de" in languages else frozenset())
    return [piece for piece in english_pieces() if piece not in skip and word_pattern(piece).search(text)]


# ----- the shipped content -------------------------------------------------------------------------


def words(text: str) -> str:
    return " ".join(re.findall(r"\w+", unicodedata.normalize("NFC", text)))


@functools.cache
def shipped_sentences(min_words: int = 6) -> tuple[str, ...]:
    """Every sentence (or list item, or title) of the shipped content's text fields, English and
    French, with at least ``min_words`` words, as words joined by single spaces."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str):
            text = re.sub(r"\]\([^)]*\)", "]", node)  # a Markdown link's text, not its target
            for sentence in re.split(r"(?<=[.!?;:])\s+|\n\s*(?:[-*+]|\d+[.)])\s+|\n\s*\n", text):
                plain = words(sentence)
                if len(plain.split()) >= min_words:
                    found.add(plain)

    content = builtin_content()
    for path in sorted([*content.glob("*.yaml"), *content.glob("*/*.yaml")]):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return tuple(sorted(found))


def shipped_in(text: str) -> list[str]:
    plain = f" {words(text)} "
    return [sentence for sentence in shipped_sentences() if f" {sentence} " in plain]


EU_WORDS = [
    re.compile(r"(?<!\w)EU(?!\w)"),
    re.compile(r"\bEurop(?:e|ean|ean Union)\b", re.IGNORECASE),
    re.compile(r"\bDigital Strategy\b", re.IGNORECASE),
    re.compile(r"\bGlobal Gateway\b", re.IGNORECASE),
    re.compile(r"\bTeam Europe\b", re.IGNORECASE),
]


def eu_words_in(text: str) -> list[str]:
    return [m.group(0) for pattern in EU_WORDS for m in pattern.finditer(text)]


# ----- what a reader reads ---------------------------------------------------------------------------


def reader_text(text: str) -> str:
    """Text as read: NFC, words hyphenated at a line end joined again, no-break spaces as spaces,
    runs of whitespace collapsed."""
    text = unicodedata.normalize("NFC", text).replace("\u00ad", "")
    text = re.sub("\u2010\n", "", text)  # WeasyPrint's hyphenation of running text
    return squeeze(text.replace("\u202f", " ").replace("\u00a0", " "))


def loose(text: str) -> str:
    """No whitespace and no hyphens: pdftotext joins "Handels-" at a line end with the next word."""
    return re.sub(r"[\s\-\u2010\u00ad]", "", unicodedata.normalize("NFC", text))


@functools.cache
def html_text(path: Path) -> str:
    """Everything a reader of the HTML file sees or hears: the body's text, the title, the meta
    fields, labels and alternative texts, and the strings the stylesheet writes (page labels)."""
    import lxml.html

    doc = lxml.html.parse(str(path)).getroot()
    parts = [doc.findtext(".//title") or ""]
    metas = [
        meta.get("content", "") for meta in doc.iter("meta") if meta.get("name") not in (None, "viewport")
    ]
    parts += [PLACEHOLDER.sub(" ", text) for text in metas]  # the page label's %(page)s is no word
    parts += [el.get(attr) for attr in ("aria-label", "alt", "title") for el in doc.iter() if el.get(attr)]
    for style in doc.iter("style"):
        for declaration in re.findall(r"content:\s*([^;}]*)", style.text or ""):
            parts += re.findall(r'"((?:[^"\\]|\\.)*)"', declaration)
    parts.append(doc.find("body").text_content())
    return reader_text("\n".join(parts))


@functools.cache
def pdf_pages(path: Path) -> tuple[str, ...]:
    """pdftotext's text of each page."""
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return tuple(out.split("\f")[:-1] if out.endswith("\f") else out.split("\f"))


@functools.cache
def pdf_text(path: Path) -> str:
    """The PDF's page text, bookmarks and document properties."""
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    info = reader.metadata or {}
    parts = [str(info.get(key) or "") for key in ("/Title", "/Subject", "/Author", "/Keywords")]

    def outline(items: list) -> None:
        for item in items:
            if isinstance(item, list):
                outline(item)
            else:
                parts.append(str(item.title))

    outline(reader.outline)
    return reader_text("\n".join([*pdf_pages(path), *parts]))


@functools.cache
def docx_text(path: Path) -> str:
    """Every paragraph of the Word file (body, tables, contents field, headers, footers) and its
    document properties."""
    import docx
    from docx.oxml.ns import qn

    doc = docx.Document(str(path))
    roots = [doc.element.body]
    for section in doc.sections:
        for part in (
            section.header,
            section.footer,
            section.first_page_header,
            section.first_page_footer,
            section.even_page_header,
            section.even_page_footer,
        ):
            if not part.is_linked_to_previous:
                roots.append(part._element)
    lines = ["".join(t.text or "" for t in p.iter(qn("w:t"))) for root in roots for p in root.iter(qn("w:p"))]
    props = doc.core_properties
    lines += [props.title, props.subject, props.keywords, props.category, props.comments, props.author]
    return reader_text("\n".join(line or "" for line in lines))


def text_of(path: Path) -> str:
    return {".html": html_text, ".pdf": pdf_text, ".docx": docx_text}[path.suffix](path)


def mail(path: Path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=policy.default)


def mail_text(path: Path) -> str:
    message = mail(path)
    return reader_text(f"{message['Subject']}\n{message.get_body(('plain',)).get_content()}")


# ----- the builds, once per module -----------------------------------------------------------------


def invoke(runner, *args: str):
    return runner.invoke(main, list(args), env={"SOURCE_DATE_EPOCH": EPOCH}, catch_exceptions=False)


@pytest.fixture(scope="module")
def module_runner():
    from click.testing import CliRunner

    return CliRunner()


@pytest.fixture(scope="module")
def full(tmp_path_factory, module_runner) -> dict[tuple[str, str], Path]:
    """``briefgen build`` of both audiences in html, pdf and docx, in the content's own language."""
    out = tmp_path_factory.mktemp("verkehr-full")
    result = invoke(
        module_runner, "build", "--content", str(FIXTURE), "--format", "html,pdf,docx", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr, result.stderr  # German content in German: nothing to say
    return {(a, f): out / f"{a}-brief.{f}" for a in AUDIENCES for f in FORMATS}


@pytest.fixture(scope="module")
def summary(tmp_path_factory, module_runner) -> dict[tuple[str, str], Path]:
    """The executive summaries of both audiences in every format."""
    out = tmp_path_factory.mktemp("verkehr-summary")
    result = invoke(
        module_runner,
        "build",
        "--content",
        str(FIXTURE),
        "--length",
        "summary",
        "--format",
        "html,pdf,docx",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    return {(a, f): out / f"{a}-summary.{f}" for a in AUDIENCES for f in FORMATS}


@pytest.fixture(scope="module")
def batch(tmp_path_factory, module_runner):
    """``briefgen batch --eml`` over three stakeholders whose languages are de, fr and pl."""
    from briefgen.stakeholders import ALL_COLUMNS

    folder = tmp_path_factory.mktemp("verkehr-batch")
    listing = folder / "stakeholders.csv"
    with listing.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(ALL_COLUMNS))
        writer.writeheader()
        for row in ROWS:
            writer.writerow({key: row.get(key, "") for key in ALL_COLUMNS})
    out = folder / "out"
    result = invoke(
        module_runner,
        "batch",
        str(listing),
        "--content",
        str(FIXTURE),
        "--format",
        "pdf,docx,html",
        "--out",
        str(out),
        "--jobs",
        "3",
        "--eml",
        "--from",
        "Mobilitätsbüro Wendelgau <buero@example.org>",
    )
    assert result.exit_code == 0, result.output
    found = entries(out)
    files = {
        (ident, record["format"]): out / record["path"]
        for ident, entry in found.items()
        for record in entry["files"]
    }
    drafts = {
        ident: out / "outbox" / f"{Path(entry['files'][0]['path']).stem}.eml"
        for ident, entry in found.items()
    }
    return {"out": out, "result": result, "entries": found, "files": files, "drafts": drafts}


@pytest.fixture(scope="module")
def english_labels_build(tmp_path_factory, module_runner) -> dict[str, Path]:
    """The control: the same German content with English labels (``--language en``), so the
    detectors below are seen to find what they look for in each format."""
    out = tmp_path_factory.mktemp("verkehr-en")
    result = invoke(
        module_runner,
        "build",
        "--content",
        str(FIXTURE),
        "--audience",
        "kommunen",
        "--language",
        "en",
        "--format",
        "html,pdf,docx",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    return {f: out / f"kommunen-brief-en.{f}" for f in FORMATS}


def german_documents(full, summary, batch) -> dict[str, tuple[Path, tuple[str, ...]]]:
    """Every output, with the languages its words are in (German content, and its labels' language)."""
    docs: dict[str, tuple[Path, tuple[str, ...]]] = {}
    for path in full.values():
        docs[f"full {path.name}"] = (path, ("de",))
    for path in summary.values():
        docs[f"summary {path.name}"] = (path, ("de",))
    for (ident, _), path in batch["files"].items():
        docs[f"batch {ident} {path.name}"] = (path, tuple(dict.fromkeys(("de", LANGUAGE_OF[ident]))))
    for ident, path in batch["drafts"].items():
        docs[f"e-mail {ident} {path.name}"] = (path, tuple(dict.fromkeys(("de", LANGUAGE_OF[ident]))))
    return docs


def read(path: Path) -> str:
    return mail_text(path) if path.suffix == ".eml" else text_of(path)


# ----- the fixture is what it claims to be ---------------------------------------------------------


def test_the_fixture_validates(module_runner):
    result = module_runner.invoke(main, ["validate", str(FIXTURE)])
    assert result.exit_code == 0, result.output
    assert "4 objectives, 5 focus areas, 2 audiences, 9 recommendations, 2 regions" in result.output


def test_the_fixture_is_a_complete_strategy_unlike_the_shipped_one():
    from briefgen.model import inline_problem
    from briefgen.validate import validate

    strategy = validate(FIXTURE).strategy
    shipped = validate(builtin_content()).strategy
    identity = strategy.strategy
    assert identity.language == "de" and len(identity.issuer) == 3
    assert (len(strategy.objectives), len(strategy.focus_areas)) == (4, 5)
    assert (len(strategy.objectives), len(strategy.focus_areas)) != (
        len(shipped.objectives),
        len(shipped.focus_areas),
    )
    assert set(strategy.audiences) == set(AUDIENCES) and not set(strategy.audiences) & set(shipped.audiences)
    assert {a.template for a in strategy.audiences.values()} == {"business", "government"}
    assert [len(a.recommendations) for a in strategy.audiences.values()] == [5, 4]
    assert all(all(a.chapters.model_dump().values()) for a in strategy.audiences.values())
    kinds = {s.kind for a in strategy.audiences.values() for s in a.sections}
    assert kinds == {"list", "steps", "checklist", "table"}
    blocks = [identity.overview, *(o.summary for o in strategy.objectives)]
    for audience in strategy.audiences.values():
        blocks += [audience.intro, audience.closing, *(r.rationale for r in audience.recommendations)]
    blocks += [i.summary for i in strategy.initiatives]
    assert sum(1 for text in blocks if inline_problem(text)) >= 6  # lists in block fields
    assert len(strategy.regions) == 2 and any(i.date for i in strategy.initiatives)
    assert any(f.source for f in strategy.figures)
    assert any(len(a.title) > 80 for a in strategy.focus_areas)  # wraps on the page
    raw = "".join(p.read_text(encoding="utf-8") for p in FIXTURE.glob("*.yaml"))
    assert "CO₂" in raw and "m²" in raw and '"Erst umsteigen' in raw


# ----- German, from the content and the catalogue --------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("audience", AUDIENCES)
def test_counts_are_spelled_in_german_from_the_content(full, summary, audience, fmt):
    text = text_of(full[(audience, fmt)])
    for heading in HEADINGS["de"]:
        assert heading in text, (full[(audience, fmt)].name, heading)
    # the summary has the at-a-glance diagram in the strategy chapter's place, titled by the content
    glance = {"betriebe": "Der Plan auf einen Blick", "kommunen": "Die Region auf einen Blick"}[audience]
    assert glance in text_of(summary[(audience, fmt)])
    assert not any(heading in text_of(summary[(audience, fmt)]) for heading in HEADINGS["de"])
    if fmt == "html":
        import lxml.html

        doc = lxml.html.parse(str(full[(audience, "html")])).getroot()
        assert doc.get("lang") == "de"
        assert len(doc.find_class("objective")) == 4 and len(doc.find_class("focus-area")) == 5
        assert len(doc.find_class("recommendation")) == {"betriebe": 5, "kommunen": 4}[audience]
        headings = [squeeze(h.text_content()) for h in doc.iter("h2")]
        assert list(HEADINGS["de"]) == [h for h in headings if h in HEADINGS["de"]]


def test_the_summary_says_so_in_german(summary):
    short = say("de", "Executive summary")
    for audience in AUDIENCES:
        for fmt in FORMATS:
            assert short in text_of(summary[(audience, fmt)])


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("audience", AUDIENCES)
def test_dates_quotes_and_issuers_are_german(full, audience, fmt):
    path = full[(audience, fmt)]
    text = text_of(path)
    colophon = say(
        "de",
        "This brief summarises %(title)s, presented on %(date)s by %(issuers)s.",
        title=f"„{TITLE_DE}“",
        date=PRESENTED["de"],
        issuers=ISSUERS_DE,
    )
    quoted = {"betriebe": "„Erst umsteigen, dann durchstarten“", "kommunen": "„Jede Gemeinde zählt.“"}[
        audience
    ]
    if fmt == "pdf":  # page by page, lines joined (pdftotext joins a word hyphenated at a line end)
        pages = pdf_pages(path)
        assert PRESENTED["de"] in reader_text(pages[0])
        assert loose(ISSUERS_DE) in loose(pages[0])
        assert loose(colophon) in loose(pages[-1])
        assert loose(quoted) in loose(" ".join(pages))
    else:
        assert PRESENTED["de"] in text
        assert colophon in text
        assert text.count(ISSUERS_DE) >= 2  # on the cover and in the colophon
        assert quoted in text
    if fmt == "html":
        import lxml.html

        doc = lxml.html.parse(str(path)).getroot()
        assert squeeze(doc.find_class("issuer")[0].text_content()) == ISSUERS_DE
        assert PRESENTED["de"] in squeeze(doc.find_class("cover-meta")[0].text_content())
        assert colophon in squeeze(doc.find_class("colophon")[0].text_content())
        assert '"' not in squeeze(doc.find("body").text_content())  # every quotation mark is typographic
    if fmt == "docx":
        assert '"' not in text


@pytest.mark.parametrize("audience", AUDIENCES)
def test_subscripts_and_superscripts_survive_to_pdf_and_word(full, audience):
    for fmt in ("pdf", "docx"):
        text = text_of(full[(audience, fmt)])
        assert "CO₂" in text and "25 m²" in text, fmt
        assert "CO2" not in text and "\ufffd" not in text, fmt
        assert LONG_AREA in text, fmt  # the long focus-area title wraps, never hyphenated


@pytest.mark.parametrize("fmt", FORMATS)
def test_initiative_kinds_are_german(full, fmt):
    text = text_of(full[("kommunen", fmt)])
    agreement = catalogue("de")[("initiative kind", "Agreement")][0]
    programme = catalogue("de")[("initiative kind", "Programme")][0]
    assert f"{agreement} · 14. September 2023" in text
    assert f"{programme} · Seit Frühjahr 2024" in text


def test_pdf_and_word_declare_the_briefs_language(full, batch):
    import docx
    from pypdf import PdfReader

    for path, language in [
        (full[("betriebe", "pdf")], "de"),
        (full[("kommunen", "docx")], "de"),
        (batch["files"][("fr1", "pdf")], "fr"),
        (batch["files"][("fr1", "docx")], "fr"),
        (batch["files"][("pl1", "pdf")], "pl"),
    ]:
        if path.suffix == ".pdf":
            assert str(PdfReader(str(path)).trailer["/Root"]["/Lang"]) == language, path.name
        else:
            assert docx.Document(str(path)).core_properties.language == language, path.name


# ----- nothing of the EU strategy, nothing in English ----------------------------------------------


def test_the_detectors_find_what_they_look_for(shipped_briefs, english_labels_build):
    """Controls: the shipped English brief is full of shipped sentences and EU words, and the German
    content with English labels shows English catalogue pieces in every format."""
    shipped = html_text(shipped_briefs("html")["business.html"])
    assert len(shipped_in(shipped)) > 50 and eu_words_in(shipped)
    for fmt, path in english_labels_build.items():
        found = english_in(text_of(path), ("de",))
        assert {"strategic objectives", "priority focus areas", "Contents"} <= set(found), (fmt, found)
        assert "Prepared with briefgen" in found and "Page" in found, (fmt, found)


def test_no_sentence_or_name_of_the_shipped_content_appears(full, summary, batch):
    leaks = {}
    for name, (path, _) in german_documents(full, summary, batch).items():
        text = read(path)
        found = shipped_in(text) + eu_words_in(text)
        if found:
            leaks[name] = found[:5]
    assert not leaks, leaks


def test_no_english_label_appears(full, summary, batch):
    leaks = {}
    for name, (path, languages) in german_documents(full, summary, batch).items():
        found = english_in(read(path), languages)
        if found:
            leaks[name] = found
    assert not leaks, leaks


# ----- the batch: a brief and an e-mail per stakeholder, each in their language ---------------------


def test_the_manifest_records_each_stakeholders_language(batch):
    found = batch["entries"]
    assert {ident: entry["language"] for ident, entry in found.items()} == LANGUAGE_OF
    assert all(entry["status"] == "built" for entry in found.values())
    assert found["fr1"]["title"] == "Le plan de mobilité Wendelgau 2030 dans la pratique communale"
    assert found["fr1"]["strategy"] == TITLE_FR and found["fr1"]["audience_label"] == "Villes et communes"
    assert found["de1"]["strategy"] == found["pl1"]["strategy"] == TITLE_DE


@pytest.mark.parametrize("ident", list(LANGUAGE_OF))
def test_each_e_mail_is_in_its_stakeholders_language(batch, ident):
    language = LANGUAGE_OF[ident]
    row = next(row for row in ROWS if row["id"] == ident)
    message = mail(batch["drafts"][ident])
    body = reader_text(message.get_body(("plain",)).get_content())
    title = batch["entries"][ident]["title"]
    assert reader_text(message["Subject"]) == reader_text(
        say(language, "Your briefing: %(title)s", title=title)
    )
    assert say(language, "Dear %(name)s,", name=row["name"]) in body
    assert say(language, "Kind regards,") in body
    opening, closing = catalogue(language)[("quotation marks", "“ ” ‘ ’")][0].split(" ")[:2]
    strategy = TITLE_FR if language == "fr" else TITLE_DE
    assert reader_text(f"{opening}{strategy}{closing}") in body
    others = [lang for lang in ("de", "fr", "pl") if lang != language]
    for other in others:
        assert say(other, "Kind regards,") not in body


def test_the_french_brief_comes_from_the_overlay(batch):
    for fmt in FORMATS:
        text = text_of(batch["files"][("fr1", fmt)])
        assert "Le plan de mobilité Wendelgau 2030 dans la pratique communale" in text, fmt
        assert "Pourquoi le plan a besoin des communes" in text  # the audience's chapters, in French
        assert "Réduire de moitié les émissions de CO₂ des transports d’ici 2030" in text  # an objective
        assert "Den CO₂-Ausstoß des Verkehrs bis 2030 halbieren" not in text
        assert "Regionaltakt auf Schiene und Straße" in text  # focus areas are not translated
        for heading in HEADINGS["fr"]:
            assert heading in text, (fmt, heading)
        assert "« Chaque commune compte. »" in text, fmt
        if fmt == "pdf":
            assert loose(ISSUERS_FR) in loose(pdf_pages(batch["files"][("fr1", fmt)])[0])
            assert PRESENTED["fr"] in reader_text(pdf_pages(batch["files"][("fr1", fmt)])[0])
        else:
            assert ISSUERS_FR in text and PRESENTED["fr"] in text, fmt
    import lxml.html

    assert lxml.html.parse(str(batch["files"][("fr1", "html")])).getroot().get("lang") == "fr"


def test_the_polish_brief_has_polish_labels_around_german_content(batch):
    import lxml.html

    path = batch["files"][("pl1", "html")]
    assert lxml.html.parse(str(path)).getroot().get("lang") == "pl"
    text = html_text(path)
    assert PRESENTED["pl"] in text and TITLE_DE in text
    assert say("pl", "Contents") in text


# ----- the partial French translation ---------------------------------------------------------------


def untranslated_records() -> list[str]:
    """The records of the fixture the French overlay leaves in German, worked out from the files."""

    def merged(folder: Path) -> dict:
        data: dict = {"audiences": {}}
        for path in sorted(folder.glob("*.yaml")):
            part = yaml.safe_load(path.read_text(encoding="utf-8"))
            data["audiences"].update(part.pop("audiences", {}))  # one audience per file
            data.update(part)
        return data

    source, overlay = merged(FIXTURE), merged(FIXTURE / "fr")
    missing = []
    for key in ("objectives", "focus_areas", "regions", "policy_areas", "initiatives", "figures"):
        missing += [
            f"{key}.{item['id']}" for item in source.get(key, []) if item["id"] not in overlay.get(key, {})
        ]
    for name, audience in source["audiences"].items():
        if name in overlay.get("audiences", {}):
            continue
        missing.append(f"audiences.{name}")
        for key in ("sections", "recommendations"):
            missing += [f"audiences.{name}.{key}.{item['id']}" for item in audience.get(key, [])]
    return missing


def test_a_partial_translation_warns_once_naming_the_untranslated_records(tmp_path, module_runner, batch):
    expected = untranslated_records()
    assert len(expected) == 24 and "audiences.betriebe" in expected and "focus_areas.gueter" in expected
    result = invoke(
        module_runner,
        "build",
        "--content",
        str(FIXTURE),
        "--language",
        "fr",
        "--format",
        "html",
        "--out",
        str(tmp_path / "fr"),
    )
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, result.stderr
    assert f"{len(expected)} record(s) not translated" in warnings[0]
    named = re.findall(
        r"((?:audiences|objectives|focus_areas|regions|policy_areas|initiatives|figures)\.[\w.-]+) \(",
        warnings[0],
    )
    assert named and set(named) <= set(expected), named
    assert not any(name.startswith(("objectives.", "audiences.kommunen", "strategy")) for name in named)
    # the batch said it once for the French stakeholder (of its own audience's records only: another
    # audience's are not in that brief), and once that Polish has no translation
    french_audience = next(row["audience"] for row in ROWS if row["language"] == "fr")
    own = [r for r in expected if not r.startswith("audiences.") or r.split(".")[1] == french_audience]
    assert len(own) < len(expected)
    stderr = batch["result"].stderr
    assert stderr.count(f"{len(own)} record(s) not translated") == 1
    assert stderr.count("has no pl translation") == 1
    assert "de1" not in stderr


def test_strict_makes_the_partial_translation_an_error(tmp_path, module_runner):
    out = tmp_path / "strict"
    result = invoke(
        module_runner,
        "build",
        "--content",
        str(FIXTURE),
        "--language",
        "fr",
        "--format",
        "html",
        "--out",
        str(out),
        "--strict",
    )
    assert result.exit_code == 1
    assert "record(s) not translated" in result.stderr and "--strict" in result.stderr
    assert not out.exists() or not any(out.glob("*.html"))
