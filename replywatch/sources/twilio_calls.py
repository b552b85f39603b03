"""The Twilio call log through the official SDK: one item per call, its legs merged, read by GMT day.

A forwarded call (`<Dial>`) is listed as a parent leg (the customer and our number) and child legs (each
number it rang). The item is the parent, with how the conversation went taken from the child that
connected: one conversation counts once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from twilio.base.exceptions import TwilioException

from replywatch.domain.vocabulary import Channel
from replywatch.errors import TransientSourceError
from replywatch.parse.calls import GENERIC
from replywatch.sources.base import RawItem, dump_cursor, load_cursor
from replywatch.sources.twilio import TwilioSource
from replywatch.sources.twilio_pages import instant, pages

CURSOR_KEY = "twilio-calls"
_UNFINISHED = frozenset({"queued", "ringing", "in-progress", "initiated"})


@dataclass(frozen=True, slots=True)
class _Leg:
    started_at: datetime
    started_iso: str
    record: Mapping[str, Any]

    @property
    def sid(self) -> str:
        return str(self.record["sid"])

    @property
    def status(self) -> str:
        return str(self.record.get("status") or "")

    @property
    def duration(self) -> int:
        text = str(self.record.get("duration") or "0")
        return int(text) if text.isdigit() else 0


@dataclass(frozen=True, slots=True)
class _Call:
    parent: _Leg
    children: tuple[_Leg, ...]

    @property
    def finished(self) -> bool:
        return all(leg.status not in _UNFINISHED for leg in (self.parent, *self.children))

    def payload(self) -> dict[str, str]:
        """The call in the generic call log columns (`parse.calls`), `dialed` being the leg that rang."""
        parent = self.parent.record
        answered = _answered(self.children)
        outcome = answered.record if answered else parent
        answered_by = outcome.get("answered_by") or parent.get("answered_by") or ""
        if answered is None and parent.get("direction") == "inbound" and self.parent.status == "completed":
            # No <Dial> leg: Twilio's own TwiML (a menu, a <Record> voicemail) took the call, no person.
            answered_by = answered_by or "machine"
        return {
            "id": self.parent.sid,
            "started_at": self.parent.started_iso,
            "from": parent.get("from") or "",
            "to": parent.get("to") or "",
            "dialed": (answered.record.get("to") or "") if answered else "",
            "direction": parent.get("direction") or "",
            "duration_s": str(answered.duration if answered else self.parent.duration),
            "status": (answered or self.parent).status,
            "answered_by": str(answered_by),
        }


def _answered(children: tuple[_Leg, ...]) -> _Leg | None:
    """The child leg that connected (the longest completed one), else the first that rang; None alone."""
    if not children:
        return None
    completed = [c for c in children if c.status == "completed"]
    return max(completed, key=lambda c: c.duration) if completed else children[0]


class TwilioCallsSource(TwilioSource):
    """Calls of the account (those with a leg to or from `numbers`, when set), oldest first, each with its
    GMT day as the cursor: the same incremental read as the messages (StartTime filters whole days, so a
    poll reads from the day before the cursor and the pipeline skips the SIDs it has). A call still
    ringing or in progress waits for the next poll; the cursor never passes the day before it."""

    def items(self, cursors: Mapping[str, str]) -> Iterator[RawItem]:
        since = self._since(load_cursor(cursors.get(CURSOR_KEY)))
        marks: dict[date, tuple[str, tuple[str, str]]] = {}
        calls = sorted(self._calls(since), key=lambda c: (c.parent.started_at, c.parent.sid))
        for call in calls:
            if not call.finished:
                continue  # the cursor moves at most a day past it: the next poll reads it again
            started_on = call.parent.started_at.date()
            if started_on not in marks:
                day = started_on.isoformat()
                marks[started_on] = day, (CURSOR_KEY, dump_cursor({"day": day}))
            day, cursor = marks[started_on]
            yield RawItem(
                source=self.name,
                external_id=call.parent.sid,
                position=f"Twilio call {call.parent.sid} ({day})",
                payload=call.payload(),
                channel=Channel.CALL,
                cursor=cursor,
                dialect=GENERIC,
            )

    def _calls(self, since: date | None) -> list[_Call]:
        """Every call of the window with its legs; children of a parent outside the window are left out
        (the parent's poll read them)."""
        legs = self._legs(since)
        children: dict[str, list[_Leg]] = {}
        for leg in legs.values():
            parent = leg.record.get("parent_call_sid")
            if parent:
                children.setdefault(str(parent), []).append(leg)
        calls = []
        for leg in legs.values():
            if leg.record.get("parent_call_sid"):
                continue
            kids = tuple(sorted(children.get(leg.sid, ()), key=lambda c: (c.started_at, c.sid)))
            if self._ours(leg, kids):
                calls.append(_Call(leg, kids))
        return calls

    def _ours(self, parent: _Leg, children: Iterable[_Leg]) -> bool:
        if not self.cfg.numbers:
            return True
        numbers = set(self.cfg.numbers)
        legs = (parent, *children)
        return any(leg.record.get(end) in numbers for leg in legs for end in ("from", "to"))

    def _legs(self, since: date | None) -> dict[str, _Leg]:
        """Every leg of the window by SID, once each. The whole account is listed: a child leg that
        rang an associate's mobile names none of our numbers, and one listing beats one per number."""
        calls = self._client().api.account.calls
        query = {"start_time_after": since.isoformat()} if since else {}
        found: dict[str, _Leg] = {}
        try:
            for page in pages(calls, self.page_size, query):
                for record in page:
                    leg = _leg(record)
                    if leg is not None:
                        found[leg.sid] = leg
        except (TwilioException, json.JSONDecodeError) as exc:
            raise TransientSourceError(f"unexpected answer from {self.cfg.base_url}: {exc}") from exc
        return found


def _leg(record: Mapping[str, Any]) -> _Leg | None:
    """A listed call leg; None while it has no start time (queued) or no SID."""
    started = instant(record.get("start_time"))
    if started is None or not record.get("sid"):
        return None
    return _Leg(started[0], started[1], record)
