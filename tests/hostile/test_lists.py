"""Hostile stakeholder lists: files that are not files, line breaks that would break an e-mail
header, addresses that are not one address, YAML values that are not text, over-long cells and
broken CSV. Each is refused before any work with one line per problem naming file:line:col and
the field, exit code 1, no traceback and nothing written."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from briefgen.errors import ContentError
from briefgen.stakeholders import COLUMNS, address_problem, load, parse_csv, read

from .helpers import Run, cli

HEADER = ",".join(COLUMNS) + "\n"
PROBLEM_LINE = re.compile(r"^list\.(csv|yaml):\d+:\d+: ")


def batch(root: Path, listing: Path) -> Run:
    return cli(root, "batch", listing, "--format", "html", "--out", root / "out")


def assert_refused(run: Run, *needles: str) -> list[str]:
    """Exit code 1, no traceback, each needle on a problem line of its own, nothing written."""
    output = run.result.output
    assert run.code == 1, output
    assert isinstance(run.result.exception, SystemExit), run.result.exception
    assert "Traceback" not in output and "internal error" not in output, output
    first, *problems = run.stderr.splitlines()
    assert first.startswith("Error: ") and first.endswith(":"), run.stderr
    assert problems and all(PROBLEM_LINE.match(line) for line in problems), run.stderr
    for needle in needles:
        assert any(line.startswith(needle) for line in problems), (needle, run.stderr)
    assert run.changed == [], run.changed
    assert not Path("out").exists()  # each test runs in its own folder, where batch() writes
    return problems


def write_csv(root: Path, body: str, header: str = HEADER) -> Path:
    path = root / "list.csv"
    path.write_bytes((header + body).encode("utf-8"))
    return path


def write_yaml(root: Path, text: str) -> Path:
    path = root / "list.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# ----- files that are not plain files -----------------------------------------------------------


def run_in_subprocess(root: Path, listing: Path) -> subprocess.CompletedProcess[str]:
    """``briefgen batch`` in its own process, so a regression that blocks or reads forever fails."""

    def cap_memory() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    command = [sys.executable, "-m", "briefgen", "batch", str(listing), "--format", "html", "--out", "out"]
    return subprocess.run(
        command, cwd=root, capture_output=True, text=True, timeout=60, preexec_fn=cap_memory
    )


def assert_refused_at_once(done: subprocess.CompletedProcess[str], root: Path, reason: str) -> None:
    """One error line naming the list and the reason; no traceback, nothing written.

    The exit code is 1 when the list's reader refuses the file (a content problem at
    ``list.csv:1:1``) and 2 when the batch checks the file first, as a usage error naming LIST.
    """
    assert done.returncode in (1, 2), done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if "list.csv" in line]
    assert len(errors) == 1 and reason in errors[0], done.stderr
    assert not (root / "out").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_as_the_list_is_refused_without_blocking(shipped, tmp_path: Path):
    fifo = tmp_path / "list.csv"
    os.mkfifo(fifo)
    done = run_in_subprocess(tmp_path, fifo)  # nobody ever writes: an open() that blocks never returns
    assert_refused_at_once(done, tmp_path, "not a regular file (a FIFO); not read")
    with pytest.raises(ContentError) as caught:
        load(fifo, shipped.strategy)
    assert [str(p) for p in caught.value.problems] == ["list.csv:1:1: not a regular file (a FIFO); not read"]


def test_a_link_to_dev_zero_is_refused_without_reading(shipped, tmp_path: Path):
    link = tmp_path / "list.csv"
    link.symlink_to("/dev/zero")
    done = run_in_subprocess(tmp_path, link)  # reading it would never end
    assert_refused_at_once(done, tmp_path, "not a regular file (a character device); not read")
    with pytest.raises(ContentError) as caught:
        load(Path("list.csv"), shipped.strategy)  # the test runs in tmp_path
    assert [str(p) for p in caught.value.problems] == [
        "list.csv:1:1: not a regular file (a character device); not read"
    ]


def test_a_folder_is_refused(shipped, tmp_path: Path):
    folder = tmp_path / "list.csv"
    folder.mkdir()
    with pytest.raises(ContentError) as caught:
        load(folder, shipped.strategy)
    assert [str(p) for p in caught.value.problems] == [
        "list.csv:1:1: not a regular file (a folder); not read"
    ]


def test_a_huge_list_is_refused_by_its_size_before_it_is_read(shipped, tmp_path: Path):
    path = tmp_path / "list.csv"
    with path.open("wb") as handle:
        handle.write(HEADER.encode())
        handle.truncate(6 * 1024 * 1024)  # sparse: nothing to read but its size
    done = run_in_subprocess(tmp_path, path)
    assert_refused_at_once(done, tmp_path, "6,291,456 bytes, over the limit of 5,242,880")
    with pytest.raises(ContentError) as caught:
        load(path, shipped.strategy)
    assert [str(p) for p in caught.value.problems] == [
        "list.csv:1:1: 6,291,456 bytes, over the limit of 5,242,880 (content_mb in [limits])"
    ]


def test_the_listing_carries_the_digest_of_the_bytes_it_checked(shipped, tmp_path: Path):
    import hashlib

    path = write_csv(tmp_path, "a1,Ann,Org,business,,,,,,\n")
    listing = read(path, shipped.strategy)
    assert [row.id for row in listing.rows] == ["a1"]
    assert listing.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


# ----- line breaks in a one-line field ----------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "code"),
    [
        ('"Ann\r\nBcc: victim@x.example"', "000D"),
        ('"Ann\rBob"', "000D"),
        ('"Ann\nBob"', "000A"),
        ("Ann\u2028Bob", "2028"),
        ("Ann\u2029Bob", "2029"),
        ("Ann\u0085Bob", "0085"),
    ],
)
def test_a_line_break_in_a_cell_is_refused_at_the_cell(tmp_path: Path, cell, code):
    listing = write_csv(tmp_path, f"a1,{cell},Org,business,ann@x.example,,,,,\n")
    run = batch(tmp_path, listing)
    assert_refused(run, f"list.csv:2:2: name: line break U+{code} is not allowed")


@pytest.mark.parametrize("column", ["id", "organisation", "email", "country", "region", "sector", "focus"])
def test_every_field_is_one_line(tmp_path: Path, column):
    values = {"id": "a1", "name": "Ann", "audience": "business"}
    values[column] = '"x\r\ny"'
    listing = write_csv(tmp_path, ",".join(values.get(c, "") for c in COLUMNS) + "\n")
    run = batch(tmp_path, listing)
    assert_refused(run, f"list.csv:2:{COLUMNS.index(column) + 1}: {column}: line break U+000D")


def test_a_cell_spanning_lines_is_placed_where_it_starts_and_later_lines_still_count(tmp_path: Path):
    body = (
        'a1,Ann,"Org\r\nsecond line\r\nthird line",business,,,,,,\r\n'  # lines 2-4
        "a2,Bob,Org,business,not-an-address,,,,,\r\n"  # line 5
    )
    run = batch(tmp_path, write_csv(tmp_path, body, HEADER.replace("\n", "\r\n")))
    problems = assert_refused(
        run,
        "list.csv:2:3: organisation: line break U+000D is not allowed",
        "list.csv:5:5: email: 'not-an-address' is not an e-mail address (no '@')",
    )
    assert len(problems) == 2


def test_a_yaml_value_with_a_line_break_is_refused_at_its_key(tmp_path: Path):
    listing = write_yaml(
        tmp_path,
        "stakeholders:\n"
        "  - id: a1\n"
        '    name: "Ann\\u2028Bob"\n'
        "    audience: business\n"
        "    email: |\n"
        "      ann@x.example\n"
        "      Bcc: victim@x.example\n",
    )
    run = batch(tmp_path, listing)
    assert_refused(
        run,
        "list.yaml:3:5: name: line break U+2028 is not allowed",
        "list.yaml:5:5: email: line break U+000A is not allowed",
    )


# ----- e-mail addresses -------------------------------------------------------------------------

REFUSED_ADDRESSES = [
    ("Ann <ann@x.example>", "space or invisible character U+0020"),
    ("<ann@x.example>", "'<' is not allowed"),
    ('"Ann"@x.example', "'\"' is not allowed"),
    ("ann@x.example,bob@x.example", "more than one '@'"),
    ("ann@x.example;bob", "';' is not allowed"),
    ("ann(comment)@x.example", "'(' is not allowed"),
    ("ann.x.example", "no '@'"),
    ("@x.example", "nothing before the '@'"),
    ("ann@", "nothing after the '@'"),
    (".ann@x.example", "a dot at the start or end"),
    ("ann.@x.example", "a dot at the start or end"),
    ("an..n@x.example", "two dots in a row"),
    ("an n@x.example", "space or invisible character U+0020"),
    ("ann\u00a0@x.example", "space or invisible character U+00A0"),
    ("ann\u200b@x.example", "space or invisible character U+200B"),
    ("ann\t@x.example", "space or invisible character U+0009"),
    ("ann@localhost", "the domain 'localhost' has no dot"),
    ("ann@x.example.", "the domain has an empty part"),
    ("ann@x..example", "the domain has an empty part"),
    ("ann@-x.example", "the domain part '-x' is not letters, digits and inner hyphens"),
    ("ann@x-.example", "the domain part 'x-' is not letters, digits and inner hyphens"),
    ("ann@x_y.example", "the domain part 'x_y'"),
    ("ann@" + "a" * 64 + ".example", "is longer than 63 characters"),
    ("ann@" + ".".join(["a" * 63] * 4) + ".eu", "at most 253"),
    ("ann@[192.0.2.1]", "'[' is not allowed"),
    ("ann@192.0.2.1", "the domain ends in a number"),
    ("ann@xn--zz.example", "the domain part 'xn--zz' is not a valid host name part"),
    ("ann@x\u3002example", "the domain may only use '.'"),
    ("a" * 65 + "@x.example", "more than 64 bytes before the '@'"),
]


@pytest.mark.parametrize(("address", "reason"), REFUSED_ADDRESSES)
def test_what_is_not_one_bare_address_is_refused(address, reason):
    found = address_problem(address)
    assert found is not None and reason in found, (address, found)


def test_refused_addresses_in_a_list_are_all_reported_at_their_cells(tmp_path: Path):
    def cell(address: str) -> str:
        return '"' + address.replace('"', '""') + '"'

    body = "".join(f"e{i},N,O,business,{cell(a)},,,,,\n" for i, (a, _) in enumerate(REFUSED_ADDRESSES))
    run = batch(tmp_path, write_csv(tmp_path, body))
    problems = assert_refused(run, *(f"list.csv:{i + 2}:5: email: " for i in range(len(REFUSED_ADDRESSES))))
    assert len(problems) == len(REFUSED_ADDRESSES)


@pytest.mark.parametrize(
    "address",
    [
        "ann@x.example",
        "Ann.O'Neil+briefs@sub.x-y.example",
        "zoë@exämple.eu",
        "用户@例子.广告",
        "ann@xn--exmple-cua.eu",
        "a@" + ".".join(["a" * 63] * 3) + ".eu",
    ],
)
def test_internationalised_and_plain_addresses_are_accepted(address):
    assert address_problem(address) is None


def test_an_address_is_kept_as_written_in_nfc(shipped, tmp_path: Path):
    decomposed = unicodedata.normalize("NFD", "Zoë@Exämple.eu")
    listing = write_csv(tmp_path, f"a1,Zoë,Org,business,{decomposed},,,,,\n")
    (row,) = load(listing, shipped.strategy)
    assert row.email == "Zoë@Exämple.eu" == unicodedata.normalize("NFC", decomposed)


@given(st.text(max_size=80))
@settings(max_examples=300, deadline=None)
def test_an_accepted_address_is_safe_in_a_header(text):
    address = unicodedata.normalize("NFC", text)
    if address_problem(address) is None:
        local, domain = address.split("@")
        assert local and "." in domain
        assert not any(ch.isspace() or ch in '<>()[]",;:\\' for ch in address)
        assert not any(unicodedata.category(ch)[0] in "CZ" for ch in address)
        domain.encode("idna")


# ----- YAML values that are not text ------------------------------------------------------------


def test_yaml_values_that_are_not_text_are_refused_at_their_place(tmp_path: Path):
    listing = write_yaml(
        tmp_path,
        "stakeholders:\n"
        "  - id: {x: y}\n"  # 2
        "    name: [[a]]\n"  # 3
        "    audience: business\n"
        "    focus: {a: b}\n"  # 5
        "  - [a, b]\n"  # 6
        "  - just text\n"  # 7
        "  - id: ok\n"  # 8
        "    name: N\n"
        "    audience: business\n"
        "    formats: [pdf, [docx]]\n"  # 11
        "    focus: [cybersecurity, ~]\n"  # 12
        "    organisation: {a: b}\n",  # 13
    )
    run = batch(tmp_path, listing)
    problems = assert_refused(
        run,
        "list.yaml:2:5: id: expected text, not a mapping",
        "list.yaml:3:5: name: expected text, not a list",
        "list.yaml:5:5: focus: expected text or a list of text, not a mapping",
        "list.yaml:6:5: stakeholders[1]: expected a mapping of fields, not a list",
        "list.yaml:7:5: stakeholders[2]: expected a mapping of fields, not text",
        "list.yaml:11:20: formats[1]: expected text, not a list",
        "list.yaml:12:28: focus[1]: expected text, not an empty value",
        "list.yaml:13:5: organisation: expected text, not a mapping",
    )
    assert len(problems) == 8


def test_a_top_level_yaml_list_of_non_mappings_is_refused(tmp_path: Path):
    run = batch(tmp_path, write_yaml(tmp_path, "- 1\n- {id: a, name: b, audience: business}\n- [x]\n"))
    assert_refused(run, "list.yaml:1:3: [0]: expected a mapping", "list.yaml:3:3: [2]: expected a mapping")


def test_focus_and_formats_may_be_lists_or_separated_text(shipped, tmp_path: Path):
    listing = write_yaml(
        tmp_path,
        "- {id: a, name: A, audience: business, focus: [infrastructure, cybersecurity], formats: [pdf]}\n"
        "- {id: b, name: B, audience: business, focus: 'infrastructure; cybersecurity', formats: PDF;docx}\n"
        "- {id: c, name: C, audience: business, focus: ~, formats: []}\n",
    )
    rows = load(listing, shipped.strategy)
    assert [(r.focus, r.formats) for r in rows] == [
        (("infrastructure", "cybersecurity"), ("pdf",)),
        (("infrastructure", "cybersecurity"), ("pdf", "docx")),
        ((), ()),
    ]


def test_yaml_numbers_and_booleans_stay_text(shipped, tmp_path: Path):
    listing = write_yaml(tmp_path, "- {id: 42, name: yes, audience: business, organisation: 1e3}\n")
    (row,) = load(listing, shipped.strategy)
    assert (row.id, row.name, row.organisation) == ("42", "yes", "1e3")


# ----- over-long values -------------------------------------------------------------------------


def test_a_cell_beyond_the_csv_modules_field_limit_is_placed_and_later_rows_still_checked(tmp_path: Path):
    body = 'a1,"' + "x" * 200_000 + '",Org,business,,,,,,\n' + "a2,Bob,Org,pirates,,,,,,\n"
    run = batch(tmp_path, write_csv(tmp_path, body))
    problems = assert_refused(
        run,
        "list.csv:2:2: name: 200,000 characters; at most 1,000",
        "list.csv:3:4: audience: unknown audience 'pirates'",
    )
    assert len(problems) == 2
    assert all(len(line) < 300 for line in problems)


@pytest.mark.parametrize(
    ("column", "length", "cap"),
    [
        ("id", 65, 64),
        ("email", 321, 320),
        ("name", 1001, 1000),
        ("organisation", 5000, 1000),
        ("focus", 1001, 1000),
    ],
)
def test_over_long_values_are_refused_at_their_cell(tmp_path: Path, column, length, cap):
    values = {"id": "a1", "name": "Ann", "audience": "business", column: "x" * length}
    listing = write_csv(tmp_path, ",".join(values.get(c, "") for c in COLUMNS) + "\n")
    run = batch(tmp_path, listing)
    col = COLUMNS.index(column) + 1
    (problem,) = assert_refused(run, f"list.csv:2:{col}: {column}: {length:,} characters; at most {cap:,}")
    assert len(problem) < 200


def test_an_over_long_yaml_list_field_is_refused(tmp_path: Path):
    items = ", ".join(["cybersecurity"] * 100)
    run = batch(
        tmp_path, write_yaml(tmp_path, f"- {{id: a, name: A, audience: business, focus: [{items}]}}\n")
    )
    assert_refused(run, "list.yaml:1:40: focus: 1,399 characters in all; at most 1,000")


# ----- broken CSV -------------------------------------------------------------------------------


def test_nul_bytes_are_refused_in_cells_and_in_the_header(tmp_path: Path):
    listing = write_csv(tmp_path, "a1,Ann,Org\x00,business,,,,,,\n", HEADER.replace("name", "na\x00me", 1))
    run = batch(tmp_path, listing)
    assert_refused(
        run,
        "list.csv:1:2: column name: control character U+0000 is not allowed",
        "list.csv:2:3: organisation: control character U+0000 is not allowed",
    )
    assert "\x00" not in run.result.output


def test_bytes_that_are_not_utf8_are_refused_at_their_cell(tmp_path: Path):
    path = tmp_path / "list.csv"
    path.write_bytes(HEADER.encode() + b"a1,Ann,Org,business,,,,,,\na2,Zo\xe9,Caf\xc3,business,,,,,,\n")
    run = batch(tmp_path, path)
    problems = assert_refused(
        run, "list.csv:3:2: name: not UTF-8 (byte 0xe9)", "list.csv:3:3: organisation: not UTF-8 (byte 0xc3)"
    )
    assert len(problems) == 2


def test_a_bom_is_accepted(shipped, tmp_path: Path):
    path = tmp_path / "list.csv"
    path.write_bytes(b"\xef\xbb\xbf" + HEADER.encode() + b"a1,Ann,Org,business,,,,,,\n")
    assert [r.id for r in load(path, shipped.strategy)] == ["a1"]


def test_duplicate_unknown_and_unnamed_columns_are_refused_in_the_header(tmp_path: Path):
    listing = write_csv(tmp_path, "a1,Ann,business,Bob,blue,x\n", "id,name,audience,Name,colour,\n")
    run = batch(tmp_path, listing)
    problems = assert_refused(
        run,
        "list.csv:1:4: name: duplicate column (first is column 2)",
        "list.csv:1:5: colour: unknown column",
        "list.csv:1:6: column without a name",
    )
    assert len(problems) == 3


def test_a_missing_required_column_is_reported_once_not_for_every_row(tmp_path: Path):
    body = "".join(f"s{i},N\n" for i in range(50))
    run = batch(tmp_path, write_csv(tmp_path, body, "id,name\n"))
    problems = assert_refused(run, "list.csv:1:1: audience: required column is missing")
    assert len(problems) == 1


def test_more_cells_than_columns_are_refused_at_the_first_extra_cell(tmp_path: Path):
    listing = write_csv(tmp_path, "a1,Ann,business,surplus,more\n", "id,name,audience\n")
    run = batch(tmp_path, listing)
    assert_refused(run, "list.csv:2:4: more cells than columns (3 in the header)")


def test_a_quoted_cell_that_is_never_closed_is_refused_where_it_starts(tmp_path: Path):
    listing = write_csv(tmp_path, 'a1,Ann,business\na2,"Bob,business\na3,Cy,business\n', "id,name,audience\n")
    run = batch(tmp_path, listing)
    assert_refused(run, "list.csv:3:2: name: quoted cell is never closed")


def test_every_problem_of_the_list_is_reported_at_once(tmp_path: Path):
    body = (
        'a1,"Ann\r\nB",Org,business,,,,,,\n'  # 2-3
        "a2,Bob,Org,business,bob@x,,,,,\n"  # 4
        "a3," + "y" * 2000 + ",Org,business,,,,,,\n"  # 5
        "a4,Cy,Org\x1b[31m,business,,,,,,\n"  # 6
        "a5,Di,Org,business,,,,,,,extra\n"  # 7
    )
    run = batch(tmp_path, write_csv(tmp_path, body))
    problems = assert_refused(
        run,
        "list.csv:2:2: name: line break",
        "list.csv:4:5: email: 'bob@x' is not an e-mail address",
        "list.csv:5:2: name: 2,000 characters",
        "list.csv:6:3: organisation: control character U+001B",
        "list.csv:7:11: more cells than columns",
    )
    assert len(problems) == 5


# ----- the CSV reader reads what the csv module reads -------------------------------------------

CSV_TEXT = st.text(alphabet=st.sampled_from(["a", "b", ",", '"', "\r", "\n", " ", "é", "\x00", "\u2028"]))


@given(CSV_TEXT)
@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_list_reader_splits_csv_exactly_as_the_csv_module(text):
    reader = csv.reader(io.StringIO(text, newline=""))
    expected, end = [], 0  # (first line, cells) of each record, as csv counts lines
    for cells in reader:
        if cells or (not expected and end == 0):  # blank lines are skipped, but for a blank header
            expected.append((end + 1, cells))
        end = reader.line_num
    records, unclosed = parse_csv(text)
    ours = [(start, [value for value, _, _ in cells]) for start, cells in records]
    if unclosed is None:
        assert ours == expected
    else:  # the csv module swallows the rest of the file into the open cell; we refuse it
        assert ours == expected[: len(ours)]
        assert unclosed[0] >= (expected[len(ours)][0] if len(expected) > len(ours) else 1)
    for index, (start, cells) in enumerate(records):
        assert [col for _, _, col in cells] == list(range(1, len(cells) + 1))
        following = records[index + 1][0] if index + 1 < len(records) else None
        assert all(start <= line and (following is None or line < following) for _, line, _ in cells)
