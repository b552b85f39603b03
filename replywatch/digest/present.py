"""The digest's figures as a manager reads them: rates with their counts, durations, changes, tone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from replywatch.reports.metrics import Counts, Figures

DASH = "—"


@dataclass(frozen=True)
class Shown:
    text: str
    tone: str = ""  # "better", "worse" or "" (no change, or no better direction)


@dataclass(frozen=True)
class Metric:
    label: str
    kind: str  # "count", "rate" or "duration"
    value: Callable[[Figures], float | None]
    parts: Callable[[Counts], tuple[int, int]] | None = None  # a rate's numerator and denominator
    better: int = 1  # +1 higher is better, -1 lower is better, 0 neither


@dataclass(frozen=True)
class Line:
    label: str
    this: str
    last: str
    vs_last: Shown
    baseline: str
    vs_baseline: Shown


def _rate(label: str, parts: Callable[[Counts], tuple[int, int]], better: int = 1) -> Metric:
    def value(f: Figures) -> float | None:
        num, den = parts(f.counts)
        return num / den if den else None

    return Metric(label, "rate", value, parts, better)


def _count(label: str, get: Callable[[Counts], int], better: int = 0) -> Metric:
    return Metric(label, "count", lambda f: get(f.counts) / f.weeks, better=better)


def _duration(label: str, get: Callable[[Figures], float | None]) -> Metric:
    return Metric(label, "duration", get, better=-1)


HEADLINE = (
    _count("Leads", lambda c: c.leads),
    _rate("7-day contact rate", lambda c: (c.contacted_7d, c.eligible_7d)),
    _rate("Contact rate to date", lambda c: (c.contacted, c.leads)),
    _duration("Median time-to-contact", lambda f: f.ttc.median),
    _duration("p90 time-to-contact", lambda f: f.ttc.p90),
    _duration("Median time-to-contact, business hours", lambda f: f.ttc_business.median),
    _duration("p90 time-to-contact, business hours", lambda f: f.ttc_business.p90),
    _duration("Median first response", lambda f: f.first_response.median),
    _duration("p90 first response", lambda f: f.first_response.p90),
    _duration("Median first response, business hours", lambda f: f.first_response_business.median),
    _duration("p90 first response, business hours", lambda f: f.first_response_business.p90),
    _rate("Contacted within 1 hour", lambda c: (c.within_1h, c.eligible_1h)),
    _rate("Contacted within 24 hours", lambda c: (c.within_24h, c.eligible_24h)),
    _rate("Uncontacted after 48 hours", lambda c: (c.uncontacted_48h, c.eligible_48h), better=-1),
    _count("Opt-outs", lambda c: c.opted_out, better=-1),
    _count("Bouncing addresses", lambda c: c.bouncing, better=-1),
    _count("Awaiting review", lambda c: c.awaiting_review),
)
BREAKDOWN = (
    ("Leads", HEADLINE[0]),
    ("Contact to date", HEADLINE[2]),
    ("7-day contact", HEADLINE[1]),
    ("Median TTC", HEADLINE[3]),
    ("Median TTC, business", HEADLINE[5]),
    ("p90 TTC", HEADLINE[4]),
    ("Median first response", HEADLINE[7]),
    ("Within 1 h", HEADLINE[11]),
    ("Uncontacted 48 h", HEADLINE[13]),
    ("Opt-outs", HEADLINE[14]),
)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return DASH
    minutes = round(seconds / 60)
    if seconds < 60:
        return "< 1 min"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours < 48 else f"{hours // 24} d {hours % 24} h"


def percent(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:.1f}%"


def number(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def show(metric: Metric, f: Figures, compact: bool = False) -> str:
    """A figure as text: a rate with its counts beside it, a count (per week for a baseline), a duration."""
    value = metric.value(f)
    if metric.kind == "duration":
        return duration(value)
    if metric.kind == "count":
        return number(value or 0) + (" a week" if f.weeks > 1 and not compact else "")
    assert metric.parts is not None
    return rate_text(*metric.parts(f.counts), compact=compact)


def rate_text(num: int, den: int, compact: bool = False) -> str:
    """ "62.5% (25 of 40)": a rate is never shown without its count."""
    rate = percent(num / den if den else None)
    return f"{rate} ({num}/{den})" if compact else f"{rate} ({num} of {den})"


def change(metric: Metric, now: Figures, then: Figures | None) -> Shown:
    """The change from `then` to `now`, green when it went the better way, red when the worse."""
    a, b = metric.value(now), metric.value(then) if then is not None else None
    if a is None or b is None:
        return Shown("")
    delta = a - b
    tone = "" if delta == 0 or metric.better == 0 else ("better" if delta * metric.better > 0 else "worse")
    if metric.kind == "rate":
        return Shown(f"{_sign(delta)}{abs(delta) * 100:.1f} pts", tone)
    if metric.kind == "duration":
        return Shown(f"{_sign(delta)}{duration(abs(delta))}" if abs(delta) >= 60 else "±0 min", tone)
    return Shown(f"{_sign(delta)}{number(round(abs(delta), 1))}", tone)


def _sign(delta: float) -> str:
    return "+" if delta > 0 else "−" if delta < 0 else "±"


def headline(this: Figures, last: Figures, baseline: Figures | None) -> list[Line]:
    return [
        Line(
            m.label,
            show(m, this),
            show(m, last),
            change(m, this, last),
            show(m, baseline) if baseline is not None else DASH,
            change(m, this, baseline),
        )
        for m in HEADLINE
    ]


def breakdown_cells(f: Figures) -> list[str]:
    return [show(metric, f, compact=True) for _, metric in BREAKDOWN]
