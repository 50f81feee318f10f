"""Turn the rules every stage shares about untrusted text into one place: the characters XML cannot
hold and the link schemes a brief may carry.

Content, stakeholder lists, templates and reference documents are untrusted; the loader, the
renderer and the writers refuse or remove the same characters and keep the same links, so the
rules are defined once, here.
"""

from __future__ import annotations

import re

#: Characters XML 1.0 cannot hold: C0 controls but tab, line feed and carriage return; lone
#: surrogates; U+FFFE and U+FFFF.
XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

#: Characters that must not reach a terminal or a one-line record as they are: C0 and C1 controls,
#: DEL, and the Unicode line and paragraph separators.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")

#: The only link targets a brief keeps as links (compared with the lower-cased target).
SAFE_LINK_SCHEMES = ("http://", "https://", "mailto:")


def xml_clean(text: str) -> str:
    """``text`` without the characters XML cannot hold."""
    return XML_UNSAFE.sub("", text)


def escape_controls(text: str) -> str:
    """``text`` on one printable line: every :data:`CONTROL` character written as ``\\xNN``."""
    return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def safe_link(target: str) -> bool:
    """Whether ``target`` is a web or mail link a brief may carry."""
    return target.lower().startswith(SAFE_LINK_SCHEMES)


def css_string(text: str) -> str:
    """``text`` as a double-quoted CSS string that nothing in it can end or escape from.

    Letters, digits, spaces and harmless punctuation stay as they are; every
    other character is written as a six-digit CSS escape (``\\00007b`` for ``{``),
    so quotes, backslashes, braces, semicolons, ``<`` and line breaks are inert.
    A hex escape swallows one white space after it (CSS syntax), so a space that
    follows an escaped character is escaped too: "3 / 10" stays "3 / 10".
    """
    keep = set(" .,:-_!?#%+=|~'’·–—")
    out: list[str] = []
    escaped = False
    for c in text:
        plain = c.isalnum() or c in keep
        if c == " " and escaped:
            plain = False
        out.append(c if plain else f"\\{ord(c):06x}")
        escaped = not plain
    return '"' + "".join(out) + '"'
