"""Word briefs whose contents page LibreOffice numbered: opened finished, as LibreOffice lays them out.

With LibreOffice installed, every Word brief (both shipped audiences, a summary, a themed brief and
a batch's) carries a page number on every contents entry, each heading is on the page its entry
says when LibreOffice lays the file out on its own (its PDF's outline), and nothing in the file asks
Word to refresh (no ``w:updateFields``, no ``w:dirty``). The LibreOffice briefgen starts is gone
after a build, a failed build, an interrupted build and a batch. Without LibreOffice, the briefs ask
Word to refresh as before and ``build`` says once what installing it would give;
``--docx-pages libreoffice`` then refuses before any work; ``--docx-pages word`` is the old way.

Needs LibreOffice and python3-uno (``scripts/setup.sh --test``); BRIEFGEN_NO_OFFICE=1 skips.
"""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pypdf
import pytest
from docx import Document
from docx.oxml.ns import qn
from helpers import EPOCH, squeeze

from briefgen.build import BuildRequest, build
from briefgen.paths import builtin_content
from briefgen.writers.docx.libreoffice import find
from briefgen.writers.docx.office import pdf_outline

ROOT = Path(__file__).resolve().parent.parent
BRIEFGEN = [sys.executable, "-m", "briefgen"]
CIVIC = ROOT / "templates" / "themes" / "civic.toml"
TIMEOUT_S = 240


@pytest.fixture(scope="module", autouse=True)
def office() -> None:
    if find()[0] is None:
        if os.environ.get("BRIEFGEN_NO_OFFICE") == "1":
            pytest.skip("LibreOffice is not installed and BRIEFGEN_NO_OFFICE=1")
        pytest.fail(
            f"{find()[1]}: Word page numbers cannot be tested. Run scripts/setup.sh --test "
            "(CI does), or set BRIEFGEN_NO_OFFICE=1 to skip these tests."
        )


def ours(marker: Path) -> list[str]:
    """The command lines of the running processes that mention ``marker`` (a private folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = next(
                (line for line in (entry / "status").read_text().splitlines() if line.startswith("State:")),
                "",
            )
        except OSError:
            continue
        if str(marker) in command and "zombie" not in state:
            found.append(f"{entry.name}: {command}")
    return found


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary folder of this test's own, where briefgen's LibreOffice keeps its profile: any
    process that names it is one briefgen started here."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setenv("TMPDIR", str(folder))
    return folder


def gone(marker: Path, seconds: float = 10.0) -> list[str]:
    ends = time.monotonic() + seconds
    while (left := ours(marker)) and time.monotonic() < ends:
        time.sleep(0.1)
    return left


def run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH, **kwargs.pop("env", {})}
    return subprocess.run(
        [*BRIEFGEN, *args], capture_output=True, text=True, timeout=TIMEOUT_S, env=env, cwd=ROOT, **kwargs
    )


# ----- what a Word brief's file says ----------------------------------------------------------------


def entries(docx: Path) -> list[tuple[str, str]]:
    """(entry text, page shown) of every contents entry: the link's text and the PAGEREF result."""
    found = []
    for p in Document(docx).element.body.iter(qn("w:p")):
        instructions = [t.text or "" for t in p.iter(qn("w:instrText"))]
        if not any("PAGEREF" in i for i in instructions):
            continue
        link = "".join(t.text or "" for h in p.iter(qn("w:hyperlink")) for t in h.iter(qn("w:t")))
        shown, state = "", None
        for node in p.iter(qn("w:instrText"), qn("w:fldChar"), qn("w:t")):
            if node.tag == qn("w:instrText") and "PAGEREF" in (node.text or ""):
                state = "code"
            elif node.tag == qn("w:fldChar") and state:
                kind = node.get(qn("w:fldCharType"))
                state = "result" if kind == "separate" and state == "code" else state
                if kind == "end" and state == "result":
                    break
            elif node.tag == qn("w:t") and state == "result":
                shown += node.text or ""
        found.append((squeeze(link), shown))
    return found


def refresh_requests(docx: Path) -> list[str]:
    """Every place in the package that asks Word to refresh fields on open."""
    found = []
    with zipfile.ZipFile(docx) as archive:
        for name in archive.namelist():
            if name.endswith(".xml") or name.endswith(".rels"):
                text = archive.read(name).decode("utf-8")
                found += [
                    f"{name}: {m}" for m in re.findall(r"<w:updateFields\b[^>]*>|\bw:dirty=\"[^\"]*\"", text)
                ]
    return found


# ----- the briefs, built once, and LibreOffice's PDFs of them ------------------------------------


def batch_rows(folder: Path) -> Path:
    long_name = " ".join(["Maximiliane-Theodora von Hohenzollern-Sigmaringen"] * 12)
    rows = [
        {"id": "p1", "name": "Ana Novak", "organisation": "Adriatic Cloud Works", "audience": "business"},
        {"id": "p2", "name": "Marko Petrović", "organisation": "Balkan Fibre Link", "audience": "business"},
        # the same group, a cover long enough to take a second page: its pages are its own
        {
            "id": "p3",
            "name": long_name,
            "organisation": long_name,
            "audience": "business",
            "sector": long_name,
        },
        {
            "id": "g1",
            "name": "Elira Hoxha",
            "organisation": "Ministry (fictitious)",
            "audience": "government",
        },
    ]
    path = folder / "list.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "name", "organisation", "audience", "sector"])
        writer.writeheader()
        writer.writerows({"sector": "", **row} for row in rows)
    return path


