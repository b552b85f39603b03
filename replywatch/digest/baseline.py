"""The baseline a digest compares with: the first complete weeks with data, or a range a manager pinned."""

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

    @property
    def weeks(self) -> int:
        return (self.last_week - self.first_week) // WEEK + 1


def baseline_range(session: Session, scope: Scope, now: datetime, weeks: int) -> BaselineRange | None:
    """The scope's pin, else the pin for every scope, else its first `weeks` complete weeks with data."""
    pin = find_pin(session, scope.name, EVERY_SCOPE)
    if pin is not None:
        return BaselineRange(pin.first_week, pin.last_week, pinned=True)
    first = first_received(session, scope.store_ids)
    if first is None:
        return None
    first_week = monday(first.astimezone(scope.zone).date())
    last_complete = scope.latest_complete_week(now)
    if first_week > last_complete:
        return None
    return BaselineRange(first_week, min(first_week + (weeks - 1) * WEEK, last_complete), pinned=False)


def pin_baseline(
    session: Session, scopes: list[Scope], target: str, first: date, last: date, now: datetime
) -> BaselineRange:
    """Pin weeks first … last (any day of a week names that week) for one scope or every scope."""
    pinned = BaselineRange(monday(first), monday(last), pinned=True)
    if pinned.last_week < pinned.first_week:
        raise ReplywatchError("--to comes before --from")
    unfinished = [s.name for s in scopes if not s.is_complete(pinned.last_week, now)]
    if unfinished:
        raise ReplywatchError(
            f"the week of {pinned.last_week.isoformat()} has not ended yet; a baseline needs complete weeks"
        )
    save_pin(session, target, Pin(pinned.first_week, pinned.last_week), now)
    return pinned
