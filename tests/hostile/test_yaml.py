"""Hostile YAML content through ``briefgen validate`` and ``build``: code tags, alias bombs, huge
and endless files, duplicate keys, YAML 1.1 coercions, bad encodings, control characters and
nesting past the depth cap. Each case checks the exit code, the ``file:line:col: field`` message
and that nothing ran and nothing was written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import lxml.html
import pytest
import yaml
from helpers import column_of, line_of, replace_once

from briefgen import limits
from briefgen.loader import MAX_DEPTH

from .helpers import assert_content_error, build, cli

REC_TITLE = "        title: Build on the berth feed\n"


def business(content: Path) -> Path:
    return content / "business.yaml"


def set_title(content: Path, raw_value: str) -> str:
    """Replace the first recommendation's title with ``raw_value`` (YAML source); return the file text."""
    return replace_once(business(content), REC_TITLE, f"        title: {raw_value}\n")


# ----- code tags --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.system ['touch {marker}']",
        "!!python/object/new:subprocess.Popen [['touch', '{marker}']]",
        "!!python/name:os.system",
        "!<tag:yaml.org,2002:python/object/apply:os.system> ['touch {marker}']",
        "!!binary dG91Y2g=",
    ],
)
def test_code_tags_are_refused_at_their_place_and_nothing_runs(
    tmp_path: Path, mini_copy: Path, tag: str
) -> None:
    marker = tmp_path / "PWNED"
    text = set_title(mini_copy, tag.format(marker=marker))
    run = cli(tmp_path, "validate", mini_copy)
    line = line_of(text, "title: !")
    message = assert_content_error(
        run, f"mini/business.yaml:{line}:{column_of(text, 'title: !', 7)}:", "tags ("
    )
    assert "not allowed in content" in message
    assert not marker.exists()


# ----- alias bombs ------------------------------------------------------------------------------


def test_billion_laughs_is_refused_at_the_first_anchor_without_expanding(
    tmp_path: Path, mini_copy: Path
) -> None:
    lines = ['lol0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"lol{i}: &l{i} [{','.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    bomb = mini_copy / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = cli(tmp_path, "validate", mini_copy)
    message = assert_content_error(run, "mini/bomb.yaml:1:7: anchors (&l0) are not allowed in content")
    assert message.count("\n") <= 3  # one problem, not 9**9 of anything


def test_a_merge_key_alias_is_refused(tmp_path: Path, mini_copy: Path) -> None:
    text = replace_once(
        business(mini_copy),
        "    label: Firms\n",
        "    label: Firms\n    <<: *defaults\n",
    )
    run = cli(tmp_path, "validate", mini_copy)
    line, column = line_of(text, "<<: *defaults"), column_of(text, "*defaults")
    assert_content_error(run, f"business.yaml:{line}:{column}: aliases (*name) are not allowed in content")


# ----- size and file type -----------------------------------------------------------------------


def test_a_file_over_the_size_limit_is_refused_before_parsing(tmp_path: Path, mini_copy: Path) -> None:
    limit = limits.current().content_bytes
    big = mini_copy / "padding.yaml"
    with big.open("w", encoding="utf-8") as handle:
        handle.write("# " + "x" * 1000 + "\n")
        while handle.tell() <= limit:
            handle.write("# " + "x" * 1000 + "\n")
    run = cli(tmp_path, "validate", mini_copy)
    size = big.stat().st_size
    assert_content_error(run, f"mini/padding.yaml:1:1: file is {size:,} bytes; the limit is {limit:,}")


def run_with_timeout(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run briefgen in a child process, so a read that never ends fails the test instead of hanging it."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.run(
        [sys.executable, "-m", "briefgen", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


@pytest.mark.parametrize("kind", ["dev-zero", "fifo"])
def test_an_endless_or_blocking_content_file_is_refused_without_reading(tmp_path: Path, kind: str) -> None:
    if kind == "dev-zero":
        source = Path("/dev/zero")
        if not source.exists():
            pytest.skip("no /dev/zero here")
    else:
        source = tmp_path / "content.yaml"
        os.mkfifo(source)
    done = run_with_timeout(["validate", str(source)], tmp_path)
    assert done.returncode == 1, done.stderr
    assert f"{source.name}:1:1: not a regular file" in done.stderr


# ----- duplicate keys ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "second", ["title: Another title", '"title": Quoted twin', "'title': Single-quoted twin"]
)
def test_a_duplicate_key_names_both_lines(tmp_path: Path, mini_copy: Path, second: str) -> None:
    text = replace_once(business(mini_copy), REC_TITLE, f"{REC_TITLE}        {second}\n")
    run = cli(tmp_path, "validate", mini_copy)
    first_line = line_of(text, REC_TITLE.strip())
    where = f"mini/business.yaml:{line_of(text, second)}:9"
    assert_content_error(run, f"{where}: duplicate key 'title' (first defined at line {first_line})")


def test_a_top_level_key_in_two_files_names_both_files(tmp_path: Path, mini_copy: Path) -> None:
    (mini_copy / "zz-extra.yaml").write_text("regions:\n  - id: south-quay\n", encoding="utf-8")
    run = cli(tmp_path, "validate", mini_copy)
    assert_content_error(run, "mini/zz-extra.yaml:1:1: regions: already defined in mini/strategy.yaml")


# ----- YAML 1.1 coercions: every plain value stays the text written -------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "no",
        "NO",
        "off",
        "yes",
        "y",
        "0755",
        "0x1F",
        "1e3",
        "1_000",
        ".inf",
        "-.NaN",
        "12:30:00",
        "2024-03-14",
        "9" * 60,
    ],
)
def test_plain_scalars_stay_the_exact_text_in_the_brief(tmp_path: Path, mini_copy: Path, value: str) -> None:
    set_title(mini_copy, value)
    out = tmp_path / "out"
    run = build(tmp_path, mini_copy, out)
    assert run.code == 0, run.result.output
    doc = lxml.html.fromstring((out / "business-brief.html").read_bytes())
    heading = doc.get_element_by_id("rec-use-feed").find("h2")
    assert " ".join(heading.text_content().split()) == f"1. {value}"


