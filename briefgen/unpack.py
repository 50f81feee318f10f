"""Turn zip bytes into their members, inflating each with a byte budget: the one zip reader.

Every zip briefgen opens (a reference .docx, the Word files it writes and reads
back) goes through :func:`members`. The central directory is only believed
where believing it is safe; what counts is what the data really holds:

* the member count is bounded before the directory is parsed (each directory
  entry starts with a signature, so their number cannot exceed the signatures
  in the file);
* names must be plain relative paths: no ``..`` or ``.`` segments, no leading
  ``/``, no backslashes, drive letters, control characters or empty segments,
  and no two names that differ only in case (Office part names do not);
* encrypted members and compression methods other than stored and deflate are
  refused (bzip2 and LZMA can expand a few bytes into gigabytes at once);
* the declared sizes must fit the limit before anything is inflated, and then
  every member is inflated in small steps from its own compressed bytes,
  counting the bytes that really come out: a member that yields more than its
  header declares, or a zip that yields more than the limit, is refused at
  that step, whatever the headers claim; a member must also end where its
  header says and match its checksum.

Refusals are :class:`Refused` with a one-line reason; callers add the file's
name and turn it into their own error.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib

CHUNK = 1 << 16
#: The largest package a user may hand briefgen (a reference .docx), packed or unpacked.
MAX_PACKAGE_BYTES = 50 * 1024 * 1024
MAX_MEMBERS = 10_000
#: Below this many unpacked bytes the compression ratio is never held against a zip.
RATIO_FLOOR = 1_000_000
CENTRAL_SIGNATURE = b"PK\x01\x02"
LOCAL_SIGNATURE = b"PK\x03\x04"
LOCAL_HEADER = struct.Struct("<4s5H3L2H")
BAD_NAME = re.compile(r"[\x00-\x1f\x7f\\]|^[A-Za-z]:")


class Refused(ValueError):
    """A zip that is not read, with the reason as its message."""


def members(
    data: bytes, limit: int, max_members: int = MAX_MEMBERS, ratio: int | None = None, what: str = "zip"
) -> dict[str, bytes]:
    """The members of the zip ``data`` by name, at most ``limit`` bytes unpacked in all.

    With ``ratio``, a zip that unpacks to more than a megabyte must also stay
    within ``ratio`` times its own size.
    """
    entries = data.count(CENTRAL_SIGNATURE)
    if entries > max_members:
        raise Refused(f"it holds up to {entries:,} members (limit {max_members:,})")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise Refused(f"not a readable {what} ({exc})") from None
    if len(infos) > max_members:
        raise Refused(f"it holds {len(infos):,} members (limit {max_members:,})")
    check_names(infos)
    declared = sum(info.file_size for info in infos)
    packed = max(1, len(data))
    if declared > limit or (ratio and declared > RATIO_FLOOR and declared / packed > ratio):
        raise Refused(f"it unpacks to {declared:,} bytes (limit {limit:,}, ratio {declared / packed:.0f}:1)")
    budget = min(limit, max(RATIO_FLOOR, ratio * packed)) if ratio else limit
    found: dict[str, bytes] = {}
    total = 0
    for info in infos:
        if info.is_dir():
            continue
        body = _inflate(data, info, budget - total, budget)
        total += len(body)
        found[info.filename] = body
    return found


def check_names(infos: list[zipfile.ZipInfo]) -> None:
    """Refuse member names that are not plain relative paths, and names used twice."""
    seen: dict[str, str] = {}
    for info in infos:
        for name in {info.orig_filename, info.filename}:
            segments = name.removesuffix("/").split("/")
            if not name or name.startswith("/") or BAD_NAME.search(name) or {"", ".", ".."} & set(segments):
                raise Refused(f"member name {name!r} is not a plain relative path")
        key = info.filename.casefold()
        if key in seen:
            raise Refused(f"member name {info.filename!r} occurs twice (as {seen[key]!r})")
        seen[key] = info.filename
        if info.flag_bits & 0x1:
            raise Refused(f"member {info.filename} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise Refused(f"member {info.filename} uses compression method {info.compress_type}")


def _start(data: bytes, info: zipfile.ZipInfo) -> int:
    """Where ``info``'s compressed bytes begin, after a local header that agrees with the directory."""
    offset = info.header_offset
    header = data[offset : offset + LOCAL_HEADER.size]
    if len(header) < LOCAL_HEADER.size:
        raise Refused(f"member {info.filename} lies outside the file")
    sig, _, flags, method, _, _, _, _, _, name_len, extra_len = LOCAL_HEADER.unpack(header)
    start = offset + LOCAL_HEADER.size
    try:
        name = data[start : start + name_len].decode("utf-8" if flags & 0x800 else "cp437")
    except UnicodeDecodeError:
        name = None
    if sig != LOCAL_SIGNATURE or name != info.orig_filename or flags & 0x1 or method != info.compress_type:
        raise Refused(f"member {info.filename}: its local header does not match the directory")
    return start + name_len + extra_len


def _inflate(data: bytes, info: zipfile.ZipInfo, left: int, budget: int) -> bytes:
    """One member's bytes, inflated in steps of ``CHUNK``: refused past its declared size or
    past the ``left`` bytes of the zip's ``budget``."""
    start = _start(data, info)
    end = start + info.compress_size
    if end > len(data):
        raise Refused(f"member {info.filename}: its compressed data runs past the end of the file")
    view = memoryview(data)[start:end]
    if info.compress_type == zipfile.ZIP_STORED:
        if info.compress_size != info.file_size:
            raise Refused(f"member {info.filename}: stored with two different sizes")
        if info.file_size > left:
            raise Refused(_past(info, budget))
        body = bytes(view)
    else:
        body = _deflated(view, info, left, budget)
    if zlib.crc32(body) != info.CRC:
        raise Refused(f"member {info.filename} fails its checksum")
    return body


def _deflated(view: memoryview, info: zipfile.ZipInfo, left: int, budget: int) -> bytes:
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    pieces: list[bytes] = []
    size = 0
    position = 0
    pending: bytes | memoryview = b""
    try:
        while not inflater.eof:
            if not pending and position < len(view):
                pending = view[position : position + CHUNK]
                position += len(pending)
            piece = inflater.decompress(pending, CHUNK)
            pending = inflater.unconsumed_tail
            if not piece and not pending and position >= len(view):
                break
            size += len(piece)
            if size > info.file_size:
                raise Refused(
                    f"member {info.filename} inflates to more than the {info.file_size:,} bytes "
                    "its header declares"
                )
            if size > left:
                raise Refused(_past(info, budget))
            pieces.append(piece)
    except zlib.error as exc:
        raise Refused(f"member {info.filename}: corrupt compressed data ({exc})") from None
    if not inflater.eof:
        raise Refused(f"member {info.filename}: its compressed data ends early")
    if size != info.file_size:
        raise Refused(
            f"member {info.filename} inflates to {size:,} bytes, not the {info.file_size:,} declared"
        )
    return b"".join(pieces)


def _past(info: zipfile.ZipInfo, budget: int) -> str:
    return f"member {info.filename} takes the unpacked size past {budget:,} bytes"
