"""Who is who, loaded once per run: stores (zone, region, hours) and associates by email and phone."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from replywatch.config import Settings, StoreConfig
from replywatch.domain.business_hours import BusinessHours
from replywatch.store import repo
from replywatch.store.models import Associate, Store


@dataclass(frozen=True)
class StoreInfo:
    id: int
    name: str
    zone: ZoneInfo
    region: str
    hours: BusinessHours


class Directory:
    """Stores and associates as the database holds them after syncing the configuration.

    Plain data once built: it outlives the session that built it.
    """

    def __init__(self, session: Session, settings: Settings) -> None:
        repo.sync_directory(session, settings)
        session.flush()
        configs: dict[str, StoreConfig] = {s.name: s for s in settings.stores}
        self.stores: dict[str, StoreInfo] = {}
        for row in session.scalars(select(Store)):
            cfg = configs.get(row.name) or StoreConfig(
                name=row.name, timezone=row.timezone, region=row.region
            )
            info = StoreInfo(row.id, row.name, cfg.zone, cfg.region, BusinessHours.from_store(cfg))
            self.stores[row.name.casefold()] = info
        self.by_id = {s.id: s for s in self.stores.values()}
        self.associate_store = {a.id: a.store_id for a in session.scalars(select(Associate))}
        self.associate_names = {a.name.casefold(): a.id for a in session.scalars(select(Associate))}
        self.identities = repo.associates_by_identity(session)
        first = settings.default_store
        self.default_store = self.stores.get(first.name.casefold()) if first else None

    def store(self, name: str | None) -> StoreInfo | None:
        return self.stores.get(name.strip().casefold()) if name else None

    def associates_of(self, kind: str, value: str | None) -> list[int]:
        return self.identities.get((kind, value), []) if value else []

    def region(self, store_id: int | None) -> str:
        info = self.by_id.get(store_id) if store_id else self.default_store
        return info.region if info else "US"

    def hours(self, store_id: int | None) -> BusinessHours | None:
        info = self.by_id.get(store_id) if store_id else None
        return info.hours if info else None
