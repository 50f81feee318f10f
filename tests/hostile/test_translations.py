"""Hostile translations: content overlays (``content/fr/``), ``--language`` and a list's language
column, and message catalogues (``locales/LANG/LC_MESSAGES/briefgen.mo``) in user template folders.

An overlay is content: it is refused as content is (tags, anchors, duplicate keys, links out,
FIFOs, huge files), and every problem is placed at the overlay file's line and column. A language
tag is refused in one line naming the flag or the cell. A catalogue has template-level trust but
is read through the opener and checked when it is read: a corrupt, planted or hostile one (a
Plural-Forms rule that fails, a placeholder that would build a gigabyte, a line break) is one line
naming the catalogue, never a traceback, a hang or a hidden allocation; what it may say reaches
CSS only as an inert string and an e-mail subject never as a second line. Anything that could
block runs in a child process with a time bound.
"""

from __future__ import annotations

import email
import email.policy
import io
import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import lxml.html
import pytest
import tinycss2

from briefgen import i18n
from briefgen.paths import builtin_templates
from briefgen.render import css_string, page_label_css

from .helpers import (
    Run,
    assert_content_error,
    build,
    cli,
    copy_mini,
    counting_server,
    docx_parts,
    pdf_text,
)

TIMEOUT = 90
CATALOGUE = Path("locales") / "fr" / "LC_MESSAGES" / "briefgen.mo"
SECRET = "LEAKED-SECRET-7c1d"


# ----- helpers ----------------------------------------------------------------------------------


def overlay(root: Path, text: str, name: str = "x.yaml", language: str = "fr") -> Path:
    """A private copy of the mini content with ``text`` as its ``language`` overlay file ``name``."""
    content = copy_mini(root / "mini")
    (content / language).mkdir()
    (content / language / name).write_text(text, encoding="utf-8")
    return content


def french(root: Path, content: Path, formats: str = "html", *extra: str | Path) -> Run:
    """``briefgen build --language fr`` of the business audience into ``root/out``."""
    return build(root, content, root / "out", formats, "--language", "fr", *extra)


def briefgen(cwd: Path, *args: str | Path, memory: int | None = None) -> subprocess.CompletedProcess[str]:
    """``briefgen ARGS`` in a child process, bounded in time (and in memory when asked)."""

    def cap() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.run(
        [sys.executable, "-m", "briefgen.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        preexec_fn=cap if memory else None,
    )


def one_error(stderr: str, *needles: str) -> str:
    """The one ``Error:`` line of ``stderr``, holding every needle; no traceback."""
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, stderr
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]


def mo(messages: dict, plural_forms: str | None = None) -> bytes:
    """A French catalogue compiled by Babel from ``{msgid: msgstr}`` (a tuple msgid is a plural)."""
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    catalogue = Catalog(locale="fr", domain="briefgen")
    if plural_forms is not None:
        catalogue.mime_headers = [("Plural-Forms", plural_forms)]
    for message, translation in messages.items():
        catalogue.add(message, translation)
    buffer = io.BytesIO()
    write_mo(buffer, catalogue)
    return buffer.getvalue()


def raw_mo(entries: dict[bytes, bytes]) -> bytes:
    """A .mo file written by hand (for headers Babel itself refuses to write); ``b""`` is the header."""
    keys = sorted(entries)
    ids = strings = b""
    places = []
    for key in keys:
        places.append((len(ids), len(key), len(strings), len(entries[key])))
        ids += key + b"\0"
        strings += entries[key] + b"\0"
    start = 28 + 16 * len(keys)
    head = struct.pack("<7I", 0x950412DE, 0, len(keys), 28, 28 + 8 * len(keys), 0, 0)
    originals = b"".join(struct.pack("<2I", size, start + at) for at, size, _, _ in places)
    translations = b"".join(struct.pack("<2I", size, start + len(ids) + at) for _, _, at, size in places)
    return head + originals + translations + ids + strings


def templates_with_catalogue(root: Path, data: bytes | None = None) -> tuple[Path, Path]:
    """A user template folder holding only ``locales/fr/LC_MESSAGES/`` (and ``data`` as briefgen.mo)."""
    folder = root / "tpl"
    path = folder / CATALOGUE
    path.parent.mkdir(parents=True)
    if data is not None:
        path.write_bytes(data)
    return folder, path


def refused_catalogue(run: Run, *needles: str) -> str:
    """The build stopped with one line naming the catalogue; nothing written."""
    assert run.code in (1, 2), run.result.output
    line = one_error(run.stderr, "briefgen.mo", *needles)
    assert run.changed == [], run.changed
    return line


# ----- overlays: what the source has, and what may be translated ---------------------------------


