"""Hostile Markdown and HTML in content text: raw ``<script>``/``<img onerror>``, links with
``javascript:``, ``vbscript:``, ``data:`` and ``file:`` schemes in every disguise, and image
syntax pointing at local files or a loopback server. One build of HTML, PDF and Word is read the
way a reader would: nothing live, nothing fetched, the text still there to read."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path

import lxml.html
import pytest

from .helpers import (
    SAFE_HREF,
    Server,
    build,
    copy_mini,
    counting_server,
    docx_external_targets,
    docx_parts,
    docx_text,
    pdf_everything,
    pdf_link_targets,
    pdf_reader,
    pdf_text,
)

#: label -> Markdown that tries to make a live link; the label is what a reader sees.
LINKS = {
    "js-link": "[js-link](javascript:alert(1))",
    "js-case-link": "[js-case-link](JaVaScRiPt:alert(1))",
    "js-entity-link": "[js-entity-link](&#106;avascript:alert(1))",
    "js-escaped-link": "[js-escaped-link](javascript&#58;alert(1))",
    "js-tab-link": "[js-tab-link](<java\tscript:alert(1)>)",
    "js-ref-link": "[js-ref-link][evil]",
    "javascript:alert(6)": "<javascript:alert(6)>",
    "vb-link": "[vb-link](vbscript:msgbox(1))",
    "data-link": "[data-link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "file-link": "[file-link](file:///etc/passwd)",
    "file:///etc/hosts": "<file:///etc/hosts>",
    "proto-link": "[proto-link](//evil.example/x)",
}
RAW_HTML = (
    "<script>alert('rationale')</script>",
    "<img src=x onerror=alert('img')>",
    "<svg onload=alert('svg')></svg>",
    "<a href=\"javascript:alert('raw')\">raw-anchor</a>",
    "<iframe src=file:///etc/passwd></iframe>",
)


def straight(text: str) -> str:
    """Undo the typographer's curly quotes, to compare with what the author wrote."""
    return text.replace("‘", "'").replace("’", "'").replace("“", '"').replace("”", '"')


def squash(text: str) -> str:
    """Text without spaces and hyphens, to find words the PDF broke across lines."""
    return re.sub(r"[\s\u00ad\u2010-]+", "", text)


def indent(text: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line if line else "" for line in text.splitlines())


def hostile_content(folder: Path, server: Server, secret: Path) -> Path:
    content = copy_mini(folder)
    rationale = "\n\n".join(
        [
            "Read *this* and [the site](https://example.org/x?a=1&b=2).",
            " ".join(RAW_HTML),
            "\n".join(LINKS.values()),
            f"![local-img](file://{secret}) ![loop-img]({server.url}/md-image.png) ![rel-img](../secret.png)",
            "[evil]: javascript:alert('ref')",
        ]
    )
    path = content / "business.yaml"
    text = path.read_text(encoding="utf-8")
    replacements = {
        "        rationale: Early users shape the feed's format.\n": (
            f"        rationale: |-\n{indent(rationale, 10)}\n"
        ),
        "          - Subscribe to the feed.\n": (
            "          - \"<script>alert('action')</script> Subscribe.\"\n"
        ),
        "    intro: The plan gives firms free, regular port data to build on.\n": (
            "    intro: <img src=x onerror=alert('intro')> The plan gives firms data.\n"
        ),
        "        title: Build on the berth feed\n": (
            "        title: <b onmouseover=alert(9)>Build</b> on it\n"
        ),
        "    closing: Questions go to the council's data desk.\n": (
            "    closing: <a href=\"javascript:alert('closing')\">closing-anchor</a> Ask the desk.\n"
        ),
    }
    for old, new in replacements.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return content


class Built:
    """The three outputs of one hostile build, and what the loopback server saw."""

    def __init__(self, out: Path, server: Server, secret: bytes, stderr: str) -> None:
        self.html_bytes = (out / "business-brief.html").read_bytes()
        self.html = lxml.html.fromstring(self.html_bytes)
        self.pdf = (out / "business-brief.pdf").read_bytes()
        self.docx = (out / "business-brief.docx").read_bytes()
        self.server = server
        self.secret = secret
        self.stderr = stderr

    def visible(self) -> str:
        return straight(" ".join(self.html.find("body").text_content().split()))

    @functools.cached_property
    def pdf_text(self) -> str:
        return pdf_text(self.pdf)

    @functools.cached_property
    def docx_text(self) -> str:
        return docx_text(self.docx)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    root = tmp_path_factory.mktemp("markdown")
    secret = root / "secret.png"
    secret.write_bytes(b"MARKDOWN-SECRET-5b1e")
    with counting_server() as server:
        content = hostile_content(root / "content", server, secret)
        out = root / "out"
        run = build(root, content, out, "html,pdf,docx")
        assert run.code == 0, run.result.output
        yield Built(out, server, secret.read_bytes(), run.stderr)


