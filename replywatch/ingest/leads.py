"""Adding leads (from ADF notices or a CSV import) and keeping each lead's contact state current."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from replywatch.clock import as_utc, iso_z
from replywatch.domain import events
from replywatch.domain.calls import CallOutcome
from replywatch.domain.contact import MessageFact, contact_state
from replywatch.domain.events import NewEvent
from replywatch.domain.normalize import loose_email, normalize_email, normalize_phone
from replywatch.domain.vocabulary import Channel, Direction
from replywatch.ingest.directory import Directory
from replywatch.match.candidates import EARLY_SLACK
from replywatch.match.link import Matching, rematch_for_leads
from replywatch.match.names import keys_to_find_messages
from replywatch.match.namescore import lead_blocking_keys, lead_names
from replywatch.match.policy import MatchPolicy
from replywatch.parse.types import LeadRecord
from replywatch.store import Session, outbox, repo
from replywatch.store import leads as rows
from replywatch.store.leads import NewIdentity, NewLead
from replywatch.store.models import IDENTITY_LENGTH
from replywatch.store.repo import CONTACT_COLUMNS, MatchedMessage

_REMATCH_SLACK_DAYS = 1
UNDELIVERED = frozenset({"failed", "undelivered"})  # it never reached the customer: not a touch


@dataclass(frozen=True)
class LeadInput:
    """A lead record with where it came from: the notice that carried it and that notice's time."""

    record: LeadRecord
    fallback_received_at: datetime | None = None
    origin_message_id: int | None = None


def add_leads(
    session: Session,
    directory: Directory,
    inputs: Sequence[LeadInput],
    *,
    default_store: str | None,
    open_days: int,
    now: datetime,
    policy: MatchPolicy,
) -> tuple[list[int], set[int]]:
    """Store new leads (a lead already known by source and id is left as it is) and re-match the
    messages they explain. Returns (new lead ids, leads whose contact state must be recomputed)."""
    known = repo.existing_lead_keys(session, [(i.record.source, i.record.external_id) for i in inputs])
    leads: list[NewLead] = []
    for given in inputs:
        key = (given.record.source, given.record.external_id)
        if key not in known:
            known.add(key)
            leads.append(new_lead(directory, given, default_store))
    if not leads:
        return [], set()
    mark_bounced(session, leads)
    ids = rows.insert_leads(session, leads, now)
    rows.insert_name_keys(session, name_key_rows(leads, ids))
    keys = sorted({i.value for lead in leads for i in lead.identities} | lookup_keys(leads))
    # Matches made since the earliest new lead may now belong to it (the latest lead of a shopper wins).
    since = min(lead.received_at for lead in leads) - timedelta(days=_REMATCH_SLACK_DAYS)
    matching = Matching(policy, open_days, directory, now)
    affected = set(ids) | rematch_for_leads(session, keys, since, matching)
    return ids, affected


def record_bounces(session: Session, recipients: Sequence[dict[str, Any]]) -> None:
    """Keep the addresses bounces reported and mark them on the leads that were ours when the mail
    bounced: received before it, or up to EARLY_SLACK after it (a lead whose notice came a little late)."""
    rows.record_bounces(session, recipients, EARLY_SLACK)


def mark_bounced(session: Session, leads: Sequence[NewLead]) -> None:
    """New leads' addresses that a stored bounce reported while the lead was ours: marked with the latest."""
    emails = sorted({i.value for lead in leads for i in lead.identities if i.kind == "email"})
    bounces: dict[str, list[tuple[datetime, str]]] = {}
    for address, status, at in repo.bounces_of(session, emails):
        bounces.setdefault(address, []).append((at, status or ""))
    if not bounces:
        return
    for lead in leads:
        for identity in lead.identities:
            found = bounces.get(identity.value) if identity.kind == "email" else None
            ours = [b for b in found or () if b[0] + EARLY_SLACK >= lead.received_at]
            if ours:
                at, status = max(ours)
                identity.bounced_at, identity.bounce_status = at, status or None


def lookup_keys(leads: Iterable[NewLead]) -> set[str]:
    """Name keys that find the messages naming these leads, nicknames included."""
    names = (n for lead in leads for n in lead_names(lead.first_name, lead.last_name, lead.full_name))
    return {key for name in names for key in keys_to_find_messages(name)}


def new_lead(directory: Directory, given: LeadInput, default_store: str | None) -> NewLead:
    record = given.record
    store = directory.store(record.store) or directory.store(default_store) or directory.default_store
    received = record.received_at or given.fallback_received_at
    if received is None:
        raise ValueError(f"lead {record.external_id}: no received time")
    if received.tzinfo is None:
        received = received.replace(tzinfo=store.zone) if store else as_utc(received)
    full_name = record.full_name or " ".join(n for n in (record.first_name, record.last_name) if n) or None
    region = store.region if store else "US"
    emails = {e for e in map(normalize_email, record.emails) if e}
    values = {("email", e) for e in emails} | {("loose", x) for e in emails if (x := loose_email(e)) != e}
    values |= {("phone", p) for p in (normalize_phone(x, region) for x in record.phones) if p}
    return NewLead(
        source=record.source,
        external_id=record.external_id,
        external_id_source=record.external_id_source,
        store_id=store.id if store else None,
        associate_id=directory.associate_names.get(record.associate.casefold()) if record.associate else None,
        received_at=as_utc(received),
        origin_message_id=given.origin_message_id,
        first_name=record.first_name,
        last_name=record.last_name,
        full_name=full_name,
        vehicle=record.vehicle,
        # An address longer than an identity holds is no address anyone writes from: not kept, not clipped.
        identities=[NewIdentity(k, v) for k, v in sorted(values) if len(v) <= IDENTITY_LENGTH],
    )


