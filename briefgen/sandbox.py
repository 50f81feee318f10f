"""Turn template folders into a Jinja environment that user templates cannot escape.

On top of Jinja's sandbox (no ``__class__``, ``__globals__``, ``os`` or
``|attr`` tricks):

* templates are read only from the template folders: a path that climbs out or
  a symbolic link that points outside is not found;
* ``builtin/NAME`` always names a built-in template, so a user template can
  extend the built-in one it replaces;
* repetition is bounded: ``'x' * n``, ``[..] * n`` and ``**`` may not build
  values beyond :data:`MAX_VALUE`, no call or sizing filter (``'x'.ljust(n)``,
  ``|center(n)``, ``|indent(n)``, ``|tojson(indent=n)``) takes a whole number
  beyond it, and no format (``str.format``, ``%``, ``|format``) a width or
  precision beyond it;
* :func:`bounded_render` stops a template that runs longer than its time limit
  or writes more than :data:`MAX_OUTPUT` characters.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import posixpath
import re
import signal
import string
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader, PrefixLoader, TemplateNotFound
from jinja2.loaders import split_template_path
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from .plain import DATE_ATTRIBUTES, RECORD_METHODS, Record, to_json

MAX_VALUE = 1_000_000
MAX_OUTPUT = 20_000_000
#: Largest template file read.
MAX_TEMPLATE_BYTES = 5 * 1024 * 1024
#: After a deadline fires, how often it fires again until the guarded code gives up.
REPEAT_S = 0.25
#: Filters whose whole-number arguments say how much they build.
SIZED_FILTERS = ("center", "indent", "batch", "slice", "tojson")
PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(\*|\d+)?(?:\.(\*|\d+))?")


class LimitError(SecurityError):
    """A template went past a time or size limit."""


class FolderLoader(FileSystemLoader):
    """Load templates from folders through :mod:`briefgen.opener`: a regular file of at most
    :data:`MAX_TEMPLATE_BYTES` whose real path lies inside the folders; anything else is not found."""

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Callable[[], bool]]:
        from . import opener
        from .log import warn

        pieces = split_template_path(template)
        for folder in self.searchpath:
            filename = posixpath.join(folder, *pieces)
            if not os.path.lexists(filename) or os.path.isdir(filename):
                continue
            if not opener.inside(Path(filename), self.searchpath):
                warn("template %s points outside the template folders; not read", template)
                raise TemplateNotFound(f"{template} (it points outside the template folders)")
            try:
                data = opener.read(Path(filename), MAX_TEMPLATE_BYTES, "template", self.searchpath)
                mtime = os.path.getmtime(filename)
            except (opener.InputRefused, OSError) as exc:
                warn("%s", getattr(exc, "message", exc))
                raise TemplateNotFound(f"{template} ({getattr(exc, 'message', exc)})") from None
            source = data.decode("utf-8")  # a binary file fails here, at the line that includes it

            def uptodate(filename: str = filename, mtime: float = mtime) -> bool:
                try:
                    return os.path.getmtime(filename) == mtime
                except OSError:
                    return False

            return source, os.path.normpath(filename), uptodate
        raise TemplateNotFound(template)


def loader(search_path: tuple[Path, ...], builtin: Path) -> BaseLoader:
    """User folders first, then built-ins; ``builtin/...`` reaches the built-ins directly."""
    return ChoiceLoader(
        [
            PrefixLoader({"builtin": FolderLoader(str(builtin))}),
            FolderLoader([str(p) for p in search_path]),
        ]
    )


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple) else 0


def _huge(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > MAX_VALUE


def _check_counts(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if any(_huge(v) for v in (*args, *kwargs.values())):
        raise LimitError(f"{name}() was given a number above {MAX_VALUE:,}")


def _check_format(fmt: str, values: Any, *, printf: bool) -> None:
    """Refuse a format whose width or precision (written, or passed as ``*``/``{}``) is above MAX_VALUE."""
    if isinstance(values, dict):
        values = tuple(values.values())
    elif not isinstance(values, tuple):
        values = (values,)
    if printf:
        specs = ["".join(found) for found in PRINTF_SPEC.findall(fmt)]
        nested = any("*" in spec for spec in specs)
    else:
        try:
            specs = [spec for _, _, spec, _ in string.Formatter().parse(fmt) if spec]
        except ValueError:
            return  # malformed: the sandbox's own formatter reports it
        nested = any("{" in spec for spec in specs)
    numbers = [n for spec in specs for n in re.findall(r"\d+", spec)]
    if any(len(n) > 7 or int(n) > MAX_VALUE for n in numbers) or (nested and any(map(_huge, values))):
        raise LimitError(f"a format width or precision above {MAX_VALUE:,}")


def _sized(func: Callable[..., Any], name: str) -> Callable[..., Any]:
    @functools.wraps(func)
    def checked(*args: Any, **kwargs: Any) -> Any:
        _check_counts(name, args, kwargs)
        return func(*args, **kwargs)

    return checked


def _printf(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def checked(value: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            _check_format(value, kwargs or args, printf=True)
        return func(value, *args, **kwargs)

    return checked


#: Types whose public attributes a template may use: Python's plain values and containers.
PLAIN_TYPES = frozenset(
    {type(None), bool, int, float, complex, str, bytes, tuple, list, dict, set, frozenset}
)


def allowed_attribute(obj: Any, attr: str) -> bool:
    """The allow-list: which attributes of which objects a template may reach (private ones never).

    Plain values and containers (their methods: ``'a'.upper()``, ``d.items()``);
    a :class:`~briefgen.plain.Record`'s fields and read methods; a date's fields
    and formatting methods; Jinja's and MarkupSafe's own runtime objects
    (``loop.index``, a namespace, ``self.block()``, ``Markup``). Nothing else:
    no pydantic model, path, module, class or function attribute.
    """
    if attr.startswith("_"):
        return False
    kind = type(obj)
    if kind in PLAIN_TYPES:
        return True
    if isinstance(obj, Record):
        return attr in obj or attr in RECORD_METHODS
    if kind is dt.date:
        return attr in DATE_ATTRIBUTES
    return kind.__module__.split(".")[0] in ("jinja2", "markupsafe") and not isinstance(obj, type)


class BriefSandbox(SandboxedEnvironment):
    """Jinja's sandbox with an attribute allow-list, bounded repetition and powers.

    Templates get their data through :func:`briefgen.plain.freeze`; the sandbox
    refuses every attribute outside :func:`allowed_attribute`, so even an
    object that slipped past the freeze exposes nothing.
    """

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in SIZED_FILTERS:
            self.filters[name] = _sized(self.filters[name], name)
        self.filters["format"] = _printf(self.filters["format"])
        self.policies["json.dumps_kwargs"] = {"sort_keys": True, "default": to_json}

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return allowed_attribute(obj, attr) and super().is_safe_attribute(obj, attr, value)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Record):  # a field wins over a method of the same name
            if attribute in obj:
                return obj[attribute]
            if attribute not in RECORD_METHODS:
                return self.undefined(f"{obj.kind} has no field {attribute!r}", obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, Record) and isinstance(argument, str):
            if argument in obj:
                return obj[argument]
            return self.undefined(f"{obj.kind} has no field {argument!r}", obj=obj, name=argument)
        return super().getitem(obj, argument)

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        method = getattr(obj, "__wrapped__", obj)  # Jinja wraps str.format in a sandboxed formatter
        name = getattr(method, "__name__", "call")
        if isinstance(getattr(method, "__self__", None), str) and name in ("format", "format_map"):
            mapping = args[0] if name == "format_map" and args and isinstance(args[0], dict) else {}
            _check_format(method.__self__, (*args, *kwargs.values(), *mapping.values()), printf=False)
        else:
            _check_counts(name, args, kwargs)
        return super().call(context, obj, *args, **kwargs)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str):
            _check_format(left, right, printf=True)
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if _size(seq) and isinstance(count, int) and _size(seq) * count > MAX_VALUE:
                    raise LimitError(f"repetition would build {_size(seq) * count:,} items")
        if operator == "**" and isinstance(right, int | float) and abs(right) > 100:
            raise LimitError(f"exponent {right} is too large")
        return super().call_binop(context, operator, left, right)


@contextlib.contextmanager
def deadline(seconds: float, message: str) -> Iterator[None]:
    """Raise LimitError(``message``) in the main thread when ``seconds`` pass.

    Deadlines nest: an inner one never outlives an enclosing one, and the
    enclosing one is re-armed with its remaining time afterwards. Outside the
    main thread (or without ``setitimer``) there is no limit.
    """
    usable = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    if not usable or seconds <= 0:
        yield
        return
    outer, _ = signal.getitimer(signal.ITIMER_REAL)
    if outer and outer <= seconds:  # the enclosing deadline comes first; let it fire
        yield
        return
    started = time.monotonic()

    def expire(signum: int, frame: Any) -> None:
        # Fire again soon: a library that catches every exception (a fetch, a font loader) must not
        # swallow the deadline for good.
        signal.setitimer(signal.ITIMER_REAL, REPEAT_S)
        raise LimitError(message)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), 0.001))


def bounded_render(template: Any, time_limit: float | None = None, **context: Any) -> str:
    """Render ``template`` with a time limit and a cap on the output size."""
    if time_limit is None:
        from .limits import current

        time_limit = current().template_seconds
    parts: list[str] = []
    total = 0
    with deadline(time_limit, f"rendering took longer than {time_limit:g} s"):
        for chunk in template.generate(**context):
            total += len(chunk)
            if total > MAX_OUTPUT:
                raise LimitError(f"the template wrote more than {MAX_OUTPUT:,} characters")
            parts.append(chunk)
    return "".join(parts)
