"""Seconds inside a store's open hours between two instants, and the instant when some open minutes have
passed, in the store's time zone (DST-aware)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from replywatch.config import StoreConfig

OpenInterval = tuple[time, time]
_MIDNIGHT_END = time(23, 59, 59, 999999)  # how parse_hours writes "24:00"
_ONE_DAY = timedelta(days=1)
_ONE_SECOND = timedelta(seconds=1)


class BusinessHours:
    """A store's weekly open hours (store-local wall time) in its time zone."""

    def __init__(self, zone: ZoneInfo, opening: Mapping[int, OpenInterval | None]) -> None:
        self.zone = zone
        self._week: tuple[OpenInterval | None, ...] = tuple(_checked(d, opening.get(d)) for d in range(7))

    @classmethod
    def from_store(cls, store: StoreConfig) -> BusinessHours:
        return cls(store.zone, store.opening_hours())

    def seconds_between(self, start: datetime, end: datetime) -> int:
        """Whole seconds (floor) of open hours between two aware instants; 0 if end <= start."""
        start, end = _utc(start), _utc(end)
        if end <= start:
            return 0
        total = timedelta()
        for day in self._local_days(start, end):
            bounds = self._open_bounds(day)
            if bounds is not None:
                lo, hi = max(bounds[0], start), min(bounds[1], end)
                if hi > lo:
                    total += hi - lo
        return total // _ONE_SECOND

    def after_open(self, start: datetime, minutes: int) -> datetime:
        """The instant (UTC) when `minutes` of open hours have passed since `start`: an instant while
        closed starts counting at the next opening. Raises ValueError for a store never open, whose
        minutes never pass."""
        if all(interval is None for interval in self._week):
            raise ValueError("the store has no open hours: its open minutes never pass")
        start = _utc(start)
        left = timedelta(minutes=minutes)
        day = start.astimezone(self.zone).date()
        while True:  # ends: some weekday is open, and each open day takes its hours off `left`
            bounds = self._open_bounds(day)
            if bounds is not None and bounds[1] > start:
                lo = max(bounds[0], start)
                if lo + left <= bounds[1]:
                    return lo + left
                left -= bounds[1] - lo
            day += _ONE_DAY

    def _local_days(self, start: datetime, end: datetime) -> Iterator[date]:
        day, last = start.astimezone(self.zone).date(), end.astimezone(self.zone).date()
        while day <= last:
            yield day
            day += _ONE_DAY

    def _open_bounds(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's open interval as UTC instants, so that subtraction counts real elapsed time."""
        interval = self._week[day.weekday()]
        if interval is None:
            return None
        opens, closes = interval
        close_at = (
            datetime.combine(day + _ONE_DAY, time(0), self.zone)
            if closes == _MIDNIGHT_END
            else datetime.combine(day, closes, self.zone)
        )
        return datetime.combine(day, opens, self.zone).astimezone(UTC), close_at.astimezone(UTC)


def _checked(weekday: int, interval: OpenInterval | None) -> OpenInterval | None:
    if interval is not None and interval[1] <= interval[0]:
        raise ValueError(f"weekday {weekday}: closing time {interval[1]} is not after opening {interval[0]}")
    return interval


def _utc(value: datetime) -> datetime:
    # Aware datetimes sharing one tzinfo compare and subtract by wall clock; UTC makes both exact.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"business hours need an aware datetime, got naive {value.isoformat()}")
    return value.astimezone(UTC)
