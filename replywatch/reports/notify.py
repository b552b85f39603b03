"""What `notify status` and `replywatch status` say of the notification targets: per target, deliveries
pending, failing, given up and delivered, and the latest error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from replywatch.store.models import NotifyDelivery
from replywatch.store.outbox import DELIVERED, FAILED, PENDING


@dataclass(frozen=True)
class TargetState:
    """What `notify status` says of one target."""

    target: str
    pending: int  # waiting to be sent, first attempt or retry
    failing: int  # of those, the ones that failed at least once
    failed: int  # given up after retrying for the whole retry window
    failed_24h: int  # of those, given up in the last 24 hours: these make `replywatch status` fail
    delivered_24h: int
    oldest_pending_at: datetime | None
    next_retry_at: datetime | None  # the soonest retry of a failing delivery
    last_error: str | None
    last_error_at: datetime | None
    last_delivered_at: datetime | None

    @classmethod
    def empty(cls, target: str) -> TargetState:
        """A configured target nothing was ever raised for."""
        return cls(target, 0, 0, 0, 0, 0, None, None, None, None, None)


def target_states(session: Session, now: datetime) -> list[TargetState]:
    """Per target named by any delivery: counts by state, and the latest error."""
    d = NotifyDelivery
    day_ago = now - timedelta(hours=24)
    counts = (
        select(
            d.target,
            func.sum(case((d.status == PENDING, 1), else_=0)),
            func.sum(case((and_(d.status == PENDING, d.attempts > 0), 1), else_=0)),
            func.sum(case((d.status == FAILED, 1), else_=0)),
            func.sum(case((and_(d.status == FAILED, d.last_attempt_at >= day_ago), 1), else_=0)),
            func.sum(case((and_(d.status == DELIVERED, d.delivered_at >= day_ago), 1), else_=0)),
            func.min(case((d.status == PENDING, d.created_at), else_=None)),
            func.min(case((and_(d.status == PENDING, d.attempts > 0), d.next_attempt_at), else_=None)),
            func.max(d.delivered_at),
        )
        .group_by(d.target)
        .order_by(d.target)
    )
    found = []
    for target, pending, failing, failed, failed_24h, delivered, oldest, next_at, last_ok in session.execute(
        counts
    ):
        error = session.execute(
            select(d.last_error, d.last_attempt_at)
            .where(d.target == target, d.last_error.is_not(None))
            .order_by(d.last_attempt_at.desc())
            .limit(1)
        ).first()
        found.append(
            TargetState(
                target,
                int(pending or 0),
                int(failing or 0),
                int(failed or 0),
                int(failed_24h or 0),
                int(delivered or 0),
                _aware(oldest),
                _aware(next_at),
                error[0] if error else None,
                error[1] if error else None,
                last_ok,
            )
        )
    return found


def _aware(value: datetime | str | None) -> datetime | None:
    """min/max over a CASE loses the column type: SQLite hands back its text, PostgreSQL a naive time."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