def name_key_rows(leads: Sequence[NewLead], ids: Sequence[int]) -> list[dict[str, Any]]:
    """The blocking keys of the leads' names, as lead_name_keys rows."""
    return [
        {"lead_id": lead_id, "key": key, "received_at": lead.received_at}
        for lead, lead_id in zip(leads, ids, strict=True)
        for key in lead_blocking_keys(lead.first_name, lead.last_name, lead.full_name)
    ]


def refresh_contacts(
    session: Session, directory: Directory, lead_ids: Iterable[int], *, now: datetime
) -> None:
    """Recompute the contact state of these leads from their matched messages (a few queries in all):
    read with Core, written with one executemany UPDATE of the leads whose state changed. What became
    true of a lead (first touched, contacted, opted out, a missed call) goes to the outbox in the same
    transaction."""
    ids = sorted(set(lead_ids))
    rows.lock_leads(session, ids)
    facts = repo.matched_message_facts(session, ids)
    updates: list[dict[str, Any]] = []
    news: list[tuple[int, int | None, list[_Fact]]] = []
    for lead in repo.lead_contact_rows(session, ids):
        matched = facts.get(lead.id, [])
        known = [_fact(row, directory.min_call_seconds) for row in matched]
        state = contact_state(lead.received_at, known, directory.hours(lead.store_id))
        values = {column: getattr(state, column) for column in CONTACT_COLUMNS}
        associate_id = lead.associate_id
        if associate_id is None:
            associate_id = _first_toucher(matched, state.first_touch_at)
        values["associate_id"] = associate_id
        if any(getattr(lead, column) != value for column, value in values.items()):
            updates.append({"id": lead.id, **values})
        happened = _lead_facts(lead, values, matched, directory.min_call_seconds)
        if happened:
            news.append((lead.id, lead.store_id, happened))
    rows.write_contacts(session, updates, now)
    _raise_lead_events(session, directory, news, now)


# The lead events a contact column raises when it goes from empty to set.
_FACT_COLUMNS = (
    (events.LEAD_TOUCHED, "first_touch_at"),
    (events.LEAD_CONTACTED, "contact_at"),
    (events.LEAD_OPTED_OUT, "opted_out_at"),
)


# (event type, key, when, data beyond the lead) of one thing that became true of a lead.
_Fact = tuple[str, str, datetime, dict[str, Any]]


def _lead_facts(
    lead: Any, values: dict[str, Any], matched: list[MatchedMessage], min_call_seconds: int
) -> list[_Fact]:
    """Each fact about the lead that the new state holds and the stored state did not, and every missed
    call from the customer (its key, the call's, makes it one event however often it is seen)."""
    found: list[_Fact] = [
        (kind, f"{kind}:{lead.id}", values[column], {})
        for kind, column in _FACT_COLUMNS
        if values[column] is not None and getattr(lead, column) is None
    ]
    for row in matched:
        if _missed_call(row, min_call_seconds):
            call = {"at": iso_z(row.sent_at), "status": row.status, "duration_s": row.duration_s}
            found.append(
                (events.LEAD_MISSED_CALL, f"{events.LEAD_MISSED_CALL}:{row.id}", row.sent_at, {"call": call})
            )
    return found


def _missed_call(row: MatchedMessage, min_call_seconds: int) -> bool:
    """The customer called us and nobody took it: no answer, busy, canceled, or our voicemail."""
    if row.channel != Channel.CALL or row.direction != Direction.INBOUND:
        return False
    outcome = CallOutcome(row.status, row.duration_s, row.answered_by)
    return outcome.is_missed()


def _raise_lead_events(
    session: Session,
    directory: Directory,
    news: list[tuple[int, int | None, list[_Fact]]],
    now: datetime,
) -> None:
    if not news:
        return
    snapshots = outbox.lead_snapshots(session, [lead_id for lead_id, _, _ in news])
    raised = [
        NewEvent(kind, key, at, {"lead": snapshots[lead_id], **extra}, lead_id=lead_id, store_id=store_id)
        for lead_id, store_id, happened in news
        for kind, key, at, extra in sorted(happened, key=lambda h: (h[2], _ORDER.get(h[0], 9)))
        if lead_id in snapshots
    ]
    outbox.record_events(session, raised, directory.subscriptions, now)


# Facts of one lead that share a time reach a receiver in this order.
_ORDER = {
    kind: i
    for i, kind in enumerate(
        (events.LEAD_TOUCHED, events.LEAD_MISSED_CALL, events.LEAD_CONTACTED, events.LEAD_OPTED_OUT)
    )
}


def _fact(row: MatchedMessage, min_call_seconds: int) -> MessageFact:
    call = CallOutcome(row.status, row.duration_s, row.answered_by) if row.channel == Channel.CALL else None
    return MessageFact(
        id=row.id,
        sent_at=row.sent_at,
        direction=row.direction,
        kind=row.kind,
        channel=row.channel,
        is_reply=bool(row.is_reply),
        counts_as_touch=row.status not in UNDELIVERED,
        conversation=call is not None and call.is_conversation(min_call_seconds),
    )


def _first_toucher(rows: list[MatchedMessage], first_touch_at: datetime | None) -> int | None:
    """Who made the first touch (our message, or the associate who took the customer's call): the lead's
    associate when the lead named none."""
    for row in sorted(rows, key=lambda r: (r.sent_at, r.id)):
        if (
            row.sent_at == first_touch_at
            and (row.direction == Direction.OUTBOUND or row.channel == Channel.CALL)
            and row.associate_id is not None
        ):
            return int(row.associate_id)
    return None