@pytest.mark.parametrize(
    ("text", "place", "message"),
    [
        (
            "audiences:\n  business:\n    recommendations:\n      protect-recrds: {title: X}\n",
            "x.yaml:4:7: audiences.business.recommendations.protect-recrds",
            "no record with id 'protect-recrds' in the source; did you mean 'protect-records'?",
        ),
        (
            "audiences:\n  busines: {label: X}\n",
            "x.yaml:2:3: audiences.busines",
            "no audience 'busines' in the source; did you mean 'business'?",
        ),
        (
            "objectives:\n  open-dta: {title: X}\n",
            "x.yaml:2:3: objectives.open-dta",
            "did you mean 'open-data'?",
        ),
        (
            "strategy:\n  titel: X\n",
            "x.yaml:2:3: strategy.titel",
            "'titel' is not in the source content; did you mean 'title'?",
        ),
    ],
)
def test_an_unknown_id_or_key_is_placed_in_the_overlay_with_a_suggestion(
    tmp_path: Path, text: str, place: str, message: str
) -> None:
    run = french(tmp_path, overlay(tmp_path, text))
    problem = assert_content_error(run, place, message)
    assert "mini/fr/" in problem


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("strategy:\n  id: other-plan\n", "x.yaml:2:3: strategy.id"),
        ("strategy:\n  presented: 2020-01-01\n", "x.yaml:2:3: strategy.presented"),
        ("strategy:\n  language: de\n", "x.yaml:2:3: strategy.language"),
        ("initiatives:\n  quay-pilot:\n    kind: project\n", "x.yaml:3:5: initiatives.quay-pilot.kind"),
        ("objectives:\n  open-data:\n    id: closed-data\n", "x.yaml:3:5: objectives.open-data.id"),
        (
            "audiences:\n  business:\n    recommendations:\n      use-feed:\n        objectives: [x]\n",
            "x.yaml:5:9: audiences.business.recommendations.use-feed.objectives",
        ),
        (
            "audiences:\n  business:\n    sections:\n      first-moves:\n        entries:\n"
            "          - {title: A, refs: [protect-records]}\n",
            "x.yaml:6:24: audiences.business.sections.first-moves.entries[0].refs",
        ),
        (
            "focus_areas:\n  safe-sharing:\n    objectives: [x]\n",
            "x.yaml:3:5: focus_areas.safe-sharing.objectives",
        ),
        ("audiences:\n  business:\n    template: government\n", "x.yaml:3:5: audiences.business.template"),
    ],
)
def test_ids_kinds_dates_and_references_are_not_translated(tmp_path: Path, text: str, place: str) -> None:
    run = french(tmp_path, overlay(tmp_path, text))
    assert_content_error(
        run, place, "is not translated: ids, references, dates and kinds come from the source"
    )


@pytest.mark.parametrize(
    ("text", "place", "message"),
    [
        (  # entries keep the source's number and order: references hang on them
            "audiences:\n  business:\n    sections:\n      first-moves:\n        entries:\n"
            "          - {title: A, text: B}\n          - {title: C, text: D}\n",
            "x.yaml:5:9: audiences.business.sections.first-moves.entries",
            "has 2 items; the source has 1, in the same order",
        ),
        (
            "audiences:\n  business:\n    sections:\n      first-moves:\n        entries: {title: A}\n",
            "x.yaml:5:9: audiences.business.sections.first-moves.entries",
            "expected a list, as in the source",
        ),
        (  # records are keyed by id, not listed as in the source
            "objectives:\n  - id: open-data\n    title: Ouvrir\n",
            "x.yaml:1:1: objectives",
            "expected records keyed by their id (id: {fields}), not a list",
        ),
        (
            "audiences:\n  business:\n    recommendations:\n      - {title: X}\n",
            "x.yaml:3:5: audiences.business.recommendations",
            "not a list",
        ),
        (
            "objectives:\n  open-data:\n    title: {fr: Ouvrir}\n",
            "x.yaml:3:5: objectives.open-data.title",
            "a translation is text",
        ),
        (
            "objectives:\n  open-data:\n    title: [Ouvrir]\n",
            "x.yaml:3:5: objectives.open-data.title",
            "a translation is text",
        ),
        (
            "objectives:\n  open-data:\n    title: '   '\n",
            "x.yaml:3:5: objectives.open-data.title",
            "a translation is text",
        ),
        (
            "objectives:\n  open-data:\n    points: [Un, {a: b}]\n",
            "x.yaml:3:5: objectives.open-data.points",
            "a list of text translates to a list of text",
        ),
        (
            "objectives:\n  open-data:\n    points: [Un, null]\n",
            "x.yaml:3:5: objectives.open-data.points",
            "a list of text translates to a list of text",
        ),
        (
            "objectives:\n  open-data:\n    points: []\n",
            "x.yaml:3:5: objectives.open-data.points",
            "an empty list: leave the field out to keep the source text",
        ),
        (
            "objectives:\n  open-data:\n    points: Un seul point\n",
            "x.yaml:3:5: objectives.open-data.points",
            "expected a list, as in the source",
        ),
        (
            "objectives:\n  open-data: Ouvrir\n",
            "x.yaml:2:3: objectives.open-data",
            "expected a mapping of fields, as in the source",
        ),
        ("audiences: [business]\n", "x.yaml:1:1: audiences", "expected each audience keyed by its id"),
    ],
)
def test_an_overlay_of_the_wrong_shape_is_placed_in_the_overlay(
    tmp_path: Path, text: str, place: str, message: str
) -> None:
    assert_content_error(french(tmp_path, overlay(tmp_path, text)), place, message)


def test_numbers_stay_text_and_null_keeps_the_source_text(tmp_path: Path) -> None:
    text = "objectives:\n  open-data:\n    title: 2025\n    summary: null\n    points: [1e3, 0755, no]\n"
    run = french(tmp_path, overlay(tmp_path, text))
    assert run.code == 0, run.result.output
    html = (tmp_path / "out" / "business-brief-fr.html").read_text(encoding="utf-8")
    assert ">2025<" in html and "1e3" in html and "0755" in html and ">no<" in html
    assert "Publish timetables and berth data" in html  # summary: null is "not translated"


