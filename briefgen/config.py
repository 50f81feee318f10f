"""Turn a project's ``briefgen.toml`` into default values for the command-line flags.

The file is looked for in the working folder (or given with ``--config``). Its
``[build]`` table sets the defaults of ``briefgen build``; flags given on the
command line override it. Paths are relative to the file's folder::

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
PATH_KEYS = {"out", "reference_docx", "theme"}
PATH_LIST_KEYS = {"templates", "content"}
LIST_KEYS = {"audience", "focus"}
ALLOWED = {
    "content", "out", "templates", "formats", "audience", "focus", "region", "length",
    "pdf_variant", "page_size", "reference_docx", "docx_refresh", "strict", "theme",
}  # fmt: skip


def find(explicit: Path | None) -> Path | None:
    """The configuration file to use: ``--config``, else ./briefgen.toml if present."""
    if explicit is not None:
        return explicit
    candidate = Path.cwd() / FILENAME
    return candidate if candidate.is_file() else None


def read_toml(path: Path, label: str = "") -> dict[str, Any]:
    """Parse a TOML file; a read or syntax error is a usage error naming the file (and the flag)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{label}{path}: cannot read ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{label}{path}: {exc}") from None


def load(path: Path) -> dict[str, dict[str, Any]]:
    """Read ``path`` into Click's ``default_map`` shape: {command: {param: value}}."""
    data = read_toml(path)
    unknown_tables = sorted(set(data) - {"build"})
    if unknown_tables:
        raise UsageError(f"{path}: unknown table [{unknown_tables[0]}]; briefgen.toml has [build]")
    build = data.get("build", {})
    if not isinstance(build, dict):
        raise UsageError(f"{path}: 'build' must be a table")
    base = path.resolve().parent
    defaults: dict[str, Any] = {}
    for key, value in build.items():
        name = key.replace("-", "_")
        if name not in ALLOWED:
            raise UsageError(f"{path}: [build] {key}: unknown setting; known: {', '.join(sorted(ALLOWED))}")
        if name in PATH_KEYS:
            value = str(base / str(value))
        elif name in PATH_LIST_KEYS:
            value = [str(base / str(v)) for v in _as_list(value)]
        elif name in LIST_KEYS:
            value = _as_list(value)
        elif name == "formats":
            value = ",".join(str(v) for v in _as_list(value))
        target = {"audience": "audiences", "formats": "formats"}.get(name, name)
        defaults[target] = value
    return {"build": defaults}


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]
