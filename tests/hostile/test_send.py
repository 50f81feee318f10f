"""Hostile input to ``briefgen send``: a manifest edited after the batch, a server that refuses
TLS or the login or answers with control characters, a planted send journal, a login in clear.

Everything is refused before the first message goes out (the real SMTP server on 127.0.0.1 then
holds nothing), with one line per problem naming the stakeholder, and no traceback."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from smtp_server import (
    ADDRESS,
    JOURNAL,
    SENDER,
    Recorder,
    briefgen_command,
    build_batch,
    invoke,
    journal,
    kill_while_blocked,
    states,
    write_list,
)

from .helpers import plant

PASSWORD = "Wr0ng-Horse-Battery-Staple-77"
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
PROCESS_S = 60  # a briefgen subprocess, start-up included
ADDRESSED = ("st-1", "st-2", "st-3")


@pytest.fixture
def out(mail_batch: Path, tmp_path: Path) -> Path:
    """A private copy of the html batch built once for the session."""
    return Path(shutil.copytree(mail_batch, tmp_path / "out"))


def send(out: Path, server, *args: str | Path):
    return invoke("send", out, "--from", SENDER, *server.flags(), *args)


def edit_manifest(out: Path, ident: str, change) -> None:
    """Apply ``change`` to the manifest entry of ``ident`` (as someone editing the file would)."""
    path = out / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    [entry] = [e for e in manifest["stakeholders"] if e["id"] == ident]
    change(entry)
    path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def assert_nothing_sent(server, out: Path) -> None:
    assert server.handler.connections == 0, "the server was contacted"
    assert server.handler.messages() == []
    assert not (out / JOURNAL).exists() or "sent" not in {r["state"] for r in journal(out)}


def assert_refused(result, *idents: str) -> list[str]:
    """Exit code 1, no traceback, and one problem line per stakeholder in ``idents``."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    lines = result.stderr.splitlines()
    assert lines and lines[0].startswith("Error:") and "nothing sent" in lines[0], lines
    problems = lines[1:]
    for ident in idents:
        assert any(line.startswith(f"{ident}: ") for line in problems), (ident, problems)
    assert all(re.match(r"st-\d: \S", line) for line in problems), problems
    return problems


# --- a manifest edited after the batch ------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "elira",
        "elira@example",
        "elira@@example.gov",
        "Elira <elira@example.gov>",
        "elira@example.gov, boss@example.com",
        "elira@example.gov\r\nBcc: everyone@example.com",
        "elira@[127.0.0.1]",
    ],
)
def test_an_invalid_address_in_the_manifest_stops_the_run_before_anything_is_sent(
    out: Path, smtp, address: str
):
    server = smtp()
    edit_manifest(out, "st-2", lambda entry: entry.update(email=address))
    result = send(out, server)
    assert len(assert_refused(result, "st-2")) == 1
    assert_nothing_sent(server, out)


@pytest.mark.parametrize("field", ["name", "organisation", "title"])
def test_a_line_break_in_a_header_field_stops_the_run_before_anything_is_sent(out: Path, smtp, field: str):
    server = smtp()
    edit_manifest(out, "st-3", lambda entry: entry.update({field: "Marko\r\nBcc: everyone@example.com"}))
    result = send(out, server)
    [problem] = assert_refused(result, "st-3")
    assert field in problem
    assert_nothing_sent(server, out)


def test_an_attachment_name_that_climbs_out_of_the_folder_is_refused(out: Path, smtp, tmp_path: Path):
    server = smtp()
    outside = tmp_path / "x.html"
    outside.write_bytes(b"<p>a file outside the output folder</p>")
    digest = hashlib.sha256(outside.read_bytes()).hexdigest()

    def climb(entry: dict) -> None:
        entry["files"][0].update(path="../x.html", bytes=outside.stat().st_size, sha256=digest)

    edit_manifest(out, "st-1", climb)
    result = send(out, server)
    [problem] = assert_refused(result, "st-1")
    assert "../x.html" in problem
    assert_nothing_sent(server, out)