def test_merged_text_that_breaks_validation_is_reported_at_the_overlay_line(tmp_path: Path) -> None:
    text = (
        'audiences:\n  business:\n    label: "Entre\\nprises"\n    recommendations:\n      use-feed:\n'
        "        summary: |-\n          - une liste\n          - ici\n"
    )
    content = overlay(tmp_path, text)
    run = french(tmp_path, content)
    assert_content_error(
        run,
        "mini/fr/x.yaml:3:5: audiences.business.label:",
        "mini/fr/x.yaml:6:9: audiences.business.recommendations[0].summary: shown inline: a list",
    )
    assert "mini/business.yaml" not in run.stderr  # the source is fine: nothing is blamed on it


def test_raw_html_and_unsafe_links_in_an_overlay_are_text_as_in_the_source(tmp_path: Path) -> None:
    text = (
        "audiences:\n  business:\n"
        "    brief_title: \"<script>alert('title')</script>\"\n"
        '    intro: "<script>alert(1)</script> [js-link](javascript:alert(1)) '
        '<img src=x onerror=alert(2)> [file-link](file:///etc/passwd) [ok](https://example.org/fr)"\n'
    )
    run = french(tmp_path, overlay(tmp_path, text))
    assert run.code == 0, run.result.output
    html = lxml.html.fromstring((tmp_path / "out" / "business-brief-fr.html").read_bytes())
    assert list(html.iter("script")) == [] and list(html.iter("img")) == []
    hrefs = [a.get("href", "") for a in html.iter("a")]
    assert "https://example.org/fr" in hrefs
    assert [h for h in hrefs if not h.startswith(("http://", "https://", "mailto:", "#"))] == []
    shown = html.text_content()
    for text_shown in (
        "<script>alert(1)</script>",
        "js-link",
        "<img src=x onerror=alert(2)>",
        "file-link",
    ):
        assert text_shown in shown, text_shown


# ----- overlays: YAML and files the loader refuses ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("a: &x [1]\nb: *x\n", "x.yaml:1:4: anchors (&x) are not allowed in content"),
        (  # billion laughs: refused at its first anchor, nothing expanded
            'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
            "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n",
            "x.yaml:1:4: anchors (&a) are not allowed in content",
        ),
        ('strategy: !!python/object/apply:os.system ["echo pwned"]\n', "x.yaml:1:11: tags ("),
        ("strategy:\n  title: !custom X\n", "x.yaml:2:10: tags (!custom)"),
        (
            "strategy:\n  title: A\n  title: B\n",
            "x.yaml:3:3: duplicate key 'title' (first defined at line 2)",
        ),
        (
            "strategy: {title: A}\n---\nstrategy: {title: B}\n",
            "x.yaml:3:1: a content file holds one YAML document",
        ),
        ('strategy:\n  title: "bell \\a"\n', "x.yaml:2:10: strategy.title: character U+0007 is not allowed"),
        ("x:" + " [" * 45 + "]" * 45 + "\n", "nesting deeper than 40 levels"),
        ("- a\n", "x.yaml:1:1: the top level must be a mapping of keys"),
        ("", "x.yaml:1:1: file is empty"),
    ],
)
def test_yaml_the_loader_refuses_in_the_source_is_refused_in_an_overlay(
    tmp_path: Path, text: str, needle: str
) -> None:
    assert_content_error(french(tmp_path, overlay(tmp_path, text)), needle)
    assert not Path("pwned").exists()


def test_bytes_that_are_not_utf8_are_placed(tmp_path: Path) -> None:
    content = overlay(tmp_path, "strategy: {title: ok}\n")
    (content / "fr" / "x.yaml").write_bytes(b"strategy:\n  title: caf\xe9\n")
    assert_content_error(french(tmp_path, content), "x.yaml:2:13: not UTF-8 (byte 0xe9)")


def test_a_100_mb_overlay_is_refused_by_its_size_without_being_read(tmp_path: Path) -> None:
    content = overlay(tmp_path, "")
    with (content / "fr" / "x.yaml").open("wb") as handle:
        handle.truncate(100 * 1024 * 1024)
    started = time.monotonic()
    run = french(tmp_path, content)
    assert_content_error(run, "x.yaml:1:1: file is 104,857,600 bytes; the limit is 5,242,880")
    assert time.monotonic() - started < 10


def test_a_translation_folder_linked_out_of_the_content_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "b.yaml").write_text(f"audiences: {{business: {{label: {SECRET}}}}}\n", encoding="utf-8")
    content = copy_mini(tmp_path / "mini")
    (content / "fr").symlink_to(outside)
    run = french(tmp_path, content)
    assert_content_error(run, "mini/fr:1:1: a link out of its content folder; not read")
    assert SECRET not in run.result.output


def test_a_translation_folder_linked_inside_the_content_is_followed(tmp_path: Path) -> None:
    content = overlay(tmp_path, "audiences:\n  business:\n    label: Entreprises\n")
    (content / "fr-BE").symlink_to("fr")
    run = build(tmp_path, content, tmp_path / "out", "html", "--language", "fr-BE")
    assert run.code == 0, run.result.output
    assert "Entreprises" in (tmp_path / "out" / "business-brief-fr-be.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("target", ["/etc/passwd", "secret"])
def test_an_overlay_file_linked_out_of_its_folder_is_not_read(tmp_path: Path, target: str) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text(f"audiences: {{business: {{label: {SECRET}}}}}\n", encoding="utf-8")
    content = copy_mini(tmp_path / "mini")
    (content / "fr").mkdir()
    (content / "fr" / "x.yaml").symlink_to(secret if target == "secret" else target)
    run = french(tmp_path, content)
    assert_content_error(run, "mini/fr/x.yaml:1:1: a link out of its content folder; not read")
    assert SECRET not in run.result.output and "root:" not in run.result.output


def test_an_overlay_linked_to_a_source_file_beside_it_is_not_read(tmp_path: Path) -> None:
    content = copy_mini(tmp_path / "mini")
    (content / "fr").mkdir()
    (content / "fr" / "x.yaml").symlink_to(content / "strategy.yaml")  # inside the content, outside fr/
    assert_content_error(french(tmp_path, content), "mini/fr/x.yaml:1:1: a link out of its content folder")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "folder"])
