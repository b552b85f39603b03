"""The configured stores and associates in the database: the sync (idempotent, safe to race) and the reads.

The sync runs where the configuration is taken up (start-up, reload, `db upgrade`, a command that
polls or imports), never per poll. Rows are inserted with ON CONFLICT DO NOTHING, so several daemons
started together on one empty database all succeed; then each row is set to the configured values,
which every racer sets alike.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from replywatch.config import Settings
from replywatch.domain.normalize import normalize_email, normalize_phone
from replywatch.store.models import Associate, AssociateIdentity, Store
from replywatch.store.sql import insert_missing


def sync_directory(sessions: sessionmaker[Session], settings: Settings) -> None:
    """Stores and associates from the configuration into the database, by name, in one transaction."""
    with sessions() as session, session.begin():
        insert_missing(
            session,
            Store,
            [{"name": s.name, "timezone": s.timezone, "region": s.region} for s in settings.stores],
        )
        for cfg in settings.stores:
            session.execute(
                update(Store).where(Store.name == cfg.name).values(timezone=cfg.timezone, region=cfg.region)
            )
        store_ids = dict(session.execute(select(Store.name, Store.id)).all())
        wanted = {a.name: store_ids[a.store] for a in settings.associates}
        insert_missing(session, Associate, [{"name": n, "store_id": s} for n, s in wanted.items()])
        for name, store_id in wanted.items():
            session.execute(update(Associate).where(Associate.name == name).values(store_id=store_id))
        associate_ids = dict(session.execute(select(Associate.name, Associate.id)).all())
        for acfg in settings.associates:
            region = settings.store(acfg.store).region
            identities = {("email", e) for e in map(normalize_email, acfg.emails) if e}
            identities |= {("phone", p) for p in (normalize_phone(x, region) for x in acfg.phones) if p}
            _sync_identities(session, associate_ids[acfg.name], identities)


def _sync_identities(session: Session, associate_id: int, wanted: set[tuple[str, str]]) -> None:
    mine = AssociateIdentity.associate_id == associate_id
    have = set(session.execute(select(AssociateIdentity.kind, AssociateIdentity.value).where(mine)))
    for kind, value in have - wanted:
        session.execute(
            delete(AssociateIdentity).where(
                mine, AssociateIdentity.kind == kind, AssociateIdentity.value == value
            )
        )
    rows = [{"associate_id": associate_id, "kind": k, "value": v} for k, v in wanted - have]
    insert_missing(session, AssociateIdentity, rows)


def store_rows(session: Session) -> list[tuple[int, str, str, str]]:
    """(id, name, timezone, region) of every store."""
    return list(session.execute(select(Store.id, Store.name, Store.timezone, Store.region)))


def associate_rows(session: Session) -> list[tuple[int, str, int]]:
    """(id, name, store id) of every associate."""
    return list(session.execute(select(Associate.id, Associate.name, Associate.store_id)))


def associates_by_identity(session: Session) -> dict[tuple[str, str], list[int]]:
    """(kind, value) → associate ids (a directory is small: read whole)."""
    found: dict[tuple[str, str], list[int]] = {}
    rows: Iterable[tuple[str, str, int]] = session.execute(
        select(AssociateIdentity.kind, AssociateIdentity.value, AssociateIdentity.associate_id)
    )
    for kind, value, associate_id in rows:
        found.setdefault((kind, value), []).append(associate_id)
    return found
