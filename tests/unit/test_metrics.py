"""Percentiles, roll-ups and the way figures are shown: what a manager reads in the digest."""

from __future__ import annotations

import random
import statistics

import pytest

from replywatch.digest.present import HEADLINE, change, duration, headline, show
from replywatch.reports.metrics import Cell, Counts, Durations, Figures, WindowData, quantile


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


def _figures(leads: int, contacted_7d: int, eligible: int, ttc: list[int], weeks: int = 1) -> Figures:
    counts = Counts(leads=leads, contacted=contacted_7d, eligible_7d=eligible, contacted_7d=contacted_7d)
    return Figures.of(counts, Durations(ttc=ttc), weeks)


def test_every_rate_shows_its_counts_and_changes_have_a_direction() -> None:
    # Given this week better than last on contact, slower on time-to-contact
    this = _figures(40, 25, 40, [3600, 7200])
    last = _figures(38, 19, 38, [600, 1200])
    rate_metric, median_metric = HEADLINE[1], HEADLINE[3]
    # Then the rate carries its counts, and each change says which way is better
    assert show(rate_metric, this) == "62.5% (25 of 40)"
    assert change(rate_metric, this, last).text == "+12.5 pts"
    assert change(rate_metric, this, last).tone == "better"
    assert change(median_metric, this, last).text == "+1 h 15 min"
    assert change(median_metric, this, last).tone == "worse"
    # And without leads old enough, a rate is a dash with its zero counts, and no change is claimed
    empty = _figures(5, 0, 0, [])
    assert show(rate_metric, empty) == "— (0 of 0)"
    assert change(rate_metric, empty, last).text == ""


def test_a_baselines_counts_are_per_week() -> None:
    # Given a 4-week baseline with 160 leads
    baseline = _figures(160, 80, 160, [60], weeks=4)
    lines = {
        line.label: line
        for line in headline(_figures(45, 20, 45, [60]), _figures(40, 20, 40, [60]), baseline)
    }
    # Then leads are shown as a weekly average and compared as such
    assert lines["Leads"].baseline == "40 a week"
    assert lines["Leads"].vs_baseline.text == "+5"
    assert lines["7-day contact rate"].baseline == "50.0% (80 of 160)"
