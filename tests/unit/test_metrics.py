"""Percentiles, roll-ups and the way figures are shown: what a manager reads in the digest."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime, timedelta

import pytest

from replywatch.digest.present import duration, points, rate_7d, rate_text
from replywatch.reports.cohorts import LeadRow, Names, figures, grouped
from replywatch.reports.metrics import Cell, Counts, Durations, WindowData, quantile


def test_median_and_p90_are_the_usual_ones() -> None:
    # Given durations of several sizes, odd and even
    rng = random.Random(5)
    for n in (1, 2, 3, 10, 101):
        values = sorted(rng.randint(0, 10_000) for _ in range(n))
        # Then the median is statistics' median and p90 the inclusive (linear) quantile
        assert quantile(values, 0.5) == pytest.approx(statistics.median(values))
        p90 = values[0] if n == 1 else statistics.quantiles(values, n=10, method="inclusive")[8]
        assert quantile(values, 0.9) == pytest.approx(p90)
    assert quantile([], 0.5) is None


def test_roll_up_adds_counts_and_pools_durations() -> None:
    # Given two associates' cells of one week
    a = Cell(0, 1, 10, "AutoTrader")
    b = Cell(0, 1, 11, "Cars.com")
    data = WindowData(
        {a: Counts(leads=3, contacted=2), b: Counts(leads=1, contacted=1)},
        {a: Durations(ttc=[60, 600]), b: Durations(ttc=[6000])},
    )
    # When rolled up to the store
    store = data.figures(lambda c: c.store_id)[1]
    # Then counts add up and the median is over all three durations
    assert (store.counts.leads, store.counts.contacted) == (4, 3)
    assert store.ttc.median == 600
    # And a key of None leaves cells out
    assert data.figures(lambda c: c.source if c.associate_id == 10 else None).keys() == {"AutoTrader"}


def test_durations_read_like_a_person_would_say_them() -> None:
    assert duration(None) == "—"
    assert duration(20) == "< 1 min"
    assert duration(29 * 60 + 31) == "30 min"
    assert duration(3900) == "1 h 05 min"
    assert duration(47 * 3600) == "47 h 00 min"
    assert duration(3 * 86400 + 7 * 3600) == "3 d 7 h"


NOW = datetime(2026, 11, 16, 12, tzinfo=UTC)
DAY = 86400


def _lead(
    age_days: float, contact_after_s: int | None = None, channel: str = "email", **kw: object
) -> LeadRow:
    received = NOW - timedelta(days=age_days)
    contact = received + timedelta(seconds=contact_after_s) if contact_after_s is not None else None
    fields = {"bucket": 0, "store_id": 1, "associate_id": None, "source": "AutoTrader"} | kw
    return LeadRow(
        received_at=received, contact_at=contact, channel=channel if contact else None, ttc=contact_after_s,
        ttc_business=None, opted_out_at=None, **fields,  # type: ignore[arg-type]
    )  # fmt: skip


def test_a_cohort_is_judged_as_it_stood_at_a_moment() -> None:
    # Given three leads 10, 9 and 8 days old, answered after 1 hour, 8 days and never
    rows = [_lead(10, 3600), _lead(9, 8 * DAY), _lead(8)]
    # Then now: two contacted, one of them within 7 days, and the cohort is matured
    f = figures(rows, NOW, "w")
    assert (f.leads, f.contacted, f.contacted_7d, f.matured_7d) == (3, 2, 1, True)
    assert f.contact_rate_7d == pytest.approx(1 / 3)
    # And 8.5 days ago: the third lead did not exist, the late contact had not happened, and the
    # cohort was not matured, so it has no 7-day rate
    then = figures(rows, NOW - timedelta(days=8.5), "w")
    assert (then.leads, then.contacted, then.matured_7d, then.contact_rate_7d) == (2, 1, False, None)
    # And with no leads every rate is null
    assert figures([], NOW).contact_rate is None and figures([], NOW).as_json()["contact_rate_7d"] is None


def test_by_channel_every_lead_is_the_denominator() -> None:
    # Given four leads: answered by email, by text, by phone, and not at all
    rows = [_lead(9, 60, "email"), _lead(9, 120, "sms"), _lead(9, 30, "call"), _lead(9)]
    # When grouped by channel
    found = grouped(rows, "channel", NOW, Names())
    # Then each channel counts its contacts over every lead, email, text and call in that order
    assert [(f.group, f.contacted, f.leads) for f in found] == [
        ("email", 1, 4),
        ("sms", 1, 4),
        ("call", 1, 4),
    ]
    assert sum(f.contact_rate or 0 for f in found) == pytest.approx(figures(rows, NOW).contact_rate)


def test_by_week_every_bucket_shows_and_associates_are_named() -> None:
    rows = [_lead(9, 60, associate_id=7), _lead(9, bucket=2)]
    weeks = grouped(rows, "week", NOW, Names([NOW.date(), NOW.date(), NOW.date()]))
    assert [w.leads for w in weeks] == [1, 0, 1]
    people = grouped(rows, "associate", NOW, Names(associates={7: "Dana Lee"}))
    assert [p.group for p in people] == ["(unassigned)", "Dana Lee"]


def test_every_rate_shows_its_counts_and_changes_have_a_direction() -> None:
    # Then a rate carries its counts, and a change says which way it went, in whole points
    assert rate_text(25, 40) == "62% · 25 of 40"
    assert points(0.625, 0.5).text == "+12 pts" and points(0.625, 0.5).tone == "better"
    assert points(0.4, 0.5).text == "−10 pts" and points(0.4, 0.5).tone == "worse"
    assert points(0.5, None).text == ""
    # And a cohort that is not matured shows no 7-day rate, only its count
    young = figures([_lead(2, 60)], NOW)
    assert rate_7d(young) == "— · 1 lead, not 7 days old"
