"""Contact state of one lead from its matched messages: first touch, contact, opt-out and durations."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from replywatch.domain.business_hours import BusinessHours
from replywatch.domain.vocabulary import Channel, Direction, Kind

_ONE_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class MessageFact:
    """What contact needs to know about one message matched to the lead."""

    id: int
    sent_at: datetime  # aware UTC
    direction: str  # "inbound" | "outbound"
    kind: str  # a Kind
    channel: str  # a Channel: "email" | "sms" | "call"
    is_reply: bool = False  # inbound with In-Reply-To/References or a reply-prefix subject
    counts_as_touch: bool = True  # False for an outbound that never reached the customer (failed SMS)
    conversation: bool = False  # a call in which two people talked (domain.calls), either direction


@dataclass(frozen=True)
class ContactState:
    """A lead's outcome. Durations are whole seconds from `received_at`, clamped at 0, None when unknown."""

    first_touch_at: datetime | None
    contact_at: datetime | None
    contact_channel: str | None
    contact_message_id: int | None
    time_to_contact_s: int | None
    time_to_contact_business_s: int | None
    first_response_s: int | None
    first_response_business_s: int | None
    opted_out_at: datetime | None

    @property
    def contacted(self) -> bool:
        return self.contact_at is not None


def contact_state(
    received_at: datetime, messages: Iterable[MessageFact], hours: BusinessHours | None
) -> ContactState:
    """Decide a lead's contact state. Without `hours`, business-hours durations equal wall-clock ones."""
    ordered = sorted(messages, key=lambda m: (m.sent_at, m.id))
    first_touch = next((m for m in ordered if is_touch(m)), None)
    first_touch_at = first_touch.sent_at if first_touch else None
    contact = next((m for m in ordered if is_contact(m, first_touch_at)), None)
    contact_at = contact.sent_at if contact else None
    return ContactState(
        first_touch_at=first_touch_at,
        contact_at=contact_at,
        contact_channel=contact.channel if contact else None,
        contact_message_id=contact.id if contact else None,
        time_to_contact_s=_elapsed(received_at, contact_at),
        time_to_contact_business_s=_business(received_at, contact_at, hours),
        first_response_s=_elapsed(received_at, first_touch_at),
        first_response_business_s=_business(received_at, first_touch_at, hours),
        opted_out_at=_opted_out_at(ordered),
    )


def is_touch(message: MessageFact) -> bool:
    """Our human follow-up that reached the customer; every call of ours (an attempt, whatever came of
    it); and a conversation the customer started, which answers the lead as much as our call would."""
    if message.kind != Kind.HUMAN:
        return False
    if message.channel == Channel.CALL:
        return message.conversation or message.direction == Direction.OUTBOUND
    return message.direction == Direction.OUTBOUND and message.counts_as_touch


def is_contact(message: MessageFact, first_touch_at: datetime | None) -> bool:
    """A human reply after a visible touch, or one that evidently answers a touch we cannot see; a
    connected call in either direction, two-way by nature. A voicemail or a missed call is never one."""
    if message.channel == Channel.CALL:
        return message.conversation and message.kind == Kind.HUMAN  # a call between us is internal
    # "YES"/"START" is consent back after an opt-out, and also how people answer "still interested?".
    if message.direction != Direction.INBOUND or message.kind not in (Kind.HUMAN, Kind.OPT_IN):
        return False
    # Our follow-up may have gone out from a CRM the pollers cannot read; reply headers prove it existed.
    return message.is_reply or (first_touch_at is not None and message.sent_at >= first_touch_at)


def _opted_out_at(ordered: Sequence[MessageFact]) -> datetime | None:
    opted_out_at: datetime | None = None
    for m in ordered:
        if m.direction != Direction.INBOUND:
            continue
        if m.kind == Kind.OPT_OUT:
            opted_out_at = m.sent_at
        elif m.kind == Kind.OPT_IN:
            opted_out_at = None
    return opted_out_at


def _elapsed(received_at: datetime, at: datetime | None) -> int | None:
    if at is None:
        return None
    return max(0, (_utc(at) - _utc(received_at)) // _ONE_SECOND)


def _business(received_at: datetime, at: datetime | None, hours: BusinessHours | None) -> int | None:
    if at is None:
        return None
    if hours is None:
        return _elapsed(received_at, at)
    return hours.seconds_between(received_at, at)


def _utc(value: datetime) -> datetime:
    # Aware datetimes sharing one tzinfo subtract by wall clock, wrong across DST; UTC is exact.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"contact needs aware datetimes, got naive {value.isoformat()}")
    return value.astimezone(UTC)
