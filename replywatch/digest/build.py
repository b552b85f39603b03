"""What one digest says: the week beside last week and the baseline, the 12-week trend, breakdowns, funnel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from replywatch.digest.baseline import BaselineRange, baseline_range
from replywatch.digest.scope import WEEK, Scope
from replywatch.reports.directory import UNASSIGNED, associate_names
from replywatch.reports.funnel import EVENTS, funnel_counts
from replywatch.reports.metrics import (
    Cell,
    Counts,
    Durations,
    Figures,
    TrendWeek,
    WindowData,
    read_trend,
    read_window,
)
from replywatch.store import Session

TREND_WEEKS = 12


@dataclass(frozen=True)
class Row:
    label: str
    figures: Figures


@dataclass(frozen=True)
class TrendPoint:
    week: date
    figures: TrendWeek


@dataclass(frozen=True)
class FunnelRow:
    source: str
    leads: int
    contacted: int
    reached: dict[str, int]  # event → leads of the week that reached it


@dataclass(frozen=True)
class Digest:
    scope: Scope
    week: date  # its Monday
    now: datetime
    this: Figures
    last: Figures
    baseline: Figures | None
    baseline_range: BaselineRange | None
    trend: list[TrendPoint]
    by_store: list[Row]
    by_associate: list[Row]
    by_source: list[Row]
    funnel: list[FunnelRow]


def no_figures(weeks: int = 1) -> Figures:
    return Figures.of(Counts(), Durations(), weeks)


def build_digest(session: Session, scope: Scope, week: date, now: datetime, baseline_weeks: int) -> Digest:
    """Reads this week and last in full, the baseline's weeks, and the trend's 12 weeks lightly."""
    data = read_window(session, scope.window(week - WEEK, 2), now)
    current = 1
    weekly = data.figures(lambda c: c.week)
    rng = baseline_range(session, scope, now, baseline_weeks)
    stores = {s.id: s.name for s in scope.stores}
    names = associate_names(session)
    by_source = _rows(data, current, lambda c: c.source)
    return Digest(
        scope=scope,
        week=week,
        now=now,
        this=weekly.get(current, no_figures()),
        last=weekly.get(current - 1, no_figures()),
        baseline=baseline_figures(session, scope, rng, now),
        baseline_range=rng,
        trend=_trend(session, scope, week, now),
        by_store=_rows(data, current, lambda c: stores[c.store_id]) if scope.is_group else [],
        by_associate=_rows(data, current, lambda c: names.get(c.associate_id or 0, UNASSIGNED)),
        by_source=by_source,
        funnel=_funnel(session, scope, week, by_source),
    )


def _rows(data: WindowData, week: int, label: Callable[[Cell], str]) -> list[Row]:
    figures = data.figures(lambda c: label(c) if c.week == week else None)
    rows = [Row(name, f) for name, f in figures.items()]
    return sorted(rows, key=lambda r: (-r.figures.counts.leads, r.label.casefold()))


def _trend(session: Session, scope: Scope, week: date, now: datetime) -> list[TrendPoint]:
    first = week - (TREND_WEEKS - 1) * WEEK
    weekly = read_trend(session, scope.window(first, TREND_WEEKS), now)
    return [TrendPoint(first + i * WEEK, weekly.get(i, TrendWeek())) for i in range(TREND_WEEKS)]


def baseline_figures(
    session: Session, scope: Scope, rng: BaselineRange | None, now: datetime
) -> Figures | None:
    if rng is None:
        return None
    data = read_window(session, scope.pooled(rng.first_week, rng.last_week), now)
    return data.figures(lambda c: 0, weeks=rng.weeks).get(0, no_figures(rng.weeks))


def _funnel(session: Session, scope: Scope, week: date, by_source: list[Row]) -> list[FunnelRow]:
    """Leads → Contact → Appointment → Show → Sold per source, when the CRM's events were imported."""
    counts = funnel_counts(session, scope.window(week, 1))
    if not counts:
        return []
    reached: dict[str, dict[str, int]] = {}
    for (_, source), events in counts.items():
        mine = reached.setdefault(source, dict.fromkeys(EVENTS, 0))
        for event, n in events.items():
            mine[event] += n
    return [
        FunnelRow(r.label, r.figures.counts.leads, r.figures.counts.contacted, reached.get(r.label, {}))
        for r in by_source
    ]