def test_an_attachment_whose_sha256_does_not_match_is_refused(out: Path, smtp):
    server = smtp()
    edit_manifest(out, "st-2", lambda entry: entry["files"][0].update(sha256="0" * 64))
    result = send(out, server)
    assert_refused(result, "st-2")
    assert_nothing_sent(server, out)


def test_a_brief_changed_on_disk_after_the_batch_is_refused(out: Path, smtp):
    server = smtp()
    [name] = [p.name for p in out.glob("Balkan-Fibre-*.html")]
    data = (out / name).read_bytes()
    (out / name).write_bytes(data.replace(b"</body>", b"<p>slipped in</p></body>"))
    result = send(out, server)
    assert_refused(result, "st-3")
    assert_nothing_sent(server, out)


def test_an_attachment_replaced_by_a_link_to_an_identical_copy_outside_is_refused(
    out: Path, smtp, tmp_path: Path
):
    server = smtp()
    [brief] = out.glob("Adriatic-Cloud-*.html")
    copy = tmp_path / "copy.html"
    shutil.copyfile(brief, copy)  # same bytes, same sha256: only the link gives it away
    brief.unlink()
    brief.symlink_to(copy)
    result = send(out, server)
    assert_refused(result, "st-1")
    assert_nothing_sent(server, out)


def test_messages_over_the_size_limit_are_refused_before_anything_is_sent(out: Path, smtp):
    server = smtp()
    result = send(out, server, "--max-message-mb", "0.01")
    problems = assert_refused(result, "st-1", "st-2", "st-3")
    assert all("--max-message-mb" in p for p in problems), problems
    assert_nothing_sent(server, out)


def test_every_problem_of_the_list_is_reported_at_once(out: Path, smtp):
    server = smtp()
    edit_manifest(out, "st-1", lambda entry: entry.update(email="ana@localhost"))
    edit_manifest(out, "st-3", lambda entry: entry["files"][0].update(sha256="f" * 64))
    result = send(out, server)
    assert len(assert_refused(result, "st-1", "st-3")) == 2
    assert_nothing_sent(server, out)


@pytest.mark.parametrize(
    "sender",
    [
        "briefs@example.org, boss@example.org",
        "briefs@example.org\r\nBcc: everyone@example.com",
        "Briefs <briefs@example.org>, Boss <boss@example.org>",
    ],
)
def test_a_sender_that_is_not_one_address_is_refused_before_anything_is_sent(out: Path, smtp, sender: str):
    server = smtp()
    result = invoke("send", out, "--from", sender, *server.flags())
    assert result.exit_code in (1, 2), result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert result.stderr.startswith("Error:"), result.output
    assert_nothing_sent(server, out)


def test_an_unknown_id_for_only_is_a_usage_error(out: Path, smtp):
    server = smtp()
    result = send(out, server, "--only", "st-1,st-99")
    assert result.exit_code == 2, result.output
    assert "st-99" in result.output and "Traceback" not in result.output
    assert_nothing_sent(server, out)


# --- a server that refuses TLS or the login --------------------------------------------------------


