"""What one digest says: the latest matured week against the baseline and the week before, the trend of
matured weeks, who and what moved, the week just ended so far (at equal age), and what waits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from replywatch.digest.baseline import BaselineRange, baseline_range
from replywatch.digest.scope import WEEK, Scope, monday, week_edges
from replywatch.reports.cohorts import (
    CohortFigures,
    LeadRow,
    Names,
    grouped,
    pooled,
    read_leads,
    read_weeks,
)
from replywatch.reports.directory import associate_names
from replywatch.reports.funnel import EVENTS, funnel_counts
from replywatch.reports.metrics import first_received
from replywatch.reports.unplaced_replies import Unplaced, digest_unmatched_replies
from replywatch.reports.waiting import Attention, Waiting, needs_attention, untouched_leads
from replywatch.store import Session

TREND_WEEKS = 12


@dataclass(frozen=True)
class Ranked:
    """A group's 7-day contact in the headline week, and in the matured week before it."""

    figures: CohortFigures
    before: CohortFigures | None


@dataclass(frozen=True)
class TrendPoint:
    week: date
    figures: CohortFigures


@dataclass(frozen=True)
class Baseline:
    range: BaselineRange
    figures: CohortFigures | None  # None while the baseline forms
    weekly_rates: list[float]  # each baseline week's own 7-day rate: the band the chart draws


@dataclass(frozen=True)
class FunnelRow:
    source: str
    leads: int
    contacted: int
    reached: dict[str, int]  # event → leads of the week that reached it


@dataclass(frozen=True)
class Digest:
    scope: Scope
    week: date  # the week just ended (its Monday): the digest's own week
    now: datetime
    headline_week: date | None  # the latest matured week; None before any week has matured
    headline: CohortFigures | None
    before: CohortFigures | None  # the matured week before the headline week
    baseline: Baseline | None  # None: no week has matured yet (forming, 0 weeks)
    baseline_weeks: int
    so_far: CohortFigures  # the week just ended, as it stands now
    so_far_before: CohortFigures  # the week before it, at the same age (7 days ago)
    trend: list[TrendPoint]  # matured weeks only, oldest first
    by_store: list[Ranked]
    by_associate: list[Ranked]
    by_source: list[Ranked]
    by_channel: list[CohortFigures]
    waiting: Waiting  # leads of the week just ended that nobody touched
    unplaced: Unplaced  # replies of the week just ended that no lead claims
    attention: Attention  # the week just ended: replies awaiting review, bouncing addresses
    funnel: list[FunnelRow]


def build_digest(session: Session, scope: Scope, week: date, now: datetime, baseline_weeks: int) -> Digest:
    """The trend's weeks summed in SQL; the headline week and the one before lead by lead, for the tables."""
    first = first_received(session, scope.store_ids)
    first_week = monday(first.astimezone(scope.zone).date()) if first else None
    headline_week = min(week, scope.latest_matured_week(now))
    trend = _trend(session, scope, first_week, headline_week, now)
    rng = baseline_range(session, scope, now, baseline_weeks)
    read = _Read(session, scope, headline_week, now) if trend else None
    return Digest(
        scope=scope,
        week=week,
        now=now,
        headline_week=headline_week if trend else None,
        headline=trend[-1].figures if trend else None,
        before=trend[-2].figures if len(trend) > 1 else None,
        baseline=_baseline(session, scope, rng, now) if rng else None,
        baseline_weeks=baseline_weeks,
        so_far=_one_week(session, scope, week, now),
        so_far_before=_one_week(session, scope, week - WEEK, now - WEEK),
        trend=trend,
        by_store=read.ranked("store") if read and scope.is_group else [],
        by_associate=read.ranked("associate") if read else [],
        by_source=read.ranked("source") if read else [],
        by_channel=grouped(read.rows(headline_week), "channel", read.names) if read else [],
        waiting=untouched_leads(session, scope.window(week, 1), now),
        unplaced=digest_unmatched_replies(session, _reply_ranges(scope, week)),
        attention=needs_attention(session, scope.window(week, 1)),
        funnel=_funnel(session, scope, week, now),
    )


