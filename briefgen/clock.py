"""Turn ``SOURCE_DATE_EPOCH`` into the moment every written file records.

PDF and Word metadata, zip timestamps and e-mail dates all come from :func:`moment`, so with
``SOURCE_DATE_EPOCH`` set two runs on the same input give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import os

from .errors import UsageError

#: 2107-12-31 23:59:59 UTC: the last moment a zip entry (and so a .docx) can record.
MAX_EPOCH = 4_354_819_199


def source_date_epoch() -> int | None:
    """The ``SOURCE_DATE_EPOCH`` timestamp, or None when unset; a bad value is a usage error."""
    raw = os.environ.get("SOURCE_DATE_EPOCH")
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970, not {raw!r}") from None
    if value < 0:
        raise UsageError("SOURCE_DATE_EPOCH must not be negative")
    if value > MAX_EPOCH:
        raise UsageError(
            f"SOURCE_DATE_EPOCH must be at most {MAX_EPOCH} (the end of 2107, the last date a zip file "
            f"such as a Word document can hold), not {value}"
        )
    return value


def moment(epoch: int | None) -> dt.datetime:
    """The UTC moment of ``epoch`` (seconds since 1970), or now when it is None."""
    return dt.datetime.fromtimestamp(epoch, dt.UTC) if epoch is not None else dt.datetime.now(dt.UTC)