def test_a_date_stays_a_date_where_the_model_wants_one_and_text_elsewhere(
    tmp_path: Path, mini_copy: Path
) -> None:
    replace_once(mini_copy / "strategy.yaml", "    when: Spring 2024\n", "    when: 2024-05-01\n")
    out = tmp_path / "out"
    run = build(tmp_path, mini_copy, out)
    assert run.code == 0, run.result.output
    html = (out / "business-brief.html").read_text(encoding="utf-8")
    assert "14 March 2024" in html  # presented: 2024-03-14, a date field, formatted as a date
    assert "2024-05-01" in html  # when: a text field, exactly as written


def test_a_date_field_holding_a_non_date_names_field_and_line(tmp_path: Path, mini_copy: Path) -> None:
    text = replace_once(mini_copy / "strategy.yaml", "  presented: 2024-03-14\n", "  presented: 14/03/2024\n")
    run = cli(tmp_path, "validate", mini_copy)
    assert_content_error(run, f"mini/strategy.yaml:{line_of(text, 'presented:')}:3: strategy.presented:")


# ----- encodings and characters -----------------------------------------------------------------


def test_invalid_utf8_names_line_and_column_of_the_bad_byte(tmp_path: Path, mini_copy: Path) -> None:
    path = business(mini_copy)
    raw = path.read_bytes().replace(b"Firms\n", b"Caf\xe9 owners\n", 1)
    path.write_bytes(raw)
    line = raw[: raw.index(b"\xe9")].count(b"\n") + 1
    column = raw.index(b"\xe9") - raw.rfind(b"\n", 0, raw.index(b"\xe9"))
    run = cli(tmp_path, "validate", mini_copy)
    assert_content_error(run, f"mini/business.yaml:{line}:{column}: not UTF-8 (byte 0xe9)")


def test_a_utf16_file_is_not_utf8(tmp_path: Path, mini_copy: Path) -> None:
    path = business(mini_copy)
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
    run = cli(tmp_path, "validate", mini_copy)
    assert_content_error(run, "mini/business.yaml:1:1: not UTF-8 (byte 0xff)")


def test_a_byte_order_mark_is_accepted_and_not_shown(tmp_path: Path, mini_copy: Path) -> None:
    for path in mini_copy.glob("*.yaml"):
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    out = tmp_path / "out"
    run = build(tmp_path, mini_copy, out)
    assert run.code == 0, run.result.output
    html = (out / "business-brief.html").read_text(encoding="utf-8")
    assert "\ufeff" not in html
    assert "<title>What the Harbour Town Data Plan means for firms</title>" in html


@pytest.mark.parametrize("escape", ["\\x01", "\\0", "\\x08", "\\v", "\\f", "\\x1f", "\\uFFFE", "\\uffff"])
def test_escaped_control_characters_are_refused_with_field_and_place(
    tmp_path: Path, mini_copy: Path, escape: str
) -> None:
    text = set_title(mini_copy, f'"Build {escape} on the feed"')
    code = ord(yaml.safe_load(f'"{escape}"'))
    run = build(tmp_path, mini_copy, tmp_path / "out", "html,docx")
    line = line_of(text, 'title: "Build')
    assert_content_error(
        run,
        f"mini/business.yaml:{line}:16: audiences.business.recommendations[0].title: "
        f"character U+{code:04X} is not allowed in text",
    )


