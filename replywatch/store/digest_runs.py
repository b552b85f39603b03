"""Exactly once per scope and week: a digest is claimed in digest_runs before it is sent, then marked."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from replywatch.clock import iso_z
from replywatch.store.models import DigestRun

SENDING, SENT, FAILED = "sending", "sent", "failed"
LEASE = timedelta(minutes=30)  # a claim this old belongs to a sender that died mid-send
MAX_BACKOFF = timedelta(hours=1)
FIRST_RETRY = timedelta(minutes=1)  # `[digest] retry_seconds`


@dataclass(frozen=True)
class Claim:
    run_id: int
    worker: str
    attempt: int


@dataclass(frozen=True)
class Busy:
    reason: str


def worker_id() -> str:
    """Who holds a claim: host and process, plus a nonce so two senders in one process differ."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def backoff(attempts: int, first: timedelta = FIRST_RETRY) -> timedelta:
    """1, 2, 4 … minutes (`first` doubling) after each failed attempt, at most an hour: a dead server is
    never given up."""
    return min(first * 2 ** min(attempts - 1, 10), MAX_BACKOFF)


def claim(
    sessions: sessionmaker[Session],
    scope: str,
    week: date,
    worker: str,
    now: datetime,
    *,
    retry_now: bool = False,
    first_retry: timedelta = FIRST_RETRY,
) -> Claim | Busy:
    """Insert the run, or take over a failed or abandoned one by compare-and-set; never two senders."""
    with sessions() as session, session.begin():
        run = DigestRun(
            scope=scope, week_start=week, status=SENDING, claimed_by=worker, claimed_at=now, attempts=1
        )
        try:
            with session.begin_nested():
                session.add(run)
            return Claim(run.id, worker, 1)
        except IntegrityError:
            pass  # the run exists: decide on the row another sender committed
        existing = session.scalars(
            select(DigestRun).where(DigestRun.scope == scope, DigestRun.week_start == week)
        ).one()
        reason = busy_reason(existing, now, retry_now, first_retry)
        if reason is not None:
            return Busy(reason)
        return _take_over(session, existing.id, existing.status, existing.attempts, worker, now)


def _take_over(
    session: Session, run_id: int, status: str, attempts: int, worker: str, now: datetime
) -> Claim | Busy:
    """Compare-and-set on (status, attempts): of two senders reading the same row, one wins."""
    taken = session.execute(
        update(DigestRun)
        .where(DigestRun.id == run_id, DigestRun.status == status, DigestRun.attempts == attempts)
        .values(status=SENDING, claimed_by=worker, claimed_at=now, attempts=attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return Busy("another sender claimed it a moment ago")
    return Claim(run_id, worker, attempts + 1)


def busy_reason(
    run: DigestRun, now: datetime, retry_now: bool = False, first_retry: timedelta = FIRST_RETRY
) -> str | None:
    """Why this run may not be (re)claimed now; None when it may."""
    if run.status == SENT:
        return f"already sent at {iso_z(run.sent_at)}"
    claimed_at = run.claimed_at or now
    if run.status == SENDING and now - claimed_at < LEASE:
        return f"being sent by {run.claimed_by} since {iso_z(claimed_at)}"
    retry_at = claimed_at + backoff(run.attempts, first_retry)
    if run.status == FAILED and not retry_now and now < retry_at:
        return f"failed {run.attempts} times; next attempt at {iso_z(retry_at)}"
    return None


def mark_sent(sessions: sessionmaker[Session], got: Claim, now: datetime, note: str | None = None) -> None:
    _finish(sessions, got, status=SENT, sent_at=now, last_error=note)


def mark_failed(sessions: sessionmaker[Session], got: Claim, error: str) -> None:
    _finish(sessions, got, status=FAILED, last_error=error[:2000])


def _finish(sessions: sessionmaker[Session], got: Claim, **values: Any) -> None:
    with sessions() as session, session.begin():
        session.execute(
            update(DigestRun)
            .where(
                DigestRun.id == got.run_id,
                DigestRun.claimed_by == got.worker,
                DigestRun.attempts == got.attempt,
            )
            .values(**values)
        )


def unfinished(session: Session) -> list[tuple[str, date]]:
    """Runs that failed or were abandoned mid-send: retried until they go, whatever week they are for."""
    stmt = select(DigestRun.scope, DigestRun.week_start).where(DigestRun.status.in_((FAILED, SENDING)))
    return [(scope, week) for scope, week in session.execute(stmt.order_by(DigestRun.week_start))]


def runs_for(session: Session, keys: list[tuple[str, date]]) -> dict[tuple[str, date], DigestRun]:
    weeks = sorted({w for _, w in keys})
    if not weeks:
        return {}
    rows = session.scalars(select(DigestRun).where(DigestRun.week_start.in_(weeks)))
    return {(r.scope, r.week_start): r for r in rows}
