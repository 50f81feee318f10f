"""Turn the HTML intermediate form into Typst markup that calls the print template (``brief.typ``).

Every element of the documented set (docs/html-intermediate.md) becomes a call of a function the
template defines (``el``, ``items``, ``data-table``, ``pairs``, ``figure-grid``, ``toc``,
``picture``, ``span``) or a Typst element (``heading``, ``strong``, ``emph``, ``link``...), so the
template decides how each element and class looks. Text is data, never code: every piece of text
is written with each ASCII punctuation character backslash-escaped (markup shows it as itself),
and every attribute value as a string literal (:func:`string`). An element outside the set is
named in one warning and its text kept.
"""

from __future__ import annotations

import functools
import re
import string as _string
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ... import resources
from ...i18n import page_label_parts
from ...log import warn
from ...pictures.svg import svg_element, svg_text
from ...safe import safe_link

SPACES = re.compile(r"[ \t\n\r\f\v]+")
LANGUAGE = re.compile(r"^([A-Za-z]{2,3})(?:-([A-Za-z]{2}|\d{3}))?(?:-.*)?$")
#: Characters escaped in markup: every ASCII punctuation mark (none is then read as syntax).
PUNCTUATION = frozenset(_string.punctuation)

#: Containers: their children are blocks, drawn one after the other (styled by class or tag).
CONTAINERS = {
    "section", "article", "div", "footer", "main", "aside", "nav", "header", "body", "figure",
    "details", "blockquote",
}  # fmt: skip
#: Blocks of inline content.
TEXT_BLOCKS = {"p", "figcaption", "summary", "pre", "dt", "dd", "th", "td", "li"}
HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 3, "h5": 3, "h6": 3}
INLINE = {"strong", "b", "em", "i", "code", "span", "a", "br", "img", "sub", "sup", "time", "small", "svg"}
BLOCKS = CONTAINERS | TEXT_BLOCKS | set(HEADINGS) | {"ul", "ol", "table", "dl", "hr", "thead", "tbody", "tr"}
CELLS = ("th", "td")
#: Elements whose text is never drawn.
UNDRAWN = {"head", "title", "meta", "style", "script", "link", "template"}
#: Image formats Typst draws, by media type.
IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/svg+xml": "svg"}


def markup(text: str) -> str:
    """``text`` as Typst markup that shows exactly it: whitespace runs as one space, every ASCII
    punctuation mark escaped (``#``, ``[``, ``$``, ``@``, ``\\``, ``*``, ``<``, ``/``...)."""
    text = SPACES.sub(" ", text)
    return "".join("\\" + char if char in PUNCTUATION else char for char in text)


def string(text: str) -> str:
    """``text`` as a Typst string literal (quotes, backslashes and control characters escaped)."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0 or char in "\u2028\u2029":
            out.append(f"\\u{{{ord(char):x}}}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def value(data: Any) -> str:
    """A Python value (str, bool, int, list, dict of those) as a Typst literal."""
    if data is None:
        return "none"
    if isinstance(data, bool):
        return "true" if data else "false"
    if isinstance(data, int):
        return str(data)
    if isinstance(data, str):
        return string(data)
    if isinstance(data, (list, tuple)):
        return "(" + "".join(value(item) + ", " for item in data) + ")"
    if isinstance(data, dict):
        if not data:
            return "(:)"
        return "(" + ", ".join(f"{string(key)}: {value(item)}" for key, item in data.items()) + ")"
    raise TypeError(f"no Typst literal for {type(data).__name__}")


def language(tag: str | None) -> tuple[str, str | None] | None:
    """A BCP 47 tag as Typst's (language, region), or None when Typst cannot take it."""
    found = LANGUAGE.match(tag or "")
    if not found:
        return None
    region = found.group(2)
    return found.group(1).lower(), region.upper() if region and region.isalpha() else None


def classes(element: Any) -> list[str]:
    return (element.get("class") or "").split()


def text_of(element: Any) -> str:
    return SPACES.sub(" ", element.text_content()).strip()


