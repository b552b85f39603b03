"""Review-queue operations: the doubtful matches, a person's decision on one, and what it changes.

A decision is audited (who, when, what), recomputes the contact state of the leads it touches, and is
never undone by re-polling or re-matching: only messages nobody decided are matched again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from replywatch.domain.normalize import loose_email
from replywatch.domain.vocabulary import Direction, Kind, MatchStatus
from replywatch.errors import ReplywatchError
from replywatch.ingest.directory import Directory
from replywatch.ingest.leads import refresh_contacts
from replywatch.match.link import Matching, follow_thread, rematch_for_leads
from replywatch.review.queue import ReviewItem, load_item, queue_ids
from replywatch.store import Session, reviews
from replywatch.store.reviews import ChosenLead, QueuedMessage

__all__ = ["Decided", "ReviewItem", "Reviewer", "load_item", "queue_ids"]

# The kinds whose sender is the customer.
CUSTOMER_KINDS = (Kind.HUMAN, Kind.OPT_OUT, Kind.OPT_IN)
SENDER_ROLES = ("from", "reply_to")


@dataclass(frozen=True)
class Decided:
    """What a decision did: the message, the action, the lead it went to (None when rejected)."""

    message_id: int
    action: str  # accept | reject
    lead: ChosenLead | None
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
        item = self._decidable(message_id)
        chosen = lead_id if lead_id is not None else item.lead_id or _top_candidate(item.reasons)
        lead = reviews.chosen_lead(self.session, chosen) if chosen is not None else None
        if lead is None:
            raise ReplywatchError(f"message {message_id}: no candidate lead; name one with --lead")
        reasons = item.reasons
        if not any(c.get("lead_id") == lead.id for c in reasons):
            reasons = [*reasons, {"lead_id": lead.id, "score": 1.0, "reasons": ["review"]}]
        self._save(item, "accept", MatchStatus.MATCHED, lead.id, reasons, lead.store_id)
        learned = self._learn(item, lead.id)
        affected = {lead.id, *_previous(item)}
        if learned:
            since = item.sent_at - timedelta(days=1)
            keys = [value for _, value in learned]
            affected |= rematch_for_leads(self.session, keys, since, self.matching)
        if item.header_message_id:
            affected |= follow_thread(self.session, [item.header_message_id], self.matching)
        refresh_contacts(self.session, self.directory, affected)
        return Decided(message_id, "accept", lead, [value for kind, value in learned if kind != "loose"])

    def reject(self, message_id: int) -> Decided:
        """Not a reply to any lead: it stays stored, counts for no lead, and is never matched again."""
        item = self._decidable(message_id)
        self._save(item, "reject", MatchStatus.REJECTED, None, item.reasons)
        refresh_contacts(self.session, self.directory, _previous(item))
        return Decided(message_id, "reject", None, [])

    def _decidable(self, message_id: int) -> QueuedMessage:
        item = reviews.queued_message(self.session, message_id)
        if item is None:
            raise ReplywatchError(f"no message {message_id} to decide (see `replywatch review list`)")
        if item.kind == Kind.LEAD:
            raise ReplywatchError(f"message {message_id} is a lead notice, not a reply")
        return item

    def _save(
        self,
        item: QueuedMessage,
        action: str,
        status: MatchStatus,
        lead_id: int | None,
        reasons: list[Any],
        store_id: int | None = None,
    ) -> None:
        """Audit the decision (who, when, what the match was) and apply it to the match."""
        decision = reviews.Decision(
            message_id=item.id,
            action=action,
            status=status,
            lead_id=lead_id,
            reasons=reasons,
            previous_status=item.status,
            previous_lead_id=item.lead_id,
            decided_by=self.who,
            decided_at=self.now,
        )
        reviews.save_decision(self.session, item.match_id, decision, store_id)

    def _learn(self, item: QueuedMessage, lead_id: int) -> list[tuple[str, str]]:
        """The customer wrote from an address or number the lead lacked: the lead gets it (and its
        loose form), so their next message matches on its own. Returns the (kind, value) added."""
        if item.direction != Direction.INBOUND or item.kind not in CUSTOMER_KINDS:
            return []
        senders = reviews.message_keys(self.session, item.id, SENDER_ROLES)
        values = [v for v in senders if not self.directory.associates_of(_kind(v), v)]
        known = reviews.lead_identities(self.session, lead_id)
        wanted = {(_kind(v), v) for v in values}
        wanted |= {("loose", x) for v in values if "@" in v and (x := loose_email(v)) != v}
        added = sorted(wanted - known)
        reviews.add_lead_identities(self.session, lead_id, added)
        return added


def _previous(item: QueuedMessage) -> set[int]:
    """The lead the message counted for before the decision, if any."""
    return {item.lead_id} if item.lead_id is not None else set()


def _top_candidate(reasons: list[Any]) -> int | None:
    ids = [c.get("lead_id") for c in reasons if isinstance(c, dict)]
    return next((i for i in ids if isinstance(i, int)), None)


def _kind(value: str) -> str:
    return "phone" if value.startswith("+") else "email"
