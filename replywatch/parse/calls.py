"""Call log records (the generic CSV, CallRail's export, the Twilio Calls API) to ParsedCall.

Twilio's records come from `sources.twilio_calls` already in the generic columns (legs merged there).
CallRail's export is read by its field names (`start_time`, `customer_phone_number`, `answered`, …),
written in any case with spaces or underscores ("Customer Phone Number" is `customer_phone_number`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, tzinfo

from replywatch.clock import as_utc
from replywatch.domain.calls import CallStatus
from replywatch.domain.vocabulary import Direction
from replywatch.errors import ParseError
from replywatch.parse.types import ParsedCall

GENERIC = "generic"
CALLRAIL = "callrail"
UNREADABLE = "unreadable"  # a CSV line the csv module could not read: the row holds its `error`
GENERIC_COLUMNS = ("id", "started_at", "from", "to", "direction", "duration_s", "status", "answered_by")
CALLRAIL_COLUMNS = ("start_time", "customer_phone_number", "direction", "duration")
_STATUS_WORDS = {
    "completed": CallStatus.COMPLETED,
    "answered": CallStatus.COMPLETED,
    "no-answer": CallStatus.NO_ANSWER,
    "missed": CallStatus.NO_ANSWER,
    "busy": CallStatus.BUSY,
    "failed": CallStatus.FAILED,
    "canceled": CallStatus.CANCELED,
    "cancelled": CallStatus.CANCELED,
    "abandoned": CallStatus.CANCELED,
}
_TRUE = frozenset({"true", "yes", "y", "1"})
# Day-first unless the region writes the month first (the US and Canada's exports do).
_MONTH_FIRST = frozenset({"US", "CA", "PH"})
_LOCAL_FORMATS = ("{d} %H:%M", "{d} %H:%M:%S", "{d} %I:%M %p", "{d} %I:%M:%S %p")
_LONGEST_CALL_S = 86400 * 7
_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{2})$")


def column_key(name: str) -> str:
    """A header as a key: `Customer Phone Number`, `customer-phone-number` → `customer_phone_number`."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def call_csv_dialect(header: list[str]) -> str:
    """`generic` or `callrail` from a header row (as `column_key`s); ParseError naming what is missing."""
    names = set(header)
    if all(c in names for c in GENERIC_COLUMNS):
        return GENERIC
    if all(c in names for c in CALLRAIL_COLUMNS):
        return CALLRAIL
    missing = [c for c in GENERIC_COLUMNS if c not in names]
    raise ParseError(
        f"call CSV header lacks column(s) {', '.join(missing)} (see the call log CSV format; CallRail's "
        f"export needs {', '.join(CALLRAIL_COLUMNS)})"
    )


def parse_call_row(row: Mapping[str, str], dialect: str, region: str, zone: tzinfo) -> ParsedCall:
    """One row (keys as `column_key`s) to a ParsedCall; ParseError names the column at fault. A time
    without an offset is the store's local time (`zone`), written as its `region` writes dates."""
    if dialect == CALLRAIL:
        return _callrail(row, region, zone)
    if dialect == UNREADABLE:
        raise ParseError(f"unreadable row: {row.get('error', '')}")
    if dialect != GENERIC:
        raise ParseError(f"unknown call log dialect {dialect!r}")
    status = _status(_cell(row, "status"))
    return ParsedCall(
        sid=_id(row, "id"),
        started_at=read_time(_cell(row, "started_at"), "started_at", region, zone),
        sender=_cell(row, "from"),
        recipient=_cell(row, "to"),
        dialed=_cell(row, "dialed") or None,
        direction=_direction(_cell(row, "direction")),
        duration_s=_duration(_cell(row, "duration_s"), "duration_s"),
        status=status,
        answered_by=_cell(row, "answered_by").lower() or None,
    )


