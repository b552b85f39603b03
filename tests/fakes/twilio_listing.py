"""One list resource of the fake Twilio API (Messages, Calls): records ordered by their time, Twilio's
filters on whole GMT days and equal fields, and keyset paging by `PageToken` inside `next_page_uri`."""

from __future__ import annotations

import bisect
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fakes.twilio_records import NEWEST, day, midnight, paging


@dataclass
class Listing:
    """`key` names the page's list (`messages`, `calls`); `time` the record's RFC 2822 time that orders
    it and that the `<time_filter>`, `<time_filter><`, `<time_filter>>` parameters read by GMT day;
    `equal` maps other filters to the field they compare (`To` → `to`)."""

    key: str
    time: str
    time_filter: str
    equal: dict[str, str]
    lock: threading.RLock = field(default_factory=threading.RLock)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    order: list[tuple[float, str]] = field(default_factory=list)  # (time, sid), ascending

    def add(self, record: dict[str, Any]) -> None:
        with self.lock:
            self.records[record["sid"]] = record
            bisect.insort(self.order, (self.stamp(record), record["sid"]))

    def add_many(self, records: Iterable[dict[str, Any]]) -> None:
        """Bulk `add`, sorted once."""
        with self.lock:
            for record in records:
                self.records[record["sid"]] = record
                self.order.append((self.stamp(record), record["sid"]))
            self.order.sort()

    def stamp(self, record: dict[str, Any]) -> float:
        """Where a record sorts: its time, or on top while it has none (queued)."""
        text = record[self.time]
        return NEWEST if text is None else datetime.strptime(text, "%a, %d %b %Y %H:%M:%S %z").timestamp()

    def __len__(self) -> int:
        return len(self.records)

    def page(self, path: str, query: dict[str, str], on_page: Callable[[int], None] | None) -> dict[str, Any]:
        size, number, token = paging(query)
        if on_page is not None:
            on_page(number)
        names = (*self.equal, self.time_filter, f"{self.time_filter}<", f"{self.time_filter}>")
        filters = {k: query[k] for k in names if k in query}
        with self.lock:
            found = list(itertools.islice(self._matching(filters, token), size + 1))
        page, more = found[:size], len(found) > size
        if token and token.startswith("PB"):  # a previous page: the `size` records just newer, newest first
            page, more = page[::-1], True

        def link(n: int, token: str | None) -> str:
            extra = {"PageToken": token} if token else {}
            return f"{path}?{urlencode({**filters, 'PageSize': size, 'Page': n, **extra})}"

        return {
            "end": number * size + max(len(page) - 1, 0),
            "first_page_uri": link(0, None),
            "next_page_uri": link(number + 1, f"PA{page[-1]['sid']}") if more else None,
            "page": number,
            "page_size": size,
            "previous_page_uri": link(number - 1, f"PB{page[0]['sid']}") if number and page else None,
            "start": number * size,
            "uri": link(number, token),
            self.key: page,
        }

    def _matching(self, filters: dict[str, str], token: str | None) -> Iterator[dict[str, Any]]:
        """Newest first after a `PA` token (older than its SID); oldest first after a `PB` token (newer)."""
        low, high = self._bounds(filters)
        indices: Iterable[int] = range(high - 1, low - 1, -1)
        if token and token.startswith("PA"):
            high = min(high, bisect.bisect_left(self.order, self._key(token[2:])))
            indices = range(high - 1, low - 1, -1)
        elif token and token.startswith("PB"):
            indices = range(max(low, bisect.bisect_right(self.order, self._key(token[2:]))), high)
        elif token:
            raise ValueError(f"Invalid PageToken {token!r}")
        dated = any(k.startswith(self.time_filter) for k in filters)
        wanted = [(self.equal[k], v) for k, v in filters.items() if k in self.equal]
        for index in indices:
            stamp, sid = self.order[index]
            record = self.records[sid]
            if dated and stamp == NEWEST:
                continue
            if all(record.get(name) == value for name, value in wanted):
                yield record

    def _bounds(self, filters: dict[str, str]) -> tuple[int, int]:
        """Index range of `order` inside the time filters (each a whole GMT day, inclusive)."""
        on, after, before = self.time_filter, f"{self.time_filter}>", f"{self.time_filter}<"
        low, high = 0, len(self.order)
        if on in filters:
            filters = {**filters, after: filters[on], before: filters[on]}
        if after in filters:
            low = bisect.bisect_left(self.order, (midnight(day(filters[after])), ""))
        if before in filters:
            end = midnight(day(filters[before]) + timedelta(days=1))
            high = bisect.bisect_left(self.order, (end, ""))
        return low, max(low, high)

    def _key(self, sid: str) -> tuple[float, str]:
        if sid not in self.records:
            raise ValueError(f"Invalid PageToken: no record {sid}")
        return self.stamp(self.records[sid]), sid
