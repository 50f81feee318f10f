"""A hostile output folder: a doctored manifest (paths that climb out, name another stakeholder's
file, are absolute; wrong types; a list, garbage, a FIFO, a huge or a linked manifest.json),
links planted in place of recorded files and of ``outbox``, hostile files in a --templates
folder or given as --reference-docx / LIST, ``templates eject`` into planted links,
``templates list`` on broken folders, and e-mail drafts for internationalised addresses.

What every test checks is what a reader would: no secret byte in any zip member or draft, zip
members named exactly as the plan names the files, nothing written outside the output folder,
and a run that ends (hostile files that could block run in a subprocess with a timeout)."""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import entries, manifest

from briefgen.cli import main

SECRET = b"TOP-SECRET-7d1f payroll of the minister\n"
ANN = {"id": "a1", "name": "Ann", "organisation": "Acme", "audience": "business", "email": "ann@acme.example"}
BO = {"id": "a2", "name": "Bo", "organisation": "Beta", "audience": "business", "email": "bo@beta.example"}
PLANNED = {"a1": "Acme-Ann.html", "a2": "Beta-Bo.html"}
TIMEOUT = 60


def batch(runner, listing: Path, out: Path, *extra: str):
    return runner.invoke(main, ["batch", str(listing), "--format", "html", "--out", str(out), *extra])


def briefgen(cwd: Path, *args: str | Path, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    """``briefgen ARGS`` in a subprocess: a hang fails the test after ``timeout`` instead of hanging CI."""
    command = [sys.executable, "-m", "briefgen", *(str(a) for a in args)]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def edit_entry(out: Path, ident: str, change) -> None:
    data = manifest(out)
    for entry in data["stakeholders"]:
        if entry["id"] == ident:
            change(entry)
    (out / "manifest.json").write_text(json.dumps(data), encoding="utf-8")


def point_at(record: dict, path: str, data: bytes) -> None:
    """Make a file record name ``path`` with the checksum and size of ``data`` (what an attacker does)."""
    record.update(path=path, sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))


def everything_sent(out: Path) -> list[tuple[str, bytes]]:
    """(where, bytes) of every zip member and every draft, raw and with each MIME part decoded."""
    found = []
    for archive_path in out.glob("*.zip"):
        with zipfile.ZipFile(archive_path) as archive:
            found += [(f"{archive_path.name}:{n}", archive.read(n)) for n in archive.namelist()]
    for draft in (out / "outbox").glob("*.eml") if (out / "outbox").is_dir() else []:
        raw = draft.read_bytes()
        found.append((draft.name, raw))
        message = email.message_from_bytes(raw, policy=email.policy.default)
        for part in message.walk():
            payload = part.get_payload(decode=True)
            if payload:
                found.append((f"{draft.name}:{part.get_filename()}", payload))
    return found


def zip_members(out: Path) -> list[str]:
    with zipfile.ZipFile(out / "briefs-html.zip") as archive:
        return sorted(archive.namelist())


def attachments(out: Path, stem: str) -> dict[str, bytes]:
    message = email.message_from_bytes(
        (out / "outbox" / f"{stem}.eml").read_bytes(), policy=email.policy.default
    )
    return {part.get_filename(): part.get_payload(decode=True) for part in message.iter_attachments()}


def outside(root: Path, out: Path) -> list[str]:
    """Files under ``root`` outside ``out`` changed after the first build (by name)."""
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file()
        and not p.is_symlink()
        and not p.is_relative_to(out)
        and p.suffix in (".html", ".eml", ".zip")
    )


@pytest.fixture
def built(stakeholder_list, runner, tmp_path: Path):
    """A finished batch of Ann and Bo (HTML) in ./out, plus a secret file beside it."""
    (tmp_path / "secret.txt").write_bytes(SECRET)
    listing = stakeholder_list([ANN, BO])
    out = tmp_path / "out"
    result = batch(runner, listing, out)
    assert result.exit_code == 0, result.output
    assert {i: e["files"][0]["path"] for i, e in entries(out).items()} == PLANNED
    return listing, out


def assert_clean_packages(out: Path, tmp_path: Path) -> None:
    assert zip_members(out) == sorted(PLANNED.values())
    for where, data in everything_sent(out):
        assert b"TOP-SECRET" not in data, where
    for name in PLANNED.values():
        stem = name.removesuffix(".html")
        assert list(attachments(out, stem)) == [name]
        assert attachments(out, stem)[name] == (out / name).read_bytes()
    assert outside(tmp_path, out) == []


