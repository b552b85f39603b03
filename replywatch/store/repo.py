"""The data-access boundary: the queries the pipeline, matching and exports need, all on indexes."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    String,
    any_,
    bindparam,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from replywatch.domain.lead import LeadRef
from replywatch.domain.vocabulary import NOISE_KINDS, MatchStatus
from replywatch.store import bulk
from replywatch.store.models import (
    BounceRecipient,
    Lead,
    LeadIdentity,
    LeadNameKey,
    Match,
    Message,
    MessageKey,
    Quarantine,
    SourceCursor,
    SourceState,
)

if TYPE_CHECKING:
    pass

_CHUNK = 500
_T = TypeVar("_T")


def chunks(values: Sequence[_T], size: int = _CHUNK) -> Iterable[Sequence[_T]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _one_of(session: Session | Connection, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """`column IN values` with the values as one parameter, not one parameter each, so that the statement
    is the same text whatever the values, and nothing renders, parses or plans it anew per look-up:
    PostgreSQL `column = ANY(array)`; SQLite `column IN (SELECT value FROM json_each(list as JSON))`,
    both led by the column's index. Known ids, 500 at a time, 50k in all: PostgreSQL 1.47 -> 0.44 s,
    SQLite 0.51 -> 0.26 s."""
    if _postgres(session):
        from sqlalchemy.dialects.postgresql import ARRAY  # loaded with the dialect; SQLite never needs it

        array = bindparam(None, list(values), type_=ARRAY(column.type))
        return cast("ColumnElement[bool]", column == any_(array))
    listed = bindparam(None, json.dumps(list(values)), type_=String())
    return cast(
        "ColumnElement[bool]", column.in_(select(literal_column("value")).select_from(func.json_each(listed)))
    )


def newest_ids(session: Session) -> tuple[int, int]:
    """The newest lead id and message id (0 when there is none)."""
    return (
        session.scalar(select(func.max(Lead.id))) or 0,
        session.scalar(select(func.max(Message.id))) or 0,
    )


def undecided_since(session: Session, since: datetime) -> list[int]:
    """Ids of the messages stored since `since` that are unmatched or in review, that no person decided
    and that are not noise."""
    return list(
        session.scalars(
            select(Match.message_id)
            .join(Message, Message.id == Match.message_id)
            .where(
                Match.status.in_((MatchStatus.UNMATCHED, MatchStatus.REVIEW)),
                Match.decided_by == "auto",
                Message.kind.not_in(sorted(NOISE_KINDS)),
                Message.ingested_at >= since,
            )
        )
    )


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
                messages.c.source == source, _one_of(conn, messages.c.external_id, part)
            ),
            select(quarantine.c.external_id, null(), literal(False)).where(
                quarantine.c.source == source, _one_of(conn, quarantine.c.external_id, part)
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
            Message.source.in_(others), _one_of(session, Message.external_id, part), Message.channel == "sms"
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
                .where(Message.source == source, _one_of(session, Message.external_id, part))
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
    for i in range(0, len(message_ids), _CHUNK):
        stmt = select(Match.lead_id).where(
            _one_of(session, Match.message_id, message_ids[i : i + _CHUNK]), Match.lead_id.is_not(None)
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
        row = SourceState(source=source, consecutive_failures=0, items_total=0)
        session.add(row)
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
    lead and status of their match (for the daemon's item log)."""
    return list(
        session.execute(
            select(Message.position, Message.external_id, Message.kind, Match.lead_id, Match.status)
            .outerjoin(Match, Match.message_id == Message.id)
            .where(Message.source == source, Message.ingested_at >= since)
            .order_by(Message.id)
            .limit(limit)
        )
    )


_LEAD_COLUMNS = (
    Lead.id,
    Lead.received_at,
    Lead.store_id,
    Lead.associate_id,
    Lead.first_name,
    Lead.last_name,
    Lead.full_name,
    Lead.vehicle,
    Lead.first_touch_at,
)


def _lead_ref(row: Sequence[Any]) -> LeadRef:
    return LeadRef(*row)


def leads_by_name_keys(
    session: Session, keys: Iterable[str], start: datetime, end: datetime
) -> dict[str, list[LeadRef]]:
    """Name blocking key → the leads received between start and end that carry it. A lead is found
    under several keys of one name (its surname's spellings), so keys and leads are read apart: the
    keys by the covering index (key, received_at, lead_id), each lead once by its id."""
    by_key: dict[str, list[int]] = {}
    for part in chunks(sorted(keys)):
        stmt = select(LeadNameKey.key, LeadNameKey.lead_id).where(
            _one_of(session, LeadNameKey.key, part), LeadNameKey.received_at.between(start, end)
        )
        for key, lead_id in session.execute(stmt):
            by_key.setdefault(key, []).append(lead_id)
    leads: dict[int, LeadRef] = {}
    for part_ids in chunks(sorted({i for ids in by_key.values() for i in ids})):
        for row in session.execute(select(*_LEAD_COLUMNS).where(_one_of(session, Lead.id, part_ids))):
            leads[row.id] = _lead_ref(row)
    return {key: [leads[i] for i in ids] for key, ids in by_key.items()}


