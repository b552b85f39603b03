"""Writing leads: new leads with their identities and name keys, bounce marks, contact state, row locks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, bindparam, delete, exists, func, insert, or_, select, tuple_, update
from sqlalchemy.orm import Session

from replywatch.store.models import (
    LEAD_TEXT_LENGTHS,
    BounceRecipient,
    Lead,
    LeadIdentity,
    LeadNameKey,
    UTCDateTime,
    clip_texts,
)
from replywatch.store.repo import CONTACT_COLUMNS, change_stamp
from replywatch.store.sql import chunks, is_postgres

_LOCK_CHUNK = 1000


@dataclass
class NewIdentity:
    """An email address, loose address or phone number of a new lead, with its bounce mark if any."""

    kind: str
    value: str
    bounced_at: datetime | None = None
    bounce_status: str | None = None


@dataclass(frozen=True)
class NewLead:
    """A lead to insert: every column, texts not yet clipped, identities normalized."""

    source: str
    external_id: str
    external_id_source: str | None
    store_id: int | None
    associate_id: int | None
    received_at: datetime
    origin_message_id: int | None
    first_name: str | None
    last_name: str | None
    full_name: str | None
    vehicle: str | None
    identities: list[NewIdentity] = field(default_factory=list)


def insert_leads(session: Session, leads: Sequence[NewLead], now: datetime) -> list[int]:
    """The leads and their identities, stored (and changed) now; their ids, in the order given."""
    changed = change_stamp(session, now) if leads else now
    rows = [_lead_row(lead, now, changed) for lead in leads]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def _lead_row(lead: NewLead, now: datetime, changed: datetime) -> Lead:
    texts = {
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "full_name": lead.full_name,
        "vehicle": lead.vehicle,
    }
    row = Lead(
        source=lead.source,
        external_id=lead.external_id,
        external_id_source=lead.external_id_source,
        store_id=lead.store_id,
        associate_id=lead.associate_id,
        received_at=lead.received_at,
        origin_message_id=lead.origin_message_id,
        stored_at=now,
        changed_at=changed,
        **clip_texts(texts, LEAD_TEXT_LENGTHS),
    )
    row.identities = [
        LeadIdentity(kind=i.kind, value=i.value, bounced_at=i.bounced_at, bounce_status=i.bounce_status)
        for i in lead.identities
    ]
    return row


@dataclass(frozen=True)
class StoredLead:
    """What a lead file can change of a lead already stored, to tell whether a re-import changes it."""

    id: int
    store_id: int | None
    associate_id: int | None
    received_at: datetime
    first_name: str | None
    last_name: str | None
    full_name: str | None
    identities: frozenset[tuple[str, str]]


def stored_leads(session: Session, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], StoredLead]:
    """The leads stored under these (source, lead id) keys, with their identities."""
    found: dict[tuple[str, str], StoredLead] = {}
    for part in chunks(list(keys), _LOCK_CHUNK):
        stmt = select(Lead).where(tuple_(Lead.source, Lead.external_id).in_(part))
        for lead in session.scalars(stmt):
            found[(lead.source, lead.external_id)] = StoredLead(
                id=lead.id,
                store_id=lead.store_id,
                associate_id=lead.associate_id,
                received_at=lead.received_at,
                first_name=lead.first_name,
                last_name=lead.last_name,
                full_name=lead.full_name,
                identities=frozenset((i.kind, i.value) for i in lead.identities),
            )
    return found


def update_leads(session: Session, changes: Sequence[tuple[int, NewLead]], now: datetime) -> None:
    """Stored leads rewritten from a corrected file: names, store, associate, time and identities (an
    identity kept keeps its bounce mark). Their name keys are dropped: the caller inserts the new ones."""
    changed = change_stamp(session, now) if changes else now
    for lead_id, lead in changes:
        row = session.get_one(Lead, lead_id)
        texts = clip_texts(
            {"first_name": lead.first_name, "last_name": lead.last_name, "full_name": lead.full_name},
            LEAD_TEXT_LENGTHS,
        )
        for column, value in texts.items():
            setattr(row, column, value)
        row.store_id, row.associate_id, row.received_at = lead.store_id, lead.associate_id, lead.received_at
        row.changed_at = changed
        kept = {(i.kind, i.value) for i in row.identities}
        wanted = {(i.kind, i.value) for i in lead.identities}
        row.identities = [i for i in row.identities if (i.kind, i.value) in wanted] + [
            LeadIdentity(kind=i.kind, value=i.value, bounced_at=i.bounced_at, bounce_status=i.bounce_status)
            for i in lead.identities
            if (i.kind, i.value) not in kept
        ]
    session.flush()
    ids = [lead_id for lead_id, _ in changes]
    if ids:
        session.execute(delete(LeadNameKey).where(LeadNameKey.lead_id.in_(ids)))


def insert_name_keys(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """lead_name_keys rows (lead id, blocking key, received time), in one statement."""
    if rows:
        session.execute(insert(LeadNameKey), list(rows))


def record_bounces(session: Session, recipients: Sequence[dict[str, Any]], slack: timedelta) -> None:
    """Keep the addresses bounces reported (rows of bounce_recipients) and mark them on the leads that
    were ours when the mail bounced: received before it, or up to `slack` after it, as a message
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
            "b_latest": r["bounced_at"] + slack,
        }
        for r in recipients
    ]
    session.connection().execute(stmt, rows)


def write_contacts(session: Session, updates: Sequence[Mapping[str, Any]], now: datetime) -> None:
    """Leads' contact state: each row names its lead (`id`), every contact column and `associate_id`;
    one executemany UPDATE that also marks them changed now (no earlier than the database's clock:
    store.repo.change_stamp). Leads already loaded in the session reload those attributes."""
    if not updates:
        return
    stamp = change_stamp(session, now)
    columns = (*CONTACT_COLUMNS, "associate_id", "changed_at")
    stmt = update(Lead).where(Lead.id == bindparam("b_id")).values({c: bindparam(f"b_{c}") for c in columns})
    params = [{f"b_{k}": v for k, v in row.items()} | {"b_changed_at": stamp} for row in updates]
    session.connection().execute(stmt, params)
    for row in updates:
        obj = session.identity_map.get(session.identity_key(Lead, row["id"]))
        if obj is not None:
            session.expire(obj, list(columns))


def lock_leads(session: Session, ids: list[int]) -> None:
    """On PostgreSQL, lock the leads' rows (in id order, so two writers cannot deadlock on them) before
    reading their messages: a writer that matched a message to one of them meanwhile has committed by then,
    and its match is read. Without it two writers storing messages of one lead at once could each write
    the contact state of their own snapshot, and the last one would lose the other's touch. Writers in a
    store.db.batch_transaction take turns already; this guards any that do not. SQLite serialises
    writers itself."""
    if not ids or not is_postgres(session):
        return
    for chunk in chunks(ids, _LOCK_CHUNK):
        session.execute(select(Lead.id).where(Lead.id.in_(chunk)).order_by(Lead.id).with_for_update())