@dataclass
class Converter:
    """Writes one document's markup; ``roots`` are the template folders images may come from."""

    roots: tuple[Path, ...]
    ids: set[str] = field(default_factory=set)
    warned: set[str] = field(default_factory=set)
    labelled: set[str] = field(default_factory=set)

    def label(self, ident: str | None) -> str | None:
        """``ident`` as a label the first time it is seen (a repeated id labels nothing: Typst
        refuses a link to a label that occurs twice)."""
        if not ident or ident in self.labelled:
            return None
        self.labelled.add(ident)
        return ident

    # ----- warnings ------------------------------------------------------------------------

    def unknown(self, element: Any) -> None:
        key = f"<{element.tag}>"
        if key not in self.warned:
            self.warned.add(key)
            warn("pdf (typst): element %s is not in the documented HTML set; its text is kept", key)

    # ----- blocks --------------------------------------------------------------------------

    def blocks(self, element: Any) -> list[str]:
        """The children of a container as block markup, loose text as paragraphs."""
        out: list[str] = []
        run: list[str] = []

        def flush() -> None:
            joined = "".join(run).strip()
            if joined:
                out.append(f"#el({string('p')}, ())[{joined}]")
            run.clear()

        if element.text and element.text.strip():
            run.append(markup(element.text))
        for child in element:
            if not isinstance(child.tag, str):
                pass
            elif child.tag in BLOCKS or (child.tag not in INLINE and child.tag not in UNDRAWN):
                flush()
                out.append(self.block(child))
            elif child.tag not in UNDRAWN:
                run.append(self.inline_element(child))
            if child.tail and child.tail.strip():
                run.append(markup(child.tail))
        flush()
        return [piece for piece in out if piece]

    def block(self, element: Any) -> str:
        """One block element as markup."""
        tag = element.tag
        if tag in UNDRAWN:
            return ""
        names = classes(element)
        if tag in HEADINGS:
            return self.heading(element)
        if tag in ("ul", "ol"):
            entries = [self.content(item) for item in element if getattr(item, "tag", None) == "li"]
            return f"#items({string(tag)}, {value(names)}){''.join(entries)}"
        if tag == "table":
            return self.table(element)
        if tag == "dl":
            cells = [self.content(child) for child in element if getattr(child, "tag", None) in ("dt", "dd")]
            return f"#pairs({value(names)}){''.join(cells)}"
        if tag == "nav" and "toc" in names:
            title = element.find(".//p[@class='toc-title']")
            return f"#toc([{self.inline(title) if title is not None else ''}])"
        if tag == "div" and "figures" in names:
            return f"#figure-grid({value(names)}){''.join(f'[{piece}]' for piece in self.blocks(element))}"
        if tag == "hr":
            return f"#el({string('hr')}, {value(names)})"
        if tag in ("img", "svg"):
            return self.picture(element, names)
        known = tag in CONTAINERS or tag in TEXT_BLOCKS
        if not known:
            self.unknown(element)
        arguments = [string(tag), value(names)]
        ident = self.label(element.get("id"))
        if ident:
            arguments.append(f"id: {string(ident)}")
        lang = language(element.get("lang"))
        if lang is not None:
            arguments.append(f"lang: {string(lang[0])}")
        return f"#el({', '.join(arguments)}){self.content(element)}"

    def content(self, element: Any) -> str:
        """An element's children as trailing content blocks: one per block, or one of inline text."""
        if any(isinstance(child.tag, str) and child.tag in BLOCKS for child in element):
            return "".join(f"[{piece}]" for piece in self.blocks(element))
        return f"[{self.inline(element)}]"

    def heading(self, element: Any) -> str:
        level = HEADINGS[element.tag]
        if element.tag not in ("h1", "h2", "h3"):
            self.unknown(element)
        body = self.inline(element)
        lang = language(element.get("lang"))
        if lang is not None:
            body = f"#text(lang: {string(lang[0])})[{body}]"
        ident = self.label(element.get("id"))
        label = f"#label({string(ident)})" if ident else ""
        return f"#heading(level: {level})[{body}]{label}"

    def table(self, element: Any) -> str:
        rows = list(element.iter("tr"))
        header: list[str] = []
        body: list[list[str]] = []
        for row in rows:
            cells = [
                f"[{self.inline_or_blocks(cell)}]" for cell in row if getattr(cell, "tag", None) in CELLS
            ]
            in_head = row.getparent() is not None and row.getparent().tag == "thead"
            if in_head and not header:
                header = cells
            else:
                body.append(cells)
        if not header and body:
            header = body.pop(0)
        width = max(len(header), *(len(row) for row in body), 1)
        header += ["[]"] * (width - len(header))
        lines = "".join(f"({_cells(row + ['[]'] * (width - len(row)))}), " for row in body)
        return f"#data-table({value(classes(element))}, ({_cells(header)}), {lines})"

    def inline_or_blocks(self, element: Any) -> str:
        if any(isinstance(child.tag, str) and child.tag in BLOCKS for child in element):
            return "".join(self.blocks(element))
        return self.inline(element)

    # ----- inline --------------------------------------------------------------------------

    def inline(self, element: Any) -> str:
        """An element's text and inline children as markup (leading and trailing space trimmed)."""
        parts = [markup(element.text or "")]
        for child in element:
            if isinstance(child.tag, str) and child.tag not in UNDRAWN:
                parts.append(self.inline_element(child))
            parts.append(markup(child.tail or ""))
        return "".join(parts).strip()

    def inline_element(self, element: Any) -> str:
        tag = element.tag
        if tag == "br":
            return "#linebreak()"
        if tag in ("img", "svg"):
            return self.picture(element, classes(element))
        if tag in BLOCKS:  # a block inside running text: its text, as inline content
            return "".join(self.blocks(element))
        body = self.inline(element)
        if tag in ("strong", "b"):
            return f"#strong[{body}]"
        if tag in ("em", "i"):
            return f"#emph[{body}]"
        if tag == "sub":
            return f"#sub[{body}]"
        if tag == "sup":
            return f"#super[{body}]"
        if tag == "code":
            return f"#raw({string(SPACES.sub(' ', element.text_content()))})"
        if tag == "a":
            return self.link(element, body)
        if tag not in INLINE:
            self.unknown(element)
        lang = language(element.get("lang"))
        if lang is not None:
            body = f"#text(lang: {string(lang[0])})[{body}]"
        return f"#span({string(tag)}, {value(classes(element))})[{body}]"

    def link(self, element: Any, body: str) -> str:
        href = (element.get("href") or "").strip()
        if href.startswith("#"):
            target = href[1:]
            return f"#link(label({string(target)}))[{body}]" if target in self.ids else body
        return f"#link({string(href)})[{body}]" if safe_link(href) else body

    def picture(self, element: Any, names: list[str]) -> str:
        """An ``img`` (a ``data:`` URL or a file in the template folders) or an inline ``svg``
        (serialised in SVG case: the HTML parser lowered ``viewBox`` and the like)."""
        holder = element.getparent()
        outer = classes(holder) if holder is not None else []
        if element.tag == "svg":
            title = element.find("title")
            alt = element.get("aria-label") or (text_of(title) if title is not None else "")
            source = svg_text(svg_element(_without_references(element)))
            outer = names + outer
            return f"#picture(bytes({string(source)}), {string('svg')}, {string(alt)}, {value(outer)})"
        alt = element.get("alt") or ""
        if not alt.strip():
            warn("image %s has no alternative text", resources.shown(element.get("src") or "(no src)"))
        source = (element.get("src") or "").strip()
        if source.startswith("/") and not source.startswith("//"):  # a path: as WeasyPrint reads it
            source = Path(source).as_uri()
        found = resources.fetch(source, self.roots)
        if found is None:
            return markup(alt)
        data, mime = found
        kind = IMAGE_FORMATS.get(mime.split(";")[0].strip().lower())
        if kind is None:
            shown = resources.shown(element.get("src") or "")
            warn("image %s: Typst draws PNG, JPEG, GIF and SVG only; its text is kept", shown)
            return markup(alt)
        if not _decodes(data, kind):
            shown = resources.shown(element.get("src") or "")
            warn("image %s cannot be read; its alternative text is kept", shown)
            return markup(alt)
        if kind == "svg":
            data = _svg_file(data)
        literal = string(data.decode("utf-8", "replace")) if kind == "svg" else _bytes(data)
        return f"#picture(bytes({literal}), {string(kind)}, {string(alt)}, {value(names + outer)})"


