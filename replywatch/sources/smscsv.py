"""An SMS log CSV (generic or Twilio console export); its cursor counts the rows already stored."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator, Mapping
from pathlib import Path

from replywatch.domain.vocabulary import Channel
from replywatch.errors import ParseError, PermanentSourceError
from replywatch.parse.sms import csv_dialect
from replywatch.sources.base import RawItem, dump_cursor, load_cursor

MAX_ID = 300  # longer ids are kept as their digest (the store's column holds 500)


class SmsCsvSource:
    """Rows are yielded with their dialect; a replaced file (new header/first row) is read from the top.

    Ids are the message SIDs, so an overlapping later export adds nothing twice.
    """

    def __init__(self, name: str, path: Path) -> None:
        self.name, self.path = name, path

    def items(self, cursors: Mapping[str, str]) -> Iterator[RawItem]:
        if not self.path.exists():
            raise PermanentSourceError(f"SMS CSV {self.path} does not exist")
        text = self.path.read_bytes().decode("utf-8-sig", errors="replace")
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if header is None:
            return
        header = [name.strip() for name in header]  # spreadsheets pad names: " Sid" is still Sid
        try:
            dialect = csv_dialect(header)
        except ParseError as exc:
            raise PermanentSourceError(f"{self.path}:1: {exc}") from None
        mark = load_cursor(cursors.get("csv"))
        head = hashlib.sha256(text[:2048].encode()).hexdigest()[:16]
        done = int(mark.get("rows", 0)) if mark.get("head") == head else 0
        for index, values in enumerate(reader, start=1):
            if index <= done or not any(v.strip() for v in values):
                continue
            row = dict(zip(header, values, strict=False))
            sid = (row.get("id") or row.get("Sid") or "").strip() or f"line-{reader.line_num}"
            if len(sid) > MAX_ID:  # an id the store could not hold whole: its digest, stable across imports
                sid = f"sha256:{hashlib.sha256(sid.encode()).hexdigest()}"
            yield RawItem(
                source=self.name,
                external_id=sid,
                position=f"{self.path}:{reader.line_num}",
                payload=row,
                channel=Channel.SMS,
                cursor=("csv", dump_cursor({"rows": index, "head": head})),
                dialect=dialect,
            )
