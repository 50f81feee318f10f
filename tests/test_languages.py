"""Briefs in other languages: the French brief of the shipped strategy, locale formats, catalogues."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import EPOCH, squeeze

from briefgen.build import BuildRequest, build
from briefgen.cli import main
from briefgen.paths import builtin_content, builtin_templates

LOCALES = builtin_templates() / "locales"
SHIPPED_LANGUAGES = ("en", "fr", "de", "es", "it", "pl")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def catalogue(language: str):
    from babel.messages.pofile import read_po

    with open(LOCALES / language / "LC_MESSAGES" / "briefgen.po", "rb") as handle:
        return read_po(handle)


def text_of_html(path: Path) -> str:
    import lxml.html

    doc = lxml.html.parse(str(path)).getroot()
    for style in doc.iter("style"):
        style.getparent().remove(style)
    return squeeze(doc.find("body").text_content())


def text_of_pdf(path: Path) -> str:
    return squeeze(
        subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    )


def text_of_docx(path: Path) -> str:
    import docx

    doc = docx.Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    parts += [cell.text for table in doc.tables for row in table.rows for cell in row.cells]
    for section in doc.sections:
        for part in (section.header, section.footer):
            parts += [p.text for p in part.paragraphs]
    # field results (the footer's page numbers) are runs inside w:fldSimple: take every w:t
    footer_xml = "".join(
        t.text or "" for s in doc.sections for t in s.footer._element.iter(docx.oxml.ns.qn("w:t"))
    )
    return squeeze(" ".join([*parts, footer_xml]))


def english_sentences(min_words: int = 6) -> set[str]:
    """Sentences of the shipped English content (text fields), at least ``min_words`` long."""
    import yaml

    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str):
            for sentence in re.split(r"(?<=[.!?])\s+|\n", node):
                words = re.findall(r"[A-Za-z]+", sentence)
                if len(words) >= min_words:
                    found.add(" ".join(words[:min_words]))

    for path in sorted(builtin_content().glob("*.yaml")):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return found


def english_labels() -> set[str]:
    """Literal pieces (two words or more) of the English catalogue's messages."""
    pieces: set[str] = set()
    for message in catalogue("en"):
        if not message.id or message.context:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            for piece in PLACEHOLDER.split(text)[::2]:
                words = re.findall(r"[A-Za-z]+", piece)
                if len(words) >= 2:
                    pieces.add(" ".join(words))
    return pieces


def words_of(text: str) -> str:
    return " ".join(re.findall(r"[A-Za-z]+", text))


