"""Hostile resource URLs planted through a user template folder: ``file:`` URLs to secrets
outside the folder, ``/dev/zero``, a loopback HTTP server that counts requests, CSS ``@import``,
``url()`` and ``@font-face``, an SVG ``data:`` URL that itself points at a local file, symbolic
links out of the folder and ``rel=attachment``. The build must succeed with a warning naming the
refused URL, fetch nothing, and carry none of the secret bytes in the PDF or Word file."""

from __future__ import annotations

import base64
import io
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pypdf
import pytest

from .helpers import (
    Run,
    Server,
    build,
    copy_mini,
    counting_server,
    docx_parts,
    embedded_files,
    pdf_everything,
    pdf_reader,
    pdf_text,
    tiny_template,
)

MARK = "FETCH-SECRET-7d41"


@pytest.fixture
def server() -> Iterator[Server]:
    with counting_server() as running:
        yield running


def jpeg(marker: str) -> bytes:
    """A small JPEG whose comment segment holds ``marker`` (WeasyPrint embeds JPEG bytes as they are)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (180, 20, 40)).save(buffer, format="JPEG", comment=marker.encode())
    return buffer.getvalue()


class Secrets:
    """Files outside the template folder that a hostile template wants to read."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.jpg = root / "secret.jpg"
        self.jpg.write_bytes(jpeg(MARK))
        self.css = root / "secret.css"
        self.css.write_text(f'h1::after {{ content: "{MARK}"; }}\n', encoding="utf-8")
        self.svg = root / "secret.svg"
        svg = '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="20"><text y="15">{}</text></svg>'
        self.svg.write_text(svg.format(MARK), encoding="utf-8")
        self.font = root / "secret.ttf"
        self.font.write_bytes(MARK.encode() * 10)


def svg_data_url(inner: str) -> str:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="40" height="40">{inner}</svg>'
    )
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


#: id -> (body, head, brief.css, the URL the warning must name). Placeholders: {jpg} {css} {svg}
#: {font} (secret files), {tpl} (the template folder), {server} (the loopback server).
VECTORS: dict[str, tuple[str, str, str, str]] = {
    "img-file-url": ('<img src="file://{jpg}" alt="x">', "", "", "file://{jpg}"),
    "img-etc-passwd": ('<img src="file:///etc/passwd" alt="x">', "", "", "file:///etc/passwd"),
    "brief-css-etc-passwd": ("", "", "h1 {{ background: url(file:///etc/passwd); }}", "file:///etc/passwd"),
    "img-file-localhost": ('<img src="file://localhost{jpg}" alt="x">', "", "", "file://localhost{jpg}"),
    "img-absolute-path": ('<img src="{jpg}" alt="x">', "", "", "file://{jpg}"),
    "img-percent-dot-dot": ('<img src="file://{tpl}/%2e%2e/secret.jpg" alt="x">', "", "", "secret.jpg"),
    "img-loopback": ('<img src="{server}/img.jpg" alt="x">', "", "", "{server}/img.jpg"),
    "img-dev-zero": ('<img src="file:///dev/zero" alt="x">', "", "", "file:///dev/zero"),
    "img-symlink-in-folder": ('<img src="file://{tpl}/leak.jpg" alt="x">', "", "", "file://{tpl}/leak.jpg"),
    "object-file": ('<object data="file://{svg}" type="image/svg+xml">x</object>', "", "", "file://{svg}"),
    "embed-file": ('<embed src="file://{svg}" type="image/svg+xml">', "", "", "file://{svg}"),
    "inline-style-url": (
        "<p style=\"background-image: url('file://{jpg}')\">x</p>",
        "",
        "",
        "file://{jpg}",
    ),
    "link-stylesheet-file": ("", '<link rel="stylesheet" href="file://{css}">', "", "file://{css}"),
    "link-stylesheet-loopback": ("", '<link rel="stylesheet" href="{server}/x.css">', "", "{server}/x.css"),
    "style-import": ("", '<style>@import url("file://{css}");</style>', "", "file://{css}"),
    "brief-css-import": ("", "", '@import url("file://{css}");', "file://{css}"),
    "brief-css-import-loopback": ("", "", '@import url("{server}/i.css");', "{server}/i.css"),
    "brief-css-font-face": (
        "",
        "",
        '@font-face {{ font-family: Leak; src: url("file://{font}"); }} h1 {{ font-family: Leak; }}',
        "file://{font}",
    ),
    "brief-css-relative-climb": ("", "", 'h1 {{ background: url("../../secret.jpg"); }}', "file://{jpg}"),
    "brief-css-loopback": ("", "", 'h1 {{ background: url("{server}/bg.jpg"); }}', "{server}/bg.jpg"),
    "svg-data-image-file": (
        "<img src=\"SVG:<image href='file://{jpg}' width='9' height='9'/>\" alt=\"s\">",
        "",
        "",
        "file://{jpg}",
    ),
    "svg-data-xlink-file": (
        "<img src=\"SVG:<image xlink:href='file://{jpg}' width='9' height='9'/>\" alt=\"s\">",
        "",
        "",
        "file://{jpg}",
    ),
    "svg-data-image-loopback": (
        "<img src=\"SVG:<image href='{server}/svg.jpg' width='9' height='9'/>\" alt=\"s\">",
        "",
        "",
        "{server}/svg.jpg",
    ),
}


