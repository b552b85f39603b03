"""The data-access boundary: the queries the pipeline, matching and exports need, all on indexes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    bindparam,
    func,
    select,
    text,
    tuple_,
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
)
from replywatch.store.sql import CHUNK, chunks, is_postgres, one_of


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
            one_of(session, LeadNameKey.key, part), LeadNameKey.received_at.between(start, end)
        )
        for key, lead_id in session.execute(stmt):
            by_key.setdefault(key, []).append(lead_id)
    leads: dict[int, LeadRef] = {}
    for part_ids in chunks(sorted({i for ids in by_key.values() for i in ids})):
        for row in session.execute(select(*_LEAD_COLUMNS).where(one_of(session, Lead.id, part_ids))):
            leads[row.id] = _lead_ref(row)
    return {key: [leads[i] for i in ids] for key, ids in by_key.items()}


def leads_by_identity_values(session: Session, values: Iterable[str]) -> dict[str, list[tuple[str, LeadRef]]]:
    """Normalized email, loose email or phone → (kind, lead) for the leads that carry it; few queries."""
    found: dict[str, list[tuple[str, LeadRef]]] = {}
    for part in chunks(sorted(values)):
        stmt = (
            select(LeadIdentity.value, LeadIdentity.kind, *_LEAD_COLUMNS)
            .join(Lead, Lead.id == LeadIdentity.lead_id)
            .where(one_of(session, LeadIdentity.value, part))
        )
        for value, kind, *lead in session.execute(stmt):
            found.setdefault(value, []).append((kind, _lead_ref(lead)))
    return found


def texts_to_numbers(
    session: Session, numbers: Iterable[str], start: datetime, end: datetime
) -> dict[str, list[tuple[datetime, int]]]:
    """Customer number → (sent_at, lead) of our texts and calls to it that were matched to a lead."""
    found: dict[str, list[tuple[datetime, int]]] = {}
    for part in chunks(sorted(numbers)):
        # Two index-led steps, not one join: given the join, PostgreSQL would hash every match of the table
        # (a scan per batch that grows with the store), and SQLite without statistics would walk every
        # matched message through the status index. The status is tested here, not in SQL, for the latter.
        numbers_of: dict[int, list[str]] = {}
        keyed = select(MessageKey.message_id, MessageKey.value).where(
            MessageKey.role == "to", one_of(session, MessageKey.value, part)
        )
        for message_id, number in session.execute(keyed):
            numbers_of.setdefault(message_id, []).append(number)
        for ids in chunks(sorted(numbers_of)):
            stmt = (
                select(Message.id, Message.sent_at, Match.lead_id, Match.status)
                .join(Match, Match.message_id == Message.id)
                .where(one_of(session, Message.id, ids), one_of(session, Match.message_id, ids))
                .where(Message.direction == "outbound", Message.channel.in_(("sms", "call")))
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
            .where(one_of(session, Message.header_message_id, part), Match.status == "matched")
        )
        for header, *lead in session.execute(stmt):
            if header:
                found[header] = _lead_ref(lead)
    return found


def existing_lead_keys(session: Session, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which (source, lead id) pairs the store already holds."""
    found: set[tuple[str, str]] = set()
    for i in range(0, len(keys), CHUNK):
        part = keys[i : i + CHUNK]
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
        found.extend(session.execute(select(*columns).where(one_of(session, BounceRecipient.address, part))))
    return found


def lead_contact_rows(session: Session, ids: Sequence[int]) -> list[Any]:
    """Rows (id, received_at, store_id, associate_id and the contact columns) of these leads, by Core."""
    columns = [Lead.id, Lead.received_at, Lead.store_id, Lead.associate_id]
    columns += [getattr(Lead, column) for column in CONTACT_COLUMNS]
    found: list[Any] = []
    for part in chunks(ids):
        found.extend(session.execute(select(*columns).where(one_of(session, Lead.id, part))))
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
            .where(MessageKey.role.in_(roles), one_of(session, MessageKey.value, part))
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
            .where(MessageKey.role.in_(roles), one_of(session, MessageKey.value, part))
            .where(Match.decided_by == "auto", Message.sent_at >= since)
        )
        found.update(session.scalars(stmt))
    return sorted(found)