def assert_stopped(result, server, out: Path, *needles: str) -> str:
    """Exit 1, one Error line holding the needles, nothing delivered, no message sent after the stop."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    assert server.handler.messages() == [] and server.handler.rcpt_seen == []
    assert server.handler.connections == 1, "the run went on after the first failure"
    assert "sent" not in {r["state"] for r in journal(out)}
    assert set(states(out)) <= {"st-1"}, states(out)  # nothing after the first message was tried
    return errors[0]


def test_a_server_without_starttls_stops_the_run_at_once(out: Path, smtp):
    server = smtp()  # plain, no STARTTLS offered
    result = send(out, server, "--smtp-security", "starttls")
    assert_stopped(result, server, out, "does not offer STARTTLS")


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_an_untrusted_certificate_stops_the_run_at_once(out: Path, smtp, mode: str):
    server = smtp(mode=mode)
    result = invoke("send", out, "--from", SENDER, *server.flags(trust=False))
    line = assert_stopped(result, server, out, "TLS")
    assert "certificate" in line.lower()


def test_a_refused_login_stops_the_run_after_the_first_attempt(
    out: Path, smtp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    handler = Recorder(users={"briefs-robot": "the-right-one"})
    server = smtp(handler, mode="starttls", auth=True, auth_exclude_mechanism=["LOGIN"])
    monkeypatch.setenv("BRIEFGEN_SMTP_PASSWORD", PASSWORD)
    result = send(out, server, "--smtp-user", "briefs-robot")
    assert_stopped(result, server, out, "refused the login", "535")
    assert handler.auth_attempts == [("PLAIN", "briefs-robot", False)]
    forms = [PASSWORD.encode(), base64.b64encode(f"\0briefs-robot\0{PASSWORD}".encode())]
    assert not any(form.decode() in result.output for form in forms)
    for path in tmp_path.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert not any(form in path.read_bytes() for form in forms), path


def test_a_login_without_a_password_and_no_terminal_is_a_usage_error(out: Path, smtp, monkeypatch):
    server = smtp()
    monkeypatch.delenv("BRIEFGEN_SMTP_PASSWORD", raising=False)
    result = send(out, server, "--smtp-user", "robot")
    assert result.exit_code == 2, result.output
    assert "BRIEFGEN_SMTP_PASSWORD" in result.output and "Traceback" not in result.output
    assert_nothing_sent(server, out)


@pytest.mark.parametrize("host", ["smtp.example.invalid", "10.1.2.3", "localhost.example.invalid"])
def test_a_login_in_clear_to_another_machine_is_refused_before_connecting(
    out: Path, host: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("BRIEFGEN_SMTP_PASSWORD", PASSWORD)
    result = invoke(
        "send",
        out,
        "--from",
        SENDER,
        "--smtp-host",
        host,
        "--smtp-security",
        "none",
        "--smtp-user",
        "robot",
        "--smtp-timeout",
        "2",
        "--retries",
        "0",
    )
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and "clear" in lines[0], lines
    assert PASSWORD not in result.output
    assert not (out / JOURNAL).exists()


# --- a server that answers with control characters ------------------------------------------------

NASTY = "\x1b[31mRED\x1b[0m \x07bell \rinner-cr \x00nul \x85nel \u2028ls \x9bcsi \x7fdel \x1b]0;title\x07 "


def test_control_characters_in_server_replies_stay_out_of_the_journal_and_the_terminal(out: Path, smtp):
    handler = Recorder(
        accept_reply=f"250 2.0.0 {NASTY}{'A' * 3000}",
        reject={"marko@example.net": f"550-5.7.1 {NASTY}\r\n550 5.7.1 second line {'B' * 3000}"},
    )
    server = smtp(handler)
    result = send(out, server)
    assert result.exit_code == 1, result.output  # st-3 refused
    assert len(handler.messages()) == 2
    raw = (out / JOURNAL).read_bytes()
    records = journal(out)  # every line is one JSON record (a split record would not parse)
    assert raw.count(b"\n") == len(records) == 6
    assert [r["state"] for r in records if r["id"] == "st-3"] == ["sending", "failed"]
    replies = [r["reply"] for r in records if r.get("reply")]
    assert len(replies) == 3
    for reply in replies:
        assert not CONTROL.search(reply), reply
        assert len(reply) <= 520
        assert "RED" in reply  # the words themselves are kept, escaped
    status = invoke("send", out, "--status", "--from", SENDER)
    for output in (result.output, status.output):
        assert "\x1b" not in output and "\x9b" not in output and "\x07" not in output, output
        assert not any(ch in output for ch in "\r\x00\x85\u2028"), output


# --- a planted send journal ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["link", "dangling-link", "folder", "dev-zero"])
def test_a_planted_journal_is_refused_and_what_it_points_to_stays_unchanged(
    out: Path, smtp, tmp_path: Path, kind: str
):
    server = smtp()
    secret = tmp_path / "elsewhere.jsonl"
    if kind == "dangling-link":
        (out / JOURNAL).symlink_to(secret)
    else:
        secret.write_bytes(b"precious, not a journal\n")
        plant(out / JOURNAL, {"link": "secret"}.get(kind, kind), secret)
    before = secret.read_bytes() if secret.exists() else None
    result = send(out, server)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "send journal" in errors[0], result.stderr
    assert server.handler.connections == 0 and server.handler.messages() == []
    assert (secret.read_bytes() if secret.exists() else None) == before
    assert os.path.lexists(out / JOURNAL)


def bounded(command: list[str], hung: str) -> tuple[int, bytes]:
    """Run ``command`` within :data:`PROCESS_S` (killed, and the test failed with ``hung``, past it);
    its exit code and standard error."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _, err = process.communicate(timeout=PROCESS_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate(timeout=10)
        pytest.fail(hung)
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    return process.returncode, err


