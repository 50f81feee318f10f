"""Turn the template search path into a listing, and built-in templates into editable copies.

``briefgen templates list`` shows each audience template with the file it
comes from (built-in or which user folder), what it extends and the blocks it
defines. ``briefgen templates eject`` copies the editable pieces (templates,
stylesheets, the reference .docx) into a folder with a README, ready to be
used with ``--templates DIR``.

Both treat the folders they are given as untrusted: ``list`` reports a
template that does not parse, and every FIFO, device, broken link or link out
of the folders, on a line of its own (never opening them); ``eject`` writes
each file atomically through :func:`briefgen.output.write_atomic`, so a link
planted in the target folder is replaced, never written through, and a
symbolic link planted as one of its subfolders is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError
from .output import write_atomic
from .paths import builtin_templates
from .render import environment, template_dirs

SHARED = ("base.html.j2", "macros.html.j2")
STYLESHEETS = ("css/brief.css", "css/print.css")
TYPST = ("typst/brief.typ",)
REFERENCE = "reference.docx"
NOT_AUDIENCES = set(SHARED)


@dataclass(frozen=True)
class TemplateInfo:
    """One template file as the search path resolves it."""

    name: str
    origin: str
    path: Path
    extends: str | None
    blocks: tuple[str, ...]
    problem: str | None = None  # why the file cannot be used ("not read: a FIFO", a syntax error)


def origin_of(path: Path, search_path: tuple[Path, ...]) -> str:
    builtin = builtin_templates().resolve()
    if path.resolve().is_relative_to(builtin):
        return "built-in"
    from .loader import display_name

    return display_name(path.parent)


def audience_templates(search_path: tuple[Path, ...]) -> list[str]:
    """Audience template names found anywhere on the search path, sorted."""
    names = {
        p.name
        for folder in search_path
        for p in folder.glob("*.html.j2")
        if p.name not in NOT_AUDIENCES and not p.name.startswith("_")
    }
    return sorted(names)


def describe(name: str, search_path: tuple[Path, ...], reasons: dict[str, str] | None = None) -> TemplateInfo:
    """Resolve ``name`` on the search path as rendering would and read its extends and blocks;
    a template that cannot be loaded or parsed comes back with its ``problem`` (from ``reasons``,
    absolute path to why :func:`briefgen.opener.files` passed it over, when known)."""
    from jinja2 import TemplateNotFound, TemplateSyntaxError, nodes

    env = environment(search_path)
    candidate = next((f / name for f in search_path if os.path.lexists(f / name)), search_path[0] / name)
    try:
        source, filename, _ = env.loader.get_source(env, name)
        tree = env.parse(source, name, filename)
    except TemplateSyntaxError as exc:
        problem = f"does not parse: line {exc.lineno}: {exc.message}"
        return _unusable(name, Path(exc.filename or candidate), search_path, problem)
    except TemplateNotFound as exc:
        reason = (reasons or {}).get(os.path.abspath(candidate))
        reason = reason or str(exc.message or exc).removeprefix(name).strip(" ()") or "not found"
        return _unusable(name, candidate, search_path, f"not read: {reason}")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        return _unusable(name, candidate, search_path, f"not read: {reason}")
    extends = next(iter(tree.find_all(nodes.Extends)), None)
    parent = (
        extends.template.value if extends is not None and isinstance(extends.template, nodes.Const) else None
    )
    blocks = tuple(dict.fromkeys(block.name for block in tree.find_all(nodes.Block)))
    path = Path(filename)
    return TemplateInfo(name, origin_of(path, search_path), path, parent, blocks)


def _unusable(name: str, path: Path, search_path: tuple[Path, ...], problem: str) -> TemplateInfo:
    return TemplateInfo(name, origin_of(path, search_path), path, None, (), " ".join(problem.split()))


def listing(templates: tuple[Path, ...]) -> list[TemplateInfo]:
    """Every audience template and the shared ones, as the search path resolves them, then every
    entry of the user folders that no brief can use (a FIFO, a device, a broken link, a link out),
    each with its ``problem``; such entries are never opened."""
    from . import opener
    from .loader import display_name

    search_path = template_dirs(templates)
    skipped = {
        os.path.abspath(path): (folder, path, reason)
        for folder in search_path[:-1]
        for path, reason in opener.files(folder, within=search_path)
        if reason is not None and reason != "a folder"
    }
    reasons = {key: reason for key, (_, _, reason) in skipped.items()}
    names = [*audience_templates(search_path), *SHARED]
    infos = [describe(name, search_path, reasons) for name in names]
    reported = {os.path.abspath(info.path) for info in infos if info.problem}
    for key, (folder, path, reason) in skipped.items():
        if key not in reported:
            name = path.relative_to(folder).as_posix()
            infos.append(TemplateInfo(name, display_name(folder), path, None, (), f"not read: {reason}"))
    return infos


README = """# Your briefgen templates

