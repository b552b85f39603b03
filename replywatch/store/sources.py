"""A source's own state in the store: its cursors, its health, the statuses of the texts it stored."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import literal, null, or_, select, union_all, update
from sqlalchemy.orm import Session

from replywatch.store.models import Lead, Match, Message, Quarantine, SourceCursor, SourceState
from replywatch.store.sql import CHUNK, chunks, insert_missing, one_of


def known_statuses(
    session: Session, source: str, ids: Sequence[str]
) -> tuple[set[str], dict[str, str | None]]:
    """Which of these ids the store already holds for the source (as messages or in quarantine), and the
    delivery status of those held as messages: one query per 500 ids."""
    known: set[str] = set()
    statuses: dict[str, str | None] = {}
    conn = session.connection()
    messages, quarantine = Message.__table__, Quarantine.__table__
    for part in chunks(list(ids)):
        stmt = union_all(
            select(messages.c.external_id, messages.c.status, literal(True).label("is_message")).where(
                messages.c.source == source, one_of(conn, messages.c.external_id, part)
            ),
            select(quarantine.c.external_id, null(), literal(False)).where(
                quarantine.c.source == source, one_of(conn, quarantine.c.external_id, part)
            ),
        )
        for external_id, status, is_message in conn.execute(stmt):
            known.add(external_id)
            if is_message:
                statuses[external_id] = status
    return known, statuses


def texts_held_elsewhere(session: Session, source: str, ids: Sequence[str]) -> set[str]:
    """Which of these texts another source has stored already (the Twilio API and a console export of the
    same account, say), by id. Looked up under each known source name, so that the unique (source,
    external_id) index serves it: the names come from the cursors and states every source writes."""
    if not ids:
        return set()
    names = select(SourceCursor.source).union(select(SourceState.source))
    others = sorted(set(session.scalars(names)) - {source})
    if not others:
        return set()
    found: set[str] = set()
    for part in chunks(sorted(set(ids))):
        stmt = select(Message.external_id).where(
            Message.source.in_(others), one_of(session, Message.external_id, part), Message.channel == "sms"
        )
        found.update(session.scalars(stmt))
    return found


def update_statuses(session: Session, source: str, statuses: Mapping[str, str]) -> list[int]:
    """Set the delivery status of the source's messages (external id → status) where it differs; only
    that column. Returns the ids of the messages changed: one statement per distinct status, and a
    message another writer already updated is left alone (the WHERE is tested again under its lock)."""
    by_status: dict[str, list[str]] = {}
    for external_id, status in statuses.items():
        by_status.setdefault(status, []).append(external_id)
    changed: list[int] = []
    for status, external_ids in sorted(by_status.items()):
        for part in chunks(sorted(external_ids)):
            stmt = (
                update(Message)
                .where(Message.source == source, one_of(session, Message.external_id, part))
                .where(or_(Message.status.is_(None), Message.status != status))
                .values(status=status)
                .returning(Message.id)
                .execution_options(synchronize_session=False)
            )
            changed.extend(session.scalars(stmt))
    return changed


def matched_lead_ids(session: Session, message_ids: Sequence[int]) -> set[int]:
    """The leads these messages are matched to (whatever the match status: contact is recomputed)."""
    found: set[int] = set()
    for i in range(0, len(message_ids), CHUNK):
        stmt = select(Match.lead_id).where(
            one_of(session, Match.message_id, message_ids[i : i + CHUNK]), Match.lead_id.is_not(None)
        )
        found.update(session.scalars(stmt))
    return found


def cursors(session: Session, source: str) -> dict[str, str]:
    rows = session.scalars(select(SourceCursor).where(SourceCursor.source == source))
    return {c.key: c.value for c in rows}


def save_cursor(session: Session, source: str, key: str, value: str, now: datetime) -> None:
    row = session.get(SourceCursor, (source, key))
    if row is None:
        session.add(SourceCursor(source=source, key=key, value=value, updated_at=now))
    else:
        row.value, row.updated_at = value, now


def _source_state(session: Session, source: str) -> SourceState:
    row = session.get(SourceState, source)
    if row is None:
        # Several first polls at once (cron, a daemon, an operator) each find no row: one inserts it.
        insert_missing(
            session, SourceState, [{"source": source, "consecutive_failures": 0, "items_total": 0}]
        )
        row = session.get(SourceState, source, populate_existing=True)
    assert row is not None
    return row


@dataclass(frozen=True)
class SourceTiming:
    """What decides when a source is due again."""

    last_attempt_at: datetime | None
    failures: int
    paused_config: str | None


def source_timing(session: Session, source: str) -> SourceTiming:
    row = session.get(SourceState, source)
    if row is None:
        return SourceTiming(None, 0, None)
    return SourceTiming(row.last_attempt_at, row.consecutive_failures or 0, row.paused_config)


def record_poll(session: Session, source: str, at: datetime, error: str | None, stored: int = 0) -> None:
    """A poll's outcome on its source: a success clears the failures, a failure counts and names them."""
    state = _source_state(session, source)
    state.last_attempt_at = at
    state.items_total = (state.items_total or 0) + stored
    if error is None:
        state.last_success_at, state.consecutive_failures, state.last_error = at, 0, None
    else:
        state.consecutive_failures = (state.consecutive_failures or 0) + 1
        state.last_error = error


def set_paused(session: Session, source: str, config: str | None) -> None:
    """Pause a source until its configuration (fingerprint `config`) changes; None resumes it."""
    _source_state(session, source).paused_config = config


def stored_since(session: Session, source: str, since: datetime, limit: int) -> list[Any]:
    """The first `limit` messages a source stored since `since`: position, external id, kind, and the
    lead (its id as exported, as people know it) and status of their match (for the daemon's item log)."""
    return list(
        session.execute(
            select(Message.position, Message.external_id, Message.kind, Lead.external_id, Match.status)
            .outerjoin(Match, Match.message_id == Message.id)
            .outerjoin(Lead, Lead.id == Match.lead_id)
            .where(Message.source == source, Message.ingested_at >= since)
            .order_by(Message.id)
            .limit(limit)
        )
    )
