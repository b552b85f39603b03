"""The record of people's decisions: which one is in force for a message, what each taught its lead or
took from an overturned link's lead, and which were undone."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from replywatch.domain.vocabulary import MatchStatus
from replywatch.store.models import LeadIdentity, Match, MessageKey, ReviewDecision
from replywatch.store.reviews import DECIDED_BY_REVIEW


@dataclass(frozen=True)
class StandingDecision:
    """A person's decision on a message that nobody has undone; the latest one is in force."""

    id: int
    action: str
    lead_id: int | None
    learned: list[tuple[str, str]]
    previous_status: str
    previous_lead_id: int | None


def standing_decisions(session: Session, message_id: int) -> list[StandingDecision]:
    """The message's decisions not undone, oldest first."""
    stmt = (
        select(ReviewDecision)
        .where(ReviewDecision.message_id == message_id, ReviewDecision.undone_at.is_(None))
        .order_by(ReviewDecision.decided_at, ReviewDecision.id)
    )
    return [
        StandingDecision(
            d.id,
            d.action,
            d.lead_id,
            [(str(x[0]), str(x[1])) for x in d.learned or [] if len(x) == 2],
            d.previous_status,
            d.previous_lead_id,
        )
        for d in session.scalars(stmt)
    ]


def record_learned(
    session: Session,
    decision_id: int,
    learned: list[tuple[str, str]],
    taken: Sequence[tuple[str, str, int]] = (),
) -> None:
    """What the decision added to its lead, and (kind, value, lead) taken from the lead it overturned."""
    session.get_one(ReviewDecision, decision_id).learned = [list(x) for x in [*learned, *taken]]
    session.flush()


def taken_by(session: Session, decision_id: int) -> list[tuple[str, str, int]]:
    """The (kind, value, lead) a decision took from the automatic link it overturned."""
    learned = session.get_one(ReviewDecision, decision_id).learned or []
    return [(str(x[0]), str(x[1]), int(x[2])) for x in learned if len(x) == 3]


def take_learned(session: Session, lead_id: int, identities: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """Of these identities, those that people's decisions taught the lead are taken from it (and from
    those decisions' records); returns them."""
    stmt = select(ReviewDecision).where(
        ReviewDecision.lead_id == lead_id,
        ReviewDecision.undone_at.is_(None),
        ReviewDecision.learned.is_not(None),
    )
    taken: set[tuple[str, str]] = set()
    for decision in session.scalars(stmt):
        entries = [x for x in decision.learned or [] if len(x) == 2]
        hit = {(str(k), str(v)) for k, v in entries} & identities
        if hit:
            decision.learned = [x for x in decision.learned or [] if tuple(x) not in hit]
            taken |= hit
    remove_lead_identities(session, lead_id, sorted(taken))
    return sorted(taken)


def mark_undone(session: Session, decision_id: int, by: str, at: datetime) -> None:
    row = session.get_one(ReviewDecision, decision_id)
    row.undone_at, row.undone_by = at, by
    session.flush()


def restore_match(session: Session, match_id: int, status: str, lead_id: int | None, decided_by: str) -> None:
    """Put a match back as an earlier decision left it (`decided_by` "auto" lets matching decide again)."""
    match = session.get_one(Match, match_id)
    match.status, match.lead_id, match.decided_by = status, lead_id, decided_by
    session.flush()


def sender_keys_taught(session: Session, lead_id: int, except_message_id: int) -> set[str]:
    """Sender addresses and numbers of the lead's other messages that a person linked to it: what the
    lead would still learn from them."""
    stmt = (
        select(MessageKey.value)
        .join(Match, Match.message_id == MessageKey.message_id)
        .where(
            Match.lead_id == lead_id,
            Match.decided_by == DECIDED_BY_REVIEW,
            Match.status == MatchStatus.MATCHED,
            Match.message_id != except_message_id,
            MessageKey.role.in_(("from", "reply_to")),
        )
    )
    return set(session.scalars(stmt))


def remove_lead_identities(session: Session, lead_id: int, identities: Iterable[tuple[str, str]]) -> None:
    for kind, value in identities:
        stmt = select(LeadIdentity).where(
            LeadIdentity.lead_id == lead_id, LeadIdentity.kind == kind, LeadIdentity.value == value
        )
        for row in session.scalars(stmt):
            session.delete(row)
    session.flush()
