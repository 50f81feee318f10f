"""Hostile answers from a Dask cluster: results a worker was not asked for, oversized bytes, names a
worker picks, a malformed scheduler address; the client writes only what the plan names."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from briefgen.batch import cluster
from briefgen.batch.executor import check_address
from briefgen.batch.plan import Task
from briefgen.cli import main
from briefgen.errors import UsageError
from briefgen.stakeholders import Stakeholder

TASK = Task(Stakeholder("Ann", id="a1", audience="business", list_line=2), "Acme-Ann", ("html", "pdf"), "x")


def result(**changes):
    raw = {
        "id": "a1",
        "status": "built",
        "error": None,
        "warnings": [],
        "title": "T",
        "strategy": "S",
        "reused": [],
        "seconds": 0.5,
        "files": [("html", b"<html></html>", None), ("pdf", b"%PDF-1.7 ...", 3)],
    }
    return {**raw, **changes}


def test_a_sound_result_gets_the_plan_s_names_and_the_client_s_checksums():
    outcome, documents = cluster.accept(TASK, result())
    assert outcome.status == "built" and outcome.error is None
    assert [name for name, _, _ in documents] == ["Acme-Ann.html", "Acme-Ann.pdf"]
    assert documents[1][2] == {
        "path": "Acme-Ann.pdf",
        "format": "pdf",
        "bytes": 12,
        "sha256": hashlib.sha256(b"%PDF-1.7 ...").hexdigest(),
        "pages": 3,
    }


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (result(id="b2"), "a result for another stakeholder ('b2')"),
        ("<html>", "not a result"),
        (result(status="done"), "without a status"),
        (result(files=[("html", b"x", None)]), "other files than the task asked for"),
        (result(files=[("pdf", b"x", 1), ("html", b"x", None)]), "other files than the task asked for"),
        (result(files=[("html", "text", None), ("pdf", b"x", 1)]), "html: the worker returned no bytes"),
        (result(files=[("html", b"x", None), ("pdf", b"x", -4)]), "page count that is not a count"),
        (result(files=[("html", b"x", "../../etc/passwd"), ("pdf", b"x", 1)]), "not a count"),
    ],
)
def test_a_result_that_does_not_hold_fails_its_stakeholder_and_names_no_file(raw, error):
    outcome, documents = cluster.accept(TASK, raw)
    assert outcome.status == "failed" and error in outcome.error
    assert documents == []


def test_oversized_bytes_are_refused(monkeypatch):
    monkeypatch.setattr(cluster, "RESULT_LIMIT", 1000)
    outcome, documents = cluster.accept(TASK, result(files=[("html", b"x" * 1001, None), ("pdf", b"x", 1)]))
    assert outcome.status == "failed" and "1,001 bytes; the limit is 1,000" in outcome.error
    assert documents == []


def test_a_worker_s_words_are_cut_and_a_path_it_names_is_ignored():
    raw = result(error="e" * 10_000, warnings=["w" * 10_000, 7] * 80, reused=["pdf", "exe"], path="/etc/x")
    outcome, documents = cluster.accept(TASK, raw)
    assert len(outcome.warnings) == cluster.MAX_WARNINGS // 2 and all(
        len(w) == 2000 for w in outcome.warnings
    )
    assert outcome.reused == ["pdf"]
    assert {record["path"] for _, _, record in documents} == {"Acme-Ann.html", "Acme-Ann.pdf"}


@pytest.mark.parametrize(
    "address",
    [
        "tcp://nowhere",
        "http://127.0.0.1:8786",
        "tcp://127.0.0.1:99999",
        "tcp://a b:1",
        "tcp://h:1\nx",
        "",
        "x" * 500,
    ],
)
def test_a_malformed_scheduler_address_is_a_one_line_flag_error(
    address, stakeholder_list, runner, tmp_path: Path
):
    listing = stakeholder_list([{"id": "a1", "name": "Ann", "organisation": "Acme", "audience": "business"}])
    out = tmp_path / "out"
    result = runner.invoke(
        main, ["batch", str(listing), "--format", "html", "--out", str(out), "--scheduler", address]
    )
    if address == "":  # an empty value means "no scheduler": this machine
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert (
        len(lines) == 1
        and lines[0].startswith("Error: --scheduler: ")
        and "is not a scheduler address" in lines[0]
    )
    assert not out.exists()
    with pytest.raises(UsageError):
        check_address(address)


def test_a_scheduler_that_does_not_answer_is_a_one_line_error(
    stakeholder_list, runner, tmp_path: Path, monkeypatch
):
    from dask_cluster import free_port

    monkeypatch.setattr(cluster, "CONNECT_S", 2.0)
    listing = stakeholder_list([{"id": "a1", "name": "Ann", "organisation": "Acme", "audience": "business"}])
    address = f"tcp://127.0.0.1:{free_port()}"
    result = runner.invoke(
        main,
        ["batch", str(listing), "--format", "html", "--out", str(tmp_path / "o"), "--scheduler", address],
    )
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: --scheduler: no Dask scheduler answered at {address}")
    assert len(result.output.strip().splitlines()) == 1


def test_a_worker_answering_for_someone_else_writes_nothing_for_them(
    dask_in_process, stakeholder_list, runner, tmp_path: Path, monkeypatch
):
    real = cluster.remote_build

    def impostor(bundle, task, expected):  # runs on the cluster's workers (threads of this process)
        found = real(bundle, task, expected)
        if task.stakeholder.id == "victim":
            found["id"] = "other"
            found["files"] = [("html", b"<p>planted</p>", None)]
        return found

    monkeypatch.setattr(cluster, "remote_build", impostor)
    rows = [
        {"id": "victim", "name": "Vic", "organisation": "Target", "audience": "business"},
        {"id": "other", "name": "Oli", "organisation": "Bystander", "audience": "government"},
    ]
    out = tmp_path / "out"
    result = runner.invoke(
        main,
        [
            "batch",
            str(stakeholder_list(rows)),
            "--format",
            "html",
            "--out",
            str(out),
            "--scheduler",
            dask_in_process,
        ],
    )
    assert result.exit_code == 1
    assert "failed: victim: the worker returned a result for another stakeholder ('other')" in result.output
    assert sorted(p.name for p in out.glob("*.html")) == ["Bystander-Oli.html"]
    assert b"planted" not in (out / "Bystander-Oli.html").read_bytes()