def test_a_fifo_as_the_journal_is_refused_without_hanging(out: Path, smtp):
    server = smtp()
    plant(out / JOURNAL, "fifo")
    for extra in ([], ["--status"]):
        command = briefgen_command("send", out, "--from", SENDER, *server.flags(), *extra)
        code, err = bounded(command, f"briefgen send {' '.join(extra)} hung on a FIFO journal")
        assert code == 1, err.decode()
        assert b"send journal" in err and b"Traceback" not in err, err.decode()
    assert server.handler.connections == 0 and server.handler.messages() == []


GARBAGE = [
    b"not json at all",
    b"{}",
    b"[1, 2, 3]",
    b'{"id": "st-2", "state": "sent", "version": "zz", "message_id": "<x@y>"}',
    b'{"id": "st-3", "state": "teleported", "version": "' + b"a" * 64 + b'", "message_id": "<x@y>"}',
    b"[" * 100_000,
    b"\xff\xfe\x00 binary",
]


def test_garbage_lines_in_the_journal_are_skipped_with_a_warning_and_valid_records_honoured(out: Path, smtp):
    server = smtp()
    assert send(out, server, "--only", "st-1").exit_code == 0
    with open(out / JOURNAL, "ab") as handle:
        handle.write(b"\n".join(GARBAGE) + b"\n")
    result = send(out, server)
    assert result.exit_code == 0, result.output
    assert re.search(r"warning: .*7 line\(s\) of the send journal .*skipped", result.stderr), result.stderr
    assert "2 sent, 0 failed, 1 already sent" in result.stdout
    assert sorted(m.rcpt_tos[0] for m in server.handler.messages()) == sorted(ADDRESS[i] for i in ADDRESSED)


def readable_records(out: Path) -> list[dict]:
    """The journal's lines that are JSON objects (garbage skipped, as briefgen does)."""
    found = []
    for line in (out / JOURNAL).read_bytes().split(b"\n"):
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict):
                found.append(record)
    return found


def test_a_journal_ending_in_a_torn_line_still_keeps_the_next_message_uncertain(out: Path, smtp):
    """A crash can leave the journal's last line unfinished. The next run's first record must still
    be a line of its own: when that run is killed in turn, its message is uncertain (not sent again
    without --resend-uncertain), not "never tried"."""
    first = smtp()
    assert send(out, first, "--only", "st-1").exit_code == 0
    with open(out / JOURNAL, "ab") as handle:
        handle.write(b'{"at": 1, "id": "st-1", "state": "sen')  # torn: no line end
    server = smtp(Recorder(block="elira@example.gov"))
    command = briefgen_command("send", out, "--from", SENDER, *server.flags())
    code, _ = kill_while_blocked(command, server.handler)
    assert code == -9
    found: dict[str, list[str]] = {}
    for record in readable_records(out):
        found.setdefault(record["id"], []).append(record["state"])
    assert found == {"st-1": ["sending", "sent"], "st-2": ["sending"]}, found
    status = invoke("send", out, "--status", "--from", SENDER)
    assert re.search(r"^uncertain\s+1\s+st-2$", status.stdout, re.M), status.stdout
    resumed = send(out, server, "--no-wait")
    assert server.handler.to("elira@example.gov") == [], resumed.output  # at most once


