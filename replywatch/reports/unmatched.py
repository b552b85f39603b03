"""Replies we could not place: human inbound messages that match no lead, so none stays invisible.

`messages list --unmatched` lists them, `status` counts them, and the digest calls `unmatched_count` for
a store and a week. A reply's store is the one its message names, else that of an associate it was
written to (a customer's mail names no store of its own).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.orm import Session

from replywatch.clock import iso_z
from replywatch.domain.vocabulary import Direction, Kind, MatchStatus
from replywatch.store.models import Associate, AssociateIdentity, Match, Message, MessageKey, Store
from replywatch.store.sql import chunks, one_of

# A reply that needs a person: a customer's own words (opt-outs are recorded and need no lead to count).
REPLY_KINDS = (Kind.HUMAN,)
_RECIPIENT_ROLES = ("to", "cc")


@dataclass(frozen=True)
class UnmatchedReply:
    message_id: int
    at: datetime
    channel: str
    sender: str | None
    sender_name: str | None
    subject: str | None
    text: str
    store: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "at": iso_z(self.at),
            "channel": self.channel,
            "sender": self.sender,
            "sender_name": self.sender_name,
            "subject": self.subject,
            "text": self.text,
            "store": self.store,
        }


def unmatched_replies(
    session: Session,
    since: datetime | None = None,
    until: datetime | None = None,
    store: str | None = None,
) -> list[UnmatchedReply]:
    """Human inbound messages matched to no lead (not rejected by a person), sent in [since, until),
    oldest first; of one store when `store` is given."""
    stmt = _unmatched(select(Message), since, until).order_by(Message.sent_at, Message.id)
    messages = list(session.scalars(stmt))
    stores = _stores(session, messages)
    found = [_reply(m, stores.get(m.id)) for m in messages]
    return [r for r in found if store is None or r.store == store]


def unmatched_count(
    session: Session, store: str | None = None, since: datetime | None = None, until: datetime | None = None
) -> int:
    """How many replies of `store` (None: every store) sent in [since, until) we could not place: the
    digest's "replies we could not place", and `status`."""
    if store is not None:
        return len(unmatched_replies(session, since, until, store))
    stmt = _unmatched(select(func.count()).select_from(Message), since, until)
    return session.scalar(stmt) or 0


def unplaced_reply() -> tuple[ColumnElement[bool], ...]:
    """The rule for a reply we could not place: a customer's own words, inbound, that no lead holds
    (matched or in review) and that no person rejected. `messages list --unmatched`, `status` and the
    digest (`reports.unplaced_replies`) all count by it."""
    placed = exists().where(Match.message_id == Message.id, Match.status != MatchStatus.UNMATCHED)
    return (Message.direction == Direction.INBOUND, Message.kind.in_(REPLY_KINDS), ~placed)


def _unmatched(stmt: Select[Any], since: datetime | None, until: datetime | None) -> Select[Any]:
    stmt = stmt.where(*unplaced_reply())
    if since is not None:
        stmt = stmt.where(Message.sent_at >= since)
    if until is not None:
        stmt = stmt.where(Message.sent_at < until)
    return stmt


def _reply(message: Message, store: str | None) -> UnmatchedReply:
    return UnmatchedReply(
        message_id=message.id,
        at=message.sent_at,
        channel=message.channel,
        sender=message.sender,
        sender_name=message.sender_name,
        subject=message.subject,
        text=(message.snippet or "").strip(),
        store=store,
    )


def _stores(session: Session, messages: Sequence[Message]) -> dict[int, str]:
    """Message id → store name: the message's own store, else that of the first associate it reached."""
    names = {store_id: name for store_id, name in session.execute(select(Store.id, Store.name))}
    found = {m.id: names[m.store_id] for m in messages if m.store_id in names}
    missing = [m.id for m in messages if m.id not in found]
    if not missing:
        return found
    for part in chunks(missing):
        stmt = (
            select(MessageKey.message_id, Associate.store_id)
            .join(AssociateIdentity, AssociateIdentity.value == MessageKey.value)
            .join(Associate, Associate.id == AssociateIdentity.associate_id)
            .where(one_of(session, MessageKey.message_id, part), MessageKey.role.in_(_RECIPIENT_ROLES))
            .order_by(MessageKey.message_id, MessageKey.id)
        )
        for message_id, store_id in session.execute(stmt):
            if message_id not in found and store_id in names:
                found[message_id] = names[store_id]
    return found
