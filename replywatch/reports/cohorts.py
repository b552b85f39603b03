"""Contact figures of lead cohorts as they stood at a moment: the one implementation behind the digest and
`replywatch report`.

A cohort's leads are judged in SQL as they stood at a moment `as_of`: a lead received after it does not
exist yet, a contact or an opt-out after it has not happened, and a cohort is *matured* for the 7-day rate
when every one of its leads was at least 7 days old. Weeks are summed in SQL (`read_weeks`); the roll-ups
by store, associate, source and channel are made from the leads' rows (`read_leads`, `grouped`). Both
read on the leads' (store_id, received_at) index, so the cost follows the range, not the history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from replywatch.domain.vocabulary import Channel
from replywatch.reports.directory import NO_STORE, UNASSIGNED
from replywatch.reports.metrics import Window, in_window, quantile, week_index
from replywatch.store.models import Lead

GROUPINGS = ("week", "store", "associate", "source", "channel")
SEVEN_DAYS = timedelta(days=7)
CHANNEL_ORDER = (Channel.EMAIL.value, Channel.SMS.value, Channel.CALL.value)


class LeadRow(NamedTuple):
    """One lead as it stood at the moment it was read at: its bucket (week, or range) inside the window,
    what it is grouped by, and flags judged in SQL. A named tuple of plain values: a digest reads tens of
    thousands of them, and neither a datetime nor a dataclass per lead is needed."""

    bucket: int
    store_id: int | None
    associate_id: int | None
    source: str
    channel: str | None
    contacted: int  # 1 when the contact happened by the moment
    within_7d: int  # contacted, within 7 days of arriving
    matured: int  # 7 days old at the moment
    opted_out: int
    ttc: int | None
    ttc_business: int | None


@dataclass(frozen=True)
class Names:
    """How groups are labelled: stores and associates by id."""

    stores: Mapping[int, str] = field(default_factory=dict)
    associates: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CohortFigures:
    """One group's figures at `as_of`; the JSON of `replywatch report` is `as_json()`."""

    group: str
    leads: int
    contacted: int
    contacted_7d: int
    matured_7d: bool
    opted_out: int
    ttc: tuple[int, ...] = ()  # sorted seconds to contact of the contacted leads
    ttc_business: tuple[int, ...] = ()

    @property
    def contact_rate(self) -> float | None:
        return self.contacted / self.leads if self.leads else None

    @property
    def contact_rate_7d(self) -> float | None:
        return self.contacted_7d / self.leads if self.leads and self.matured_7d else None

    @property
    def median_ttc(self) -> float | None:
        return quantile(self.ttc, 0.5)

    @property
    def p90_ttc(self) -> float | None:
        return quantile(self.ttc, 0.9)

    @property
    def median_ttc_business(self) -> float | None:
        return quantile(self.ttc_business, 0.5)

    def as_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "leads": self.leads,
            "contacted": self.contacted,
            "contact_rate": self.contact_rate,
            "contacted_7d": self.contacted_7d,
            "contact_rate_7d": self.contact_rate_7d,
            "matured_7d": self.matured_7d,
            "median_time_to_contact_s": _seconds(self.median_ttc),
            "p90_time_to_contact_s": _seconds(self.p90_ttc),
            "median_time_to_contact_business_s": _seconds(self.median_ttc_business),
            "opted_out": self.opted_out,
        }


def _seconds(value: float | None) -> int | None:
    return None if value is None else round(value)


def read_leads(session: Session, window: Window, as_of: datetime) -> list[LeadRow]:
    """The window's leads received by `as_of`, judged at it, for the roll-ups by store, associate, source
    and channel; one range scan per store on the leads' (store_id, received_at) index."""
    stmt = select(
        week_index(window),
        Lead.store_id,
        Lead.associate_id,
        Lead.source,
        Lead.contact_channel,
        *_judged(as_of),
        Lead.time_to_contact_s,
        Lead.time_to_contact_business_s,
    ).where(in_window(window), Lead.received_at <= as_of)
    # Core rows through the session's connection: the ORM's result machinery adds nothing to plain columns.
    return [LeadRow._make(row) for row in session.connection().execute(stmt).all()]


