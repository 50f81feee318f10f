"""The Typst PDF engine with hostile text and hostile templates: text stays text, a template reads
only its own folder, imports no package and stops at the time limit."""

from __future__ import annotations

import html
import time
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import EPOCH, small

from briefgen import limits
from briefgen.errors import UsageError
from briefgen.log import collect
from briefgen.paths import builtin_templates
from briefgen.theme import Theme
from briefgen.writers import WriteOptions
from briefgen.writers.pdf import write as write_pdf

from .helpers import build, pdf_everything, pdf_text

TYPST = WriteOptions(pdf_engine="typst", source_date_epoch=int(EPOCH))
#: Strings that would be Typst code, math, references or escapes if they reached markup as such.
PAYLOADS = [
    '#read("/etc/passwd")',
    '#import "@preview/cetz:0.2.0": *',
    "#let x = 1] ] [#x]",
    "$ x^2 $ and $$",
    "@secret <label> @@",
    "back\\slash \\\\ \\u{41} \\#",
    '#{ panic("boom") }',
    "*bold* _em_ `raw` = heading - item + enum / comment // line /* block */",
    "\"quotes\" and 'single' -- --- ... ~",
    '#eval("1+1") #sys.inputs #(1 + 1)',
]


def squash(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(scope="module")
def hostile_pdf() -> bytes:
    """Every payload as a heading, a paragraph, a list item, a table cell, a link and attributes."""
    body = []
    for number, payload in enumerate(PAYLOADS):
        quoted = html.escape(payload)
        body.append(
            f'<h2 id="h{number}">{quoted}</h2><p class="{quoted}" lang="{quoted}">{quoted}</p>'
            f"<ul><li>{quoted}</li></ul>"
            f'<table class="data"><thead><tr><th>{quoted}</th></tr></thead>'
            f"<tbody><tr><td>{quoted}</td></tr></tbody></table>"
            f'<p><a href="#{quoted}">{quoted}</a> <a href="https://example.org/{quoted}">{quoted}</a>'
            f"<code>{quoted}</code></p>"
        )
    return write_pdf(small("".join(body)), TYPST)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_content_text_is_drawn_as_itself(hostile_pdf: bytes, payload: str) -> None:
    text = squash(pdf_text(hostile_pdf))
    # as a heading, a paragraph, a list item, a header cell, a cell, two links and code: 8 times
    assert text.count(squash(payload)) >= 8, payload


def test_no_payload_ran(hostile_pdf: bytes) -> None:
    everything = pdf_everything(hostile_pdf)
    # /etc/passwd was never read (and a panic() that ran would have failed the compile)
    assert b"root:x:0:0" not in everything


def test_theme_strings_are_data(tmp_path: Path) -> None:
    footer = '#read("/etc/passwd") ] $x$ @ref \\'
    theme = Theme(footer=footer, organisation="#panic()")
    pdf = write_pdf(small("<p>Body</p>"), WriteOptions(pdf_engine="typst", theme=theme))
    assert squash(footer) in squash(pdf_text(pdf))
    assert b"root:x:0:0" not in pdf_everything(pdf)


def test_stakeholder_name_is_data(tmp_path: Path, mini_copy: Path) -> None:
    name = '#read("/etc/passwd")] #import "@preview/x:1.0.0"'
    run = build(tmp_path, mini_copy, tmp_path / "out", "pdf", "--pdf-engine", "typst", "--name", name)
    assert run.code == 0, run.result.output
    data = next((tmp_path / "out").glob("*.pdf")).read_bytes()
    assert squash(name) in squash(pdf_text(data))
    assert b"root:x:0:0" not in pdf_everything(data)


# ----- a template a user brings ------------------------------------------------------------------


def typst_template(folder: Path, extra: str) -> Path:
    """The shipped Typst template with ``extra`` appended (it runs when the brief imports it)."""
    (folder / "typst").mkdir(parents=True, exist_ok=True)
    shipped = (builtin_templates() / "typst" / "brief.typ").read_text(encoding="utf-8")
    (folder / "typst" / "brief.typ").write_text(shipped + "\n" + extra + "\n", encoding="utf-8")
    return folder


def options(folder: Path) -> WriteOptions:
    return WriteOptions(pdf_engine="typst", templates=(folder,), source_date_epoch=int(EPOCH))


def test_a_user_template_compiles_apart_and_is_used(tmp_path: Path) -> None:
    wrapper = "#let shipped-el = el\n#let el(..args) = [NOTE-MARK] + shipped-el(..args)"
    folder = typst_template(tmp_path / "tpl", wrapper)
    pdf = write_pdf(small('<p class="note">Hello</p>'), options(folder))
    assert "NOTE-MARK" in pdf_text(pdf)


def test_a_user_template_that_breaks_pdf_ua_gets_its_pdf_without_the_claim(tmp_path: Path) -> None:
    # an image without alt text: Typst refuses it under PDF/UA-1; with no variant asked for, the
    # brief is still written, tagged, with one warning and no PDF/UA claim it could not keep
    svg = "<svg xmlns='http://www.w3.org/2000/svg' width='9' height='9'/>"
    image = f'image(bytes("{svg}"), format: "svg")'
    picture = f"#let shipped-el = el\n#let el(..args) = {image} + shipped-el(..args)"
    folder = typst_template(tmp_path / "tpl", picture)
    with collect() as warnings:
        pdf = write_pdf(small("<p>Body</p>"), options(folder))
    assert b"pdfuaid" not in pdf
    assert any("missing alt text" in w and "without the PDF/UA-1 claim" in w for w in warnings), warnings
    # asked for explicitly, PDF/UA-1 is not quietly dropped
    with pytest.raises(UsageError, match="missing alt text"):
        write_pdf(small("<p>Body</p>"), replace(options(folder), pdf_variant="pdf/ua-1"))


@pytest.mark.parametrize(
    "line",
    [
        '#import "@preview/cetz:0.2.0": *',
        '#include "@local/x:1.0.0/lib.typ"',
        "#let spec = ' @preview/x:0.1.0'",
    ],
)
def test_package_imports_are_refused_before_compiling(tmp_path: Path, line: str) -> None:
    folder = typst_template(tmp_path / "tpl", line)
    with pytest.raises(UsageError, match=r"brief\.typ:\d+: Typst package imports are refused"):
        write_pdf(small("<p>x</p>"), options(folder))


def test_a_built_package_spec_finds_no_package_and_no_network(tmp_path: Path) -> None:
    # the spec is made at run time, so the text check cannot see it: the child has no package
    # folder and every proxy points at a closed local port
    folder = typst_template(tmp_path / "tpl", '#import str.from-unicode(64) + "preview/cetz:0.2.0": *')
    started = time.monotonic()
    with pytest.raises(UsageError, match=r"brief\.typ: Typst: failed to download package"):
        write_pdf(small("<p>x</p>"), options(folder))
    assert time.monotonic() - started < 20


@pytest.mark.parametrize("path", ["/etc/passwd", "../../../../etc/passwd", "secret.txt"])
def test_a_template_reads_only_its_own_folder(tmp_path: Path, path: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0 the secret", encoding="utf-8")
    folder = typst_template(tmp_path / "tpl", f'#let leaked = read("{path}")')
    (folder / "typst" / "secret.txt").symlink_to(secret)  # a planted link is not staged
    refused = r"brief\.typ: Typst: (file not found|path .* would escape the project root)"
    with pytest.raises(UsageError, match=refused):
        write_pdf(small("<p>x</p>"), options(folder))


def test_a_looping_template_stops_at_the_time_limit(tmp_path: Path) -> None:
    # ten billion turns and no memory to speak of: only the time limit can stop it
    spin = "#let spin = { for i in range(100000) { for j in range(100000) { } } }\n#let shipped-el = el"
    folder = typst_template(tmp_path / "tpl", spin + "\n#let el(..args) = { spin; shipped-el(..args) }")
    limits.configure({"template_seconds": 2})
    started = time.monotonic()
    try:
        with pytest.raises(UsageError, match=r"took longer than 2 s; stopped"):
            write_pdf(small("<p>x</p>"), options(folder))
    finally:
        limits.reset()
    assert time.monotonic() - started < 15


def test_a_repeated_or_empty_id_is_no_error() -> None:
    body = '<h2 id="x">One</h2><section id="x"><p>Two</p></section><p id=""><a href="#x">Go</a></p>'
    text = pdf_text(write_pdf(small(body), TYPST))
    assert "One" in text and "Two" in text and "Go" in text
