"""`replywatch purge`: the content of old messages removed, every contact figure kept.

Retention under the FTC Safeguards Rule. What goes, for messages sent before the cutoff: the reply text
(`snippet`), the subject and the sender's display name; for items quarantined before it: the raw mail or
row, and of the error only its first line stays, with quoted values blanked (a parser may quote what it
could not read). What stays: the message rows with direction, kind, channel, time, reply flag, delivery
status, the sender's address and the keys and thread headers matching uses, the matches, and the leads'
contact state. `contacts export` and the digest read only those, so their figures do not move.

Work goes in batches, one transaction each, so that a daemon writing at the same time waits little.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, bindparam, func, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from replywatch.errors import ReplywatchError
from replywatch.store.models import Match, Message, Quarantine

BATCH = 2000
# A quoted value, as repr() and most parsers write it: 'x', "x", b'x' (escapes included).
_QUOTED = re.compile(r"""b?'(?:[^'\\\n]|\\.)*'|b?"(?:[^"\\\n]|\\.)*\"""")
BLANKED = "'…'"


@dataclass(frozen=True)
class PurgeResult:
    days: int
    cutoff: datetime
    dry_run: bool
    messages: int = 0  # messages whose snippet, subject or sender name was removed
    awaiting_review: int = 0  # of those, how many wait in the review queue
    quarantine_raw: int = 0  # quarantined items whose raw content was removed
    quarantine_errors: int = 0  # quarantined items whose error text was cut to its line


def parse_days(value: str) -> int:
    """DAYS of `--older-than`: a whole number of days, at least 1."""
    text_value = value.strip()
    if not text_value.isascii() or not text_value.isdigit() or int(text_value) < 1:
        raise ReplywatchError(f"--older-than: DAYS must be a positive whole number of days, not {value!r}")
    return int(text_value)


def redact_error(error: str) -> str:
    """The error's first line, each quoted value in it blanked; applying it twice changes nothing."""
    lines = error.strip().splitlines()
    return _QUOTED.sub(BLANKED, lines[0]) if lines else ""


def purge(sessions: sessionmaker[Session], days: int, now: datetime, *, dry_run: bool = False) -> PurgeResult:
    """Remove message content older than `days` before `now` (or only count it, when `dry_run`)."""
    if days < 1:
        raise ReplywatchError(f"--older-than: DAYS must be a positive whole number of days, not {days}")
    cutoff = now - timedelta(days=days)
    with sessions() as session:
        old = _old_messages(cutoff)
        messages = session.scalar(select(func.count()).select_from(Message).where(old)) or 0
        review = select(func.count()).select_from(Message).join(Match, Match.message_id == Message.id)
        awaiting = session.scalar(review.where(old, Match.status == "review")) or 0
    raw, errors = _quarantine(sessions, cutoff, dry_run)
    if not dry_run:
        messages = _in_batches(sessions, lambda s: _clear_messages(s, cutoff))
        _release_freed_pages(sessions)
    return PurgeResult(days, cutoff, dry_run, messages, awaiting, raw, errors)


def _old_messages(cutoff: datetime) -> ColumnElement[bool]:
    content = or_(
        Message.snippet.is_not(None), Message.subject.is_not(None), Message.sender_name.is_not(None)
    )
    return and_(Message.sent_at < cutoff, content)


def _clear_messages(session: Session, cutoff: datetime) -> int:
    stmt = select(Message.id).where(_old_messages(cutoff)).order_by(Message.id).limit(BATCH)
    ids = list(session.scalars(stmt))
    if ids:
        session.execute(
            update(Message).where(Message.id.in_(ids)).values(snippet=None, subject=None, sender_name=None)
        )
    return len(ids)


def _quarantine(sessions: sessionmaker[Session], cutoff: datetime, dry_run: bool) -> tuple[int, int]:
    """(items whose raw content goes, items whose error text is cut): counted, and cleared unless dry run."""
    raw = errors = 0
    last_id = 0
    while True:
        with sessions() as session, session.begin():
            _secure(session)
            stmt = (
                select(Quarantine.id, Quarantine.error, Quarantine.raw.is_not(None))
                .where(Quarantine.created_at < cutoff, Quarantine.id > last_id)
                .order_by(Quarantine.id)
                .limit(BATCH)
            )
            rows = session.execute(stmt).all()
            if not rows:
                return raw, errors
            last_id = rows[-1][0]
            changes: list[dict[str, Any]] = []
            for qid, error, has_raw in rows:
                kept = redact_error(error or "")
                if has_raw or kept != error:
                    raw += bool(has_raw)
                    errors += kept != error
                    changes.append({"qid": qid, "kept": kept})
            if changes and not dry_run:
                table = Quarantine.__table__
                assert isinstance(table, Table)
                stmt_update = update(table).where(table.c.id == bindparam("qid"))
                session.execute(stmt_update.values(error=bindparam("kept"), raw=None), changes)


def _in_batches(sessions: sessionmaker[Session], step: Callable[[Session], int]) -> int:
    """Run `step`, each time in its own transaction, until it does less than BATCH rows; the rows done."""
    total = 0
    while True:
        with sessions() as session, session.begin():
            _secure(session)
            done = step(session)
        total += done
        if done < BATCH:
            return total


def _secure(session: Session) -> None:
    # SQLite keeps deleted text in free space until it is reused; secure_delete overwrites it with zeros.
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA secure_delete = ON"))


def _release_freed_pages(sessions: sessionmaker[Session]) -> None:
    """SQLite: copy the rewritten pages out of the write-ahead log and empty it, so that the old page
    images it still holds are gone too (skipped quietly while another connection reads)."""
    with sessions() as session:
        if session.get_bind().dialect.name == "sqlite":
            session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