def test_an_overlay_that_is_not_a_regular_file_is_refused_without_blocking(tmp_path: Path, kind: str) -> None:
    content = copy_mini(tmp_path / "mini")
    (content / "fr").mkdir()
    planted = content / "fr" / "x.yaml"
    if kind == "fifo":
        os.mkfifo(planted)
    elif kind == "dev-zero":
        planted.symlink_to("/dev/zero")
    else:
        planted.mkdir()
    started = time.monotonic()
    done = briefgen(tmp_path, "build", "--content", content, "--audience", "business", "--format", "html",
                    "--language", "fr", "--out", tmp_path / "out")  # fmt: skip
    assert time.monotonic() - started < TIMEOUT
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    if kind == "folder":  # a folder named x.yaml is not a file: the overlay folder has none
        assert "mini/fr:1:1: no .yaml files in this folder" in done.stderr, done.stderr
    elif kind == "fifo":
        assert "mini/fr/x.yaml:1:1: not a regular file" in done.stderr, done.stderr
    else:
        assert "mini/fr/x.yaml:1:1: " in done.stderr, done.stderr
    assert not (tmp_path / "out").exists()


def test_sub_folders_that_are_not_language_tags_are_not_translations(tmp_path: Path) -> None:
    content = overlay(tmp_path, "audiences:\n  business:\n    label: Entreprises\n")
    for name in ("notes", "xx_YY", "fr.bak", "..fr", "fr-"):
        (content / name).mkdir()
        (content / name / "n.yaml").write_text("strategy: {title: Not a translation}\n", encoding="utf-8")
    (content / "fr" / "nested").mkdir()  # an overlay folder is read one level deep, like the source
    (content / "fr" / "nested" / "n.yaml").write_text("strategy: {title: Not a translation}\n")
    run = cli(tmp_path, "languages", "--content", content)
    assert run.code == 0, run.result.output
    tags = [line.split()[0] for line in run.stdout.splitlines()[1:-1]]
    assert "fr" in tags and not {"notes", "xx-YY", "fr.bak", "..fr", "fr-"} & set(tags), run.stdout
    run = french(tmp_path, content)  # fr/ is the translation; the look-alikes are never merged
    assert run.code == 0, run.result.output
    assert "Not a translation" not in (tmp_path / "out" / "business-brief-fr.html").read_text(
        encoding="utf-8"
    )


@pytest.mark.parametrize("language", ["xx", "../../etc", "[a]", "fr-UK"])
def test_languages_reports_a_content_language_that_is_not_a_tag_without_failing(
    tmp_path: Path, language: str
) -> None:
    content = copy_mini(tmp_path / "mini")
    strategy = content / "strategy.yaml"
    text = strategy.read_text(encoding="utf-8")
    value = language if language.startswith("[") else json.dumps(language)
    strategy.write_text(
        text.replace("  id: harbour-data-plan\n", f"  id: harbour-data-plan\n  language: {value}\n")
    )
    run = cli(tmp_path, "languages", "--content", content)
    assert run.code == 0, run.result.output
    assert "is not a language tag; run briefgen validate" in run.stderr, run.stderr
    assert "source language" in run.stdout


# ----- --language and the list's language column ------------------------------------------------

BAD_TAGS = [
    ("../../etc", "'../../etc' is not a language tag"),
    ("x" * 10_000, "is not a language tag (10,000 characters)"),
    ("en_GB", "'en_GB' is not a language tag: did you mean 'en-GB'? (use '-', not '_')"),
    ("xx", "'xx' is not a known language code"),
    ("fr-UK", "'UK' in 'fr-UK' is not a known region code"),
    ("english", "did you mean 'en'?"),
    ("fr/../../x", "is not a language tag"),
    ("fr\x00", "is not a language tag"),
]


@pytest.mark.parametrize(("tag", "message"), BAD_TAGS)
def test_a_bad_language_flag_is_one_line_naming_the_flag(tmp_path: Path, tag: str, message: str) -> None:
    content = overlay(tmp_path, "strategy: {title: Plan}\n")
    run = build(tmp_path, content, tmp_path / "out", "html", "--language", tag)
    assert run.code == 2, run.result.output
    line = one_error(run.stderr, "Invalid value for '--language'", message)
    assert len(line) < 400, line  # a 10,000-character tag is cut in the message
    assert run.changed == [] and not (tmp_path / "out").exists()


def test_a_language_flag_with_a_trailing_line_break_names_nothing_with_it(tmp_path: Path) -> None:
    content = overlay(tmp_path, "audiences:\n  business:\n    label: Entreprises\n")
    run = build(tmp_path, content, tmp_path / "out", "html", "--language", "fr\n")
    assert run.code == 0, run.result.output  # surrounding white space is dropped: it is plain fr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["business-brief-fr.html", "manifest.json"]
    manifest = (tmp_path / "out" / "manifest.json").read_text(encoding="utf-8")
    assert '"language": "fr"' in manifest and "fr\\n" not in manifest


