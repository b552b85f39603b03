"""A call log CSV (generic columns or a CallRail export): rows as items, with the SMS CSV's tolerance.

A bad row is quarantined by the pipeline with its line; the cursor counts the rows already read, and
ids are the export's own call ids, so a re-import or an overlapping later export adds nothing twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator, Mapping
from pathlib import Path

from replywatch.domain.vocabulary import Channel
from replywatch.errors import ParseError, PermanentSourceError
from replywatch.parse.calls import UNREADABLE, call_csv_dialect, column_key
from replywatch.sources.base import RawItem, dump_cursor, load_cursor
from replywatch.sources.smscsv import MAX_ID

CURSOR_KEY = "csv"
_ID_COLUMNS = ("id", "call_id")


class CallsCsvSource:
    """Rows beyond the cursor, keyed by their call id (else their line); a replaced file (another start)
    is read from the top and the store's unique ids drop what it has."""

    def __init__(self, name: str, path: Path) -> None:
        self.name, self.path = name, path

    def items(self, cursors: Mapping[str, str]) -> Iterator[RawItem]:
        if not self.path.exists():
            raise PermanentSourceError(f"call log CSV {self.path} does not exist")
        text = self.path.read_bytes().decode("utf-8-sig", errors="replace")
        reader = csv.reader(io.StringIO(text, newline=""))
        header = [column_key(name) for name in next(reader, [])]
        if not header:
            return
        try:
            dialect = call_csv_dialect(header)
        except ParseError as exc:
            raise PermanentSourceError(f"{self.path}:1: {exc}") from None
        head = hashlib.sha256(text[:2048].encode()).hexdigest()[:16]
        mark = load_cursor(cursors.get(CURSOR_KEY))
        done = int(mark.get("rows", 0)) if mark.get("head") == head else 0
        for index, values in enumerate(_rows(reader), start=1):
            if index <= done:
                continue
            if isinstance(values, csv.Error):  # quarantined by the pipeline, with its line
                row, kind = {"error": str(values)}, UNREADABLE
            elif any(v.strip() for v in values):
                row, kind = dict(zip(header, values, strict=False)), dialect
            else:
                continue
            yield RawItem(
                source=self.name,
                external_id=_call_id(row, reader.line_num),
                position=f"{self.path}:{reader.line_num}",
                payload=row,
                channel=Channel.CALL,
                cursor=(CURSOR_KEY, dump_cursor({"rows": index, "head": head})),
                dialect=kind,
            )


def _rows(reader: Iterator[list[str]]) -> Iterator[list[str] | csv.Error]:
    """The reader's rows, and in place of a row it cannot read (a field past the csv module's limit)
    its error: the reader goes on at the next line."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield exc


def _call_id(row: Mapping[str, str], line: int) -> str:
    """The row's call id (its digest when longer than the store keeps whole), else its line."""
    found = next((row[c].strip() for c in _ID_COLUMNS if (row.get(c) or "").strip()), f"line-{line}")
    return found if len(found) <= MAX_ID else f"sha256:{hashlib.sha256(found.encode()).hexdigest()}"
