"""When the digest goes: Monday at send_at in each store's zone, right across DST; weeks are store-local."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from replywatch.config import DigestConfig, SmtpConfig, settings_from_dict
from replywatch.digest.schedule import due_week
from replywatch.digest.scope import GROUP, Scope, StoreRef, require_monday, week_edges
from replywatch.errors import ConfigError, ReplywatchError
from replywatch.store.digest_runs import backoff

CHICAGO, DENVER = ZoneInfo("America/Chicago"), ZoneInfo("America/Denver")
HONDA = Scope("Honda", "Honda", (StoreRef(1, "Honda", CHICAGO),), ("gm@honda.example",))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_week_across_a_dst_change_is_an_hour_longer_or_shorter() -> None:
    # Given the weeks in which Chicago leaves and enters daylight saving time (1 Nov and 8 Mar 2026)
    autumn = week_edges(CHICAGO, date(2026, 10, 26), 1)
    spring = week_edges(CHICAGO, date(2026, 3, 2), 1)
    # Then each runs Monday 00:00 to Monday 00:00 local: 169 and 167 hours
    assert autumn == [utc(2026, 10, 26, 5), utc(2026, 11, 2, 6)]
    assert spring[1] - spring[0] == timedelta(hours=167)


def test_the_digest_is_due_at_send_at_local_time_on_both_sides_of_dst() -> None:
    cfg = DigestConfig(send_at="MON 07:00")
    # Given 07:00 in Chicago is 12:00 UTC in daylight time (26 Oct) and 13:00 UTC after (2 Nov)
    assert due_week(cfg, HONDA, utc(2026, 10, 26, 11, 59)) is None
    assert due_week(cfg, HONDA, utc(2026, 10, 26, 12, 0)) == date(2026, 10, 19)
    assert due_week(cfg, HONDA, utc(2026, 11, 2, 12, 30)) is None
    assert due_week(cfg, HONDA, utc(2026, 11, 2, 13, 0)) == date(2026, 10, 26)
    # And later in the week the same week stays due (a daemon that was down sends it late)
    assert due_week(cfg, HONDA, utc(2026, 11, 5, 9, 0)) == date(2026, 10, 26)


def test_another_send_day_and_a_group_waits_for_its_last_store() -> None:
    # Given the roll-up of a Chicago and a Denver store, sent at midnight Chicago time on Monday
    group = Scope(
        GROUP, "All", (StoreRef(1, "Honda", CHICAGO), StoreRef(2, "Toyota", DENVER)), ("o@x.example",)
    )
    cfg = DigestConfig(send_at="MON 00:00")
    # Then it waits until Denver's week has ended too, an hour later
    assert due_week(cfg, group, utc(2026, 11, 9, 6, 30)) is None
    assert due_week(cfg, group, utc(2026, 11, 9, 7, 0)) == date(2026, 11, 2)
    # And a Tuesday send_at waits for Tuesday
    tuesday = DigestConfig(send_at="tue 08:30")
    assert (tuesday.send_weekday, tuesday.send_time.hour, tuesday.send_time.minute) == (1, 8, 30)
    assert due_week(tuesday, HONDA, utc(2026, 11, 9, 20, 0)) is None
    assert due_week(tuesday, HONDA, utc(2026, 11, 10, 14, 30)) == date(2026, 11, 2)


def test_digest_settings_are_checked_where_they_are_read() -> None:
    with pytest.raises(ConfigError, match=r"digest.send_at: .*MON 07:00"):
        settings_from_dict({"digest": {"send_at": "Monday 7am"}})
    with pytest.raises(ConfigError, match=r"plain-text SMTP to smtp\.example\.com is refused"):
        settings_from_dict({"digest": {"smtp": {"host": "smtp.example.com", "starttls": False}}})
    with pytest.raises(ConfigError, match="username needs password_env"):
        settings_from_dict({"digest": {"smtp": {"username": "me"}}})
    assert SmtpConfig(ssl=True).effective_port == 465
    assert SmtpConfig().effective_port == 587
    assert SmtpConfig(host="127.0.0.1", starttls=False).mode == "plain"


def test_weeks_are_named_by_their_monday() -> None:
    assert require_monday(date(2026, 11, 23)) == date(2026, 11, 23)
    with pytest.raises(ReplywatchError, match=r"2026-11-25 is a Wednesday; .* Monday is 2026-11-23"):
        require_monday(date(2026, 11, 25))


def test_retries_back_off_to_an_hour_and_never_stop() -> None:
    assert [backoff(n).total_seconds() / 60 for n in (1, 2, 3, 6, 7, 50)] == [1, 2, 4, 32, 60, 60]
