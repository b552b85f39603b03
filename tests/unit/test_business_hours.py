"""Business-hours durations: weekends, closed days, DST changes, bounds inside and outside hours."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from replywatch.config import StoreConfig
from replywatch.domain.business_hours import BusinessHours

CHICAGO = ZoneInfo("America/Chicago")
HOUR = 3600
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=CHICAGO)


def store_hours(**hours: str) -> BusinessHours:
    return BusinessHours.from_store(StoreConfig(name="Main Street Honda", hours=hours))


def every_day(text: str) -> BusinessHours:
    return store_hours(**dict.fromkeys(WEEKDAYS, text))


@pytest.fixture
def dealership() -> BusinessHours:
    """Mon–Fri 09:00–20:00, Sat 09:00–18:00, closed Sunday (the sample config)."""
    weekday = "09:00-20:00"
    return store_hours(
        mon=weekday, tue=weekday, wed=weekday, thu=weekday, fri=weekday, sat="09:00-18:00", sun="closed"
    )


def test_friday_evening_lead_answered_monday_counts_only_open_hours(dealership: BusinessHours) -> None:
    # Given a lead at 19:00 on Friday 2026-01-09 and a reply at 10:00 on Monday
    # When the business-hours duration is measured
    seconds = dealership.seconds_between(local(2026, 1, 9, 19), local(2026, 1, 12, 10))
    # Then it is Friday's last hour, Saturday's 9 hours, nothing on Sunday and Monday's first hour
    assert seconds == 11 * HOUR


def test_a_span_within_a_closed_sunday_is_zero(dealership: BusinessHours) -> None:
    assert dealership.seconds_between(local(2026, 1, 11, 8), local(2026, 1, 11, 22)) == 0


def test_both_bounds_inside_the_same_open_day(dealership: BusinessHours) -> None:
    assert dealership.seconds_between(local(2026, 1, 12, 10), local(2026, 1, 12, 12, 30)) == 9000


def test_bounds_before_opening_and_after_closing_count_the_whole_day(dealership: BusinessHours) -> None:
    assert dealership.seconds_between(local(2026, 1, 12, 6), local(2026, 1, 12, 23)) == 11 * HOUR


def test_overnight_span_while_closed_is_zero(dealership: BusinessHours) -> None:
    assert dealership.seconds_between(local(2026, 1, 12, 21), local(2026, 1, 13, 8, 59)) == 0


def test_start_outside_and_end_inside_hours(dealership: BusinessHours) -> None:
    # Given a lead at 22:00 Monday, answered at 09:45 Tuesday
    seconds = dealership.seconds_between(local(2026, 1, 12, 22), local(2026, 1, 13, 9, 45))
    # Then only the 45 minutes after Tuesday's opening count
    assert seconds == 45 * 60


def test_end_before_or_at_start_is_zero(dealership: BusinessHours) -> None:
    assert dealership.seconds_between(local(2026, 1, 12, 12), local(2026, 1, 12, 10)) == 0
    assert dealership.seconds_between(local(2026, 1, 12, 12), local(2026, 1, 12, 12)) == 0


def test_utc_and_store_local_inputs_give_the_same_answer(dealership: BusinessHours) -> None:
    start, end = local(2026, 1, 9, 19), local(2026, 1, 12, 10)
    assert dealership.seconds_between(start.astimezone(UTC), end.astimezone(UTC)) == 11 * HOUR


def test_fractions_of_a_second_are_floored(dealership: BusinessHours) -> None:
    start = local(2026, 1, 12, 10)
    assert dealership.seconds_between(start, start.replace(second=1, microsecond=900_000)) == 1


def test_unlisted_days_are_closed() -> None:
    # Given a store that lists Monday only
    hours = store_hours(mon="09:00-17:00")
    # When measuring a whole week from Monday
    seconds = hours.seconds_between(local(2026, 1, 12), local(2026, 1, 19))
    # Then only Monday's 8 hours count
    assert seconds == 8 * HOUR


@pytest.mark.parametrize(
    ("day", "round_the_clock", "one_to_four"),
    [
        pytest.param(local(2026, 3, 8), 23 * HOUR, 2 * HOUR, id="spring-forward-2026-03-08"),
        pytest.param(local(2026, 11, 1), 25 * HOUR, 4 * HOUR, id="fall-back-2026-11-01"),
    ],
)
def test_dst_change_counts_real_elapsed_time_only_when_it_falls_inside_hours(
    day: datetime, round_the_clock: int, one_to_four: int
) -> None:
    # Given the DST-change day in Chicago (the clock changes at 02:00), midnight to midnight local
    start, end = day, day + timedelta(days=1)
    # When measuring that day under three sets of hours
    # Then open-all-day and 01:00-04:00 see the lost or extra hour; 09:00-20:00 does not
    assert every_day("00:00-24:00").seconds_between(start, end) == round_the_clock
    assert every_day("01:00-04:00").seconds_between(start, end) == one_to_four
    assert every_day("09:00-20:00").seconds_between(start, end) == 11 * HOUR


def test_span_across_spring_forward_counts_elapsed_seconds_between_the_bounds() -> None:
    # Given a round-the-clock store, a lead at noon Saturday and a reply at noon Monday across spring-forward
    hours = every_day("00:00-24:00")
    # When measured
    seconds = hours.seconds_between(local(2026, 3, 7, 12), local(2026, 3, 9, 12))
    # Then the skipped hour is not counted
    assert seconds == 47 * HOUR


def test_ten_years_is_exact() -> None:
    # Given a store open 09:00-20:00 every day (DST changes at 02:00, outside hours)
    hours = every_day("09:00-20:00")
    # When measuring 2016-01-01 to 2026-01-01, local (3,653 days)
    seconds = hours.seconds_between(local(2016, 1, 1), local(2026, 1, 1))
    # Then every day counts exactly 11 hours
    assert seconds == 3653 * 11 * HOUR


def test_naive_datetimes_are_refused(dealership: BusinessHours) -> None:
    with pytest.raises(ValueError, match="aware"):
        dealership.seconds_between(datetime(2026, 1, 12, 10), local(2026, 1, 12, 11))


def test_closing_before_opening_is_refused() -> None:
    with pytest.raises(ValueError, match="weekday 0"):
        BusinessHours(CHICAGO, {0: (time(18), time(9))})
