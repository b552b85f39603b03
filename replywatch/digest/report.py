"""`replywatch report`: the digest's figures (reports/cohorts.py, the same code) for any range of days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from replywatch.digest.scope import WEEK, Scope, monday
from replywatch.errors import ReplywatchError
from replywatch.reports.cohorts import GROUPINGS, CohortFigures, Names, grouped, read_leads, read_weeks
from replywatch.reports.directory import associate_names
from replywatch.reports.metrics import Window
from replywatch.store import Session


def report(
    session: Session, scope: Scope, by: str, start: date, end: date, as_of: datetime
) -> list[CohortFigures]:
    """Leads received in [start, end) (store-local days) grouped `by`, as the figures stood at `as_of`."""
    if by not in GROUPINGS:
        raise ReplywatchError(f"--by must be one of {', '.join(GROUPINGS)}, not {by!r}")
    if end <= start:
        raise ReplywatchError(f"--to ({end.isoformat()}) must come after --from ({start.isoformat()})")
    weeks = _bucket_starts(start, end) if by == "week" else [start]
    window = Window({s.id: _edges(s.zone, weeks, end) for s in scope.stores if s.id is not None})
    if by == "week":
        return read_weeks(session, window, as_of, [monday(w) for w in weeks])
    names = Names({s.id: s.name for s in scope.stores if s.id is not None}, associate_names(session))
    return grouped(read_leads(session, window, as_of), by, names)


def default_range(scope: Scope, as_of: datetime, weeks: int = 12) -> tuple[date, date]:
    """The 12 weeks up to `as_of`: from the Monday 11 weeks before its week to the day after it."""
    today = as_of.astimezone(scope.zone).date()
    return monday(today) - (weeks - 1) * WEEK, today + timedelta(days=1)


def _bucket_starts(start: date, end: date) -> list[date]:
    """`start`, then every Monday before `end`: a range not starting on a Monday has a short first week."""
    starts = [start]
    week = monday(start) + WEEK
    while week < end:
        starts.append(week)
        week += WEEK
    return starts


def _edges(zone: ZoneInfo, starts: list[date], end: date) -> list[datetime]:
    return [datetime.combine(d, time(0), zone).astimezone(UTC) for d in [*starts, end]]