# ----- the manifest's words are not believed --------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "bytes_of"),
    [
        ("../secret.txt", None),
        ("absolute", None),
        ("Beta-Bo.html", "Beta-Bo.html"),  # another stakeholder's file, with its true checksum
        ("./Acme-Ann.html", "Acme-Ann.html"),  # the right file under another spelling
        ("outbox/../Acme-Ann.html", "Acme-Ann.html"),
    ],
)
def test_a_recorded_path_other_than_the_planned_name_means_rebuild(
    built, runner, tmp_path: Path, where, bytes_of
):
    listing, out = built
    if where == "absolute":
        where = str(tmp_path / "secret.txt")
    data = (out / bytes_of).read_bytes() if bytes_of else SECRET
    edit_entry(out, "a1", lambda e: point_at(e["files"][0], where, data))
    result = batch(runner, listing, out, "--zip", "--eml")
    assert result.exit_code == 0, result.output
    assert "1 built, 1 unchanged, 0 failed" in result.output
    assert entries(out)["a1"]["files"][0]["path"] == "Acme-Ann.html"
    assert_clean_packages(out, tmp_path)
    ann = attachments(out, "Acme-Ann")["Acme-Ann.html"]
    assert b"Ann" in ann and b"Acme" in ann and b"Beta" not in ann
    assert (tmp_path / "secret.txt").read_bytes() == SECRET


def test_a_link_in_place_of_a_recorded_file_is_not_followed(built, runner, tmp_path: Path):
    listing, out = built
    (out / "Acme-Ann.html").unlink()
    (out / "Acme-Ann.html").symlink_to(tmp_path / "secret.txt")
    edit_entry(out, "a1", lambda e: point_at(e["files"][0], "Acme-Ann.html", SECRET))
    result = batch(runner, listing, out, "--zip", "--eml")
    assert result.exit_code == 0, result.output
    assert "1 built, 1 unchanged" in result.output
    assert not (out / "Acme-Ann.html").is_symlink()
    assert (tmp_path / "secret.txt").read_bytes() == SECRET  # the target was never written
    assert_clean_packages(out, tmp_path)


def test_a_link_to_a_true_copy_outside_is_not_believed_either(built, runner, tmp_path: Path):
    listing, out = built
    (tmp_path / "copy.html").write_bytes((out / "Acme-Ann.html").read_bytes())
    (out / "Acme-Ann.html").unlink()
    (out / "Acme-Ann.html").symlink_to(tmp_path / "copy.html")  # same bytes, same size: still a link
    result = batch(runner, listing, out, "--zip")
    assert "1 built, 1 unchanged" in result.output
    assert not (out / "Acme-Ann.html").is_symlink()


def _set(path: tuple, value):
    def change(entry):
        target = entry
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


@pytest.mark.parametrize(
    "change",
    [
        _set(("status",), True),
        _set(("status",), ["built"]),
        _set(("input_sha256",), ["x"]),
        _set(("input_sha256",), None),
        _set(("files",), {"format": "html"}),
        _set(("files",), "Acme-Ann.html"),
        _set(("files",), [None]),
        _set(("files",), []),
        _set(("files", 0, "bytes"), "999"),
        _set(("files", 0, "bytes"), True),
        _set(("files", 0, "bytes"), -1),
        _set(("files", 0, "sha256"), 5),
        _set(("files", 0, "sha256"), "z" * 64),
        _set(("files", 0, "pages"), "many"),
        _set(("files", 0, "format"), ["html"]),
        _set(("email",), ["ann@acme.example"]),
        _set(("email",), "mallory@evil.example"),
        lambda e: e["files"].append(dict(e["files"][0])),  # the same format twice
    ],
    ids=[
        "status-bool",
        "status-list",
        "input-list",
        "input-none",
        "files-dict",
        "files-str",
        "files-none-item",
        "files-empty",
        "bytes-str",
        "bytes-bool",
        "bytes-negative",
        "sha-int",
        "sha-not-hex",
        "pages-str",
        "format-list",
        "email-list",
        "email-other",
        "format-twice",
    ],
)
def test_wrong_types_in_a_manifest_entry_mean_rebuild(built, runner, tmp_path: Path, change):
    listing, out = built
    edit_entry(out, "a1", change)
    result = batch(runner, listing, out, "--zip", "--eml")
    assert result.exit_code == 0, result.output
    assert "internal error" not in result.output
    assert "1 built, 1 unchanged, 0 failed" in result.output
    entry = entries(out)["a1"]
    assert entry["status"] == "built" and entry["email"] == "ann@acme.example"
    assert entry["files"][0]["path"] == "Acme-Ann.html"
    assert_clean_packages(out, tmp_path)