def test_bad_tags_in_the_lists_language_column_are_placed_at_their_cells(tmp_path: Path) -> None:
    cells = [
        ("../../etc", "'../../etc' is not a language tag"),
        ("x" * 10_000, "10,000 characters; at most 1,000"),
        ("en_GB", "'en_GB' is not a language tag: did you mean 'en-GB'? (use '-', not '_')"),
        ("xx", "'xx' is not a known language code"),
        ("fr-UK", "'UK' in 'fr-UK' is not a known region code (the United Kingdom is GB)"),
        ("english", "did you mean 'en'?"),
    ]
    rows = ["id,name,organisation,audience,email,language"]
    rows += [f"s{i},Name {i},Org,business,s{i}@example.org,{tag}" for i, (tag, _) in enumerate(cells)]
    listing = tmp_path / "list.csv"
    listing.write_text("\n".join(rows) + "\n", encoding="utf-8")
    content = overlay(tmp_path, "strategy: {title: Plan}\n")
    run = cli(tmp_path, "batch", listing, "--content", content, "--format", "html", "--out", tmp_path / "out")
    assert run.code == 1, run.result.output
    assert "Traceback" not in run.result.output
    problems = run.stderr.splitlines()[1:]
    assert len(problems) == len(cells), run.stderr
    for row, ((_, message), line) in enumerate(zip(cells, problems, strict=True), start=2):
        assert line.startswith(f"list.csv:{row}:6: language: ") and message in line, line
        assert len(line) < 400, line
    assert run.changed == [] and not (tmp_path / "out").exists()


def test_a_broken_translation_named_by_the_list_stops_the_batch_before_it_starts(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "b.yaml").write_text(f"audiences: {{business: {{label: {SECRET}}}}}\n", encoding="utf-8")
    content = copy_mini(tmp_path / "mini")
    (content / "fr").symlink_to(outside)
    listing = tmp_path / "list.csv"
    listing.write_text(
        "id,name,organisation,audience,email,language\n"
        "s1,Ann,Org,business,ann@example.org,\ns2,Bob,Org,business,bob@example.org,fr\n",
        encoding="utf-8",
    )
    run = cli(tmp_path, "batch", listing, "--content", content, "--format", "html", "--out", tmp_path / "out")
    assert run.code == 1, run.result.output
    assert "mini/fr:1:1: a link out of its content folder; not read" in run.stderr
    assert SECRET not in run.result.output
    assert run.changed == [] and not (tmp_path / "out").exists()


# ----- catalogues: files that are not catalogues --------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "needle"),
    [
        ("garbage", "not a compiled message catalogue (Bad magic number)"),
        ("truncated", "not a compiled message catalogue"),
        ("cut-strings", "not a compiled message catalogue"),
        ("huge", f"over the limit of {i18n.CATALOGUE_BYTES:,}"),
        ("dev-zero", "lies outside its folder"),
        ("link-out", "lies outside its folder"),
        ("dangling", "lies outside its folder"),
        ("folder", "not a regular file (a folder)"),
        ("bad-charset", "not a compiled message catalogue"),
        ("not-utf8", "not a compiled message catalogue"),
    ],
)
def test_a_catalogue_that_cannot_be_read_is_one_line_naming_it(
    tmp_path: Path, kind: str, needle: str
) -> None:
    folder, path = templates_with_catalogue(tmp_path)
    good = mo({"Contents": f"Sommaire {SECRET}"})
    secret = tmp_path / "outside.mo"
    secret.write_bytes(good)
    if kind == "garbage":
        path.write_bytes(b"not a catalogue at all" * 10)
    elif kind == "truncated":
        path.write_bytes(good[:20])
    elif kind == "cut-strings":
        path.write_bytes(good[:100])
    elif kind == "huge":
        with path.open("wb") as handle:
            handle.truncate(i18n.CATALOGUE_BYTES + 1)
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "link-out":
        path.symlink_to(secret)
    elif kind == "dangling":
        path.symlink_to(tmp_path / "nowhere.mo")
    elif kind == "folder":
        path.mkdir()
    elif kind == "bad-charset":
        path.write_bytes(
            raw_mo({b"": b"Content-Type: text/plain; charset=rot13\n", b"Contents": b"Sommaire"})
        )
    else:
        path.write_bytes(
            raw_mo({b"": b"Content-Type: text/plain; charset=utf-8\n", b"Contents": b"Somm\xe9"})
        )
    started = time.monotonic()
    run = french(tmp_path, overlay(tmp_path, "strategy: {title: Plan}\n"), "html", "--templates", folder)
    refused_catalogue(run, needle)
    assert SECRET not in run.result.output
    assert time.monotonic() - started < 30


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_catalogue_is_refused_without_blocking(tmp_path: Path) -> None:
    folder, path = templates_with_catalogue(tmp_path)
    os.mkfifo(path)
    content = overlay(tmp_path, "strategy: {title: Plan}\n")
    started = time.monotonic()
    done = briefgen(tmp_path, "build", "--content", content, "--audience", "business", "--format", "html",
                    "--language", "fr", "--templates", folder, "--out", tmp_path / "out")  # fmt: skip
    assert time.monotonic() - started < TIMEOUT
    assert done.returncode == 2, done.stderr
    one_error(done.stderr, "briefgen.mo: not a regular file (a FIFO); not read")
    assert not (tmp_path / "out").exists()


