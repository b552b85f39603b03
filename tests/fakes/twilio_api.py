"""A stateful fake of Twilio's Messages and Calls APIs on 127.0.0.1, shaped like Twilio's own specs.

The specs are tests/data/twilio/twilio-messages-openapi.json and twilio-calls-openapi.json (MIT).

What it keeps of the real service: HTTP Basic auth by account SID + auth token or API key + secret;
newest-first listings; `To`, `From`, `DateSent`, `DateSent<`, `DateSent>` filters on whole GMT days
(Calls: `To`, `From`, `ParentCallSid`, `Status`, `StartTime`, `StartTime<`, `StartTime>`);
`PageSize` (default 50, at most 1000); keyset paging by a `PageToken` naming the last SID of the previous
page, handed out only inside a relative `next_page_uri`; RFC 2822 dates and counts as strings; Twilio's
JSON error bodies. Tests can queue faults (429 with Retry-After, 500), slow pages, and messages that
arrive while a listing is in progress (`on_page`).
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

from fakes.twilio_listing import Listing
from fakes.twilio_records import VERSION, call_record, error_body, message_record

ACCOUNT_SID = "AC" + "5e" * 16
AUTH_TOKEN = "fake-auth-token-0123456789abcdef"
API_KEY_SID = "SK" + "7a" * 16
API_KEY_SECRET = "fake-api-key-secret"


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
        self.messages = Listing("messages", "date_sent", "DateSent", {"To": "to", "From": "from"})
        self.calls = Listing(
            "calls",
            "start_time",
            "StartTime",
            {"To": "to", "From": "from", "ParentCallSid": "parent_call_sid", "Status": "status"},
        )
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
        sid = self._sid("MM" if num_media else "SM")
        fields = (sent, from_, to, body, direction, status, num_media, error_code)
        self.messages.add(message_record(self.account_sid, sid, *fields))
        return sid

    def add_many(self, rows: Iterable[tuple[datetime, str, str, str, str]]) -> None:
        """Bulk `add` of (sent, from, to, body, direction) rows, sorted once."""
        self.messages.add_many(
            message_record(self.account_sid, self._sid("SM"), sent, from_, to, body, direction, None, 0, None)
            for sent, from_, to, body, direction in rows
        )

    def add_call(
        self,
        started: datetime | None,
        from_: str,
        to: str,
        direction: str = "inbound",
        status: str = "completed",
        duration: int | None = None,
        answered_by: str | None = None,
        parent: str | None = None,
    ) -> str:
        """Store one call leg as Twilio would list it (a child leg names its `parent`); returns its SID."""
        sid = self._sid("CA")
        fields = (started, from_, to, direction, status, duration, answered_by, parent)
        self.calls.add(call_record(self.account_sid, sid, *fields))
        return sid

    def add_calls(self, rows: Iterable[tuple[datetime, str, str, str, str, int | None]]) -> None:
        """Bulk `add_call` of (started, from, to, direction, status, duration) rows, sorted once."""
        self.calls.add_many(call_record(self.account_sid, self._sid("CA"), *row, None, None) for row in rows)

    def end_call(self, sid: str, status: str, duration: int | None = None) -> None:
        """A call in progress ends: its status and length change."""
        with self.calls.lock:
            record = self.calls.records[sid]
            record |= {"status": status, "duration": None if duration is None else str(duration)}

    def _sid(self, prefix: str) -> str:
        return f"{prefix}{next(self._serial):032x}"

    def deliver(self, sid: str, status: str, error_code: int | None = None) -> None:
        """The carrier's receipt arrives: the message's status (and error) change."""
        with self.messages.lock:
            record = self.messages.records[sid]
            record |= {"status": status, "error_code": error_code}
            record["error_message"] = "Unknown error" if error_code else None

    def fail(self, status: int, times: int = 1, retry_after: str | None = None) -> None:
        """The next `times` requests answer `status` (429 or 5xx) instead of a page."""
        self._faults.extend([Fault(status, retry_after)] * times)

    def storm(self, page: int, more: int = 5) -> None:
        """A storm of 429s when page `page` of a listing is asked for: the first asks for one second,
        `more` follow asking for none."""

        def hit(number: int) -> None:
            if number == page:
                self.fail(429, retry_after="1")
                self.fail(429, times=more, retry_after="0")

        self.on_page = hit

    def slow(self, seconds: float, times: int = 1) -> None:
        """The next `times` requests wait `seconds` before answering."""
        self._delays.extend([seconds] * times)

    def clear_faults(self) -> None:
        self._faults.clear()
        self._delays.clear()

    def __len__(self) -> int:
        return len(self.messages)

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
        account = f"{self.prefix}/{VERSION}/Accounts/{self.account_sid}"
        listing = {f"{account}/Messages.json": self.messages, f"{account}/Calls.json": self.calls}.get(path)
        if listing is None:
            return 404, error_body(404), {}
        try:
            return 200, listing.page(path, dict(parse_qsl(query, keep_blank_values=True)), self.on_page), {}
        except ValueError as exc:
            return 400, error_body(400, str(exc)), {}

    def _authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        allowed = {self.account_sid: self.auth_token, **self.api_keys}
        return user in allowed and allowed[user] == password


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


def list_pages(fake: FakeTwilio, resource: str, query: str) -> Iterator[dict[str, Any]]:
    """Every page of a listing (`Messages`, `Calls`), following `next_page_uri` as a client must."""
    uri: str | None = f"/{VERSION}/Accounts/{ACCOUNT_SID}/{resource}.json?{query}"
    while uri:
        response = requests.get(f"{fake.base_url}{uri}", auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=10)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        yield body
        uri = body["next_page_uri"]


def parse_target(target: str) -> tuple[str, dict[str, str]]:
    """A recorded request target as (path, query) for assertions."""
    parts = urlsplit(target)
    return parts.path, dict(parse_qsl(parts.query, keep_blank_values=True))
