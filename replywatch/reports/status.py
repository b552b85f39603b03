"""What `replywatch status` reports: each source's health and the store's counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from replywatch.clock import as_utc, iso_z
from replywatch.domain.vocabulary import MatchStatus
from replywatch.reports.digests import digest_status
from replywatch.reports.notify import target_states
from replywatch.reports.unmatched import unmatched_count
from replywatch.store.digest_runs import FAILED
from replywatch.store.models import Lead, Match, Quarantine, SourceLease, SourceState

DEFAULT_STALL_S = 3 * 60 + 60  # three default intervals and the default grace ([daemon] config)


def source_health(
    session: Session, source_names: list[str], now: datetime, stall_limits: dict[str, float] | None = None
) -> dict[str, Any]:
    """Per source: last success and attempt, lag, failures, pause, who holds it; `failing` names the
    sources failing now and the failed digests; `stalled` the sources nobody has polled for their stall
    limit (three intervals and the watchdog's grace: `DaemonConfig.stall_limit`)."""
    states = {s.source: s for s in session.scalars(select(SourceState))}
    leases = {x.source: x for x in session.scalars(select(SourceLease))}
    sources = []
    stalled = []
    for name in source_names:
        state = states.get(name)
        lease = leases.get(name)
        held = lease is not None and lease.owner and as_utc(lease.expires_at) > now
        last_attempt = as_utc(state.last_attempt_at) if state and state.last_attempt_at else None
        limit = (stall_limits or {}).get(name, DEFAULT_STALL_S)
        if last_attempt is None or (now - last_attempt).total_seconds() > limit:
            stalled.append(name)
        sources.append(
            {
                "name": name,
                "last_success_at": iso_z(state.last_success_at) if state else None,
                "last_attempt_at": iso_z(state.last_attempt_at) if state else None,
                "lag_s": int((now - state.last_success_at).total_seconds())
                if state and state.last_success_at
                else None,
                "consecutive_failures": state.consecutive_failures if state else 0,
                "last_error": state.last_error if state else None,
                "items_total": state.items_total if state else 0,
                "paused": bool(state and state.paused_config),
                "lease_owner": lease.owner if held and lease else None,
                "lease_expires_at": iso_z(lease.expires_at) if held and lease else None,
            }
        )
    digests = digest_status(session, now)
    notify = notify_health(session, now)
    return {
        "sources": sources,
        "failing": [s["name"] for s in sources if s["consecutive_failures"]]
        + [f"digest {d['scope']} {d['week']}" for d in digests if d["status"] == FAILED]
        + [f"notify {n['target']}: {n['given_up_24h']} given up" for n in notify if n["given_up_24h"]],
        "notify": notify,
        "stalled": stalled,
        "digests": digests,
        "leads": session.scalar(select(func.count()).select_from(Lead)) or 0,
        "contacted": session.scalar(select(func.count()).where(Lead.contact_at.is_not(None))) or 0,
        "review_backlog": session.scalar(select(func.count()).where(Match.status == MatchStatus.REVIEW)) or 0,
        "unmatched_replies": unmatched_count(session),
        "quarantined": session.scalar(select(func.count()).select_from(Quarantine)) or 0,
        "recent_quarantine": [
            {"source": q.source, "position": q.position, "error": q.error, "at": iso_z(q.created_at)}
            for q in session.scalars(select(Quarantine).order_by(Quarantine.id.desc()).limit(10))
        ],
    }


def notify_health(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Per notification target with anything waiting or lost: deliveries pending, of those failing (being
    retried), and given up in the last 24 hours (those make `status` fail, as a failed digest does)."""
    return [
        {"target": s.target, "pending": s.pending, "failing": s.failing, "given_up_24h": s.failed_24h}
        for s in target_states(session, now)
        if s.pending or s.failed_24h
    ]