def test_languages_survives_broken_catalogues_and_po_files(tmp_path: Path) -> None:
    folder, path = templates_with_catalogue(tmp_path, b"garbage")
    (path.with_suffix(".po")).write_bytes(os.urandom(4096))
    other = folder / "locales" / "notes" / "LC_MESSAGES"
    other.mkdir(parents=True)
    (other / "briefgen.mo").write_bytes(mo({"Contents": "x"}))
    german = folder / "locales" / "de" / "LC_MESSAGES"
    german.mkdir(parents=True)
    (german / "briefgen.mo").write_bytes(mo({"Contents": "Inhalt"}))
    (german / "briefgen.po").symlink_to("/etc/passwd")
    run = cli(tmp_path, "languages", "--content", copy_mini(tmp_path / "mini"), "--templates", folder)
    assert run.code == 0, run.result.output
    assert "Traceback" not in run.result.output and "internal error" not in run.result.output
    assert "language fr: " in run.stderr and "not a compiled message catalogue" in run.stderr
    assert "briefgen.po: lies outside its folder" in run.stderr
    assert "root:" not in run.result.output
    rows = {line.split()[0]: line for line in run.stdout.splitlines()[1:-1]}
    assert "notes" not in rows and "0/" in rows["fr"], run.stdout


# ----- catalogues: what a translation may say -----------------------------------------------------

PLURAL_RULES = [
    ("nplurals=2; plural=n**999999;", "unexpected token in plural form"),
    ("nplurals=2; plural=" + "n+" * 20_000 + "n;", "plural form expression is too long"),
    ("nplurals=2; plural=" + "(" * 50 + "n" + ")" * 50 + ";", "plural form expression is too complex"),
    ("nplurals=2; plural=n%0;", "Plural-Forms rule fails for 0 (ZeroDivisionError"),
    ("nplurals=2; plural=n/(n-7);", "Plural-Forms rule fails for 7 (ZeroDivisionError"),
    ("nplurals=2; plural=__import__('os').system('touch pwned');", "invalid token in plural form"),
    ("nplurals=2; plural=n.__class__;", "plural form"),
    ("junk", "not a compiled message catalogue"),
]


@pytest.mark.parametrize(("rule", "needle"), PLURAL_RULES)
def test_a_hostile_plural_forms_rule_is_refused_when_the_catalogue_is_read(
    tmp_path: Path, rule: str, needle: str
) -> None:
    header = f"Content-Type: text/plain; charset=utf-8\nPlural-Forms: {rule}\n".encode()
    folder, _ = templates_with_catalogue(tmp_path, raw_mo({b"": header, b"Contents": b"Sommaire"}))
    started = time.monotonic()
    run = french(tmp_path, overlay(tmp_path, "strategy: {title: Plan}\n"), "html", "--templates", folder)
    refused_catalogue(run, needle)
    assert time.monotonic() - started < 30
    assert not Path("pwned").exists()


def test_a_harmless_odd_plural_rule_falls_back_to_the_message(tmp_path: Path) -> None:
    plural = ("%(count)s priority focus area", "%(count)s priority focus areas")
    data = mo({plural: ("%(count)s SINGULIER", "%(count)s PLURIEL")}, "nplurals=2; plural=99999999999;")
    folder, _ = templates_with_catalogue(tmp_path, data)
    run = french(tmp_path, overlay(tmp_path, "strategy: {title: Plan}\n"), "html", "--templates", folder)
    assert run.code == 0, run.result.output  # an index the catalogue lacks: the next catalogue answers
    html = (tmp_path / "out" / "business-brief-fr.html").read_text(encoding="utf-8")
    assert "SINGULIER" not in html and "PLURIEL" not in html


@pytest.mark.parametrize(
    ("message", "translation", "needle"),
    [
        ("Audience: %(audience)s.", "%(audience)900000000s", "'%(audience)900000000s' in the translation"),
        ("Audience: %(audience)s.", "%(audience).900000000s", "is not a placeholder of the message"),
        ("Contents", "%(x)s", "'%(x)s' in the translation is not a placeholder of the message"),
        ("Contents", "100%", "a lone '%' in the translation: write '%%' for a percent sign"),
        ("Contents", "100% sûr", "'% s' in the translation is not a placeholder"),
        ("Audience: %(audience)s.", "Public : %(audience)d.", "'%(audience)d' in the translation"),
        ("Contents", "Som\nmaire", "the translation has a line break the message does not have"),
        ("Contents", "Som\u2028maire", "control character U+2028"),
        ("Contents", "Som\x1b[31mmaire", "control character U+001B"),
    ],
)
def test_a_translation_that_would_misformat_is_refused_naming_the_message(
    tmp_path: Path, message: str, translation: str, needle: str
) -> None:
    folder, _ = templates_with_catalogue(tmp_path, mo({message: translation}))
    run = french(tmp_path, overlay(tmp_path, "strategy: {title: Plan}\n"), "html", "--templates", folder)
    line = refused_catalogue(run, f"message {message!r}", needle)
    assert len(line) < 400, line


def test_a_width_that_would_build_a_gigabyte_is_refused_before_any_allocation(tmp_path: Path) -> None:
    folder, _ = templates_with_catalogue(tmp_path, mo({"Audience: %(audience)s.": "%(audience)900000000s"}))
    content = overlay(tmp_path, "strategy: {title: Plan}\n")
    done = briefgen(
        tmp_path,
        "build",
        "--content",
        content,
        "--audience",
        "business",
        "--format",
        "html",
        "--language",
        "fr",
        "--templates",
        folder,
        "--out",
        tmp_path / "out",
        memory=1536 << 20,
    )  # fmt: skip  -- without the check this needs 2.6 GB
    assert done.returncode == 1, done.stderr
    one_error(done.stderr, "briefgen.mo: message 'Audience: %(audience)s.'")
    assert "MemoryError" not in done.stderr and not (tmp_path / "out").exists()


