"""The PDF writer's speed-ups keep every byte: sha256 of the shipped briefs with pydyf's own
serialisation and with :mod:`briefgen.writers.pdf.pydyf_once` (each stream deflated once)."""

from __future__ import annotations

import hashlib

import pytest
from helpers import EPOCH

from briefgen.render import render, template_dirs
from briefgen.tailor import Options, tailor
from briefgen.writers import WriteOptions
from briefgen.writers.pdf import engine, pydyf_once


@pytest.mark.parametrize(
    ("audience", "variant"), [("business", None), ("government", None), ("business", "pdf/a-3b")]
)
def test_deflating_each_stream_once_gives_the_same_bytes(shipped, audience: str, variant: str | None) -> None:
    import pydyf

    document = render(tailor(shipped.strategy, Options(audience=audience)))
    options = WriteOptions(pdf_variant=variant, source_date_epoch=int(EPOCH))
    laid_out = engine.layout(engine.prepare(document.html, template_dirs(())), options)
    digests = {}
    try:
        for once in (False, True):
            (pydyf_once.install if once else pydyf_once.uninstall)()
            assert isinstance(pydyf.Stream.__dict__["data"], property)
            digests[once] = hashlib.sha256(engine.finish(laid_out, document.html, options)).hexdigest()
    finally:
        pydyf_once.install()
    assert digests[True] == digests[False]


def test_each_stream_is_deflated_once_per_write(shipped, monkeypatch) -> None:
    import zlib

    import pydyf

    document = render(tailor(shipped.strategy, Options(audience="business", length="summary")))
    options = WriteOptions(source_date_epoch=int(EPOCH))
    laid_out = engine.layout(engine.prepare(document.html, template_dirs(())), options)
    counts = {}
    real = zlib.compressobj
    calls: list[bool] = []
    monkeypatch.setattr(pydyf.zlib, "compressobj", lambda *a, **k: calls.append(True) or real(*a, **k))
    for once in (False, True):
        calls.clear()
        (pydyf_once.install if once else pydyf_once.uninstall)()
        try:
            engine.finish(laid_out, document.html, options)
        finally:
            pydyf_once.install()
        counts[once] = len(calls)
    assert counts[False] >= 2 * counts[True] - 1 > 0  # the identifier's hash deflated them all again
