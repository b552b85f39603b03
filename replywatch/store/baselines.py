"""Baselines pinned by `digest baseline set`: a scope's pinned weeks, read and written by scope name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from replywatch.store.models import DigestBaseline


@dataclass(frozen=True)
class Pin:
    first_week: date  # Mondays, both weeks included
    last_week: date


def find_pin(session: Session, *scopes: str) -> Pin | None:
    """The pin of the first of `scopes` that has one (a scope's own, then the one for every scope)."""
    for scope in scopes:
        row = session.get(DigestBaseline, scope)
        if row is not None:
            return Pin(row.first_week, row.last_week)
    return None


def save_pin(session: Session, scope: str, pin: Pin, now: datetime) -> None:
    """Pin `scope` to these weeks, replacing its previous pin; the caller commits."""
    row = session.get(DigestBaseline, scope) or DigestBaseline(scope=scope)
    row.first_week, row.last_week, row.pinned_at = pin.first_week, pin.last_week, now
    session.add(row)
