"""Theme values are data, and the HTML brief follows the same resource rule as the PDF."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from briefgen.paths import builtin_templates
from briefgen.safe import css_string

from .helpers import block_template, build, counting_server, plant, tiny_template

LOGO = builtin_templates() / "themes" / "civic-logo.png"

BREAKOUTS = [
    '\n} @font-face { font-family: x; src: url("{server}/font") } @page { @top-left { content: "',
    '"; } body {{ background: url({server}/bg) }} /*',
    '\\"; } body { background: url({server}/escaped) } /*',
    "\\22 ; } body { background: url({server}/hexquote) } /*",
    '</style><link rel="stylesheet" href="{server}/css"><style>',
    "x\u2028} body { background: url({server}/separator) }",
]
TEXT_FIELDS = ("footer", "name", "organisation")


def _theme(folder: Path, field: str, value: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(LOGO, folder / "logo.png")
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\u2028", "\\u2028")
    )
    lines = ['logo = "logo.png"', 'footer = "plain footer"'] if field != "footer" else ['logo = "logo.png"']
    lines.append(f'{field} = "{escaped}"')
    (folder / "theme.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder / "theme.toml"


@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize("payload", BREAKOUTS)
def test_a_theme_text_cannot_break_out_of_its_css_string(
    tmp_path: Path, mini_copy: Path, field: str, payload: str
) -> None:
    with counting_server() as server:
        theme = _theme(tmp_path / "theme", field, payload.replace("{server}", server.url))
        folder = tiny_template(tmp_path / "tpl", "<p>{{ theme.organisation or theme.name }}</p>")
        run = build(
            tmp_path, mini_copy, tmp_path / "out", "html,pdf", "--templates", folder, "--theme", theme
        )
        if run.code == 2:  # refused: a control character or line separator, named with its field
            assert f"--theme: {theme}: {field}" in run.stderr, run.stderr
            assert run.changed == []
        else:
            assert run.code == 0, run.result.output
            html = (tmp_path / "out" / "business-brief.html").read_text(encoding="utf-8")
            style = html[html.index("/* theme */") :]
            style = style[: style.index("</style>")]
            assert "url(" not in style and "@font-face" not in style, style
            assert server.url not in html.split("<body", 1)[0].replace(style, "")
        assert server.hits == []


def test_a_footer_is_written_as_one_inert_css_string() -> None:
    text = 'A "quoted" \\ {brace}; </style> · Zoë'
    written = css_string(text)
    assert written.startswith('"') and written.endswith('"')
    inner = written[1:-1]
    assert not re.search(r'["{};<>]', inner) and "\\\\" not in inner
    assert "Zoë" in inner and "·" in inner


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "folder"])
def test_a_theme_that_is_not_a_regular_file_is_refused_at_once(
    tmp_path: Path, mini_copy: Path, kind: str
) -> None:
    theme = plant(tmp_path / "theme.toml", kind)
    run = build(tmp_path, mini_copy, tmp_path / "out", "html", "--theme", theme)
    assert run.code == 2, run.result.output
    if kind == "folder":  # Click's own check of the flag
        assert "'--theme'" in run.stderr and "is a directory" in run.stderr
        return
    assert "--theme" in run.stderr and "not a regular file" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_a_logo_linked_out_of_the_theme_folder_is_refused(tmp_path: Path, mini_copy: Path) -> None:
    outside = tmp_path / "elsewhere.png"
    shutil.copy(LOGO, outside)
    folder = tmp_path / "theme"
    folder.mkdir()
    (folder / "logo.png").symlink_to(outside)
    (folder / "theme.toml").write_text('logo = "logo.png"\n', encoding="utf-8")
    run = build(tmp_path, mini_copy, tmp_path / "out", "html", "--theme", folder / "theme.toml")
    assert run.code == 2
    assert "logo" in run.stderr and "outside the theme's folder" in run.stderr


# ----- the HTML writer's resource rule ---------------------------------------------------------

HOSTILE_HEAD = (
    '<link rel="stylesheet" href="{server}/sheet.css">'
    '<link rel="icon" href="{server}/icon.png">'
    '<link rel="preload" href="file:///etc/passwd">'
    "<style>@import url('{server}/import.css'); body {{ background: url({server}/bg.png) }}"
    " .a {{ background: u\\72l({server}/escaped.png) }} .b {{ background: image-set('{server}/set.png' 1x) }}"
    "</style>"
    '<script src="{server}/script.js"></script><script>fetch("{server}/inline")</script>'
    '<base href="{server}/"><meta http-equiv="refresh" content="0;url={server}/refresh">'
)
HOSTILE_BODY = (
    '<img src="{server}/img.png" alt="a"><img src="file:///etc/passwd" alt="b">'
    '<img src="data:image/png;base64,iVBORw0KGgo=" alt="c" srcset="{server}/x1.png 1x, {server}/x2.png 2x">'
    '<video poster="{server}/poster.png"></video><iframe src="{server}/frame"></iframe>'
    '<object data="{server}/object"></object><embed src="{server}/embed">'
    '<p style="background: url({server}/style.png)" onmouseover="fetch(\'{server}/handler\')">p</p>'
    '<svg><image href="{server}/svg.png"/></svg>'
    "<a href=\"javascript:fetch('{server}/js')\">js</a>"
    '<a href="https://example.org/" ping="{server}/ping">ok</a>'
)


def test_the_html_brief_keeps_no_url_that_a_browser_would_fetch(tmp_path: Path, mini_copy: Path) -> None:
    with counting_server() as server:
        head = HOSTILE_HEAD.format(server=server.url)
        body = HOSTILE_BODY.format(server=server.url)
        folder = tiny_template(tmp_path / "tpl", body, head=head)
        run = build(tmp_path, mini_copy, tmp_path / "out", "html,pdf", "--templates", folder)
        assert run.code == 0, run.result.output
        html = (tmp_path / "out" / "business-brief.html").read_text(encoding="utf-8")
        assert server.hits == []
    assert server.url not in html
    assert "file:" not in html and "javascript:" not in html.lower()
    assert not re.search(r"<(script|iframe|object|embed|base)\b", html)
    assert "http-equiv" not in html and "onmouseover" not in html and "ping=" not in html
    assert 'href="https://example.org/"' in html  # a link to click stays
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in html  # a data: URL stays
    refused = [w for w in run.warnings if "refused to fetch" in w]
    assert len(refused) >= 10, run.warnings
    assert any("removed <script>" in w for w in run.warnings)


def test_files_in_the_template_folders_are_inlined_into_the_html(tmp_path: Path, mini_copy: Path) -> None:
    folder = tmp_path / "tpl"
    (folder / "css").mkdir(parents=True)
    shutil.copy(LOGO, folder / "logo.png")
    builtin_css = (builtin_templates() / "css" / "brief.css").read_text(encoding="utf-8")
    (folder / "css" / "brief.css").write_text(
        builtin_css
        + '\n.cover { background: url("../logo.png") }\n.x { background: url(http://127.0.0.1:9/) }\n',
        encoding="utf-8",
    )
    block_template(folder, f'<img src="{(folder / "logo.png").as_uri()}" alt="logo">', block="colophon")
    run = build(tmp_path, mini_copy, tmp_path / "out", "html", "--templates", folder)
    assert run.code == 0, run.result.output
    html = (tmp_path / "out" / "business-brief.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 2  # the <img> and the stylesheet's url()
    assert "file:" not in html and "127.0.0.1" not in html
    assert any("refused to fetch http://127.0.0.1:9/" in w for w in run.warnings)


def test_strict_turns_a_refused_html_resource_into_an_error(tmp_path: Path, mini_copy: Path) -> None:
    folder = tiny_template(tmp_path / "tpl", '<img src="http://127.0.0.1:9/x.png" alt="x">')
    run = build(tmp_path, mini_copy, tmp_path / "out", "html", "--templates", folder, "--strict")
    assert run.code == 1
    assert "refused to fetch http://127.0.0.1:9/x.png" in run.stderr
    assert run.changed == []
