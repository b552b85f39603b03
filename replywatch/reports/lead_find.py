"""`leads find TEXT`: leads by an address, a number, or a name written loosely (nicknames, one slip,
accents and case aside), through the indexes matching itself uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from replywatch.domain.normalize import loose_email, normalize_email, normalize_phone
from replywatch.match.names import fold, keys_to_find_leads, parse_name
from replywatch.reports.lead_story import lead_json
from replywatch.store.models import Associate, Lead, LeadIdentity, LeadNameKey, Store
from replywatch.store.sql import one_of

LIMIT = 50
_EVER = (datetime(1900, 1, 1, tzinfo=UTC), datetime(2999, 1, 1, tzinfo=UTC))


@dataclass(frozen=True)
class FoundLead:
    lead_id: str
    source: str
    name: str | None
    store: str | None
    associate: str | None
    received_at: datetime
    contact_at: datetime | None
    emails: list[str]
    phones: list[str]
    how: str  # email, phone, name, name_fuzzy

    def to_json(self) -> dict[str, Any]:
        return lead_json(self) | {"found_by": self.how}


def find_leads(session: Session, text: str, region: str = "US") -> list[FoundLead]:
    """The leads `text` names, best first (by address or number, then name as written, then loosely),
    the latest lead first within each; at most LIMIT."""
    hits: dict[int, str] = {}
    for how, ids in _searches(session, text.strip(), region):
        for lead_id in ids:
            hits.setdefault(lead_id, how)
    return _found(session, hits)[:LIMIT]


def _searches(session: Session, text: str, region: str) -> list[tuple[str, list[int]]]:
    email = normalize_email(text)
    if email:
        return [("email", _by_identity(session, [email, loose_email(email)]))]
    phone = normalize_phone(text, region) if sum(ch.isdigit() for ch in text) >= 7 else None
    if phone:
        return [("phone", _by_identity(session, [phone]))]
    if "@" in text:  # part of an address
        stmt = select(LeadIdentity.lead_id).where(LeadIdentity.value.contains(text.lower(), autoescape=True))
        return [("email", list(session.scalars(stmt.limit(LIMIT * 4))))]
    return [("name", _by_name_as_written(session, text)), ("name_fuzzy", _by_name_keys(session, text))]


def _by_identity(session: Session, values: list[str]) -> list[int]:
    stmt = select(LeadIdentity.lead_id).where(one_of(session, LeadIdentity.value, sorted(set(values))))
    return list(session.scalars(stmt))


def _by_name_as_written(session: Session, text: str) -> list[int]:
    """Leads whose full name holds every word of `text`, case aside (accents as written)."""
    stmt = select(Lead.id)
    for word in text.split():
        stmt = stmt.where(func.lower(Lead.full_name).contains(word.lower(), autoescape=True))
    return list(session.scalars(stmt.order_by(Lead.received_at.desc()).limit(LIMIT * 4)))


def _by_name_keys(session: Session, text: str) -> list[int]:
    """Leads under the blocking keys of the name (nicknames, one-slip spellings of the surname)."""
    keys = {key for name in parse_name(text, "display") for key in keys_to_find_leads(name)}
    if not keys and text.split():  # one word: a surname (keys are "surname:given"), accents folded
        word = fold(text.split()[-1])
        stmt = select(LeadNameKey.lead_id).where(LeadNameKey.key.startswith(f"{word}:", autoescape=True))
        return list(session.scalars(stmt.limit(LIMIT * 4)))
    if not keys:
        return []
    stmt = select(LeadNameKey.lead_id).where(
        one_of(session, LeadNameKey.key, sorted(keys)), LeadNameKey.received_at.between(*_EVER)
    )
    return list(session.scalars(stmt))


def _found(session: Session, hits: dict[int, str]) -> list[FoundLead]:
    if not hits:
        return []
    stmt = (
        select(Lead, Store.name, Associate.name)
        .outerjoin(Store, Store.id == Lead.store_id)
        .outerjoin(Associate, Associate.id == Lead.associate_id)
        .where(one_of(session, Lead.id, sorted(hits)))
    )
    rows = list(session.execute(stmt))
    identities: dict[int, list[tuple[str, str]]] = {}
    for ident in session.scalars(
        select(LeadIdentity).where(one_of(session, LeadIdentity.lead_id, sorted(hits)))
    ):
        identities.setdefault(ident.lead_id, []).append((ident.kind, ident.value))
    order = {"email": 0, "phone": 0, "name": 1, "name_fuzzy": 2}
    rows.sort(key=lambda r: (order[hits[r[0].id]], -r[0].received_at.timestamp()))
    return [
        _one(lead, store, associate, hits[lead.id], identities.get(lead.id, []))
        for lead, store, associate in rows
    ]


def _one(
    lead: Lead, store: str | None, associate: str | None, how: str, ids: list[tuple[str, str]]
) -> FoundLead:
    return FoundLead(
        lead_id=lead.external_id,
        source=lead.source,
        name=lead.full_name,
        store=store,
        associate=associate,
        received_at=lead.received_at,
        contact_at=lead.contact_at,
        emails=sorted(v for k, v in ids if k == "email"),
        phones=sorted(v for k, v in ids if k == "phone"),
        how=how,
    )