@pytest.fixture(scope="module")
def french(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The shipped strategy built in French, both audiences, every format, once."""
    out = tmp_path_factory.mktemp("french")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        result = build(BuildRequest(content=builtin_content(), out=out, language="fr"))
    assert not result.warnings, result.warnings  # the French translation is complete
    return {record.path: out / record.path for record in result.files}


@pytest.mark.parametrize("audience", ["business", "government"])
@pytest.mark.parametrize("fmt", ["html", "pdf", "docx"])
def test_the_french_brief_has_no_english_sentence_or_label(french, audience, fmt):
    path = french[f"{audience}-brief-fr.{fmt}"]
    text = {"html": text_of_html, "pdf": text_of_pdf, "docx": text_of_docx}[fmt](path)
    plain = words_of(text)
    leaked = sorted(s for s in english_sentences() if s in plain)
    assert not leaked, leaked[:5]
    labels = sorted(label for label in english_labels() if re.search(rf"\b{re.escape(label)}\b", plain))
    assert not labels, labels
    assert "Commission européenne et Haut représentant" in text  # issuers joined the French way
    assert "5 juin 2025" in text


def test_the_french_brief_speaks_french_in_its_furniture(french):
    text = text_of_html(french["government-brief-fr.html"])
    assert (
        "Sommaire" in text and "Trois objectifs stratégiques" in text and "Six domaines prioritaires" in text
    )
    assert "« Stratégie numérique internationale de l’UE »" in text.replace("\u202f", " ")
    pdf = text_of_pdf(french["government-brief-fr.pdf"])
    assert re.search(r"Page 2 sur \d+", pdf)  # the page footer from the catalogue, through CSS
    docx_text = text_of_docx(french["government-brief-fr.docx"])
    assert "Page" in docx_text and "sur" in docx_text


def test_the_french_word_brief_carries_french_properties(french):
    import docx

    props = docx.Document(str(french["business-brief-fr.docx"])).core_properties
    assert props.language == "fr"
    assert props.category and props.category != "Briefing"
    assert "briefgen" in props.comments and "Prepared" not in props.comments


@pytest.mark.parametrize(
    ("language", "date", "issuers"),
    [
        ("de", "5. Juni 2025", " und "),
        ("es", "5 de junio de 2025", " y "),
        ("it", "5 giugno 2025", " e "),
        ("pl", "5 czerwca 2025", " i "),
        ("en-US", "June 5, 2025", " and "),
        ("en", "5 June 2025", " and "),
    ],
)
def test_dates_and_lists_of_names_follow_the_language(tmp_path, language, date, issuers):
    out = tmp_path / "out"
    build(
        BuildRequest(
            content=builtin_content(), out=out, audiences=("business",), formats=("html",), language=language
        )
    )
    (page,) = out.glob("*.html")
    import lxml.html

    doc = lxml.html.parse(str(page)).getroot()
    assert doc.get("lang") == language
    cover = squeeze(doc.find_class("cover-meta")[0].text_content())
    assert date in cover
    issuer = squeeze(doc.find_class("issuer")[0].text_content())
    assert issuer.startswith("European Commission" + issuers + "High Representative")


def test_a_language_without_content_translation_warns_once_and_strict_refuses(tmp_path, runner):
    out = tmp_path / "out"
    result = runner.invoke(main, ["build", "--language", "de", "--format", "html", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.count("has no de translation") == 1
    strict = runner.invoke(
        main, ["build", "--language", "de", "--format", "html", "--out", str(tmp_path / "s"), "--strict"]
    )
    assert strict.exit_code == 1
    assert "has no de translation" in strict.output and "--strict" in strict.output
    assert not (tmp_path / "s").exists() or not any((tmp_path / "s").glob("*.html"))


def test_a_partial_translation_names_what_is_untranslated(tmp_path, runner):
    content = tmp_path / "content"
    shutil.copytree(builtin_content(), content)
    overlay = content / "fr" / "strategy.yaml"
    text = overlay.read_text(encoding="utf-8")
    start = text.index("  partnerships:")
    end = text.index("\n  tech-business-offer:")
    overlay.write_text(text[:start] + text[end + 1 :], encoding="utf-8")
    result = runner.invoke(
        main,
        [
            "build",
            "--content",
            str(content),
            "--language",
            "fr",
            "--format",
            "html",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "1 record(s) not translated" in result.output
    assert "objectives.partnerships (title, summary, points)" in result.output
    page = text_of_html(tmp_path / "o" / "business-brief-fr.html")
    assert "Expand international partnerships and dialogues" in page  # the source text, as warned
    import lxml.html

    doc = lxml.html.parse(str(tmp_path / "o" / "business-brief-fr.html")).getroot()
    assert doc.get_element_by_id("objective-partnerships").get("lang") == "en"  # read as English
    assert doc.get_element_by_id("objective-governance").get("lang") is None  # translated: the page's


def test_an_overlay_problem_is_placed_in_the_overlay_file(tmp_path, runner):
    content = tmp_path / "content"
    shutil.copytree(builtin_content(), content)
    overlay = content / "fr" / "strategy.yaml"
    text = overlay.read_text(encoding="utf-8").replace("  partnerships:", "  partnership:", 1)
    overlay.write_text(text, encoding="utf-8")
    line = text.splitlines().index("  partnership:") + 1
    result = runner.invoke(
        main, ["build", "--content", str(content), "--language", "fr", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 1
    assert f"fr/strategy.yaml:{line}:3" in result.output
    assert "did you mean 'partnerships'?" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("flag", "message"), [("en_GB", "did you mean 'en-GB'"), ("klingon-x", "not a language tag")]
)
def test_a_bad_language_flag_is_a_usage_error(runner, flag, message):
    result = runner.invoke(main, ["build", "--language", flag])
    assert result.exit_code == 2
    assert message in result.output and "--language" in result.output


def test_briefgen_languages_lists_the_shipped_catalogues_complete(runner):
    result = runner.invoke(main, ["languages"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.output.splitlines()[1:] if line[:2].isalpha()}
    for language in SHIPPED_LANGUAGES:
        assert "(100%)" in rows[language], rows[language]
    assert "source language" in rows["en"]
    assert re.search(r"(\d+)/\1 records translated", rows["fr"]), rows["fr"]
    assert "no translation" in rows["de"]


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
def test_each_catalogue_is_complete_keeps_placeholders_and_is_compiled(language):
    import gettext

    from babel.messages.mofile import write_mo

    po = catalogue(language)
    for message in po:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{language}: untranslated {ids[0]!r}"
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for text in strings:
            if text != ids[0] or len(strings) == 1:
                assert set(PLACEHOLDER.findall(text)) <= wanted | set(PLACEHOLDER.findall(ids[0]))
            assert set(PLACEHOLDER.findall(text)) >= set(PLACEHOLDER.findall(ids[0])) - {
                "count",
                "files",
                "areas",
            }
    fresh = io.BytesIO()
    write_mo(fresh, po)
    compiled = (LOCALES / language / "LC_MESSAGES" / "briefgen.mo").read_bytes()
    ours = gettext.GNUTranslations(io.BytesIO(fresh.getvalue()))._catalog  # type: ignore[attr-defined]
    shipped = gettext.GNUTranslations(io.BytesIO(compiled))._catalog  # type: ignore[attr-defined]
    ours.pop("", None)
    shipped.pop("", None)
    assert ours == shipped, f"{language}: the .mo is not compiled from the .po (run bash scripts/messages.sh)"


def test_the_message_template_matches_the_templates_and_code(tmp_path):
    """Every message the templates and code use is in briefgen.pot (extract again and compare)."""
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parents[1]
    pot = tmp_path / "fresh.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    keywords = ["-k", "pgettext:1c,2", "-k", "npgettext:1c,2,3"]
    command = [str(pybabel), "-q", "extract", "-F", str(root / "babel.cfg"), *keywords]
    command += ["--no-location", "--omit-header", "-o", str(pot), "."]
    subprocess.run(command, cwd=root, check=True, timeout=120)
    with open(pot, "rb") as fresh, open(LOCALES / "briefgen.pot", "rb") as shipped:
        want = {(m.context, m.id) for m in read_po(fresh) if m.id}
        have = {(m.context, m.id) for m in read_po(shipped) if m.id}
    assert want == have, (
        f"run bash scripts/messages.sh: missing {sorted(want - have)[:3]}, stale {sorted(have - want)[:3]}"
    )


def test_polish_counts_take_the_right_plural_and_number_word():
    from briefgen import i18n
    from briefgen.render import template_dirs

    polish = i18n.language("pl", template_dirs())
    heading = "%(count)s strategic objective", "%(count)s strategic objectives"
    assert polish.ngettext(*heading, 3) % {"count": polish.number_word(3)} == "trzy cele strategiczne"
    assert polish.ngettext(*heading, 5) % {"count": polish.number_word(5)} == "pięć celów strategicznych"
    assert polish.ngettext(*heading, 22) % {"count": polish.number_word(22)} == "22 cele strategiczne"
    assert polish.quotes[:2] == ("„", "”")
