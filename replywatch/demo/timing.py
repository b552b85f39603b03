"""When things happen in the demo: leads by store hours, our follow-up delays, customers' reply delays."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from replywatch.demo.people import Store

_TOUCH_DELAYS = ((0.3, 30, 240), (0.12, 240, 1440), (0.08, 1440, 4320))  # (weight, minutes from, to)
_REPLY_DELAYS = ((0.35, 2, 45), (0.3, 45, 360), (0.25, 360, 2160), (0.1, 2160, 7200))


def _local(store: Store, day: date, minute: int) -> datetime:
    return datetime.combine(day, time(minute // 60 % 24, minute % 60), store.zone)


def lead_time(rng: random.Random, store: Store, day: date) -> datetime:
    """Mostly while the store is open; the rest evenings, nights and Sundays, when shoppers browse."""
    span = store.span(day)
    if span is None:
        minute = rng.randint(540, 1320)
    elif rng.random() < 0.78:
        minute = rng.randint(span[0], span[1] - 1)
    else:
        minute = rng.randint(span[1], 1440 + 420) % 1440
    return _local(store, day, minute) + timedelta(seconds=rng.randint(0, 59))


def open_at(store: Store, when: datetime) -> datetime:
    """The first moment at or after `when` the store is open: associates work store hours."""
    local = when.astimezone(store.zone)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        span = store.span(day)
        if span and local < _local(store, day, span[1]):
            return max(local, _local(store, day, span[0])).astimezone(UTC)
    return when


def _delay(rng: random.Random, table: tuple[tuple[float, int, int], ...]) -> timedelta:
    _, low, high = rng.choices(table, weights=[w for w, _, _ in table])[0]
    return timedelta(seconds=rng.randint(low * 60, high * 60))


def touch_time(rng: random.Random, store: Store, after: datetime, speed: float) -> datetime:
    """When an associate follows up; `speed` weighs the answers within half an hour."""
    when = after + _delay(rng, ((speed, 2, 30), *_TOUCH_DELAYS))
    opened = open_at(store, when)
    return when if opened == when else opened + timedelta(seconds=rng.randint(180, 4500))


def reply_time(rng: random.Random, store: Store, after: datetime) -> datetime:
    """When a customer answers; one due before 7 a.m. store time waits until the morning."""
    when = after + _delay(rng, _REPLY_DELAYS)
    hour = when.astimezone(store.zone).hour
    return when + timedelta(hours=7 - hour, minutes=rng.randint(0, 90)) if hour < 7 else when
