"""Hostile stakeholder lists and output folders: names that try to climb out or clash, planted
symbolic links, lists far over the limit, and a batch killed with SIGKILL in the middle."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import pytest
from helpers import briefgen_command
from pypdf import PdfReader

from briefgen.cli import main
from briefgen.filenames import assign, safe_stem
from briefgen.paths import builtin_content


def files_in(out: Path) -> dict[str, str]:
    with (out / "manifest.json").open(encoding="utf-8") as handle:
        data = json.load(handle)
    return {e["id"]: e["files"][0]["path"] for e in data["stakeholders"] if e["files"]}


@pytest.mark.parametrize(
    ("organisation", "expected"),
    [
        ("../../../../etc/cron.d/evil", "etc-cron.d-evil-x"),
        ("/etc/passwd", "etc-passwd-x"),
        ("..\\..\\windows\\system32", "windows-system32-x"),
        ("CON", "CON-x"),
        ("nul", "nul-x"),
        ("a\tb  c", "a-b-c-x"),
        ("\u202eexe.pdf", "exe.pdf-x"),
    ],
)
def test_hostile_names_stay_inside_the_output_folder(
    stakeholder_list, runner, tmp_path: Path, organisation, expected
):
    listing = stakeholder_list(
        [{"id": "x", "name": "x", "organisation": organisation, "audience": "business"}]
    )
    out = tmp_path / "out"
    result = runner.invoke(main, ["batch", str(listing), "--format", "html", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert files_in(out) == {"x": f"{expected}.html"}
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix == ".html"]
    assert written == [out / f"{expected}.html"]


def test_control_characters_in_a_list_are_refused_with_line_and_field(
    stakeholder_list, runner, tmp_path: Path
):
    rows = [
        {"id": "ok", "name": "Fine", "audience": "business"},
        {"id": "x", "name": "x", "organisation": "a\x00b\x1b[31mc", "audience": "business"},
    ]
    listing = stakeholder_list(rows)
    out = tmp_path / "out"
    result = runner.invoke(main, ["batch", str(listing), "--format", "html", "--out", str(out)])
    assert result.exit_code == 1
    assert "list.csv:3:3: organisation: control character U+0000 is not allowed" in result.output
    assert not out.exists()


def test_reserved_device_names_get_a_suffix():
    assert safe_stem("CON", "id") == "CON_"
    assert safe_stem("com1.report", "id") == "com1_.report"
    assert safe_stem("LPT9", "id") == "LPT9_"
    assert safe_stem("Console", "id") == "Console"


def test_names_that_reduce_to_nothing_fall_back_to_the_id():
    assert safe_stem("../..", "st-9") == "st-9"
    assert safe_stem("\u200b\u200b", "st-9") == "st-9"


def test_long_names_are_bounded_in_bytes_not_cut_inside_a_character():
    stem = safe_stem("Ж" * 500, "id")
    assert len(stem.encode("utf-8")) <= 120
    stem.encode("utf-8").decode("utf-8")  # whole characters only


def test_case_and_normalisation_collisions_are_resolved_in_list_order():
    names = assign([("a", "Zoë"), ("b", "ZOË"), ("c", "Zoe\u0308"), ("d", "zoë")])
    assert names == {"a": "Zoë", "b": "ZOË-b", "c": "Zoë-c", "d": "zoë-d"}
    assert len({n.casefold() for n in names.values()}) == 4


def test_a_planted_symbolic_link_is_replaced_and_its_target_untouched(
    stakeholder_list, runner, tmp_path: Path
):
    target = tmp_path / "precious.txt"
    target.write_text("keep me", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "Acme-Ann.html").symlink_to(target)
    listing = stakeholder_list([{"id": "a", "name": "Ann", "organisation": "Acme", "audience": "business"}])
    result = runner.invoke(main, ["batch", str(listing), "--format", "html", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == "keep me"
    assert not (out / "Acme-Ann.html").is_symlink()
    assert "Prepared for" in (out / "Acme-Ann.html").read_text(encoding="utf-8")
    assert oct((out / "Acme-Ann.html").stat().st_mode & 0o777) != oct(0o777)


def test_a_list_far_over_the_limit_is_refused_before_any_work(stakeholder_list, runner, tmp_path: Path):
    rows = [{"id": f"s{i}", "name": f"N{i}", "audience": "business"} for i in range(10_001)]
    listing = stakeholder_list(rows)
    out = tmp_path / "out"
    result = runner.invoke(main, ["batch", str(listing), "--format", "html", "--out", str(out)])
    assert result.exit_code == 1
    assert "list.csv:1:1: 10,001 stakeholders; the limit is 10,000" in result.output
    assert not out.exists()


def test_the_stakeholder_limit_can_be_lowered(stakeholder_list, runner, tmp_path: Path):
    rows = [{"id": f"s{i}", "name": f"N{i}", "audience": "business"} for i in range(5)]
    listing = stakeholder_list(rows)
    result = runner.invoke(
        main, ["batch", str(listing), "--max-stakeholders", "3", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 1
    assert "5 stakeholders; the limit is 3" in result.output


def test_temporary_files_left_by_a_killed_run_are_cleared(stakeholder_list, runner, tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".Acme-Ann.html.x1y2.part").write_bytes(b"half a file")
    keep = out / "notes.part"  # not one of ours: no leading dot
    keep.write_text("mine", encoding="utf-8")
    listing = stakeholder_list([{"id": "a", "name": "Ann", "organisation": "Acme", "audience": "business"}])
    assert runner.invoke(main, ["batch", str(listing), "--format", "html", "--out", str(out)]).exit_code == 0
    assert not list(out.glob(".*.part"))
    assert keep.read_text(encoding="utf-8") == "mine"


def _complete(path: Path) -> bool:
    if path.suffix == ".pdf":
        return len(PdfReader(path).pages) > 5
    if path.suffix == ".docx":
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None and "word/document.xml" in archive.namelist()
    return True


def test_a_batch_killed_with_sigkill_leaves_only_complete_files_and_a_rerun_finishes(tmp_path: Path):
    example = builtin_content() / "stakeholders.example.csv"
    lines = example.read_text(encoding="utf-8").splitlines()
    listing = tmp_path / "list.csv"
    listing.write_text("\n".join(lines[:9]) + "\n", encoding="utf-8")  # header + 8 stakeholders
    out = tmp_path / "out"
    command = briefgen_command("batch", listing, "--format", "pdf,docx", "--out", out)
    process = subprocess.Popen(
        [*command, "--jobs", "2"], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if len(list(out.glob("*.pdf"))) >= 2:
            break
        time.sleep(0.05)
    assert process.poll() is None, "the batch finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)  # the main process and its workers, mid-write
    process.wait()
    time.sleep(0.5)

    finished = [p for p in out.iterdir() if not p.name.startswith(".") and p.suffix in (".pdf", ".docx")]
    assert finished, "nothing was written before the kill"
    assert all(_complete(p) for p in finished)
    if (out / "manifest.json").exists():
        json.loads((out / "manifest.json").read_text(encoding="utf-8"))  # never half-written

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    data = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert len(data["stakeholders"]) == 8
    for entry in data["stakeholders"]:
        assert entry["status"] == "built"
        for record in entry["files"]:
            assert hashlib.sha256((out / record["path"]).read_bytes()).hexdigest() == record["sha256"]
    assert not list(out.glob(".*.part"))


def test_a_theme_logo_outside_the_theme_folder_is_refused(runner, tmp_path: Path):
    secret = tmp_path / "private.png"
    secret.write_bytes(b"\x89PNG\r\n\x1a\nsecret")
    themes = tmp_path / "themes"
    themes.mkdir()
    (themes / "t.toml").write_text('name = "T"\nlogo = "../private.png"\n', encoding="utf-8")
    result = runner.invoke(main, ["build", "--theme", str(themes / "t.toml"), "--format", "html"])
    assert result.exit_code == 2
    assert "logo: ../private.png lies outside the theme's folder" in result.output
    assert not (tmp_path / "output").exists()


def test_a_worker_that_dies_fails_its_stakeholders_and_the_batch_still_ends(tmp_path: Path):
    from briefgen.batch import BatchRequest
    from briefgen.batch.plan import Task, chunks
    from briefgen.batch.pool import pool
    from briefgen.batch.worker import WorkerSettings
    from briefgen.stakeholders import Stakeholder

    request = BatchRequest(tmp_path / "list.csv", (tmp_path / "gone",), tmp_path)
    settings = WorkerSettings(request)  # the content is gone: workers fail to start
    people = [Stakeholder(f"N{i}", id=f"s{i}", audience="business", list_line=i + 2) for i in range(5)]
    tasks = [Task(person, person.id, ("html",), "x") for person in people]
    outcomes = list(pool(chunks(tasks, 2), settings, 2))
    assert sorted(o.id for o in outcomes) == [f"s{i}" for i in range(5)]
    assert all(o.status == "failed" and "the worker could not start" in o.error for o in outcomes)


def test_a_worker_killed_mid_chunk_fails_its_chunk_and_is_replaced(tmp_path: Path, monkeypatch):
    import signal as signals

    from briefgen.batch import BatchRequest, worker
    from briefgen.batch.plan import Task, chunks
    from briefgen.batch.pool import pool
    from briefgen.paths import builtin_content
    from briefgen.stakeholders import Stakeholder

    real = worker.run_chunk

    def run_or_die(chunk):
        if chunk[0].stakeholder.id == "doomed":
            os.kill(os.getpid(), signals.SIGKILL)
        return real(chunk)

    monkeypatch.setattr(worker, "run_chunk", run_or_die)  # inherited by the forked workers
    settings = worker.WorkerSettings(BatchRequest(tmp_path / "list.csv", (builtin_content(),), tmp_path))
    people = [
        Stakeholder("D", id="doomed", audience="business", list_line=2),
        Stakeholder("F", id="fine", audience="government", list_line=3),
    ]
    tasks = [Task(person, person.id, ("html",), "x") for person in people]
    outcomes = {o.id: o for o in pool(chunks(tasks, 2), settings, 2)}
    assert outcomes["doomed"].status == "failed"
    assert "died" in outcomes["doomed"].error
    assert outcomes["fine"].status == "built"
    assert (tmp_path / "fine.html").is_file()
