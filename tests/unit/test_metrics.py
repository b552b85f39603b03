"""Percentiles, roll-ups and the way figures are shown: what a manager reads in the digest."""

from __future__ import annotations

import random
import statistics

import pytest

from replywatch.digest.present import duration, points, rate_7d, rate_text
from replywatch.reports.cohorts import LeadRow, Names, figures, grouped, pooled
from replywatch.reports.metrics import quantile


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


def test_durations_read_like_a_person_would_say_them() -> None:
    assert duration(None) == "—"
    assert duration(20) == "< 1 min"
    assert duration(29 * 60 + 31) == "30 min"
    assert duration(3900) == "1 h 05 min"
    assert duration(47 * 3600) == "47 h 00 min"
    assert duration(3 * 86400 + 7 * 3600) == "3 d 7 h"


DAY = 86400


def _lead(
    contact_after_s: int | None = None, channel: str = "email", matured: int = 1, **kw: object
) -> LeadRow:
    """A lead as read at a moment: contacted (after so many seconds) or not, 7 days old or not."""
    contacted = int(contact_after_s is not None)
    within = int(contacted and contact_after_s is not None and contact_after_s <= 7 * DAY)
    fields = {"bucket": 0, "store_id": 1, "associate_id": None, "source": "AutoTrader"} | kw
    return LeadRow(
        channel=channel if contacted else None, contacted=contacted, within_7d=within, matured=matured,
        opted_out=0, ttc=contact_after_s, ttc_business=None, **fields,  # type: ignore[arg-type]
    )  # fmt: skip


def test_a_cohorts_rates_count_every_lead_and_need_it_matured() -> None:
    # Given three matured leads, answered after 1 hour, after 8 days and never
    rows = [_lead(3600), _lead(8 * DAY), _lead()]
    # Then two are contacted, one of them within 7 days, over all three
    f = figures(rows, "w")
    assert (f.leads, f.contacted, f.contacted_7d, f.matured_7d) == (3, 2, 1, True)
    assert f.contact_rate_7d == pytest.approx(1 / 3) and f.median_ttc == pytest.approx(4 * DAY + 1800)
    # And one lead younger than 7 days takes the 7-day rate away from the whole cohort
    young = figures([*rows, _lead(60, matured=0)], "w")
    assert (young.contacted_7d, young.matured_7d, young.contact_rate_7d) == (2, False, None)
    # And with no leads every rate is null
    assert figures([]).contact_rate is None and figures([]).as_json()["contact_rate_7d"] is None
    assert figures([]).matured_7d is False and rate_7d(figures([])) == "no leads"


def test_by_channel_every_lead_is_the_denominator() -> None:
    # Given four leads: answered by email, by text, by phone, and not at all
    rows = [_lead(60, "email"), _lead(120, "sms"), _lead(30, "call"), _lead()]
    # When grouped by channel
    found = grouped(rows, "channel", Names())
    # Then each channel counts its contacts over every lead, email, text and call in that order
    assert [(f.group, f.contacted, f.leads) for f in found] == [
        ("email", 1, 4),
        ("sms", 1, 4),
        ("call", 1, 4),
    ]
    assert sum(f.contact_rate or 0 for f in found) == pytest.approx(figures(rows).contact_rate)


def test_associates_are_named_and_a_baseline_pools_its_weeks() -> None:
    rows = [_lead(60, associate_id=7), _lead()]
    people = grouped(rows, "associate", Names(associates={7: "Dana Lee"}))
    assert [p.group for p in people] == ["(unassigned)", "Dana Lee"]
    # And weeks pooled into one cohort add their counts and take the median over every duration
    weeks = [figures([_lead(60), _lead()]), figures([_lead(600), _lead(6000)])]
    base = pooled(weeks, "baseline")
    assert (base.leads, base.contacted, base.contacted_7d, base.matured_7d) == (4, 3, 3, True)
    assert base.median_ttc == 600


def test_every_rate_shows_its_counts_and_changes_have_a_direction() -> None:
    # Then a rate carries its counts, and a change says which way it went, in whole points
    assert rate_text(25, 40) == "62% · 25 of 40"
    assert points(0.625, 0.5).text == "+12 pts" and points(0.625, 0.5).tone == "better"
    assert points(0.4, 0.5).text == "−10 pts" and points(0.4, 0.5).tone == "worse"
    assert points(0.5, None).text == ""
    # And a cohort that is not matured shows no 7-day rate, only its count
    young = figures([_lead(60, matured=0)])
    assert rate_7d(young) == "— · 1 lead, not 7 days old"
