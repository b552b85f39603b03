"""When a mail was sent, as far as we can trust it: the sender's `Date:` unless the transport says otherwise.

`Date:` is written by the sender, who may be wrong or hostile (1970, 2100, an hour before our follow-up to
fake a quick answer). The transport time is ours: the date our server wrote in the topmost `Received:`
header, else the delivery time of the mailbox (IMAP INTERNALDATE, a Maildir file's delivery mtime).
`Date:` is used unless it is missing, later than the transport time (beyond clock skew), or earlier than
our server's receipt by more than a mail plausibly spends in transit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum

from replywatch.clock import as_utc

CLOCK_SKEW = timedelta(minutes=15)  # a sender's clock this far ahead of ours is still believed
MAX_TRANSIT = timedelta(hours=1)  # greylisting retries; a Date older than this at receipt is not believed


class TimeSource(StrEnum):
    """Which time a message's `sent_at` is: recorded with it (messages.time_source)."""

    DATE = "date"  # the sender's Date: header
    RECEIVED = "received"  # our server's topmost Received: header
    DELIVERY = "delivery"  # the mailbox's delivery time (IMAP INTERNALDATE, Maildir mtime)
    NOW = "now"  # nothing else known: when it was read


def sent_time(
    headers: Mapping[str, Sequence[str]], delivered: datetime | None, now: datetime
) -> tuple[datetime, TimeSource]:
    """The time to record for a mail with these (lower-cased) headers, and which time it is."""
    date = _header_time(headers.get("date", [])[:1])
    received = _header_time([r.rsplit(";", 1)[-1] for r in headers.get("received", [])[:1]])
    transport, source = _transport(received, delivered, now)
    if date is None or date > transport + CLOCK_SKEW:
        return transport, source
    if received is not None and date < received - MAX_TRANSIT:
        return received, TimeSource.RECEIVED
    return date, TimeSource.DATE


def _transport(
    received: datetime | None, delivered: datetime | None, now: datetime
) -> tuple[datetime, TimeSource]:
    if received is not None:
        return received, TimeSource.RECEIVED
    if delivered is not None:
        return as_utc(delivered), TimeSource.DELIVERY
    return now, TimeSource.NOW


def _header_time(values: Sequence[str]) -> datetime | None:
    for text in values:
        try:
            parsed = parsedate_to_datetime(text.strip())
        except (TypeError, ValueError, IndexError, OverflowError):  # "05:4_1351676802": a huge minute
            continue
        if parsed is not None:
            try:
                return as_utc(parsed)
            except OverflowError:  # year 9999 at a western offset
                continue
    return None
