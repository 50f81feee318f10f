"""Turn pydyf's PDF serialisation into one that deflates each stream once, with the same bytes.

pydyf (the PDF serialiser under WeasyPrint) builds a stream's bytes, deflating them, every time
its ``data`` is read. ``PDF.write`` reads it twice when the file identifier is set, as
briefgen always sets it: once to write the object and once more to hash all objects for the
identifier's second half. The second deflate of every content, font and object stream costs
about 4% of a brief's PDF time and gives the same bytes as the first.

:func:`install` wraps two pydyf functions, narrowly and only for the pydyf version they were
checked against (:data:`CHECKED`; any other version is left alone, slower but correct):

* ``PDF.write`` opens a per-thread cache for the length of one call, and ``data`` of streams,
  dictionaries and arrays returns an object's bytes from that cache when the same object is read
  again in the same call (so the identifier's hash serialises nothing a second time).
  Outside ``PDF.write`` (or in another thread) nothing is cached: a stream WeasyPrint is still
  filling is never served stale bytes. The output is byte-identical (``tests/test_pdf_speed.py``
  compares sha256 with the cache on and off).
* A stream whose (deflated) bytes end in a carriage return gets ``CR LF`` instead of ``LF``
  before ``endstream``. With ``LF`` alone, a validator reading back from ``endstream`` sees
  ``CR LF`` as the end-of-line marker and counts one byte less than ``/Length`` (PDF/A rule
  6.1.7.1; ``page-validation`` reports ``PDFA3B-STREAM-LENGTH-001``), about one brief in eight.
  Every other stream keeps its bytes.
"""

from __future__ import annotations

import threading
from typing import Any

#: The pydyf versions whose ``PDF.write`` and ``data`` getters these wrappers were read against.
CHECKED = ("0.13.0",)

_local = threading.local()
_installed = False


def install() -> bool:
    """Wrap pydyf's ``PDF.write`` and ``data`` getters once per process; False when this pydyf
    version was not checked (then nothing is changed)."""
    global _installed
    import pydyf

    if _installed:
        return True
    if pydyf.__version__ not in CHECKED:
        return False
    originals = {kind: kind.data.fget for kind in wrapped_classes(pydyf)}
    original_write = pydyf.PDF.write
    for kind, original in originals.items():
        wrapped = property(_cached(original, fix_eol=kind is pydyf.Stream))
        kind.data = wrapped
        kind._briefgen_original_data = original

    def write(self: Any, *args: Any, **kwargs: Any) -> Any:
        outer = getattr(_local, "cache", None)
        if outer is None:
            _local.cache = {}
        try:
            return original_write(self, *args, **kwargs)
        finally:
            if outer is None:
                _local.cache = None

    write.__doc__ = original_write.__doc__
    pydyf.PDF.write = write
    pydyf.PDF._briefgen_original_write = original_write
    _installed = True
    return True


def wrapped_classes(pydyf: Any) -> tuple[type, ...]:
    """The pydyf classes whose ``data`` is read twice by ``PDF.write`` (objects, then the hash)."""
    return (pydyf.Stream, pydyf.Dictionary, pydyf.Array)


def _cached(original: Any, fix_eol: bool) -> Any:
    """``original`` (a ``data`` getter), served from the cache of the ``PDF.write`` call running in
    this thread, if any; with ``fix_eol``, a stream ending in CR gets CR LF before ``endstream``."""

    def data(self: Any) -> bytes:
        cache = getattr(_local, "cache", None)
        if cache is not None:
            found = cache.get(id(self))
            if found is not None and found[0] is self:
                return found[1]
        value = original(self)
        if fix_eol and value.endswith(b"\r\nendstream"):  # the stream's own bytes end in CR
            value = value[: -len(b"\nendstream")] + b"\r\nendstream"
        if cache is not None:
            cache[id(self)] = (self, value)  # the object is held, so its id is not reused
        return value

    data.__doc__ = original.__doc__
    return data


def uninstall() -> None:
    """Put pydyf's own functions back (the identity test compares both)."""
    global _installed
    import pydyf

    if not _installed:
        return
    for kind in wrapped_classes(pydyf):
        kind.data = property(kind._briefgen_original_data)
    pydyf.PDF.write = pydyf.PDF._briefgen_original_write
    _installed = False
