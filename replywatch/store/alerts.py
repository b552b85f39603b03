"""What the alert checks read: live untouched leads, sources' health, open outages, stale review items, and
which alert keys the outbox holds already. Reads only; the events go in through `outbox.record_events`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from replywatch.domain.vocabulary import MatchStatus
from replywatch.store.models import Lead, Match, Message, NotifyEvent, SourceState
from replywatch.store.sql import chunks, one_of


@dataclass(frozen=True)
class UntouchedLead:
    id: int
    store_id: int | None
    received_at: datetime
    stored_at: datetime


@dataclass(frozen=True)
class SourceHealth:
    """A source's state as its last poll left it (`replywatch status` shows the same row)."""

    name: str
    last_success_at: datetime | None
    last_attempt_at: datetime | None
    failures: int
    last_error: str | None
    paused: bool


@dataclass(frozen=True)
class Outage:
    """A `source.failing` event raised before: its source, its episode (the key's last part), its data."""

    source: str
    episode: str
    data: dict[str, Any]


@dataclass(frozen=True)
class StaleReviews:
    store_id: int | None
    count: int
    oldest_at: datetime


def untouched_leads(session: Session, store_id: int | None, received_after: datetime) -> list[UntouchedLead]:
    """One store's leads (or those of no store) received since `received_after`, stored by a version that
    records when, with no touch, contact or opt-out: a range of `ix_leads_store_received`."""
    in_store = Lead.store_id.is_(None) if store_id is None else Lead.store_id == store_id
    stmt = select(Lead.id, Lead.store_id, Lead.received_at, Lead.stored_at).where(
        in_store,
        Lead.received_at >= received_after,
        Lead.first_touch_at.is_(None),
        Lead.contact_at.is_(None),
        Lead.opted_out_at.is_(None),
        Lead.stored_at.is_not(None),
    )
    return [
        UntouchedLead(lead_id, store, received_at, stored_at)
        for lead_id, store, received_at, stored_at in session.execute(stmt)
        if stored_at is not None
    ]


def known_keys(session: Session, keys: Sequence[str]) -> set[str]:
    """Which of these event keys the outbox holds already (by its unique index)."""
    found: set[str] = set()
    for part in chunks(sorted(set(keys))):
        found.update(session.scalars(select(NotifyEvent.key).where(one_of(session, NotifyEvent.key, part))))
    return found


def source_health(session: Session, names: Sequence[str]) -> dict[str, SourceHealth]:
    """The sources' states by name; a source never polled has none."""
    stmt = select(SourceState).where(SourceState.source.in_(list(names)))
    return {
        s.source: SourceHealth(
            s.source,
            s.last_success_at,
            s.last_attempt_at,
            s.consecutive_failures or 0,
            s.last_error,
            bool(s.paused_config),
        )
        for s in session.scalars(stmt)
    }


def outages(
    session: Session, failing_type: str, names: Sequence[str], raised_after: datetime
) -> list[Outage]:
    """The `failing_type` events of these sources raised since `raised_after` (by the outbox's created_at
    index: the type and source columns have none), oldest first."""
    stmt = (
        select(NotifyEvent.source, NotifyEvent.key, NotifyEvent.data)
        .where(NotifyEvent.created_at >= raised_after, NotifyEvent.type == failing_type)
        .where(NotifyEvent.source.in_(list(names)))
        .order_by(NotifyEvent.id)
    )
    prefix = f"{failing_type}:"
    return [
        Outage(source, key[len(prefix) + len(source) + 1 :], data)
        for source, key, data in session.execute(stmt)
        if source is not None and key.startswith(f"{prefix}{source}:")
    ]


def stale_reviews(session: Session, ingested_before: datetime) -> list[StaleReviews]:
    """Per store of the message (None: no store), the review queue's items (every match in status
    `review`, as the queue lists them) whose message was stored before `ingested_before`."""
    stmt = (
        select(Message.store_id, func.count(), func.min(Message.ingested_at))
        .join(Match, Match.message_id == Message.id)
        .where(Match.status == MatchStatus.REVIEW, Message.ingested_at < ingested_before)
        .group_by(Message.store_id)
    )
    return [StaleReviews(store_id, count, oldest) for store_id, count, oldest in session.execute(stmt)]
