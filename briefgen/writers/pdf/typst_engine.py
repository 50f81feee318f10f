"""Turn a rendered brief into tagged PDF bytes with Typst: markup, template, compile.

The brief's HTML intermediate form becomes Typst markup (:mod:`.typst_markup`) that imports the
print template ``typst/brief.typ`` from the template folders. Text is set in the shipped fonts
only (``templates/fonts``: no system fonts, not even Typst's own), the PDF is always tagged, and
``--pdf-variant`` maps to Typst's PDF standards (``pdf/ua-1`` -> ``ua-1``, ``pdf/a-3b`` -> ``a-3b``);
every brief also claims PDF/UA-1 when Typst's checks pass.

The shipped template is compiled in this process (a cached compiler; text reaches it only as
data). A template a user brings is compiled in a child process (:mod:`.typst_child`) with a time
and memory limit, in a staging folder holding a copy of its folder's regular files only (so it can
read nothing else), with package imports refused before compiling and no way to download one.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ... import opener, resources
from ...clock import moment
from ...errors import UsageError
from ...log import warn
from ...paths import builtin_templates
from ...render import template_dirs
from . import streamends
from .typst_markup import convert

if TYPE_CHECKING:
    from ...render import Rendered
    from ..base import WriteOptions

#: The print template, looked up in the template folders like every template.
TEMPLATE = "typst/brief.typ"
PAGE_SIZES = ("a4", "letter")
STANDARDS = {"pdf/ua-1": "ua-1", "pdf/a-3b": "a-3b"}
#: A package import or include in a Typst file: a string that starts with "@".
PACKAGE = re.compile(r"""["']\s*@""")
#: What a staged template folder may hold: files, their size and count.
MAX_STAGED_FILES = 200
MAX_STAGED_BYTES = 20 * 1024 * 1024


def check(options: WriteOptions) -> None:
    """Refuse a page size or PDF variant this engine does not know."""
    if options.page_size not in PAGE_SIZES:
        raise UsageError(f"--page-size: choose from {', '.join(PAGE_SIZES)}")
    if options.pdf_variant is not None and options.pdf_variant not in STANDARDS:
        raise UsageError(f"--pdf-variant: choose from {', '.join(STANDARDS)}")


def fonts_folder() -> Path:
    """The shipped fonts, the only ones a Typst brief is set in."""
    return builtin_templates() / "fonts"


#: Private copies of template-folder fonts that passed the checks, one folder per set (Typst reads
#: fonts from folders; the copies are what was checked, not what the folder holds later).
_FONT_COPIES: dict[tuple[bytes, ...], Any] = {}


def _font_folder(extra_fonts: tuple[bytes, ...]) -> str:
    if extra_fonts not in _FONT_COPIES:
        copy = tempfile.TemporaryDirectory(prefix="briefgen-fonts-")
        for number, data in enumerate(extra_fonts):
            (Path(copy.name) / f"font-{number}.ttf").write_bytes(data)
        _FONT_COPIES[extra_fonts] = copy
    return str(_FONT_COPIES[extra_fonts].name)


@functools.lru_cache(maxsize=4)
def compiler(extra_fonts: tuple[bytes, ...] = ()) -> Any:
    """One compiler of the shipped template per process (and set of template-folder fonts): fonts
    are read once, and Typst's memo cache keeps what the template computes between briefs."""
    import typst

    fonts = typst.Fonts(
        include_system_fonts=False,
        include_embedded_fonts=False,
        font_paths=[str(fonts_folder()), *([_font_folder(extra_fonts)] if extra_fonts else [])],
    )
    return typst.Compiler(root=str(builtin_templates() / "typst"), font_paths=fonts, ignore_system_fonts=True)


@functools.lru_cache(maxsize=16)
def folder_fonts(search_path: tuple[Path, ...]) -> tuple[bytes, ...]:
    """The fonts in the ``fonts/`` folders of the user template folders, read through the opener as
    the WeasyPrint engine reads them: a link out, FIFO or device is never opened, a broken font is a
    warning and not used."""
    import io
    import struct

    from fontTools.ttLib import TTFont, TTLibError

    builtin = builtin_templates().resolve()
    found: list[bytes] = []
    for folder in search_path:
        if folder.resolve() == builtin or not (folder / "fonts").is_dir():
            continue
        for path in sorted((folder / "fonts").glob("*.[ot]tf")):
            try:
                data = opener.read(path, resources.MAX_RESOURCE_BYTES, "font", search_path)
                with TTFont(io.BytesIO(data), lazy=True) as font:
                    font.getBestCmap()
            except opener.InputRefused as exc:
                warn("%s; not read", exc.message)
                continue
            except (TTLibError, OSError, ValueError, KeyError, AssertionError, struct.error) as exc:
                warn("font %s cannot be read (%s); not used", path, exc)
                continue
            found.append(data)
    return tuple(found)


def template_for(search_path: tuple[Path, ...]) -> Path:
    """The print template the folders give (a user folder's before the built-in one)."""
    found = resources.find(search_path, TEMPLATE, "Typst template")
    if found is None:
        raise UsageError(f"no {TEMPLATE} in the template folders")
    return found


def timestamp(epoch: int | None) -> int:
    return int(moment(epoch).timestamp())


