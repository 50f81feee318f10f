"""E-mail drafts and zips of a batch, as a recipient's mail client and an archiver would read them."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import pytest
from click.testing import CliRunner

from briefgen.cli import main
from briefgen.paths import builtin_content


def drafts(out: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted((out / "outbox").glob("*.eml"))}


@pytest.fixture
def two_lists(tmp_path: Path) -> Path:
    rows = "\n".join(
        [
            "id,name,organisation,audience,email",
            "a1,Ana Novak,Adriatic Cloud,business,ana@example.org",
            "g1,Zoë Brandt,Ministry of Examples,government,zoe@exämple.eu",
        ]
    )
    path = tmp_path / "list.csv"
    path.write_text(rows + "\n", encoding="utf-8")
    return path


def test_drafts_are_byte_identical_across_runs_with_source_date_epoch(
    tmp_path: Path, two_lists: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1750000000")
    runs = []
    for name in ("one", "two"):
        out = tmp_path / name
        args = ["batch", str(two_lists), "--content", str(builtin_content()), "--format", "html"]
        result = CliRunner().invoke(main, [*args, "--out", str(out), "--eml", "--from", "desk@example.org"])
        assert result.exit_code == 0, result.output
        runs.append(drafts(out))
    assert list(runs[0]) == ["Adriatic-Cloud-Ana-Novak.eml", "Ministry-of-Examples-Zoë-Brandt.eml"]
    assert runs[0] == runs[1]


def test_a_draft_parses_as_a_message_with_its_brief_attached(tmp_path: Path, two_lists: Path) -> None:
    out = tmp_path / "out"
    args = ["batch", str(two_lists), "--content", str(builtin_content()), "--format", "html"]
    result = CliRunner().invoke(main, [*args, "--out", str(out), "--eml"])
    assert result.exit_code == 0, result.output
    message = email.message_from_bytes(drafts(out)["Adriatic-Cloud-Ana-Novak.eml"], policy=policy.default)
    assert message["To"] == "Ana Novak <ana@example.org>"
    assert message.get_boundary().startswith("briefgen-")
    parts = list(message.iter_attachments())
    attachments = [(part.get_filename(), part.get_payload(decode=True)) for part in parts]
    assert [name for name, _ in attachments] == ["Adriatic-Cloud-Ana-Novak.html"]
    assert attachments[0][1] == (out / "Adriatic-Cloud-Ana-Novak.html").read_bytes()
    assert parts[0].get_content_charset() == "utf-8"  # a mail client shows "·" and "é" as written
    assert parts[0].get_content() == (out / "Adriatic-Cloud-Ana-Novak.html").read_text(encoding="utf-8")
    body = message.get_body(("plain",)).get_content()
    assert body.startswith("Dear Ana Novak,")
