"""Hostile requests against a running ``briefgen preview``: paths that climb out, encoded or not, a
foreign Host header (DNS rebinding), odd and huge switcher parameters, a stakeholder that does not
exist. Each is refused, nothing from the file system comes back, and the preview goes on serving."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from preview_server import Preview, running

from briefgen.paths import builtin_content

TRAVERSALS = [
    "/../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "/..%2f..%2f..%2fetc%2fpasswd",
    "/%252e%252e/%252e%252e/etc/passwd",
    "/..\\..\\etc\\passwd",
    "/%2e%2e%5c%2e%2e%5cetc%5cpasswd",
    "//etc/passwd",
    "/brief.html/../../../etc/passwd",
    "/brief.html/..%2f..%2f..%2fetc%2fpasswd",
    "/preview.js/../app.py",
    "/static/page.html",
    "/static/../app.py",
    "/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    "/business.yaml",
    "/content/business.yaml",
    "/etc/passwd%00.html",
]


@pytest.fixture(scope="module")
def preview(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Preview]:
    content = tmp_path_factory.mktemp("hostile-preview") / "content"
    shutil.copytree(builtin_content(), content)
    with running(content, "--stakeholders", str(content / "stakeholders.example.csv")) as started:
        yield started


@pytest.mark.parametrize("path", TRAVERSALS)
def test_a_path_that_climbs_out_or_names_a_file_is_not_found(preview: Preview, path: str) -> None:
    status, _headers, body = preview.get(path)
    assert status in (400, 404), (path, status, body[:200])
    assert b"root:" not in body and b"import " not in body and b"audiences" not in body


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:{port}",
        "127.0.0.1.evil.example:{port}",
        "localhost",
        "127.0.0.1:1",
        "localhost:{port}.evil.example",
    ],
)
@pytest.mark.parametrize("path", ["/", "/brief.html", "/brief.pdf", "/events", "/menu.json"])
def test_a_foreign_host_header_is_refused(preview: Preview, host: str, path: str) -> None:
    status, _headers, body = preview.get(path, host=host.format(port=preview.port))
    assert status == 403
    assert body.startswith(b"refused: this preview answers only to its own address")


def test_a_request_without_a_host_header_is_refused(preview: Preview) -> None:
    status, _headers, body = preview.get("/brief.html", host="")
    assert status in (400, 403) and b"<h1" not in body


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}", "[::1]:{port}"])
def test_its_own_names_are_served(preview: Preview, host: str) -> None:
    status, headers, body = preview.get("/brief.html", host=host.format(port=preview.port))
    assert status == 200 and body.startswith(b"<!DOCTYPE html>")
    assert headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("audience=" + "a" * 300, "audience: longer than 200 characters"),
        ("focus=" + ",".join(["cybersecurity"] * 100), "focus: longer than 200 characters"),
        ("&".join(["length=full"] * 200), "the query is longer than 2000 characters"),
        ("&".join(["length=full"] * 20), "length: given 20 times"),
        ("&".join(["length=full"] * 30), "30 parameters"),
        ("audience=../../etc/passwd", "audience: unknown value '../../etc/passwd'"),
        ("audience=business&audience=government", "audience: given 2 times"),
        ("length=giant", "length: unknown value 'giant'"),
        ("region=%00", "region: unknown value '\\x00'"),
        ("focus=cybersecurity,nope", "focus: unknown value 'nope'"),
        ("language=xx-%E2%80%AE", "language: unknown value"),
        ("colour=red", "unknown parameter 'colour'"),
        ("audience", "bad query field"),
        ("stakeholder=nobody", "stakeholder: unknown value 'nobody'"),
        ("stakeholder=" + "%FF" * 40, "stakeholder: unknown value"),
    ],
)
def test_odd_switcher_values_are_refused_in_one_line(preview: Preview, query: str, says: str) -> None:
    status, _headers, body = preview.get(f"/?{query}")
    text = body.decode()
    assert status == 400, text
    assert text.startswith("refused: ") and says in text
    assert text.count("\n") == 1 and len(text) < 400


def test_a_huge_query_is_refused_and_the_preview_goes_on(preview: Preview) -> None:
    try:
        status, _headers, _body = preview.get("/?" + "&".join(f"p{n}=x" for n in range(20_000)))
        assert status in (400, 414, 431)
    except ConnectionResetError:
        pass  # the HTTP server drops a request line beyond its size limit
    status, _headers, body = preview.get("/brief.html")
    assert status == 200 and b"<h1" in body


def test_an_existing_stakeholder_is_accepted(preview: Preview) -> None:
    first = (builtin_content() / "stakeholders.example.csv").read_text().splitlines()[1].split(",")[0]
    status, _headers, _body = preview.get(f"/?stakeholder={first}")
    assert status == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_only_get_is_answered(preview: Preview, method: str) -> None:
    status, _headers, _body = preview.get("/brief.html", method=method)
    assert status == 405


def test_the_page_and_the_brief_carry_a_strict_content_security_policy(preview: Preview) -> None:
    _status, page, _body = preview.get("/")
    _status, brief, _body = preview.get("/brief.html")
    assert "script-src 'self'" in page["content-security-policy"]
    assert "frame-ancestors 'none'" in page["content-security-policy"]
    policy = brief["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy and "sandbox" in policy
    for headers in (page, brief):
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["cache-control"] == "no-store"


def test_a_path_is_never_read_from_the_file_system(preview: Preview, tmp_path: Path) -> None:
    """Every route is a fixed name; a file next to the content is not reachable by any name."""
    status, _headers, _body = preview.get("/stakeholders.example.csv")
    assert status == 404


@pytest.mark.parametrize(
    ("host", "is_loopback"),
    [("127.0.0.1", True), ("127.8.9.1", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("192.168.1.4", False), ("example.org", False)],
)  # fmt: skip
def test_only_loopback_addresses_go_without_a_warning(host: str, is_loopback: bool) -> None:
    from briefgen.preview.server import loopback

    assert loopback(host) is is_loopback


def test_a_non_loopback_host_adds_only_itself_with_the_port() -> None:
    from briefgen.preview.app import allowed_hosts

    assert allowed_hosts("127.0.0.1", 8000) == {"127.0.0.1:8000", "localhost:8000", "[::1]:8000"}
    assert "192.168.1.4:8000" in allowed_hosts("192.168.1.4", 8000)
    assert "[fd00::1]:8000" in allowed_hosts("fd00::1", 8000)
    assert not any(name.endswith(":80") or ":" not in name for name in allowed_hosts("0.0.0.0", 8000))
