"""Leads by name blocking key: the keys are read from the index alone, then each lead once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from replywatch.match.types import LeadRef
from replywatch.store.models import Lead, LeadNameKey
from replywatch.store.repo import chunks

_LEAD_COLUMNS = (
    Lead.id,
    Lead.received_at,
    Lead.store_id,
    Lead.associate_id,
    Lead.first_name,
    Lead.last_name,
    Lead.full_name,
    Lead.vehicle,
    Lead.first_touch_at,
)


def leads_by_name_keys(
    session: Session, keys: Iterable[str], start: datetime, end: datetime
) -> dict[str, list[LeadRef]]:
    """Name blocking key → the leads received between start and end that carry it. A lead is found
    under several keys of one name (its surname's spellings), so keys and leads are read apart: the
    keys by the covering index (key, received_at, lead_id), each lead once by its id."""
    by_key: dict[str, list[int]] = {}
    for part in chunks(sorted(keys)):
        stmt = select(LeadNameKey.key, LeadNameKey.lead_id).where(
            LeadNameKey.key.in_(part), LeadNameKey.received_at.between(start, end)
        )
        for key, lead_id in session.execute(stmt):
            by_key.setdefault(key, []).append(lead_id)
    leads = leads_by_ids(session, {i for ids in by_key.values() for i in ids})
    return {key: [leads[i] for i in ids] for key, ids in by_key.items()}


def leads_by_ids(session: Session, ids: Iterable[int]) -> dict[int, LeadRef]:
    found: dict[int, LeadRef] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        stmt = select(*_LEAD_COLUMNS).where(Lead.id.in_(ordered[start : start + 500]))
        for row in session.execute(stmt):
            found[row[0]] = LeadRef(*row)
    return found
