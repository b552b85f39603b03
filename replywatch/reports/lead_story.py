"""One lead's story (`leads show`): the lead, then every message linked to it and every review decision
about it, in time order, each with its channel, match score and reasons; and `leads find` by name,
address or number."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from replywatch.clock import iso_z
from replywatch.domain.vocabulary import Direction, Kind
from replywatch.errors import ReplywatchError
from replywatch.store.models import Associate, Lead, LeadIdentity, Match, Message, ReviewDecision, Store

_DECISION = "review_decision"


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: str  # lead, touch, reply, auto_reply, bounce, opt_out, … or review_decision
    direction: str | None
    channel: str | None
    message_id: int | None
    status: str | None  # the match's status; for a decision, its action
    score: float | None
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "at": iso_z(self.at),
            "kind": self.kind,
            "direction": self.direction,
            "channel": self.channel,
            "message_id": self.message_id,
            "status": self.status,
            "score": self.score,
            "reasons": self.reasons,
        }


@dataclass(frozen=True)
class LeadStory:
    id: int
    lead_id: str  # as exported
    source: str
    name: str | None
    store: str | None
    timezone: str | None
    associate: str | None
    received_at: datetime
    first_touch_at: datetime | None
    contact_at: datetime | None
    contact_channel: str | None
    opted_out_at: datetime | None
    vehicle: str | None
    emails: list[str]
    phones: list[str]
    events: list[Event]

    def to_json(self) -> dict[str, Any]:
        return lead_json(self) | {
            "first_touch_at": iso_z(self.first_touch_at) if self.first_touch_at else None,
            "contact_channel": self.contact_channel,
            "opted_out_at": iso_z(self.opted_out_at) if self.opted_out_at else None,
            "vehicle": self.vehicle,
            "events": [e.to_json() for e in self.events],
        }


class LeadSummary(Protocol):
    """What every lead view shows of the lead itself (read-only, as frozen records have it)."""

    @property
    def lead_id(self) -> str: ...

    @property
    def source(self) -> str: ...

    @property
    def name(self) -> str | None: ...

    @property
    def store(self) -> str | None: ...

    @property
    def associate(self) -> str | None: ...

    @property
    def received_at(self) -> datetime: ...

    @property
    def contact_at(self) -> datetime | None: ...

    @property
    def emails(self) -> list[str]: ...

    @property
    def phones(self) -> list[str]: ...


def lead_json(lead: LeadSummary) -> dict[str, Any]:
    return {
        "lead_id": lead.lead_id,
        "source": lead.source,
        "name": lead.name,
        "store": lead.store,
        "associate": lead.associate,
        "received_at": iso_z(lead.received_at),
        "contact_at": iso_z(lead.contact_at) if lead.contact_at else None,
        "emails": lead.emails,
        "phones": lead.phones,
    }


def find_lead_ids(session: Session, external_id: str, source: str | None = None) -> list[int]:
    stmt = select(Lead.id).where(Lead.external_id == external_id)
    if source is not None:
        stmt = stmt.where(Lead.source == source)
    return list(session.scalars(stmt))


def lead_story(session: Session, external_id: str, source: str | None = None) -> LeadStory:
    """The story of the lead exported as `external_id`; a one-line error when none or several are."""
    found = find_lead_ids(session, external_id, source)
    if not found:
        raise ReplywatchError(f"no lead {external_id!r}" + (f" from {source}" if source else ""))
    if len(found) > 1:
        raise ReplywatchError(f"lead id {external_id!r} is used by several sources: add --source")
    lead = session.get_one(Lead, found[0])
    store = session.get(Store, lead.store_id) if lead.store_id else None
    associate = session.get(Associate, lead.associate_id) if lead.associate_id else None
    identities = list(session.scalars(select(LeadIdentity).where(LeadIdentity.lead_id == lead.id)))
    events = [_received(session, lead), *_messages(session, lead.id), *_decisions(session, lead.id)]
    events += [_bounce(i) for i in identities if i.bounced_at]
    return LeadStory(
        id=lead.id,
        lead_id=lead.external_id,
        source=lead.source,
        name=lead.full_name,
        store=store.name if store else None,
        timezone=store.timezone if store else None,
        associate=associate.name if associate else None,
        received_at=lead.received_at,
        first_touch_at=lead.first_touch_at,
        contact_at=lead.contact_at,
        contact_channel=lead.contact_channel,
        opted_out_at=lead.opted_out_at,
        vehicle=lead.vehicle,
        emails=sorted(i.value for i in identities if i.kind == "email"),
        phones=sorted(i.value for i in identities if i.kind == "phone"),
        events=sorted(events, key=lambda e: (e.at, e.kind == _DECISION, e.message_id or 0)),
    )


def _received(session: Session, lead: Lead) -> Event:
    notice = session.get(Message, lead.origin_message_id) if lead.origin_message_id else None
    return Event(
        lead.received_at,
        Kind.LEAD,
        Direction.INBOUND,
        notice.channel if notice else None,
        notice.id if notice else None,
        None,
        None,
        [f"source {lead.source}"],
    )


def _messages(session: Session, lead_id: int) -> list[Event]:
    stmt = select(Message, Match).join(Match, Match.message_id == Message.id).where(Match.lead_id == lead_id)
    return [_message_event(message, match, lead_id) for message, match in session.execute(stmt)]


def _message_event(message: Message, match: Match, lead_id: int) -> Event:
    entry = next((c for c in match.reasons or [] if isinstance(c, dict) and c.get("lead_id") == lead_id), {})
    reasons = [str(r) for r in entry.get("reasons", [])]
    if entry.get("chosen_by"):
        reasons.append(f"chosen_by:{entry['chosen_by']}")
    if match.decided_by != "auto":
        reasons.append("decided by a person")
    return Event(
        message.sent_at,
        _kind(message),
        message.direction,
        message.channel,
        message.id,
        match.status,
        round(float(entry.get("score", match.score) or 0.0), 4),
        reasons,
    )


def _kind(message: Message) -> str:
    """A human message is our touch or their reply; any other keeps its kind (auto_reply, opt_out, …)."""
    if message.kind == Kind.HUMAN:
        return "touch" if message.direction == Direction.OUTBOUND else "reply"
    return message.kind


def _decisions(session: Session, lead_id: int) -> list[Event]:
    stmt = (
        select(ReviewDecision, Message.channel, Message.direction)
        .join(Message, Message.id == ReviewDecision.message_id)
        .where(or_(ReviewDecision.lead_id == lead_id, ReviewDecision.previous_lead_id == lead_id))
    )
    return [
        _decision_event(d, channel, direction, lead_id) for d, channel, direction in session.execute(stmt)
    ]


def _decision_event(decision: ReviewDecision, channel: str, direction: str, lead_id: int) -> Event:
    action = decision.action if decision.lead_id == lead_id or decision.action == "reject" else "moved away"
    status = f"{action} (undone {iso_z(decision.undone_at)})" if decision.undone_at else action
    return Event(
        decision.decided_at,
        _DECISION,
        direction,
        channel,
        decision.message_id,
        status,
        None,
        [f"by {decision.decided_by}", f"was {decision.previous_status}"],
    )


def _bounce(identity: LeadIdentity) -> Event:
    assert identity.bounced_at is not None
    return Event(
        identity.bounced_at,
        Kind.BOUNCE,
        Direction.INBOUND,
        "email",
        None,
        identity.bounce_status,
        None,
        [f"undeliverable to {identity.value}"],
    )