def leads_by_identity_values(session: Session, values: Iterable[str]) -> dict[str, list[tuple[str, LeadRef]]]:
    """Normalized email, loose email or phone → (kind, lead) for the leads that carry it; few queries."""
    found: dict[str, list[tuple[str, LeadRef]]] = {}
    for part in chunks(sorted(values)):
        stmt = (
            select(LeadIdentity.value, LeadIdentity.kind, *_LEAD_COLUMNS)
            .join(Lead, Lead.id == LeadIdentity.lead_id)
            .where(_one_of(session, LeadIdentity.value, part))
        )
        for value, kind, *lead in session.execute(stmt):
            found.setdefault(value, []).append((kind, _lead_ref(lead)))
    return found


def texts_to_numbers(
    session: Session, numbers: Iterable[str], start: datetime, end: datetime
) -> dict[str, list[tuple[datetime, int]]]:
    """Customer number → (sent_at, lead) of our texts to it that were matched to a lead."""
    found: dict[str, list[tuple[datetime, int]]] = {}
    for part in chunks(sorted(numbers)):
        # Two index-led steps, not one join: given the join, PostgreSQL would hash every match of the table
        # (a scan per batch that grows with the store), and SQLite without statistics would walk every
        # matched message through the status index. The status is tested here, not in SQL, for the latter.
        numbers_of: dict[int, list[str]] = {}
        keyed = select(MessageKey.message_id, MessageKey.value).where(
            MessageKey.role == "to", _one_of(session, MessageKey.value, part)
        )
        for message_id, number in session.execute(keyed):
            numbers_of.setdefault(message_id, []).append(number)
        for ids in chunks(sorted(numbers_of)):
            stmt = (
                select(Message.id, Message.sent_at, Match.lead_id, Match.status)
                .join(Match, Match.message_id == Message.id)
                .where(_one_of(session, Message.id, ids), _one_of(session, Match.message_id, ids))
                .where(Message.direction == "outbound", Message.channel == "sms")
                .where(Message.sent_at.between(start, end))
            )
            for message_id, sent_at, lead_id, status in session.execute(stmt):
                if lead_id is not None and status == "matched":
                    for number in numbers_of[message_id]:
                        found.setdefault(number, []).append((sent_at, lead_id))
    return found


def thread_leads(session: Session, message_ids: Iterable[str]) -> dict[str, LeadRef]:
    """Message-ID → the lead of the stored message that carries it (when that message is matched)."""
    found: dict[str, LeadRef] = {}
    for part in chunks(sorted(message_ids)):
        stmt = (
            select(Message.header_message_id, *_LEAD_COLUMNS)
            .join(Match, Match.message_id == Message.id)
            .join(Lead, Lead.id == Match.lead_id)
            .where(_one_of(session, Message.header_message_id, part), Match.status == "matched")
        )
        for header, *lead in session.execute(stmt):
            if header:
                found[header] = _lead_ref(lead)
    return found


