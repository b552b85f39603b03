"""What an event says to a person (Slack, Teams and email share it): a headline and a few facts.

The headline is made of our words and numbers only, never of text from the event, so that a target may
put it in its markup as it is; every text from the event (a store's or associate's name, a lead id, a
source's error) is a fact's `value`, on one line, which each target escapes for its own markup. Events
carry no customer's name or contact details, and nothing here adds any.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from replywatch.domain import events

MAX_VALUE = 300  # a source's error can be long; a chat card or a subject line has no room for a page


@dataclass(frozen=True)
class Fact:
    label: str  # ours
    value: str  # from the event: escaped by each target


@dataclass(frozen=True)
class Wording:
    headline: str  # ours: "Lead waiting 15 min with no touch"
    about: tuple[str, ...]  # what it is about, for a subject line: ("Main Street Honda", "lead 12345")
    facts: tuple[Fact, ...]

    @property
    def summary(self) -> str:
        """One line that says it all: a subject line, a chat notification."""
        return " · ".join((self.headline, *self.about))


def describe(body: Mapping[str, Any], zone: tzinfo) -> Wording:
    """The wording of one event (the webhook body); times are shown in `zone`, the store's."""
    kind = str(body.get("type", ""))
    words = _WORDS.get(kind)
    if words is None:  # a type newer than this code: still say something true
        return Wording("replywatch event", (), (Fact("Type", one_line(kind)),))
    return words(body, zone)


def _lead(body: Mapping[str, Any], zone: tzinfo, headline: str, *extra: Fact | None) -> Wording:
    lead = body.get("lead") or {}
    store, lead_id = text(lead.get("store")), text(lead.get("lead_id"))
    facts = (
        _fact("Store", store),
        _fact("Lead", lead_id),
        _fact("Source", text(lead.get("source"))),
        _fact("Associate", text(lead.get("associate"))),
        _fact("Received", when(lead.get("received_at"), zone)),
        *extra,
    )
    about = tuple(a for a in (store, f"lead {lead_id}" if lead_id else "") if a)
    return Wording(headline, about, tuple(f for f in facts if f is not None))


def _untouched(body: Mapping[str, Any], zone: tzinfo) -> Wording:
    waited = minutes(body.get("waited_minutes"))
    headline = f"Lead waiting {waited} with no touch" if waited else "Lead waiting with no touch"
    return _lead(body, zone, headline, _fact("Waited", f"{waited} of open hours" if waited else ""))


def _escalated(body: Mapping[str, Any], zone: tzinfo) -> Wording:
    plain = _untouched(body, zone)
    return Wording(f"Escalation: {plain.headline[0].lower()}{plain.headline[1:]}", plain.about, plain.facts)


def _touched(body: Mapping[str, Any], zone: tzinfo) -> Wording:
    lead = body.get("lead") or {}
    after = _between(lead.get("received_at"), lead.get("first_touch_at"))
    return _lead(
        body,
        zone,
        f"Lead touched {after} after it arrived" if after else "Lead touched",
        _fact("First touch", when(lead.get("first_touch_at"), zone)),
    )


def _contacted(body: Mapping[str, Any], zone: tzinfo) -> Wording:
    lead = body.get("lead") or {}
    took = duration(lead.get("time_to_contact_s"))
    return _lead(
        body,
        zone,
        # Contact is a reply or a call that was a conversation: the channel fact says which.
        "Lead contacted" + (f" {took} after it arrived" if took else ""),
        _fact("Contact", when(lead.get("contact_at"), zone)),
        _fact("Channel", text(lead.get("contact_channel"))),
        _fact("Time to contact", took),
    )


def _opted_out(body: Mapping[str, Any], zone: tzinfo) -> Wording:
    return _lead(body, zone, "Customer opted out", _fact("Opted out", when(body.get("occurred_at"), zone)))


def _missed_call(body: Mapping[str, Any], zone: tzinfo) -> Wording:
    call = body.get("call") or {}
    length = duration(call.get("duration_s"))
    return _lead(
        body,
        zone,
        "Missed call from the customer",
        _fact("Call", when(call.get("at") or body.get("occurred_at"), zone)),
        _fact("Call status", text(call.get("status")) + (f", {length}" if length else "")),
    )


