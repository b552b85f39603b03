"""The digest's "replies we could not place": customers' messages of a week that no lead claims.

The rule is `reports.unmatched.unplaced_reply` (`messages list --unmatched`, `status`); this query adds
what the digest needs, the messages of several (store, week) ranges in one statement. The two differ in
one way: a reply that names no store counts here in the widest scope only, where `reports.unmatched`
looks for the store of the associate it was written to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import Session

from replywatch.reports.unmatched import unplaced_reply
from replywatch.store.models import Message


@dataclass(frozen=True)
class UnplacedReply:
    message_id: int
    sent_at: datetime
    channel: str
    sender: str


@dataclass(frozen=True)
class Unplaced:
    total: int
    first: list[UnplacedReply]  # the oldest `limit` of them


def digest_unmatched_replies(
    session: Session,
    ranges: Sequence[tuple[int | None, datetime, datetime]],
    limit: int = 5,
) -> Unplaced:
    """Human inbound messages sent in each (store id, start, end) range that match no lead and that no
    person rejected; a store id of None names the messages no store claims (the widest scope shows them)."""
    where = (*unplaced_reply(), _in_ranges(ranges))
    total = session.scalar(select(func.count()).select_from(Message).where(*where)) or 0
    stmt = (
        select(Message.id, Message.sent_at, Message.channel, Message.sender_name, Message.sender)
        .where(*where)
        .order_by(Message.sent_at, Message.id)
        .limit(limit)
    )
    first = [
        UnplacedReply(message_id, sent_at, channel, _who(name, sender))
        for message_id, sent_at, channel, name, sender in session.execute(stmt)
    ]
    return Unplaced(total, first)


def _in_ranges(ranges: Sequence[tuple[int | None, datetime, datetime]]) -> ColumnElement[bool]:
    if not ranges:
        return false()
    return or_(
        *(
            and_(
                Message.store_id.is_(None) if store_id is None else Message.store_id == store_id,
                Message.sent_at >= start,
                Message.sent_at < end,
            )
            for store_id, start, end in ranges
        )
    )


def _who(name: str | None, sender: str | None) -> str:
    """The address or number: it outlives `purge`, which blanks display names, so a digest rendered
    again after a purge reads as it did."""
    return sender or name or "(unknown sender)"
