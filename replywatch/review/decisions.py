"""Review-queue operations: the doubtful matches, a person's decision on one, and what it changes.

A decision is audited (who, when, what), recomputes the contact state of the leads it touches, and is
never undone by re-polling or re-matching: only messages nobody decided are matched again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from replywatch.domain.normalize import loose_email
from replywatch.errors import ReplywatchError
from replywatch.ingest.directory import Directory
from replywatch.ingest.leads import refresh_contacts
from replywatch.match.link import Matching, follow_thread, rematch_for_leads
from replywatch.match.score import MATCHED, REJECTED
from replywatch.parse.types import INBOUND
from replywatch.review.queue import ReviewItem, load_item, queue_ids
from replywatch.store.models import Lead, LeadIdentity, Match, Message, MessageKey, ReviewDecision

__all__ = ["Decided", "ReviewItem", "Reviewer", "load_item", "queue_ids"]


@dataclass(frozen=True)
class Decided:
    """What a decision did: the message, the action, the lead it went to (None when rejected)."""

    message_id: int
    action: str  # accept | reject
    lead: Lead | None
    learned: list[str]  # addresses or numbers added to the lead, so the next message matches alone


@dataclass(frozen=True)
class Reviewer:
    """A person deciding review items, with what a decision needs: the directory and the matching."""

    session: Session
    directory: Directory
    matching: Matching
    who: str

    @property
    def now(self) -> datetime:
        return self.matching.now

    def accept(self, message_id: int, lead_id: int | None = None) -> Decided:
        """Link the message to `lead_id`, or to the top candidate; the lead learns the sender's address."""
        match, message = self._decidable(message_id)
        chosen = lead_id if lead_id is not None else match.lead_id or _top_candidate(match)
        lead = self.session.get(Lead, chosen) if chosen is not None else None
        if lead is None:
            raise ReplywatchError(f"message {message_id}: no candidate lead; name one with --lead")
        previous = self._record(match, "accept", lead.id)
        match.status, match.lead_id = MATCHED, lead.id
        if not any(c.get("lead_id") == lead.id for c in match.reasons):
            match.reasons = [*match.reasons, {"lead_id": lead.id, "score": 1.0, "reasons": ["review"]}]
        if message.store_id is None:
            message.store_id = lead.store_id
        self.session.flush()
        learned = self._learn(message, lead)
        affected = {lead.id, *previous}
        if learned:
            since = message.sent_at - timedelta(days=1)
            keys = [value for _, value in learned]
            affected |= rematch_for_leads(self.session, keys, since, self.matching)
        if message.header_message_id:
            affected |= follow_thread(self.session, [message.header_message_id], self.matching)
        refresh_contacts(self.session, self.directory, affected)
        return Decided(message_id, "accept", lead, [value for kind, value in learned if kind != "loose"])

    def reject(self, message_id: int) -> Decided:
        """Not a reply to any lead: it stays stored, counts for no lead, and is never matched again."""
        match, _ = self._decidable(message_id)
        previous = self._record(match, "reject", None)
        match.status, match.lead_id = REJECTED, None
        self.session.flush()
        refresh_contacts(self.session, self.directory, previous)
        return Decided(message_id, "reject", None, [])

    def _decidable(self, message_id: int) -> tuple[Match, Message]:
        row = self.session.execute(
            select(Match, Message)
            .join(Message, Message.id == Match.message_id)
            .where(Message.id == message_id)
        ).first()
        if row is None:
            raise ReplywatchError(f"no message {message_id} to decide (see `replywatch review list`)")
        match, message = row
        if message.kind == "lead":
            raise ReplywatchError(f"message {message_id} is a lead notice, not a reply")
        return match, message

    def _record(self, match: Match, action: str, lead_id: int | None) -> set[int]:
        """Audit the decision; the lead the message counted for before, if any."""
        self.session.add(
            ReviewDecision(
                message_id=match.message_id,
                action=action,
                lead_id=lead_id,
                previous_status=match.status,
                previous_lead_id=match.lead_id,
                decided_by=self.who,
                decided_at=self.now,
            )
        )
        previous = {match.lead_id} if match.lead_id is not None else set()
        match.decided_by, match.decided_at = "review", self.now
        return previous

    def _learn(self, message: Message, lead: Lead) -> list[tuple[str, str]]:
        """The customer wrote from an address or number the lead lacked: the lead gets it (and its
        loose form), so their next message matches on its own. Returns the (kind, value) added."""
        if message.direction != INBOUND or message.kind not in ("human", "opt_out", "opt_in"):
            return []
        stmt = select(MessageKey.value).where(
            MessageKey.message_id == message.id, MessageKey.role.in_(("from", "reply_to"))
        )
        values = [v for v in self.session.scalars(stmt) if not self.directory.associates_of(_kind(v), v)]
        have = select(LeadIdentity.kind, LeadIdentity.value).where(LeadIdentity.lead_id == lead.id)
        known = {(kind, value) for kind, value in self.session.execute(have)}
        wanted = {(_kind(v), v) for v in values}
        wanted |= {("loose", x) for v in values if "@" in v and (x := loose_email(v)) != v}
        added = sorted(wanted - known)
        self.session.add_all(LeadIdentity(lead_id=lead.id, kind=k, value=v) for k, v in added)
        self.session.flush()
        return added


def _top_candidate(match: Match) -> int | None:
    ids = [c.get("lead_id") for c in match.reasons if isinstance(c, dict)]
    return next((i for i in ids if isinstance(i, int)), None)


def _kind(value: str) -> str:
    return "phone" if value.startswith("+") else "email"