def plant(
    tmp_path: Path, server: Server, body: str, head: str = "", css: str = ""
) -> tuple[Path, Secrets, dict]:
    """A template folder with the payload, the secrets next to it (outside it), and the placeholders."""
    secrets = Secrets(tmp_path)
    folder = tmp_path / "tpl"
    values = {
        "jpg": secrets.jpg,
        "css": secrets.css,
        "svg": secrets.svg,
        "font": secrets.font,
        "tpl": folder,
        "server": server.url,
    }

    def fill(text: str) -> str:
        text = text.format(**values)
        if 'src="SVG:' in text:
            start = text.index('src="SVG:') + len('src="SVG:')
            end = text.index('"', start)
            text = text[: start - 4] + svg_data_url(text[start:end]) + text[end:]
        return text

    tiny_template(folder, fill(body), head=fill(head))
    (folder / "leak.jpg").symlink_to(secrets.jpg)
    if css:
        (folder / "css").mkdir()
        (folder / "css" / "brief.css").write_text(fill(css), encoding="utf-8")
    return folder, secrets, values


def pdf_images(data: bytes) -> int:
    reader = pdf_reader(data)
    count = 0
    for number in range(1, int(reader.trailer["/Size"])):
        try:
            obj = reader.get_object(number)
        except Exception:
            continue
        if isinstance(obj, pypdf.generic.StreamObject) and obj.get("/Subtype") == "/Image":
            count += 1
    return count


def refused(run: Run, url: str) -> list[str]:
    return [w for w in run.warnings if "refused" in w and url in w]


@pytest.mark.parametrize("vector", list(VECTORS))
def test_a_planted_url_is_refused_and_nothing_of_the_secret_reaches_the_pdf(
    tmp_path: Path, server: Server, vector: str
) -> None:
    body, head, css, url = VECTORS[vector]
    folder, _, values = plant(tmp_path, server, body, head, css)
    content = copy_mini(tmp_path / "content")
    out = tmp_path / "out"
    run = build(tmp_path, content, out, "pdf", "--templates", folder)
    assert run.code == 0, run.result.output
    wanted = url.format(**values)
    assert refused(run, wanted), run.warnings
    assert server.hits == []
    pdf = (out / "business-brief.pdf").read_bytes()
    everything = pdf_everything(pdf)
    assert MARK.encode() not in everything
    assert MARK not in pdf_text(pdf)
    if Path("/etc/passwd").is_file():
        assert Path("/etc/passwd").read_bytes().splitlines()[0] not in everything
    assert pdf_images(pdf) == 0
    assert embedded_files(pdf) == []


def test_the_checks_see_a_file_that_is_allowed(tmp_path: Path, server: Server) -> None:
    # The positive control: a JPEG inside the template folder is fetched, and its bytes are found.
    folder = tiny_template(
        tmp_path / "tpl", '<img src="file://{}/inside.jpg" alt="inside">'.format(tmp_path / "tpl")
    )
    (folder / "inside.jpg").write_bytes(jpeg("ALLOWED-MARK-0c3f"))
    (folder / "css").mkdir()
    (folder / "css" / "brief.css").write_text('h1::after { content: "ALLOWED-CSS-0c3f"; }', encoding="utf-8")
    out = tmp_path / "out"
    run = build(tmp_path, copy_mini(tmp_path / "content"), out, "pdf", "--templates", folder)
    assert run.code == 0 and run.warnings == [], run.result.output
    pdf = (out / "business-brief.pdf").read_bytes()
    assert b"ALLOWED-MARK-0c3f" in pdf_everything(pdf)
    assert pdf_images(pdf) == 1
    assert "ALLOWED-CSS-0c3f" in pdf_text(pdf)


def test_the_counting_server_counts(server: Server) -> None:
    with urllib.request.urlopen(f"{server.url}/ping", timeout=10) as response:
        assert response.status == 200
    assert server.hits == ["/ping"]


