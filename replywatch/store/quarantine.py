"""The quarantine as people work it: list and read its items, drop one, and take back one that a retry
stored (in the same transaction as the message it became)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from replywatch.store.models import Quarantine


@dataclass(frozen=True)
class QuarantinedItem:
    id: int
    source: str
    external_id: str
    position: str
    error: str
    created_at: datetime
    raw: bytes | None  # None once purged


def quarantined(session: Session, ids: Sequence[int] | None = None) -> list[QuarantinedItem]:
    """The items with these ids (every one when None), oldest first."""
    stmt = select(Quarantine).order_by(Quarantine.id)
    if ids is not None:
        stmt = stmt.where(Quarantine.id.in_(list(ids)))
    return [
        QuarantinedItem(q.id, q.source, q.external_id, q.position, q.error, q.created_at, q.raw)
        for q in session.scalars(stmt)
    ]


def drop(session: Session, item_id: int) -> bool:
    """Forget the item for good (its source will not offer it again); False when there is none."""
    return bool(session.execute(delete(Quarantine).where(Quarantine.id == item_id)).rowcount)  # type: ignore[attr-defined]


def set_error(session: Session, item_id: int, error: str) -> None:
    """A retry failed again: the item stays, with the new reason."""
    session.execute(update(Quarantine).where(Quarantine.id == item_id).values(error=error))
