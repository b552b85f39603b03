"""Weekly contact counts beyond the digest's headline figures (within 1 h, 24 h, 48 h, first response,
bouncing addresses, replies awaiting review): SQL over a window of received times, on the leads'
(store, received) index. The headline figures and `report` come from reports/cohorts.py."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, case, false, func, literal, or_, select, text
from sqlalchemy.orm import InstrumentedAttribute, Session

from replywatch.store.models import Lead, LeadIdentity, Match, Message

HOUR = 3600
DAY = 24 * HOUR
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Window:
    """Per store id, the week boundaries as UTC instants: n + 1 instants bound n store-local weeks."""

    edges: Mapping[int, Sequence[datetime]]


@dataclass(frozen=True)
class Cell:
    """The finest grain the queries return; every table of the digest is a roll-up of cells."""

    week: int  # index of the week inside the window, 0 first
    store_id: int
    associate_id: int | None
    source: str


@dataclass(frozen=True)
class Counts:
    """Lead counts of a cohort; each rate has its own denominator (the leads old enough to judge)."""

    leads: int = 0
    contacted: int = 0
    eligible_7d: int = 0
    contacted_7d: int = 0
    eligible_1h: int = 0
    within_1h: int = 0
    eligible_24h: int = 0
    within_24h: int = 0
    eligible_48h: int = 0
    uncontacted_48h: int = 0
    opted_out: int = 0
    bouncing: int = 0
    awaiting_review: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, n) + getattr(other, n) for n in _COUNT_FIELDS))


_COUNT_FIELDS = tuple(f.name for f in fields(Counts))


@dataclass(frozen=True)
class Durations:
    """Whole seconds from `received_at`: time-to-contact and first response, wall clock and business."""

    ttc: list[int] = field(default_factory=list)
    ttc_business: list[int] = field(default_factory=list)
    first_response: list[int] = field(default_factory=list)
    first_response_business: list[int] = field(default_factory=list)

    def lists(self) -> list[list[int]]:
        return [getattr(self, f.name) for f in fields(self)]

    def extend(self, other: Durations) -> None:
        for mine, theirs in zip(self.lists(), other.lists(), strict=True):
            mine.extend(theirs)


@dataclass(frozen=True)
class Spread:
    median: float | None
    p90: float | None
    n: int

    @classmethod
    def of(cls, values: Iterable[int]) -> Spread:
        ordered = sorted(values)
        return cls(quantile(ordered, 0.5), quantile(ordered, 0.9), len(ordered))


@dataclass(frozen=True)
class Figures:
    counts: Counts
    ttc: Spread
    ttc_business: Spread
    first_response: Spread
    first_response_business: Spread
    weeks: int = 1  # a baseline pools several weeks

    @classmethod
    def of(cls, counts: Counts, durations: Durations, weeks: int = 1) -> Figures:
        ttc, ttc_business, first_response, first_response_business = (Spread.of(v) for v in durations.lists())
        return cls(counts, ttc, ttc_business, first_response, first_response_business, weeks)


@dataclass(frozen=True)
class WindowData:
    counts: dict[Cell, Counts]
    durations: dict[Cell, Durations]

    def figures(self, key: Callable[[Cell], K | None], weeks: int = 1) -> dict[K, Figures]:
        """Roll cells up by `key` (cells whose key is None are left out)."""
        counts: dict[K, Counts] = {}
        durations: dict[K, Durations] = {}
        for cell, c in self.counts.items():
            k = key(cell)
            if k is not None:
                counts[k] = counts.get(k, Counts()) + c
        for cell, d in self.durations.items():
            k = key(cell)
            if k is not None:
                durations.setdefault(k, Durations()).extend(d)
        return {k: Figures.of(c, durations.get(k, Durations()), weeks) for k, c in counts.items()}


def quantile(ordered: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (as PostgreSQL's percentile_cont); None when empty."""
    if not ordered:
        return None
    pos = (len(ordered) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def read_window(session: Session, window: Window, now: datetime) -> WindowData:
    """Every figure of the window's leads; both queries start from the (store_id, received_at) index."""
    _without_jit(session)
    return WindowData(_counts(session, window, now), _durations(session, window))


def _without_jit(session: Session) -> None:
    # PostgreSQL prices each lead's correlated subquery into the plan and then spends longer compiling
    # it (JIT, ~50 ms a query) than running it; for the rest of this transaction only.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def first_received(session: Session, store_ids: Iterable[int]) -> datetime | None:
    """The earliest lead of these stores; one index look-up per store."""
    firsts = [
        session.scalar(select(func.min(Lead.received_at)).where(Lead.store_id == store_id))
        for store_id in store_ids
    ]
    return min((f for f in firsts if f is not None), default=None)


def in_window(window: Window) -> ColumnElement[bool]:
    ranges = [
        and_(Lead.store_id == store_id, Lead.received_at >= edges[0], Lead.received_at < edges[-1])
        for store_id, edges in window.edges.items()
    ]
    return or_(*ranges) if ranges else false()


def week_index(window: Window) -> ColumnElement[Any]:
    per_store = []
    for store_id, edges in window.edges.items():
        weeks = case(*((Lead.received_at < end, i) for i, end in enumerate(edges[1:])), else_=-1)
        per_store.append((Lead.store_id == store_id, weeks))
    if not per_store:  # no store known to the database yet: CASE needs at least one WHEN
        return literal(-1)
    return case(*per_store, else_=-1)


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _counts(session: Session, window: Window, now: datetime) -> dict[Cell, Counts]:
    ttc = Lead.time_to_contact_s
    old = {span: Lead.received_at <= now - timedelta(seconds=span) for span in (HOUR, DAY, 2 * DAY, 7 * DAY)}
    flags = {
        "contacted": Lead.contact_at.is_not(None),
        "eligible_7d": old[7 * DAY],
        "contacted_7d": and_(old[7 * DAY], ttc <= 7 * DAY),
        "eligible_1h": old[HOUR],
        "within_1h": and_(old[HOUR], ttc <= HOUR),
        "eligible_24h": old[DAY],
        "within_24h": and_(old[DAY], ttc <= DAY),
        "eligible_48h": old[2 * DAY],
        "uncontacted_48h": and_(old[2 * DAY], or_(ttc.is_(None), ttc > 2 * DAY)),
        "opted_out": Lead.opted_out_at.is_not(None),
        "bouncing": or_(_bounced_addresses() > 0, _matched_count(Match.status == "matched", bounce=True) > 0),
        "awaiting_review": _matched_count(Match.status == "review") > 0,
    }
    keys = _keys(window)
    # A subquery, so that GROUP BY names the week column instead of repeating its CASE with new parameters.
    rows = select(*keys, *(_flag(c).label(n) for n, c in flags.items())).where(in_window(window)).subquery()
    stmt = select(
        rows.c.week,
        rows.c.store_id,
        rows.c.associate_id,
        rows.c.source,
        func.count().label("leads"),
        *(func.sum(rows.c[name]).label(name) for name in flags),
    ).group_by(rows.c.week, rows.c.store_id, rows.c.associate_id, rows.c.source)
    found: dict[Cell, Counts] = {}
    for week, store_id, associate_id, source, *values in session.execute(stmt):
        found[Cell(week, store_id, associate_id, source)] = Counts(*(int(v or 0) for v in values))
    return found


def _matched_count(*conditions: ColumnElement[bool], bounce: bool = False) -> ColumnElement[int]:
    """How many matches of the row's lead meet the conditions: a correlated scalar subquery, which both
    backends run per lead on ix_matches_lead_status (PostgreSQL turns EXISTS into a hash of every match)."""
    stmt = select(func.count()).select_from(Match).where(Match.lead_id == Lead.id, *conditions)
    if bounce:
        stmt = stmt.join(Message, Message.id == Match.message_id).where(Message.kind == "bounce")
    return stmt.scalar_subquery()


def _bounced_addresses() -> ColumnElement[int]:
    """How many of the row's lead's addresses a bounce reported as failing (on the lead_id index)."""
    stmt = select(func.count()).select_from(LeadIdentity)
    return stmt.where(LeadIdentity.lead_id == Lead.id, LeadIdentity.bounced_at.is_not(None)).scalar_subquery()


def _keys(window: Window) -> tuple[ColumnElement[Any] | InstrumentedAttribute[Any], ...]:
    return (week_index(window).label("week"), Lead.store_id, Lead.associate_id, Lead.source)


def _durations(session: Session, window: Window) -> dict[Cell, Durations]:
    """Only leads with a touch or a contact: the values the percentiles are taken over."""
    stmt = select(
        *_keys(window),
        Lead.time_to_contact_s,
        Lead.time_to_contact_business_s,
        Lead.first_response_s,
        Lead.first_response_business_s,
    ).where(in_window(window), or_(Lead.first_touch_at.is_not(None), Lead.contact_at.is_not(None)))
    found: dict[Cell, Durations] = {}
    for week, store_id, associate_id, source, *values in session.execute(stmt):
        target = found.setdefault(Cell(week, store_id, associate_id, source), Durations())
        for bucket, value in zip(target.lists(), values, strict=True):
            if value is not None:
                bucket.append(value)
    return found