def _failing(body: Mapping[str, Any], zone: tzinfo) -> Wording:
    source = text(body.get("source"))
    facts = (
        _fact("Source", source),
        _fact("Failing since", when(body.get("since"), zone)),
        _fact("Error", text(body.get("error"))),
    )
    return Wording("Source failing", (source,) if source else (), tuple(f for f in facts if f))


def _recovered(body: Mapping[str, Any], zone: tzinfo) -> Wording:
    source = text(body.get("source"))
    down = minutes(body.get("down_minutes"))
    facts = (
        _fact("Source", source),
        _fact("Down since", when(body.get("since"), zone)),
        _fact("Down for", down),
        _fact("Last error", text(body.get("error"))),
    )
    headline = f"Source recovered after {down} down" if down else "Source recovered"
    return Wording(headline, (source,) if source else (), tuple(f for f in facts if f))


def _backlog(body: Mapping[str, Any], zone: tzinfo) -> Wording:
    count = body.get("count")
    store = text(body.get("store"))
    many = count if isinstance(count, int) and not isinstance(count, bool) else None
    if many is None:
        headline = "Review items waiting"
    else:
        headline = f"{many} review item{'s' if many != 1 else ''} waiting"
    facts = (_fact("Store", store), _fact("Oldest", when(body.get("oldest_at"), zone)))
    return Wording(headline, (store,) if store else (), tuple(f for f in facts if f))


_WORDS: dict[str, Callable[[Mapping[str, Any], tzinfo], Wording]] = {
    events.LEAD_UNTOUCHED: _untouched,
    events.LEAD_UNTOUCHED_ESCALATED: _escalated,
    events.LEAD_TOUCHED: _touched,
    events.LEAD_CONTACTED: _contacted,
    events.LEAD_OPTED_OUT: _opted_out,
    events.LEAD_MISSED_CALL: _missed_call,
    events.SOURCE_FAILING: _failing,
    events.SOURCE_RECOVERED: _recovered,
    events.REVIEW_BACKLOG: _backlog,
}


def _fact(label: str, value: str) -> Fact | None:
    return Fact(label, value) if value else None


def one_line(value: str) -> str:
    """A value as one line of at most MAX_VALUE characters: control characters and line breaks (which
    could fake another fact, or a mail header) become spaces."""
    flat = re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+", " ", value).strip()
    return flat if len(flat) <= MAX_VALUE else flat[: MAX_VALUE - 1].rstrip() + "…"


def text(value: Any) -> str:
    """A text from the event, shown as one line; nothing for null."""
    return "" if value is None else one_line(str(value))


def when(value: Any, zone: tzinfo) -> str:
    """An ISO 8601 time of the event in the store's zone: `Mon 7 Dec 2026 09:14 CST`; a time that does not
    read is shown as it came."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return text(value)
    if moment.tzinfo is None:
        return text(value)
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y %H:%M} {local.tzname() or ''}".rstrip()


def duration(seconds: Any) -> str:
    """`45 s`, `15 min`, `2 h 05 min`, `3 d 4 h`; nothing when unknown."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        return ""
    if seconds < 60:
        return f"{int(seconds)} s"
    total = int(seconds // 60)
    if total < 60:
        return f"{total} min"
    hours, mins = divmod(total, 60)
    return f"{hours} h {mins:02d} min" if hours < 48 else f"{hours // 24} d {hours % 24} h"


def minutes(value: Any) -> str:
    """A count of minutes as a duration: `15 min`, `1 h 30 min`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    return duration(value * 60)


def _between(start: Any, end: Any) -> str:
    try:
        a = datetime.fromisoformat(str(start).replace("Z", "+00:00"))
        b = datetime.fromisoformat(str(end).replace("Z", "+00:00"))
        return duration((b - a).total_seconds())
    except (TypeError, ValueError):  # missing, naive or unreadable: say nothing rather than a guess
        return ""
