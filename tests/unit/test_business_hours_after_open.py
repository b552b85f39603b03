"""When some open minutes have passed: across closing time and closed days, DST changes, stores never open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from replywatch.config import StoreConfig
from replywatch.domain.business_hours import BusinessHours
from replywatch.notify.alerts import due_at, longest_wait

CHICAGO = ZoneInfo("America/Chicago")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CHICAGO)


def store_hours(**hours: str) -> BusinessHours:
    return BusinessHours.from_store(StoreConfig(name="Main Street Honda", hours=hours))


@pytest.fixture
def dealership() -> BusinessHours:
    """Mon–Sat 09:00–20:00, closed Sunday."""
    return store_hours(**dict.fromkeys(WEEKDAYS[:6], "09:00-20:00"), sun="closed")


def test_a_lead_at_saturday_closing_is_due_monday_after_opening(dealership: BusinessHours) -> None:
    # Given a lead at 19:55 on Saturday 2026-11-07, five minutes before closing, Sunday closed
    # When 15 open minutes are counted
    due = dealership.after_open(local(2026, 11, 7, 19, 55), 15)
    # Then Saturday gives 5 and Monday's opening the other 10
    assert due == local(2026, 11, 9, 9, 10)
    assert due.tzinfo is UTC


def test_within_one_open_day_it_is_plain_minutes(dealership: BusinessHours) -> None:
    assert dealership.after_open(local(2026, 11, 10, 10), 60) == local(2026, 11, 10, 11)


def test_a_lead_before_opening_counts_from_opening(dealership: BusinessHours) -> None:
    assert dealership.after_open(local(2026, 11, 10, 6, 30), 15) == local(2026, 11, 10, 9, 15)


def test_exactly_at_closing_waits_for_the_next_opening(dealership: BusinessHours) -> None:
    assert dealership.after_open(local(2026, 11, 10, 20), 15) == local(2026, 11, 11, 9, 15)


def test_minutes_that_end_at_closing_end_there(dealership: BusinessHours) -> None:
    assert dealership.after_open(local(2026, 11, 10, 19, 45), 15) == local(2026, 11, 10, 20)


def test_many_minutes_span_several_days(dealership: BusinessHours) -> None:
    # 11 open hours a day: 12 hours from Friday 10:00 are Friday's 10, then 2 on Saturday
    assert dealership.after_open(local(2026, 11, 13, 10), 12 * 60) == local(2026, 11, 14, 11)


def test_the_fall_back_weekend_counts_monday_in_standard_time(dealership: BusinessHours) -> None:
    # Given a lead at Saturday closing on 2026-10-31 (CDT, UTC-5); clocks fall back on closed Sunday
    due = dealership.after_open(local(2026, 10, 31, 19, 55), 15)
    # Then it is due 09:10 Monday in CST (UTC-6): 15:10 UTC, not 14:10
    assert due == datetime(2026, 11, 2, 15, 10, tzinfo=UTC)


def test_a_skipped_hour_is_not_counted_as_open_time() -> None:
    # Given a store open round the clock, and 60 minutes from 01:30 on spring-forward night (2026-03-08)
    hours = store_hours(**dict.fromkeys(WEEKDAYS, "00:00-24:00"))
    due = hours.after_open(local(2026, 3, 8, 1, 30), 60)
    # Then an hour of real time has passed: 03:30 CDT, since 02:00–03:00 does not exist that night
    assert due - local(2026, 3, 8, 1, 30) == timedelta(hours=1)
    assert due.astimezone(CHICAGO).hour == 3


def test_seconds_between_agrees_with_after_open(dealership: BusinessHours) -> None:
    start = local(2026, 11, 6, 18, 17)
    due = dealership.after_open(start, 500)
    assert dealership.seconds_between(start, due) == 500 * 60


def test_a_store_never_open_is_refused_not_looped() -> None:
    hours = store_hours(**dict.fromkeys(WEEKDAYS, "closed"))
    with pytest.raises(ValueError, match="no open hours"):
        hours.after_open(local(2026, 11, 7, 12), 15)


def test_naive_start_is_refused(dealership: BusinessHours) -> None:
    with pytest.raises(ValueError, match="naive"):
        dealership.after_open(datetime(2026, 11, 7, 12), 15)


def test_a_lead_of_no_store_counts_wall_clock_minutes() -> None:
    # A lead whose store is unknown waits by the clock, whatever the day: Sunday night is no pause
    assert due_at(None, local(2026, 11, 8, 23, 50), 15) == local(2026, 11, 9, 0, 5)


def test_a_lead_of_a_store_counts_its_open_minutes(dealership: BusinessHours) -> None:
    assert due_at(dealership, local(2026, 11, 8, 23, 50), 15) == local(2026, 11, 9, 9, 15)


def test_the_look_up_span_covers_the_longest_wait() -> None:
    # Given a store open one hour a week (Sunday 10–11): 90 open minutes take two Sundays
    hours = store_hours(sun="10:00-11:00")
    start = local(2026, 11, 9, 12)  # Monday: the first open minute is six days away
    due = hours.after_open(start, 90)
    assert due == local(2026, 11, 22, 10, 30)
    # Then the span the alert check looks back over is at least that long
    assert longest_wait(hours, 90, start) >= due - start
