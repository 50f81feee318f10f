"""Turn the HTML intermediate form into a standalone HTML file with its CSS inlined."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from ..render import template_dirs
from ..resources import find

if TYPE_CHECKING:
    from ..render import Rendered
    from . import WriteOptions

STYLESHEETS = ("css/brief.css",)


@functools.lru_cache(maxsize=8)
def stylesheet(search_path: tuple[Path, ...]) -> str:
    """Concatenate the brief stylesheets, taking each from the first folder that has it."""
    parts = []
    for name in STYLESHEETS:
        found = find(search_path, name)
        if found is not None:
            parts.append(found.read_text(encoding="utf-8"))
    return "\n".join(parts)


def write(document: Rendered, options: WriteOptions) -> bytes:
    """Return the document as UTF-8 HTML with a ``<style>`` element in its head."""
    css = stylesheet(template_dirs(options.templates))
    if options.theme is not None:
        css += "\n/* theme */\n" + options.theme.css()
    css = css.replace("</", "<\\/")
    html = document.html.replace("</head>", f"<style>\n{css}</style>\n</head>", 1)
    return html.encode("utf-8")