def test_a_server_reply_that_echoes_the_password_is_masked_in_every_form() -> None:
    from briefgen.send.smtp import Connection, Server

    secret = "Tr0ub4dor-and-3"
    connection = Connection(Server("127.0.0.1", 2525, "none", user="desk", password=secret))
    plain_token = base64.b64encode(f"\0desk\0{secret}".encode()).decode()
    reply = f"535 no: {secret} / {base64.b64encode(secret.encode()).decode()} / {plain_token}"
    shown = connection.words(reply)
    assert secret not in shown and plain_token not in shown
    assert base64.b64encode(secret.encode()).decode() not in shown
    assert shown.count("***") == 3


def test_a_hard_link_as_the_journal_is_refused_and_its_other_name_stays_unchanged(
    out: Path, smtp, tmp_path: Path
) -> None:
    other = tmp_path / "someone-elses-file.txt"
    other.write_text("keep me\n", encoding="utf-8")
    os.link(other, out / JOURNAL)
    server = smtp(Recorder())
    result = send(out, server)
    assert result.exit_code == 1, result.output
    assert "hard link" in result.output
    assert other.read_text(encoding="utf-8") == "keep me\n"
    assert server.handler.messages() == []


def test_non_ascii_text_for_an_ascii_address_is_sent_in_seven_bits(tmp_path: Path, smtp) -> None:
    rows = (("st-1", "Zoë Ålander", "Ünïcode AB", "business", "zoe@example.com"),)
    out = build_batch(write_list(tmp_path / "list.csv", rows), tmp_path / "out")
    server = smtp(Recorder())
    result = send(out, server)
    assert result.exit_code == 0, result.output
    (received,) = server.handler.messages()
    assert received.data.isascii()  # no 8-bit byte, so a server without 8BITMIME takes it unchanged
    body = received.message().get_body(("plain",)).get_content()
    assert body.startswith("Dear Zoë Ålander,")


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_fifo_or_a_device_as_smtp_ca_is_refused_without_hanging(out: Path, smtp, tmp_path: Path, kind: str):
    server = smtp()
    ca = plant(tmp_path / "ca.pem", kind)
    flags = [*server.flags(trust=False), "--smtp-ca", str(ca)]
    command = briefgen_command("send", out, "--from", SENDER, *flags)
    code, err = bounded(command, f"briefgen send hung on a {kind} as --smtp-ca")
    assert code == 2, err.decode()
    assert b"--smtp-ca" in err and b"Traceback" not in err, err.decode()
    assert server.handler.connections == 0 and not (out / JOURNAL).exists()


def test_an_smtp_ca_that_is_not_pem_certificates_is_refused_before_connecting(
    out: Path, smtp, tmp_path: Path
):
    server = smtp()
    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    result = send(out, server, "--smtp-ca", ca)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert errors == [f"Error: --smtp-ca: {ca}: not PEM certificates (SSLError)"], result.output
    assert server.handler.connections == 0 and not (out / JOURNAL).exists()


def test_every_smtp_option_of_both_commands_is_a_send_setting() -> None:
    from briefgen.cli import main
    from briefgen.config import SMTP_ALLOWED, SMTP_NAMES

    for command in ("send", "batch"):
        names = {param.name for param in main.commands[command].params}
        assert set(SMTP_NAMES) <= names, command
    assert {name for name in names if name.startswith("smtp_")} <= SMTP_ALLOWED
