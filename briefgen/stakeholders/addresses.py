"""Turn an e-mail address into the reason it is not one bare, deliverable address (or None).

Used for the ``email`` column of stakeholder lists: one bare address, no display name, comment,
quotes or list; internationalised local parts and domains accepted (RFC 6531), the domain a
host name with a dot whose every label is valid.
"""

from __future__ import annotations

import re
import unicodedata

from ..errors import shown

_ATEXT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]")
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def address_problem(address: str) -> str | None:
    """Why ``address`` is not one bare e-mail address (None when it is one).

    Accepted: ``local@domain`` with a dot-atom local part (ASCII ``atext`` or
    any non-ASCII character but spaces and invisible ones, RFC 6531) of at
    most 64 bytes, and a domain that is a host name with a dot: every part
    valid under the ``idna`` codec and, in ASCII, 1-63 letters, digits or inner
    hyphens; at most 253 characters in all; a last part that is not a number.
    Refused: display names, comments, quotes, spaces and invisible characters,
    several addresses, address literals (``[1.2.3.4]``), a dot at either end
    of the local part or two in a row. The strict addr-spec parser of the
    standard library must read exactly the same address. Give it NFC-normalised.
    """
    from email import _header_value_parser as parser
    from email import errors

    if "@" not in address:
        return "no '@'"
    if address.count("@") > 1:
        return "more than one '@': give one address"
    for ch in address:
        if ch.isspace() or unicodedata.category(ch)[0] in "CZ":
            return f"space or invisible character U+{ord(ch):04X}: give only the address"
        if ch in '<>()[]",;:\\':
            return f"{ch!r} is not allowed: give only the address, without name, comment, quotes or list"
    local, domain = address.split("@")
    if not local:
        return "nothing before the '@'"
    if local.startswith(".") or local.endswith("."):
        return "a dot at the start or end of the part before the '@'"
    if ".." in local:
        return "two dots in a row before the '@'"
    odd = next((ch for ch in local if ord(ch) < 128 and ch != "." and not _ATEXT.match(ch)), None)
    if odd:
        return f"{odd!r} is not allowed before the '@'"
    if len(local.encode("utf-8")) > 64:
        return "more than 64 bytes before the '@'"
    problem = _domain_problem(domain)
    if problem:
        return problem
    try:
        spec, rest = parser.get_addr_spec(address)
    except errors.HeaderParseError as exc:
        return f"not an address: {exc}"
    defects = [d for d in spec.all_defects if not isinstance(d, errors.NonASCIILocalPartDefect)]
    if defects:
        return f"not an address: {defects[0]}"
    if rest or f"{spec.local_part}@{spec.domain}" != address:
        return "not one bare address"
    return None


def _domain_problem(domain: str) -> str | None:
    """Why ``domain`` is not a host name with a dot (None when it is one)."""
    if not domain:
        return "nothing after the '@'"
    if any(dot in domain for dot in "\u3002\uff0e\uff61"):
        return "the domain may only use '.' between its parts"
    if "." not in domain:
        return f"the domain {shown(domain)} has no dot"
    labels = domain.split(".")
    total = len(labels) - 1
    for label in labels:
        if not label:
            return "the domain has an empty part: a dot at an end or two in a row"
        if label.isascii() and len(label) > 63:
            return f"the domain part {shown(label)} is longer than 63 characters"
        try:
            ascii_label = label.encode("idna")
            ascii_label.decode("idna")  # an xn-- label must be valid Punycode
        except UnicodeError:
            return f"the domain part {shown(label)} is not a valid host name part"
        if len(ascii_label) > 63:
            return f"the domain part {shown(label)} is longer than 63 characters"
        if not _LABEL.match(ascii_label.decode("ascii").lower()):
            return f"the domain part {shown(label)} is not letters, digits and inner hyphens"
        total += len(ascii_label)
    if total > 253:
        return f"the domain is {total:,} characters long; at most 253"
    if labels[-1].isdigit():
        return "the domain ends in a number"
    return None


# ----- the list ---------------------------------------------------------------------------------
