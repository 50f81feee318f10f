"""Turn the HTML intermediate form into a standalone HTML file with its CSS and resources inlined.

The HTML brief is opened in a browser, which would fetch whatever a template
points at, so it follows the same resource rule as the PDF writer
(:mod:`briefgen.resources`): ``data:`` URLs and files inside the template
folders are inlined as ``data:`` URLs; every other URL in ``src``,
``srcset``, ``poster``, a stylesheet's ``href``, CSS ``url()`` and
``@import`` is removed with a warning naming it. Scripts, frames, embedded
objects, ``<base>``, meta refreshes and event-handler attributes are removed
with a warning too (a script could fetch anything when the brief is opened),
and links keep only ``http:``, ``https:``, ``mailto:`` and in-document
targets. A document that needs none of this is written exactly as rendered.
"""

from __future__ import annotations

import base64
import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import cssurls, resources
from ..log import warn
from ..render import template_dirs
from ..safe import SAFE_LINK_SCHEMES
from .base import Each, GroupWriter, Render

if TYPE_CHECKING:
    from ..render import Rendered
    from .base import WriteOptions

STYLESHEETS = ("css/brief.css",)
#: Elements that run code or load a page of their own: removed whole.
ACTIVE = ("script", "iframe", "frame", "frameset", "base")
#: Elements that embed something: removed, their fallback content (or what the parser put inside) kept.
EMBEDDING = ("object", "embed", "applet", "portal")
#: Attributes whose URL a browser loads without being asked.
URL_ATTRIBUTES = ("src", "poster", "data", "background", "lowsrc", "dynsrc", "manifest", "codebase")
#: ``<link rel=...>`` values that only name a related page (nothing is fetched).
NAVIGATION_RELS = {"alternate", "author", "help", "license", "next", "prev", "search", "canonical"}


def _resolver(roots: tuple[Path, ...], base: Path) -> cssurls.Resolver:
    """Map a URL to an inlined ``data:`` URL, or None (refused, with a warning)."""

    def resolve(url: str) -> str | None:
        url = url.strip()
        if url.startswith("#"):
            return url
        found = resources.fetch(url, roots, base=base)
        if found is None:
            return None
        if url.lower().startswith("data:"):
            return url
        data, mime = found
        return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"

    return resolve


def _loader(roots: tuple[Path, ...], base: Path) -> Any:
    """Read an ``@import``-ed stylesheet that the resource rule allows (as text), else None."""

    def load(url: str) -> str | None:
        found = resources.fetch(url, roots, base=base)
        if found is None:
            return None
        try:
            return found[0].decode("utf-8")
        except UnicodeDecodeError:
            warn("stylesheet %s is not UTF-8; not read", resources.shown(url))
            return None

    return load


@functools.lru_cache(maxsize=8)
def stylesheet(search_path: tuple[Path, ...]) -> str:
    """Concatenate the brief stylesheets, taking each from the first folder that has it, with
    every URL in them inlined or refused (relative URLs resolve against the sheet's folder)."""
    parts = []
    for name in STYLESHEETS:
        found = resources.find(search_path, name)
        text = resources.read_text(found, search_path) if found is not None else None
        if found is not None and text is not None:
            base = found.parent
            parts.append(cssurls.clean(text, _resolver(search_path, base), _loader(search_path, base)))
    return "\n".join(parts)


