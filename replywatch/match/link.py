"""Matching stored messages again: when a lead arrives late, a person decides, or our message explains
waiting replies. Only messages no person has decided are touched."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from replywatch.domain.lead import LeadRef
from replywatch.domain.vocabulary import Direction, MatchStatus
from replywatch.match.candidates import CandidateIndex, TouchNotes
from replywatch.match.evidence import MessageFacts, Who, build_query
from replywatch.match.policy import MatchPolicy
from replywatch.match.score import Decision, decide
from replywatch.match.types import MatchQuery
from replywatch.store import Session, repo
from replywatch.store.repo import StoredMessage

# Roles of message keys a new lead can explain: addresses and numbers, and name blocking keys.
LEAD_ROLES = ("from", "reply_to", "to", "cc", "loose", "text_phone", "name")


@dataclass(frozen=True)
class Matching:
    """What deciding needs besides the data: the policy, how long a lead is open, who is ours, now."""

    policy: MatchPolicy
    open_days: int
    who: Who
    now: datetime
    notes: TouchNotes = field(default_factory=TouchNotes)  # our messages matched in this unit of work

    def decide(self, index: CandidateIndex, query: MatchQuery) -> Decision:
        ours = query.direction == Direction.OUTBOUND
        return decide(index.candidates(query, self.open_days), query.sent_at, self.policy, ours)


def match_row(message_id: int, decision: Decision, now: datetime) -> dict[str, Any]:
    """The matches row for a decision; every column, so that a batch inserts with one statement."""
    return {
        "message_id": message_id,
        "lead_id": decision.lead_id,
        "status": decision.status,
        "score": decision.score,
        "reasons": decision.reasons,
        "decided_by": "auto",
        "decided_at": now,
    }


def facts_of(message: StoredMessage) -> MessageFacts:
    return MessageFacts(
        message.direction,
        message.channel,
        message.sent_at,
        message.sender_name,
        message.subject,
        message.snippet,
        message.store_id,
    )


def note_decision(index: CandidateIndex, query: MatchQuery, decision: Decision, header: str | None) -> bool:
    """Tell the index what a matched message teaches the later ones; True when it names a thread."""
    if decision.status != MatchStatus.MATCHED or decision.lead is None:
        return False
    lead: LeadRef = decision.lead
    if query.direction == Direction.OUTBOUND:
        index.note_touch(query, lead)
    index.note_thread(header, lead)
    return bool(header)


def rematch(session: Session, message_ids: Iterable[int], matching: Matching) -> set[int]:
    """Match these stored messages again; the leads whose messages changed (before and after) come back."""
    loaded = repo.messages_with_keys(session, sorted(set(message_ids)))
    if not loaded:
        return set()
    queries = [build_query(facts_of(m), keys, matching.who) for m, keys in loaded]
    index = CandidateIndex.load(session, queries, matching.open_days, matching.notes)
    before = repo.match_leads(session, [m.id for m, _ in loaded])
    affected: set[int] = set()
    headers: list[str] = []
    rows: list[dict[str, Any]] = []
    key_rows: list[dict[str, Any]] = []
    for (message, keys), query in sorted(zip(loaded, queries, strict=True), key=lambda p: p[1].sent_at):
        decision = matching.decide(index, query)
        rows.append(match_row(message.id, decision, matching.now))
        key_rows += candidate_keys(message.id, decision, keys.get("lead", ()))
        affected.update(x for x in (before.get(message.id), decision.lead_id) if x is not None)
        if note_decision(index, query, decision, message.header_message_id) and message.header_message_id:
            headers.append(message.header_message_id)
    repo.update_matches(session, rows)
    repo.insert_keys(session, key_rows)
    return affected | follow_thread(session, headers, matching)


def follow_thread(session: Session, headers: list[str], matching: Matching) -> set[int]:
    """Messages newly matched explain the undecided replies that name them."""
    if not headers:
        return set()
    waiting = repo.unmatched_message_ids_by_keys(session, ["ref"], headers)
    return rematch(session, waiting, matching) if waiting else set()


def follow_touches(
    session: Session, touches: Sequence[tuple[MatchQuery, int]], matching: Matching, done: set[int]
) -> set[int]:
    """Our messages newly matched explain replies stored before them (a backfill reads the inbox before
    the sent folder): the customers' later messages that no person decided, and the undecided messages
    that name these leads as candidates, are matched again. `done`: messages decided with them."""
    if not touches:
        return set()
    values = sorted({v for q, _ in touches for role in ("to", "cc") for v in q.keys.get(role, ())})
    since = min(q.sent_at for q, _ in touches)
    ids = set(repo.message_ids_by_keys(session, ("from", "reply_to"), values, since))
    ids |= set(repo.unmatched_message_ids_by_keys(session, ["lead"], sorted({str(i) for _, i in touches})))
    return rematch(session, ids - done, matching) if ids - done else set()


def candidate_keys(message_id: int, decision: Decision, have: Sequence[str] = ()) -> list[dict[str, Any]]:
    """An undecided message is findable by its candidate leads, so that a touch of one can revisit it."""
    if decision.status == MatchStatus.MATCHED:
        return []
    leads = {str(c["lead_id"]) for c in decision.reasons} - set(have)
    return [{"message_id": message_id, "role": "lead", "value": value} for value in sorted(leads)]


def rematch_for_leads(session: Session, keys: Sequence[str], since: datetime, matching: Matching) -> set[int]:
    """New leads: the messages since `since` that carry their addresses, numbers or name keys and that no
    person decided are matched again (a repeat shopper's reply goes to the latest lead)."""
    ids = repo.message_ids_by_keys(session, LEAD_ROLES, keys, since)
    return rematch(session, ids, matching) if ids else set()
