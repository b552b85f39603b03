"""SMS log records (the generic CSV, the Twilio console export, the Twilio API) to ParsedSms."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime

from replywatch.clock import as_utc
from replywatch.domain.vocabulary import Direction
from replywatch.errors import ParseError
from replywatch.parse.types import ParsedSms

GENERIC = "generic"
TWILIO_CSV = "twilio"
TWILIO_API = "twilio-api"
# Each dialect names, in order: id, sent_at, from, to, body, direction.
DIALECT_COLUMNS = {
    GENERIC: ("id", "sent_at", "from", "to", "body", "direction"),
    TWILIO_CSV: ("Sid", "SentDate", "From", "To", "Body", "Direction"),
    TWILIO_API: ("sid", "date_sent", "from", "to", "body", "direction"),
}
GENERIC_COLUMNS = DIALECT_COLUMNS[GENERIC]
TWILIO_COLUMNS = DIALECT_COLUMNS[TWILIO_CSV]
_ROLES = ("id", "sent_at", "from", "to", "body", "direction")
_DIALECT_ROLES = {d: dict(zip(_ROLES, c, strict=True)) for d, c in DIALECT_COLUMNS.items()}
_OUTBOUND = {"outbound", "outbound-api", "outbound-reply", "outbound-call"}
# The console's log view words directions ("Incoming", "Outgoing API"); an export saved from it may too.
_WORDED_INBOUND = "incoming"
_ZONE_WORD = re.compile(r"\s+(UTC|GMT|Z)$", re.IGNORECASE)


def csv_dialect(header: list[str]) -> str:
    """`generic` or `twilio` from a header row; ParseError naming what is missing otherwise."""
    names = {h.strip() for h in header}
    for dialect in (GENERIC, TWILIO_CSV):
        if all(c in names for c in DIALECT_COLUMNS[dialect]):
            return dialect
    missing = [c for c in GENERIC_COLUMNS if c not in names]
    raise ParseError(f"SMS CSV header lacks column(s) {', '.join(missing)} (see the SMS log CSV format)")


def parse_sms_row(row: Mapping[str, str], dialect: str, *, assume_utc: bool = True) -> ParsedSms:
    """One row to a ParsedSms; ParseError names the column at fault."""
    cols = _DIALECT_ROLES.get(dialect)
    if cols is None:
        raise ParseError(f"unknown SMS dialect {dialect!r}")
    sid = (row.get(cols["id"]) or "").strip()
    if not sid:
        raise ParseError(f"column {cols['id']}: empty message id")
    num_media = (row.get("NumMedia") or row.get("num_media") or "0").strip()
    return ParsedSms(
        sid=sid,
        sent_at=_timestamp(row.get(cols["sent_at"]) or "", cols["sent_at"]),
        sender=(row.get(cols["from"]) or "").strip(),
        recipient=(row.get(cols["to"]) or "").strip(),
        body=row.get(cols["body"]) or "",
        direction=_direction(row.get(cols["direction"]) or "", cols["direction"]),
        status=sms_status(row),
        num_media=int(num_media) if num_media.isdigit() else 0,
    )


def sms_status(row: Mapping[str, str]) -> str | None:
    """The delivery status a row carries (`Status` of a console export, `status` of the API record),
    lower case; None when it has none. Read alone when a stored text is read again: it may have changed."""
    return (row.get("Status") or row.get("status") or "").strip().lower() or None


def _direction(text: str, column: str) -> str:
    """`inbound` is inbound; Twilio's `outbound-api`, `outbound-reply`, `outbound-call` are outbound."""
    value = text.strip().lower()
    if value in (Direction.INBOUND, _WORDED_INBOUND):
        return Direction.INBOUND
    if value in _OUTBOUND or value.startswith("outgoing"):
        return Direction.OUTBOUND
    raise ParseError(f"column {column}: {value!r} is neither inbound nor outbound")


def _timestamp(text: str, column: str) -> datetime:
    """ISO 8601 (`T` or a space; naive = UTC, as Twilio keeps its logs) or RFC 2822 as the API writes it."""
    try:
        return _read_timestamp(text, column)
    except OverflowError:  # 9999-12-31 at a western offset: no UTC time exists for it
        raise ParseError(f"column {column}: time {text.strip()!r} is out of range") from None


def _read_timestamp(text: str, column: str) -> datetime:
    try:  # the common case, as the Twilio source and most exports write it
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        pass
    value = _ZONE_WORD.sub(" +00:00", text.strip()).replace(" +00:00", "+00:00")
    if not value:
        raise ParseError(f"column {column}: empty time")
    try:
        return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        pass
    try:
        return as_utc(parsedate_to_datetime(text.strip()))
    except (TypeError, ValueError, IndexError):
        raise ParseError(f"column {column}: cannot read time {text.strip()!r}") from None
