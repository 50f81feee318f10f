"""Turn requests on standard input into LibreOffice's page numbers: the UNO client that
:mod:`briefgen.writers.docx.libreoffice` runs with a Python that has LibreOffice's ``uno`` module
(Debian's ``python3-uno``, usually not the interpreter briefgen runs in).

Run as ``python3 -I unohelper.py SOFFICE PROFILE_DIR PIPE_NAME``. It starts one headless
LibreOffice (its own profile folder, listening only on the named pipe, a socket that only this
user may connect to), in the process group its parent made for it, and answers one JSON object
per line:

* ``{"op": "pages", "path": P, "bookmarks": [BOOKMARK, ...], "keep": K}``: load the .docx at
  ``P`` (no macros, no links updated) as it is, and answer ``{"ok": true, "pages": {BOOKMARK:
  PAGE}, "count": PAGES, "token": T}``: the page LibreOffice's layout puts each bookmark on, and
  the page count. With ``keep`` the document stays open as ``token``;
* ``{"op": "count", "token": T, "replace": [[OLD, NEW], ...], "bookmark": B}``: in the kept
  document, replace each ``OLD`` by ``NEW`` (keeping each run's formatting), answer the page
  count and bookmark ``B``'s page (``{"ok": true, "count": N, "page": P}``), then put the old
  text back;
* ``{"op": "pdf", "path": P, "out": O}``: load the .docx at ``P`` as for ``pages`` and export
  LibreOffice's PDF of it to ``O`` (the preview's Word tab), answering ``{"ok": true}``;
* ``{"op": "close", "token": T}`` and ``{"op": "quit"}``.

A failure is ``{"ok": false, "error": "..."}``. When standard input closes (briefgen ended,
however) the whole process group is killed. Python's standard library and ``uno`` only: this
file is not imported by briefgen.
"""

import contextlib
import ctypes
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

START_S = 90.0
KEEP = 8  # documents kept open for "count"; the oldest is closed beyond that
RESTART_CODE = 81  # soffice.bin asks to be started again after it made a new profile