@pytest.mark.parametrize("raw", [b"\x01", b"\x7f", b"\x1b"])
def test_raw_control_characters_are_refused_at_their_line_and_column(
    tmp_path: Path, mini_copy: Path, raw: bytes
) -> None:
    path = business(mini_copy)
    data = path.read_bytes().replace(b"Early users", b"Early" + raw + b"users", 1)
    path.write_bytes(data)
    at = data.index(raw)
    line, column = data[:at].count(b"\n") + 1, at - data.rfind(b"\n", 0, at)
    run = cli(tmp_path, "validate", mini_copy)
    assert_content_error(
        run, f"mini/business.yaml:{line}:{column}: character U+{raw[0]:04X} is not allowed in YAML"
    )


@pytest.mark.parametrize("parser", ["libyaml", "pure-python"])
def test_a_lone_surrogate_escape_never_reaches_the_brief(
    tmp_path: Path, mini_copy: Path, parser: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if parser == "pure-python":
        monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    elif not hasattr(yaml, "CSafeLoader"):
        pytest.skip("PyYAML without libyaml")
    text = set_title(mini_copy, '"Build \\ud800 on the feed"')
    run = build(tmp_path, mini_copy, tmp_path / "out", "html,docx")
    line = line_of(text, 'title: "Build')
    if parser == "libyaml":  # libyaml refuses the escape itself
        assert_content_error(run, f"mini/business.yaml:{line}:", "invalid Unicode character escape")
    else:  # the pure-Python parser lets it through; the loader refuses it
        assert_content_error(
            run,
            f"mini/business.yaml:{line}:16: audiences.business.recommendations[0].title: "
            "character U+D800 is not allowed in text",
        )


# ----- nesting ----------------------------------------------------------------------------------


def test_flow_nesting_past_the_cap_is_refused(tmp_path: Path, mini_copy: Path) -> None:
    depth = MAX_DEPTH * 5
    text = replace_once(business(mini_copy), "    label: Firms\n", f"    label: {'[' * depth}{']' * depth}\n")
    run = cli(tmp_path, "validate", mini_copy)
    line = line_of(text, "label: [")
    # audiences (1) > business (2) > label (3): bracket n sits at level 3 + n - 1.
    column = column_of(text, "label: [", len("label: ")) + MAX_DEPTH - 2
    assert_content_error(run, f"mini/business.yaml:{line}:{column}: nesting deeper than {MAX_DEPTH} levels")


def test_block_nesting_past_the_cap_is_refused(tmp_path: Path, mini_copy: Path) -> None:
    lines = ["deep:"] + [f"{'  ' * (i + 1)}k{i}:" for i in range(MAX_DEPTH + 5)]
    (mini_copy / "deep.yaml").write_text("\n".join(lines) + " end\n", encoding="utf-8")
    run = cli(tmp_path, "validate", mini_copy)
    assert_content_error(run, "mini/deep.yaml:", f"nesting deeper than {MAX_DEPTH} levels")


def test_depth_just_under_the_cap_loads_and_fails_only_in_the_model(tmp_path: Path, mini_copy: Path) -> None:
    # Nesting itself is fine below the cap: the only complaint is that 'label' is not text.
    depth = MAX_DEPTH - 3
    replace_once(business(mini_copy), "    label: Firms\n", f"    label: {'[' * depth}x{']' * depth}\n")
    run = cli(tmp_path, "validate", mini_copy)
    message = assert_content_error(run, "audiences.business.label: input should be a valid string")
    assert "nesting deeper" not in message


# ----- other shapes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "needle"),
    [
        ("strategy: {}\n---\nstrategy: {}\n", "a content file holds one YAML document"),
        ("? [a, b]\n: value\n", "mapping keys must be plain text"),
        ("- just\n- a list\n", "the top level must be a mapping of keys"),
        ("", "file is empty"),
        ("key: [unclosed\n", "YAML syntax"),
    ],
)
def test_odd_documents_are_content_errors(tmp_path: Path, mini_copy: Path, source: str, needle: str) -> None:
    (mini_copy / "odd.yaml").write_text(source, encoding="utf-8")
    run = cli(tmp_path, "validate", mini_copy)
    assert_content_error(run, "mini/odd.yaml:", needle)
