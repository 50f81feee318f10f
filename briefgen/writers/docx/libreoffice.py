"""Turn a Word brief into LibreOffice's page numbers for its contents page, through one headless
LibreOffice kept running for a whole build or batch worker.

LibreOffice's Python bridge (``uno``, Debian's ``python3-uno``) belongs to the system Python,
not to briefgen's environment, so briefgen runs a small UNO client (:mod:`.unohelper`) with
that Python as a child process and speaks to it one JSON line at a time over its standard input
and output. The client starts LibreOffice (``soffice.bin``, headless, its own profile folder in
a private temporary folder, listening only on a named pipe that only this user may open); both
live in a process group of their own, which briefgen kills at the end of the build or worker
(:func:`session`), at exit (``atexit``) as a last resort, and which the client kills itself as
soon as its standard input closes (briefgen ended, however). Every answer is awaited at most
:data:`CALL_S` (:data:`START_S` for the start): a LibreOffice that hangs or dies is killed, the
brief falls back to Word filling in its numbers on open, with one warning, and the next brief
starts a new LibreOffice (after :data:`MAX_FAILURES` failures in a row, none is started again).

For each brief, LibreOffice loads the .docx as it is and the client reads the page its layout
puts each heading's bookmark on. The Word writer writes those numbers into its own contents
page, and LibreOffice loads that file afresh to check that every heading is still where its
entry says (a number that wraps a contents line could move them; then it goes round again). The
file stays briefgen's own and byte-reproducible, and laid out exactly as LibreOffice lays it
out when anyone opens it. (LibreOffice can update the contents itself, but its own regenerated
contents lay out differently from the one in the file: a heading at a page's foot moved to the
next page, where LibreOffice's PDF of the file had it on the first.)
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...log import warn
from .office import libreoffice

START_S = 120.0  # the first start makes a profile and restarts once: seconds on a cold machine
CALL_S = 60.0  # one brief's layout
STOP_S = 5.0  # LibreOffice asked to quit, then killed
MAX_FAILURES = 2  # failures in a row after which this process starts no LibreOffice again
HELPER = Path(__file__).with_name("unohelper.py")
INSTALL = "libreoffice-writer-nogui and python3-uno"


class OfficeError(Exception):
    """LibreOffice could not answer (did not start, hung, died or said no)."""


@dataclass(frozen=True)
class Installation:
    """The LibreOffice program to start and a Python that can speak to it."""

    soffice: str
    python: str


_FOUND: dict[str, tuple[Installation | None, str]] = {}


def _has_uno(python: str) -> bool:
    try:
        done = subprocess.run(
            [python, "-I", "-c", "import uno"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def find() -> tuple[Installation | None, str]:
    """LibreOffice and a Python with its ``uno`` module, or None and why not (kept per PATH)."""
    key = os.environ.get("PATH", "")
    if key in _FOUND:
        return _FOUND[key]
    program = libreoffice()
    found: tuple[Installation | None, str]
    if program is None:
        found = None, "LibreOffice is not installed"
    else:
        folder = Path(os.path.realpath(program)).parent
        binary = folder / "soffice.bin"
        soffice = str(binary) if binary.is_file() else program
        candidates = [os.environ.get("BRIEFGEN_UNO_PYTHON"), str(folder / "python"), "/usr/bin/python3"]
        candidates.append(shutil.which("python3"))
        python = next(
            (c for c in dict.fromkeys(candidates) if c and os.access(c, os.X_OK) and _has_uno(c)), None
        )
        if python is None:
            found = None, "LibreOffice is installed but no Python can speak to it (python3-uno is missing)"
        else:
            found = Installation(soffice, python), f"{program}, through {python}"
    _FOUND[key] = found
    return found


@dataclass
class Layout:
    """LibreOffice's layout of one brief: each bookmark's page, the page count, and the token of
    the document when LibreOffice keeps it open for :meth:`Office.count`."""

    pages: dict[str, int]
    count: int
    token: int | None = None
    generation: int = 0


class Office:
    """One UNO client and its LibreOffice, in a process group of their own; started when first used."""

    def __init__(self, installation: Installation) -> None:
        self.installation = installation
        self.process: subprocess.Popen[bytes] | None = None
        self.folder: Path | None = None
        self.buffer = b""
        self.failures = 0
        self.generation = 0  # a token is only good for the LibreOffice that gave it
        self.serial = 0
        self.pipe = ""

    # ----- the process ------------------------------------------------------------------------

    def start(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="briefgen-office-"))
        (self.folder / "work").mkdir()
        self.pipe = pipe = f"briefgen-{secrets.token_hex(12)}"
        self.buffer = b""
        self.generation += 1
        try:
            self.process = subprocess.Popen(
                [
                    self.installation.python,
                    "-I",
                    str(HELPER),
                    self.installation.soffice,
                    str(self.folder / "profile"),
                    pipe,
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                cwd=self.folder,
                start_new_session=True,  # its own process group: killed whole, spared the terminal's Ctrl-C
            )
            ready = self._answer(START_S)
            if not ready.get("ok"):
                raise OfficeError(str(ready.get("error") or "LibreOffice did not start"))
        except BaseException:
            self.abort()
            raise

    def stop(self) -> None:
        """Ask LibreOffice to quit, then kill the whole group and remove the profile folder."""
        process, self.process = self.process, None
        if process is not None:
            try:
                if process.poll() is None and process.stdin is not None:
                    self.process = process
                    with contextlib.suppress(OfficeError, OSError, ValueError):
                        self._send({"op": "quit"})
                        self._answer(STOP_S)
            finally:
                self.process = None
                self._kill(process)
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def abort(self) -> None:
        """Kill the whole group at once (no answer came, or an interrupt) and remove its folder."""
        process, self.process = self.process, None
        if process is not None:
            self._kill(process)
            with contextlib.suppress(OSError):  # the socket a killed LibreOffice could not remove
                os.unlink(f"/tmp/OSL_PIPE_{os.getuid()}_{self.pipe}")
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    @staticmethod
    def _kill(process: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)  # before it is reaped: the group id is still ours
        for stream in (process.stdin, process.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            process.wait(timeout=STOP_S)

    def forget(self) -> None:
        """In a forked child: let go of the parent's LibreOffice without touching it."""
        if self.process is not None:
            for stream in (self.process.stdin, self.process.stdout):
                with contextlib.suppress(OSError):
                    if stream is not None:
                        stream.close()
        self.process, self.folder = None, None

    # ----- the protocol -----------------------------------------------------------------------

    def _send(self, request: dict[str, Any]) -> None:
        assert self.process is not None and self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
        except (OSError, ValueError) as exc:
            raise OfficeError("LibreOffice is gone") from exc

    def _answer(self, seconds: float) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        ends = time.monotonic() + seconds
        stream = self.process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(stream, selectors.EVENT_READ)
            while b"\n" not in self.buffer:
                left = ends - time.monotonic()
                if left <= 0 or not selector.select(left):
                    raise OfficeError(f"LibreOffice did not answer within {seconds:g} s")
                chunk = os.read(stream, 65536)
                if not chunk:
                    raise OfficeError("LibreOffice ended unexpectedly")
                self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        try:
            answer = json.loads(line)
        except ValueError as exc:
            raise OfficeError("LibreOffice's client said something unexpected") from exc
        if not isinstance(answer, dict):
            raise OfficeError("LibreOffice's client said something unexpected")
        return answer

    def call(self, request: dict[str, Any], seconds: float | None = None) -> dict[str, Any]:
        """Send ``request`` and return the answer (``ok`` true or false); LibreOffice is started
        first when needed. Anything else (no answer in time, an interrupt) kills it."""
        try:
            if self.process is None:
                self.start()
            self._send(request)
            answer = self._answer(CALL_S if seconds is None else seconds)
        except BaseException:
            self.abort()
            raise
        return answer

    # ----- what the Word writer asks ----------------------------------------------------------

    def layout(self, docx: bytes, bookmarks: list[str], keep: bool = False) -> Layout:
        """The page LibreOffice's layout of ``docx`` puts each of ``bookmarks`` on, and its page
        count; with ``keep``, LibreOffice keeps the document open (see :meth:`count`)."""
        if self.process is None:
            self.start()
        assert self.folder is not None
        self.serial += 1
        path = self.folder / "work" / f"brief-{self.serial}.docx"
        path.write_bytes(docx)
        try:
            answer = self.call({"op": "pages", "path": str(path), "bookmarks": bookmarks, "keep": keep})
        finally:
            with contextlib.suppress(OSError):
                path.unlink()
        if not answer.get("ok"):
            raise OfficeError(str(answer.get("error") or "LibreOffice could not lay the brief out"))
        pages = answer.get("pages")
        if not isinstance(pages, dict) or not all(isinstance(v, int) for v in pages.values()):
            raise OfficeError("LibreOffice's client said something unexpected")
        token = answer.get("token")
        count = answer.get("count")
        return Layout(
            pages,
            count if isinstance(count, int) else 0,
            token if isinstance(token, int) else None,
            self.generation,
        )

    def count(self, layout: Layout, replace: list[tuple[str, str]], bookmark: str) -> tuple[int, int] | None:
        """In the kept document of ``layout``, with each ``(old, new)`` replaced: the page count and
        the page of ``bookmark``; None when that cannot be known (the document is gone)."""
        if not self.holds(layout):
            return None
        try:
            answer = self.call(
                {"op": "count", "token": layout.token, "replace": replace, "bookmark": bookmark}
            )
        except OfficeError:
            return None
        count, page = answer.get("count"), answer.get("page")
        if not answer.get("ok") or not isinstance(count, int) or not isinstance(page, int):
            return None
        return count, page

    def pdf(self, docx: bytes) -> bytes:
        """LibreOffice's PDF of ``docx``: its pages as LibreOffice lays them out."""
        if self.process is None:
            self.start()
        assert self.folder is not None
        self.serial += 1
        path = self.folder / "work" / f"brief-{self.serial}.docx"
        out = path.with_suffix(".pdf")
        path.write_bytes(docx)
        try:
            answer = self.call({"op": "pdf", "path": str(path), "out": str(out)})
            if not answer.get("ok"):
                raise OfficeError(str(answer.get("error") or "LibreOffice could not export the brief"))
            return out.read_bytes()
        finally:
            for made in (path, out):
                with contextlib.suppress(OSError):
                    made.unlink()

    def holds(self, layout: Layout) -> bool:
        """Whether the document ``layout`` kept is still open in this LibreOffice."""
        return layout.token is not None and self.process is not None and layout.generation == self.generation

    def release(self, layout: Layout) -> None:
        """Close the document ``layout`` kept open."""
        if self.holds(layout):
            with contextlib.suppress(OfficeError):
                self.call({"op": "close", "token": layout.token})
        layout.token = None


