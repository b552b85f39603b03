"""`funnel import` into funnel_events: the CRM's events of known leads, each added once."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from replywatch.clock import as_utc
from replywatch.errors import ReplywatchError
from replywatch.store.models import FunnelEvent, Lead, Store

_CHUNK = 500
T = TypeVar("T")


@dataclass(frozen=True)
class FunnelRecord:
    line: int
    lead_id: str
    event: str
    at: datetime  # naive means the lead's store-local time
    source: str | None = None  # only needed when two providers used the same lead id


@dataclass(frozen=True)
class FunnelImport:
    added: int
    known: int  # already imported
    unknown_leads: list[str]  # lead ids replywatch has not seen (walk-ins, phone-ups): skipped


def import_funnel(session: Session, records: Sequence[FunnelRecord]) -> FunnelImport:
    """Adds the events of known leads once each; importing the same file again adds nothing."""
    leads = _leads_by_external_id(session, sorted({r.lead_id for r in records}))
    zones = {sid: ZoneInfo(tz) for sid, tz in session.execute(select(Store.id, Store.timezone))}
    wanted: dict[tuple[int, str, datetime], FunnelRecord] = {}
    unknown: list[str] = []
    for record in records:
        lead = _pick(record, leads.get(record.lead_id, []))
        if lead is None:
            unknown.append(record.lead_id)
            continue
        zone = zones.get(lead[2]) if lead[2] is not None else None
        at = record.at.replace(tzinfo=zone) if record.at.tzinfo is None and zone else record.at
        wanted.setdefault((lead[0], record.event, as_utc(at)), record)
    have = _existing(session, sorted({key[0] for key in wanted}))
    new = [key for key in wanted if key not in have]
    session.add_all(FunnelEvent(lead_id=lead_id, event=event, at=at) for lead_id, event, at in new)
    return FunnelImport(len(new), len(wanted) - len(new), sorted(set(unknown)))


def _leads_by_external_id(session: Session, ids: list[str]) -> dict[str, list[tuple[int, str, int | None]]]:
    found: dict[str, list[tuple[int, str, int | None]]] = {}
    for part in _chunks(ids):
        stmt = select(Lead.external_id, Lead.id, Lead.source, Lead.store_id).where(Lead.external_id.in_(part))
        for external_id, lead_id, source, store_id in session.execute(stmt):
            found.setdefault(external_id, []).append((lead_id, source, store_id))
    return found


def _pick(
    record: FunnelRecord, leads: list[tuple[int, str, int | None]]
) -> tuple[int, str, int | None] | None:
    if record.source:
        leads = [lead for lead in leads if lead[1].casefold() == record.source.casefold()]
    if len(leads) > 1:
        sources = ", ".join(sorted(lead[1] for lead in leads))
        raise ReplywatchError(
            f"line {record.line}: lead id {record.lead_id!r} belongs to leads from {sources}; "
            "add a source column to tell them apart"
        )
    return leads[0] if leads else None


def _existing(session: Session, lead_ids: list[int]) -> set[tuple[int, str, datetime]]:
    have: set[tuple[int, str, datetime]] = set()
    for part in _chunks(lead_ids):
        stmt = select(FunnelEvent.lead_id, FunnelEvent.event, FunnelEvent.at).where(
            FunnelEvent.lead_id.in_(part)
        )
        have.update((lead_id, event, at) for lead_id, event, at in session.execute(stmt))
    return have


def _chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]
