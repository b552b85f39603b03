"""Twilio API dates as the source reads them: by position in Twilio's own form, else parsed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from replywatch.sources.twilio import _rfc2822


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