#: Attributes through which an SVG refers to another file.
HREFS = ("href", "{http://www.w3.org/1999/xlink}href")


def _without_references(svg: Any) -> Any:
    """A copy of an SVG tree in which every reference to another file (``<image href>``, ``<use>``
    of another document) is removed with the resource rule's warning; ``#`` and ``data:`` stay."""
    import copy

    svg = copy.deepcopy(svg)
    for element in svg.iter():
        for name in HREFS:
            target = (element.get(name) or "").strip()
            if target and not target.startswith(("#", "data:")):
                resources.refuse(target)
                del element.attrib[name]
    return svg


def _svg_file(data: bytes) -> bytes:
    """An SVG image file with its references to other files removed."""
    import lxml.etree

    parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    root = lxml.etree.fromstring(data, parser)
    return lxml.etree.tostring(_without_references(root))


def _decodes(data: bytes, kind: str) -> bool:
    """Whether an image's bytes decode (Typst stops the whole brief at one it cannot read)."""
    import io

    try:
        if kind == "svg":
            import lxml.etree

            parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
            return lxml.etree.fromstring(data, parser).tag.endswith("svg")
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        return True
    except Exception:
        return False


def _cells(cells: list[str]) -> str:
    """Content blocks as the items of a Typst array."""
    return "".join(cell + ", " for cell in cells)