def _die_with_parent():
    """In the child, before exec: SIGKILL when the helper dies (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)


def _kill_group():
    with contextlib.suppress(OSError):
        os.killpg(os.getpgrp(), signal.SIGKILL)
    os._exit(1)


def _start(program, profile, pipe):
    import uno

    command = [
        program,
        "-env:UserInstallation=" + uno.systemPathToFileUrl(profile),
        "--headless",
        "--invisible",
        "--nologo",
        "--norestore",
        "--nodefault",
        "--nolockcheck",
        "--nofirststartwizard",
        f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext",
    ]
    env = dict(os.environ, SAL_USE_VCLPLUGIN="svp")
    return subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=profile,
        env=env,
        preexec_fn=_die_with_parent,
    )


def _connect(program, profile, pipe):
    import uno
    from com.sun.star.connection import NoConnectException

    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    process = _start(program, profile, pipe)
    ends = time.monotonic() + START_S
    while time.monotonic() < ends:
        try:
            context = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
            return process, context.ServiceManager.createInstanceWithContext(
                "com.sun.star.frame.Desktop", context
            )
        except NoConnectException:
            code = process.poll()
            if code == RESTART_CODE:
                process = _start(program, profile, pipe)
            elif code is not None:
                raise RuntimeError(f"LibreOffice ended at start (exit code {code})") from None
            time.sleep(0.05)
    raise RuntimeError(f"LibreOffice did not answer within {START_S:g} s")


def _property(name, value):
    from com.sun.star.beans import PropertyValue

    prop = PropertyValue()
    prop.Name, prop.Value = name, value
    return prop


class Helper:
    def __init__(self, desktop):
        self.desktop = desktop
        self.kept = {}
        self.next_token = 0

    def load(self, path):
        import uno

        properties = (
            _property("Hidden", True),
            _property("ReadOnly", True),
            _property("FilterName", "MS Word 2007 XML"),
            _property("MacroExecutionMode", 0),  # NEVER_EXECUTE
            _property("UpdateDocMode", 0),  # NO_UPDATE: no links followed
        )
        document = self.desktop.loadComponentFromURL(uno.systemPathToFileUrl(path), "_blank", 0, properties)
        if document is None:
            raise RuntimeError("LibreOffice could not open the document")
        return document

    @staticmethod
    def page_count(document):
        return document.getCurrentController().getPropertyValue("PageCount")

    def pages(self, request):
        document = self.load(request["path"])
        try:
            document.lockControllers()  # no view to repaint while the cursor goes from heading to heading
            marks = document.getBookmarks()
            cursor = document.getCurrentController().getViewCursor()
            found = {}
            for bookmark in request["bookmarks"]:
                if marks.hasByName(bookmark):
                    cursor.gotoRange(marks.getByName(bookmark).getAnchor(), False)
                    found[bookmark] = cursor.getPage()
            answer = {"ok": True, "pages": found, "count": self.page_count(document), "token": None}
            document.unlockControllers()
            if request.get("keep"):
                self.next_token += 1
                self.kept[self.next_token] = document
                answer["token"], document = self.next_token, None
                while len(self.kept) > KEEP:
                    self.kept.pop(next(iter(self.kept))).close(True)
            return answer
        finally:
            if document is not None:
                document.close(True)

    def count(self, request):
        document = self.kept[request["token"]]
        changed = []
        try:
            for old, new in request["replace"]:
                search = document.createSearchDescriptor()
                search.setSearchString(old)
                search.SearchCaseSensitive = True
                found = document.findAll(search)
                for number in range(found.getCount()):
                    place = found.getByIndex(number)
                    place.setString(new)
                    changed.append((place, old))
            answer = {"ok": True, "count": self.page_count(document), "page": None}
            marks = document.getBookmarks()
            if request.get("bookmark") and marks.hasByName(request["bookmark"]):
                cursor = document.getCurrentController().getViewCursor()
                cursor.gotoRange(marks.getByName(request["bookmark"]).getAnchor(), False)
                answer["page"] = cursor.getPage()
            return answer
        finally:
            for place, old in reversed(changed):
                place.setString(old)

    def pdf(self, request):
        import uno

        document = self.load(request["path"])
        try:
            export = (_property("FilterName", "writer_pdf_Export"),)
            document.storeToURL(uno.systemPathToFileUrl(request["out"]), export)
            return {"ok": True}
        finally:
            document.close(True)

    def close(self, request):
        document = self.kept.pop(request["token"], None)
        if document is not None:
            document.close(True)
        return {"ok": True}


def _reader(lines):
    """Standard input, line by line; its end (briefgen is gone) ends everything at once."""
    for line in sys.stdin:
        lines.put(line)
    _kill_group()


def main():
    program, profile, pipe = sys.argv[1:4]
    os.makedirs(profile, mode=0o700, exist_ok=True)
    try:
        process, desktop = _connect(program, profile, pipe)
    except Exception as exc:
        print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}), flush=True)
        _kill_group()
    lines = queue.Queue()
    threading.Thread(target=_reader, args=(lines,), daemon=True).start()
    helper = Helper(desktop)
    print(json.dumps({"ok": True, "ready": True}), flush=True)
    while True:
        request = json.loads(lines.get())
        op = request.get("op")
        if op == "quit":
            with contextlib.suppress(Exception):
                for document in helper.kept.values():
                    document.close(True)
                desktop.terminate()
                process.wait(10)
            print(json.dumps({"ok": True}), flush=True)
            return
        try:
            answer = getattr(helper, op)(request) if op in ("pages", "count", "pdf", "close") else None
            if answer is None:
                answer = {"ok": False, "error": f"unknown request {op!r}"}
        except Exception as exc:
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
