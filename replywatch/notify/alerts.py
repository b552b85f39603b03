"""Alerts: leads nobody touched in time, sources down and back, a stale review queue. Each is put in the
outbox once (its key names the lead, the outage or the store-day), however many daemons check at once.

Only what can still be acted on alerts: a lead stored long after it arrived (a backfill) never does, nor
one whose alert came due more than `lookback_hours` ago; outages and backlogs are judged as they stand now.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo

from replywatch.clock import as_utc, iso_z
from replywatch.config import AlertsConfig, Settings, SourceConfig
from replywatch.domain.business_hours import BusinessHours
from replywatch.domain.events import (
    LEAD_UNTOUCHED,
    LEAD_UNTOUCHED_ESCALATED,
    REVIEW_BACKLOG,
    SOURCE_FAILING,
    SOURCE_RECOVERED,
    NewEvent,
)
from replywatch.ingest.directory import Directory, StoreInfo
from replywatch.store import Session, Sessions, outbox
from replywatch.store import alerts as rows
from replywatch.store.alerts import Outage, SourceHealth, StaleReviews, UntouchedLead
from replywatch.store.db import hide_secrets, secrets_of

# A lead's untouched alert goes in (and out) before its escalation, a source's recovery before its next
# outage.
_ORDER = (LEAD_UNTOUCHED, LEAD_UNTOUCHED_ESCALATED, SOURCE_RECOVERED, SOURCE_FAILING, REVIEW_BACKLOG)
_WEEK = timedelta(days=7)
_OUTAGE_MEMORY = timedelta(days=30)  # a source down longer than this gets no `source.recovered`
_ERROR_LENGTH = 500


@dataclass(frozen=True)
class AlertsRaised:
    """How many events of each type this check put in the outbox (new ones only; types with none left
    out)."""

    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def raise_alerts(sessions: Sessions, settings: Settings, directory: Directory, now: datetime) -> AlertsRaised:
    """Look for leads, sources and review items that need someone now; put each new alert in the outbox."""
    with sessions() as session, session.begin():
        found = [
            *_lead_alerts(session, settings.alerts, directory, now),
            *_source_alerts(session, settings, directory, now),
            *backlog_alerts(
                rows.stale_reviews(session, now - _hours(settings.alerts.review_stale_hours)), directory, now
            ),
        ]
        known = rows.known_keys(session, [e.key for e in found])
        fresh = _with_leads(session, [e for e in found if e.key not in known])
        counts = {}
        for kind in _ORDER:
            # In key order: two daemons inserting the same keys in different orders could deadlock.
            of_kind = sorted((e for e in fresh if e.type == kind), key=lambda e: e.key)
            raised = outbox.record_events(session, of_kind, directory.subscriptions, now)
            if raised:
                counts[kind] = raised
    return AlertsRaised(counts)


# Leads nobody has touched.


def _lead_alerts(
    session: Session, alerts: AlertsConfig, directory: Directory, now: datetime
) -> list[NewEvent]:
    """Each store's untouched live leads, looked up over the span in which an alert of theirs can be due
    and not yet stale."""
    found = []
    for store_id in [*directory.by_id, None]:
        hours = _open_hours(directory, store_id, now)
        received_after = (
            now - _hours(alerts.lookback_hours) - longest_wait(hours, alerts.escalate_after_minutes, now)
        )
        for lead in rows.untouched_leads(session, store_id, received_after):
            found += lead_alerts(lead, hours, alerts, now)
    return found


def lead_alerts(
    lead: UntouchedLead, hours: BusinessHours | None, alerts: AlertsConfig, now: datetime
) -> list[NewEvent]:
    """The untouched alerts of a lead that are due now and not stale; none for a lead stored long after
    it arrived (history). `data` holds `waited_minutes`; the caller adds the lead."""
    lookback = _hours(alerts.lookback_hours)
    if as_utc(lead.stored_at) - as_utc(lead.received_at) > lookback:
        return []
    found = []
    for kind, minutes in (
        (LEAD_UNTOUCHED, alerts.untouched_after_minutes),
        (LEAD_UNTOUCHED_ESCALATED, alerts.escalate_after_minutes),
    ):
        due = due_at(hours, lead.received_at, minutes)
        if due <= now and now - due <= lookback:
            data = {"waited_minutes": minutes}
            found.append(
                NewEvent(kind, f"{kind}:{lead.id}", due, data, lead_id=lead.id, store_id=lead.store_id)
            )
    return found


def due_at(hours: BusinessHours | None, received_at: datetime, minutes: int) -> datetime:
    """When a lead has waited `minutes`: of its store's open hours, or of the wall clock for a lead of no
    store (or of a store with no open hours at all, whose open minutes would never pass)."""
    if hours is None:
        return as_utc(received_at) + timedelta(minutes=minutes)
    return hours.after_open(received_at, minutes)


def longest_wait(hours: BusinessHours | None, minutes: int, now: datetime) -> timedelta:
    """At most how long after it arrives a lead has waited `minutes`: every 7 days hold a week's open
    hours, so whole weeks enough for them, and one more for a week shortened by a DST change."""
    if hours is None:
        return timedelta(minutes=minutes)
    weekly = hours.seconds_between(now, now + _WEEK)
    return _WEEK * (math.ceil(minutes * 60 / weekly) + 1)


def _open_hours(directory: Directory, store_id: int | None, now: datetime) -> BusinessHours | None:
    """The store's open hours; None (the wall clock) for no store or a store never open."""
    hours = directory.hours(store_id)
    if hours is None or hours.seconds_between(now, now + _WEEK) == 0:
        return None
    return hours