def _bytes(data: bytes) -> str:
    """Binary data as a Typst bytes literal's array."""
    return "(" + ",".join(map(str, data)) + ",)" if data else "()"


def meta_data(tree: Any, theme: Any, page_size: str) -> dict[str, Any]:
    """What the template's ``brief`` function reads: the document's properties, the page
    furniture's words in the brief's language and the theme's colours, fonts and footer."""
    head = tree.find("head")

    def meta(name: str) -> str:
        found = head.find(f"meta[@name='{name}']") if head is not None else None
        return (found.get("content") or "") if found is not None else ""

    body = tree.find("body")
    kicker = body.find(".//p[@class='cover-kicker']") if body is not None else None
    issuer = body.find(".//dd[@class='issuer']") if body is not None else None
    title = head.find("title") if head is not None else None
    lang = language(tree.get("lang")) or ("en", None)
    data: dict[str, Any] = {
        "title": text_of(title) if title is not None else "",
        "author": meta("author"),
        "description": meta("description"),
        "keywords": [word.strip() for word in meta("keywords").split(",") if word.strip()],
        "lang": lang[0],
        "paper": "us-letter" if page_size == "letter" else "a4",
        "summary": "length-summary" in classes(body) if body is not None else False,
        "doctitle": text_of(kicker) if kicker is not None else "",
        "issuer": text_of(issuer) if issuer is not None else "",
        "page-label": page_label_parts(meta("briefgen-page-label") or "%(page)s / %(pages)s"),
        "contents": meta("briefgen-contents-label"),
        "colours": {},
        "heading": "sans",
        "body": "serif",
    }
    if theme is not None:
        chosen = theme.colours.model_fields_set
        data["colours"] = {name.replace("_", "-"): getattr(theme.colours, name) for name in sorted(chosen)}
        data["heading"], data["body"] = theme.fonts.pdf_heading, theme.fonts.pdf_body
        if theme.footer:
            data["issuer"] = theme.footer
    return data


