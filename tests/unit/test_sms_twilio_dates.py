"""Twilio API dates as the source reads them: by position in Twilio's own form, else parsed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from replywatch.sources.twilio_pages import _MONTH_NAMES, instant


def _rfc2822(text: object) -> datetime | None:
    """The instant the source reads in a date, without its ISO form."""
    found = instant(text)
    return found[0] if found else None


@pytest.mark.parametrize(
    "when",
    [
        datetime(2026, 10, 1, 13, 0, 0, tzinfo=UTC),
        datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(2024, 2, 29, 0, 0, 7, tzinfo=UTC),
        datetime(1999, 1, 9, 9, 9, 9, tzinfo=UTC),
    ],
)
def test_twilios_own_form_reads_as_the_instant_it_names(when: datetime) -> None:
    # Given a date as Twilio writes it ("Thu, 01 Oct 2026 13:00:00 +0000")
    text = format_datetime(when)
    # When it is read, then it is that instant, aware UTC
    assert text.endswith(" +0000")
    assert _rfc2822(text) == when
    assert _rfc2822(text).tzinfo is UTC  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thu, 1 Oct 2026 13:00:00 +0000", datetime(2026, 10, 1, 13, tzinfo=UTC)),  # day not padded
        ("Thu, 01 Oct 2026 08:00:00 -0500", datetime(2026, 10, 1, 13, tzinfo=UTC)),  # another offset
        ("01 Oct 2026 13:00:00 GMT", datetime(2026, 10, 1, 13, tzinfo=UTC)),  # no weekday
    ],
)
def test_other_rfc_2822_forms_are_parsed(text: str, expected: datetime) -> None:
    assert _rfc2822(text) == expected


@pytest.mark.parametrize("text", [None, "", "yesterday", "Thu, 31 Feb 2026 13:00:00 +0000", 17])
def test_what_is_no_date_is_none(text: object) -> None:
    assert _rfc2822(text) is None


def test_a_whole_year_of_seconds_agrees_with_the_standard_parser() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for step in range(0, 366 * 24 * 3600, 7919):  # every ~2 h 12 min, a prime step through the year
        when = start + timedelta(seconds=step)
        assert _rfc2822(format_datetime(when)) == when


def read_by_int_or_parser(text: str) -> datetime | None:
    """What the source read before its ISO fast path: fields by int() at their positions, else parsed."""
    month = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}.get(text[8:11])
    if month and len(text) == 31 and text.endswith(" +0000") and text[4] == " " and text[19] == ":":
        try:
            hour, minute, second = int(text[17:19]), int(text[20:22]), int(text[23:25])
            return datetime(int(text[12:16]), month, int(text[5:7]), hour, minute, second, tzinfo=UTC)
        except ValueError:
            pass
    try:
        return parsedate_to_datetime(text).astimezone(UTC)
    except (TypeError, ValueError, IndexError):
        return None


# Digits and what int() or a parser might also take in their place: signs, spaces, underscores, Arabic-Indic.
FIELD_CHARS = st.sampled_from("0123456789012345678901234567890123456789 +-_.:\u0661\u0669x")


def field(size: int, top: int) -> st.SearchStrategy[str]:
    """Mostly a number up to a little past `top`, zero-padded; else any characters of FIELD_CHARS."""
    numbers = st.integers(0, top).map(lambda n: f"{n:0{size}d}")
    return st.one_of(numbers, numbers, numbers, st.text(FIELD_CHARS, min_size=size, max_size=size))


@given(
    day=field(2, 33),
    month=st.sampled_from([*_MONTH_NAMES, "Oct", "oct", "Okt"]),
    year=field(4, 9999),
    hour=field(2, 25),
    minute=field(2, 61),
    second=field(2, 61),
    seps=st.sampled_from(["::", ":.", ".:", ":,", ": "]),
)
@example(day="01", month="Oct", year="2026", hour="13", minute="00", second="59", seps=":.")
@example(day=" 1", month="Oct", year="2026", hour="+1", minute="0_", second="\u0661\u0669", seps="::")
@settings(max_examples=500)
def test_dates_near_twilios_form_read_as_int_and_the_parser_read_them(
    day: str, month: str, year: str, hour: str, minute: str, second: str, seps: str
) -> None:
    # Given a date in Twilio's form, or nearly (odd digits, signs, separators)
    text = f"Thu, {day} {month} {year} {hour}{seps[0]}{minute}{seps[1]}{second} +0000"
    # When it is read, then it is what reading each field with int() (else the parser) gave,
    expected = read_by_int_or_parser(text)
    found = instant(text)
    assert (found and found[0]) == expected
    # and its ISO form is the datetime's own
    assert found is None or found[1] == found[0].isoformat()
