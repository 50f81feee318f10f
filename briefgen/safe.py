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

#: The only link targets a brief keeps as links (compared with the lower-cased target).
SAFE_LINK_SCHEMES = ("http://", "https://", "mailto:")


def xml_clean(text: str) -> str:
    """``text`` without the characters XML cannot hold."""
    return XML_UNSAFE.sub("", text)


def safe_link(target: str) -> bool:
    """Whether ``target`` is a web or mail link a brief may carry."""
    return target.lower().startswith(SAFE_LINK_SCHEMES)