def test_a_templates_own_message_cannot_format_a_huge_width_either(tmp_path: Path) -> None:
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "business.html.j2").write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>x</title></head><body>'
        '<h1>x</h1>{{ _("%(x)999999999s", x=1) }}</body></html>',
        encoding="utf-8",
    )
    done = briefgen(tmp_path, "build", "--content", copy_mini(tmp_path / "mini"), "--audience", "business",
                    "--format", "html", "--templates", folder, "--out", tmp_path / "out",
                    memory=1536 << 20)  # fmt: skip
    assert done.returncode == 1, done.stderr
    one_error(done.stderr, "business.html.j2:1: refused by the template sandbox", "format width or precision")


def test_a_literal_percent_in_a_trans_block_is_not_mistaken_for_a_width(tmp_path: Path) -> None:
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "business.html.j2").write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>x</title></head><body>'
        "<h1>x</h1><p>{% trans %}%(x)999999999s is text{% endtrans %}</p></body></html>",
        encoding="utf-8",
    )
    run = build(tmp_path, copy_mini(tmp_path / "mini"), tmp_path / "out", "html", "--templates", folder)
    assert run.code == 0, run.result.output
    assert "%(x)999999999s is text" in (tmp_path / "out" / "business-brief.html").read_text(encoding="utf-8")


def test_every_shipped_catalogue_passes_the_checks() -> None:
    (folder,) = i18n.locale_dirs((builtin_templates(),))
    paths = sorted(folder.glob("*/LC_MESSAGES/briefgen.mo"))
    assert len(paths) >= 6
    for path in paths:
        assert i18n._read_catalogue(path, folder) is not None, path


# ----- catalogues: CSS strings and HTML ------------------------------------------------------------


#: Contents translations that try to leave their CSS string; what the PDF must still show of each.
CONTENTS_BREAKOUTS = [
    ('"; } body { display:none; background: url({server}/bg) } /*', "display:none;"),
    ("</style><script>alert(1)</script>", "alert(1)"),
    ("\\22 ; } body { background: url({server}/hexquote) } /*", "hexquote"),
    ('\\"; } @import url({server}/import); /*', "@import"),
    ("} @page { @top-left { content: '{server}/x' } } /*", "@top-left"),
]


def squash(text: str) -> str:
    return "".join(text.split())


@pytest.mark.parametrize(("translation", "visible"), CONTENTS_BREAKOUTS)
def test_a_label_translation_stays_inert_css_in_every_format(
    tmp_path: Path, translation: str, visible: str
) -> None:
    with counting_server() as server:
        text = translation.replace("{server}", server.url)
        label = f"</style><script>alert(2)</script> %(page)s / %(pages)s {text}"
        data = mo({"Contents": text, "Page %(page)s of %(pages)s": label})
        folder, _ = templates_with_catalogue(tmp_path, data)
        content = overlay(tmp_path, "strategy: {title: Plan}\n")
        run = french(tmp_path, content, "html,pdf,docx", "--templates", folder)
        assert run.code == 0, run.result.output
        html = (tmp_path / "out" / "business-brief-fr.html").read_text(encoding="utf-8")
        document = lxml.html.fromstring(html.encode("utf-8"))
        assert list(document.iter("script")) == []  # the markup a catalogue writes: scripts removed
        for style in document.iter("style"):  # no label became a rule of the HTML brief's styles
            assert visible not in (style.text or "") and server.url not in (style.text or "")
        assert server.hits == []
        shown = pdf_text((tmp_path / "out" / "business-brief-fr.pdf").read_bytes())
        assert squash("</style><script>alert(2)</script> 2 / ") in squash(shown)  # the page label, as text
        assert squash(visible) in squash(shown)
        assert "Build on the berth feed" in shown  # nothing hid the body
        parts = docx_parts((tmp_path / "out" / "business-brief-fr.docx").read_bytes())
        footer = b"".join(data for name, data in parts.items() if name.startswith("word/footer"))
        assert b"&lt;/style&gt;&lt;script&gt;alert(2)&lt;/script&gt; " in footer and b"<script" not in footer


def test_a_page_label_keeps_its_spaces_in_the_pdf(tmp_path: Path) -> None:
    folder, _ = templates_with_catalogue(
        tmp_path, mo({"Page %(page)s of %(pages)s": "p. %(page)s / %(pages)s (A & B)"})
    )
    run = french(tmp_path, overlay(tmp_path, "strategy: {title: Plan}\n"), "pdf", "--templates", folder)
    assert run.code == 0, run.result.output
    shown = pdf_text((tmp_path / "out" / "business-brief-fr.pdf").read_bytes())
    assert "p. 2 / " in shown and "(A & B)" in shown, shown


def test_a_contents_translation_with_a_quote_reaches_the_pdf_whole(tmp_path: Path) -> None:
    folder, _ = templates_with_catalogue(tmp_path, mo({"Contents": 'Le "sommaire" & annexes'}))
    run = french(tmp_path, overlay(tmp_path, "strategy: {title: Plan}\n"), "html,pdf", "--templates", folder)
    assert run.code == 0, run.result.output
    document = lxml.html.fromstring((tmp_path / "out" / "business-brief-fr.html").read_bytes())
    (meta,) = [m for m in document.iter("meta") if m.get("name") == "briefgen-contents-label"]
    assert meta.get("content") == 'Le "sommaire" & annexes' and len(meta.attrib) == 2, dict(meta.attrib)
    assert 'Le "sommaire" & annexes' in pdf_text((tmp_path / "out" / "business-brief-fr.pdf").read_bytes())


