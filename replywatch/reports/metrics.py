"""What the read-side queries share: windows of store-local weeks as UTC ranges on the leads'
(store_id, received_at) index, percentiles, and the figures of the contact summary. The digest's and
`report`'s figures come from reports/cohorts.py."""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, case, false, func, literal, or_, select, text
from sqlalchemy.orm import Session

from replywatch.store.models import Lead

HOUR = 3600
DAY = 24 * HOUR
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Window:
    """Per store id, the week boundaries as UTC instants: n + 1 instants bound n store-local weeks."""

    edges: Mapping[int, Sequence[datetime]]


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


def quantile(ordered: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (as PostgreSQL's percentile_cont); None when empty."""
    if not ordered:
        return None
    pos = (len(ordered) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def without_jit(session: Session) -> None:
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
