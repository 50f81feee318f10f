"""Shared tools of the hostile-input suite: driving the CLI, planting templates, reading outputs.

Not a conftest (fixtures of ``tests/conftest.py`` apply here too): the test modules of this
package import these helpers with ``from .helpers import ...``.
"""

from __future__ import annotations

import contextlib
import http.server
import io
import os
import shutil
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pypdf
from click.testing import CliRunner, Result

from briefgen.cli import main

TESTS = Path(__file__).resolve().parents[1]
MINI = TESTS / "data" / "mini"
SAFE_HREF = ("http://", "https://", "mailto:", "#")
TINY_HEAD = '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Hostile</title>'


def copy_mini(target: Path) -> Path:
    """A private copy of the mini content at ``target``."""
    shutil.copytree(MINI, target)
    return target


# ----- the command line -------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` (following no links) with its size and modification time."""
    found: dict[str, tuple[int, int]] = {}
    for path in root.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        info = path.stat()
        found[str(path.relative_to(root))] = (info.st_size, info.st_mtime_ns)
    return found


@dataclass
class Run:
    """One CLI invocation and what it changed on disk."""

    result: Result
    changed: list[str]

    @property
    def code(self) -> int:
        return self.result.exit_code

    @property
    def stderr(self) -> str:
        return self.result.stderr

    @property
    def stdout(self) -> str:
        return self.result.stdout

    @property
    def warnings(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("warning: ")]


def cli(root: Path, *args: str | Path) -> Run:
    """Run ``briefgen ARGS`` in-process; record which files under ``root`` it created or changed."""
    before = snapshot(root)
    result = CliRunner().invoke(main, [str(a) for a in args])
    after = snapshot(root)
    changed = sorted(name for name, stamp in after.items() if before.get(name) != stamp)
    return Run(result, changed)


def build(root: Path, content: Path, out: Path, formats: str = "html", *extra: str | Path) -> Run:
    """``briefgen build`` of the business audience; fails the test if it wrote outside ``out``."""
    run = cli(
        root,
        "build",
        "--content",
        content,
        "--audience",
        "business",
        "--format",
        formats,
        "--out",
        out,
        *extra,
    )
    prefix = str(out.relative_to(root)) + "/"
    outside = [name for name in run.changed if not name.startswith(prefix)]
    assert outside == [], f"the build wrote outside {out}: {outside}"
    assert "internal error" not in run.result.output, run.result.output
    return run


def assert_content_error(run: Run, *needles: str) -> str:
    """Exit code 1, one ``Error:`` message holding every needle, and no output written."""
    assert run.code == 1, run.result.output
    assert "internal error" not in run.result.output, run.result.output
    message = run.stderr
    for needle in needles:
        assert needle in message, (needle, message)
    assert run.changed == [], run.changed
    return message


# ----- planted files ---------------------------------------------------------------------------


def plant(path: Path, kind: str, secret: Path | None = None) -> Path:
    """Put something that is not a plain file of its own at ``path``: a FIFO, a link to /dev/zero,
    a folder, or a link to ``secret`` (outside)."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "folder":
        path.mkdir()
    else:
        assert secret is not None
        path.symlink_to(secret)
    return path


# ----- user templates ---------------------------------------------------------------------------


def block_template(folder: Path, body: str, block: str = "colophon") -> Path:
    """A business template that extends the built-in one and replaces one block with ``body``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "business.html.j2").write_text(
        f'{{% extends "builtin/business.html.j2" %}}\n{{% block {block} %}}\n{body}\n{{% endblock %}}\n',
        encoding="utf-8",
    )
    return folder


def tiny_template(folder: Path, body: str, head: str = "") -> Path:
    """A business template that is a whole, tiny HTML page (fast to lay out as PDF)."""
    folder.mkdir(parents=True, exist_ok=True)
    page = f"{TINY_HEAD}{head}</head>\n<body>\n<h1>Hostile</h1>\n{body}\n</body></html>\n"
    (folder / "business.html.j2").write_text(page, encoding="utf-8")
    return folder


# ----- reading the outputs ----------------------------------------------------------------------


def pdf_reader(data: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(data))


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in pdf_reader(data).pages)


def pdf_everything(data: bytes) -> bytes:
    """The PDF's bytes plus every stream decoded, so compressed content cannot hide a secret."""
    reader = pdf_reader(data)
    parts = [data]
    for number in range(1, int(reader.trailer["/Size"])):
        try:
            obj = reader.get_object(number)
        except Exception:  # a free entry in the cross-reference table
            continue
        if isinstance(obj, pypdf.generic.StreamObject):
            try:
                parts.append(obj.get_data())
            except Exception:  # a filter pypdf cannot decode: keep the raw bytes
                parts.append(obj._data)
    return b"\n".join(parts)


def embedded_files(data: bytes) -> list[str]:
    """Names of files embedded in the PDF: the /EmbeddedFiles tree and file-attachment annotations."""
    reader = pdf_reader(data)
    found: list[str] = []
    names = reader.trailer["/Root"].get("/Names", {})
    if "/EmbeddedFiles" in names:
        found.append("/EmbeddedFiles")
    if "/AF" in reader.trailer["/Root"]:
        found.append("/AF")
    for page in reader.pages:
        for annot in page.get("/Annots", []) or []:
            if annot.get_object().get("/Subtype") == "/FileAttachment":
                found.append("/FileAttachment")
    if b"/EmbeddedFile" in pdf_everything(data):
        found.append("/EmbeddedFile object")
    return found


def pdf_link_targets(data: bytes) -> list[str]:
    """Every /URI of every link annotation, and whether any JavaScript or launch action exists."""
    targets: list[str] = []
    for page in pdf_reader(data).pages:
        for annot in page.get("/Annots", []) or []:
            action = annot.get_object().get("/A")
            if action is None:
                continue
            action = action.get_object()
            targets.append(str(action.get("/URI", action.get("/S"))))
    return targets


def docx_parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def docx_external_targets(data: bytes) -> list[tuple[str, str]]:
    """(relationship type, target) of every external relationship in the package."""
    from lxml import etree

    found = []
    for name, raw in docx_parts(data).items():
        if not name.endswith(".rels"):
            continue
        for rel in etree.fromstring(raw):
            if rel.get("TargetMode") == "External":
                found.append((rel.get("Type", "").rsplit("/", 1)[-1], rel.get("Target", "")))
    return found


def docx_text(data: bytes) -> str:
    """The text of every paragraph of the body, one per line."""
    import docx

    document = docx.Document(io.BytesIO(data))
    return "\n".join(p.text for p in document.paragraphs)


# ----- a loopback server that counts requests -------------------------------------------------


class _Counting(http.server.BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    do_POST = do_HEAD = do_GET

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class Server:
    url: str
    hits: list[str]


@contextlib.contextmanager
def counting_server() -> Iterator[Server]:
    """An HTTP server on 127.0.0.1 (a free port) that records every request it gets."""
    hits: list[str] = []
    handler = type("Handler", (_Counting,), {"hits": hits})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{httpd.server_port}", hits)
    finally:
        httpd.shutdown()
        httpd.server_close()