# ----- one per process ------------------------------------------------------------------------

_OFFICE: Office | None = None
_OWNER = 0
_DEPTH = 0
_BROKEN = False


def office() -> Office | None:
    """This process's LibreOffice (not started until used), or None when there is none to use."""
    global _OFFICE, _OWNER
    if _BROKEN:
        return None
    if _OFFICE is not None and os.getpid() != _OWNER:  # a forked child: the parent's, not ours
        _OFFICE.forget()
        _OFFICE = None
    if _OFFICE is None:
        installation, _why = find()
        if installation is None:
            return None
        _OFFICE, _OWNER = Office(installation), os.getpid()
    return _OFFICE


def lay_out(docx: bytes, bookmarks: list[str], keep: bool = False) -> Layout | None:
    """LibreOffice's layout of ``docx`` (see :meth:`Office.layout`); None, with one warning, when
    LibreOffice could not lay it out."""
    global _BROKEN
    found = office()
    if found is None:
        return None
    try:
        layout = found.layout(docx, bookmarks, keep)
    except OfficeError as exc:
        found.failures += 1
        _BROKEN = found.failures >= MAX_FAILURES
        warn(
            "Word contents: LibreOffice could not lay the brief out (%s); Word fills in the page numbers "
            "when the brief is opened",
            exc,
        )
        return None
    found.failures = 0
    return layout


