"""A batch on a real Dask cluster: the same files, byte for byte, and the same manifest as on this
machine; a group's work reused on the worker that made it; refused workers, a brief over the time
limit, a worker killed mid-batch, the scheduler stopped, Ctrl-C.

In-process clusters (threads) test the client's logic; a scheduler and two workers started as
``dask`` subprocesses on 127.0.0.1 test what a user runs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import zipfile
from pathlib import Path

import pytest
from dask_cluster import on_loopback
from helpers import briefgen_command, entries, manifest
from pypdf import PdfReader

from briefgen.cli import main
from briefgen.paths import builtin_content

EXAMPLE = builtin_content() / "stakeholders.example.csv"
EPOCH = "1750000000"


def person(ident: str, name: str, organisation: str, audience: str = "business", **extra: str) -> dict:
    return {"id": ident, "name": name, "organisation": organisation, "audience": audience, **extra}


def run_batch(runner, *args: str):
    return runner.invoke(main, ["batch", *args], catch_exceptions=False)


def files(out: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file() and p.name != "manifest.json"
    }


def without_timings(out: Path) -> dict:
    data = manifest(out)
    for entry in data["stakeholders"]:
        entry.pop("seconds", None)
    return data


# --- in process: the client's logic -----------------------------------------------------------


def test_html_briefs_on_a_cluster_are_the_local_ones_and_a_rerun_resumes(
    dask_in_process, stakeholder_list, runner, tmp_path: Path, monkeypatch
):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    rows = [person(f"h{i}", f"Reader {i}", f"Org {i}", country="Chile") for i in range(4)]
    rows.append(person("g1", "Gov Reader", "Gov Org", audience="government"))
    listing = stakeholder_list(rows)
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert (
        run_batch(runner, str(listing), "--format", "html", "--out", str(local), "--jobs", "1").exit_code == 0
    )
    result = run_batch(
        runner, str(listing), "--format", "html", "--out", str(remote), "--scheduler", dask_in_process
    )
    assert result.exit_code == 0, result.output
    assert "5 built, 0 unchanged, 0 failed" in result.output
    assert files(remote) == files(local) and len(files(local)) == 5
    assert without_timings(remote) == without_timings(local)

    rows[2]["country"] = "Peru"  # one stakeholder changed: only they are rebuilt, from the manifest
    stakeholder_list(rows)
    again = run_batch(
        runner, str(listing), "--format", "html", "--out", str(remote), "--scheduler", dask_in_process
    )
    assert "1 built, 4 unchanged, 0 failed" in again.output
    assert "Peru" in (remote / entries(remote)["h2"]["files"][0]["path"]).read_text(encoding="utf-8")
    forced = run_batch(
        runner,
        str(listing),
        "--format",
        "html",
        "--out",
        str(remote),
        "--scheduler",
        dask_in_process,
        "--force",
    )
    assert "5 built, 0 unchanged" in forced.output


def test_templates_theme_logo_and_reference_document_travel_to_the_workers_as_data(
    dask_in_process, stakeholder_list, runner, tmp_path: Path, monkeypatch
):
    import shutil

    from briefgen.paths import builtin_templates

    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    theme = tmp_path / "look"
    theme.mkdir()
    shutil.copy(builtin_templates() / "themes" / "civic.toml", theme / "civic.toml")
    shutil.copy(builtin_templates() / "themes" / "civic-logo.png", theme / "civic-logo.png")
    shutil.copy(builtin_templates() / "reference.docx", tmp_path / "house.docx")
    templates = tmp_path / "tpl"
    templates.mkdir()
    (templates / "business.html.j2").write_text(
        '{% extends "builtin/business.html.j2" %}\n'
        "{% block cover %}<p>Our own cover line</p>{{ super() }}{% endblock %}\n",
        encoding="utf-8",
    )
    listing = stakeholder_list(
        [person("t1", "Tess", "Theme Org"), person("t2", "Tom", "Theme Org", country="Peru")]
    )
    look = ["--format", "html,docx", "--docx-pages", "word", "--theme", str(theme / "civic.toml")]
    look += ["--templates", str(templates), "--reference-docx", str(tmp_path / "house.docx")]
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert run_batch(runner, str(listing), *look, "--out", str(local), "--jobs", "1").exit_code == 0
    result = run_batch(runner, str(listing), *look, "--out", str(remote), "--scheduler", dask_in_process)
    assert result.exit_code == 0, result.output
    assert files(remote) == files(local) and len(files(remote)) == 4
    html = (remote / "Theme-Org-Tess.html").read_text(encoding="utf-8")
    assert "Our own cover line" in html and "data:image/png;base64," in html  # template and logo
    assert without_timings(remote) == without_timings(local)


def test_a_group_is_laid_out_once_on_its_worker_and_reused_there(
    dask_in_process, stakeholder_list, runner, tmp_path: Path
):
    group = {"audience": "government", "focus": "cybersecurity", "region": "africa"}
    rows = [person(f"p{i}", f"Reader {i}", f"Agency {i}", **group) for i in range(3)]
    out = tmp_path / "out"
    result = run_batch(
        runner,
        str(stakeholder_list(rows)),
        "--format",
        "pdf",
        "--pdf-engine",
        "weasyprint",  # the engine that lays a group's body out once (Typst builds each PDF whole)
        "--out",
        str(out),
        "--scheduler",
        dask_in_process,
    )
    assert result.exit_code == 0, result.output
    assert "(2 PDFs reused a shared body)" in result.output  # all three went to one worker
    text = PdfReader(out / "Agency-2-Reader-2.pdf").pages[0].extract_text()
    assert "Prepared for Reader 2, Agency 2" in " ".join(text.split())


def test_the_scheduler_comes_from_the_environment_and_from_briefgen_toml(
    dask_in_process, stakeholder_list, runner, tmp_path: Path, monkeypatch
):
    listing = stakeholder_list([person("a1", "Ann", "Acme")])
    monkeypatch.setenv("BRIEFGEN_SCHEDULER", "tcp://nowhere")  # malformed: proves the variable is read
    result = runner.invoke(main, ["batch", str(listing), "--format", "html"])
    assert result.exit_code == 2
    assert "--scheduler: 'tcp://nowhere' is not a scheduler address; give tcp://HOST:PORT" in result.output
    monkeypatch.delenv("BRIEFGEN_SCHEDULER")
    (tmp_path / "briefgen.toml").write_text(f'[batch]\nscheduler = "{dask_in_process}"\n', encoding="utf-8")
    result = runner.invoke(main, ["batch", str(listing), "--format", "html", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o" / "Acme-Ann.html").is_file()


def test_a_worker_with_other_versions_is_refused_by_name(
    dask_in_process, stakeholder_list, runner, tmp_path: Path, monkeypatch
):
    from distributed import get_worker

    from briefgen.batch import cluster

    real = cluster.versions
    with cluster._connect(dask_in_process) as client:
        odd = sorted(client.scheduler_info()["workers"])[0]

    def versions(dask_worker=None):  # what the worker at ``odd`` would say with another briefgen installed
        found = real()
        if threading.current_thread() is threading.main_thread():  # the client (workers are threads)
            return found
        here = (dask_worker or get_worker()).address  # client.run passes dask_worker; a task asks
        return {**found, "briefgen": "0.0.1"} if here == odd else found

    monkeypatch.setattr(cluster, "versions", versions)
    rows = [person(f"v{i}", f"Reader {i}", f"Org {i}", country=c) for i, c in enumerate(("Chile", "Peru"))]
    out = tmp_path / "out"
    result = run_batch(
        runner,
        str(stakeholder_list(rows)),
        "--format",
        "html",
        "--out",
        str(out),
        "--scheduler",
        dask_in_process,
    )
    assert result.exit_code == 0, result.output
    from briefgen import __version__

    assert f"worker {odd} refused: briefgen {__version__} here, 0.0.1 there" in result.output
    assert "2 built, 0 unchanged, 0 failed" in result.output  # on the other worker


# --- dask scheduler and dask worker processes on 127.0.0.1 --------------------------------------


@pytest.fixture(scope="module")
def loopback(tmp_path_factory):
    with on_loopback(tmp_path_factory.mktemp("dask"), 2, "--memory-limit", "1500MB") as cluster:
        yield cluster


def example_list(path: Path, count: int) -> Path:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines[: count + 1]) + "\n", encoding="utf-8")
    return path


def whole(path: Path) -> bool:
    if path.suffix == ".pdf":
        return len(PdfReader(path).pages) > 5
    with zipfile.ZipFile(path) as archive:
        return archive.testzip() is None and "word/document.xml" in archive.namelist()


def checked(out: Path, count: int) -> None:
    """Every stakeholder built, every file whole and as the manifest says, nothing else in ``out``."""
    data = manifest(out)
    assert len(data["stakeholders"]) == count
    listed = set()
    for entry in data["stakeholders"]:
        assert entry["status"] == "built", entry
        for record in entry["files"]:
            path = out / record["path"]
            assert path.stat().st_size == record["bytes"] and whole(path)
            listed.add(record["path"])
    assert set(files(out)) == listed
    assert not list(out.glob(".*"))


def test_the_example_batch_on_two_dask_workers_gives_the_same_bytes_as_on_this_machine(
    loopback, tmp_path: Path
):
    listing = example_list(tmp_path / "list.csv", 4)
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    common = ["--format", "pdf,docx", "--docx-pages", "word"]
    local = subprocess.run(
        briefgen_command("batch", listing, *common, "--out", tmp_path / "local", "--jobs", "2"),
        capture_output=True, text=True, timeout=240, env=env,
    )  # fmt: skip
    assert local.returncode == 0, local.stderr
    remote = subprocess.run(
        briefgen_command("batch", listing, *common, "--out", tmp_path / "remote", "--scheduler",
                         loopback.address),
        capture_output=True, text=True, timeout=240, env=env,
    )  # fmt: skip
    assert remote.returncode == 0, remote.stderr
    assert "4 built, 0 unchanged, 0 failed" in remote.stdout
    assert "Dask dashboard: http://127.0.0.1:" in remote.stderr  # the scheduler's, on loopback
    assert files(tmp_path / "remote") == files(tmp_path / "local")
    assert len(files(tmp_path / "local")) == 8
    assert without_timings(tmp_path / "remote") == without_timings(tmp_path / "local")
    checked(tmp_path / "remote", 4)


def test_a_worker_killed_mid_batch_leaves_no_file_missing_partial_or_twice(loopback, tmp_path: Path):
    listing = example_list(tmp_path / "list.csv", 4)
    out = tmp_path / "out"
    with loopback.client() as client:
        pids = client.run(os.getpid)  # the worker processes (their nannies start new ones)
    command = briefgen_command(
        "batch", listing, "--format", "pdf", "--out", out, "--scheduler", loopback.address
    )
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list(out.glob("*.pdf")) and process.poll() is None:
            time.sleep(0.05)
        assert process.poll() is None, "the batch finished before a worker could be killed"
        os.kill(sorted(pids.values())[0], signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=240)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "4 built, 0 unchanged, 0 failed" in stdout
    checked(out, 4)
    loopback.wait_for(2)  # the nanny has started a new worker process


def one_bad_brief(cluster, stakeholder_list, tmp_path: Path, bad: str, cover: str, *flags: str):
    """A batch of html briefs where stakeholder ``bad``'s cover runs ``cover`` and three others are
    plain: the finished process, the manifest's entries and the output folder."""
    templates = tmp_path / "tpl"
    templates.mkdir()
    (templates / "business.html.j2").write_text(
        '{% extends "builtin/business.html.j2" %}\n'
        f"{{% block cover %}}{{% if brief.stakeholder.id == '{bad}' %}}{cover}"
        "{% endif %}{{ super() }}{% endblock %}\n",
        encoding="utf-8",
    )
    rows = [person(bad, "Bad Reader", "Bad Org")]
    rows += [person(f"g{i}", f"Good {i}", "Good Org", audience="government") for i in range(3)]
    out = tmp_path / "out"
    command = briefgen_command(
        "batch", stakeholder_list(rows), "--format", "html", "--out", out, "--templates", templates,
        "--scheduler", cluster.address, *flags,
    )  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert done.returncode == 1, done.stderr
    found = entries(out)
    assert all(found[f"g{i}"]["status"] == "built" for i in range(3))
    assert sorted(p.name for p in out.glob("*.html")) == [f"Good-Org-Good-{i}.html" for i in range(3)]
    assert "3 built, 0 unchanged, 1 failed" in done.stdout
    return found[bad]


