"""The data-access boundary: the queries the pipeline, matching and exports need, all on indexes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    String,
    Table,
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
from sqlalchemy.types import TypeEngine

from replywatch.config import Settings
from replywatch.domain.normalize import normalize_email, normalize_phone
from replywatch.match.types import LeadRef
from replywatch.store.models import (
    Associate,
    AssociateIdentity,
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
    Store,
    UTCDateTime,
)

if TYPE_CHECKING:
    import psycopg

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


def source_state(session: Session, source: str) -> SourceState:
    row = session.get(SourceState, source)
    if row is None:
        row = SourceState(source=source, consecutive_failures=0, items_total=0)
        session.add(row)
    return row


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
            leads[row[0]] = _lead_ref(row)
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
            if row[0] is not None:
                found.setdefault(row[0], []).append(row)
    return found


# Bound parameters in one statement: SQLite allows 32,766.
_MAX_PARAMS = 30_000


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Rows (each with the same columns) into a table in one go: Core's executemany builds and processes
    parameters per row in Python, which costs more than the insert. SQLite: the driver's executemany;
    PostgreSQL: COPY, which the driver formats in C (half the time of one INSERT from unnest(arrays))."""
    if not rows:
        return
    conn = session.connection()
    columns = list(rows[0])
    params = _params(conn, table, columns, rows)
    if _postgres(conn):
        _copy(conn, _quote(conn, table.name), columns, params)
    else:
        conn.exec_driver_sql(_values_sql(conn, table, columns, 1), params)


def insert_new_rows(
    session: Session, table: Table, rows: Sequence[Mapping[str, Any]], unique: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Rows into a table, except those whose `unique` columns a row already stored holds (a concurrent
    writer's, say): INSERT … ON CONFLICT DO NOTHING. Returns (*unique, id) of the rows inserted."""
    if not rows:
        return []
    conn = session.connection()
    columns = list(rows[0])
    params = _params(conn, table, columns, rows)
    on_conflict = (
        f"ON CONFLICT ({', '.join(_quote(conn, c) for c in unique)}) DO NOTHING "
        f"RETURNING {', '.join(_quote(conn, c) for c in (*unique, 'id'))}"
    )
    if _postgres(conn):
        return _copy_new(conn, table, columns, params, on_conflict)
    per_statement = max(1, _MAX_PARAMS // len(columns))
    inserted: list[tuple[Any, ...]] = []
    for start in range(0, len(params), per_statement):
        part = params[start : start + per_statement]
        sql = f"{_values_sql(conn, table, columns, len(part))} {on_conflict}"
        inserted.extend(tuple(r) for r in conn.exec_driver_sql(sql, tuple(v for p in part for v in p)))
    return inserted


def _copy(conn: Connection, target: str, columns: Sequence[str], params: Sequence[tuple[Any, ...]]) -> None:
    """PostgreSQL: the rows into `target` (a quoted table name) by COPY, in the connection's transaction."""
    names = ", ".join(_quote(conn, c) for c in columns)
    driver = cast("psycopg.Connection[Any]", conn.connection.driver_connection)
    with driver.cursor() as cursor, cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
        for row in params:
            copy.write_row(row)


def _copy_new(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    params: Sequence[tuple[Any, ...]],
    on_conflict: str,
) -> list[tuple[Any, ...]]:
    """PostgreSQL: the rows by COPY into a temporary table shaped like `table` (columns and types only:
    no defaults, so no ids drawn), then INSERT … SELECT from it with `on_conflict`, and the temporary
    table emptied (a failure rolls its rows back with the rest). It is created in the transaction when
    missing, so it works behind any pooler."""
    name, staging = _quote(conn, table.name), _quote(conn, f"replywatch_new_{table.name}")
    create = f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} AS SELECT * FROM {name} WITH NO DATA"
    conn.exec_driver_sql(create)
    _copy(conn, staging, columns, params)
    names = ", ".join(_quote(conn, c) for c in columns)
    sql = f"INSERT INTO {name} ({names}) SELECT {names} FROM {staging} {on_conflict}"
    inserted = [tuple(r) for r in conn.exec_driver_sql(sql)]
    conn.exec_driver_sql(f"DELETE FROM {staging}")
    return inserted


def _postgres(bind: Session | Connection) -> bool:
    dialect = bind.dialect if isinstance(bind, Connection) else bind.get_bind().dialect
    return dialect.name == "postgresql"


def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _values_sql(conn: Connection, table: Table, columns: Sequence[str], rows: int) -> str:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    one = f"({', '.join([mark] * len(columns))})"
    names = ", ".join(_quote(conn, c) for c in columns)
    return f"INSERT INTO {_quote(conn, table.name)} ({names}) VALUES {', '.join([one] * rows)}"


def _params(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> list[tuple[Any, ...]]:
    """Each row's values in column order, through the column types' bind processing (UTC times, JSON)."""
    processed = [(i, p) for i, c in enumerate(columns) if (p := _processor(conn, table.c[c].type))]
    values = itemgetter(*columns) if len(columns) > 1 else (lambda row: (row[columns[0]],))
    if not processed:
        return [values(row) for row in rows]
    params = []
    for row in rows:
        line = list(values(row))
        for i, process in processed:
            line[i] = process(line[i])
        params.append(tuple(line))
    return params


def _processor(conn: Connection, column_type: TypeEngine[Any]) -> Callable[[Any], Any] | None:
    """The column type's bind processor; a UTC time on SQLite written directly in the text form SQLAlchemy
    stores (ten times faster than its processor). Remembered per value, but for JSON (unhashable)."""
    if isinstance(column_type, UTCDateTime) and conn.dialect.name == "sqlite":
        return _remembering(_sqlite_utc)
    processor = column_type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    if processor is None or isinstance(column_type, JSON):
        return processor
    return _remembering(processor)


def _sqlite_utc(value: datetime | None) -> str | None:
    """An aware time as SQLite's DATETIME text of its UTC: `2026-10-01 13:00:00.000000`."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _remembering(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The processor with the values it saw remembered: a batch repeats some (its `now`, True, None)."""
    seen: dict[Any, Any] = {}

    def process(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            seen[value] = found = processor(value)
            return found
        except TypeError:  # unhashable (a JSON list)
            return processor(value)

    return process