def pdf_of(docx: bytes) -> bytes | None:
    """LibreOffice's PDF of ``docx`` from this process's LibreOffice; None when there is none or
    it could not (with one warning)."""
    found = office()
    if found is None:
        return None
    try:
        return found.pdf(docx)
    except OfficeError as exc:
        warn("LibreOffice could not make a PDF of the Word brief (%s)", exc)
        return None


def release(layout: Layout) -> None:
    """Close the document ``layout`` kept open, if LibreOffice still has it."""
    if layout.token is not None and _OFFICE is not None and os.getpid() == _OWNER:
        _OFFICE.release(layout)


def shut_down() -> None:
    """Stop this process's LibreOffice, if it started one."""
    global _OFFICE
    if _OFFICE is not None and os.getpid() == _OWNER:
        office_, _OFFICE = _OFFICE, None
        office_.stop()


@contextlib.contextmanager
def session() -> Iterator[None]:
    """Keep one LibreOffice for the block (a build, a batch worker's life): started when the first
    Word brief needs it, stopped when the outermost block ends, however it ends."""
    global _DEPTH, _BROKEN
    _DEPTH += 1
    try:
        yield
    finally:
        _DEPTH -= 1
        if _DEPTH == 0:
            shut_down()
            _BROKEN = False  # the next build or worker tries again


atexit.register(shut_down)
