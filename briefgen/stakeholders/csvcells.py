"""Turn CSV text into rows of cells, each with the line it starts on and its column number.

The ``csv`` module gives values but not where each cell starts, and every problem in a
stakeholder list must name its line and column; this reader gives exactly ``csv.reader``'s
values (a Hypothesis test holds it to that) with the place of every cell. Lines without quotes
are split at once; blank lines are skipped.
"""

from __future__ import annotations

import re

_BREAK = re.compile(r"\r\n|\r|\n")
_BARE = re.compile(r"[^,\r\n]*")
_LINE = re.compile(r"[^\r\n]*")
_BLANKS = re.compile(r"[\r\n]+")

CsvCell = tuple[str, int, int]  # value, line, column (the cell's number)


def parse_csv(text: str) -> tuple[list[tuple[int, list[CsvCell]]], tuple[int, int] | None]:
    """Split CSV text (the csv module's ``excel`` dialect) into records of cells with their places.

    Values are exactly what ``csv.reader`` gives, and a line ends at CR LF, CR
    or LF, as ``csv.reader``'s ``line_num`` counts. Blank lines give no record,
    except a blank first line: an empty header, as ``csv.DictReader`` reads it.
    Returns the records and, when a quoted cell is never closed, that cell's
    (line, column): the records stop before it.
    """
    records: list[tuple[int, list[CsvCell]]] = []
    pos, line, end = 0, 1, len(text)
    while pos < end:
        start = line
        cells: list[CsvCell] = []
        blanks = _BLANKS.match(text, pos)
        if blanks:
            run = blanks.group()
            if not records:
                records.append((start, cells))
            line += run.count("\n") + run.count("\r") - run.count("\r\n")
            pos = blanks.end()
            continue
        plain = _LINE.match(text, pos).group()  # type: ignore[union-attr]
        if '"' not in plain:  # no quotes on the line: the cells are its comma-separated parts
            cells = [(value, line, col) for col, value in enumerate(plain.split(","), 1)]
            pos += len(plain)
        else:
            pos, line = _quoted_record(text, pos, line, cells)
            if pos < 0:
                return records, (line, len(cells) + 1)
        if pos < end:
            pos = _BREAK.match(text, pos).end()  # type: ignore[union-attr]
            line += 1
        records.append((start, cells))
    return records, None


def _quoted_record(text: str, pos: int, line: int, cells: list[CsvCell]) -> tuple[int, int]:
    """Read one record that holds quotes into ``cells``; return (position of its line end, line),
    or (-1, line of the cell) when a quoted cell is never closed."""
    end = len(text)
    while True:
        cell_line, value = line, ""
        if pos < end and text[pos] == '"':
            close = pos + 1
            while True:
                close = text.find('"', close)
                if close < 0:
                    return -1, cell_line
                if text.startswith('""', close):
                    close += 2
                    continue
                break
            body = text[pos + 1 : close]
            value = body.replace('""', '"')
            line += len(_BREAK.findall(body))
            pos = close + 1
        bare = _BARE.match(text, pos)
        value += bare.group()  # type: ignore[union-attr]  # text after a closing quote joins, as in csv
        pos = bare.end()  # type: ignore[union-attr]
        cells.append((value, cell_line, len(cells) + 1))
        if pos < end and text[pos] == ",":
            pos += 1
            continue
        return pos, line
