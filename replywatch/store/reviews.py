"""The review queue's data access: doubtful messages, their candidate leads, and a decision's writes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from replywatch.domain.vocabulary import MatchStatus
from replywatch.store import repo
from replywatch.store.models import Associate, Lead, LeadIdentity, Match, Message, MessageKey, ReviewDecision

DECIDED_BY_REVIEW = "review"  # a match's `decided_by` once a person decided it: never matched again


@dataclass(frozen=True)
class QueuedMessage:
    """A message with its match, as the queue shows it and a decision needs it."""

    id: int
    match_id: int
    status: str
    lead_id: int | None
    reasons: list[Any]
    channel: str
    direction: str
    kind: str
    sender: str | None
    sender_name: str | None
    sent_at: datetime
    subject: str | None
    snippet: str | None
    header_message_id: str | None
    store_id: int | None


@dataclass(frozen=True)
class CandidateLead:
    """A lead a message may answer, with its associate's name and whether it was contacted."""

    id: int
    external_id: str
    source: str
    full_name: str | None
    received_at: datetime
    associate: str | None
    contacted: bool
    vehicle: str | None = None
    contacts: tuple[str, ...] = ()  # its email addresses and phone numbers, as a reviewer tells leads apart


@dataclass(frozen=True)
class ChosenLead:
    """The lead a decision links a message to."""

    id: int
    external_id: str
    full_name: str | None
    store_id: int | None


@dataclass(frozen=True)
class Decision:
    """A person's decision as audited, with the match status and lead it leaves."""

    message_id: int
    action: str  # accept | reject
    status: MatchStatus
    lead_id: int | None
    reasons: list[Any]
    previous_status: str
    previous_lead_id: int | None
    decided_by: str
    decided_at: datetime


def queue_ids(session: Session) -> list[int]:
    """Messages waiting for a person, oldest first."""
    stmt = (
        select(Message.id)
        .join(Match, Match.message_id == Message.id)
        .where(Match.status == MatchStatus.REVIEW)
        .order_by(Message.sent_at, Message.id)
    )
    return list(session.scalars(stmt))


def queued_message(session: Session, message_id: int) -> QueuedMessage | None:
    """The message with its match, whatever the match's status; None when there is no such pair."""
    stmt = (
        select(Match, Message).join(Message, Message.id == Match.message_id).where(Message.id == message_id)
    )
    row = session.execute(stmt).first()
    return None if row is None else _queued(*row)


def _queued(match: Match, message: Message) -> QueuedMessage:
    return QueuedMessage(
        id=message.id,
        match_id=match.id,
        status=match.status,
        lead_id=match.lead_id,
        reasons=match.reasons,
        channel=message.channel,
        direction=message.direction,
        kind=message.kind,
        sender=message.sender,
        sender_name=message.sender_name,
        sent_at=message.sent_at,
        subject=message.subject,
        snippet=message.snippet,
        header_message_id=message.header_message_id,
        store_id=message.store_id,
    )


def candidate_leads(session: Session, lead_ids: list[int]) -> dict[int, CandidateLead]:
    """These leads by id; a lead deleted since is simply absent."""
    stmt = (
        select(Lead, Associate.name)
        .outerjoin(Associate, Associate.id == Lead.associate_id)
        .where(Lead.id.in_(lead_ids))
    )
    return {lead.id: _candidate(lead, associate) for lead, associate in session.execute(stmt)}


def _candidate(lead: Lead, associate: str | None) -> CandidateLead:
    return CandidateLead(
        id=lead.id,
        external_id=lead.external_id,
        source=lead.source,
        full_name=lead.full_name,
        received_at=lead.received_at,
        associate=associate,
        contacted=lead.contact_at is not None,
        vehicle=lead.vehicle,
        contacts=tuple(i.value for i in sorted(lead.identities, key=_shown_first) if i.kind != "loose"),
    )


def _shown_first(identity: Any) -> tuple[int, str]:
    return (0 if identity.kind == "email" else 1, identity.value)


def leads_by_external_id(session: Session, external_id: str, source: str | None) -> list[tuple[int, str]]:
    """(id, source) of the leads exported as `external_id`, from `source` when given."""
    stmt = select(Lead.id, Lead.source).where(Lead.external_id == external_id)
    if source is not None:
        stmt = stmt.where(Lead.source == source)
    return [(int(lead_id), str(lead_source)) for lead_id, lead_source in session.execute(stmt)]


def chosen_lead(session: Session, lead_id: int) -> ChosenLead | None:
    lead = session.get(Lead, lead_id)
    if lead is None:
        return None
    return ChosenLead(lead.id, lead.external_id, lead.full_name, lead.store_id)


def save_decision(session: Session, match_id: int, decision: Decision, store_id: int | None = None) -> int:
    """Audit the decision and apply it to the match; a message with no store takes `store_id`. Returns
    the decision's id."""
    row = ReviewDecision(
        message_id=decision.message_id,
        action=decision.action,
        lead_id=decision.lead_id,
        previous_status=decision.previous_status,
        previous_lead_id=decision.previous_lead_id,
        decided_by=decision.decided_by,
        decided_at=decision.decided_at,
        learned=[],
    )
    session.add(row)
    _apply(session.get_one(Match, match_id), decision)
    if store_id is not None:
        message = session.get_one(Message, decision.message_id)
        if message.store_id is None:
            message.store_id = store_id
    session.flush()
    return row.id


def _apply(match: Match, decision: Decision) -> None:
    match.decided_by, match.decided_at = DECIDED_BY_REVIEW, decision.decided_at
    match.status, match.lead_id = decision.status, decision.lead_id
    if match.reasons != decision.reasons:
        match.reasons = decision.reasons


def mark_pending_moved(session: Session, item: QueuedMessage, now: datetime) -> None:
    """After a decision on `item` (as it was before): the leads whose `pending_review` flag it can have
    flipped (the item's lead when it left review; the lead it is in review for again, once undone) get
    their export row marked changed. The match is read as stored, after every write of the decision."""
    lead_id, status = repo.match_states(session, [item.id])[item.id]
    repo.mark_leads_changed(session, repo.pending_moved((item.lead_id, item.status), (lead_id, status)), now)


def message_keys(session: Session, message_id: int, roles: Iterable[str]) -> list[str]:
    """The message's addresses or numbers in these roles (e.g. from, reply_to)."""
    stmt = select(MessageKey.value).where(
        MessageKey.message_id == message_id, MessageKey.role.in_(tuple(roles))
    )
    return list(session.scalars(stmt))


def lead_identities(session: Session, lead_id: int) -> set[tuple[str, str]]:
    """The lead's (kind, value) identities: its addresses, numbers and their loose forms."""
    stmt = select(LeadIdentity.kind, LeadIdentity.value).where(LeadIdentity.lead_id == lead_id)
    return {(kind, value) for kind, value in session.execute(stmt)}


def add_lead_identities(session: Session, lead_id: int, identities: Iterable[tuple[str, str]]) -> None:
    session.add_all(LeadIdentity(lead_id=lead_id, kind=kind, value=value) for kind, value in identities)
    session.flush()