def _with_leads(session: Session, events: list[NewEvent]) -> list[NewEvent]:
    """Lead alerts with the lead as the webhook contract shows it; a lead deleted meanwhile raises none."""
    lead_ids = [e.lead_id for e in events if e.lead_id is not None]
    snapshots = outbox.lead_snapshots(session, lead_ids) if lead_ids else {}
    return [
        e if e.lead_id is None else replace(e, data={"lead": snapshots[e.lead_id], **e.data})
        for e in events
        if e.lead_id is None or e.lead_id in snapshots
    ]


# Sources down and back.


def _source_alerts(
    session: Session, settings: Settings, directory: Directory, now: datetime
) -> list[NewEvent]:
    names = [s.name for s in settings.sources]
    if not names:
        return []
    states = rows.source_health(session, names)
    found = []
    secrets: list[str] | None = None  # read only when a source is down
    for cfg in settings.sources:
        state = states.get(cfg.name)  # none yet: never polled, nothing to judge (see down_since)
        limit = _unpolled_limit(settings, cfg)
        down = down_since(state, limit, _minutes(settings.alerts.source_down_minutes), now) if state else None
        if state and down:
            secrets = secrets_of(settings) if secrets is None else secrets
            found.append(failing_event(cfg.name, _store_id(directory, cfg), state, down, now, secrets))
    for outage in rows.outages(session, SOURCE_FAILING, names, now - _OUTAGE_MEMORY):
        cfg = next(s for s in settings.sources if s.name == outage.source)
        event = recovered_event(outage, states.get(outage.source), _store_id(directory, cfg))
        if event:
            found.append(event)
    return found


def down_since(
    state: SourceHealth, unpolled: timedelta, down: timedelta, now: datetime
) -> tuple[str, datetime] | None:
    """(episode, since) of the outage a source is in, or None when it is up. An outage's episode is its
    last success (`never` before the first); it is down when its latest poll failed (or it is paused)
    and its last success is `down` old, or when nobody has polled it for `unpolled`. A source that never
    once succeeded is down from its first failure, and a paused one at once: waiting fixes neither."""
    failing = state.failures > 0 or state.paused
    if state.last_success_at is None:
        return ("never", as_utc(state.last_attempt_at or now)) if failing else None
    since = as_utc(state.last_success_at)
    episode = iso_z(since)
    if state.paused or (failing and now - since >= down):
        return episode, since
    if state.last_attempt_at is not None and now - as_utc(state.last_attempt_at) >= unpolled:
        return episode, since
    return None


