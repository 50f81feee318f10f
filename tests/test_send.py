"""Sending a finished batch by e-mail through a real SMTP server (aiosmtpd on 127.0.0.1): each
stakeholder gets their brief once, the journal says what happened, failures stay alone and are
classified, a run killed mid-way resumes without sending anything twice."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import re
import shutil
import socket
import threading
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

SECRET = "Pw-7f3Kq!zebra-Lantern-90210"  # a password no file or output may hold
ADDRESSED = ("st-1", "st-2", "st-3")


@pytest.fixture
def out(mail_batch: Path, tmp_path: Path) -> Path:
    """A private copy of the html batch built once for the session."""
    return Path(shutil.copytree(mail_batch, tmp_path / "out"))


def entries(out: Path) -> dict[str, dict]:
    import json

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return {entry["id"]: entry for entry in manifest["stakeholders"]}


def send(out: Path, server, *args: str | Path):
    return invoke("send", out, "--from", SENDER, *server.flags(), *args)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def attachments(message) -> dict[str, bytes]:
    return {part.get_filename(): part.get_payload(decode=True) for part in message.iter_attachments()}


def one_each(handler: Recorder, ids: tuple[str, ...] = ADDRESSED) -> None:
    """The server holds exactly one message for each of ``ids``, and nothing else."""
    got = sorted(m.rcpt_tos for m in handler.messages())
    assert got == sorted((ADDRESS[i],) for i in ids), got


def sent_records(out: Path) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for record in journal(out):
        if record["state"] == "sent":
            found.setdefault(record["id"], []).append(record)
    return found


# --- delivering ------------------------------------------------------------------------------------


def test_a_plain_send_delivers_each_stakeholder_their_brief_once_and_journals_it(out: Path, smtp):
    server = smtp(Recorder(accept_reply=lambda rcpt: f"250 2.0.0 Ok: queued as Q-{rcpt.split('@')[0]}"))
    result = send(out, server)
    assert result.exit_code == 0, result.output
    one_each(server.handler)
    found = entries(out)
    records = journal(out)
    for ident in ADDRESSED:
        entry = found[ident]
        [received] = server.handler.to(ADDRESS[ident])
        assert received.mail_from == SENDER
        message = received.message()
        assert [a.addr_spec for a in message["To"].addresses] == [ADDRESS[ident]]
        assert message["To"].addresses[0].display_name == entry["name"]
        assert message["From"].addresses[0].addr_spec == SENDER
        assert message["Subject"] == f"Your briefing: {entry['title']}"
        assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", message["Message-ID"])
        got = attachments(message)
        assert sorted(got) == sorted(f["path"] for f in entry["files"])
        for record in entry["files"]:
            assert sha(got[record["path"]]) == sha((out / record["path"]).read_bytes()) == record["sha256"]
        mine = [r for r in records if r["id"] == ident]
        assert [r["state"] for r in mine] == ["sending", "sent"]
        assert mine[1]["reply"] == f"2.0.0 Ok: queued as Q-{ADDRESS[ident].split('@')[0]}"
        assert mine[1]["code"] == 250
        assert {r["message_id"] for r in mine} == {message["Message-ID"]}
        assert all(r["to"] == ADDRESS[ident] for r in mine)
        assert mine[1]["attachments"] == [{"name": f["path"], "sha256": f["sha256"]} for f in entry["files"]]
    assert "st-4" not in states(out)
    assert re.search(r"no e-mail address: .*st-4", result.output), result.output
    assert "3 sent, 0 failed" in result.stdout


def test_a_second_run_sends_nothing_and_says_already_sent(out: Path, smtp):
    server = smtp()
    assert send(out, server).exit_code == 0
    lines = len(journal(out))
    again = send(out, server)
    assert again.exit_code == 0, again.output
    assert "0 sent, 0 failed, 3 already sent" in again.stdout
    one_each(server.handler)
    assert len(journal(out)) == lines


def test_starttls_with_a_login_delivers_and_the_password_is_written_nowhere(
    out: Path, smtp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    server = smtp(Recorder(users={"briefs-robot": SECRET}), mode="starttls", auth=True)
    monkeypatch.setenv("BRIEFGEN_SMTP_PASSWORD", SECRET)
    result = send(out, server, "--smtp-user", "briefs-robot")
    assert result.exit_code == 0, result.output
    one_each(server.handler)
    assert server.handler.auth_attempts == [("PLAIN", "briefs-robot", True)]
    # the password as typed, and as AUTH PLAIN and LOGIN carry it
    forms = [SECRET.encode(), base64.b64encode(f"\0briefs-robot\0{SECRET}".encode())]
    forms.append(base64.b64encode(SECRET.encode()))
    assert not any(form.decode() in result.output for form in forms)
    for path in tmp_path.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            assert not any(form in data for form in forms), path
    for received in server.handler.messages():
        assert SECRET.encode() not in received.data


def test_implicit_tls_delivers(out: Path, smtp):
    server = smtp(mode="ssl")
    result = send(out, server)
    assert result.exit_code == 0, result.output
    one_each(server.handler)


# --- failures stay alone -------------------------------------------------------------------------


def test_a_recipient_refused_with_550_fails_alone_with_the_servers_words(out: Path, smtp):
    words = "5.1.1 <elira@example.gov>: Recipient address rejected: mailbox unavailable"
    server = smtp(Recorder(reject={"elira@example.gov": f"550 {words}"}))
    result = send(out, server)
    assert result.exit_code == 1, result.output
    one_each(server.handler, ("st-1", "st-3"))
    failed = [r for r in journal(out) if r["id"] == "st-2"]
    assert [r["state"] for r in failed] == ["sending", "failed"]
    assert failed[1]["code"] == 550 and failed[1]["reply"] == words
    assert states(out)["st-1"] == states(out)["st-3"] == ["sending", "sent"]
    assert f"failed: st-2: 550 {words}" in result.stderr


@pytest.mark.parametrize("where", ["RCPT", "DATA"])
def test_a_server_that_answers_451_twice_then_accepts_gets_the_message_once(out: Path, smtp, where: str):
    server = smtp(Recorder(tempfail={"ana@example.com": 2}, tempfail_at=where))
    result = send(out, server)
    assert result.exit_code == 0, result.output
    one_each(server.handler)
    assert result.stderr.count("retrying st-1: 451 4.7.1 Greylisted") == 2, result.stderr
    assert states(out)["st-1"] == ["sending", "sent"]


def test_a_server_that_keeps_answering_451_fails_the_message_after_the_bounded_retries(out: Path, smtp):
    server = smtp(Recorder(tempfail={"ana@example.com": 100}))
    result = send(out, server, "--retries", "2")
    assert result.exit_code == 1, result.output
    assert server.handler.rcpt_seen.count("ana@example.com") == 3  # one try and two retries
    one_each(server.handler, ("st-2", "st-3"))
    last = [r for r in journal(out) if r["id"] == "st-1"][-1]
    assert last["state"] == "failed" and last["code"] == 451
    assert "after 2 retries" in last["reply"]


def test_a_connection_dropped_after_the_final_dot_leaves_that_message_uncertain_not_resent(out: Path, smtp):
    # the server had the whole message and went away without a reply: it may have queued it, so
    # sending again could give the stakeholder two copies (RFC 1047): at most once by default
    server = smtp(Recorder(drop={"elira@example.gov": 1}))
    result = send(out, server)
    assert result.exit_code == 1, result.output  # something needs a look
    assert "uncertain st-2:" in result.stderr, result.stderr
    assert states(out)["st-2"] == ["sending"]
    one_each(server.handler, ("st-1", "st-3"))
    again = send(out, server)
    assert again.exit_code == 0, again.output
    assert "left uncertain by an interrupted run" in again.stderr and "st-2" in again.stderr
    one_each(server.handler, ("st-1", "st-3"))  # nothing sent twice, st-2 not sent blind
    resent = send(out, server, "--resend-uncertain")
    assert resent.exit_code == 0, resent.output
    one_each(server.handler)
    assert states(out)["st-2"] == ["sending", "sending", "sent"]
    ids = {r["message_id"] for r in journal(out) if r["id"] == "st-2"}
    assert len(ids) == 1  # the resend carries the same Message-ID


class DropAtData(threading.Thread):
    """A raw SMTP server on 127.0.0.1 whose first session closes when asked for DATA, before any
    of the message went out; later sessions take the message. Bounded: every socket times out."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(10)
        self.port = self.listener.getsockname()[1]
        self.sessions = 0
        self.stored: list[bytes] = []
        self.stopping = False

    def run(self) -> None:
        while not self.stopping:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.sessions += 1
            with conn:
                conn.settimeout(10)
                with contextlib.suppress(OSError):
                    self.serve(conn, cut=self.sessions == 1)

    def serve(self, conn: socket.socket, cut: bool) -> None:
        reader = conn.makefile("rb")
        conn.sendall(b"220 127.0.0.1 ESMTP test\r\n")
        while True:
            line = reader.readline(1000)
            if not line:
                return
            verb = line[:4].upper()
            if verb == b"EHLO":
                conn.sendall(b"250-127.0.0.1\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                if cut:
                    return  # closed before the message: nothing to deliver, safe to send again
                conn.sendall(b"354 go ahead\r\n")
                body = b""
                while not body.endswith(b"\r\n.\r\n"):
                    chunk = reader.readline(100000)
                    if not chunk:
                        return
                    body += chunk
                self.stored.append(body)
                conn.sendall(b"250 2.0.0 queued\r\n")
            elif verb == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                conn.sendall(b"250 OK\r\n")

    def stop(self) -> None:
        self.stopping = True
        self.listener.close()
        self.join(timeout=10)


def test_a_connection_dropped_before_the_message_went_out_is_retried_and_delivered_once(out: Path):
    server = DropAtData()
    server.start()
    try:
        flags = ["--smtp-host", "127.0.0.1", "--smtp-port", str(server.port), "--smtp-security", "none"]
        result = invoke("send", out, "--from", SENDER, *flags, "--retry-wait", "0.05", "--only", "st-1")
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    assert "retrying st-1:" in result.stderr, result.stderr
    assert len(server.stored) == 1 and server.sessions == 2
    assert states(out)["st-1"] == ["sending", "sent"]


def test_a_server_that_refuses_the_sender_stops_the_run_at_once(out: Path, smtp):
    server = smtp(Recorder(mail_reply="553 5.7.1 Sender address rejected: not owned by user"))
    result = send(out, server)
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "refused the sender" in errors[0] and "553" in errors[0], result.stderr
    assert server.handler.messages() == [] and server.handler.rcpt_seen == []
    assert states(out) == {"st-1": ["sending", "failed"]}  # stopped at the first message


def test_an_internationalised_address_is_sent_as_utf8_mail_and_refused_alone_without_smtputf8(
    tmp_path: Path, smtp
):
    rows = (
        ("st-1", "Zoë Ålander", "Ünïcode AB", "business", "zoë@exämple.eu"),
        ("st-2", "Ana Novak", "Adriatic Cloud", "business", "ana@example.com"),
    )
    out = build_batch(write_list(tmp_path / "list.csv", rows), tmp_path / "out")
    plain = smtp(enable_SMTPUTF8=False)
    result = send(out, plain)
    assert result.exit_code == 1, result.output
    assert [m.rcpt_tos for m in plain.handler.messages()] == [("ana@example.com",)]
    assert "failed: st-1: 553" in result.stderr and "SMTPUTF8" in result.stderr
    modern = smtp()  # aiosmtpd offers SMTPUTF8 by default
    again = send(out, modern)
    assert again.exit_code == 0, again.output
    [received] = modern.handler.messages()
    assert received.rcpt_tos == ("zoë@exämple.eu",)
    message = received.message()
    assert message["To"].addresses[0].addr_spec == "zoë@exämple.eu"
    assert message["To"].addresses[0].display_name == "Zoë Ålander"


def test_a_send_killed_mid_run_resumes_without_sending_anything_twice(out: Path, smtp):
    server = smtp(Recorder(block="elira@example.gov"))
    command = briefgen_command("send", out, "--from", SENDER, *server.flags())
    code, _ = kill_while_blocked(command, server.handler)
    assert code == -9
    one_each(server.handler, ("st-1",))
    assert states(out) == {"st-1": ["sending", "sent"], "st-2": ["sending"]}

    status = invoke("send", out, "--status", "--from", SENDER)
    assert status.exit_code == 0, status.output
    assert re.search(r"^uncertain\s+1\s+st-2$", status.stdout, re.M), status.stdout

    resumed = send(out, server, "--no-wait")
    assert resumed.exit_code == 0, resumed.output
    assert re.search(r"uncertain.*: st-2", resumed.output), resumed.output
    one_each(server.handler, ("st-1", "st-3"))

    uncertain = send(out, server, "--no-wait", "--resend-uncertain")
    assert uncertain.exit_code == 0, uncertain.output
    one_each(server.handler)
    records = sent_records(out)
    assert {ident: len(found) for ident, found in records.items()} == {"st-1": 1, "st-2": 1, "st-3": 1}
    for ident in ADDRESSED:
        [received] = server.handler.to(ADDRESS[ident])
        assert received.message()["Message-ID"] == records[ident][0]["message_id"]
    # the resent message carries the Message-ID of the uncertain one, so a mail system can drop a copy
    first_try = next(r for r in journal(out) if r["id"] == "st-2")
    assert first_try["message_id"] == records["st-2"][0]["message_id"]


# --- choosing what goes --------------------------------------------------------------------------


def test_a_dry_run_lists_who_would_get_what_and_the_server_hears_nothing(out: Path, smtp):
    server = smtp()
    result = send(out, server, "--dry-run")
    assert result.exit_code == 0, result.output
    assert server.handler.connections == 0 and server.handler.messages() == []
    assert not (out / JOURNAL).exists()
    found = entries(out)
    sizes = []
    for ident in ADDRESSED:
        [name] = [f["path"] for f in found[ident]["files"]]
        line = re.search(
            rf"would send {ident} to {re.escape(ADDRESS[ident])}: {re.escape(name)} \(([\d,]+) bytes\)",
            result.stdout,
        )
        assert line, result.stdout
        sizes.append(int(line.group(1).replace(",", "")))
        assert sizes[-1] > (out / name).stat().st_size  # the message carries the whole file
    assert f"3 message(s), {sum(sizes) / 1048576:.1f} MB in all; nothing sent" in result.stdout
    assert "st-4" not in re.findall(r"would send (\S+)", result.stdout)


def test_only_and_limit_send_just_those(out: Path, smtp):
    server = smtp()
    only = send(out, server, "--only", "st-2")
    assert only.exit_code == 0, only.output
    one_each(server.handler, ("st-2",))
    assert set(states(out)) == {"st-2"}
    limited = send(out, server, "--limit", "1")
    assert limited.exit_code == 0, limited.output
    one_each(server.handler, ("st-1", "st-2"))
    assert set(states(out)) == {"st-1", "st-2"}


def test_status_counts_sent_failed_uncertain_and_not_yet_sent(out: Path, smtp):
    server = smtp(Recorder(reject={"marko@example.net": "550 5.7.1 Not wanted here"}))
    result = send(out, server, "--only", "st-1,st-3")
    assert result.exit_code == 1, result.output
    status = invoke("send", out, "--status", "--from", SENDER)
    assert status.exit_code == 0, status.output
    counts = dict(re.findall(r"^([a-z][a-z ]*?)\s+(\d+)\b", status.stdout, re.M))
    assert counts == {
        "sent": "1",
        "rebuilt since sent": "0",
        "failed": "1",
        "uncertain": "0",
        "not yet sent": "1",
        "no address": "1",
        "not built": "0",
    }, status.stdout
    assert "failed st-3: 550 5.7.1 Not wanted here" in status.stdout
    assert re.search(r"^not yet sent\s+1\s+st-2$", status.stdout, re.M)
    assert len(server.handler.messages()) == 1  # the status sent nothing


def test_a_rebuilt_brief_is_sent_again_only_with_resend_changed(out: Path, smtp, tmp_path: Path):
    server = smtp()
    assert send(out, server).exit_code == 0
    templates = tmp_path / "tpl"
    templates.mkdir()
    for audience in ("business", "government"):
        (templates / f"{audience}.html.j2").write_text(
            f'{{% extends "builtin/{audience}.html.j2" %}}\n{{% block colophon %}}\n'
            "<p>Revised edition R2</p>\n{% endblock %}\n",
            encoding="utf-8",
        )
    build_batch(write_list(tmp_path / "list.csv"), out, "--force", "--templates", templates)
    found = entries(out)
    for ident in ADDRESSED:
        [(_, data)] = attachments(server.handler.to(ADDRESS[ident])[0].message()).items()
        assert sha(data) != found[ident]["files"][0]["sha256"]  # every brief has new bytes

    again = send(out, server)
    assert again.exit_code == 0, again.output
    one_each(server.handler)
    assert re.search(r"rebuilt since they were sent.*: st-1, st-2, st-3$", again.output, re.M), again.output
    status = invoke("send", out, "--status", "--from", SENDER)
    assert re.search(r"^rebuilt since sent\s+3\s+st-1, st-2, st-3$", status.stdout, re.M), status.stdout

    changed = send(out, server, "--resend-changed")
    assert changed.exit_code == 0, changed.output
    for ident in ADDRESSED:
        earlier, newest = (m.message() for m in server.handler.to(ADDRESS[ident]))
        [(_, data)] = attachments(newest).items()
        assert b"Revised edition R2" in data
        assert (
            sha(data)
            == found[ident]["files"][0]["sha256"]
            == sha((out / found[ident]["files"][0]["path"]).read_bytes())
        )
        assert newest["Message-ID"] != earlier["Message-ID"]  # a new version, a new message
    assert {ident: len(sent) for ident, sent in sent_records(out).items()} == dict.fromkeys(ADDRESSED, 2)
    assert "0 sent" in send(out, server, "--resend-changed").stdout  # and not a third time


def test_a_rebuilt_brief_left_uncertain_by_a_crash_is_not_sent_again_by_resend_changed(
    out: Path, smtp, tmp_path: Path
):
    """--resend-changed sends a new version; when that run is killed mid-message, the new version
    is uncertain like any other: running the same command again must not send it a second time."""
    first = smtp()
    assert send(out, first).exit_code == 0
    templates = tmp_path / "tpl"
    templates.mkdir()
    (templates / "government.html.j2").write_text(
        '{% extends "builtin/government.html.j2" %}\n{% block colophon %}\n<p>Revised edition R2</p>\n'
        "{% endblock %}\n",
        encoding="utf-8",
    )
    build_batch(write_list(tmp_path / "list.csv"), out, "--force", "--templates", templates)
    server = smtp(Recorder(block="elira@example.gov"))
    command = briefgen_command("send", out, "--from", SENDER, *server.flags(), "--resend-changed")
    code, _ = kill_while_blocked(command, server.handler)
    assert code == -9
    assert states(out)["st-2"] == ["sending", "sent", "sending"]
    status = invoke("send", out, "--status", "--from", SENDER)
    again = send(out, server, "--no-wait", "--resend-changed")
    assert again.exit_code == 0, again.output
    assert server.handler.to("elira@example.gov") == [], again.output  # at most once
    assert re.search(r"uncertain.*: st-2", again.output), again.output
    assert re.search(r"^uncertain\s+1\s+st-2$", status.stdout, re.M), status.stdout


def test_a_rate_spaces_the_messages_as_the_server_receives_them(out: Path, smtp):
    server = smtp()
    result = send(out, server, "--rate", "120/min")
    assert result.exit_code == 0, result.output
    times = sorted(m.at for m in server.handler.messages())
    assert len(times) == 3
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # the first message also carried the connection's set-up, so its gap to the next may be shorter
    assert gaps[0] >= 0.35 and gaps[1] >= 0.45, gaps


def test_batch_with_send_builds_and_sends_in_one_run(tmp_path: Path, smtp):
    server = smtp()
    out = tmp_path / "both"
    stakeholders = write_list(tmp_path / "list.csv")
    result = invoke(
        "batch", stakeholders, "--format", "html", "--out", out, "--send",
        "--from", f"Briefing Desk <{SENDER}>", *server.flags(),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    one_each(server.handler)
    found = entries(out)
    for ident in ADDRESSED:
        [received] = server.handler.to(ADDRESS[ident])
        assert received.mail_from == SENDER
        sender = received.message()["From"].addresses[0]
        assert (sender.display_name, sender.addr_spec) == ("Briefing Desk", SENDER)
        [(name, data)] = attachments(received.message()).items()
        assert sha(data) == found[ident]["files"][0]["sha256"] == sha((out / name).read_bytes())
    assert {ident: s[-1] for ident, s in states(out).items()} == dict.fromkeys(ADDRESSED, "sent")


# --- settings ---------------------------------------------------------------------------------------


def test_send_settings_come_from_the_send_table_of_briefgen_toml(out: Path, smtp, tmp_path: Path):
    server = smtp()
    config = tmp_path / "settings.toml"
    config.write_text(
        f'[send]\nsmtp_host = "127.0.0.1"\nsmtp_port = {server.port}\nsmtp_security = "none"\n'
        f'from = "desk@example.net"\nretry_wait = 0.05\n',
        encoding="utf-8",
    )
    result = invoke("--config", config, "send", out)
    assert result.exit_code == 0, result.output
    one_each(server.handler)
    for received in server.handler.messages():
        assert received.mail_from == "desk@example.net"
        assert received.message()["From"].addresses[0].addr_spec == "desk@example.net"
    # the Message-ID is in the sender's domain
    assert all(r["message_id"].endswith("@example.net>") for r in journal(out))


@pytest.mark.parametrize(
    ("table", "key"),
    [("send", "password"), ("send", "smtp-password"), ("send", "smtp_password"), ("send", "Password"),
     ("batch", "password")],
)  # fmt: skip
def test_a_password_in_briefgen_toml_is_refused_with_one_line(
    out: Path, smtp, tmp_path: Path, table: str, key: str
):
    server = smtp()
    config = tmp_path / "settings.toml"
    config.write_text(
        f'[send]\nsmtp_host = "127.0.0.1"\nsmtp_port = {server.port}\nsmtp_security = "none"\n'
        f'smtp_user = "robot"\n' + (f"[{table}]\n" if table != "send" else "") + f'{key} = "{SECRET}"\n',
        encoding="utf-8",
    )
    result = invoke("--config", config, "send", out, "--from", SENDER)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and "password" in lines[0].lower(), lines
    assert SECRET not in result.output
    assert "Traceback" not in result.output
    assert server.handler.connections == 0 and not (out / JOURNAL).exists()