def _trend(
    session: Session, scope: Scope, first_week: date | None, last: date, now: datetime
) -> list[TrendPoint]:
    """The matured weeks up to `last`, at most 12, from the first week with leads."""
    if first_week is None or last < first_week:
        return []
    start = max(first_week, last - (TREND_WEEKS - 1) * WEEK)
    weeks = [start + i * WEEK for i in range((last - start) // WEEK + 1)]
    found = read_weeks(session, scope.window(start, len(weeks)), now, weeks)
    return [TrendPoint(w, f) for w, f in zip(weeks, found, strict=True)]


def _one_week(session: Session, scope: Scope, week: date, at: datetime) -> CohortFigures:
    """A week's figures as they stood at `at` (an earlier moment gives the same age as a younger week)."""
    return read_weeks(session, scope.window(week, 1), at, [week])[0]


class _Read:
    """The leads of the headline week and the week before, lead by lead: the tables group them."""

    def __init__(self, session: Session, scope: Scope, week: date, now: datetime) -> None:
        self.week = week
        self.names = Names({s.id: s.name for s in scope.stores if s.id is not None}, associate_names(session))
        self._rows = read_leads(session, scope.window(week - WEEK, 2), now)

    def rows(self, week: date) -> list[LeadRow]:
        i = 1 - (self.week - week) // WEEK
        return [r for r in self._rows if r.bucket == i]

    def ranked(self, by: str) -> list[Ranked]:
        """Highest 7-day contact rate first; the change against the same group's week before."""
        before = {f.group: f for f in grouped(self.rows(self.week - WEEK), by, self.names)}
        now = grouped(self.rows(self.week), by, self.names)
        ranked = [Ranked(f, before.get(f.group)) for f in now]
        return sorted(ranked, key=lambda r: (-(r.figures.contact_rate_7d or 0), -r.figures.leads))


def _baseline(session: Session, scope: Scope, rng: BaselineRange, now: datetime) -> Baseline:
    if not rng.formed:
        return Baseline(rng, None, [])
    weeks = [rng.first_week + i * WEEK for i in range(rng.weeks)]
    weekly = read_weeks(session, scope.window(rng.first_week, rng.weeks), now, weeks)
    rates = [w.contact_rate_7d for w in weekly]
    return Baseline(rng, pooled(weekly, "baseline"), [r for r in rates if r is not None])


def baseline_figures(
    session: Session, scope: Scope, rng: BaselineRange | None, now: datetime
) -> Baseline | None:
    """The scope's baseline as `digest baseline show` prints it."""
    return _baseline(session, scope, rng, now) if rng else None


def _reply_ranges(scope: Scope, week: date) -> list[tuple[int | None, datetime, datetime]]:
    edges = scope.window(week, 1).edges
    ranges: list[tuple[int | None, datetime, datetime]] = [(sid, e[0], e[1]) for sid, e in edges.items()]
    if scope.widest:  # replies no store claims belong to every store's digest, so to the widest one
        start, end = week_edges(scope.zone, week, 1)
        ranges.append((None, start, end))
    return ranges


def _funnel(session: Session, scope: Scope, week: date, now: datetime) -> list[FunnelRow]:
    """Leads → Contact → Appointment → Show → Sold per source of the week just ended, when the CRM's
    events were imported."""
    counts = funnel_counts(session, scope.window(week, 1))
    if not counts:
        return []
    reached: dict[str, dict[str, int]] = {}
    for (_, source), events in counts.items():
        mine = reached.setdefault(source, dict.fromkeys(EVENTS, 0))
        for event, n in events.items():
            mine[event] += n
    rows = read_leads(session, scope.window(week, 1), now)
    by_source = sorted(grouped(rows, "source", Names()), key=lambda f: -f.leads)
    return [FunnelRow(f.group, f.leads, f.contacted, reached.get(f.group, {})) for f in by_source]
