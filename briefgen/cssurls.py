"""Turn CSS text into CSS whose every ``url()`` and ``@import`` obeys the resource rule.

Used where briefgen hands CSS to a reader it does not control (the HTML brief
opened in a browser): each URL is passed to a resolver that returns a
replacement URL (a ``data:`` URL with the resource inlined) or None (refused:
the value becomes ``none``); an allowed ``@import`` is replaced by the
imported sheet, itself cleaned, and a refused one is dropped. CSS without any
URL comes back unchanged, byte for byte. Parsing is tinycss2's (the CSS
tokenizer WeasyPrint uses), so comments, strings and escapes cannot hide a URL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: Resolve a URL: (replacement URL or None when refused).
Resolver = Callable[[str], str | None]
#: Imports the resolver may follow from one sheet, nested.
MAX_IMPORT_DEPTH = 4


def clean(css: str, resolve: Resolver, load: Callable[[str], str | None], depth: int = 0) -> str:
    """``css`` with URLs resolved; ``load(url)`` returns an allowed imported sheet's text or None."""
    import tinycss2

    if "url" not in css.lower() and "@import" not in css.lower() and "\\" not in css:
        return css
    rules = tinycss2.parse_stylesheet(css, skip_comments=False, skip_whitespace=False)
    changed = False
    out: list[str] = []
    for rule in rules:
        if rule.type == "error":  # not CSS: dropped (a browser ignores it too), never serialised
            changed = True
            continue
        if getattr(rule, "lower_at_keyword", None) == "import":
            changed = True
            target = _import_target(rule.prelude)
            text = load(target) if target is not None and depth < MAX_IMPORT_DEPTH else None
            if text is not None:
                out.append(clean(text, resolve, load, depth + 1))
            continue
        if _rewrite(rule, resolve):
            changed = True
        out.append(rule.serialize())
    return "".join(out) if changed else css


def clean_declarations(css: str, resolve: Resolver) -> str:
    """A ``style`` attribute's declarations with URLs resolved (unchanged when it holds none)."""
    import tinycss2

    if "url" not in css.lower() and "\\" not in css:
        return css
    nodes = tinycss2.parse_component_value_list(css, skip_comments=False)
    return tinycss2.serialize(nodes) if _rewrite_list(nodes, resolve) else css


def _import_target(prelude: list[Any]) -> str | None:
    for node in prelude:
        if node.type in ("string", "url"):
            return str(node.value)
        if node.type == "function" and node.lower_name == "url":
            return next((str(a.value) for a in node.arguments if a.type == "string"), None)
    return None


def _rewrite(rule: Any, resolve: Resolver) -> bool:
    changed = False
    for name in ("prelude", "content"):
        nodes = getattr(rule, name, None)
        if isinstance(nodes, list) and _rewrite_list(nodes, resolve):
            changed = True
    return changed


def _rewrite_list(nodes: list[Any], resolve: Resolver) -> bool:
    """Replace URL tokens in ``nodes`` (and every block inside) in place; whether any was found."""
    from tinycss2.ast import IdentToken

    changed = False
    for index, node in enumerate(nodes):
        url = None
        if node.type == "url":
            url = str(node.value)
        elif node.type == "function" and node.lower_name in ("url", "src", "image-set", "image"):
            strings = [a for a in node.arguments if a.type == "string"]
            if node.lower_name in ("url", "src"):
                url = str(strings[0].value) if strings else ""
            else:
                changed = _rewrite_list(node.arguments, resolve) or changed
                for position, argument in enumerate(node.arguments):
                    if argument.type == "string":
                        changed = True
                        node.arguments[position] = _as_url(argument, resolve)
                continue
        elif node.type in ("() block", "[] block", "{} block") or node.type == "function":
            inner = node.content if hasattr(node, "content") else node.arguments
            changed = _rewrite_list(inner, resolve) or changed
            continue
        if url is None:
            continue
        changed = True
        replacement = resolve(url)
        if replacement is None:
            nodes[index] = IdentToken(node.source_line, node.source_column, "none")
        else:
            nodes[index] = _url_token(node, replacement)
    return changed


def _as_url(token: Any, resolve: Resolver) -> Any:
    """A bare string in ``image-set()`` is a URL too."""
    from tinycss2.ast import IdentToken

    replacement = resolve(str(token.value))
    if replacement is None:
        return IdentToken(token.source_line, token.source_column, "none")
    return _url_token(token, replacement)


def _url_token(where: Any, url: str) -> Any:
    """A ``url("...")`` token at the place of ``where``, its URL escaped as a CSS string."""
    from tinycss2.ast import URLToken
    from tinycss2.serializer import serialize_string_value

    representation = f'url("{serialize_string_value(url)}")'
    return URLToken(where.source_line, where.source_column, url, representation)
