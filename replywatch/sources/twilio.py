"""The Twilio message log through the official SDK, read incrementally by GMT day with a crash-safe cursor."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from replywatch.clock import now as clock_now
from replywatch.config import TwilioSourceConfig
from replywatch.domain.vocabulary import Channel
from replywatch.errors import ConfigError, PermanentSourceError, TransientSourceError
from replywatch.parse.sms import TWILIO_API
from replywatch.sources.base import RawItem, dump_cursor, load_cursor
from replywatch.sources.twilio_http import PatientHttpClient, RetryPolicy
from replywatch.sources.twilio_pages import instant, pages

TWILIO_API_URL = "https://api.twilio.com"
API_VERSION = "2010-04-01"
PAGE_SIZE = 1000
CURSOR_KEY = "twilio"
# Failed before Twilio sent it: no date_sent, but worth recording (it is never a touch). A canceled
# scheduled text never existed for the customer and is left out, like queued ones.
_NEVER_SENT = frozenset({"failed", "undelivered"})
# Twilio knows a text was undelivered only when the carrier's receipt comes, mostly within minutes: a text
# of ours still on its way waits this long, so a failed one is not stored as a touch. The day of overlap
# between polls brings it back. A receipt later than that, while the text is still within the overlap,
# updates the stored status (the pipeline compares the status of each SID it reads again).
SETTLE = timedelta(hours=1)
_ON_ITS_WAY = frozenset({"accepted", "scheduled", "queued", "sending", "sent"})


@dataclass(frozen=True, slots=True)
class _Record:
    sent_at: datetime
    sid: str
    payload: dict[str, str]

    @property
    def on_its_way(self) -> bool:
        return self.payload["direction"] != "inbound" and self.payload["status"] in _ON_ITS_WAY


class TwilioSource:
    """Messages of the account (or to and from `numbers`), oldest first, each with its day as the cursor.

    Twilio filters DateSent by whole GMT days and lists newest first, so a poll reads from the day before
    the cursor, sorts what it read, and lets the pipeline skip the SIDs it already stored (or update their
    delivery status when a carrier's receipt changed it). The cursor only
    moves to a day before which everything read has been yielded (texts still on their way wait, within
    the overlap), so a crash mid-poll loses nothing.
    """

    def __init__(
        self,
        cfg: TwilioSourceConfig,
        retry: RetryPolicy | None = None,
        page_size: int = PAGE_SIZE,
        now: Callable[[], datetime] = clock_now,
    ) -> None:
        # A request retries for at most the source's interval: past it the poll fails where `status` shows
        # it, and the source is tried again with its backoff (a longer silence looks like a stall).
        retry = retry or RetryPolicy(max_total_s=min(RetryPolicy.max_total_s, float(cfg.interval)))
        self.name, self.cfg, self.retry, self.page_size = cfg.name, cfg, retry, page_size
        self.now = now
        # Set by the daemon: a wait between retries ends at once when it stops.
        self.interrupt: threading.Event | None = None

    def items(self, cursors: Mapping[str, str]) -> Iterator[RawItem]:
        since = self._since(load_cursor(cursors.get(CURSOR_KEY)))
        settled = self.now() - SETTLE
        marks: dict[date, tuple[str, tuple[str, str]]] = {}  # day → its ISO form and the cursor at it
        for record in sorted(self._read(since), key=lambda r: (r.sent_at, r.sid)):
            if record.on_its_way and record.sent_at > settled:
                continue  # later items move the cursor at most a day past it: the next poll reads it again
            sent_on = record.sent_at.date()
            if sent_on not in marks:
                day = sent_on.isoformat()
                marks[sent_on] = day, (CURSOR_KEY, dump_cursor({"day": day}))
            day, cursor = marks[sent_on]
            yield RawItem(
                source=self.name,
                external_id=record.sid,
                position=f"Twilio message {record.sid} ({day})",
                payload=record.payload,
                channel=Channel.SMS,
                cursor=cursor,
                dialect=TWILIO_API,
            )

    def _since(self, mark: Mapping[str, Any]) -> date | None:
        try:
            return date.fromisoformat(str(mark["day"])) - timedelta(days=1)
        except (KeyError, ValueError):
            return self.cfg.since

    def _read(self, since: date | None) -> list[_Record]:
        """Every message of the window, once each (a text between two of our numbers is listed twice)."""
        messages = self._client().api.account.messages
        found: dict[str, _Record] = {}
        try:
            for query in self._queries(since):
                for page in pages(messages, self.page_size, query):
                    for message in page:
                        record = _record(message)
                        if record is not None:
                            found[record.sid] = record
        except (TwilioException, json.JSONDecodeError) as exc:
            raise TransientSourceError(f"unexpected answer from {self.cfg.base_url}: {exc}") from exc
        return list(found.values())

    def _queries(self, since: date | None) -> Iterable[dict[str, str]]:
        window = {"date_sent_after": since.isoformat()} if since else {}
        if not self.cfg.numbers:
            return [window]
        return [{**window, key: n} for n in self.cfg.numbers for key in ("to", "from_")]

    def _client(self) -> Client:
        try:
            user, password = self.cfg.credentials()
        except ConfigError as exc:
            raise PermanentSourceError(str(exc)) from None
        if not password:
            raise PermanentSourceError("the Twilio secret is empty")
        http = PatientHttpClient(self.name, self.retry, self.interrupt)
        client = Client(user, password, account_sid=self.cfg.account_sid, http_client=http)
        if self.cfg.base_url != TWILIO_API_URL:
            _point_at(client, self.cfg.base_url)
        return client


def _point_at(client: Client, base_url: str) -> None:
    """Send the SDK to a Twilio-compatible API (or a test fake); page links stay relative to its host."""
    parts = urlsplit(base_url)
    client.api.base_url = f"{parts.scheme}://{parts.netloc}"
    prefix = parts.path.strip("/")
    if prefix:
        client.api.v2010.version = f"{prefix}/{API_VERSION}"
    # An edge or region (also from TWILIO_EDGE / TWILIO_REGION) would rewrite the host to *.twilio.com.
    client.edge = client.region = None


def _record(message: Mapping[str, Any]) -> _Record | None:
    """The API record as the payload `parse_sms_row` reads; None while it is queued, scheduled or canceled."""
    sid, status = message.get("sid"), message.get("status") or ""
    sent = instant(message.get("date_sent"))
    if sent is None and status in _NEVER_SENT:
        sent = instant(message.get("date_created"))
    if sent is None or not sid:
        return None  # not sent yet: a later poll sees it with its date_sent
    sent_at, sent_iso = sent
    error_code = message.get("error_code")
    payload = {
        "sid": sid,
        "date_sent": sent_iso,
        "from": message.get("from") or "",
        "to": message.get("to") or "",
        "body": message.get("body") or "",
        "direction": message.get("direction") or "",
        "status": status,
        "num_media": message.get("num_media") or "0",
        "error_code": "" if error_code is None else str(error_code),
    }
    return _Record(sent_at, sid, payload)
