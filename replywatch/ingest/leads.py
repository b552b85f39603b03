"""Adding leads (from ADF notices or a CSV import) and keeping each lead's contact state current."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import String, and_, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session

from replywatch.clock import as_utc
from replywatch.config import Settings
from replywatch.domain.contact import MessageFact, contact_state
from replywatch.domain.normalize import loose_email, normalize_email, normalize_phone
from replywatch.ingest.directory import Directory
from replywatch.match.candidates import EARLY_SLACK
from replywatch.match.link import Matching, rematch_for_leads
from replywatch.match.names import keys_to_find_messages
from replywatch.match.namescore import lead_blocking_keys, lead_names
from replywatch.match.policy import MatchPolicy, load_policy
from replywatch.parse.types import LeadRecord
from replywatch.store import repo
from replywatch.store.models import (
    IDENTITY_LENGTH,
    LEAD_TEXT_LENGTHS,
    BounceRecipient,
    Lead,
    LeadIdentity,
    LeadNameKey,
    UTCDateTime,
    clip_texts,
)
from replywatch.store.repo import CONTACT_COLUMNS

_REMATCH_SLACK_DAYS = 1
_LOCK_CHUNK = 1000
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
    policy: MatchPolicy | None = None,
) -> tuple[list[int], set[int]]:
    """Store new leads (a lead already known by source and id is left as it is) and re-match the
    messages they explain. Returns (new lead ids, leads whose contact state must be recomputed)."""
    known = repo.existing_lead_keys(session, [(i.record.source, i.record.external_id) for i in inputs])
    leads: list[Lead] = []
    for given in inputs:
        key = (given.record.source, given.record.external_id)
        if key not in known:
            known.add(key)
            leads.append(_new_lead(directory, given, default_store))
    if not leads:
        return [], set()
    _mark_bounced(session, leads)
    session.add_all(leads)
    session.flush()
    _add_name_keys(session, leads)
    keys = sorted({i.value for lead in leads for i in lead.identities} | _lookup_keys(leads))
    # Matches made since the earliest new lead may now belong to it (the latest lead of a shopper wins).
    since = min(lead.received_at for lead in leads) - timedelta(days=_REMATCH_SLACK_DAYS)
    matching = Matching(policy or load_policy(None), open_days, directory, now)
    affected = {lead.id for lead in leads} | rematch_for_leads(session, keys, since, matching)
    return [lead.id for lead in leads], affected


def record_bounces(session: Session, recipients: Sequence[dict[str, Any]]) -> None:
    """Keep the addresses bounces reported (rows of bounce_recipients) and mark them on the leads that
    were ours when the mail bounced: received before it, or up to EARLY_SLACK after it, as a message
    belongs to a lead whose notice came a little late. Of several bounces of an address, the latest is
    the mark, whatever the order they are stored in; a lead stored later gets its mark in `add_leads`."""
    if not recipients:
        return
    session.execute(insert(BounceRecipient), recipients)
    b_at, b_status = bindparam("b_at", type_=UTCDateTime()), bindparam("b_status", type_=String())
    newer = or_(
        LeadIdentity.bounced_at.is_(None),
        LeadIdentity.bounced_at < b_at,
        and_(LeadIdentity.bounced_at == b_at, func.coalesce(LeadIdentity.bounce_status, "") < b_status),
    )
    b_latest = bindparam("b_latest", type_=UTCDateTime())
    ours = exists().where(Lead.id == LeadIdentity.lead_id, Lead.received_at <= b_latest)
    stmt = (
        update(LeadIdentity)
        .where(LeadIdentity.kind == "email", LeadIdentity.value == bindparam("b_value"), newer, ours)
        .values(bounced_at=b_at, bounce_status=func.nullif(b_status, ""))
    )
    rows = [
        {
            "b_value": r["address"],
            "b_at": r["bounced_at"],
            "b_status": r["status"] or "",
            "b_latest": r["bounced_at"] + EARLY_SLACK,
        }
        for r in recipients
    ]
    session.connection().execute(stmt, rows)


def _mark_bounced(session: Session, leads: Sequence[Lead]) -> None:
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


def _lookup_keys(leads: Iterable[Lead]) -> set[str]:
    """Name keys that find the messages naming these leads, nicknames included."""
    names = (n for lead in leads for n in lead_names(lead.first_name, lead.last_name, lead.full_name))
    return {key for name in names for key in keys_to_find_messages(name)}


def _new_lead(directory: Directory, given: LeadInput, default_store: str | None) -> Lead:
    record = given.record
    store = directory.store(record.store) or directory.store(default_store) or directory.default_store
    received = record.received_at or given.fallback_received_at
    if received is None:
        raise ValueError(f"lead {record.external_id}: no received time")
    if received.tzinfo is None:
        received = received.replace(tzinfo=store.zone) if store else as_utc(received)
    full_name = record.full_name or " ".join(n for n in (record.first_name, record.last_name) if n) or None
    texts = {
        "first_name": record.first_name,
        "last_name": record.last_name,
        "full_name": full_name,
        "vehicle": record.vehicle,
    }
    lead = Lead(
        source=record.source,
        external_id=record.external_id,
        external_id_source=record.external_id_source,
        store_id=store.id if store else None,
        associate_id=directory.associate_names.get(record.associate.casefold()) if record.associate else None,
        received_at=as_utc(received),
        origin_message_id=given.origin_message_id,
        **clip_texts(texts, LEAD_TEXT_LENGTHS),
    )
    region = store.region if store else "US"
    emails = {e for e in map(normalize_email, record.emails) if e}
    values = {("email", e) for e in emails} | {("loose", x) for e in emails if (x := loose_email(e)) != e}
    values |= {("phone", p) for p in (normalize_phone(x, region) for x in record.phones) if p}
    # An address longer than an identity holds is no address anyone writes from: not kept, not clipped.
    lead.identities = [LeadIdentity(kind=k, value=v) for k, v in sorted(values) if len(v) <= IDENTITY_LENGTH]
    return lead


def _add_name_keys(session: Session, leads: Iterable[Lead]) -> None:
    """The blocking keys of the leads' names, in one statement."""
    rows = [
        {"lead_id": lead.id, "key": key, "received_at": lead.received_at}
        for lead in leads
        for key in lead_blocking_keys(lead.first_name, lead.last_name, lead.full_name)
    ]
    if rows:
        session.execute(insert(LeadNameKey), rows)