def _clean_document(html: str, search_path: tuple[Path, ...]) -> str:
    """``html`` with the resource rule applied to every element (unchanged when nothing breaks it)."""
    import lxml.html

    lowered = html.lower()
    if not any(mark in lowered for mark in ("src", "href", "url", "<script", "<style", " on", "<meta", "\\")):
        return html
    tree = lxml.html.document_fromstring(html)
    base = search_path[-1]
    resolve = _resolver(search_path, base)
    load = _loader(search_path, base)
    changed = False
    for element in list(tree.iter()):
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.lower().rsplit("}", 1)[-1]
        if tag in ACTIVE or (tag == "meta" and (element.get("http-equiv") or "").lower() == "refresh"):
            warn("removed <%s> from the HTML brief: briefs run no code and load no other page", tag)
            element.drop_tree()
            changed = True
            continue
        if tag in EMBEDDING:
            warn("removed <%s> from the HTML brief: briefs embed no other content", tag)
            element.drop_tag()
            changed = True
            continue
        for name, value in list(element.attrib.items()):
            key = name.lower().rsplit("}", 1)[-1]
            if key.startswith("on"):
                warn("removed the %s attribute of <%s>: briefs run no code", key, tag)
                del element.attrib[name]
                changed = True
            elif key == "style":
                cleaned = cssurls.clean_declarations(value, resolve)
                if cleaned != value:
                    element.set(name, cleaned)
                    changed = True
            elif key in URL_ATTRIBUTES or (key == "href" and tag in ("image", "use", "feimage")):
                changed = _set_url(element, name, value, resolve) or changed
            elif key in ("srcset", "imagesrcset"):
                changed = _set_srcset(element, name, value, resolve) or changed
            elif key == "ping":
                warn("removed the ping attribute of <%s>: briefs report nothing back", tag)
                del element.attrib[name]
                changed = True
            elif key == "href" and tag == "link":
                rels = set((element.get("rel") or "").lower().split())
                if not rels <= NAVIGATION_RELS:
                    changed = _set_url(element, name, value, resolve) or changed
            elif key in ("href", "action", "formaction") and not _safe_link(value):
                warn(
                    "removed the link to %s from <%s>: only http(s), mailto and # links are kept",
                    resources.shown(value),
                    tag,
                )
                del element.attrib[name]
                changed = True
        if tag == "style" and element.text:
            cleaned = cssurls.clean(element.text, resolve, load)
            if cleaned != element.text:
                element.text = cleaned
                changed = True
    if not changed:
        return html
    out = lxml.html.tostring(tree, doctype="<!DOCTYPE html>", encoding="unicode", method="html")
    return out if out.endswith("\n") else out + "\n"


def _safe_link(value: str) -> bool:
    lowered = value.strip().lower()
    return lowered.startswith(SAFE_LINK_SCHEMES) or lowered.startswith("#") or lowered == ""


def _set_url(element: Any, name: str, value: str, resolve: cssurls.Resolver) -> bool:
    """Inline or remove one URL attribute; whether the element changed."""
    replacement = resolve(value)
    if replacement == value:
        return False
    if replacement is None:
        del element.attrib[name]
    else:
        element.set(name, replacement)
    return True


def _set_srcset(element: Any, name: str, value: str, resolve: cssurls.Resolver) -> bool:
    """Inline or drop each candidate of a ``srcset``; whether the element changed."""
    kept = []
    for url, descriptor in _candidates(value):
        replacement = resolve(url)
        if replacement is not None:
            kept.append(f"{replacement} {descriptor}".strip())
    joined = ", ".join(kept)
    if joined == value:
        return False
    if kept:
        element.set(name, joined)
    else:
        del element.attrib[name]
    return True


def _candidates(value: str) -> list[tuple[str, str]]:
    """Split a ``srcset`` into (URL, descriptor) pairs the way browsers do: a URL runs to the next
    whitespace (so a ``data:`` URL keeps its commas), its descriptor to the next comma."""
    found = []
    rest = value
    while rest.strip(" \t\n\r\f,"):
        rest = rest.lstrip(" \t\n\r\f,")
        url, _, rest = rest.partition(" ") if " " in rest else (rest, "", "")
        if url.endswith(","):
            found.append((url.rstrip(","), ""))
            continue
        descriptor, _, rest = rest.partition(",")
        found.append((url, descriptor.strip()))
    return found


def write(document: Rendered, options: WriteOptions) -> bytes:
    """Return the document as UTF-8 HTML with a ``<style>`` element in its head."""
    search_path = template_dirs(options.templates)
    css = stylesheet(search_path)
    if options.theme is not None:
        theme_css = options.theme.css()
        base = search_path[-1]
        css += "\n/* theme */\n" + cssurls.clean(
            theme_css, _resolver(search_path, base), _loader(search_path, base)
        )
    css = css.replace("</", "<\\/")
    html = _clean_document(document.html, search_path)
    html = html.replace("</head>", f"<style>\n{css}</style>\n</head>", 1)
    return html.encode("utf-8")


def for_group(options: WriteOptions, render: Render) -> GroupWriter:
    """HTML briefs are written whole, one by one: nothing is worth keeping between them."""
    return Each(write, options)
