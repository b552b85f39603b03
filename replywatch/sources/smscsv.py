"""An SMS log CSV (generic or Twilio console export), read row by row behind a byte cursor.

Rows are told apart by their message id (a digest of the row when it has none), never by position: a file
rewritten with a row removed, or replaced by a later overlapping export, is read again from the top and
the store drops the ids it holds. A row that cannot be read is quarantined with its line; the rest is read.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from replywatch.domain.vocabulary import Channel
from replywatch.errors import ParseError, PermanentSourceError
from replywatch.parse.sms import csv_dialect
from replywatch.sources.base import RawItem, load_cursor
from replywatch.sources.csvlog import CsvRow, read_rows, resume_offset, window_digest

MAX_ID = 300  # longer ids are kept as their digest (the store's column holds 500)
SETTLE_SECONDS = 30.0  # a last line without its line ending is read once the file is this long unchanged
_RAW_KEPT = 1_000_000  # bytes of an unreadable row kept in quarantine


class SmsCsvSource:
    """Rows are yielded with their dialect and a cursor just past them."""

    def __init__(self, name: str, path: Path, settle_seconds: float = SETTLE_SECONDS) -> None:
        self.name, self.path, self.settle_seconds = name, path, settle_seconds

    def items(self, cursors: Mapping[str, str]) -> Iterator[RawItem]:
        data, settled = self._read()
        header_row = next(read_rows(data, 0, width=None, settled=settled), None)
        if header_row is None:
            return
        if header_row.values is None:
            raise PermanentSourceError(f"{self.path}:1: cannot read the header: {header_row.error}")
        header = [name.strip() for name in header_row.values]  # spreadsheets pad names: " Sid" is still Sid
        try:
            dialect = csv_dialect(header)
        except ParseError as exc:
            raise PermanentSourceError(f"{self.path}:1: {exc}") from None
        start = max(resume_offset(data, load_cursor(cursors.get("csv"))), header_row.end)
        for row in read_rows(data, start, width=len(header), settled=settled):
            # What dump_cursor writes, formatted directly: a cursor per row is made for every row read.
            cursor = f'{{"before":"{window_digest(data, row.end)}","offset":{row.end}}}'
            yield self._item(row, header, dialect, cursor)

    def _read(self) -> tuple[bytes, bool]:
        """The file's bytes, and whether it has settled (unchanged for `settle_seconds`)."""
        try:
            before = self.path.stat()
            data = self.path.read_bytes()
            after = self.path.stat()
        except FileNotFoundError:
            raise PermanentSourceError(f"SMS CSV {self.path} does not exist") from None
        unchanged = (before.st_mtime_ns, before.st_size) == (after.st_mtime_ns, len(data))
        return data, unchanged and time.time() - after.st_mtime >= self.settle_seconds

    def _item(self, row: CsvRow, header: list[str], dialect: str, cursor: str) -> RawItem:
        position = f"{self.path}:{row.line}"
        if row.values is None:
            return RawItem(
                source=self.name,
                external_id=row_digest(row.raw),
                position=position,
                payload=row.raw[:_RAW_KEPT],
                channel=Channel.SMS,
                cursor=("csv", cursor),
                error=row.error,
            )
        values = dict(zip(header, row.values, strict=False))
        sid = (values.get("id") or values.get("Sid") or "").strip() or row_digest(row.raw)
        if len(sid) > MAX_ID:  # an id the store could not hold whole: its digest, stable across imports
            sid = f"sha256:{hashlib.sha256(sid.encode()).hexdigest()}"
        return RawItem(
            source=self.name,
            external_id=sid,
            position=position,
            payload=values,
            channel=Channel.SMS,
            cursor=("csv", cursor),
            dialect=dialect,
        )


def row_digest(raw: bytes) -> str:
    """The id of a row that has none of its own: its content, so a re-read finds it again."""
    content = raw.rstrip(b"\r\n")
    return f"row:sha256:{hashlib.sha256(content).hexdigest()[:40]}"
