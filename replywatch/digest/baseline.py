"""The baseline a digest compares with: the first matured weeks with data, or a range a manager pinned.

A week joins the baseline once it is matured (every lead 7 days old), so that its 7-day contact rate is
final; until `baseline_weeks` of them exist the baseline is *forming* and nothing is compared with it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from replywatch.digest.scope import WEEK, Scope, monday
from replywatch.errors import ReplywatchError
from replywatch.reports.metrics import first_received
from replywatch.store import Session
from replywatch.store.baselines import Pin, find_pin, save_pin

EVERY_SCOPE = "*"


@dataclass(frozen=True)
class BaselineRange:
    first_week: date  # Mondays, both weeks included
    last_week: date
    pinned: bool
    needed: int = 0  # weeks an automatic baseline wants (`[digest] baseline_weeks`)

    @property
    def weeks(self) -> int:
        return (self.last_week - self.first_week) // WEEK + 1

    @property
    def formed(self) -> bool:
        return self.pinned or self.weeks >= self.needed


def baseline_range(session: Session, scope: Scope, now: datetime, weeks: int) -> BaselineRange | None:
    """The scope's pin, else the pin for every scope, else its first `weeks` matured weeks with data
    (fewer while it forms); None before its first week with data has matured."""
    pin = find_pin(session, scope.name, EVERY_SCOPE)
    if pin is not None:
        return BaselineRange(pin.first_week, pin.last_week, pinned=True)
    first = first_received(session, scope.store_ids)
    if first is None:
        return None
    first_week = monday(first.astimezone(scope.zone).date())
    last_matured = scope.latest_matured_week(now)
    if first_week > last_matured:
        return None
    last = min(first_week + (weeks - 1) * WEEK, last_matured)
    return BaselineRange(first_week, last, pinned=False, needed=weeks)


def pin_baseline(
    session: Session, scopes: list[Scope], target: str, first: date, last: date, now: datetime
) -> BaselineRange:
    """Pin weeks first … last (any day of a week names that week) for one scope or every scope."""
    pinned = BaselineRange(monday(first), monday(last), pinned=True)
    if pinned.last_week < pinned.first_week:
        raise ReplywatchError("--to comes before --from")
    unfinished = [s.name for s in scopes if not s.is_matured(pinned.last_week, now)]
    if unfinished:
        raise ReplywatchError(
            f"the week of {pinned.last_week.isoformat()} has not ended 7 days ago yet; a baseline needs "
            "matured weeks (every lead 7 days old)"
        )
    save_pin(session, target, Pin(pinned.first_week, pinned.last_week), now)
    return pinned
