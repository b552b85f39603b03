"""What `replywatch status` reports: each source's health and the store's counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from replywatch.clock import iso_z
from replywatch.digest.runs import FAILED, digest_status
from replywatch.store.models import Lead, Match, Quarantine, SourceState


def source_health(session: Session, source_names: list[str], now: datetime) -> dict[str, Any]:
    states = {s.source: s for s in session.scalars(select(SourceState))}
    sources = []
    for name in source_names:
        state = states.get(name)
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
            }
        )
    digests = digest_status(session, now)
    return {
        "sources": sources,
        "failing": [s["name"] for s in sources if s["consecutive_failures"]]
        + [f"digest {d['scope']} {d['week']}" for d in digests if d["status"] == FAILED],
        "digests": digests,
        "leads": session.scalar(select(func.count()).select_from(Lead)) or 0,
        "contacted": session.scalar(select(func.count()).where(Lead.contact_at.is_not(None))) or 0,
        "review_backlog": session.scalar(select(func.count()).where(Match.status == "review")) or 0,
        "quarantined": session.scalar(select(func.count()).select_from(Quarantine)) or 0,
        "recent_quarantine": [
            {"source": q.source, "position": q.position, "error": q.error, "at": iso_z(q.created_at)}
            for q in session.scalars(select(Quarantine).order_by(Quarantine.id.desc()).limit(10))
        ],
    }
