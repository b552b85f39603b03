"""The events replywatch tells other systems about, and who subscribes to which: pure, no I/O.

Lead events are facts (a CRM sync must see every one, history included); alert events are about leads
and sources that can still be acted on, so they are raised only while they are live.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

LEAD_TOUCHED = "lead.touched"
LEAD_CONTACTED = "lead.contacted"
LEAD_OPTED_OUT = "lead.opted_out"
LEAD_MISSED_CALL = "lead.missed_call"
LEAD_UNTOUCHED = "lead.untouched"
LEAD_UNTOUCHED_ESCALATED = "lead.untouched.escalated"
SOURCE_FAILING = "source.failing"
SOURCE_RECOVERED = "source.recovered"
REVIEW_BACKLOG = "review.backlog"

LEAD_FACTS = (LEAD_TOUCHED, LEAD_CONTACTED, LEAD_OPTED_OUT, LEAD_MISSED_CALL)
ALERTS = (LEAD_UNTOUCHED, LEAD_UNTOUCHED_ESCALATED, SOURCE_FAILING, SOURCE_RECOVERED, REVIEW_BACKLOG)
EVENT_TYPES = (*LEAD_FACTS, *ALERTS)


@dataclass(frozen=True)
class Subscription:
    """A notification target as the outbox sees it: its name, the event types it wants, and the stores
    (ids) it is limited to, or None for every store. An event of no store (a source's) goes to it too."""

    name: str
    events: frozenset[str]
    store_ids: frozenset[int] | None = None

    def wants(self, event_type: str, store_id: int | None) -> bool:
        if event_type not in self.events:
            return False
        return self.store_ids is None or store_id is None or store_id in self.store_ids


@dataclass(frozen=True)
class NewEvent:
    """An event to put in the outbox. `key` is unique among all events ever raised (the same fact seen
    twice, by two daemons or by a re-computation, is one event); `data` is the body beyond `id`, `type`
    and `occurred_at`: `lead` for lead events, `source` and `error` for source events."""

    type: str
    key: str
    occurred_at: datetime
    data: dict[str, Any]
    lead_id: int | None = None
    store_id: int | None = None
    source: str | None = None


def subscribers(subscriptions: Iterable[Subscription], event: NewEvent) -> list[str]:
    """The names of the targets that want this event."""
    return [s.name for s in subscriptions if s.wants(event.type, event.store_id)]
