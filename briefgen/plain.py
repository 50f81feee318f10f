"""Turn a Brief, a theme or any other template context value into read-only plain data.

Templates are untrusted, so they never see a library object: no pydantic model
(whose public methods include ``parse_raw`` and ``parse_file``), no path, no
dataclass with methods. :func:`freeze` copies a value into

* ``None``, ``bool``, ``int``, ``float``, ``str`` (``Markup`` stays ``Markup``),
  and ``datetime.date`` (a value type; the sandbox lets templates read only
  its fields and formatting methods);
* ``tuple`` for every sequence;
* :class:`Record` for every mapping, dataclass, pydantic model or briefgen
  object: a read-only mapping whose fields read as attributes too
  (``brief.identity.title``), and whose only methods are a mapping's read
  methods (``keys``, ``items``, ``values``, ``get``).

A dataclass contributes its fields and the properties its class declares
(``Brief.summary``); a pydantic model only its declared fields. Anything else
is a programming error (:class:`TypeError`), so a new kind of object cannot
reach a template by accident. The sandbox (:mod:`briefgen.sandbox`) enforces
the matching allow-list of attributes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Mapping
from pathlib import PurePath
from typing import Any

from markupsafe import Markup

#: Methods a template may call on a Record.
RECORD_METHODS = frozenset({"keys", "items", "values", "get"})
#: What a template may read from a date.
DATE_ATTRIBUTES = frozenset(
    {"year", "month", "day", "isoformat", "strftime", "weekday", "isoweekday", "isocalendar"}
)
SCALARS = (type(None), bool, int, float, str)


class Record(Mapping[str, Any]):
    """A read-only mapping of plain values whose keys also read as attributes."""

    __slots__ = ("_data", "_kind")

    def __init__(self, data: dict[str, Any], kind: str = "record") -> None:
        object.__setattr__(self, "_data", data)
        object.__setattr__(self, "_kind", kind)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(f"{self._kind} has no field {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{self._kind} is read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{self._kind} is read-only")

    def __repr__(self) -> str:
        return f"<{self._kind} {', '.join(self._data)}>"

    @property
    def kind(self) -> str:
        """The name of the type this record was made from (for messages)."""
        return self._kind


def freeze(value: Any, _seen: dict[int, Any] | None = None) -> Any:
    """A read-only, plain copy of ``value`` for a template (see the module docstring)."""
    if type(value) in SCALARS or type(value) is dt.date or type(value) is Markup:
        return value
    if isinstance(value, bool | int | float | str):
        return _base(value)
    seen = {} if _seen is None else _seen
    key = id(value)
    if key in seen:
        return seen[key]
    frozen = _freeze(value, seen)
    seen[key] = frozen
    return frozen


def _base(value: bool | int | float | str) -> Any:
    """A subclass of a scalar type (an enum member, say) as its plain base value."""
    for base in (bool, int, float, str):
        if isinstance(value, base):
            return base(value)
    return value


def _freeze(value: Any, seen: dict[int, Any]) -> Any:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Record):
        return value
    if isinstance(value, Mapping):
        return Record({str(k): freeze(v, seen) for k, v in value.items()}, "mapping")
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return tuple(freeze(item, seen) for item in items)
    kind = type(value).__name__
    fields = getattr(type(value), "model_fields", None)
    if isinstance(fields, dict):  # a pydantic model: declared fields only
        return Record({name: freeze(getattr(value, name), seen) for name in fields}, kind)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: freeze(getattr(value, f.name), seen) for f in dataclasses.fields(value)}
        for name in dir(type(value)):
            if not name.startswith("_") and isinstance(getattr(type(value), name), property):
                data[name] = freeze(getattr(value, name), seen)
        return Record(data, kind)
    if type(value).__module__.startswith("briefgen.") and hasattr(value, "__dict__"):
        return Record({k: freeze(v, seen) for k, v in vars(value).items() if not k.startswith("_")}, kind)
    raise TypeError(f"templates see only plain data, not {type(value).__module__}.{kind}")


def to_json(value: Any) -> Any:
    """``json.dumps`` fallback for template data (``|tojson``): records as objects, dates as ISO."""
    if isinstance(value, Record):
        return dict(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
