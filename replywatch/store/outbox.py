"""The notification outbox: events written in the transaction of the change that raised them, and their
deliveries, one per subscribed target, claimed by one daemon at a time (SKIP LOCKED on PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, or_, select, tuple_, update
from sqlalchemy.orm import Session, aliased

from replywatch.clock import iso_z
from replywatch.domain.events import NewEvent, Subscription, subscribers
from replywatch.store import Sessions, bulk
from replywatch.store.models import Associate, Lead, NotifyDelivery, NotifyEvent, Store
from replywatch.store.sql import chunks, is_postgres, one_of

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


def record_events(
    session: Session, events: Sequence[NewEvent], subscriptions: Sequence[Subscription], now: datetime
) -> int:
    """Put events in the outbox, with a pending delivery for every target that wants each. An event whose
    key is stored already (the same fact, seen again or by another daemon) is skipped with its deliveries.
    Returns how many events were new."""
    if not events:
        return 0
    rows = [
        {
            "event_id": str(uuid.uuid4()),
            "key": e.key,
            "type": e.type,
            "occurred_at": e.occurred_at,
            "created_at": now,
            "lead_id": e.lead_id,
            "store_id": e.store_id,
            "source": e.source,
            "data": e.data,
        }
        for e in _unique_keys(events)
    ]
    inserted = {key: pk for key, pk in bulk.insert_new_rows(session, NotifyEvent, rows, ("key",))}
    deliveries = [
        {
            "event_pk": inserted[e.key],
            "target": target,
            "lead_id": e.lead_id,
            "status": PENDING,
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
        }
        for e in events
        if e.key in inserted
        for target in subscribers(subscriptions, e)
    ]
    # Ids follow insertion order, which is each lead's event order: deliveries go in event_pk order.
    deliveries.sort(key=lambda d: (d["event_pk"], d["target"]))
    bulk.insert_rows(session, NotifyDelivery, deliveries)
    return len(inserted)


def _unique_keys(events: Sequence[NewEvent]) -> list[NewEvent]:
    seen: set[str] = set()
    kept = []
    for e in events:
        if e.key not in seen:
            seen.add(e.key)
            kept.append(e)
    return kept


def lead_snapshots(session: Session, lead_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Lead id → the `lead` object of the webhook contract, as the leads' rows stand in this transaction."""
    assoc = aliased(Associate)
    found: dict[int, dict[str, Any]] = {}
    for part in chunks(sorted(set(lead_ids))):
        stmt = (
            select(Lead, Store.name, assoc.name)
            .execution_options(populate_existing=True)
            .outerjoin(Store, Store.id == Lead.store_id)
            .outerjoin(assoc, assoc.id == Lead.associate_id)
            .where(one_of(session, Lead.id, part))
        )
        for lead, store, associate in session.execute(stmt):
            found[lead.id] = lead_snapshot(lead, store, associate)
    return found


def lead_snapshot(lead: Lead, store: str | None, associate: str | None) -> dict[str, Any]:
    """The webhook's `lead`: times ISO 8601 UTC with `Z` (null when unknown), `contacted`/`opted_out`
    true or false, durations whole seconds."""
    return {
        "lead_id": lead.external_id,
        "store": store,
        "source": lead.source,
        "associate": associate,
        "received_at": iso_z(lead.received_at) or None,
        "first_touch_at": iso_z(lead.first_touch_at) or None,
        "contacted": lead.contact_at is not None,
        "contact_at": iso_z(lead.contact_at) or None,
        "contact_channel": lead.contact_channel,
        "time_to_contact_s": lead.time_to_contact_s,
        "opted_out": lead.opted_out_at is not None,
    }


@dataclass(frozen=True)
class Claimed:
    """A delivery this daemon holds until `claimed_until`, with its event."""

    id: int
    target: str
    attempts: int
    first_attempt_at: datetime | None
    event_id: str
    type: str
    occurred_at: datetime
    store_id: int | None
    lead_id: int | None
    data: dict[str, Any]

    def body(self) -> dict[str, Any]:
        """The JSON body every target is sent: `id`, `type`, `occurred_at`, then the event's own keys."""
        return {"id": self.event_id, "type": self.type, "occurred_at": iso_z(self.occurred_at), **self.data}


