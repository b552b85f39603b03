"""Review-queue operations: the doubtful matches, a person's decision on one, and what it changes.

A decision is audited (who, when, what), recomputes the contact state of the leads it touches, and is
never undone by re-polling or re-matching: only messages nobody decided are matched again. A person
can overturn it (a new decision) or take it back (`undo`): what it taught its lead goes with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from replywatch.domain.vocabulary import Kind, MatchStatus
from replywatch.errors import ReplywatchError
from replywatch.ingest.directory import Directory
from replywatch.ingest.leads import refresh_contacts
from replywatch.match.link import Matching, rematch
from replywatch.review.learning import give_back, learn, redecide, shown, take_from_link, unlearn, values_of
from replywatch.review.queue import ReviewItem, load_item, queue_ids
from replywatch.store import Session, reviews
from replywatch.store import decision_record as record
from replywatch.store.decision_record import StandingDecision
from replywatch.store.reviews import DECIDED_BY_REVIEW, ChosenLead, QueuedMessage

__all__ = ["Decided", "ReviewItem", "Reviewer", "load_item", "queue_ids"]


@dataclass(frozen=True)
class Decided:
    """What a decision did: the message, the action, the lead it went to (None when rejected)."""

    message_id: int
    action: str  # accept | reject | undo
    lead: ChosenLead | None
    learned: list[str]  # addresses or numbers added to the lead, so the next message matches alone
    unlearned: list[str] = field(default_factory=list)  # taken back from an overturned link's lead
    status: str = ""  # the match's status after it


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
        """Link the message to `lead_id`, or to the top candidate; the lead learns the sender's address,
        and what an overturned decision taught its lead is taken back."""
        item = self._decidable(message_id)
        chosen = lead_id if lead_id is not None else item.lead_id or _top_candidate(item.reasons)
        lead = reviews.chosen_lead(self.session, chosen) if chosen is not None else None
        if lead is None:
            raise ReplywatchError(f"message {message_id}: no candidate lead; name one with --lead")
        reasons = item.reasons
        if not any(c.get("lead_id") == lead.id for c in reasons):
            reasons = [*reasons, {"lead_id": lead.id, "score": 1.0, "reasons": ["review"]}]
        unlearned, taken = self._overturn(item, lead.id)
        decision_id = self._save(item, "accept", MatchStatus.MATCHED, lead.id, reasons, lead.store_id)
        learned = learn(self.session, self.directory, item, lead.id)
        record.record_learned(self.session, decision_id, learned, taken)
        self._settle(item, {lead.id}, values_of(learned + unlearned))
        return Decided(message_id, "accept", lead, shown(learned), shown(unlearned), MatchStatus.MATCHED)

    def attach(self, message_id: int, lead_id: int) -> Decided:
        """Place a reply that matched no lead: like accepting it for `lead_id`."""
        item = self._decidable(message_id)
        if item.kind not in (Kind.HUMAN, Kind.OPT_OUT, Kind.OPT_IN):
            raise ReplywatchError(f"message {message_id} is {item.kind}, not a reply a lead can take")
        return self.accept(message_id, lead_id)

    def reject(self, message_id: int) -> Decided:
        """Not a reply to any lead: it stays stored, counts for no lead, and is never matched again."""
        item = self._decidable(message_id)
        unlearned, taken = self._overturn(item, None)
        decision_id = self._save(item, "reject", MatchStatus.REJECTED, None, item.reasons)
        record.record_learned(self.session, decision_id, [], taken)
        self._settle(item, set(), values_of(unlearned))
        return Decided(message_id, "reject", None, [], shown(unlearned), MatchStatus.REJECTED)

    def undo(self, message_id: int) -> Decided:
        """Take back the message's latest decision: what it taught goes, the decision before it (or
        matching, when there was none) decides the message again."""
        item = self._decidable(message_id)
        standing = record.standing_decisions(self.session, message_id)
        if not standing:
            raise ReplywatchError(f"message {message_id} has no review decision to undo")
        last = standing[-1]
        unlearned = unlearn(self.session, item, last)
        learned_back = give_back(self.session, record.taken_by(self.session, last.id))
        record.mark_undone(self.session, last.id, self.who, self.now)
        retaken: list[tuple[str, str]] = []
        if len(standing) > 1:
            learned, retaken, affected = self._restore(item, standing[-2])
        else:  # no decision before it: matching decides the message again
            record.restore_match(
                self.session, item.match_id, last.previous_status, last.previous_lead_id, "auto"
            )
            learned, affected = [], rematch(self.session, [message_id], self.matching)
        self._settle(item, affected, values_of(learned + learned_back + unlearned + retaken))
        after = reviews.queued_message(self.session, message_id)
        assert after is not None  # the message was there a moment ago, in this transaction
        lead = reviews.chosen_lead(self.session, after.lead_id) if after.lead_id is not None else None
        return Decided(message_id, "undo", lead, shown(learned), shown(unlearned), after.status)

    def _restore(
        self, item: QueuedMessage, back: StandingDecision
    ) -> tuple[list[tuple[str, str]], list[tuple[str, str]], set[int]]:
        """The decision before the one undone is in force again, with what it teaches and takes:
        (learned, taken again, leads concerned)."""
        status = MatchStatus.MATCHED if back.action == "accept" else MatchStatus.REJECTED
        record.restore_match(self.session, item.match_id, status, back.lead_id, DECIDED_BY_REVIEW)
        taken = record.taken_by(self.session, back.id)
        for kind, value, lead_id in taken:  # what it took from an automatic link is taken again
            record.remove_lead_identities(self.session, lead_id, [(kind, value)])
        retaken = [(kind, value) for kind, value, _ in taken]
        if back.lead_id is None:
            return [], retaken, set()
        learned = learn(self.session, self.directory, item, back.lead_id)
        record.record_learned(self.session, back.id, learned, taken)
        return learned, retaken, {back.lead_id}

    def _overturn(
        self, item: QueuedMessage, lead_id: int | None
    ) -> tuple[list[tuple[str, str]], list[tuple[str, str, int]]]:
        """Before a new decision: what the decision in force taught its lead is taken back; an automatic
        link to another lead loses what people taught that lead about this sender. Returns what went:
        (kind, value) unlearned, and (kind, value, lead) taken from the overturned link."""
        standing = record.standing_decisions(self.session, item.id)
        if standing:
            return unlearn(self.session, item, standing[-1]), []
        taken = take_from_link(self.session, item, lead_id)
        return [(k, v) for k, v, _ in taken], taken

    def _settle(self, item: QueuedMessage, leads: set[int], changed: list[str]) -> None:
        """Messages depending on what changed are decided again; contact is recomputed for every lead
        concerned (the message's lead before and after, and those of the messages decided again), and a
        lead the message left (or re-entered) review for is marked changed for the export."""
        affected = leads | _previous(item) | redecide(self.session, item, changed, self.matching)
        refresh_contacts(self.session, self.directory, affected, now=self.now)
        reviews.mark_pending_moved(self.session, item, self.now)

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
    ) -> int:
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
        return reviews.save_decision(self.session, item.match_id, decision, store_id)


def _previous(item: QueuedMessage) -> set[int]:
    """The lead the message counted for before the decision, if any."""
    return {item.lead_id} if item.lead_id is not None else set()


def _top_candidate(reasons: list[Any]) -> int | None:
    ids = [c.get("lead_id") for c in reasons if isinstance(c, dict)]
    return next((i for i in ids if isinstance(i, int)), None)