@pytest.mark.parametrize(
    "text",
    [
        "[]",
        '"a string"',
        "{not json",
        "[" * 100_000 + "]" * 100_000,  # nesting deeper than the parser's recursion limit
        '{"stakeholders": 5}',
        '{"stakeholders": [5, null, "x", {"id": 7}, {"id": ["a1"]}]}',
        '{"stakeholders": [{"id": "a1", "status": "built", "files": [{"path": "../secret.txt"}]}]}',
        "\udcff",
    ],
    ids=["list", "string", "garbage", "deep", "count", "odd-entries", "partial", "not-utf8"],
)
def test_a_manifest_that_is_not_a_manifest_means_rebuild_everything(built, runner, tmp_path: Path, text):
    listing, out = built
    (out / "manifest.json").write_bytes(text.encode("utf-8", "surrogateescape"))
    result = batch(runner, listing, out, "--zip", "--eml")
    assert result.exit_code == 0, result.output
    assert "internal error" not in result.output
    assert "2 built, 0 unchanged, 0 failed" in result.output
    assert set(entries(out)) == {"a1", "a2"}
    assert_clean_packages(out, tmp_path)


def test_a_manifest_in_place_of_an_id_list_shows_only_plain_ids_in_the_note(built, runner):
    listing, out = built
    data = manifest(out)
    data["stakeholders"].append({"id": "gone\x1b[31mred"})
    data["stakeholders"].append({"id": "left-1"})
    (out / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    result = batch(runner, listing, out)
    assert "2 stakeholder(s) no longer in the list (left-1, ...)" in result.output
    assert "\x1b" not in result.output


def test_a_huge_manifest_is_not_read(built, runner):
    listing, out = built
    with (out / "manifest.json").open("wb") as handle:
        handle.truncate(200 * 1024 * 1024)  # sparse: 200 MB of nothing
    result = batch(runner, listing, out)
    assert result.exit_code == 0, result.output
    assert "manifest.json: 209,715,200 bytes, over the limit" in result.output
    assert "2 built, 0 unchanged" in result.output
    assert (out / "manifest.json").stat().st_size < 100_000


def test_a_fifo_or_a_link_planted_as_the_manifest_neither_hangs_nor_is_followed(built, tmp_path: Path):
    listing, out = built
    (out / "manifest.json").unlink()
    os.mkfifo(out / "manifest.json")
    run = briefgen(tmp_path, "batch", listing, "--format", "html", "--out", out)
    assert run.returncode == 0, run.stderr
    assert "manifest.json: not a regular file (a FIFO)" in run.stderr
    assert "2 built" in run.stdout
    assert (out / "manifest.json").is_file()

    forged = tmp_path / "forged.json"  # a manifest that would make Ann's brief the secret
    data = manifest(out)
    point_at(data["stakeholders"][0]["files"][0], "../secret.txt", SECRET)
    forged.write_text(json.dumps(data), encoding="utf-8")
    before = forged.read_bytes()
    (out / "manifest.json").unlink()
    (out / "manifest.json").symlink_to(forged)
    run = briefgen(tmp_path, "batch", listing, "--format", "html", "--out", out, "--zip", "--eml")
    assert run.returncode == 0, run.stderr
    assert "manifest.json: a symbolic link; not read" in run.stderr
    assert not (out / "manifest.json").is_symlink()
    assert forged.read_bytes() == before  # replaced, not written through
    assert_clean_packages(out, tmp_path)


def test_build_keeps_old_manifest_entries_only_for_plain_names_of_regular_files(runner, tmp_path: Path):
    out = tmp_path / "out"
    args = ["build", "--audience", "business", "--format", "html", "--out", str(out)]
    assert runner.invoke(main, args).exit_code == 0
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (out / "old.html").write_text("old", encoding="utf-8")
    (out / "link.html").symlink_to(tmp_path / "secret.txt")
    data = manifest(out)
    data["files"] += [
        {"path": "../secret.txt", "format": "html"},
        {"path": str(tmp_path / "secret.txt"), "format": "html"},
        {"path": "link.html", "format": "html"},
        {"path": "old.html", "format": "html", "evil": "x" * 10},
        {"path": ["old.html"]},
        "junk",
    ]
    (out / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    args[2] = "government"
    assert runner.invoke(main, args).exit_code == 0
    paths = [f["path"] for f in manifest(out)["files"]]
    assert paths == ["business-brief.html", "government-brief.html", "old.html"]
    assert "evil" not in manifest(out)["files"][2]


# ----- links planted as folders -------------------------------------------------------------------


def test_a_link_planted_as_the_outbox_is_refused_and_its_target_gets_nothing(
    stakeholder_list, runner, tmp_path: Path
):
    listing = stakeholder_list([ANN, BO])
    out = tmp_path / "out"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out.mkdir()
    (out / "outbox").symlink_to(elsewhere)
    result = batch(runner, listing, out, "--eml")
    assert result.exit_code == 1
    assert (
        f"Error: {out / 'outbox'}: a symbolic link, not a folder; nothing written through it" in result.output
    )
    assert list(elsewhere.iterdir()) == []
    assert (out / "outbox").is_symlink()
    assert entries(out)["a1"]["status"] == "built"  # the briefs and the manifest are still there


def test_a_link_planted_as_a_draft_is_replaced(stakeholder_list, runner, tmp_path: Path):
    listing = stakeholder_list([ANN])
    out = tmp_path / "out"
    (out / "outbox").mkdir(parents=True)
    (tmp_path / "victim.txt").write_bytes(b"keep")
    (out / "outbox" / "Acme-Ann.eml").symlink_to(tmp_path / "victim.txt")
    result = batch(runner, listing, out, "--eml")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "victim.txt").read_bytes() == b"keep"
    assert not (out / "outbox" / "Acme-Ann.eml").is_symlink()


def test_eject_replaces_planted_links_and_refuses_a_linked_subfolder(runner, tmp_path: Path):
    to = tmp_path / "mine"
    to.mkdir()
    victim = tmp_path / "victim.j2"
    (to / "business.html.j2").symlink_to(victim)  # dangling: eject would create the victim
    refused = runner.invoke(main, ["templates", "eject", "business", "--to", str(to)])
    assert refused.exit_code == 2 and "already exists" in refused.output  # a link counts as a file
    result = runner.invoke(main, ["templates", "eject", "business", "--to", str(to), "--force"])
    assert result.exit_code == 0, result.output
    assert not victim.exists()
    assert not (to / "business.html.j2").is_symlink() and (to / "business.html.j2").is_file()

    other = tmp_path / "other"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    other.mkdir()
    (other / "css").symlink_to(elsewhere)
    result = runner.invoke(main, ["templates", "eject", "business", "--to", str(other)])
    assert result.exit_code == 1
    assert f"{other / 'css'}: a symbolic link, not a folder; nothing written through it" in result.output
    assert list(elsewhere.iterdir()) == []


def test_templates_list_names_each_hostile_file_and_goes_on(tmp_path: Path):
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "business.html.j2").write_text('{% extends "base.html.j2" %}\n{% block x %}{% if %}\n')
    os.mkfifo(folder / "government.html.j2")
    os.mkfifo(folder / "pipe.css")
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (folder / "leak.html.j2").symlink_to(tmp_path / "secret.txt")
    (folder / "broken.css").symlink_to(tmp_path / "nowhere")
    run = briefgen(tmp_path, "templates", "list", "--templates", folder)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    business = next(line for line in lines if line.startswith("business.html.j2"))
    assert "[tpl]" in business and "does not parse: line 2" in business
    assert any(line.startswith("government.html.j2") and "FIFO" in line for line in lines), lines
    assert any(line.startswith("leak.html.j2") and "a link out" in line for line in lines), lines
    assert "pipe.css  [tpl]  (not read: a FIFO)" in lines
    assert "broken.css  [tpl]  (not read: a broken link)" in lines
    assert "macros.html.j2  [built-in]" in run.stdout
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    assert b"TOP-SECRET" not in run.stdout.encode()


