"""Applying a match decision to the store, and re-matching messages when a lead or a thread appears."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from replywatch.match.candidates import MatchQuery, find_candidates
from replywatch.match.score import MATCHED, Decision, decide
from replywatch.parse.types import OUTBOUND
from replywatch.store import repo
from replywatch.store.models import Match, Message

ADDRESS_ROLES = ("from", "reply_to", "to", "cc")


def match_message(session: Session, message: Message, open_days: int, now: datetime) -> Decision:
    """Decide the message's lead and record it (one Match row per message, replaced on re-match)."""
    keys = repo.message_keys(session, message.id)
    query = MatchQuery(message.direction, message.sent_at, keys)
    decision = decide(find_candidates(session, query, open_days), message.sent_at)
    match = session.scalar(select(Match).where(Match.message_id == message.id))
    if match is None:
        match = Match(message_id=message.id)
        session.add(match)
    match.lead_id, match.status, match.score = decision.lead_id, decision.status, decision.score
    match.reasons, match.decided_by, match.decided_at = decision.reasons, "auto", now
    return decision


def rematch(session: Session, message_ids: Iterable[int], open_days: int, now: datetime) -> set[int]:
    """Match these messages again; the leads whose messages changed (before and after) come back."""
    affected: set[int] = set()
    for message in session.scalars(select(Message).where(Message.id.in_(list(message_ids)))):
        before = session.scalar(select(Match.lead_id).where(Match.message_id == message.id))
        decision = match_message(session, message, open_days, now)
        affected.update(x for x in (before, decision.lead_id) if x is not None)
        affected.update(follow_thread(session, message, decision, open_days, now))
    return affected


def follow_thread(
    session: Session, message: Message, decision: Decision, open_days: int, now: datetime
) -> set[int]:
    """An outbound message newly matched explains the unmatched replies that name it."""
    if message.direction != OUTBOUND or decision.status != MATCHED or not message.header_message_id:
        return set()
    waiting = repo.unmatched_message_ids_by_keys(session, ["ref"], [message.header_message_id])
    return rematch(session, waiting, open_days, now) if waiting else set()


def rematch_for_identities(
    session: Session, values: list[str], since: datetime, open_days: int, now: datetime
) -> set[int]:
    """A new lead: unmatched messages that carry its addresses, and automatic matches made since it
    was received (a repeat shopper's reply goes to the latest lead), are matched again."""
    ids = repo.message_ids_by_keys(session, ADDRESS_ROLES, values, since)
    return rematch(session, ids, open_days, now) if ids else set()
