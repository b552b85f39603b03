"""The notification outbox: events written in the transaction of the change that raised them, and their
deliveries, one per subscribed target, claimed by one daemon at a time (SKIP LOCKED on PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from replywatch.clock import iso_z
from replywatch.domain.events import NewEvent, Subscription, subscribers
from replywatch.store import bulk
from replywatch.store.models import Associate, Lead, NotifyDelivery, NotifyEvent, Store
from replywatch.store.sql import chunks, one_of

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