@pytest.fixture(scope="module")
def laid_out(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Every kind of Word brief, each with LibreOffice's own PDF of it (one conversion for all)."""
    folder = tmp_path_factory.mktemp("pages")
    briefs: dict[str, Path] = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        for key, request in {
            "full": BuildRequest(content=builtin_content(), out=folder / "full", formats=("docx",)),
            "summary": BuildRequest(
                content=builtin_content(),
                out=folder / "summary",
                formats=("docx",),
                audiences=("business",),
                length="summary",
            ),
            "civic": BuildRequest(
                content=builtin_content(),
                out=folder / "civic",
                formats=("docx",),
                audiences=("government",),
                theme=CIVIC,
            ),
        }.items():
            result = build(request)
            assert not result.warnings and not result.notes, (result.warnings, result.notes)
            briefs.update({f"{key}/{r.audience}": request.out / r.path for r in result.files})
    batch = run(
        ["batch", str(batch_rows(folder)), "--format", "docx", "--out", str(folder / "batch"), "-j", "2"]
    )
    assert batch.returncode == 0, batch.stdout + batch.stderr
    assert "warning" not in (batch.stdout + batch.stderr).lower(), batch.stdout + batch.stderr
    briefs.update({f"batch/{path.stem[:40]}": path for path in sorted((folder / "batch").glob("*.docx"))})
    assert len(briefs) == 4 + 4, sorted(briefs)
    pdfs = folder / "pdf"
    pdfs.mkdir()
    for key, path in briefs.items():  # distinct names, so one LibreOffice start converts them all
        (pdfs / (key.replace("/", "_") + ".docx")).write_bytes(path.read_bytes())
    sources = sorted(pdfs.glob("*.docx"))
    command = [
        "soffice",
        f"-env:UserInstallation={(folder / 'profile').as_uri()}",
        "--headless",
        "--norestore",
        "--convert-to",
        "pdf",
        "--outdir",
        str(pdfs),
        *map(str, sources),
    ]
    subprocess.run(command, capture_output=True, timeout=TIMEOUT_S, check=True)
    return {key: (path, pdfs / (key.replace("/", "_") + ".pdf")) for key, path in briefs.items()}


KINDS = [
    "full/business",
    "full/government",
    "summary/business",
    "civic/government",
    "batch/0",
    "batch/1",
    "batch/2",
    "batch/3",
]


def pick(laid_out: dict[str, tuple[Path, Path]], kind: str) -> tuple[Path, Path]:
    if kind.startswith("batch/"):
        return [v for k, v in sorted(laid_out.items()) if k.startswith("batch/")][int(kind[6:])]
    return laid_out[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_each_heading_is_on_the_page_its_entry_says(
    laid_out: dict[str, tuple[Path, Path]], kind: str
) -> None:
    docx, pdf = pick(laid_out, kind)
    listed = entries(docx)
    if kind.startswith("summary/"):
        assert not listed, "a summary has no contents page"
    else:
        assert len(listed) >= 10, listed
    assert all(shown.isdigit() for _, shown in listed), listed
    outline = [
        (squeeze(title), page) for level, title, page in pdf_outline(pypdf.PdfReader(pdf)) if level <= 2
    ]
    assert [title for title, _ in outline] == [title for title, _ in listed] or not listed
    wrong = [
        (t, shown, page) for (t, shown), (_, page) in zip(listed, outline, strict=False) if int(shown) != page
    ]
    assert not wrong, f"{len(wrong)} of {len(listed)} entries name another page than LibreOffice's: {wrong}"


@pytest.mark.parametrize("kind", KINDS)
def test_nothing_asks_word_to_refresh(laid_out: dict[str, tuple[Path, Path]], kind: str) -> None:
    docx, _ = pick(laid_out, kind)
    assert not refresh_requests(docx)


def test_a_long_cover_gets_its_own_pages_in_a_batch(laid_out: dict[str, tuple[Path, Path]]) -> None:
    first = {k: entries(v[0])[0][1] for k, v in laid_out.items() if k.startswith("batch/")}
    long_cover = [k for k in first if "Maximiliane" in k]
    assert len(long_cover) == 1, first
    others = {page for k, page in first.items() if k not in long_cover and "Elira" not in k}
    assert others == {"3"}, first
    assert int(first[long_cover[0]]) > 3, "the two-page cover moves every heading on"


# ----- the LibreOffice briefgen starts ends with it -------------------------------------------------


def test_libreoffice_is_gone_after_a_build_and_a_failed_build(private_tmp: Path, tmp_path: Path) -> None:
    from briefgen.errors import BriefgenError

    result = build(
        BuildRequest(
            content=builtin_content(), out=tmp_path / "ok", formats=("docx",), audiences=("business",)
        )
    )
    assert result.files and not result.notes
    assert not gone(private_tmp), "LibreOffice outlived the build"
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "government.html.j2").write_text("{% extends 'base.html.j2' %}{{ nope( }}", encoding="utf-8")
    with pytest.raises(BriefgenError):  # business is written (LibreOffice starts), then government fails
        build(
            BuildRequest(
                content=builtin_content(), out=tmp_path / "bad", formats=("docx",), templates=(templates,)
            )
        )
    assert not gone(private_tmp), "LibreOffice outlived the failed build"
    assert not list(private_tmp.iterdir()), "the profile folder was left behind"


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL])
def test_libreoffice_is_gone_after_an_interrupted_build(tmp_path: Path, how: signal.Signals) -> None:
    private = tmp_path / "tmp"
    private.mkdir()
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH, "TMPDIR": str(private)}
    process = subprocess.Popen(
        [*BRIEFGEN, "build", "--format", "docx", "--out", str(tmp_path / "out")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ends = time.monotonic() + 60
        while not any("soffice" in c for c in ours(private)) and time.monotonic() < ends:
            time.sleep(0.05)
        seen = ours(private)
        assert any("soffice" in c for c in seen), (process.poll(), seen, list(private.iterdir()))
        process.send_signal(how)
        process.wait(timeout=30)
    finally:
        process.kill()
        process.wait()
    assert not gone(private), f"LibreOffice outlived briefgen ({how.name})"


def test_libreoffice_is_gone_after_a_batch(tmp_path: Path) -> None:
    private = tmp_path / "tmp"
    private.mkdir()
    batch = run(
        ["batch", str(batch_rows(tmp_path)), "--format", "docx", "--out", str(tmp_path / "out"), "-j", "2"],
        env={"TMPDIR": str(private)},
    )
    assert batch.returncode == 0, batch.stdout + batch.stderr
    assert not gone(private), "LibreOffice outlived the batch"


def test_a_libreoffice_that_does_not_answer_is_killed_and_word_refreshes(
    private_tmp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from briefgen.writers.docx import libreoffice

    monkeypatch.setattr(libreoffice, "CALL_S", 0.001)  # every layout "hangs"; the start does not
    result = build(
        BuildRequest(
            content=builtin_content(), out=tmp_path / "out", formats=("docx",), audiences=("business",)
        )
    )
    assert len(result.warnings) == 1 and "could not lay the brief out" in result.warnings[0], result.warnings
    docx = tmp_path / "out" / result.files[0].path
    assert all(shown == "" for _, shown in entries(docx))
    assert any("updateFields" in r for r in refresh_requests(docx)), "Word is asked to fill them in"
    assert not gone(private_tmp), "the LibreOffice that did not answer is still running"


# ----- without LibreOffice, and the other choices ---------------------------------------------------


def without_office(tmp_path: Path) -> dict[str, str]:
    """A PATH with briefgen's Python and nothing else: no soffice to find."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    return {"PATH": str(bin_dir)}


def test_without_libreoffice_word_refreshes_and_build_says_so_once(tmp_path: Path) -> None:
    done = run(["build", "--format", "docx", "--out", str(tmp_path / "out")], env=without_office(tmp_path))
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stderr.splitlines() if "LibreOffice" in line]
    assert len(notes) == 1 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "not installed" in notes[0] and "without a prompt" in notes[0], notes
    for docx in (tmp_path / "out").glob("*.docx"):
        listed = entries(docx)
        assert listed and all(shown == "" for _, shown in listed), "Word fills the numbers in"
        assert any("updateFields" in r for r in refresh_requests(docx))
    doctor = run(["doctor"], env=without_office(tmp_path))
    line = next(line for line in doctor.stdout.splitlines() if "libreoffice" in line)
    assert "not installed" in line and "without a prompt" in line, doctor.stdout


def test_docx_pages_libreoffice_without_it_is_one_line_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["build", "--format", "docx", "--docx-pages", "libreoffice", "--out", str(out)]
    done = run(args, env=without_office(tmp_path))
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "--docx-pages libreoffice" in done.stderr and "not installed" in done.stderr
    assert not out.exists() or not list(out.iterdir())


def test_docx_pages_word_is_the_old_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    result = build(
        BuildRequest(
            content=builtin_content(),
            out=tmp_path,
            formats=("docx",),
            audiences=("business",),
            docx_pages="word",
        )
    )
    assert not result.notes
    docx = tmp_path / result.files[0].path
    assert all(shown == "" for _, shown in entries(docx))
    asked = refresh_requests(docx)
    assert any("updateFields" in r for r in asked) and any("w:dirty" in r for r in asked)


@pytest.fixture(autouse=True)
def _no_office_left() -> Iterator[None]:
    """A build's LibreOffice ends with the build: none is left in this process by a test that
    started without one (a Word brief written outside a build keeps one until exit)."""
    from briefgen.writers.docx import libreoffice

    def running() -> bool:
        return libreoffice._OFFICE is not None and libreoffice._OFFICE.process is not None

    before = running()
    yield
    assert before or not running(), "a LibreOffice is still up"