class StoredMessage(NamedTuple):
    """A stored message as matching reads it again."""

    id: int
    external_id: str
    direction: str
    channel: str
    sent_at: datetime
    sender_name: str | None
    subject: str | None
    snippet: str | None
    store_id: int | None
    header_message_id: str | None


def messages_with_keys(
    session: Session, message_ids: Sequence[int]
) -> list[tuple[StoredMessage, dict[str, list[str]]]]:
    """Stored messages with their keys by role, for re-matching, in id order."""
    columns = [getattr(Message, field) for field in StoredMessage._fields]
    stmt = select(*columns).where(one_of(session, Message.id, message_ids))
    messages = {row.id: row for row in map(StoredMessage._make, session.execute(stmt))}
    keys: dict[int, dict[str, list[str]]] = {i: {} for i in messages}
    stmt_keys = select(MessageKey.message_id, MessageKey.role, MessageKey.value).where(
        one_of(session, MessageKey.message_id, message_ids)
    )
    for message_id, role, value in session.execute(stmt_keys):
        keys[message_id].setdefault(role, []).append(value)
    return [(messages[i], keys[i]) for i in sorted(messages)]


class MatchedMessage(NamedTuple):
    """A message matched to a lead, as contact is decided from it (a tuple: read per lead, many a poll)."""

    id: int
    sent_at: datetime
    direction: str
    kind: str
    channel: str
    is_reply: bool
    status: str | None
    associate_id: int | None
    duration_s: int | None
    answered_by: str | None


def matched_message_facts(session: Session, lead_ids: Sequence[int]) -> dict[int, list[MatchedMessage]]:
    """Lead id → the messages matched to it; one query per 500 leads."""
    found: dict[int, list[MatchedMessage]] = {}
    for i in range(0, len(lead_ids), CHUNK):
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
                Message.duration_s,
                Message.answered_by,
            )
            .join(Message, Message.id == Match.message_id)
            .where(
                one_of(session, Match.lead_id, lead_ids[i : i + CHUNK]), Match.status == MatchStatus.MATCHED
            )
        )
        for lead_id, *message in session.execute(stmt):
            if lead_id is not None:
                found.setdefault(lead_id, []).append(MatchedMessage._make(message))
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
    """matches rows, one per message, in bulk. A lead a row puts in review has a changed export row
    (`pending_review`), stamped at the rows' `decided_at`."""
    rows = held_for_review(session, rows)
    bulk.insert_rows(session, Match, rows)
    entering = {r["lead_id"] for r in rows if r["status"] == MatchStatus.REVIEW and r["lead_id"] is not None}
    if entering:
        mark_leads_changed(session, entering, max(r["decided_at"] for r in rows))


def held_for_review(session: Session, rows: Sequence[Mapping[str, Any]]) -> Sequence[Mapping[str, Any]]:
    """The rows with every automatic match of a mail our server found failing DMARC/SPF turned into a
    review: a forged sender never makes a contact on its own, a person decides (one query, when any)."""
    automatic = [r for r in rows if r["status"] == MatchStatus.MATCHED and r["decided_by"] == "auto"]
    if not automatic:
        return rows
    ids = [r["message_id"] for r in automatic]
    stmt = select(Message.id).where(one_of(session, Message.id, ids), Message.auth_failed.is_(True))
    forged = set(session.scalars(stmt))
    failed = {id(r) for r in automatic if r["message_id"] in forged}
    return [{**r, "status": MatchStatus.REVIEW} if id(r) in failed else r for r in rows]


