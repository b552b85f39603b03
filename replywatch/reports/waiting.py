"""The digest's "waiting" list: leads of a week that nobody has touched yet (no follow-up, no reply)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from replywatch.reports.directory import UNASSIGNED
from replywatch.reports.metrics import Window, in_window
from replywatch.store.models import Associate, Lead


@dataclass(frozen=True)
class WaitingLead:
    lead_id: str  # the provider's id, as `contacts export` and the CRM show it
    name: str
    source: str
    associate: str
    store_id: int | None
    received_at: datetime


@dataclass(frozen=True)
class Waiting:
    total: int
    first: list[WaitingLead]  # the oldest `limit` of them


def untouched_leads(session: Session, window: Window, now: datetime, limit: int = 10) -> Waiting:
    """Leads of the window with no touch and no contact by `now` (opted-out ones have answered)."""
    never = (
        in_window(window),
        Lead.received_at <= now,
        Lead.first_touch_at.is_(None),
        Lead.contact_at.is_(None),
        Lead.opted_out_at.is_(None),
    )
    total = session.scalar(select(func.count()).select_from(Lead).where(*never)) or 0
    stmt = (
        select(Lead.external_id, Lead.full_name, Lead.first_name, Lead.last_name, Lead.source)
        .add_columns(Associate.name, Lead.store_id, Lead.received_at)
        .outerjoin(Associate, Associate.id == Lead.associate_id)
        .where(*never)
        .order_by(Lead.received_at, Lead.id)
        .limit(limit)
    )
    first = [
        WaitingLead(lead_id, _name(full, given, family), source, associate or UNASSIGNED, store_id, received)
        for lead_id, full, given, family, source, associate, store_id, received in session.execute(stmt)
    ]
    return Waiting(total, first)


def _name(full: str | None, given: str | None, family: str | None) -> str:
    return full or " ".join(p for p in (given, family) if p) or "(no name)"
