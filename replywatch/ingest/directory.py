"""Who is who, loaded once at the edge: stores (zone, region, hours), associates by email and phone, and
the length from which a call is a conversation."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from replywatch.config import Settings, StoreConfig
from replywatch.domain.business_hours import BusinessHours
from replywatch.domain.calls import DEFAULT_MIN_CALL_SECONDS
from replywatch.domain.events import Subscription
from replywatch.store import Session, Sessions
from replywatch.store import directory as rows


@dataclass(frozen=True)
class StoreInfo:
    id: int
    name: str
    zone: ZoneInfo
    region: str
    hours: BusinessHours


@dataclass(frozen=True)
class Directory:
    """Stores and associates as the database holds them after the configuration was synced into it.

    Plain, read-only data: built once per run (and per reload) and passed down, it never writes."""

    stores: dict[str, StoreInfo]  # by case-folded name
    associate_store: dict[int, int]
    associate_names: dict[str, int]  # case-folded name → id
    identities: dict[tuple[str, str], list[int]]
    default_store: StoreInfo | None
    by_id: dict[int, StoreInfo]
    min_call_seconds: int = DEFAULT_MIN_CALL_SECONDS  # a call this long that completed is a conversation
    subscriptions: tuple[Subscription, ...] = ()  # the [[notify]] targets: who the outbox writes for

    @classmethod
    def load(cls, session: Session, settings: Settings) -> Directory:
        configs: dict[str, StoreConfig] = {s.name: s for s in settings.stores}
        stores: dict[str, StoreInfo] = {}
        for store_id, name, timezone, region in rows.store_rows(session):
            cfg = configs.get(name) or StoreConfig(name=name, timezone=timezone, region=region)
            stores[name.casefold()] = StoreInfo(
                store_id, name, cfg.zone, cfg.region, BusinessHours.from_store(cfg)
            )
        associates = rows.associate_rows(session)
        first = settings.default_store
        return cls(
            stores=stores,
            associate_store={a_id: store_id for a_id, _, store_id in associates},
            associate_names={name.casefold(): a_id for a_id, name, _ in associates},
            identities=rows.associates_by_identity(session),
            default_store=stores.get(first.name.casefold()) if first else None,
            by_id={s.id: s for s in stores.values()},
            min_call_seconds=settings.contact.min_call_seconds,
            subscriptions=tuple(
                Subscription(
                    target.name,
                    frozenset(target.events),
                    None
                    if target.stores is None
                    else frozenset(stores[n.casefold()].id for n in target.stores),
                )
                for target in settings.notify
            ),
        )

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


def open_directory(sessions: Sessions, settings: Settings) -> Directory:
    """The configuration synced into the database (idempotent, safe when several start at once), then
    the directory read back: what an edge (a command, a daemon generation) does once at start-up."""
    rows.sync_directory(sessions, settings)
    with sessions() as session:
        return Directory.load(session, settings)