def _callrail(row: Mapping[str, str], region: str, zone: tzinfo) -> ParsedCall:
    """CallRail: the customer and our tracking number; `answered`/`voicemail` flags, else `call_type`."""
    direction = _direction(_cell(row, "direction"))
    customer = _cell(row, "customer_phone_number")
    ours = _cell(row, "tracking_phone_number") or _cell(row, "business_phone_number")
    voicemail = _cell(row, "voicemail").lower() in _TRUE or _cell(row, "call_type").lower() == "voicemail"
    answered = _cell(row, "answered").lower()
    status: str
    if answered:
        status = CallStatus.COMPLETED if answered in _TRUE or voicemail else CallStatus.NO_ANSWER
    else:
        status = _status(_cell(row, "call_type") or "completed", "call_type")
    inbound = direction == Direction.INBOUND
    return ParsedCall(
        sid=_id(row, "id") if _cell(row, "id") else _id(row, "call_id"),
        started_at=read_time(_cell(row, "start_time"), "start_time", region, zone),
        sender=customer if inbound else ours,
        recipient=ours if inbound else customer,
        dialed=(_cell(row, "business_phone_number") or None) if inbound else None,
        direction=direction,
        duration_s=_duration(_cell(row, "duration"), "duration"),
        status=status,
        answered_by="machine" if voicemail else ("human" if answered in _TRUE else None),
    )


def _cell(row: Mapping[str, str], column: str) -> str:
    return (row.get(column) or "").strip()


def _id(row: Mapping[str, str], column: str) -> str:
    value = _cell(row, column)
    if not value:
        raise ParseError(f"column {column}: empty call id")
    return value


def _direction(text: str) -> str:
    """`inbound` (or `incoming`); `outbound` and Twilio's `outbound-api`, `outbound-dial` (or `outgoing`)."""
    value = text.lower()
    if value in ("inbound", "incoming"):
        return Direction.INBOUND
    if value.startswith(("outbound", "outgoing")):
        return Direction.OUTBOUND
    raise ParseError(f"column direction: {text!r} is neither inbound nor outbound")


def _status(text: str, column: str = "status") -> str:
    value = re.sub(r"[\s_]+", "-", text.lower())
    found = _STATUS_WORDS.get(value)
    if found is None:
        known = ", ".join(CallStatus)
        raise ParseError(f"column {column}: {text!r} is not a finished call's status ({known})")
    return found


def _duration(text: str, column: str) -> int:
    """Whole seconds: `95`, `95.0`, `1:35` or `0:01:35`; empty is 0 (a call nobody answered)."""
    if not text:
        return 0
    clock = _CLOCK.match(text)
    try:
        if clock:
            hours, minutes, seconds = (int(g or 0) for g in clock.groups())
            length = float(hours * 3600 + minutes * 60 + seconds)
        else:
            length = float(text)
    except ValueError:
        raise ParseError(f"column {column}: cannot read duration {text!r}") from None
    if not 0 <= length < _LONGEST_CALL_S:  # also refuses nan and inf
        raise ParseError(f"column {column}: duration {text!r} is out of range")
    return int(length)


def read_time(text: str, column: str, region: str, zone: tzinfo) -> datetime:
    """ISO 8601 (an offset wins; naive is `zone`'s local time), or the region's `12/05/2026 3:45 PM`."""
    if not text:
        raise ParseError(f"column {column}: empty time")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = _local(text, region, column)
    return as_utc(moment if moment.tzinfo else moment.replace(tzinfo=zone))


def _local(text: str, region: str, column: str) -> datetime:
    day = "%m/%d/%Y" if region.upper() in _MONTH_FIRST else "%d/%m/%Y"
    value = " ".join(text.replace(".", "/").split()).upper()
    for template in _LOCAL_FORMATS:
        for pattern in (template.format(d=day), template.format(d=day.replace("Y", "y"))):
            try:
                return datetime.strptime(value, pattern)
            except ValueError:
                continue
    raise ParseError(f"column {column}: cannot read time {text!r} (ISO 8601 or {day} HH:MM)")
