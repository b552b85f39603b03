"""The digest's figures as a manager reads them: three sentences, rates with their counts, changes, tone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from replywatch.digest.build import Digest, Ranked
from replywatch.domain.vocabulary import Channel
from replywatch.reports.cohorts import CohortFigures

DASH = "—"
MIN_LEADS = 5  # a group needs this many leads in both weeks before its change is worth a sentence
CHANNEL_NAMES = {Channel.EMAIL.value: "Email", Channel.SMS.value: "Text", Channel.CALL.value: "Call"}


@dataclass(frozen=True)
class Shown:
    text: str
    tone: str = ""  # "better", "worse" or "" (no change, or nothing to compare with)


def day(d: date) -> str:
    return f"{d.day} {d.strftime('%b')}"


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
    return DASH if value is None else f"{value * 100:.0f}%"


def rate_text(num: int, den: int) -> str:
    """ "62% · 31 of 50": a rate is never shown without its counts."""
    return f"{percent(num / den if den else None)} · {num} of {den}"


def rate_7d(f: CohortFigures) -> str:
    if not f.leads:
        return "no leads"
    leads = f"{f.leads} lead" + ("s" if f.leads != 1 else "")
    return rate_text(f.contacted_7d, f.leads) if f.matured_7d else f"{DASH} · {leads}, not 7 days old"


def points(now: float | None, then: float | None) -> Shown:
    """The change in whole percentage points, green when up, red when down."""
    if now is None or then is None:
        return Shown("")
    delta = round((now - then) * 100)
    if delta == 0:
        return Shown("±0 pts")
    return Shown(f"{'+' if delta > 0 else '−'}{abs(delta)} pts", "better" if delta > 0 else "worse")


def ranked_change(row: Ranked) -> Shown:
    return points(row.figures.contact_rate_7d, row.before.contact_rate_7d if row.before else None)


def sentences(d: Digest) -> list[str]:
    """What a manager can repeat: contact against the baseline, time to contact, the biggest mover."""
    if d.headline is None or d.headline_week is None:
        if d.so_far.leads == 0 and not d.trend:
            return ["No leads yet: the first contact rate comes 7 days after the first week with leads ends."]
        return [
            "No week's leads are all 7 days old yet, so there is no 7-day contact rate to show; "
            f"the first one comes a week after the first week with leads ends. {baseline_state(d)}."
        ]
    h = d.headline
    first = f"Contact: {percent(h.contact_rate_7d)} of the leads of the week of {day(d.headline_week)} "
    first += f"answered within 7 days ({h.contacted_7d} of {h.leads}); " + _comparisons(d) + "."
    return [first, _time_sentence(d), _mover_sentence(d)]


def baseline_rate(d: Digest) -> float | None:
    return d.baseline.figures.contact_rate_7d if d.baseline and d.baseline.figures else None


def baseline_state(d: Digest) -> str:
    """ "baseline 58% (4 weeks from 5 Oct)" or "baseline forming (2 of 4 weeks)"."""
    rate = baseline_rate(d)
    if d.baseline is None or rate is None:
        have, needed = forming_weeks(d)
        return f"baseline forming ({have} of {needed} weeks)"
    rng = d.baseline.range
    how = "pinned" if rng.pinned else "the first"
    weeks = f"{rng.weeks} week" + ("s" if rng.weeks != 1 else "")
    return f"baseline {percent(rate)} ({how} {weeks} from {day(rng.first_week)})"


def forming_weeks(d: Digest) -> tuple[int, int]:
    """How many matured weeks the automatic baseline has, of those it needs."""
    return (d.baseline.range.weeks if d.baseline else 0), d.baseline_weeks


def forming(d: Digest) -> str:
    have, needed = forming_weeks(d)
    return f"forming, {have} of {needed} weeks"


def vs_baseline(d: Digest) -> Shown:
    return points(d.headline.contact_rate_7d if d.headline else None, baseline_rate(d))


def vs_before(d: Digest) -> Shown:
    before = d.before.contact_rate_7d if d.before else None
    return points(d.headline.contact_rate_7d if d.headline else None, before)


def _comparisons(d: Digest) -> str:
    parts = [baseline_state(d) + (f", {vs_baseline(d).text}" if vs_baseline(d).text else "")]
    if d.before is not None and d.before.leads:
        parts.append(f"the week before {percent(d.before.contact_rate_7d)}, {vs_before(d).text}")
    return "; ".join(parts)


def _time_sentence(d: Digest) -> str:
    h = d.headline
    assert h is not None
    if not h.ttc:
        return "Time to contact: none of that week's leads has answered yet."
    text = f"Time to contact: median {duration(h.median_ttc)}, 9 in 10 within {duration(h.p90_ttc)}"
    base = d.baseline.figures if d.baseline else None
    if base is not None and base.ttc:
        text += f" (baseline median {duration(base.median_ttc)})"
    return text + "."


def _mover_sentence(d: Digest) -> str:
    """The associate, lead source or store whose 7-day rate moved most against the week before."""
    kinds = (("store", d.by_store), ("associate", d.by_associate), ("lead source", d.by_source))
    movers = [
        (abs((r.figures.contact_rate_7d or 0) - (r.before.contact_rate_7d or 0)), kind, r)
        for kind, rows in kinds
        for r in rows
        if r.before is not None and min(r.figures.leads, r.before.leads) >= MIN_LEADS
    ]
    if not movers:
        return f"No associate or lead source had {MIN_LEADS} leads in both weeks, so none is compared."
    moved, kind, r = max(movers, key=lambda m: m[0])
    assert r.before is not None
    if round(moved, 2) == 0:
        return "No associate or lead source moved against the week before."
    direction = "rose" if (r.figures.contact_rate_7d or 0) > (r.before.contact_rate_7d or 0) else "fell"
    return (
        f"Biggest change: {r.figures.group} ({kind}) {direction} from {percent(r.before.contact_rate_7d)} "
        f"to {percent(r.figures.contact_rate_7d)} ({r.figures.contacted_7d} of {r.figures.leads})."
    )


def so_far_sentence(d: Digest) -> str:
    """The week just ended, compared only with the week before at the same age."""
    now, then = d.so_far, d.so_far_before
    if not now.leads:
        return f"The week of {day(d.week)} brought no leads."
    text = f"The week of {day(d.week)} so far: {rate_text(now.contacted, now.leads)} answered"
    if then.leads:
        change = points(now.contact_rate, then.contact_rate).text
        text += f"; the week before at the same age: {rate_text(then.contacted, then.leads)}, {change}"
    return text + "."


def channel_name(channel: str) -> str:
    return CHANNEL_NAMES.get(channel, channel.capitalize())
