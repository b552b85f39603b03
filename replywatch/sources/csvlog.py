"""A CSV log that an export keeps appending to, read strictly one row at a time.

Each row is parsed on its own, so a bad one (an unbalanced quote, a field too large) is reported with its
line while the rows after it are read. A last line still being written is held back until the file has
settled. The byte cursor carries a digest of the bytes just before it, so a rewritten file is noticed.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from replywatch.sources.base import WINDOW
from replywatch.sources.base import window_digest as _digest

MAX_ROW_BYTES = (
    100_000  # a text is at most 1,600 characters: a row this large is no SMS (csv's own limit: 128 KiB)
)


@dataclass(frozen=True)
class CsvRow:
    """One row: its values, or why it could not be read. `line` is where it starts (1-based)."""

    line: int
    end: int  # byte offset just past the row
    raw: bytes
    values: list[str] | None = None
    error: str | None = None
    oversized: bool = False


def resume_offset(data: bytes, mark: Mapping[str, Any]) -> int:
    """Where the last read stopped, when the file still holds those bytes there; else 0 (read it again)."""
    offset = int(mark.get("offset", 0) or 0)
    if not 0 < offset <= len(data) or mark.get("before") != window_digest(data, offset):
        return 0
    return offset


def window_digest(data: bytes, offset: int) -> str:
    return _digest(data[max(0, offset - WINDOW) : offset])


def read_rows(data: bytes, start: int, *, width: int | None, settled: bool) -> Iterator[CsvRow]:
    """The rows of `data` from byte `start` (the header is the first row when `start` is 0); `width` is
    the header's number of columns, which a row spanning several lines must have.

    A quoted field may span lines; one that never closes before the end of the file is a row still being
    written (held back) unless the file has `settled`, when its first line is reported and reading goes on
    at the next line. A last line without a line ending is likewise held back until the file settles."""
    lines = data[start:].splitlines(keepends=True)
    number = data.count(b"\n", 0, start) + 1
    pos, index = start, 0
    while index < len(lines):
        taken, quoted = _record(lines, index)
        record = b"".join(lines[index : index + taken])
        if (quoted or not record.endswith((b"\n", b"\r"))) and not settled:
            return  # still being written: the cursor stays before it
        row = None if quoted else _row(number, pos, record)
        if row is None or (taken > 1 and not row.oversized and _misread(row.values, width)):
            # Read again from the next line: an unbalanced quote must not swallow the rows after it.
            taken, record = 1, lines[index]
            row = CsvRow(number, pos + len(record), record, error=_unbalanced(number))
        if record.strip():
            yield row
        pos += len(record)
        number += record.count(b"\n") or 1
        index += taken


def _misread(values: list[str] | None, width: int | None) -> bool:
    """A row over several lines that is no row: a parse error, or not the header's number of columns.
    (One too large is a row all the same: it is reported whole.)"""
    return values is None or (width is not None and len(values) != width)


def _record(lines: list[bytes], index: int) -> tuple[int, bool]:
    """How many lines the row starting at `index` takes (a quoted field may hold line breaks), and
    whether a quote is still open at the end of the file."""
    quoted, end = False, index
    while end < len(lines):
        quoted ^= lines[end].count(b'"') % 2 == 1
        end += 1
        if not quoted:
            break
    return end - index, quoted


def _row(number: int, pos: int, record: bytes) -> CsvRow:
    end = pos + len(record)
    if len(record) > MAX_ROW_BYTES:
        error = f"line {number}: a row larger than the limit ({len(record):,} > {MAX_ROW_BYTES:,} bytes)"
        return CsvRow(number, end, record, error=error, oversized=True)
    text = record.decode("utf-8", errors="replace")
    if number == 1:
        text = text.removeprefix("\ufeff")
    try:
        values = next(csv.reader((text,), strict=True), [])
    except csv.Error as exc:
        return CsvRow(number, end, record, error=f"line {number}: {exc}")
    return CsvRow(number, end, record, values=values)


def _unbalanced(number: int) -> str:
    return f"line {number}: a quoted field does not close before the next row (unbalanced quote)"
