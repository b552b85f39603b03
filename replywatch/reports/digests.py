"""What `status` and `digest status` show of the digests: each scope's latest run and every one not sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from replywatch.clock import iso_z
from replywatch.store.digest_runs import FAILED, SENT, backoff
from replywatch.store.models import DigestRun


def digest_status(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Per scope, its latest run, and every run not sent yet: what `status` shows of the digest."""
    runs = list(session.scalars(select(DigestRun).order_by(DigestRun.week_start.desc(), DigestRun.scope)))
    latest: dict[str, DigestRun] = {}
    for run in runs:
        latest.setdefault(run.scope, run)
    shown = [r for r in runs if r.status != SENT or latest[r.scope] is r]
    return [_status_row(r, now) for r in sorted(shown, key=lambda r: (r.scope, r.week_start))]


def _status_row(run: DigestRun, now: datetime) -> dict[str, Any]:
    retry = (run.claimed_at or now) + backoff(run.attempts) if run.status == FAILED else None
    return {
        "scope": run.scope,
        "week": run.week_start.isoformat(),
        "status": run.status,
        "attempts": run.attempts,
        "sent_at": iso_z(run.sent_at) or None,
        "last_error": run.last_error,
        "next_attempt_at": iso_z(retry) or None,
    }