def import_leads(
    session: Session,
    settings: Settings,
    records: list[LeadRecord],
    now: datetime,
    policy: MatchPolicy | None = None,
) -> tuple[int, int]:
    """A lead file into the store: new leads added, their messages re-matched, contact recomputed.
    Without `policy`, the one of the configured rules folder (else the shipped one) applies.

    Returns (new leads, leads already known)."""
    directory = Directory(session, settings)
    inputs = [LeadInput(r) for r in records]
    new_ids, affected = add_leads(
        session,
        directory,
        inputs,
        default_store=None,
        open_days=settings.matching.lead_open_days,
        now=now,
        policy=policy or load_policy(Path(settings.rules_dir) if settings.rules_dir else None),
    )
    refresh_contacts(session, directory, affected)
    return len(new_ids), len(records) - len(new_ids)


def refresh_contacts(session: Session, directory: Directory, lead_ids: Iterable[int]) -> None:
    """Recompute the contact state of these leads from their matched messages (a few queries in all):
    read with Core, written with one executemany UPDATE of the leads whose state changed."""
    ids = sorted(set(lead_ids))
    _lock_leads(session, ids)
    facts = repo.matched_message_facts(session, ids)
    updates: list[dict[str, Any]] = []
    for lead in repo.lead_contact_rows(session, ids):
        rows = facts.get(lead.id, [])
        state = contact_state(lead.received_at, map(_fact, rows), directory.hours(lead.store_id))
        values = {column: getattr(state, column) for column in CONTACT_COLUMNS}
        associate_id = lead.associate_id
        if associate_id is None:
            associate_id = _first_toucher(rows, state.first_touch_at)
        values["associate_id"] = associate_id
        if any(getattr(lead, column) != value for column, value in values.items()):
            updates.append({"b_id": lead.id, **{f"b_{column}": value for column, value in values.items()}})
    if not updates:
        return
    stmt = (
        update(Lead)
        .where(Lead.id == bindparam("b_id"))
        .values({column: bindparam(f"b_{column}") for column in (*CONTACT_COLUMNS, "associate_id")})
    )
    session.connection().execute(stmt, updates)
    _expire_loaded(session, {row["b_id"] for row in updates})


def _expire_loaded(session: Session, ids: set[int]) -> None:
    """Leads of these ids already in the session were written past the ORM: their attributes reload."""
    for lead_id in ids:
        obj = session.identity_map.get(session.identity_key(Lead, lead_id))
        if obj is not None:
            session.expire(obj, [*CONTACT_COLUMNS, "associate_id"])


def _lock_leads(session: Session, ids: list[int]) -> None:
    """On PostgreSQL, lock the leads' rows (in id order, so two writers cannot deadlock on them) before
    reading their messages: a writer that matched a message to one of them meanwhile has committed by then,
    and its match is read. Without it two writers storing messages of one lead at once could each write
    the contact state of their own snapshot, and the last one would lose the other's touch. Writers in a
    store.db.batch_transaction take turns already; this guards any that do not. SQLite serialises
    writers itself."""
    if not ids or session.get_bind().dialect.name != "postgresql":
        return
    for chunk in repo.chunks(ids, _LOCK_CHUNK):
        session.execute(select(Lead.id).where(Lead.id.in_(chunk)).order_by(Lead.id).with_for_update())


def _fact(row: Any) -> MessageFact:
    _, message_id, sent_at, direction, kind, channel, is_reply, status, _ = row
    return MessageFact(
        id=message_id,
        sent_at=sent_at,
        direction=direction,
        kind=kind,
        channel=channel,
        is_reply=bool(is_reply),
        counts_as_touch=status not in UNDELIVERED,
    )


def _first_toucher(rows: list[Any], first_touch_at: datetime | None) -> int | None:
    """Who made the first touch: the lead's associate when the lead named none."""
    for row in sorted(rows, key=lambda r: (r[2], r[1])):
        if row[2] == first_touch_at and row[3] == "outbound" and row[8] is not None:
            return int(row[8])
    return None
