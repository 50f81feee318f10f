"""Property tests that push arbitrary bytes, Unicode text and odd structures (nested lists and
mappings, huge numbers as text, empty strings, Markdown-ish punctuation) through the loader,
validation, tailoring, rendering and the HTML, Word and PDF writers. Whatever comes in, nothing
but briefgen's own errors (``BriefgenError``) may come out, and the outputs stay safe."""

from __future__ import annotations

import copy
import io
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docx
import lxml.html
import pypdf
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from briefgen.errors import BriefgenError, ContentError, Problem
from briefgen.loader import load_file
from briefgen.render import markdown_block, markdown_inline, render
from briefgen.safe import XML_UNSAFE
from briefgen.tailor import Options, tailor
from briefgen.validate import validate
from briefgen.writers import WriteOptions
from briefgen.writers.docx import write as write_docx
from briefgen.writers.html import write as write_html

from .helpers import MINI, SAFE_HREF

FUZZ = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

MARKDOWNISH = [
    "*", "**", "_", "`", "[", "](", ")", "<", ">", "</", "#", "- ", "1. ", "\n", "\n\n", "    ", "> ", "|",
    "\\", "!", "&", "&#106;", "&amp;", ";", "javascript:", "JaVaScRiPt:", "http://", "mailto:", "file:///",
    "data:", "<script>", "<img src=x onerror=alert(1)>", "{{ 7*7 }}", "{% raw %}", "<!--", "-->", "'", '"',
]  # fmt: skip

#: Text an author might type, or an attacker might: any Unicode, Markdown punctuation, numbers.
texts = st.one_of(
    st.text(max_size=80),
    st.lists(st.one_of(st.sampled_from(MARKDOWNISH), st.text(max_size=6)), max_size=25).map("".join),
    st.integers(min_value=-(10**60), max_value=10**60).map(str),
    st.just(""),
)
#: The same on one line and not blank, so that most fuzzed content is valid and gets rendered.
lines = texts.map(lambda t: " ".join(t.split())).filter(lambda t: t and not XML_UNSAFE.search(t))
#: Any shape YAML can hold: nested lists and mappings of text, numbers, booleans and nulls.
structures = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**40), max_value=10**40), texts),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)

#: Fields of the mini content a fuzzed value replaces: (file, path).
FIELDS: list[tuple[str, tuple[str | int, ...]]] = [
    ("strategy.yaml", ("strategy", "title")),
    ("strategy.yaml", ("strategy", "overview")),
    ("strategy.yaml", ("strategy", "issuer", 0)),
    ("strategy.yaml", ("objectives", 0, "summary")),
    ("strategy.yaml", ("focus_areas", 0, "points", 0)),
    ("strategy.yaml", ("regions", 0, "summary")),
    ("business.yaml", ("audiences", "business", "label")),
    ("business.yaml", ("audiences", "business", "intro")),
    ("business.yaml", ("audiences", "business", "closing")),
    ("business.yaml", ("audiences", "business", "recommendations", 0, "title")),
    ("business.yaml", ("audiences", "business", "recommendations", 0, "summary")),
    ("business.yaml", ("audiences", "business", "recommendations", 0, "rationale")),
    ("business.yaml", ("audiences", "business", "recommendations", 0, "actions", 1)),
    ("business.yaml", ("audiences", "business", "sections", 0, "entries", 0, "text")),
    ("business.yaml", ("audiences", "business", "sections", 0, "entries", 0, "title")),
]


def mini_data() -> dict[str, Any]:
    return {p.name: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(MINI.glob("*.yaml"))}


MINI_DATA = mini_data()


def put(data: Any, path: tuple[str | int, ...], value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=60)


def write_content(folder: Path, changes: list[tuple[int, Any]]) -> Path:
    data = copy.deepcopy(MINI_DATA)
    for field, value in changes:
        name, path = FIELDS[field]
        put(data[name], path, value)
    for name, document in data.items():
        (folder / name).write_text(dump(document), encoding="utf-8")
    return folder