def read_weeks(
    session: Session, window: Window, as_of: datetime, weeks: Sequence[date]
) -> list[CohortFigures]:
    """The figures of each bucket of the window (every one, empty ones too), labelled by `weeks`: counts
    summed in SQL, then the durations of the contacted leads only. A trend of many weeks costs little."""
    received = (in_window(window), Lead.received_at <= as_of)
    bucket = week_index(window).label("bucket")
    c = select(bucket, *_judged(as_of)).where(*received).subquery().c
    sums = select(c.bucket, func.count(), *(func.sum(c[n]) for n in ("contacted", "within_7d")))
    sums = sums.add_columns(func.min(c.matured), func.sum(c.opted_out)).group_by(c.bucket)
    counts = {b: rest for b, *rest in session.execute(sums)}
    times: dict[int, tuple[list[int], list[int]]] = {}
    stmt = select(week_index(window), Lead.time_to_contact_s, Lead.time_to_contact_business_s)
    for i, ttc, business in session.connection().execute(stmt.where(*received, Lead.contact_at <= as_of)):
        mine = times.setdefault(i, ([], []))
        mine[0].extend([ttc] if ttc is not None else [])
        mine[1].extend([business] if business is not None else [])
    return [_week(w.isoformat(), counts.get(i), times.get(i, ([], []))) for i, w in enumerate(weeks)]


def _week(group: str, counts: list[Any] | None, times: tuple[list[int], list[int]]) -> CohortFigures:
    leads, contacted, within_7d, matured, opted_out = (int(v or 0) for v in counts or [0] * 5)
    durations = tuple(sorted(times[0])), tuple(sorted(times[1]))
    matured_7d = bool(matured) and leads > 0
    return CohortFigures(group, leads, contacted, within_7d, matured_7d, opted_out, *durations)


def pooled(weeks: Sequence[CohortFigures], group: str) -> CohortFigures:
    """Several weeks as one cohort (a baseline): counts added, durations pooled."""
    return CohortFigures(
        group,
        sum(w.leads for w in weeks),
        sum(w.contacted for w in weeks),
        sum(w.contacted_7d for w in weeks),
        all(w.matured_7d for w in weeks if w.leads) and any(w.leads for w in weeks),
        sum(w.opted_out for w in weeks),
        tuple(sorted(t for w in weeks for t in w.ttc)),
        tuple(sorted(t for w in weeks for t in w.ttc_business)),
    )


def _judged(as_of: datetime) -> tuple[ColumnElement[int], ...]:
    """A lead at `as_of`: contacted, contacted within 7 days, 7 days old, opted out (1 or 0 each)."""
    contacted = Lead.contact_at <= as_of
    return (
        _flag(contacted).label("contacted"),
        _flag(and_(contacted, Lead.time_to_contact_s <= SEVEN_DAYS.total_seconds())).label("within_7d"),
        _flag(Lead.received_at <= as_of - SEVEN_DAYS).label("matured"),
        _flag(Lead.opted_out_at <= as_of).label("opted_out"),
    )


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def figures(
    rows: Iterable[LeadRow], group: str = "", reached: Callable[[LeadRow], bool] | None = None
) -> CohortFigures:
    """The figures of these leads; `reached` narrows what counts as contact (one channel)."""
    leads = contacted = within_7d = opted_out = 0
    matured = True
    ttc: list[int] = []
    ttc_business: list[int] = []
    for row in rows:
        leads += 1
        matured &= bool(row.matured)
        opted_out += row.opted_out
        if not row.contacted or (reached is not None and not reached(row)):
            continue
        contacted += 1
        within_7d += row.within_7d
        ttc += [row.ttc] if row.ttc is not None else []
        ttc_business += [row.ttc_business] if row.ttc_business is not None else []
    durations = tuple(sorted(ttc)), tuple(sorted(ttc_business))
    # A group without leads has nothing matured: an empty week may still be filling.
    return CohortFigures(group, leads, contacted, within_7d, matured and leads > 0, opted_out, *durations)


def grouped(rows: Sequence[LeadRow], by: str, names: Names) -> list[CohortFigures]:
    """The figures per store, associate, source or contact channel (per week: `read_weeks`).

    By channel, each row keeps every lead as its denominator and counts the contacts made on that channel:
    the channels' rates add up to the contact rate, and each has its own time to contact."""
    if by == "channel":
        seen = {r.channel for r in rows if r.channel is not None}
        order = [c for c in CHANNEL_ORDER if c in seen] + sorted(seen - set(CHANNEL_ORDER))
        return [figures(rows, c, lambda r, c=c: r.channel == c) for c in order]  # type: ignore[misc]
    label = _labeller(by, names)
    groups: dict[str, list[LeadRow]] = {}
    for row in rows:
        groups.setdefault(label(row), []).append(row)
    found = [figures(members, name) for name, members in groups.items()]
    return sorted((f for f in found if f.leads), key=lambda f: f.group.casefold())


def _labeller(by: str, names: Names) -> Callable[[LeadRow], str]:
    if by == "store":
        return lambda r: names.stores.get(r.store_id, NO_STORE) if r.store_id is not None else NO_STORE
    if by == "associate":
        return lambda r: names.associates.get(r.associate_id, UNASSIGNED) if r.associate_id else UNASSIGNED
    if by == "source":
        return lambda r: r.source
    raise ValueError(f"no grouping {by!r} (one of {', '.join(GROUPINGS)})")
