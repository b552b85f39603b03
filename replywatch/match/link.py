"""Matching stored messages again: when a lead arrives late, or our message explains waiting replies."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from replywatch.match.candidates import CandidateIndex, MatchQuery
from replywatch.match.score import MATCHED, Decision, decide
from replywatch.store import repo
from replywatch.store.models import Match

ADDRESS_ROLES = ("from", "reply_to", "to", "cc")


def decide_match(index: CandidateIndex, query: MatchQuery, open_days: int) -> Decision:
    return decide(index.candidates(query, open_days), query.sent_at)


def match_row(message_id: int, decision: Decision, now: datetime) -> dict[str, object]:
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


def rematch(session: Session, message_ids: Iterable[int], open_days: int, now: datetime) -> set[int]:
    """Match these stored messages again; the leads whose messages changed (before and after) come back."""
    loaded = repo.messages_with_keys(session, sorted(set(message_ids)))
    if not loaded:
        return set()
    queries = [MatchQuery(m.direction, m.sent_at, keys) for m, keys in loaded]
    index = CandidateIndex.load(session, queries)
    stmt = select(Match.message_id, Match.lead_id).where(Match.message_id.in_([m.id for m, _ in loaded]))
    before = {message_id: lead_id for message_id, lead_id in session.execute(stmt)}
    affected: set[int] = set()
    headers: list[str] = []
    for (message, _), query in sorted(zip(loaded, queries, strict=True), key=lambda p: p[1].sent_at):
        decision = decide_match(index, query, open_days)
        values = match_row(message.id, decision, now)
        session.execute(update(Match).where(Match.message_id == message.id).values(**values))
        affected.update(x for x in (before.get(message.id), decision.lead_id) if x is not None)
        if decision.status == MATCHED and message.header_message_id:
            headers.append(message.header_message_id)
    return affected | follow_thread(session, headers, open_days, now)


def follow_thread(session: Session, headers: list[str], open_days: int, now: datetime) -> set[int]:
    """Messages newly matched explain the unmatched replies that name them."""
    if not headers:
        return set()
    waiting = repo.unmatched_message_ids_by_keys(session, ["ref"], headers)
    return rematch(session, waiting, open_days, now) if waiting else set()


def rematch_for_identities(
    session: Session, values: list[str], since: datetime, open_days: int, now: datetime
) -> set[int]:
    """A new lead: unmatched messages that carry its addresses, and automatic matches made since it
    was received (a repeat shopper's reply goes to the latest lead), are matched again."""
    ids = repo.message_ids_by_keys(session, ADDRESS_ROLES, values, since)
    return rematch(session, ids, open_days, now) if ids else set()
