"""A stateful fake of Twilio's Messages API on 127.0.0.1, shaped like twilio-messages-openapi.json.

The spec is tests/data/twilio/twilio-messages-openapi.json (Twilio's own, MIT).

What it keeps of the real service: HTTP Basic auth by account SID + auth token or API key + secret;
newest-first listings; `To`, `From`, `DateSent`, `DateSent<`, `DateSent>` filters on whole GMT days;
`PageSize` (default 50, at most 1000); keyset paging by a `PageToken` naming the last SID of the previous
page, handed out only inside a relative `next_page_uri`; RFC 2822 dates and counts as strings; Twilio's
JSON error bodies. Tests can queue faults (429 with Retry-After, 500), slow pages, and messages that
arrive while a listing is in progress (`on_page`).
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fakes.twilio_records import (
    NEWEST,
    VERSION,
    day,
    error_body,
    message_record,
    midnight,
    paging,
    timestamp,
)

ACCOUNT_SID = "AC" + "5e" * 16
AUTH_TOKEN = "fake-auth-token-0123456789abcdef"
API_KEY_SID = "SK" + "7a" * 16
API_KEY_SECRET = "fake-api-key-secret"
_FILTERS = ("To", "From", "DateSent", "DateSent<", "DateSent>")


@dataclass(frozen=True)
class Fault:
    status: int
    retry_after: str | None = None


class FakeTwilio:
    """The Messages list resource of one account; `add` messages, then point the SDK at `base_url`."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix.rstrip("/")
        self.account_sid, self.auth_token = ACCOUNT_SID, AUTH_TOKEN
        self.api_keys = {API_KEY_SID: API_KEY_SECRET}
        self.requests: list[str] = []
        self.on_page: Callable[[int], None] | None = None  # called before serving page N of any listing
        self._lock = threading.RLock()
        self._records: dict[str, dict[str, Any]] = {}
        self._order: list[tuple[float, str]] = []  # (date_sent timestamp, sid), ascending
        self._faults: deque[Fault] = deque()
        self._delays: deque[float] = deque()
        self._serial = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None

    # -- the test's side -------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.prefix}"

    def add(
        self,
        sent: datetime | None,
        from_: str,
        to: str,
        body: str = "",
        direction: str = "inbound",
        status: str | None = None,
        num_media: int = 0,
        error_code: int | None = None,
    ) -> str:
        """Store one message as Twilio would list it; returns its SID."""
        sid = self._sid(num_media)
        fields = (sent, from_, to, body, direction, status, num_media, error_code)
        record = message_record(self.account_sid, sid, *fields)
        with self._lock:
            self._records[sid] = record
            bisect.insort(self._order, (timestamp(record), sid))
        return sid

    def add_many(self, rows: Iterable[tuple[datetime, str, str, str, str]]) -> None:
        """Bulk `add` of (sent, from, to, body, direction) rows, sorted once."""
        with self._lock:
            for sent, from_, to, body, direction in rows:
                sid = self._sid(0)
                record = message_record(
                    self.account_sid, sid, sent, from_, to, body, direction, None, 0, None
                )
                self._records[sid] = record
                self._order.append((timestamp(record), sid))
            self._order.sort()

    def _sid(self, num_media: int) -> str:
        return f"{'MM' if num_media else 'SM'}{next(self._serial):032x}"

    def deliver(self, sid: str, status: str, error_code: int | None = None) -> None:
        """The carrier's receipt arrives: the message's status (and error) change."""
        with self._lock:
            record = self._records[sid]
            record |= {"status": status, "error_code": error_code}
            record["error_message"] = "Unknown error" if error_code else None

    def fail(self, status: int, times: int = 1, retry_after: str | None = None) -> None:
        """The next `times` requests answer `status` (429 or 5xx) instead of a page."""
        self._faults.extend([Fault(status, retry_after)] * times)

    def slow(self, seconds: float, times: int = 1) -> None:
        """The next `times` requests wait `seconds` before answering."""
        self._delays.extend([seconds] * times)

    def clear_faults(self) -> None:
        self._faults.clear()
        self._delays.clear()

    def __len__(self) -> int:
        return len(self._records)

    # -- the server ------------------------------------------------------------------------------------

    def start(self) -> FakeTwilio:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def respond(self, target: str, authorization: str | None) -> tuple[int, dict[str, Any], dict[str, str]]:
        """(status, JSON body, extra headers) for one GET."""
        self.requests.append(target)
        if self._delays:
            time.sleep(self._delays.popleft())
        if self._faults:
            fault = self._faults.popleft()
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            return fault.status, error_body(fault.status), headers
        if not self._authorized(authorization):
            return 401, error_body(401), {"WWW-Authenticate": 'Basic realm="Twilio API"'}
        path, _, query = target.partition("?")
        if path != f"{self.prefix}/{VERSION}/Accounts/{self.account_sid}/Messages.json":
            return 404, error_body(404), {}
        try:
            return 200, self._page(path, dict(parse_qsl(query, keep_blank_values=True))), {}
        except ValueError as exc:
            return 400, error_body(400, str(exc)), {}

    def _authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        allowed = {self.account_sid: self.auth_token, **self.api_keys}
        return user in allowed and allowed[user] == password

    # -- listing ---------------------------------------------------------------------------------------

    def _page(self, path: str, query: dict[str, str]) -> dict[str, Any]:
        size, number, token = paging(query)
        if self.on_page is not None:
            self.on_page(number)
        filters = {k: query[k] for k in _FILTERS if k in query}
        with self._lock:
            found = list(itertools.islice(self._matching(filters, token), size + 1))
        page, more = found[:size], len(found) > size
        if token and token.startswith("PB"):  # a previous page: the `size` messages just newer, newest first
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
            "messages": page,
        }

    def _matching(self, filters: dict[str, str], token: str | None) -> Iterator[dict[str, Any]]:
        """Newest first after a `PA` token (older than its SID); oldest first after a `PB` token (newer)."""
        low, high = self._bounds(filters)
        indices: Iterable[int] = range(high - 1, low - 1, -1)
        if token and token.startswith("PA"):
            high = min(high, bisect.bisect_left(self._order, self._key(token[2:])))
            indices = range(high - 1, low - 1, -1)
        elif token and token.startswith("PB"):
            indices = range(max(low, bisect.bisect_right(self._order, self._key(token[2:]))), high)
        elif token:
            raise ValueError(f"Invalid PageToken {token!r}")
        dated = any(k.startswith("DateSent") for k in filters)
        for index in indices:
            stamp, sid = self._order[index]
            record = self._records[sid]
            if dated and stamp == NEWEST:
                continue
            if filters.get("To", record["to"]) != record["to"]:
                continue
            if filters.get("From", record["from"]) == record["from"]:
                yield record

    def _bounds(self, filters: dict[str, str]) -> tuple[int, int]:
        """Index range of `_order` inside the DateSent filters (each a whole GMT day, inclusive)."""
        low, high = 0, len(self._order)
        if "DateSent" in filters:
            filters = {**filters, "DateSent>": filters["DateSent"], "DateSent<": filters["DateSent"]}
        if "DateSent>" in filters:
            low = bisect.bisect_left(self._order, (midnight(day(filters["DateSent>"])), ""))
        if "DateSent<" in filters:
            end = midnight(day(filters["DateSent<"]) + timedelta(days=1))
            high = bisect.bisect_left(self._order, (end, ""))
        return low, max(low, high)

    def _key(self, sid: str) -> tuple[float, str]:
        if sid not in self._records:
            raise ValueError(f"Invalid PageToken: no message {sid}")
        return timestamp(self._records[sid]), sid


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        fake: FakeTwilio = self.server.fake  # type: ignore[attr-defined]
        status, body, headers = fake.respond(self.path, self.headers.get("Authorization"))
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
        except (BrokenPipeError, ConnectionResetError):
            return
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        # A client that timed out on a slow page has gone away, as it would from Twilio.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def running(prefix: str = "") -> Iterator[FakeTwilio]:
    fake = FakeTwilio(prefix).start()
    try:
        yield fake
    finally:
        fake.stop()


def parse_target(target: str) -> tuple[str, dict[str, str]]:
    """A recorded request target as (path, query) for assertions."""
    parts = urlsplit(target)
    return parts.path, dict(parse_qsl(parts.query, keep_blank_values=True))