def as_loaded(value: Any) -> Any:
    """What the loader makes of a value: every scalar is text, only null stays None."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return [as_loaded(v) for v in value]
    if isinstance(value, dict):
        return {as_loaded(k) if k is not None else "": as_loaded(v) for k, v in value.items()}
    return value


def holds_unsafe(value: Any) -> bool:
    if isinstance(value, str):
        return bool(XML_UNSAFE.search(value))
    if isinstance(value, list):
        return any(holds_unsafe(v) for v in value)
    if isinstance(value, dict):
        return any(holds_unsafe(k) or holds_unsafe(v) for k, v in value.items())
    return False


def assert_safe_html(html: str) -> None:
    doc = lxml.html.document_fromstring(html)
    assert not [el.tag for el in doc.iter("script", "iframe", "object", "embed", "img")]
    assert not [a for el in doc.iter() for a in el.attrib if a.lower().startswith("on")]
    hrefs = [a.get("href", "") for a in doc.iter("a")]
    assert [h for h in hrefs if not h.startswith(SAFE_HREF)] == []


def only_briefgen_errors(step: Callable[[], Any]) -> Any:
    try:
        return step()
    except BriefgenError as exc:
        assert exc.message and "internal error" not in exc.message
        return None


# ----- the loader ------------------------------------------------------------------------------


@settings(FUZZ, max_examples=250)
@given(
    raw=st.one_of(
        st.binary(max_size=300),
        texts.map(lambda t: t.encode("utf-8")),
        st.lists(
            st.sampled_from([*MARKDOWNISH, ":", "- ", "? ", "&a", "*a", "!!", "---", "{", "}", "[", "]"])
        )
        .map("".join)
        .map(lambda t: t.encode("utf-8")),
    )
)
def test_any_bytes_load_to_data_or_placed_problems(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "content.yaml"
        path.write_bytes(raw)
        data, _, problems = load_file(path)
    for problem in problems:
        assert isinstance(problem, Problem) and problem.line >= 1 and problem.column >= 1
        assert "\n" not in problem.message
    if not problems:
        assert not holds_unsafe(data)
        stack = [data]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                assert all(isinstance(k, str) for k in node)
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
            else:
                assert node is None or isinstance(node, str), repr(node)


@settings(FUZZ, max_examples=200)
@given(value=structures)
def test_every_scalar_comes_back_as_the_text_written(value: Any) -> None:
    text = dump({"value": value})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "content.yaml"
        path.write_text(text, encoding="utf-8")
        data, _, problems = load_file(path)
    if holds_unsafe(value):
        assert problems and "is not allowed" in problems[0].message
        return
    assert problems == []
    # PyYAML's own reading of the same text, with every scalar as text, is the oracle: it differs
    # from ``value`` only where YAML itself folds a line break (NEL, LS, PS) the dumper wrote raw.
    assert data == as_loaded(yaml.safe_load(text))
    if not any(c in text for c in "\x85\u2028\u2029"):
        assert data == {"value": as_loaded(value)}


# ----- the whole pipeline ------------------------------------------------------------------------


@settings(FUZZ, max_examples=80)
@given(
    changes=st.lists(
        st.tuples(st.integers(0, len(FIELDS) - 1), st.one_of(lines, lines, lines, texts, structures)),
        max_size=3,
    )
)
def test_fuzzed_content_becomes_a_safe_brief_or_a_content_error(changes: list[tuple[int, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_content(Path(tmp), changes)
        try:
            content = validate(folder)
        except ContentError as exc:
            event("content error")
            assert exc.problems
            assert all(Path(p.file).name in MINI_DATA and p.line >= 1 for p in exc.problems), exc.message
            return
        event("valid content")
        brief = only_briefgen_errors(lambda: tailor(content.strategy, Options("business")))
        document = only_briefgen_errors(lambda: render(brief)) if brief else None
        if document is None:
            return
        assert_safe_html(document.html)
        html = only_briefgen_errors(lambda: write_html(document, WriteOptions()))
        if html is not None:
            assert_safe_html(html.decode("utf-8"))
        data = only_briefgen_errors(lambda: write_docx(document, WriteOptions()))
        if data is not None:
            docx.Document(io.BytesIO(data))


@settings(FUZZ, max_examples=5)
@given(changes=st.lists(st.tuples(st.integers(0, len(FIELDS) - 1), lines), min_size=1, max_size=4))
def test_a_few_fuzzed_briefs_make_pdfs_that_open(changes: list[tuple[int, Any]]) -> None:
    from briefgen.writers.pdf import write as write_pdf

    with tempfile.TemporaryDirectory() as tmp:
        folder = write_content(Path(tmp), changes)
        try:
            content = validate(folder)
        except ContentError:
            return
        document = only_briefgen_errors(lambda: render(tailor(content.strategy, Options("business"))))
        if document is None:
            return
        pdf = only_briefgen_errors(lambda: write_pdf(document, WriteOptions()))
        if pdf is not None:
            reader = pypdf.PdfReader(io.BytesIO(pdf))
            assert len(reader.pages) >= 1
            assert "/EmbeddedFiles" not in reader.trailer["/Root"].get("/Names", {})


# ----- Markdown and the sandbox ------------------------------------------------------------------


@settings(FUZZ, max_examples=300)
@given(text=texts)
@pytest.mark.parametrize("render_markdown", [markdown_block, markdown_inline], ids=["block", "inline"])
def test_markdown_never_makes_live_markup(render_markdown: Callable[[str], Any], text: str) -> None:
    html = str(render_markdown(text))
    assert_safe_html(f"<div>{html}</div>")


@settings(FUZZ, max_examples=60)
@given(
    method=st.sampled_from(["ljust", "rjust", "center", "zfill"]),
    width=st.one_of(st.integers(0, 3_000_000), st.integers(10**6, 10**18)),
)
def test_sized_calls_are_refused_exactly_above_the_cap(method: str, width: int) -> None:
    from jinja2.sandbox import SecurityError

    from briefgen.render import environment, template_dirs
    from briefgen.sandbox import MAX_VALUE

    template = environment(template_dirs(())).from_string(f"{{{{ 'ab'.{method}(width)|length }}}}")
    if width > MAX_VALUE:
        with pytest.raises(SecurityError, match="above 1,000,000"):
            template.render(width=width)
    else:
        assert template.render(width=width) == str(max(2, width))
