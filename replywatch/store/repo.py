"""The data-access boundary: the queries the pipeline, matching and exports need, all on indexes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from replywatch.config import Settings
from replywatch.match.normalize import normalize_email, normalize_phone
from replywatch.store.models import (
    Associate,
    AssociateIdentity,
    Lead,
    LeadIdentity,
    Match,
    Message,
    MessageKey,
    Quarantine,
    SourceCursor,
    SourceState,
    Store,
)

_CHUNK = 500


def chunks(values: Sequence[str], size: int = _CHUNK) -> Iterable[Sequence[str]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def sync_directory(session: Session, settings: Settings) -> None:
    """Stores and associates from the configuration into the database, by name (idempotent)."""
    stores = {s.name: s for s in session.scalars(select(Store))}
    for cfg in settings.stores:
        row = stores.get(cfg.name) or Store(name=cfg.name)
        row.timezone, row.region = cfg.timezone, cfg.region
        session.add(row)
        stores[cfg.name] = row
    session.flush()
    associates = {a.name: a for a in session.scalars(select(Associate))}
    for acfg in settings.associates:
        assoc = associates.get(acfg.name) or Associate(name=acfg.name, store_id=stores[acfg.store].id)
        assoc.store_id = stores[acfg.store].id
        session.add(assoc)
        session.flush()
        _sync_associate_identities(
            session, assoc, acfg.emails, acfg.phones, settings.store(acfg.store).region
        )


def _sync_associate_identities(
    session: Session, assoc: Associate, emails: list[str], phones: list[str], region: str
) -> None:
    wanted = {("email", e) for e in map(normalize_email, emails) if e}
    wanted |= {("phone", p) for p in (normalize_phone(x, region) for x in phones) if p}
    have = {
        (i.kind, i.value): i
        for i in session.scalars(select(AssociateIdentity).where(AssociateIdentity.associate_id == assoc.id))
    }
    for key, ident in have.items():
        if key not in wanted:
            session.delete(ident)
    for kind, value in wanted - have.keys():
        session.add(AssociateIdentity(associate_id=assoc.id, kind=kind, value=value))


def associates_by_identity(session: Session) -> dict[tuple[str, str], list[int]]:
    """(kind, value) → associate ids; loaded once per poll (a directory is small)."""
    found: dict[tuple[str, str], list[int]] = {}
    for ident in session.scalars(select(AssociateIdentity)):
        found.setdefault((ident.kind, ident.value), []).append(ident.associate_id)
    return found


def known_external_ids(session: Session, source: str, ids: Sequence[str]) -> set[str]:
    """Which of these ids the store already holds for the source, as messages or in quarantine."""
    known: set[str] = set()
    for part in chunks(list(ids)):
        for model in (Message, Quarantine):
            known.update(
                session.scalars(
                    select(model.external_id).where(model.source == source, model.external_id.in_(part))
                )
            )
    return known


def cursors(session: Session, source: str) -> dict[str, str]:
    rows = session.scalars(select(SourceCursor).where(SourceCursor.source == source))
    return {c.key: c.value for c in rows}


def save_cursor(session: Session, source: str, key: str, value: str, now: datetime) -> None:
    row = session.get(SourceCursor, (source, key))
    if row is None:
        session.add(SourceCursor(source=source, key=key, value=value, updated_at=now))
    else:
        row.value, row.updated_at = value, now


def source_state(session: Session, source: str) -> SourceState:
    row = session.get(SourceState, source)
    if row is None:
        row = SourceState(source=source, consecutive_failures=0, items_total=0)
        session.add(row)
    return row


def lead_ids_by_identity(session: Session, kind: str, values: Sequence[str]) -> list[int]:
    if not values:
        return []
    stmt = select(LeadIdentity.lead_id).where(LeadIdentity.kind == kind, LeadIdentity.value.in_(values))
    return list(dict.fromkeys(session.scalars(stmt)))


def leads_by_ids(session: Session, ids: Sequence[int]) -> list[Lead]:
    if not ids:
        return []
    return list(session.scalars(select(Lead).where(Lead.id.in_(ids))))


def thread_lead_ids(session: Session, message_ids: Sequence[str]) -> list[int]:
    """Leads of our own messages (by Message-ID) that are matched to a lead, in header order."""
    if not message_ids:
        return []
    stmt = (
        select(Message.header_message_id, Match.lead_id)
        .join(Match, Match.message_id == Message.id)
        .where(Message.header_message_id.in_(message_ids), Match.lead_id.is_not(None))
    )
    by_header = {h: lead for h, lead in session.execute(stmt) if lead is not None}
    return list(dict.fromkeys(by_header[h] for h in message_ids if h in by_header))


def unmatched_message_ids_by_keys(session: Session, roles: Sequence[str], values: Sequence[str]) -> list[int]:
    """Unmatched messages that carry one of these addresses or refer to one of these Message-IDs."""
    if not values:
        return []
    stmt = (
        select(MessageKey.message_id)
        .join(Match, Match.message_id == MessageKey.message_id)
        .where(MessageKey.role.in_(roles), MessageKey.value.in_(values), Match.status == "unmatched")
    )
    return sorted(set(session.scalars(stmt)))


def message_ids_by_keys(
    session: Session, roles: Sequence[str], values: Sequence[str], since: datetime
) -> list[int]:
    """Messages carrying these addresses that are unmatched, or matched automatically since `since`."""
    if not values:
        return []
    stmt = (
        select(MessageKey.message_id)
        .join(Match, Match.message_id == MessageKey.message_id)
        .join(Message, Message.id == MessageKey.message_id)
        .where(MessageKey.role.in_(roles), MessageKey.value.in_(values))
        .where((Match.status == "unmatched") | ((Match.decided_by == "auto") & (Message.sent_at >= since)))
    )
    return sorted(set(session.scalars(stmt)))


def message_keys(session: Session, message_id: int) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key in session.scalars(select(MessageKey).where(MessageKey.message_id == message_id)):
        found.setdefault(key.role, []).append(key.value)
    return found


def matched_messages(session: Session, lead_id: int) -> list[Message]:
    stmt = (
        select(Message)
        .join(Match, Match.message_id == Message.id)
        .where(Match.lead_id == lead_id, Match.status == "matched")
    )
    return list(session.scalars(stmt))


def set_lead_associate_if_unknown(session: Session, lead_id: int, associate_id: int) -> None:
    session.execute(
        update(Lead).where(Lead.id == lead_id, Lead.associate_id.is_(None)).values(associate_id=associate_id)
    )