@functools.lru_cache(maxsize=1)
def covered() -> frozenset[int]:
    """Every code point some shipped font draws (``templates/fonts``, the only fonts used)."""
    from fontTools.ttLib import TTFont

    from ...paths import builtin_templates

    points: set[int] = set()
    for path in sorted((builtin_templates() / "fonts").glob("*.ttf")):
        with TTFont(path, lazy=True) as font:
            points.update(font.getBestCmap() or {})
    return frozenset(points)


def report_missing_glyphs(body: Any) -> None:
    """One warning naming the characters no shipped font has, each with where it first occurs
    (Typst draws them as an empty box)."""
    found: dict[str, str] = {}
    points = covered()
    for element in body.iter():
        if not isinstance(element.tag, str) or element.tag in UNDRAWN:
            continue
        for text, holder in ((element.text, element), (element.tail, element.getparent())):
            for char in text or "":
                if ord(char) in points or char.isspace() or unicodedata.category(char) in ("Cc", "Cf"):
                    continue
                found.setdefault(char, where(holder if holder is not None else element))
    if found:
        first = list(found.items())[:12]
        named = [f"{c} (U+{ord(c):04X} {unicodedata.name(c, 'unnamed')}) in {w}" for c, w in first]
        more = f" and {len(found) - 12} more" if len(found) > 12 else ""
        warn("no shipped font has %s%s; drawn as empty boxes", ", ".join(named), more)


def where(element: Any) -> str:
    """An element by its nearest id, for warnings."""
    node = element
    while node is not None:
        if node.get("id"):
            return f"<{node.tag} id={node.get('id')!r}>"
        node = node.getparent()
    return f"<{element.tag}>"


#: Elements that would bring in other content, and the attributes that name it.
EMBEDDING = {
    "object": ("data",),
    "embed": ("src",),
    "iframe": ("src",),
    "frame": ("src",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "source": ("src",),
    "track": ("src",),
}


def _refusing(url: str) -> None:
    """A CSS URL the Typst engine never fetches: named as the resource rule names a refused one."""
    resources.refuse(url)


def report_unread(tree: Any, roots: tuple[Path, ...]) -> None:
    """Warn about what the Typst engine does not take from the HTML, naming every URL in it as the
    resource rule does: attachments (briefs embed no files), stylesheets linked or in ``<style>``
    and ``style`` attributes (CSS ``url()`` and ``@import``), and what ``object``, ``embed``,
    ``iframe``, ``video``... would bring in. Nothing is fetched."""
    from ... import cssurls

    for element in tree.iter("style"):
        cssurls.clean(element.text or "", _refusing, _refusing)
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        if element.get("style"):
            cssurls.clean_declarations(element.get("style"), _refusing)
        for name in EMBEDDING.get(element.tag, ()):
            if (element.get(name) or "").strip():
                resources.refuse(element.get(name).strip())
    for element in list(tree.iter("link", "a")):
        rels = (element.get("rel") or "").lower().split()
        href = element.get("href") or ""
        if "attachment" in rels:
            warn("refused attachment %s: briefs embed no files", href or "(no href)")
        elif element.tag == "link" and "stylesheet" in rels:
            if resources.allowed_file(href, roots) is None and not href.startswith("data:"):
                resources.refuse(href)
            else:
                shown = resources.shown(href)
                warn("stylesheet %s: the Typst engine reads no CSS (--pdf-engine weasyprint does)", shown)


def convert(html: str, roots: tuple[Path, ...], theme: Any, page_size: str, template: str) -> str:
    """The whole Typst source of one brief: import the template, set the document up, the body."""
    import lxml.html

    tree = lxml.html.document_fromstring(html)
    report_unread(tree, roots)
    ids = {element.get("id") for element in tree.iter() if isinstance(element.tag, str) and element.get("id")}
    converter = Converter(roots, ids=ids)
    body = tree.find("body")
    if body is not None:
        report_missing_glyphs(body)
    pieces = converter.blocks(body) if body is not None else []
    meta = meta_data(tree, theme, page_size)
    return "\n".join(
        [
            f"#import {string(template)}: *",
            f"#show: brief.with({value(meta)})",
            "",
            *(piece + "\n" for piece in pieces),
        ]
    )
