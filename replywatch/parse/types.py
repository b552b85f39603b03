"""The typed records that parsing produces and the rest of replywatch consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Address:
    """A display name and an address as written (not yet normalized)."""

    name: str
    address: str


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    payload: bytes | None = None  # kept only for XML attachments (ADF); others by name and size


@dataclass(frozen=True)
class ParsedEmail:
    """One email as replywatch sees it. `headers` keys are lower-case; values keep every occurrence."""

    message_id: str | None
    sender: Address | None
    reply_to: list[Address]
    to: list[Address]
    cc: list[Address]
    date: datetime | None  # aware UTC; None when the mail has no usable Date
    subject: str
    in_reply_to: list[str]
    references: list[str]
    text: str  # text/plain body, or the HTML converted to text when there is none
    html: str
    content_type: str  # top-level MIME type, lower-case, with report-type when present
    headers: dict[str, list[str]]
    attachments: list[Attachment] = field(default_factory=list)
    senders: list[Address] = field(default_factory=list)  # every From address; `sender` is the first


@dataclass(frozen=True)
class ParsedSms:
    """One SMS/MMS row from a log or export. `direction` as given by the source."""

    sid: str
    sent_at: datetime  # aware UTC
    sender: str  # as written; normalized to E.164 by match.normalize
    recipient: str
    body: str
    direction: str  # inbound | outbound
    status: str | None = None
    num_media: int = 0


@dataclass(frozen=True)
class ParsedCall:
    """One phone call from a call log (Twilio's, legs merged, or a call-tracking export)."""

    sid: str
    started_at: datetime  # aware UTC
    sender: str  # the caller's number as written; normalized to E.164 at ingest
    recipient: str  # the number called
    dialed: str | None  # the number that rang when the call was forwarded (an associate's phone)
    direction: str  # inbound | outbound
    duration_s: int
    status: str  # a domain.calls.CallStatus
    answered_by: str | None  # human, machine…, unknown; None when nobody says


@dataclass(frozen=True)
class LeadRecord:
    """A lead as a provider (ADF/XML, plain-text notice) or a CSV import describes it.

    `received_at` is aware when the source said the offset; naive means store-local time.
    """

    external_id: str
    source: str  # the lead source (provider) used in reports
    received_at: datetime | None
    external_id_source: str | None = None  # the ADF <id source="…"> attribute
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    vehicle: str | None = None
    associate: str | None = None
    store: str | None = None
    line: int | None = None  # where in a CSV file it came from