def quarantine(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Items that could not be stored, with their error. One another poller quarantined meanwhile keeps
    its row; ours is skipped."""
    bulk.insert_new_rows(session, Quarantine, rows, ("source", "external_id"))


def update_matches(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Matches decided again: each row names its message (`message_id`) and every decision column."""
    if not rows:
        return
    rows = held_for_review(session, rows)
    before = match_states(session, [row["message_id"] for row in rows])
    columns = ("lead_id", "status", "score", "reasons", "decided_by", "decided_at")
    stmt = (
        update(Match)
        .where(Match.message_id == bindparam("b_message_id"))
        .values({c: bindparam(f"b_{c}") for c in columns})
    )
    session.connection().execute(stmt, [{f"b_{k}": v for k, v in row.items()} for row in rows])
    moved: set[int] = set()
    for row in rows:
        old = before.get(row["message_id"], (None, ""))
        moved |= pending_moved(old, (row["lead_id"], str(row["status"])))
    if moved:
        mark_leads_changed(session, moved, max(r["decided_at"] for r in rows))


def pending_moved(old: tuple[int | None, str], new: tuple[int | None, str]) -> set[int]:
    """The leads whose `pending_review` flag a match's change from `old` to `new` (lead, status) can flip:
    the lead of a row entering review, and the lead a row in review had before. A row that stays in
    review on the same lead, or never was in review, moves no flag (its contact state is refresh's)."""
    was = old[0] if old[1] == MatchStatus.REVIEW else None
    now = new[0] if new[1] == MatchStatus.REVIEW else None
    return set() if was == now else {lead for lead in (was, now) if lead is not None}


def database_now(session: Session) -> datetime:
    """The database server's clock, read now (not at the transaction's start): one clock for every
    daemon and command, whatever host they run on. PostgreSQL to the microsecond, SQLite to the
    millisecond (its host's clock, as the file is local)."""
    if is_postgres(session):
        clock: datetime = session.execute(text("SELECT clock_timestamp()")).scalar_one()
        return clock.astimezone(UTC)
    written: str = session.execute(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")).scalar_one()
    return datetime.fromisoformat(written).replace(tzinfo=UTC)


def change_stamp(session: Session, now: datetime) -> datetime:
    """The `changed_at` for a change made now in this transaction: `now`, or the database's clock when
    that is later. Inside a batch turn (store.db.batch_transaction) the stamp is then never earlier than
    the turn, so a `contacts export` that read the database's clock in an earlier turn finds it with
    `--changed-since` that time, however late this writer read its own clock or however far behind its
    host's clock is."""
    return max(now, database_now(session))


def mark_leads_changed(session: Session, lead_ids: Iterable[int], now: datetime) -> None:
    """Leads whose export row changed other than by their own columns (a match entering or leaving
    review): `changed_at` set, in one UPDATE for them all."""
    ids = sorted(set(lead_ids))
    if ids:
        stamp = change_stamp(session, now)
        stmt = update(Lead).where(one_of(session, Lead.id, ids)).values(changed_at=stamp)
        session.execute(stmt, execution_options={"synchronize_session": False})


def match_leads(session: Session, message_ids: Sequence[int]) -> dict[int, int | None]:
    """message id → the lead its match names now (None when unmatched)."""
    stmt = select(Match.message_id, Match.lead_id).where(Match.message_id.in_(message_ids))
    return {message_id: lead_id for message_id, lead_id in session.execute(stmt)}


def match_states(session: Session, message_ids: Sequence[int]) -> dict[int, tuple[int | None, str]]:
    """message id → (the lead its match names, its status): what a re-match may change."""
    found: dict[int, tuple[int | None, str]] = {}
    for part in chunks(sorted(message_ids)):
        stmt = select(Match.message_id, Match.lead_id, Match.status).where(
            one_of(session, Match.message_id, part)
        )
        found.update({m: (lead, str(status)) for m, lead, status in session.execute(stmt)})
    return found


def fill_message_stores(session: Session, stores: Mapping[int, int]) -> None:
    """message id → store id, for messages stored without a store (a customer's, whose lead has one)."""
    if stores:
        stmt = update(Message).where(Message.id == bindparam("b_id")).values(store_id=bindparam("b_store"))
        rows = [{"b_id": message_id, "b_store": store_id} for message_id, store_id in stores.items()]
        session.connection().execute(stmt, rows)