def write(document: Rendered, options: WriteOptions) -> bytes:
    """Compile ``document`` with the Typst template and return tagged PDF bytes."""
    check(options)
    search_path = template_dirs(options.templates)
    template = template_for(search_path)
    source = convert(document.html, search_path, options.theme, options.page_size, "brief.typ")
    asked = [STANDARDS[options.pdf_variant]] if options.pdf_variant else []
    extra = folder_fonts(search_path)
    stamp = timestamp(options.source_date_epoch)
    shipped = template.parent.resolve() == (builtin_templates() / "typst").resolve()

    def compiled(standards: list[str]) -> bytes:
        if shipped:
            pdf = _compile_here(source, standards, stamp, extra)
        else:
            pdf = compile_apart(template.parent, source, standards, stamp)
        return streamends.mended(pdf) if "a-3b" in standards else pdf

    if "ua-1" in asked:
        return compiled(asked)
    # Every brief claims PDF/UA-1 when Typst's own checks pass (they do for the shipped templates
    # and any content they render); a user's template that breaks a rule gets the tagged PDF it
    # asked for without the claim, and one warning saying why.
    try:
        return compiled([*asked, "ua-1"])
    except UsageError as refused:
        if "PDF/UA" not in str(refused):  # any other error is the brief's, with or without the claim
            raise
        pdf = compiled(asked)
        warn("%s; written without the PDF/UA-1 claim", refused)
        return pdf


#: The process whose compiles started Typst's thread pool. A process forked from it (a batch
#: worker of a parent that compiled) inherits the pool's bookkeeping but not its threads, so a
#: compile there would wait forever: it compiles in a fresh child process instead.
_POOL_OWNER: int | None = None


def _compile_here(source: str, standards: list[str], stamp: int, extra: tuple[bytes, ...] = ()) -> bytes:
    import typst

    global _POOL_OWNER
    if _POOL_OWNER is not None and os.getpid() != _POOL_OWNER:
        return compile_apart(builtin_templates() / "typst", source, standards, stamp)
    _POOL_OWNER = os.getpid()

    try:
        pdf, warnings = compiler(extra).compile_with_warnings(
            input=source.encode("utf-8"), pdf_standards=standards, timestamp=stamp, pdf_tags=True
        )
    except typst.TypstError as exc:
        raise UsageError(f"pdf (typst): {_described(exc)}") from None
    for warning in warnings:
        _report(getattr(warning, "message", str(warning)))
    return bytes(pdf)


def _described(exc: Any) -> str:
    """A Typst error on one line: its message and where it happened."""
    message = " ".join(str(getattr(exc, "message", exc)).split())
    where = " ".join(str(getattr(exc, "diagnostic", "")).split())[:300]
    return f"{message} ({where})" if where and where not in message else message


_REPORTED: set[str] = set()


def _report(message: str) -> None:
    """A Typst warning, once per process (a glyph no shipped font has, an unknown font...)."""
    text = " ".join(message.split())
    if text not in _REPORTED:
        _REPORTED.add(text)
        warn("pdf (typst): %s", text)


# ----- a template a user brings -----------------------------------------------------------------


def stage(folder: Path, into: Path) -> None:
    """Copy ``folder``'s regular files (one level of subfolders) into ``into``, refusing package
    imports: what the template may read is exactly this copy."""
    count = total = 0
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if len(relative.parts) > 2 or (os.path.isdir(path) and not os.path.islink(path)):
            continue
        if not opener.is_plain_file(path, (folder,)):
            warn("template file %s is not a regular file inside %s; not read", path, folder)
            continue
        count += 1
        data = opener.read(path, MAX_STAGED_BYTES, "template file", (folder,))
        total += len(data)
        if count > MAX_STAGED_FILES or total > MAX_STAGED_BYTES:
            raise UsageError(
                f"{folder}: a Typst template folder holds at most {MAX_STAGED_FILES} files, 20 MB in all"
            )
        if path.suffix == ".typ":
            refuse_packages(path, data.decode("utf-8", "replace"))
        target = into / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def refuse_packages(path: Path, text: str) -> None:
    """A usage error naming the file and line of a package import (``#import "@preview/..."``)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if PACKAGE.search(line):
            raise UsageError(
                f"{path}:{number}: Typst package imports are refused (briefs never use the network)"
            )


def compile_apart(folder: Path, source: str, standards: list[str], stamp: int) -> bytes:
    """Compile with a user template in a child process, bounded in time and memory."""
    import json

    from ...limits import current

    limits = current()
    with tempfile.TemporaryDirectory(prefix="briefgen-typst-") as scratch:
        root = Path(scratch) / "template"
        root.mkdir()
        stage(folder, root)
        (root / "brief-main.typ").write_text(source, encoding="utf-8")
        job = {
            "root": str(root),
            "main": "brief-main.typ",
            "fonts": str(fonts_folder()),
            "standards": standards,
            "timestamp": stamp,
            "packages": str(Path(scratch) / "no-packages"),
            "memory_mb": limits.memory_mb,
        }
        try:
            done = subprocess.run(
                [sys.executable, "-m", "briefgen.writers.pdf.typst_child"],
                input=json.dumps(job).encode(),
                capture_output=True,
                timeout=limits.template_seconds,
                check=False,
            )
        except subprocess.TimeoutExpired:
            seconds = f"{limits.template_seconds:g}"
            raise UsageError(
                f"{folder / 'brief.typ'}: the Typst template took longer than {seconds} s; stopped"
            ) from None
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(f"{folder / 'brief.typ'}: {reason[-1] if reason else 'the Typst compile failed'}")
    return done.stdout