def test_raw_html_is_text_in_the_html_brief(built: Built) -> None:
    for tag in ("script", "img", "iframe"):
        assert list(built.html.iter(tag)) == [], tag
    # the only SVG is briefgen's own pictures (charts, the at-a-glance diagram), never the Markdown's
    drawn = [svg.getparent() for svg in built.html.iter("svg")]
    assert all(f.tag == "figure" and {"chart", "glance"} & set(f.get("class", "").split()) for f in drawn)
    handlers = [(el.tag, a) for el in built.html.iter() for a in el.attrib if a.lower().startswith("on")]
    assert handlers == []
    shown = built.visible()
    for snippet in (*RAW_HTML, "<b onmouseover=alert(9)>Build</b> on it", "<script>alert('action')</script>"):
        assert snippet in shown, snippet


def test_every_link_in_the_html_brief_is_web_mail_or_in_document(built: Built) -> None:
    hrefs = [a.get("href", "") for a in built.html.iter("a")]
    assert hrefs, "the brief has links at all"
    assert [h for h in hrefs if not h.startswith(SAFE_HREF)] == []
    assert "https://example.org/x?a=1&b=2" in hrefs  # the good link survives next to the bad ones


@pytest.mark.parametrize("label", list(LINKS))
def test_an_unsafe_link_is_plain_text_in_every_format(built: Built, label: str) -> None:
    anchors = [a for a in built.html.iter("a") if a.text_content().strip() == label]
    assert anchors == [], [a.get("href") for a in anchors]
    assert label in built.visible()
    assert squash(label) in squash(built.pdf_text)
    assert label in built.docx_text
    hyperlinks = [t for kind, t in docx_external_targets(built.docx) if kind == "hyperlink"]
    assert [t for t in hyperlinks if not t.startswith(SAFE_HREF)] == []


def test_image_syntax_fetches_nothing_and_embeds_nothing(built: Built) -> None:
    assert built.server.hits == []
    assert list(built.html.iter("img")) == []
    assert b"MARKDOWN-SECRET" not in pdf_everything(built.pdf)
    images = [
        name
        for page in pdf_reader(built.pdf).pages
        for name, obj in (page["/Resources"].get("/XObject") or {}).items()
        if obj.get_object().get("/Subtype") == "/Image"
    ]
    assert images == []
    # one picture per chart or at-a-glance figure of the HTML (a fallback PNG, the diagram), nothing more
    pictures = [f for f in built.html.iter("figure") if {"chart", "glance"} & set(f.get("class", "").split())]
    assert len([n for n in docx_parts(built.docx) if n.startswith("word/media/")]) == len(pictures)
    assert "refused to fetch" not in built.stderr  # nothing even tried: the Markdown made no <img>


def test_the_pdf_holds_the_markup_as_text_and_no_script_or_launch_action(built: Built) -> None:
    text = straight(" ".join(built.pdf_text.split()))
    assert "<script>alert('rationale')</script>" in text
    everything = pdf_everything(built.pdf)
    for action in (b"/JavaScript", b"/Launch", b"/SubmitForm", b"/ImportData"):
        assert action not in everything, action
    targets = pdf_link_targets(built.pdf)
    assert [t for t in targets if not t.startswith(("http://", "https://", "mailto:", "/GoTo"))] == []


def test_the_word_brief_holds_the_markup_as_escaped_text(built: Built) -> None:
    parts = docx_parts(built.docx)
    document = parts["word/document.xml"]
    assert b"<script" not in document and b"&lt;script&gt;" in document
    assert b"altChunk" not in document  # no HTML smuggled in as an alternative-format chunk
    assert not [n for n in parts if n.endswith((".html", ".htm", ".mht", ".js"))]
    assert "<img src=x onerror=alert('intro')> The plan gives firms data." in straight(built.docx_text)


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--name", "<script>alert('name')</script>"),
        ("--organisation", '"><img src=x onerror=alert(1)>'),
        ("--sector", "</p><iframe src=file:///etc/passwd>"),
    ],
)
def test_stakeholder_markup_on_the_command_line_is_text(
    tmp_path: Path, mini_copy: Path, flag: str, value: str
) -> None:
    extra = ["--name", "Eve"] if flag != "--name" else []
    out = tmp_path / "out"
    run = build(tmp_path, mini_copy, out, "html", *extra, flag, value)
    assert run.code == 0, run.result.output
    (page,) = out.glob("*.html")
    doc = lxml.html.fromstring(page.read_bytes())
    assert not [el.tag for el in doc.iter("script", "img", "iframe")]
    (line,) = doc.find_class("prepared-for")
    assert value in line.text_content()


def test_markdown_links_keep_only_the_allowed_schemes_in_the_filter() -> None:
    from briefgen.render import markdown_block

    html = str(
        markdown_block("\n".join(LINKS.values()) + "\n\n[evil]: javascript:alert(1)\n\n[ok](mailto:a@b.c)")
    )
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs == ["mailto:a@b.c"]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("[]()", ""),
        ("[a]()", "a"),
        ("[*a*]( )", "<em>a</em>"),
        ("see [a]() and [b](#x)", 'see a and <a href="#x">b</a>'),
    ],
)
def test_a_link_with_an_empty_target_is_its_text(text: str, shown: str) -> None:
    from briefgen.render import markdown_inline

    assert str(markdown_inline(text)) == shown
