"""Reading the review queue: each doubtful message with its ranked candidate leads, as shown and as JSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from replywatch.clock import iso_z
from replywatch.errors import ReplywatchError
from replywatch.match.score import REVIEW_STATUS
from replywatch.store.models import Associate, Lead, Match, Message


@dataclass(frozen=True)
class CandidateView:
    """A candidate lead as a reviewer sees it; `lead_id` is the lead's id as the export shows it."""

    id: int  # internal, for decisions
    lead_id: str
    source: str
    name: str
    received_at: datetime
    associate: str | None
    contacted: bool
    score: float
    reasons: list[str]


@dataclass(frozen=True)
class ReviewItem:
    id: int  # the message's id
    status: str
    channel: str
    direction: str
    kind: str
    sender: str
    sender_name: str | None
    at: datetime
    subject: str | None
    text: str
    candidates: list[CandidateView]

    def to_json(self) -> dict[str, Any]:
        message = {
            "channel": self.channel,
            "direction": self.direction,
            "kind": self.kind,
            "sender": self.sender,
            "sender_name": self.sender_name,
            "at": iso_z(self.at),
            "subject": self.subject,
            "text": self.text,
        }
        return {
            "id": self.id,
            "status": self.status,
            "message": message,
            "candidates": [
                {
                    "lead_id": c.lead_id,
                    "source": c.source,
                    "name": c.name,
                    "received_at": iso_z(c.received_at),
                    "score": c.score,
                    "reasons": c.reasons,
                }
                for c in self.candidates
            ],
        }


def queue_ids(session: Session) -> list[int]:
    """Messages waiting for a person, oldest first."""
    stmt = (
        select(Message.id)
        .join(Match, Match.message_id == Message.id)
        .where(Match.status == REVIEW_STATUS)
        .order_by(Message.sent_at, Message.id)
    )
    return list(session.scalars(stmt))


def load_item(session: Session, message_id: int) -> ReviewItem:
    row = session.execute(
        select(Match, Message).join(Message, Message.id == Match.message_id).where(Message.id == message_id)
    ).first()
    if row is None:
        raise ReplywatchError(f"no message {message_id} (see `replywatch review list`)")
    match, message = row
    return ReviewItem(
        id=message.id,
        status=match.status,
        channel=message.channel,
        direction=message.direction,
        kind=message.kind,
        sender=message.sender or "",
        sender_name=message.sender_name,
        at=message.sent_at,
        subject=message.subject,
        text=(message.snippet or "").strip(),
        candidates=_candidates(session, match.reasons or []),
    )


def load_items(session: Session, ids: list[int]) -> list[ReviewItem]:
    return [load_item(session, i) for i in ids]


def _candidates(session: Session, ranked: list[Any]) -> list[CandidateView]:
    entries = [c for c in ranked if isinstance(c, dict) and isinstance(c.get("lead_id"), int)]
    ids = [int(c["lead_id"]) for c in entries]
    stmt = (
        select(Lead, Associate.name)
        .outerjoin(Associate, Associate.id == Lead.associate_id)
        .where(Lead.id.in_(ids))
    )
    leads = {lead.id: (lead, associate) for lead, associate in session.execute(stmt)}
    views = []
    for entry in entries:
        found = leads.get(int(entry["lead_id"]))
        if found is None:
            continue  # a lead deleted since
        lead, associate = found
        views.append(
            CandidateView(
                id=lead.id,
                lead_id=lead.external_id,
                source=lead.source,
                name=lead.full_name or "",
                received_at=lead.received_at,
                associate=associate,
                contacted=lead.contact_at is not None,
                score=float(entry.get("score") or 0.0),
                reasons=[str(r) for r in entry.get("reasons") or []],
            )
        )
    return views


def resolve_lead(session: Session, item: ReviewItem, lead_id: str, source: str | None) -> int:
    """A lead id as the user knows it (the export's `lead_id`) → the lead; candidates first."""
    for c in item.candidates:
        if c.lead_id == lead_id and (source is None or c.source == source):
            return c.id
    stmt = select(Lead.id, Lead.source).where(Lead.external_id == lead_id)
    if source is not None:
        stmt = stmt.where(Lead.source == source)
    found = list(session.execute(stmt))
    if not found:
        raise ReplywatchError(f"no lead {lead_id!r}" + (f" from {source}" if source else ""))
    if len(found) > 1:
        sources = ", ".join(sorted(s for _, s in found))
        raise ReplywatchError(f"lead id {lead_id!r} is used by several sources ({sources}): add --source")
    return int(found[0][0])
