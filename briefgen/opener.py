"""Turn an untrusted input path into bytes, or into a refusal that names the path: the one opener.

Every file briefgen reads that a user, a designer or another system could have
planted (content, stakeholder lists, templates, stylesheets, fonts, themes and
their logos, reference documents, files read back from the output folder)
goes through :func:`read`, :func:`digest` or :func:`files`:

* symbolic links are resolved first, and the real path must lie inside the
  folder (or one of the folders) the file must stay in, when one is given;
* only a regular file is read: a FIFO, a device, a socket or a folder is
  refused without blocking (the file is opened with ``O_NONBLOCK`` and checked
  with ``fstat`` on the open descriptor, so a swap after the check cannot
  bring in another kind of file);
* the size is checked before reading and the read itself is bounded, so a
  file that grows while it is read (or lies about its size) is still capped.

Refusals are :class:`InputRefused` (a usage error, exit code 2) with a one-line
message; callers that must go on without the file catch it and warn.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import UsageError

CHUNK = 1 << 20


class InputRefused(UsageError):
    """An input path that is not a regular file in its place, or is too large."""


def _roots(within: Path | Iterable[Path] | None) -> tuple[Path, ...]:
    if within is None:
        return ()
    folders = (within,) if isinstance(within, str | os.PathLike) else tuple(within)
    return tuple(Path(os.path.realpath(folder)) for folder in folders)


def inside(path: Path, within: Path | Iterable[Path]) -> bool:
    """Whether ``path``, with every symbolic link resolved, lies inside one of the folders ``within``."""
    real = Path(os.path.realpath(path))
    return any(real == root or real.is_relative_to(root) for root in _roots(within))


def _open(path: Path, limit: int, what: str, within: Path | Iterable[Path] | None) -> tuple[int, int]:
    """Open ``path`` for reading after every check; return (descriptor, size)."""
    shown = f"{what}: {path}" if what else str(path)
    real = Path(os.path.realpath(path))
    roots = _roots(within)
    if roots and not any(real == root or real.is_relative_to(root) for root in roots):
        raise InputRefused(f"{shown}: lies outside {_place(roots)}; not read")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(real, flags)
    except FileNotFoundError:
        raise InputRefused(f"{shown}: no such file") from None
    except OSError as exc:
        raise InputRefused(f"{shown}: cannot open: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputRefused(f"{shown}: not a regular file ({_kind(info.st_mode)}); not read")
        if info.st_size > limit:
            raise InputRefused(f"{shown}: {info.st_size:,} bytes, over the limit of {limit:,}")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, info.st_size


def _place(roots: tuple[Path, ...]) -> str:
    return f"its folder {roots[0]}" if len(roots) == 1 else "the folders it must stay in"


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a plain file"


def _chunks(fd: int, limit: int, shown: str) -> Iterator[bytes]:
    """Read ``fd`` in chunks, refusing it once more than ``limit`` bytes arrive."""
    total = 0
    with os.fdopen(fd, "rb", buffering=0) as handle:
        while True:
            block = handle.read(min(CHUNK, limit + 1 - total) or 1)
            if not block:
                return
            total += len(block)
            if total > limit:
                raise InputRefused(f"{shown}: grew past the limit of {limit:,} bytes while being read")
            yield block


def check(path: Path, limit: int, what: str = "", within: Path | Iterable[Path] | None = None) -> None:
    """Refuse ``path`` as :func:`read` would (not a regular file in its place, or too large), without
    reading it: for a flag checked before the work that reads it."""
    fd, _size = _open(Path(path), limit, what, within)
    os.close(fd)


def read(path: Path, limit: int, what: str = "", within: Path | Iterable[Path] | None = None) -> bytes:
    """The bytes of the regular file ``path`` (at most ``limit``), which must lie ``within`` a folder."""
    fd, _size = _open(Path(path), limit, what, within)
    return b"".join(_chunks(fd, limit, f"{what}: {path}" if what else str(path)))


def read_text(path: Path, limit: int, what: str = "", within: Path | Iterable[Path] | None = None) -> str:
    """:func:`read`, decoded as UTF-8 (an undecodable file is refused, naming the byte's line)."""
    data = read(path, limit, what, within)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        shown = f"{what}: {path}" if what else str(path)
        raise InputRefused(f"{shown}:{line}: not UTF-8 (byte 0x{data[exc.start]:02x})") from None


def digest(path: Path, limit: int, what: str = "", within: Path | Iterable[Path] | None = None) -> str:
    """The sha256 of the regular file ``path``, read with the same checks and bound as :func:`read`."""
    fd, _size = _open(Path(path), limit, what, within)
    hasher = hashlib.sha256()
    for block in _chunks(fd, limit, f"{what}: {path}" if what else str(path)):
        hasher.update(block)
    return hasher.hexdigest()


def is_plain_file(path: Path, within: Path | Iterable[Path] | None = None) -> bool:
    """Whether ``path`` is a regular file (after links) that lies inside ``within`` when given."""
    try:
        info = os.stat(path)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and (within is None or inside(path, within))


def files(folder: Path, within: Path | Iterable[Path] | None = None) -> Iterator[tuple[Path, str | None]]:
    """Walk ``folder`` in a stable order: (path, None) for each regular file that lies inside
    ``within`` (default: ``folder``), (path, reason) for every other entry that is not a folder.

    Links to folders are not followed, so a loop of links ends and a link out
    brings in nothing.
    """
    roots = _roots(within if within is not None else folder)
    for current, dirs, names in os.walk(folder, followlinks=False):
        dirs.sort()
        for name in sorted(names + [d for d in dirs if os.path.islink(os.path.join(current, d))]):
            path = Path(current, name)
            try:
                info = os.stat(path)
            except OSError:
                yield path, "a broken link"
                continue
            real = Path(os.path.realpath(path))
            if not any(real == root or real.is_relative_to(root) for root in roots):
                yield path, "a link out of its folder"
            elif not stat.S_ISREG(info.st_mode):
                yield path, _kind(info.st_mode)
            else:
                yield path, None