def existing_lead_keys(session: Session, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which (source, lead id) pairs the store already holds."""
    found: set[tuple[str, str]] = set()
    for i in range(0, len(keys), _CHUNK):
        part = keys[i : i + _CHUNK]
        stmt = select(Lead.source, Lead.external_id).where(tuple_(Lead.source, Lead.external_id).in_(part))
        found.update((source, external_id) for source, external_id in session.execute(stmt))
    return found


# The contact state refresh_contacts recomputes and writes: ContactState's fields, the leads' columns.
CONTACT_COLUMNS = (
    "first_touch_at",
    "contact_at",
    "contact_channel",
    "contact_message_id",
    "time_to_contact_s",
    "time_to_contact_business_s",
    "first_response_s",
    "first_response_business_s",
    "opted_out_at",
)


def bounces_of(session: Session, addresses: Sequence[str]) -> list[Any]:
    """Rows (address, status, bounced_at) of the bounces that reported these addresses."""
    found: list[Any] = []
    columns = (BounceRecipient.address, BounceRecipient.status, BounceRecipient.bounced_at)
    for part in chunks(addresses):
        found.extend(session.execute(select(*columns).where(_one_of(session, BounceRecipient.address, part))))
    return found


def lead_contact_rows(session: Session, ids: Sequence[int]) -> list[Any]:
    """Rows (id, received_at, store_id, associate_id and the contact columns) of these leads, by Core."""
    columns = [Lead.id, Lead.received_at, Lead.store_id, Lead.associate_id]
    columns += [getattr(Lead, column) for column in CONTACT_COLUMNS]
    found: list[Any] = []
    for part in chunks(ids):
        found.extend(session.execute(select(*columns).where(_one_of(session, Lead.id, part))))
    return found


def unmatched_message_ids_by_keys(session: Session, roles: Sequence[str], values: Sequence[str]) -> list[int]:
    """Messages not yet matched (unmatched, or waiting in review undecided) that carry one of these
    addresses or refer to one of these Message-IDs."""
    found: set[int] = set()
    for part in chunks(sorted(set(values))):
        # The status is tested here, not in SQL: SQLite without statistics would walk the status index.
        stmt = (
            select(MessageKey.message_id, Match.status)
            .join(Match, Match.message_id == MessageKey.message_id)
            .where(MessageKey.role.in_(roles), _one_of(session, MessageKey.value, part))
            .where(Match.decided_by == "auto")
        )
        found.update(i for i, status in session.execute(stmt) if status in ("unmatched", "review"))
    return sorted(found)


def message_ids_by_keys(
    session: Session, roles: Sequence[str], values: Sequence[str], since: datetime
) -> list[int]:
    """Messages sent since `since` carrying these keys whose match no person decided: unmatched ones,
    and automatic matches (a repeat shopper's reply goes to the latest lead). Older messages cannot
    reach a lead received after them."""
    found: set[int] = set()
    for part in chunks(sorted(set(values))):
        stmt = (
            select(MessageKey.message_id)
            .join(Match, Match.message_id == MessageKey.message_id)
            .join(Message, Message.id == MessageKey.message_id)
            .where(MessageKey.role.in_(roles), _one_of(session, MessageKey.value, part))
            .where(Match.decided_by == "auto", Message.sent_at >= since)
        )
        found.update(session.scalars(stmt))
    return sorted(found)


def messages_with_keys(
    session: Session, message_ids: Sequence[int]
) -> list[tuple[Message, dict[str, list[str]]]]:
    """Stored messages with their keys by role, for re-matching."""
    messages = {
        m.id: m for m in session.scalars(select(Message).where(_one_of(session, Message.id, message_ids)))
    }
    keys: dict[int, dict[str, list[str]]] = {i: {} for i in messages}
    stmt = select(MessageKey.message_id, MessageKey.role, MessageKey.value).where(
        _one_of(session, MessageKey.message_id, message_ids)
    )
    for message_id, role, value in session.execute(stmt):
        keys[message_id].setdefault(role, []).append(value)
    return [(messages[i], keys[i]) for i in sorted(messages)]


def matched_message_facts(session: Session, lead_ids: Sequence[int]) -> dict[int, list[Any]]:
    """Lead id → rows (id, sent_at, direction, kind, channel, is_reply, status, associate_id) of the
    messages matched to it; one query per 500 leads."""
    found: dict[int, list[Any]] = {}
    for i in range(0, len(lead_ids), _CHUNK):
        stmt = (
            select(
                Match.lead_id,
                Message.id,
                Message.sent_at,
                Message.direction,
                Message.kind,
                Message.channel,
                Message.is_reply,
                Message.status,
                Message.associate_id,
            )
            .join(Message, Message.id == Match.message_id)
            .where(_one_of(session, Match.lead_id, lead_ids[i : i + _CHUNK]), Match.status == "matched")
        )
        for row in session.execute(stmt):
            if row.lead_id is not None:
                found.setdefault(row.lead_id, []).append(row)
    return found


def insert_messages(session: Session, rows: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], int]:
    """(source, external id) → id of the messages inserted. A message a concurrent writer stored
    meanwhile is left to it (INSERT … ON CONFLICT DO NOTHING), not an error."""
    inserted = bulk.insert_new_rows(session, Message, rows, ("source", "external_id"))
    return {(source, external_id): message_id for source, external_id, message_id in inserted}


def insert_keys(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """message_keys rows (message id, role, value) in bulk."""
    bulk.insert_rows(session, MessageKey, rows)


def insert_matches(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """matches rows, one per message, in bulk."""
    bulk.insert_rows(session, Match, rows)


def quarantine(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Items that could not be stored, with their error. One another poller quarantined meanwhile keeps
    its row; ours is skipped."""
    bulk.insert_new_rows(session, Quarantine, rows, ("source", "external_id"))


def update_matches(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Matches decided again: each row names its message (`message_id`) and every decision column."""
    if not rows:
        return
    columns = ("lead_id", "status", "score", "reasons", "decided_by", "decided_at")
    stmt = (
        update(Match)
        .where(Match.message_id == bindparam("b_message_id"))
        .values({c: bindparam(f"b_{c}") for c in columns})
    )
    session.connection().execute(stmt, [{f"b_{k}": v for k, v in row.items()} for row in rows])


def match_leads(session: Session, message_ids: Sequence[int]) -> dict[int, int | None]:
    """message id → the lead its match names now (None when unmatched)."""
    stmt = select(Match.message_id, Match.lead_id).where(Match.message_id.in_(message_ids))
    return {message_id: lead_id for message_id, lead_id in session.execute(stmt)}


def fill_message_stores(session: Session, stores: Mapping[int, int]) -> None:
    """message id → store id, for messages stored without a store (a customer's, whose lead has one)."""
    if stores:
        stmt = update(Message).where(Message.id == bindparam("b_id")).values(store_id=bindparam("b_store"))
        rows = [{"b_id": message_id, "b_store": store_id} for message_id, store_id in stores.items()]
        session.connection().execute(stmt, rows)


def _postgres(bind: Session | Connection) -> bool:
    dialect = bind.dialect if isinstance(bind, Connection) else bind.get_bind().dialect
    return dialect.name == "postgresql"
