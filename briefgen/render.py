"""Turn a Brief into the one semantic HTML document that every writer reads.

Rendering runs the audience's Jinja template in Jinja's sandbox with
autoescaping and ``StrictUndefined``; Markdown in content is rendered with raw
HTML switched off, headings and images disabled, and links limited to
``http(s):``, ``mailto:`` and in-document anchors. After the template, a
finishing pass gives every heading an id and fills the table-of-contents
placeholder from the headings, so TOC entries can never drift from the text.

The element set of the result is documented in ``docs/html-intermediate.md``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import i18n, safe
from .errors import RenderError
from .i18n import SOURCE_LANGUAGE
from .paths import builtin_templates
from .safe import SAFE_LINK_SCHEMES, xml_clean

if TYPE_CHECKING:
    from jinja2 import Environment

    from .tailor import Brief

TOC_LEVELS = 2


@dataclass(frozen=True)
class Rendered:
    """The HTML document of one brief plus facts the writers and manifest need."""

    html: str
    title: str
    language: str
    template: str


@functools.lru_cache(maxsize=16)
def _markdown(quotes: tuple[str, str, str, str] = ("“", "”", "‘", "’")) -> Any:
    """The Markdown parser, with typographic quotes for one language."""
    from markdown_it import MarkdownIt

    options = {"html": False, "typographer": True, "linkify": False, "quotes": list(quotes)}
    md = MarkdownIt("commonmark", options)
    md.enable(["replacements", "smartquotes"])
    md.disable(["heading", "lheading", "image", "html_block", "html_inline"])

    def validate_link(url: str) -> bool:
        lowered = url.strip().lower()
        return lowered.startswith(SAFE_LINK_SCHEMES) or lowered.startswith("#")

    md.validateLink = validate_link
    md.core.ruler.push("links_need_targets", _links_need_targets)
    return md


def _links_need_targets(state: Any) -> None:
    """A link with an empty target (``[text]()``, which markdown-it never validates) is its text."""
    for token in state.tokens:
        if token.type != "inline" or not token.children:
            continue
        kept, empty = [], []
        for child in token.children:
            if child.type == "link_open":
                empty.append(not (child.attrGet("href") or "").strip())
                if empty[-1]:
                    continue
            elif child.type == "link_close" and empty and empty.pop():
                continue
            kept.append(child)
        token.children = kept


def markdown_block(text: str | None, quotes: tuple[str, str, str, str] | None = None) -> Any:
    """Render Markdown paragraphs and lists to safe HTML markup."""
    from markupsafe import Markup

    if not text:
        return Markup("")
    return Markup((_markdown(quotes) if quotes else _markdown()).render(text).strip())


def markdown_inline(text: str | None, quotes: tuple[str, str, str, str] | None = None) -> Any:
    """Render one line of Markdown (emphasis, links) without a paragraph around it."""
    from markupsafe import Markup

    if not text:
        return Markup("")
    return Markup((_markdown(quotes) if quotes else _markdown()).renderInline(text).strip())


def slugify(text: str) -> str:
    """Make an id from heading text: ascii letters, digits and hyphens."""
    norm = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", norm.lower()).strip("-")
    return slug or "section"


def template_dirs(extra: tuple[Path, ...] = ()) -> tuple[Path, ...]:
    """The template search path: user folders first, then the built-in templates."""
    return (*(Path(p).resolve() for p in extra), builtin_templates())


def _escapes(name: str | None) -> bool:
    """Autoescape everything but plain-text templates (``*.txt.j2``, e.g. the e-mail body)."""
    return not (name or "").endswith(".txt.j2")


@functools.lru_cache(maxsize=16)
def environment(search_path: tuple[Path, ...], language: str = SOURCE_LANGUAGE) -> Environment:
    """A sandboxed, autoescaping, strict Jinja environment over ``search_path``, speaking ``language``.

    The i18n extension gives templates ``{% trans %}``, ``_()``, ``ngettext`` and
    ``pgettext`` from the language's catalogue; the filters format dates, numbers,
    lists of names and quotations as that language does.
    """
    from jinja2 import StrictUndefined

    from .sandbox import BriefSandbox, loader
    from .templatecache import cache

    lang = i18n.language(language, search_path)
    env = BriefSandbox(
        loader=loader(search_path, builtin_templates()),
        autoescape=_escapes,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
        bytecode_cache=cache(),
    )
    env.install_gettext_callables(**i18n.gettext_callables(lang), newstyle=True)  # type: ignore[attr-defined]
    quotes = lang.quotes
    env.filters["md"] = functools.partial(markdown_block, quotes=quotes)
    env.filters["md_inline"] = functools.partial(markdown_inline, quotes=quotes)
    env.filters["slug"] = slugify
    env.filters["date"] = lang.date
    env.filters["number"] = lang.number
    env.filters["number_word"] = lang.number_word
    env.filters["names"] = lang.names
    env.filters["series"] = lang.series
    env.filters["quoted"] = lang.quote
    env.filters["css_string"] = css_string
    env.filters["plain"] = plain_text
    env.filters["upper_first"] = upper_first
    env.globals["page_label_css"] = page_label_css
    env.globals["page_label"] = functools.partial(lang.gettext, "Page %(page)s of %(pages)s")
    return env


def upper_first(text: str) -> Any:
    """Capitalise the first letter only ("drei strategische Ziele" -> "Drei strategische Ziele")."""
    from markupsafe import Markup

    plain = str(text)
    first = plain[:1].upper() + plain[1:]
    return Markup(first) if isinstance(text, Markup) else first


#: A space written as a CSS escape (see :func:`css_string`).


def plain_text(text: Any) -> str:
    """Markup (a catalogue message) as the text a reader sees, for an attribute value: escaped
    once by autoescaping, so a quote in a translation cannot end the attribute."""
    from markupsafe import Markup

    return Markup(text).unescape() if isinstance(text, Markup) else str(text)


def css_string(text: str) -> Any:
    """A CSS string literal of ``text`` that nothing in it can end, safe inside ``<style>``
    (:func:`briefgen.safe.css_string`, as markup for templates)."""
    from markupsafe import Markup

    return Markup(safe.css_string(str(text)))


def page_label_css(label: str) -> Any:
    """CSS ``content`` for a translated "Page %(page)s of %(pages)s" (counters in their places)."""
    from markupsafe import Markup

    pieces = []
    for part in i18n.page_label_parts(label):
        if part == "\0page":
            pieces.append("counter(page)")
        elif part == "\0pages":
            pieces.append("counter(pages)")
        else:
            pieces.append(str(css_string(part)))
    return Markup(" ".join(pieces) or '""')


def template_name(template: str) -> str:
    """The template file of a template name (an audience's ``template``, by default its id)."""
    return f"{template}.html.j2"


def render(
    brief: Brief, *, templates: tuple[Path, ...] = (), theme: Any = None, time_limit: float | None = None
) -> Rendered:
    """Render ``brief`` with its audience template; return the finished HTML."""
    from .pictures.build import pictures

    name = template_name(brief.template)
    drawn = pictures(brief, theme, i18n.language(brief.language, template_dirs(templates)))
    try:
        html = run_template(
            name, templates, time_limit, language=brief.language, brief=brief, theme=theme, pictures=drawn
        )
    except RenderError as exc:
        if exc.message == f"template not found: {name}":
            raise RenderError(
                f"no template for audience {brief.audience_id!r}: add {name} to a template folder"
                f" or set audiences.{brief.audience_id}.template"
            ) from None
        raise
    return Rendered(html=finish(html), title=brief.title, language=brief.language, template=name)


def run_template(
    name: str,
    templates: tuple[Path, ...] = (),
    time_limit: float | None = None,
    language: str = SOURCE_LANGUAGE,
    **context: Any,
) -> str:
    """Render template ``name`` from the search path in ``language`` in the sandbox; errors name
    template and line."""
    from jinja2 import TemplateError, TemplateNotFound, TemplateSyntaxError, UndefinedError
    from jinja2.sandbox import SecurityError

    from .plain import freeze
    from .sandbox import bounded_render

    env = environment(template_dirs(templates), language)
    data = {key: freeze(value) for key, value in context.items()}
    try:
        template = env.get_template(name)
        return bounded_render(template, time_limit, **data)
    except TemplateNotFound as exc:
        if exc.name == name:
            raise RenderError(f"template not found: {name}") from None
        raise RenderError(f"{_template_place(exc, name)}: template not found: {exc.name}") from None
    except TemplateSyntaxError as exc:
        raise RenderError(f"{exc.filename or exc.name}:{exc.lineno}: {exc.message}") from None
    except SecurityError as exc:
        raise RenderError(f"{_template_place(exc, name)}: refused by the template sandbox: {exc}") from None
    except UndefinedError as exc:
        raise RenderError(f"{_template_place(exc, name)}: undefined: {exc.message}") from None
    except TemplateError as exc:
        raise RenderError(f"{_template_place(exc, name)}: {exc}") from None
    except Exception as exc:  # the template's own failure: 1/0, range(10**9), recursion, a binary include
        raise RenderError(f"{_template_place(exc, name)}: {type(exc).__name__}: {exc}") from None


def _template_place(exc: BaseException, fallback: str) -> str:
    """Find the template file and line in a Jinja traceback."""
    tb = exc.__traceback__
    place = fallback
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename.endswith(".j2"):
            place = f"{code.co_filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return place


def finish(html: str) -> str:
    """Give headings ids and fill the ``nav.toc`` placeholder from them."""
    import lxml.html

    doc = lxml.html.document_fromstring(xml_clean(html))
    used: set[str] = {el.get("id") for el in doc.iter() if el.get("id")}
    entries: list[tuple[int, str, str]] = []
    for el in doc.iter("h1", "h2", "h3"):
        if el.get("id") is None:
            base = slugify(el.text_content())
            candidate, n = base, 2
            while candidate in used:
                candidate, n = f"{base}-{n}", n + 1
            el.set("id", candidate)
            used.add(candidate)
        level = int(el.tag[1])
        if level <= TOC_LEVELS and "no-toc" not in (el.get("class") or "").split():
            entries.append((level, el.get("id"), " ".join(el.text_content().split())))
    for nav in doc.iter("nav"):
        if "toc" not in (nav.get("class") or "").split():
            continue
        for old in nav.findall("ol"):
            nav.remove(old)
        nav.append(_toc_list(entries))
    out = lxml.html.tostring(doc, doctype="<!DOCTYPE html>", encoding="unicode", method="html")
    return out if out.endswith("\n") else out + "\n"


def _toc_list(entries: list[tuple[int, str, str]]) -> Any:
    """Build the TOC as an ``ol`` of chapters, each holding an ``ol`` of its sections."""
    from lxml.html import Element

    root = Element("ol")
    root.set("class", "toc-list")
    chapter = None
    sub = None
    for level, ident, text in entries:
        item = Element("li")
        item.set("class", f"toc-level-{level}")
        link = Element("a")
        link.set("href", f"#{ident}")
        link.text = text
        item.append(link)
        if level == 1 or chapter is None:
            root.append(item)
            chapter, sub = item, None
            continue
        if sub is None:
            sub = Element("ol")
            chapter.append(sub)
        sub.append(item)
    return root