@pytest.mark.parametrize(
    "link",
    [
        '<link rel="attachment" href="file://{secret}">',
        '<link rel="attachment" href="file://{inside}">',
        '<link rel="ATTACHMENT alternate" href="file://{inside}">',
        '<a rel="attachment" href="file://{inside}">attached</a>',
        '<a rel="nofollow attachment" href="{server}/a.txt">attached</a>',
    ],
)
def test_attachments_are_stripped_with_a_warning_and_nothing_is_embedded(
    tmp_path: Path, server: Server, link: str
) -> None:
    folder = tmp_path / "tpl"
    secret = tmp_path / "secret.txt"
    secret.write_text(MARK, encoding="utf-8")
    inside = folder / "notes.txt"
    filled = link.format(secret=secret, inside=inside, server=server.url)
    if filled.startswith("<link"):
        tiny_template(folder, "<p>Body</p>", head=filled)
    else:
        tiny_template(folder, f"<p>{filled}</p>")
    inside.write_text(f"INSIDE-{MARK}", encoding="utf-8")
    out = tmp_path / "out"
    run = build(tmp_path, copy_mini(tmp_path / "content"), out, "pdf", "--templates", folder)
    assert run.code == 0, run.result.output
    assert [w for w in run.warnings if w.startswith("warning: refused attachment")], run.warnings
    pdf = (out / "business-brief.pdf").read_bytes()
    assert embedded_files(pdf) == []
    assert MARK.encode() not in pdf_everything(pdf)
    assert server.hits == []


def test_strict_turns_a_refused_url_into_an_error_and_writes_nothing(tmp_path: Path, server: Server) -> None:
    folder, _, values = plant(tmp_path, server, '<img src="{server}/strict.jpg" alt="x">')
    out = tmp_path / "out"
    run = build(tmp_path, copy_mini(tmp_path / "content"), out, "pdf", "--templates", folder, "--strict")
    assert run.code == 1, run.result.output
    assert f"refused to fetch {values['server']}/strict.jpg" in run.stderr
    assert "--strict turns warnings into errors" in run.stderr
    assert not out.exists()
    assert server.hits == []


@pytest.mark.parametrize("target", ["file", "loopback", "symlink-in-folder", "dev-zero"])
def test_the_word_writer_refuses_the_same_urls(tmp_path: Path, server: Server, target: str) -> None:
    src = {
        "file": "file://{jpg}",
        "loopback": "{server}/word.jpg",
        "symlink-in-folder": "file://{tpl}/leak.jpg",
        "dev-zero": "file:///dev/zero",
    }[target]
    folder, _, values = plant(tmp_path, server, f'<p><img src="{src}" alt="x"></p>')
    out = tmp_path / "out"
    run = build(tmp_path, copy_mini(tmp_path / "content"), out, "docx", "--templates", folder)
    assert run.code == 0, run.result.output
    assert refused(run, src.format(**values)), run.warnings
    assert server.hits == []
    parts = docx_parts((out / "business-brief.docx").read_bytes())
    assert [n for n in parts if n.startswith("word/media/")] == []
    assert not [n for n, data in parts.items() if MARK.encode() in data]


# ----- stylesheets that are symbolic links out of the template folder -------------------------


def symlinked_stylesheet(tmp_path: Path) -> Path:
    outside = tmp_path / "outside.css"
    outside.write_text(f'h1::after {{ content: "{MARK}"; }}\n', encoding="utf-8")
    folder = tiny_template(tmp_path / "tpl", "<p>Body</p>")
    (folder / "css").mkdir()
    (folder / "css" / "brief.css").symlink_to(outside)
    return folder


def test_a_symlinked_stylesheet_is_not_inlined_into_the_html(tmp_path: Path) -> None:
    folder = symlinked_stylesheet(tmp_path)
    out = tmp_path / "out"
    run = build(tmp_path, copy_mini(tmp_path / "content"), out, "html", "--templates", folder)
    assert run.code == 0, run.result.output
    assert MARK not in (out / "business-brief.html").read_text(encoding="utf-8")
    assert any("points outside the template folders" in w for w in run.warnings), run.warnings


def test_a_symlinked_stylesheet_is_not_read_into_the_pdf(tmp_path: Path) -> None:
    folder = symlinked_stylesheet(tmp_path)
    out = tmp_path / "out"
    run = build(tmp_path, copy_mini(tmp_path / "content"), out, "pdf", "--templates", folder)
    assert run.code == 0, run.result.output
    assert MARK not in pdf_text((out / "business-brief.pdf").read_bytes())
    assert any("points outside the template folders" in w for w in run.warnings), run.warnings
