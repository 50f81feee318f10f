"""One briefgen run per output folder: a second batch (or build) waits with one line on standard
error, or with --no-wait refuses at once; two batches started together build each brief once.
The lock is held by real processes (this test's own, or another briefgen)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from pathlib import Path

from helpers import briefgen_command

from briefgen.output import folder_lock

ROWS = [
    {"id": f"s{i}", "name": f"Reader {i}", "organisation": f"Org {i}", "audience": "business"}
    for i in range(6)
]


def briefgen(cwd: Path, *args: str | Path) -> subprocess.Popen[str]:
    command = briefgen_command(*args)
    return subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    return process.returncode, out, err


def wait_for_line(path: Path, needle: str, timeout: float = 30) -> None:
    """Until ``needle`` shows in the file ``path`` (a process's standard error)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in path.read_text(encoding="utf-8", errors="replace"):
            return
        time.sleep(0.05)
    raise AssertionError(f"{needle!r} not in {path.read_text(encoding='utf-8')!r}")


def test_no_wait_refuses_at_once_while_another_run_holds_the_folder(stakeholder_list, tmp_path: Path):
    listing = stakeholder_list(ROWS)
    out = tmp_path / "out"
    out.mkdir()
    with folder_lock(out):
        started = time.monotonic()
        code, _, stderr = finish(
            briefgen(tmp_path, "batch", listing, "--format", "html", "--out", out, "--no-wait")
        )
        assert time.monotonic() - started < 30
    assert code == 1
    assert stderr.strip().splitlines() == [
        f"Error: {out}: another briefgen run is using this output folder; not started (--no-wait)"
    ]
    assert list(out.iterdir()) == []


def test_a_second_batch_waits_then_finds_everything_up_to_date(stakeholder_list, tmp_path: Path):
    listing = stakeholder_list(ROWS)
    out = tmp_path / "out"
    first = briefgen(tmp_path, "batch", listing, "--format", "html", "--out", out)
    assert finish(first)[0] == 0
    with (tmp_path / "err.txt").open("w", encoding="utf-8") as err:
        with folder_lock(out):
            command = briefgen_command("batch", listing, "--format", "html", "--out", out)
            waiting = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=err, text=True)
            try:
                wait_for_line(
                    tmp_path / "err.txt", f"waiting for another briefgen batch or build on {out} ..."
                )
                time.sleep(0.5)
                assert waiting.poll() is None  # still waiting while the lock is held
            except BaseException:
                waiting.kill()
                raise
        code, stdout, _ = finish(waiting)
    assert code == 0, (tmp_path / "err.txt").read_text()
    assert "0 built, 6 unchanged, 0 failed" in stdout


def test_two_batches_started_together_build_each_brief_once(stakeholder_list, tmp_path: Path):
    listing = stakeholder_list(ROWS)
    out = tmp_path / "out"
    runs = [briefgen(tmp_path, "batch", listing, "--format", "html", "--out", out) for _ in range(2)]
    results = [finish(run) for run in runs]
    assert [code for code, _, _ in results] == [0, 0], results
    built = sorted(out_text.count("] built ") for _, out_text, _ in results)
    assert built == [0, 6], results  # one run built all six, the other found them up to date
    data = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert len(data["stakeholders"]) == 6


def test_build_waits_for_the_folder_too(tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    with (tmp_path / "err.txt").open("w", encoding="utf-8") as err:
        with folder_lock(out):
            command = briefgen_command("build", "--audience", "business", "--format", "html")
            process = subprocess.Popen(
                [*command, "--out", str(out)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=err
            )
            try:
                wait_for_line(tmp_path / "err.txt", "waiting for another briefgen batch or build on")
                assert list(out.iterdir()) == []  # nothing written while it waits
            except BaseException:
                process.kill()
                raise
        code, _, _ = finish(process)
    assert code == 0
    assert (out / "business-brief.html").is_file()


def test_the_lock_is_reentrant_within_a_process_and_creates_no_file(tmp_path: Path):
    out = tmp_path / "out"
    with folder_lock(out, create=True), folder_lock(out), folder_lock(out, wait=False):
        assert out.is_dir()
    assert list(out.iterdir()) == []