# ----- hostile inputs given by flags or found in --templates ----------------------------------------


def test_sparse_fifo_and_linked_files_in_a_template_folder_are_not_read(stakeholder_list, tmp_path: Path):
    listing = stakeholder_list([ANN])
    folder = tmp_path / "tpl"
    folder.mkdir()
    with (folder / "huge.woff2").open("wb") as handle:
        handle.truncate(512 * 1024 * 1024)
    os.mkfifo(folder / "pipe.css")
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (folder / "leak.css").symlink_to(tmp_path / "secret.txt")
    out = tmp_path / "out"
    run = briefgen(
        tmp_path, "batch", listing, "--format", "html", "--out", out, "--templates", folder, "--zip"
    )
    assert run.returncode == 0, run.stderr
    assert "1 built" in run.stdout
    for name, reason in (
        ("huge.woff2", "over the limit"),
        ("pipe.css", "a FIFO"),
        ("leak.css", "a link out"),
    ):
        assert any(name in line and reason in line for line in run.stderr.splitlines()), (name, run.stderr)
    for where, data in everything_sent(out):
        assert b"TOP-SECRET" not in data, where
    again = briefgen(tmp_path, "batch", listing, "--format", "html", "--out", out, "--templates", folder)
    assert "0 built, 1 unchanged" in again.stdout  # the digest of what was not read is stable


