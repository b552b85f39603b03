"""The digest's "replies we could not place": customers' messages of a week that no lead claims.

Until the unmatched-replies report (`messages list --unmatched`) lands in reports/, this is the digest's own
small query; the two count the same thing (a human inbound message with no match to a lead, matched or
in review) and should become one function."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select
from sqlalchemy.orm import Session

from replywatch.domain.vocabulary import Direction, Kind, MatchStatus
from replywatch.store.models import Match, Message


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
    """Human inbound messages sent in each (store id, start, end) range with no lead matched or proposed;
    a store id of None names the messages no store claims (the widest scope shows them)."""
    placed = exists().where(
        Match.message_id == Message.id, Match.status.in_((MatchStatus.MATCHED, MatchStatus.REVIEW))
    )
    where = (
        Message.direction == Direction.INBOUND,
        Message.kind == Kind.HUMAN,
        _in_ranges(ranges),
        ~placed,
    )
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
    if name and sender:
        return f"{name} <{sender}>"
    return name or sender or "(unknown sender)"
