"""Turn a project's ``briefgen.toml`` into default values for the command-line flags.

The file is looked for in the working folder (or given with ``--config``). Its
``[build]`` table sets the defaults of ``briefgen build``; flags given on the
command line override it. ``[batch]`` does the same for ``briefgen batch``
(``name``, ``jobs``, ``zip``, ``eml``, ``from`` and the shared keys), and
``[send]`` sets the SMTP settings of ``briefgen send`` and ``briefgen batch --send``
(never the password), and ``[limits]`` changes the limits of :mod:`briefgen.limits`. Paths are relative
to the file's folder::

    [build]
    content = ["content"]          # files or folders, merged in order
    templates = ["my-templates"]   # searched before the built-in templates
    formats = ["pdf", "docx"]
    out = "briefs"
    audience = ["business"]
    length = "full"
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .errors import UsageError

FILENAME = "briefgen.toml"
PATH_KEYS = {"out", "reference_docx", "theme", "smtp_ca"}
PATH_LIST_KEYS = {"templates", "content"}
LIST_KEYS = {"audience", "focus"}
ALLOWED = {
    "content", "out", "templates", "formats", "audience", "focus", "region", "length",
    "pdf_variant", "page_size", "reference_docx", "docx_refresh", "docx_pages", "embed_fonts", "strict",
    "theme", "pdf_engine",
}  # fmt: skip
BATCH_ALLOWED = {
    "content", "out", "templates", "formats", "name", "length", "jobs", "pdf_variant", "page_size",
    "reference_docx", "docx_pages", "embed_fonts", "strict", "theme", "zip", "eml", "from",
    "scheduler",
    "pdf_engine",
}  # fmt: skip
#: ``[send]``: how to reach the SMTP server, for ``briefgen send`` and ``briefgen batch --send``.
#: The parameters of ``flags.SMTP`` are named after these keys.
SMTP_NAMES = (
    "smtp_host", "smtp_port", "smtp_security", "smtp_user", "smtp_ca", "smtp_timeout", "rate",
    "max_message_mb", "retries", "retry_wait",
)  # fmt: skip
SMTP_ALLOWED = set(SMTP_NAMES)
SEND_ALLOWED = SMTP_ALLOWED | {"from", "templates"}
RENAMED = {"audience": "audiences", "name": "name_pattern", "zip": "make_zip", "from": "sender"}


def find(explicit: Path | None) -> Path | None:
    """The configuration file to use: ``--config``, else ./briefgen.toml if present."""
    if explicit is not None:
        return explicit
    candidate = Path.cwd() / FILENAME
    return candidate if candidate.is_file() else None


#: Largest settings or theme file read (they are a few hundred bytes).
MAX_TOML_BYTES = 1024 * 1024


def read_toml(path: Path, label: str = "") -> dict[str, Any]:
    """Parse a TOML file; a read or syntax error is a usage error naming the file (and the flag).

    The file is read through :mod:`briefgen.opener`: a FIFO, a device or a
    file over 1 MB is refused at once.
    """
    from . import opener

    text = opener.read_text(path, MAX_TOML_BYTES, label.rstrip(": "))
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{label}{path}: {exc}") from None


def load(path: Path) -> dict[str, dict[str, Any]]:
    """Read ``path`` into Click's ``default_map`` shape: {command: {param: value}}.

    A ``[limits]`` table is applied to :mod:`briefgen.limits` on the way.
    """
    from . import limits

    data = read_toml(path)
    unknown_tables = sorted(set(data) - {"build", "batch", "send", "limits"})
    if unknown_tables:
        raise UsageError(
            f"{path}: unknown table [{unknown_tables[0]}]; "
            "briefgen.toml has [build], [batch], [send] and [limits]"
        )
    for table in data:
        if not isinstance(data[table], dict):
            raise UsageError(f"{path}: '{table}' must be a table")
    limits.configure(data.get("limits", {}), source=f"{path}: [limits]")
    base = path.resolve().parent
    send = data.get("send", {})
    if any(key.replace("-", "_") in ("password", "smtp_password") for key in send):
        raise UsageError(
            f"{path}: [send] password: never read from a file; "
            "set BRIEFGEN_SMTP_PASSWORD or answer the prompt"
        )
    send_defaults = _defaults(path, "send", send, SEND_ALLOWED, base)
    smtp_only = {key: value for key, value in send_defaults.items() if key in SMTP_ALLOWED | {"sender"}}
    return {
        "build": _defaults(path, "build", data.get("build", {}), ALLOWED, base),
        "batch": {**smtp_only, **_defaults(path, "batch", data.get("batch", {}), BATCH_ALLOWED, base)},
        "send": send_defaults,
    }


def _defaults(
    path: Path, table: str, values: dict[str, Any], allowed: set[str], base: Path
) -> dict[str, Any]:
    """One table's settings as Click parameter defaults (paths made absolute, lists joined)."""
    defaults: dict[str, Any] = {}
    for key, value in values.items():
        name = key.replace("-", "_")
        if name not in allowed:
            known = ", ".join(sorted(allowed))
            raise UsageError(f"{path}: [{table}] {key}: unknown setting; known: {known}")
        if name in PATH_KEYS:
            value = str(base / str(value))
        elif name in PATH_LIST_KEYS:
            value = [str(base / str(v)) for v in _as_list(value)]
        elif name in LIST_KEYS:
            value = _as_list(value)
        elif name == "formats":
            value = ",".join(str(v) for v in _as_list(value))
        defaults[RENAMED.get(name, name)] = value
    return defaults


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]
