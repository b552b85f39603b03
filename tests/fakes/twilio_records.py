"""The records of the fake Twilio API: message and call JSON, error bodies, dates and paging parameters."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any

VERSION = "2010-04-01"
NEWEST = float("inf")  # queued messages have no date_sent yet and list first
_ERRORS = {
    400: (20001, "Invalid parameter"),
    401: (20003, "Authenticate"),
    404: (20404, "The requested resource was not found"),
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
}


def message_record(
    account_sid: str,
    sid: str,
    sent: datetime | None,
    from_: str,
    to: str,
    body: str,
    direction: str,
    status: str | None,
    num_media: int,
    error_code: int | None,
) -> dict[str, Any]:
    """A message with every property of the spec's schema, filled as Twilio fills them."""
    created = sent or datetime.now(UTC)
    base = f"/{VERSION}/Accounts/{account_sid}/Messages/{sid}"
    return {
        "account_sid": account_sid,
        "api_version": VERSION,
        "body": body,
        "date_created": rfc2822(created - timedelta(seconds=1)),
        "date_sent": rfc2822(sent) if sent else None,
        "date_updated": rfc2822(created),
        "direction": direction,
        "error_code": error_code,
        "error_message": "Unknown error" if error_code else None,
        "from": from_,
        "messaging_service_sid": None if direction == "inbound" else "MG" + "3c" * 16,
        "num_media": str(num_media),
        "num_segments": str(max(1, -(-len(body) // 153))),
        "price": None if sent is None else "-0.00790",
        "price_unit": "USD",
        "sid": sid,
        "status": status or ("received" if direction == "inbound" else "delivered"),
        "subresource_uris": {"media": f"{base}/Media.json", "feedback": f"{base}/Feedback.json"},
        "to": to,
        "uri": f"{base}.json",
    }


def call_record(
    account_sid: str,
    sid: str,
    started: datetime | None,
    from_: str,
    to: str,
    direction: str,
    status: str,
    duration: int | None,
    answered_by: str | None,
    parent: str | None,
) -> dict[str, Any]:
    """A call leg with every property of the spec's schema, filled as Twilio fills them: no start time
    while queued, no end or duration until it ended, a duration only for a completed call."""
    created = started or datetime.now(UTC)
    ended = status in ("completed", "busy", "no-answer", "failed", "canceled")
    length = (duration or 0) if status == "completed" else 0
    base = f"/{VERSION}/Accounts/{account_sid}/Calls/{sid}"
    return {
        "account_sid": account_sid,
        "answered_by": answered_by,
        "api_version": VERSION,
        "caller_name": None,
        "date_created": rfc2822(created - timedelta(seconds=1)),
        "date_updated": rfc2822(created + timedelta(seconds=length)),
        "direction": direction,
        "duration": str(length) if ended else None,
        "end_time": rfc2822(created + timedelta(seconds=length)) if ended and started else None,
        "forwarded_from": None,
        "from": from_,
        "from_formatted": _formatted(from_),
        "group_sid": None,
        "parent_call_sid": parent,
        "phone_number_sid": "PN" + "4d" * 16 if direction == "inbound" else None,
        "price": "-0.01400" if length else None,
        "price_unit": "USD",
        "queue_time": "0",
        "sid": sid,
        "start_time": rfc2822(started) if started else None,
        "status": status,
        "subresource_uris": {
            name: f"{base}/{path}.json"
            for name, path in (
                ("notifications", "Notifications"),
                ("recordings", "Recordings"),
                ("payments", "Payments"),
                ("events", "Events"),
                ("siprec", "Siprec"),
                ("streams", "Streams"),
                ("transcriptions", "Transcriptions"),
                ("user_defined_message_subscriptions", "UserDefinedMessageSubscriptions"),
                ("user_defined_messages", "UserDefinedMessages"),
            )
        },
        "to": to,
        "to_formatted": _formatted(to),
        "trunk_sid": None,
        "uri": f"{base}.json",
    }


def _formatted(number: str) -> str:
    """`(512) 555-0134` for a North American number, as Twilio formats it; others as given."""
    digits = number[2:] if number.startswith("+1") and len(number) == 12 else ""
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}" if digits else number


def error_body(status: int, detail: str | None = None) -> dict[str, Any]:
    """Twilio's JSON error body for an HTTP status."""
    code, message = _ERRORS.get(status, (status * 100, "Error"))
    return {
        "code": code,
        "message": detail or message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def paging(query: dict[str, str]) -> tuple[int, int, str | None]:
    """(PageSize, Page, PageToken) of a query; ValueError for what Twilio refuses."""
    size = int(query.get("PageSize") or 50)
    if not 1 <= size <= 1000:
        raise ValueError(f"PageSize must be between 1 and 1000, got {size}")
    number = int(query.get("Page") or 0)
    token = query.get("PageToken") or None
    if number > 0 and token is None:
        raise ValueError("Page beyond 0 needs the PageToken of next_page_uri")
    return size, number, token


def day(text: str) -> date:
    """Twilio reads only the GMT day of a DateSent or StartTime filter (`2024-03-04`, `2024-03-04T…Z`)."""
    if not re.match(r"^\d{4}-\d{2}-\d{2}($|T)", text):
        raise ValueError(f"date filter {text!r} is not a YYYY-MM-DD date")
    return date.fromisoformat(text[:10])


def midnight(of: date) -> float:
    return datetime(of.year, of.month, of.day, tzinfo=UTC).timestamp()


def rfc2822(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0))