def failing_event(
    name: str,
    store_id: int | None,
    state: SourceHealth,
    down: tuple[str, datetime],
    now: datetime,
    secrets: Sequence[str],
) -> NewEvent:
    episode, since = down
    data = {"source": name, "error": error_line(state, secrets), "since": iso_z(since)}
    return NewEvent(
        SOURCE_FAILING, f"{SOURCE_FAILING}:{name}:{episode}", now, data, store_id=store_id, source=name
    )


def recovered_event(outage: Outage, state: SourceHealth | None, store_id: int | None) -> NewEvent | None:
    """`source.recovered` for an outage once its source has succeeded after the success that began it."""
    if state is None or state.last_success_at is None:
        return None
    back = as_utc(state.last_success_at)
    if outage.episode != "never" and iso_z(back) <= outage.episode:  # same format: ordered as times
        return None
    since = datetime.fromisoformat(str(outage.data["since"]).replace("Z", "+00:00"))
    down_minutes = max(0, int((back - since).total_seconds() // 60))
    data = {"source": outage.source, "error": None, "since": iso_z(since), "down_minutes": down_minutes}
    key = f"{SOURCE_RECOVERED}:{outage.source}:{outage.episode}"
    return NewEvent(SOURCE_RECOVERED, key, back, data, store_id=store_id, source=outage.source)


def error_line(state: SourceHealth, secrets: Sequence[str]) -> str:
    """What is wrong, in one line as `replywatch status` shows it, with every secret hidden."""
    lines = (state.last_error or "").strip().splitlines()
    line = lines[0] if lines else ""
    if not line and state.last_attempt_at is not None:
        line = f"not polled since {iso_z(state.last_attempt_at)}"
    if state.paused:
        line = f"paused (fix the configuration, then reload): {line}"
    return hide_secrets(line, secrets)[:_ERROR_LENGTH]


def _unpolled_limit(settings: Settings, cfg: SourceConfig) -> timedelta:
    """Not polled for `source_down_minutes`, or for as long as `status` waits before calling it stalled
    (three intervals and the watchdog's grace) when that is longer: a source polled hourly is not down
    after 15 minutes."""
    return max(
        _minutes(settings.alerts.source_down_minutes),
        timedelta(seconds=settings.daemon.stall_limit(cfg.interval)),
    )


def _store_id(directory: Directory, cfg: SourceConfig) -> int | None:
    info = directory.store(cfg.store)
    return info.id if info else None


# The review queue.


def backlog_alerts(stale: Sequence[StaleReviews], directory: Directory, now: datetime) -> list[NewEvent]:
    """One `review.backlog` per store and store-local day while stale items wait (no store: the first
    store's zone, else UTC)."""
    found = []
    for group in stale:
        info = directory.by_id.get(group.store_id) if group.store_id is not None else None
        day = now.astimezone(_zone(directory, info)).date().isoformat()
        key = f"{REVIEW_BACKLOG}:{group.store_id if group.store_id is not None else 'none'}:{day}"
        data = {
            "store": info.name if info else None,
            "count": group.count,
            "oldest_at": iso_z(group.oldest_at),
        }
        found.append(NewEvent(REVIEW_BACKLOG, key, now, data, store_id=group.store_id))
    return found


def _zone(directory: Directory, info: StoreInfo | None) -> tzinfo:
    store = info or directory.default_store
    return store.zone if store else UTC


def _hours(n: int) -> timedelta:
    return timedelta(hours=n)


def _minutes(n: int) -> timedelta:
    return timedelta(minutes=n)
