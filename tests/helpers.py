"""Turn the test data, source texts and small HTML bodies into what tests compare and feed writers.

Plain helpers and constants, imported with ``from helpers import ...`` (``tests/`` is on
``sys.path`` because pytest imports ``tests/conftest.py`` from it). Fixtures stay in conftest.py;
the hostile suite has its own ``hostile/helpers.py``, imported relatively.
"""

from __future__ import annotations

import base64
import io
import json
import sys
from pathlib import Path
from typing import Any

from briefgen.render import Rendered

DATA = Path(__file__).parent / "data"
MINI = DATA / "mini"
GOLDEN = DATA / "golden"

EPOCH = "1749081600"  # 5 June 2025, 00:00 UTC: the SOURCE_DATE_EPOCH of reproducible builds
AUDIENCES = ("business", "government")  # the shipped content's audiences


# ----- places in source text ----------------------------------------------------------------------


def line_of(text: str, needle: str) -> int:
    """1-based line of the only occurrence of ``needle`` in ``text``."""
    assert text.count(needle) == 1, f"{needle!r} occurs {text.count(needle)} times"
    return text[: text.index(needle)].count("\n") + 1


def column_of(text: str, needle: str, offset: int = 0) -> int:
    """1-based column of the only occurrence of ``needle`` (plus ``offset`` characters)."""
    assert text.count(needle) == 1, f"{needle!r} occurs {text.count(needle)} times"
    start = text.index(needle) + offset
    return start - (text.rfind("\n", 0, start) + 1) + 1


def replace_once(path: Path, old: str, new: str) -> str:
    """Replace the single occurrence of ``old`` in ``path``; return the new text."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path.name}"
    text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return text


# ----- what writers read ----------------------------------------------------------------------------


def small(body: str) -> Rendered:
    """A one-heading brief around ``body``, handed straight to a writer (no template, no render)."""
    head = '<!DOCTYPE html><html lang="en"><head><title>T</title></head>'
    html = f'{head}<body><h1 id="a">A</h1>{body}</body></html>'
    return Rendered(html=html, title="T", language="en", template="test")


def tiny_png() -> str:
    """A 4x4 blue PNG as a data: URL."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (18, 60, 105)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


# ----- what writers wrote ---------------------------------------------------------------------------


def squeeze(text: str) -> str:
    """Collapse runs of whitespace, as a reader sees them."""
    return " ".join(text.split())


def html_tree(path: Path) -> Any:
    """The parsed root element of an HTML file."""
    import lxml.html

    return lxml.html.parse(str(path)).getroot()


def html_headings(source: Path | Any, levels: str = "123") -> list[tuple[int, str]]:
    """(level, text) of each heading of an HTML file or parsed tree, in document order."""
    tree = html_tree(source) if isinstance(source, Path) else source
    tags = [f"h{n}" for n in levels]
    return [(int(h.tag[1]), squeeze(h.text_content())) for h in tree.iter(*tags)]


def manifest(out: Path) -> dict:
    """The manifest.json of an output folder."""
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def entries(out: Path) -> dict[str, dict]:
    """The batch manifest's stakeholder entries by id."""
    return {entry["id"]: entry for entry in manifest(out)["stakeholders"]}


# ----- the command line in a subprocess -------------------------------------------------------------


def briefgen_command(*args: str | Path) -> list[str]:
    """``python -m briefgen ARGS`` with this interpreter, for subprocess."""
    return [sys.executable, "-m", "briefgen", *(str(a) for a in args)]
