"""The preview's rebuild in process, without a server: a template error becomes one overlay line
with its file and line first, the last good brief stays, and the fix clears the problems; the
switchers' query becomes a choice only with ids the content offers."""

from __future__ import annotations

from pathlib import Path

import pytest

from briefgen.paths import builtin_content
from briefgen.preview.choices import Choice, Menu, Refused, parse
from briefgen.preview.rebuild import Rebuilder, Settings
from briefgen.preview.state import State

GOOD = '{% extends "builtin/business.html.j2" %}\n'
BROKEN = GOOD + "{% block cover %}\n<p>{{ 1 // 0 }}</p>\n{% endblock %}\n"


def rebuilder(folder: Path, said: list[str]) -> Rebuilder:
    settings = Settings(content=(builtin_content(),), look={"templates": (folder,)})
    return Rebuilder(settings, State(choice=Choice(""), menu=Menu((), (), (), ())), said.append)


def test_a_template_error_shows_its_file_and_line_over_the_last_good_brief_until_fixed(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    template = folder / "business.html.j2"
    template.write_text(GOOD, encoding="utf-8")
    said: list[str] = []
    preview = rebuilder(folder, said)
    assert preview.rebuild("first")
    good = preview.state.file("brief.html")
    assert good is not None and b"Opening markets abroad" in good
    assert preview.state.choice.audience == "business"  # the content's first audience

    template.write_text(BROKEN, encoding="utf-8")
    assert not preview.rebuild("changed")
    assert preview.state.problems == [
        "templates/business.html.j2:3: ZeroDivisionError: integer division or modulo by zero "
        "(audience 'business')"
    ]
    assert f"error: {preview.state.problems[0]}" in said
    assert preview.state.file("brief.html") == good

    template.write_text(GOOD, encoding="utf-8")
    assert preview.rebuild("fixed")
    assert preview.state.problems == []
    assert preview.state.outputs["brief.html"].generation == 3


def test_a_query_becomes_a_choice_of_offered_ids_only() -> None:
    offered = Menu(
        audiences=(("business", "Businesses"), ("government", "Governments")),
        focus=(("cybersecurity", "Cyber"), ("infrastructure", "Infra")),
        regions=(("western-balkans", "Western Balkans"),),
        languages=(("en", "en"), ("fr", "fr")),
    )
    start = Choice("business")
    items = [
        ("audience", "government"),
        ("focus", "cybersecurity,infrastructure,cybersecurity"),
        ("region", ""),
    ]
    chosen = parse("x", items, offered, start)
    assert chosen == Choice("government", ("cybersecurity", "infrastructure"), None)
    assert parse("x", [("language", "fr"), ("length", "summary")], offered, chosen).language == "fr"
    with pytest.raises(Refused, match="stakeholder: unknown value 'ana'; choose from: none"):
        parse("x", [("stakeholder", "ana")], offered, start)


def test_a_newer_job_interrupts_a_pdf_rebuild_in_progress(tmp_path: Path) -> None:
    """A real PDF worker: a long brief in progress is interrupted by a newer job, whose PDF comes at once."""
    import threading
    import time

    from briefgen import limits
    from briefgen.build import BuildRequest
    from briefgen.preview.background import Workers
    from briefgen.preview.worker import Done, Job
    from briefgen.render import Rendered

    answers: list[Done | str] = []
    arrived = threading.Event()

    def answer(done: Done | str) -> None:
        answers.append(done)
        arrived.set()

    def job(generation: int, paragraphs: int) -> Job:
        body = "".join(f"<p>Paragraph {n} of generation {generation}.</p>" for n in range(paragraphs))
        html = f"<!DOCTYPE html><html lang='en'><head><title>t</title></head><body>{body}</body></html>"
        document = Rendered(html=html, title="t", language="en", template="business.html.j2")
        return Job(
            generation,
            BuildRequest(content=builtin_content(), out=tmp_path),
            document,
            None,
            limits.current(),
        )

    workers = Workers(("pdf",), tmp_path, answer)
    try:
        workers.submit(job(1, 5))  # warm: WeasyPrint loaded, the first PDF made
        assert arrived.wait(120) and isinstance(answers[-1], Done) and answers[-1].data
        arrived.clear()
        workers.submit(job(2, 30_000))  # hundreds of pages: many seconds
        time.sleep(1.0)
        started = time.monotonic()
        workers.submit(job(3, 5))
        while not any(isinstance(a, Done) and a.generation == 3 for a in answers):
            assert time.monotonic() - started < 60, answers
            time.sleep(0.05)
        took = time.monotonic() - started
    finally:
        workers.stop()
    second = [a for a in answers if isinstance(a, Done) and a.generation == 2]
    assert second and second[0].cancelled and second[0].data is None
    third = next(a for a in answers if isinstance(a, Done) and a.generation == 3)
    assert third.data is not None and third.data.startswith(b"%PDF")
    print(f"the newer PDF came {took:.2f} s after its job")
