"""The contact summary of every lead so far, per store and associate, in the digest's figures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from replywatch.reports.directory import NO_STORE, UNASSIGNED
from replywatch.reports.metrics import Counts, Durations, Figures
from replywatch.store.models import Associate, Lead, Store


@dataclass(frozen=True)
class SummaryRow:
    store: str
    associate: str
    figures: Figures  # of every lead so far: only leads, contacted and time-to-contact are filled


def contact_summary(session: Session) -> list[SummaryRow]:
    """Per store and associate (by name, sorted): leads, contacted, time-to-contact."""
    counts: dict[tuple[str, str], Counts] = {}
    stmt = _leads_by_name(func.count(), func.count(Lead.contact_at)).group_by(Store.name, Associate.name)
    for store, associate, leads, contacted in session.execute(stmt):
        key = _key(store, associate)
        counts[key] = counts.get(key, Counts()) + Counts(leads=leads, contacted=contacted)
    times: dict[tuple[str, str], Durations] = {}
    stmt = _leads_by_name(Lead.time_to_contact_s).where(Lead.time_to_contact_s.is_not(None))
    for store, associate, seconds in session.execute(stmt):
        times.setdefault(_key(store, associate), Durations()).ttc.append(seconds)
    return [
        SummaryRow(store, associate, Figures.of(c, times.get((store, associate), Durations())))
        for (store, associate), c in sorted(counts.items())
    ]


def _leads_by_name(*columns: Any) -> Select[Any]:
    """`columns` of the leads beside their store's and associate's names (None when they have none)."""
    return (
        select(Store.name, Associate.name, *columns)
        .select_from(Lead)
        .outerjoin(Store, Store.id == Lead.store_id)
        .outerjoin(Associate, Associate.id == Lead.associate_id)
    )


def _key(store: str | None, associate: str | None) -> tuple[str, str]:
    return store or NO_STORE, associate or UNASSIGNED
