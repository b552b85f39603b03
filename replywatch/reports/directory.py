"""The names reports show: each store's id by name, each associate's name by id, and the labels of none."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from replywatch.store.models import Associate, Store

NO_STORE = "(no store)"
UNASSIGNED = "(unassigned)"


def store_ids(session: Session) -> dict[str, int]:
    """Store name → id, for the stores the database knows (a configured store appears with its first lead)."""
    return {name: store_id for name, store_id in session.execute(select(Store.name, Store.id))}


def associate_names(session: Session) -> dict[int, str]:
    """Associate id → name."""
    return {
        associate_id: name for associate_id, name in session.execute(select(Associate.id, Associate.name))
    }