@pytest.mark.parametrize("kind", ["fifo", "zero"])
@pytest.mark.parametrize("flag", ["--reference-docx", "LIST"])
def test_a_fifo_or_a_device_given_as_reference_docx_or_list_is_refused_before_any_work(
    stakeholder_list, tmp_path: Path, flag, kind
):
    listing = stakeholder_list([ANN])
    if kind == "fifo":
        hostile = tmp_path / "hostile.docx"
        os.mkfifo(hostile)
    else:
        hostile = Path("/dev/zero")
    out = tmp_path / "out"
    args = (
        [hostile, "--format", "docx", "--out", out]
        if flag == "LIST"
        else [listing, "--out", out, flag, hostile]
    )
    run = briefgen(tmp_path, "batch", *args, timeout=30)
    assert run.returncode == 2, run.stderr
    (message,) = [line for line in run.stderr.splitlines() if line.startswith("Error:")]
    assert f"{flag}: {hostile}: not a regular file" in message
    assert not out.exists()


# ----- e-mail drafts ------------------------------------------------------------------------------


def test_drafts_for_an_internationalised_and_an_ascii_address(stakeholder_list, runner, tmp_path: Path):
    rows = [
        {
            "id": "z1",
            "name": "Zoë Ünal",
            "organisation": "Exämple",
            "audience": "business",
            "email": "zoë@exämple.eu",
        },
        {
            "id": "a1",
            "name": "Ana",
            "organisation": "Example",
            "audience": "business",
            "email": "ana@example.org",
        },
    ]
    listing = stakeholder_list(rows)
    out = tmp_path / "out"
    result = batch(runner, listing, out, "--eml", "--from", "Désk <desk@briefs.example>")
    assert result.exit_code == 0, result.output
    drafts = {p.name: p.read_bytes() for p in (out / "outbox").glob("*.eml")}
    assert sorted(drafts) == ["Example-Ana.eml", "Exämple-Zoë-Ünal.eml"]
    for name, address, display in (
        ("Exämple-Zoë-Ünal.eml", "zoë@exämple.eu", "Zoë Ünal"),
        ("Example-Ana.eml", "ana@example.org", "Ana"),
    ):
        # UTF-8 headers (RFC 6532): the standard library parses them from text, not from bytes
        message = email.message_from_string(drafts[name].decode("utf-8"), policy=email.policy.default)
        (to,) = message["To"].addresses
        assert (to.addr_spec, to.display_name) == (address, display)
        assert message["From"].addresses[0].display_name == "Désk"
        html = name.replace(".eml", ".html")
        assert attachments(out, name.removesuffix(".eml")) == {html: (out / html).read_bytes()}
    assert drafts["Example-Ana.eml"].isascii()  # an ASCII address stays a plain RFC 5322 message...
    assert "zoë@exämple.eu".encode() in drafts["Exämple-Zoë-Ünal.eml"]  # ...the other is RFC 6532


def test_a_draft_that_cannot_be_made_fails_alone(stakeholder_list, runner, tmp_path: Path):
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "email.txt.j2").write_text(
        "Subject: Brief\n\n{% if stakeholder.id == 'a2' %}{{ 1 // 0 }}{% endif %}"
        "Dear {{ stakeholder.name }}\n",
        encoding="utf-8",
    )
    listing = stakeholder_list([ANN, BO])
    out = tmp_path / "out"
    result = batch(runner, listing, out, "--eml", "--templates", str(folder))
    assert result.exit_code == 1
    assert "2 built, 0 unchanged, 0 failed" in result.output
    (line,) = [line for line in result.output.splitlines() if "no e-mail draft for" in line]
    assert line.startswith("failed: no e-mail draft for a2: ") and "ZeroDivisionError" in line
    assert [p.name for p in (out / "outbox").glob("*.eml")] == ["Acme-Ann.eml"]