def test_a_catalogue_that_opens_a_style_element_in_the_body_is_no_internal_error(tmp_path: Path) -> None:
    data = mo({"Contents": "</style><script>alert(1)</script><style>"})
    folder, _ = templates_with_catalogue(tmp_path, data)
    run = french(tmp_path, overlay(tmp_path, "strategy: {title: Plan}\n"), "html", "--templates", folder)
    assert "internal error" not in run.result.output and run.code == 0, run.result.output


@pytest.mark.parametrize(
    "text",
    ["Page 3 / 10", "A & B", "x)  y", " lead", "trail ", "; } ", "« Sommaire »", "\\ \\", "a\u00a0/ b"],
)
def test_a_css_string_keeps_every_space_after_an_escape(text: str) -> None:
    tokens = tinycss2.parse_component_value_list(str(css_string(text)))
    assert [t.type for t in tokens] == ["string"] and tokens[0].value == text


def test_a_page_label_keeps_its_spaces_around_the_counters() -> None:
    tokens = tinycss2.parse_component_value_list(str(page_label_css("p. %(page)s / %(pages)s (%%)")))
    shown = [t.value if t.type == "string" else t.name for t in tokens if t.type != "whitespace"]
    assert shown == ["p. ", "counter", " / ", "counter", " (%)"]


def test_quotation_marks_from_a_catalogue_are_escaped_in_markdown(tmp_path: Path) -> None:
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    catalogue = Catalog(locale="fr", domain="briefgen")
    catalogue.add(
        "“ ” ‘ ’", "<script> </script> <img/src=x/onerror=alert(1)> &amp;", context="quotation marks"
    )
    buffer = io.BytesIO()
    write_mo(buffer, catalogue)
    folder, _ = templates_with_catalogue(tmp_path, buffer.getvalue())
    text = "audiences:\n  business:\n    intro: |-\n      He said \"hi\" and 'yo'\n"
    run = french(tmp_path, overlay(tmp_path, text), "html", "--templates", folder)
    assert run.code == 0, run.result.output
    document = lxml.html.fromstring((tmp_path / "out" / "business-brief-fr.html").read_bytes())
    assert list(document.iter("script")) == [] and list(document.iter("img")) == []
    assert "He said <script>hi</script> and <img/src=x/onerror=alert(1)>yo&amp;" in document.text_content()


# ----- catalogues: the e-mail ------------------------------------------------------------------------


def _batch_eml(root: Path, folder: Path) -> Run:
    listing = root / "list.csv"
    listing.write_text(
        "id,name,organisation,audience,email,language\ns1,Ann,Org,business,ann@example.org,fr\n",
        encoding="utf-8",
    )
    content = overlay(root, "strategy: {title: Plan}\n")
    return cli(root, "batch", listing, "--content", content, "--format", "html", "--eml",
               "--from", "sender@example.org", "--templates", folder, "--out", root / "out")  # fmt: skip


@pytest.mark.parametrize(
    ("message", "translation"),
    [
        ("Your briefing: %(title)s", "Votre note\nBcc: evil@evil.example\n%(title)s"),
        ("Your briefing: %(title)s", "Votre note\r\nBcc: evil@evil.example %(title)s"),
        ("Your briefing: %(title)s", "Votre note\u2028Bcc: evil@evil.example %(title)s"),
        ("Your briefing: %(title)s", "Votre note\x85Bcc: evil@evil.example %(title)s"),
        ("Dear %(name)s,", "Bonjour %(name)s,\nBcc: evil@evil.example"),
    ],
)
def test_a_catalogue_line_break_never_reaches_an_e_mail(
    tmp_path: Path, message: str, translation: str
) -> None:
    folder, _ = templates_with_catalogue(tmp_path, mo({message: translation}))
    run = _batch_eml(tmp_path, folder)
    assert run.code == 1, run.result.output
    assert "Traceback" not in run.result.output
    # the catalogue is read before the batch starts: it stops there, naming the catalogue and message
    assert "briefgen.mo: message " in run.result.output
    assert "line break" in run.result.output or "control character" in run.result.output
    outbox = tmp_path / "out" / "outbox"
    assert not outbox.exists() or list(outbox.iterdir()) == []


def test_a_one_line_header_lookalike_stays_in_the_subject_and_body(tmp_path: Path) -> None:
    data = mo(
        {
            "Your briefing: %(title)s": "Bcc: evil@evil.example Subject: %(title)s",
            "Dear %(name)s,": "Bcc: evil@evil.example, %(name)s,",
        }
    )
    folder, _ = templates_with_catalogue(tmp_path, data)
    run = _batch_eml(tmp_path, folder)
    assert run.code == 0, run.result.output
    (draft,) = (tmp_path / "out" / "outbox").iterdir()
    raw = draft.read_bytes()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Bcc"] is None and message.get_all("Subject") == [message["Subject"]]
    assert (
        message["Subject"]
        == "Bcc: evil@evil.example Subject: What the Harbour Town Data Plan means for firms"
    )
    headers = raw.split(b"\n\n", 1)[0].decode("ascii")
    assert [h.split(":")[0] for h in headers.splitlines() if not h.startswith((" ", "\t"))] == [
        "To", "From", "Subject", "Date", "X-Unsent", "MIME-Version", "Content-Type",
    ]  # fmt: skip
    body = next(part for part in message.walk() if part.get_content_type() == "text/plain")
    assert "Bcc: evil@evil.example, Ann," in body.get_content()