Made by `briefgen templates eject`. Use them with

    briefgen build --templates {folder}

(or `templates = ["{folder}"]` under `[build]` in briefgen.toml). Files here are
searched before the built-in ones; a file you delete falls back to the built-in.

What to edit:

- `{audiences}`: the audience template(s). Each extends
  `base.html.j2` and overrides blocks; to change one part, override just that
  block, e.g. `{{% block recommendation %}}...{{% endblock %}}`. To extend the
  built-in version of a file you replace, write `{{% extends "builtin/NAME" %}}`.
- `base.html.j2`: the skeleton and every block (the list is at its top):
  cover, toc, introduction, key_figures, lead, lead_section, recommendations,
  recommendation, strategy, context, closing, colophon; `body` sets their order.
- `macros.html.j2`: the cover's "Prepared for" line, figure callouts, lead sections.
- `css/brief.css`: colours, fonts and spacing (change the variables at the top,
  e.g. `--brand` for the cover colour); `css/print.css`: the PDF page design
  of the WeasyPrint engine.
- `typst/brief.typ`: the PDF page design of the Typst engine (the default): one
  style per class and per element, the cover, contents and running heads. It may
  read only files in this folder and import no package. Edit the CSS and not
  this file, and PDFs are made with WeasyPrint (`--pdf-engine` decides).
- `reference.docx`: the Word styles, page set-up, headers and footers; edit it
  in Word or LibreOffice (keep the style names).
- `themes/*.toml`: organisation, logo, colours, fonts, page size and footer in
  one file, applied to PDF, HTML and Word alike with `--theme FILE`.

Templates run in a sandbox: they can read only files in the template folders,
and a template that runs too long or writes too much stops with an error.
The HTML they must produce is described in briefgen's docs/html-intermediate.md.
"""


def eject(audience: str, to: Path, *, force: bool = False) -> list[Path]:
    """Copy the editable templates for ``audience`` (or ``all``) into ``to``; return the files written."""
    builtin = builtin_templates()
    available = audience_templates((builtin,))
    if audience == "all":
        chosen = available
    elif f"{audience}.html.j2" in available:
        chosen = [f"{audience}.html.j2"]
    else:
        names = ", ".join(["all", *(n.removesuffix(".html.j2") for n in available)])
        raise UsageError(f"AUDIENCE: no built-in template for {audience!r}; choose from: {names}")
    themes = sorted(p.relative_to(builtin).as_posix() for p in (builtin / "themes").iterdir() if p.is_file())
    files = [*chosen, *SHARED, *STYLESHEETS, *TYPST, REFERENCE, *themes]
    existing = [name for name in files if os.path.lexists(to / name)]  # a planted link counts
    if existing and not force:
        raise UsageError(f"--to: {to / existing[0]} already exists (use --force to overwrite)")
    written = []
    for name in files:
        target = to / name
        write_atomic(target, (builtin / name).read_bytes(), root=to)  # replaces a link, never follows one
        written.append(target)
    readme = to / "README.md"
    if force or not os.path.lexists(readme):
        text = README.format(folder=to, audiences=", ".join(chosen))
        write_atomic(readme, text.encode("utf-8"), root=to)
        written.append(readme)
    return written
