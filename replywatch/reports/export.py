"""`contacts export`: one row per lead with the columns of the contract in ARCHITECTURE.md, then the same
times in the store's local time (`*_local`, ISO 8601 with the offset) for people reading a spreadsheet.

Incremental (`--changed-since`): the leads whose `changed_at` is at or after a time, and the time to pass
next. Every writer of leads stamps `changed_at` in its batch turn (store.db.batch_transaction) no earlier
than the database's clock (store.repo.change_stamp); the next time is the database's clock read while
holding that turn. A change stamped before it was committed before the turn, so this export reads it; one
committed after it is stamped at or after it, so the next export reads it. Nothing falls in between."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from replywatch.clock import as_utc, iso_z
from replywatch.store.db import batch_transaction
from replywatch.store.models import Associate, Lead, Match, Store
from replywatch.store.repo import database_now

COLUMNS = (
    "lead_id",
    "store",
    "source",
    "associate",
    "received_at",
    "first_touch_at",
    "contacted",
    "contact_at",
    "contact_channel",
    "time_to_contact_s",
    "time_to_contact_business_s",
    "opted_out",
    "pending_review",
    "received_at_local",
    "first_touch_at_local",
    "contact_at_local",
)


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection, OWASP)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def spreadsheet_safe(value: str) -> str:
    """A text cell a spreadsheet will show and never run: one that starts like a formula gets a leading
    `'` (numbers such as `-5` stay numbers). For CSV only: JSON keeps values exact."""
    if value.startswith(_FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def next_changed_since(sessions: sessionmaker[Session]) -> datetime:
    """The time to pass as `--changed-since` to the export after this one: the database's clock, read in
    the batch turn (held for that one read, not for the export), so that every change stamped before it
    has committed and this export, reading after it, sees them."""
    with batch_transaction(sessions) as session:
        return database_now(session)


def since_text(at: datetime) -> str:
    """A `--changed-since` value: ISO 8601 UTC with a `Z`, to the millisecond, rounded down (never later
    than `at`, so nothing is skipped; whole seconds would repeat the leads of the last second)."""
    at = as_utc(at)
    return at.replace(microsecond=at.microsecond // 1000 * 1000).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def contact_rows(session: Session, changed_since: datetime | None = None) -> Iterator[dict[str, str]]:
    """Leads in received order, streamed from one query; only those whose export row changed at or after
    `changed_since` when given."""
    pending = exists().where(Match.lead_id == Lead.id, Match.status == "review")
    assoc = aliased(Associate)
    stmt = (
        select(Lead, Store.name, Store.timezone, assoc.name, pending.label("pending"))
        .outerjoin(Store, Store.id == Lead.store_id)
        .outerjoin(assoc, assoc.id == Lead.associate_id)
        .order_by(Lead.received_at, Lead.id)
    )
    if changed_since is not None:
        stmt = stmt.where(Lead.changed_at >= changed_since)
    for lead, store, timezone, associate, is_pending in session.execute(stmt).yield_per(1000):
        zone = ZoneInfo(timezone) if timezone else UTC
        yield _row(lead, store, associate, bool(is_pending)) | _local_times(lead, zone)


def _local_times(lead: Lead, zone: tzinfo) -> dict[str, str]:
    at = {
        "received_at": lead.received_at,
        "first_touch_at": lead.first_touch_at,
        "contact_at": lead.contact_at,
    }
    return {f"{k}_local": as_utc(v).astimezone(zone).isoformat() if v else "" for k, v in at.items()}


def _row(lead: Lead, store: str | None, associate: str | None, pending: bool) -> dict[str, str]:
    return {
        "lead_id": lead.external_id,
        "store": store or "",
        "source": lead.source,
        "associate": associate or "",
        "received_at": iso_z(lead.received_at),
        "first_touch_at": iso_z(lead.first_touch_at),
        "contacted": "Y" if lead.contact_at else "N",
        "contact_at": iso_z(lead.contact_at),
        "contact_channel": lead.contact_channel or "",
        "time_to_contact_s": _num(lead.time_to_contact_s),
        "time_to_contact_business_s": _num(lead.time_to_contact_business_s),
        "opted_out": "Y" if lead.opted_out_at else "N",
        "pending_review": "Y" if pending else "N",
    }


def _num(value: int | None) -> str:
    return "" if value is None else str(value)


def write_csv(rows: Iterator[dict[str, str]], out: io.TextIOBase | Any) -> int:
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({key: spreadsheet_safe(value) for key, value in row.items()})
        count += 1
    return count


def write_json(rows: Iterator[dict[str, str]], out: io.TextIOBase | Any) -> int:
    """A JSON array; empty values are null, counts are numbers, flags stay Y/N as in the CSV."""
    items = [_typed(r) for r in rows]
    json.dump(items, out, indent=2)
    out.write("\n")
    return len(items)


def _typed(row: dict[str, str]) -> dict[str, object]:
    typed: dict[str, object] = {}
    for key, value in row.items():
        if value == "":
            typed[key] = None
        elif key.endswith("_s"):
            typed[key] = int(value)
        else:
            typed[key] = value
    return typed
