"""Typed SQLAlchemy 2.0 models; nothing else lives here."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC on every backend, handed back timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


KEY_LENGTH = 500  # a message key's value (an address, a number, a message-id it refers to)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Store(Base):
    __tablename__ = "stores"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(8))


class Associate(Base):
    __tablename__ = "associates"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))


class AssociateIdentity(Base):
    """An associate's normalized email or E.164 phone; a shared number may belong to several."""

    __tablename__ = "associate_identities"
    __table_args__ = (UniqueConstraint("associate_id", "kind", "value"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    associate_id: Mapped[int] = mapped_column(ForeignKey("associates.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(320), index=True)


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_leads_store_received", "store_id", "received_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str] = mapped_column(String(200))
    external_id_source: Mapped[str | None] = mapped_column(String(200))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    associate_id: Mapped[int | None] = mapped_column(ForeignKey("associates.id"))
    received_at: Mapped[datetime]
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    full_name: Mapped[str | None] = mapped_column(String(400))
    vehicle: Mapped[str | None] = mapped_column(String(400))
    origin_message_id: Mapped[int | None]  # the lead notice it came from (no FK: it may be purged)
    # Contact state, derived from the lead's matched messages by replywatch.domain.contact.
    first_touch_at: Mapped[datetime | None]
    contact_at: Mapped[datetime | None] = mapped_column(index=True)
    contact_channel: Mapped[str | None] = mapped_column(String(8))
    contact_message_id: Mapped[int | None]
    time_to_contact_s: Mapped[int | None]
    time_to_contact_business_s: Mapped[int | None]
    first_response_s: Mapped[int | None]
    first_response_business_s: Mapped[int | None]
    opted_out_at: Mapped[datetime | None]
    # When this row was stored (a lead stored long after it arrived is history: it raises no alerts), and
    # when its export row last changed (`contacts export --changed-since`). Empty for leads before 0013.
    stored_at: Mapped[datetime | None]
    changed_at: Mapped[datetime | None] = mapped_column(index=True)

    identities: Mapped[list[LeadIdentity]] = relationship(back_populates="lead", cascade="all, delete-orphan")


class LeadIdentity(Base):
    """A lead's normalized email address or E.164 phone number: the exact-match index."""

    __tablename__ = "lead_identities"
    __table_args__ = (
        UniqueConstraint("lead_id", "kind", "value"),
        Index("ix_lead_identities_value_kind", "value", "kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(320))
    # A bounce said mail to this address cannot be delivered: the lead cannot be reached by email.
    bounced_at: Mapped[datetime | None]
    bounce_status: Mapped[str | None] = mapped_column(String(16))  # the DSN status, e.g. "5.1.1"
    lead: Mapped[Lead] = relationship(back_populates="identities")


class LeadNameKey(Base):
    """A blocking key of a lead's name (given name + surname or a one-slip spelling of it), with the
    lead's time: name look-ups read, from the index alone, only the leads open around a message."""

    __tablename__ = "lead_name_keys"
    __table_args__ = (
        UniqueConstraint("lead_id", "key"),
        Index("ix_lead_name_keys_key_received_lead", "key", "received_at", "lead_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(48))
    received_at: Mapped[datetime]


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("source", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str] = mapped_column(String(500))
    channel: Mapped[str] = mapped_column(String(8))
    direction: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(24))
    rule: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime] = mapped_column(index=True)
    sender: Mapped[str | None] = mapped_column(String(320))
    sender_name: Mapped[str | None] = mapped_column(String(400))
    subject: Mapped[str | None] = mapped_column(String(1000))
    header_message_id: Mapped[str | None] = mapped_column(String(500), index=True)
    is_reply: Mapped[bool] = mapped_column(Boolean, default=False)
    snippet: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(20))  # delivery status as the SMS log gives it;
    # how a call ended (completed, no-answer, busy, failed, canceled)
    duration_s: Mapped[int | None]  # a call's length; other messages have none
    answered_by: Mapped[str | None] = mapped_column(String(20))  # a call's `human`, `machine_start`, …
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    associate_id: Mapped[int | None] = mapped_column(ForeignKey("associates.id"))
    position: Mapped[str | None] = mapped_column(String(1000))
    ingested_at: Mapped[datetime]
    # Which time sent_at is: the sender's Date ("date"), our server's Received ("received"), the mailbox's
    # delivery time ("delivery") or when it was read ("now"); empty for texts and mail stored before 0010.
    time_source: Mapped[str | None] = mapped_column(String(12))
    # Our server found the sender failing DMARC or SPF: an automatic match goes to review, never contact.
    auth_failed: Mapped[bool | None] = mapped_column(Boolean)  # empty for texts and before 0010


class MessageKey(Base):
    """A normalized address of a message (from, reply_to, to, cc) or a message-id it refers to (ref).

    Indexed by value so that a newly arrived lead or outbound message finds the messages it explains.
    """

    __tablename__ = "message_keys"
    __table_args__ = (
        UniqueConstraint("message_id", "role", "value"),
        Index("ix_message_keys_value_role", "value", "role"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(12))
    value: Mapped[str] = mapped_column(String(KEY_LENGTH))


class BounceRecipient(Base):
    """An address a bounce reported as undeliverable, with the DSN status and the bounce's time: a lead
    stored after the bounce is marked bouncing from here, the same as one stored before it."""

    __tablename__ = "bounce_recipients"
    __table_args__ = (
        UniqueConstraint("message_id", "address"),
        Index("ix_bounce_recipients_address", "address"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(320))
    status: Mapped[str | None] = mapped_column(String(16))
    bounced_at: Mapped[datetime]


class Match(Base):
    """The decision for one message: its lead (if any), score, named reasons and status."""

    __tablename__ = "matches"
    __table_args__ = (Index("ix_matches_lead_status", "lead_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), unique=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(12), index=True)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    decided_by: Mapped[str] = mapped_column(String(20), default="auto")
    decided_at: Mapped[datetime]


class ReviewDecision(Base):
    """Who decided a message in the review queue, when, and what: accepted for a lead, or rejected."""

    __tablename__ = "review_decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(12))  # accept | reject
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    previous_status: Mapped[str] = mapped_column(String(12))
    previous_lead_id: Mapped[int | None]
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime]
    # The (kind, value) identities the decision added to its lead: taken away again when it is overturned.
    learned: Mapped[list[Any] | None] = mapped_column(JSON)
    undone_at: Mapped[datetime | None]
    undone_by: Mapped[str | None] = mapped_column(String(200))


class SourceCursor(Base):
    """Where a source has got to, per key (a folder, a file); committed with the items it covers."""

    __tablename__ = "source_cursors"
    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(500), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class SourceState(Base):
    """Health of a source as the last poll left it: shown by `replywatch status`."""

    __tablename__ = "source_states"
    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_success_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    items_total: Mapped[int] = mapped_column(Integer, default=0)
    # A source that failed in a way retrying cannot fix (bad password, 401) is paused until its
    # configuration changes: this is the fingerprint of the configuration it failed with.
    paused_config: Mapped[str | None] = mapped_column(String(64))


class SourceLease(Base):
    """Which daemon reads a source now. Taken with FOR UPDATE SKIP LOCKED; lost at expiry."""

    __tablename__ = "source_leases"
    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class Quarantine(Base):
    """An item that could not be processed, kept with its error and position: nothing is lost."""

    __tablename__ = "quarantine"
    __table_args__ = (UniqueConstraint("source", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str] = mapped_column(String(500))
    position: Mapped[str] = mapped_column(String(1000))
    error: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class DigestRun(Base):
    __tablename__ = "digest_runs"
    __table_args__ = (UniqueConstraint("scope", "week_start"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(200))  # a store's name, or "group" for the roll-up
    week_start: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class FunnelEvent(Base):
    __tablename__ = "funnel_events"
    __table_args__ = (UniqueConstraint("lead_id", "event", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]


class DigestBaseline(Base):
    """A baseline pinned by `digest baseline set`: weeks first_week … last_week (Mondays, inclusive)."""

    __tablename__ = "digest_baselines"
    scope: Mapped[str] = mapped_column(String(200), primary_key=True)  # a store's name, "group", or "*"
    first_week: Mapped[date] = mapped_column(Date)
    last_week: Mapped[date] = mapped_column(Date)
    pinned_at: Mapped[datetime]


class NotifyEvent(Base):
    """The outbox: an event, written in the transaction of the change that raised it. `key` makes the same
    fact one event however often it is seen; `event_id` is the stable id receivers deduplicate by."""

    __tablename__ = "notify_events"
    __table_args__ = (Index("ix_notify_events_created_at", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime]
    created_at: Mapped[datetime]
    lead_id: Mapped[int | None]  # no FK: a purged lead's events stay as they were sent
    store_id: Mapped[int | None]
    source: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class NotifyDelivery(Base):
    """One event for one target: pending until delivered, or failed when retries ran out (24 h). A daemon
    claims a delivery until `claimed_until`; one that dies leaves it to be claimed again."""

    __tablename__ = "notify_deliveries"
    __table_args__ = (
        UniqueConstraint("event_pk", "target"),
        Index("ix_notify_deliveries_due", "status", "next_attempt_at"),
        Index("ix_notify_deliveries_target_lead", "target", "lead_id", "event_pk"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    event_pk: Mapped[int] = mapped_column(ForeignKey("notify_events.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(200))
    lead_id: Mapped[int | None]  # the event's, so that one lead's deliveries go in order
    status: Mapped[str] = mapped_column(String(12))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    first_attempt_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_until: Mapped[datetime | None]


# Never clipped: an item's identity (source, id). A clipped id could collide with another's, so sources
# keep their ids short (IMAP and SMS CSV store a long one as its digest).
_IDENTITY_COLUMNS = frozenset({"source", "external_id"})


def text_lengths(table: Any) -> dict[str, int]:
    """Each bounded text column of a table but its identity, and its length: what ingest clips values to,
    so that both backends keep the same text (PostgreSQL refuses or clips an overlong one, SQLite keeps
    it whole)."""
    return {
        column.name: column.type.length
        for column in table.columns
        if isinstance(column.type, String) and column.type.length and column.name not in _IDENTITY_COLUMNS
    }


def clip_texts(values: dict[str, Any], lengths: Mapping[str, int]) -> dict[str, Any]:
    """`values` (column → value) with each text longer than its column cut to its length; changed in
    place and returned."""
    for column, length in lengths.items():
        value = values.get(column)
        if isinstance(value, str) and len(value) > length:
            values[column] = value[:length]
    return values


MESSAGE_TEXT_LENGTHS = text_lengths(Message.__table__)
LEAD_TEXT_LENGTHS = text_lengths(Lead.__table__)
IDENTITY_LENGTH = text_lengths(LeadIdentity.__table__)["value"]