def claim_due(
    sessions: Sessions, target: str, owner: str, now: datetime, hold: timedelta, limit: int
) -> list[Claimed]:
    """Claim up to `limit` of a target's deliveries that are due, oldest event first, for `hold`. A lead's
    delivery waits while an earlier one of the same lead to the same target is pending (held by anyone,
    or waiting for its retry): each lead's events arrive in order. Several daemons claim at once without
    waiting on each other (FOR UPDATE SKIP LOCKED); on SQLite the claim takes the write lock first."""
    earlier = aliased(NotifyDelivery)
    blocked = exists().where(
        earlier.target == NotifyDelivery.target,
        earlier.lead_id == NotifyDelivery.lead_id,
        earlier.event_pk < NotifyDelivery.event_pk,
        earlier.status == PENDING,
    )
    due = (
        select(NotifyDelivery.id)
        .where(
            NotifyDelivery.target == target,
            NotifyDelivery.status == PENDING,
            NotifyDelivery.next_attempt_at <= now,
            or_(NotifyDelivery.claimed_until.is_(None), NotifyDelivery.claimed_until <= now),
            ~blocked,
        )
        .order_by(NotifyDelivery.event_pk)
        .limit(limit)
    )
    with sessions() as session, session.begin():
        if is_postgres(session):
            due = due.with_for_update(skip_locked=True)
        else:
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        ids = list(session.scalars(due))
        if not ids:
            return []
        session.execute(
            update(NotifyDelivery)
            .where(NotifyDelivery.id.in_(ids))
            .values(claimed_by=owner, claimed_until=now + hold)
        )
        stmt = (
            select(NotifyDelivery, NotifyEvent)
            .join(NotifyEvent, NotifyEvent.id == NotifyDelivery.event_pk)
            .where(NotifyDelivery.id.in_(ids))
            .order_by(NotifyDelivery.event_pk)
        )
        return [
            Claimed(
                d.id,
                d.target,
                d.attempts,
                d.first_attempt_at,
                e.event_id,
                e.type,
                e.occurred_at,
                e.store_id,
                e.lead_id,
                dict(e.data),
            )
            for d, e in session.execute(stmt)
        ]


def mark_delivered(sessions: Sessions, claimed: Claimed, now: datetime) -> None:
    with sessions() as session, session.begin():
        session.execute(
            update(NotifyDelivery)
            .where(NotifyDelivery.id == claimed.id)
            .values(
                status=DELIVERED,
                attempts=NotifyDelivery.attempts + 1,
                first_attempt_at=claimed.first_attempt_at or now,
                last_attempt_at=now,
                delivered_at=now,
                last_error=None,
                claimed_by=None,
                claimed_until=None,
            )
        )


def mark_failed(
    sessions: Sessions, claimed: Claimed, now: datetime, error: str, retry_at: datetime | None
) -> None:
    """A failed attempt: tried again at `retry_at`, or given up for good (status failed) when None."""
    with sessions() as session, session.begin():
        session.execute(
            update(NotifyDelivery)
            .where(NotifyDelivery.id == claimed.id)
            .values(
                status=PENDING if retry_at else FAILED,
                attempts=NotifyDelivery.attempts + 1,
                first_attempt_at=claimed.first_attempt_at or now,
                last_attempt_at=now,
                next_attempt_at=retry_at or now,
                last_error=error,
                claimed_by=None,
                claimed_until=None,
            )
        )


def release(sessions: Sessions, claims: Sequence[Claimed], owner: str) -> None:
    """Give back claims not attempted (their target failed earlier in the round, or we are stopping)."""
    if not claims:
        return
    with sessions() as session, session.begin():
        session.execute(
            update(NotifyDelivery)
            .where(NotifyDelivery.id.in_([c.id for c in claims]), NotifyDelivery.claimed_by == owner)
            .values(claimed_by=None, claimed_until=None)
        )


def replay(
    session: Session, since: datetime, subscriptions: Sequence[Subscription], now: datetime
) -> dict[str, int]:
    """Send again every event that occurred since `since` to each of these targets that wants it: a
    delivery made already goes back to pending (retries start afresh), a missing one (a target added
    later) is created. Returns target → deliveries queued."""
    queued: dict[str, int] = {s.name: 0 for s in subscriptions}
    stmt = (
        select(NotifyEvent.id, NotifyEvent.type, NotifyEvent.store_id, NotifyEvent.lead_id)
        .where(NotifyEvent.occurred_at >= since)
        .order_by(NotifyEvent.id)
    )
    existing = {
        (event_pk, target)
        for event_pk, target in session.execute(
            select(NotifyDelivery.event_pk, NotifyDelivery.target)
            .join(NotifyEvent, NotifyEvent.id == NotifyDelivery.event_pk)
            .where(NotifyEvent.occurred_at >= since)
        )
    }
    again: list[tuple[int, str]] = []
    new: list[dict[str, Any]] = []
    for event_pk, kind, store_id, lead_id in session.execute(stmt):
        for sub in subscriptions:
            if not sub.wants(kind, store_id):
                continue
            queued[sub.name] += 1
            if (event_pk, sub.name) in existing:
                again.append((event_pk, sub.name))
            else:
                new.append(
                    {
                        "event_pk": event_pk,
                        "target": sub.name,
                        "lead_id": lead_id,
                        "status": PENDING,
                        "attempts": 0,
                        "created_at": now,
                        "next_attempt_at": now,
                    }
                )
    for part in chunks(again):
        session.execute(
            update(NotifyDelivery)
            .where(tuple_(NotifyDelivery.event_pk, NotifyDelivery.target).in_(part))
            .values(
                status=PENDING,
                attempts=0,
                first_attempt_at=None,
                next_attempt_at=now,
                delivered_at=None,
                last_error=None,
                claimed_by=None,
                claimed_until=None,
            )
        )
    bulk.insert_rows(session, NotifyDelivery, new)
    return queued
