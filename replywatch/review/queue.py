"""Reading the review queue: each doubtful message with its ranked candidate leads, as shown and as JSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from replywatch.clock import iso_z
from replywatch.errors import ReplywatchError
from replywatch.store import Session, reviews


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
    vehicle: str | None = None
    contacts: tuple[str, ...] = ()  # emails, then phones
    chosen_by: str | None = None  # of one shopper's several leads, what picked this one


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

    @property
    def tie(self) -> bool:
        """The two best candidates score the same as shown: a person must say which (never Enter)."""
        top = self.candidates[:2]
        return len(top) == 2 and round(top[0].score, 2) == round(top[1].score, 2)

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
                    "chosen_by": c.chosen_by,
                }
                for c in self.candidates
            ],
        }


def queue_ids(session: Session) -> list[int]:
    """Messages waiting for a person, oldest first."""
    return reviews.queue_ids(session)


def load_item(session: Session, message_id: int) -> ReviewItem:
    message = reviews.queued_message(session, message_id)
    if message is None:
        raise ReplywatchError(f"no message {message_id} (see `replywatch review list`)")
    return ReviewItem(
        id=message.id,
        status=message.status,
        channel=message.channel,
        direction=message.direction,
        kind=message.kind,
        sender=message.sender or "",
        sender_name=message.sender_name,
        at=message.sent_at,
        subject=message.subject,
        text=(message.snippet or "").strip(),
        candidates=_candidates(session, message.reasons or []),
    )


def load_items(session: Session, ids: list[int]) -> list[ReviewItem]:
    return [load_item(session, i) for i in ids]


def _candidates(session: Session, ranked: list[Any]) -> list[CandidateView]:
    entries = [c for c in ranked if isinstance(c, dict) and isinstance(c.get("lead_id"), int)]
    leads = reviews.candidate_leads(session, [int(c["lead_id"]) for c in entries])
    views = []
    for entry in entries:
        lead = leads.get(int(entry["lead_id"]))
        if lead is not None:  # else a lead deleted since
            views.append(_view(lead, entry))
    return views


def _view(lead: reviews.CandidateLead, entry: dict[str, Any]) -> CandidateView:
    return CandidateView(
        id=lead.id,
        lead_id=lead.external_id,
        source=lead.source,
        name=lead.full_name or "",
        received_at=lead.received_at,
        associate=lead.associate,
        contacted=lead.contacted,
        score=float(entry.get("score") or 0.0),
        reasons=[str(r) for r in entry.get("reasons") or []],
        vehicle=lead.vehicle,
        contacts=lead.contacts,
        chosen_by=str(entry["chosen_by"]) if entry.get("chosen_by") else None,
    )


def resolve_lead(session: Session, item: ReviewItem, lead_id: str, source: str | None) -> int:
    """A lead id as the user knows it (the export's `lead_id`) → the lead; candidates first."""
    for c in item.candidates:
        if c.lead_id == lead_id and (source is None or c.source == source):
            return c.id
    found = reviews.leads_by_external_id(session, lead_id, source)
    if not found:
        raise ReplywatchError(f"no lead {lead_id!r}" + (f" from {source}" if source else ""))
    if len(found) > 1:
        sources = ", ".join(sorted(s for _, s in found))
        raise ReplywatchError(f"lead id {lead_id!r} is used by several sources ({sources}): add --source")
    return found[0][0]
