"""Leases: which daemon reads a source now. Several daemons on one PostgreSQL share the sources.

A lease is a row (source, owner, expires_at). Taking it locks the row with FOR UPDATE SKIP LOCKED (a
row another daemon is taking is skipped, never waited for), then a conditional UPDATE moves it to us only
if it is ours already or has expired: that UPDATE is the atomic step on every backend (SQLite ignores
FOR UPDATE and serialises writers instead). A daemon that dies stops renewing; at expiry another daemon
takes the source over. Unique constraints on messages remain the backstop against double processing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from replywatch.clock import now as clock_now
from replywatch.store.models import SourceLease
from replywatch.store.sql import insert_missing

log = logging.getLogger(__name__)
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Attempt:
    won: bool
    busy_until: datetime | None  # when not won: when the holder's lease runs out unless it renews


class Leases:
    """The leases one daemon (`owner`) holds; thread-safe as far as each call uses its own session."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        owner: str,
        ttl_s: float,
        now: Callable[[], datetime] = clock_now,
    ) -> None:
        self.sessions, self.owner, self.ttl, self.now = sessions, owner, timedelta(seconds=ttl_s), now

    def acquire(self, source: str) -> Attempt:
        """Take or keep the lease of `source`; not won when another live daemon holds it."""
        now = self.now()
        with self.sessions() as session, session.begin():
            _ensure_row(session, source)
            row = session.execute(
                select(SourceLease.owner, SourceLease.expires_at)
                .where(SourceLease.source == source)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return Attempt(False, None)  # another daemon is taking it at this moment
            if row.owner != self.owner and row.expires_at > now:
                return Attempt(False, row.expires_at)
            taken = session.execute(
                update(SourceLease)
                .where(SourceLease.source == source)
                .where((SourceLease.owner == self.owner) | (SourceLease.expires_at <= now))
                .values(owner=self.owner, acquired_at=now, expires_at=now + self.ttl)
                .execution_options(synchronize_session=False)
            )
            won = bool(getattr(taken, "rowcount", 0))
        if won and row.owner not in ("", self.owner):
            log.info("took over source %s from %s (its lease expired)", source, row.owner)
        return Attempt(won, None)

    def renew(self, sources: Iterable[str]) -> set[str]:
        """Extend the leases we hold; the ones we no longer hold come back (another daemon took them)."""
        wanted = set(sources)
        if not wanted:
            return set()
        now = self.now()
        with self.sessions() as session, session.begin():
            session.execute(
                update(SourceLease)
                .where(SourceLease.source.in_(wanted), SourceLease.owner == self.owner)
                .values(expires_at=now + self.ttl)
                .execution_options(synchronize_session=False)
            )
            held = set(
                session.scalars(
                    select(SourceLease.source).where(
                        SourceLease.source.in_(wanted), SourceLease.owner == self.owner
                    )
                )
            )
        return wanted - held

    def release(self, sources: Iterable[str]) -> None:
        """Give the leases back at once, so another daemon need not wait for expiry."""
        wanted = list(sources)
        if not wanted:
            return
        with self.sessions() as session, session.begin():
            session.execute(
                update(SourceLease)
                .where(SourceLease.source.in_(wanted), SourceLease.owner == self.owner)
                .values(owner="", expires_at=_NEVER)
                .execution_options(synchronize_session=False)
            )


def _ensure_row(session: Session, source: str) -> None:
    values = {"source": source, "owner": "", "acquired_at": _NEVER, "expires_at": _NEVER}
    insert_missing(session, SourceLease, [values])
