"""SMS log rows (the generic CSV, the Twilio console export) to ParsedSms."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime

from replywatch.clock import as_utc
from replywatch.errors import ParseError
from replywatch.parse.types import INBOUND, OUTBOUND, ParsedSms

GENERIC_COLUMNS = ("id", "sent_at", "from", "to", "body", "direction")
TWILIO_COLUMNS = ("Sid", "SentDate", "From", "To", "Body", "Direction")
_OUTBOUND = {"outbound", "outbound-api", "outbound-reply", "outbound-call"}


def csv_dialect(header: list[str]) -> str:
    """`generic` or `twilio` from a header row; ParseError naming what is missing otherwise."""
    names = {h.strip() for h in header}
    if all(c in names for c in GENERIC_COLUMNS):
        return "generic"
    if all(c in names for c in TWILIO_COLUMNS):
        return "twilio"
    missing = [c for c in GENERIC_COLUMNS if c not in names]
    raise ParseError(f"SMS CSV header lacks column(s) {', '.join(missing)} (see the SMS log CSV format)")


def parse_sms_row(row: Mapping[str, str], dialect: str, *, assume_utc: bool = True) -> ParsedSms:
    """One row to a ParsedSms; ParseError names the column at fault."""
    cols = dict(
        zip(GENERIC_COLUMNS, GENERIC_COLUMNS if dialect == "generic" else TWILIO_COLUMNS, strict=True)
    )
    sid = (row.get(cols["id"]) or "").strip()
    if not sid:
        raise ParseError(f"column {cols['id']}: empty message id")
    direction = (row.get(cols["direction"]) or "").strip().lower()
    if direction not in _OUTBOUND and direction != INBOUND:
        raise ParseError(f"column {cols['direction']}: {direction!r} is neither inbound nor outbound")
    num_media = (row.get("NumMedia") or row.get("num_media") or "0").strip()
    return ParsedSms(
        sid=sid,
        sent_at=_timestamp(row.get(cols["sent_at"]) or "", cols["sent_at"]),
        sender=(row.get(cols["from"]) or "").strip(),
        recipient=(row.get(cols["to"]) or "").strip(),
        body=row.get(cols["body"]) or "",
        direction=OUTBOUND if direction in _OUTBOUND else INBOUND,
        status=(row.get("Status") or row.get("status") or "").strip().lower() or None,
        num_media=int(num_media) if num_media.isdigit() else 0,
    )


def _timestamp(text: str, column: str) -> datetime:
    """ISO 8601 (naive = UTC, as logs are kept) or RFC 2822 as the Twilio API writes it."""
    value = text.strip()
    if not value:
        raise ParseError(f"column {column}: empty time")
    try:
        return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        pass
    try:
        return as_utc(parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError):
        raise ParseError(f"column {column}: cannot read time {value!r}") from None