def test_a_brief_past_the_time_limit_fails_alone_and_its_worker_is_restarted(
    loopback, stakeholder_list, tmp_path: Path
):
    loop = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    slow = one_bad_brief(loopback, stakeholder_list, tmp_path, "slow", loop, "--time-limit", "3")
    assert slow["status"] == "failed" and "the brief took longer than 3 s" in slow["error"]
    loopback.wait_for(2)  # its worker was restarted by its nanny


def test_a_brief_over_the_workers_memory_limit_fails_alone_and_the_batch_goes_on(
    loopback, stakeholder_list, tmp_path: Path
):
    doubling = (  # a string doubled past the nannies' 1,500 MB
        '{% set ns = namespace(x="x" * 1000000) %}{% for i in range(13) %}{% set ns.x = ns.x ~ ns.x %}'
        "{% endfor %}{{ ns.x|length }}"
    )
    hog = one_bad_brief(loopback, stakeholder_list, tmp_path, "hog", doubling)
    assert hog["status"] == "failed"
    assert "its worker died 2 times while building it (killed, or over its memory limit)" in hog["error"]
    loopback.wait_for(2)  # the nannies have started new workers


def test_ctrl_c_cancels_the_batch_and_leaves_the_cluster_running_and_clean(loopback, tmp_path: Path):
    listing = example_list(tmp_path / "list.csv", 4)
    out = tmp_path / "out"
    command = briefgen_command(
        "batch", listing, "--format", "pdf", "--out", out, "--scheduler", loopback.address
    )
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list(out.glob("*.pdf")) and process.poll() is None:
            time.sleep(0.05)
        assert process.poll() is None, "the batch finished before Ctrl-C"
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "stopped by SIGINT" in stderr
    with loopback.client() as client:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and client.run_on_scheduler(
            lambda dask_scheduler: len(dask_scheduler.tasks)
        ):
            time.sleep(0.2)
        assert client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) == 0
        assert len(client.scheduler_info()["workers"]) == 2
        kept = client.run(lambda: len(__import__("briefgen.batch.cluster").batch.cluster._KEPT))
        assert set(kept.values()) == {0}  # nothing of the batch is kept on the workers
    json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def test_a_lost_scheduler_stops_the_batch_in_one_line_and_a_rerun_resumes(tmp_path: Path):
    listing = example_list(tmp_path / "list.csv", 4)
    out = tmp_path / "out"
    with on_loopback(tmp_path / "dask", 1) as cluster:
        command = briefgen_command(
            "batch", listing, "--format", "pdf", "--out", out, "--scheduler", cluster.address
        )
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not list(out.glob("*.pdf")) and process.poll() is None:
                time.sleep(0.05)
            assert process.poll() is None, "the batch finished before the scheduler was stopped"
            os.killpg(cluster.processes[0].pid, signal.SIGKILL)  # the scheduler
            _, stderr = process.communicate(timeout=90)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 1, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("Error:")]
    assert (
        errors == [errors[0]] and "the scheduler at tcp://127.0.0.1:" in errors[0] and "was lost" in errors[0]
    )
    assert "Traceback" not in stderr
    built = [e["id"] for e in manifest(out)["stakeholders"] if e["status"] == "built"]
    assert built  # what finished is in the manifest

    rerun = subprocess.run(briefgen_command("batch", listing, "--format", "pdf", "--out", out, "--jobs", "2"),
                           capture_output=True, text=True, timeout=240)  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr
    assert f"{4 - len(built)} built, {len(built)} unchanged, 0 failed" in rerun.stdout
    checked(out, 4)
