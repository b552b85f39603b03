"""Who a digest is for (a store, or the group roll-up) and its store-local weeks as UTC windows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from replywatch.config import Settings
from replywatch.errors import ReplywatchError
from replywatch.reports.directory import store_ids
from replywatch.reports.metrics import Window
from replywatch.store import Session

GROUP = "group"  # the digest_runs scope of the roll-up
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class StoreRef:
    id: int | None  # None until the store's first lead or message is stored
    name: str
    zone: ZoneInfo


@dataclass(frozen=True)
class Scope:
    name: str  # a store's name, or GROUP
    title: str
    stores: tuple[StoreRef, ...]
    recipients: tuple[str, ...]
    is_group: bool = False
    widest: bool = False  # every configured store: it also shows what no store claims

    @property
    def zone(self) -> ZoneInfo:
        """Where its Monday is: the store's zone; the roll-up goes by the first store's."""
        return self.stores[0].zone

    @property
    def store_ids(self) -> list[int]:
        return [s.id for s in self.stores if s.id is not None]

    def window(self, first_week: date, weeks: int) -> Window:
        """`weeks` consecutive weeks from the Monday `first_week`, each store in its own zone."""
        return Window({s.id: week_edges(s.zone, first_week, weeks) for s in self.stores if s.id is not None})

    def pooled(self, first_week: date, last_week: date) -> Window:
        """Weeks first_week … last_week as one bucket (a baseline)."""
        weeks = (last_week - first_week) // WEEK + 1
        return Window(
            {sid: [edges[0], edges[-1]] for sid, edges in self.window(first_week, weeks).edges.items()}
        )

    def latest_complete_week(self, now: datetime) -> date:
        """The Monday of the last week that has ended in every store of the scope."""
        week = monday(now.astimezone(self.zone).date())
        while not self.is_complete(week, now):
            week -= WEEK
        return week

    def is_complete(self, week: date, now: datetime) -> bool:
        return all(week_edges(s.zone, week, 1)[1] <= now for s in self.stores)

    def latest_matured_week(self, now: datetime) -> date:
        """The Monday of the last week whose every lead is 7 days old at `now`, in every store."""
        week = self.latest_complete_week(now)
        while not self.is_matured(week, now):
            week -= WEEK
        return week

    def is_matured(self, week: date, now: datetime) -> bool:
        """Ended at least 7 days before `now`: its 7-day contact rate is final."""
        return self.is_complete(week, now - WEEK)


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def require_monday(day: date, option: str = "--week") -> date:
    if day.weekday() != 0:
        raise ReplywatchError(
            f"{option}: {day.isoformat()} is a {day.strftime('%A')}; weeks start on Monday "
            f"(that week's Monday is {monday(day).isoformat()})"
        )
    return day


def parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ReplywatchError(f"{option}: expected a day as YYYY-MM-DD, got {text!r}") from None


def week_edges(zone: ZoneInfo, first_week: date, weeks: int) -> list[datetime]:
    """Store-local Mondays 00:00 as UTC instants; a week across a DST change is 167 or 169 hours."""
    return [datetime.combine(first_week + i * WEEK, time(0), zone).astimezone(UTC) for i in range(weeks + 1)]


def scopes(session: Session, settings: Settings) -> list[Scope]:
    """Each configured store, then the roll-up when there are several stores or group recipients."""
    ids = store_ids(session)
    refs = [StoreRef(ids.get(s.name), s.name, s.zone) for s in settings.stores]
    found = [
        Scope(ref.name, ref.name, (ref,), tuple(cfg.digest_recipients), widest=len(refs) == 1)
        for ref, cfg in zip(refs, settings.stores, strict=True)
    ]
    if refs and (len(refs) > 1 or settings.digest.group_recipients):
        group = settings.digest.group_name
        recipients = tuple(settings.digest.group_recipients)
        found.append(Scope(GROUP, group, tuple(refs), recipients, is_group=True, widest=True))
    return found


def scope_named(all_scopes: list[Scope], name: str | None) -> Scope:
    """A store by name, or the roll-up ("group" or its configured name); None: the widest scope."""
    if not all_scopes:
        raise ReplywatchError("no stores configured: add a [[stores]] table to the configuration")
    if name is None:
        return all_scopes[-1]
    for scope in all_scopes:
        if name.casefold() in (scope.name.casefold(), scope.title.casefold()):
            return scope
    known = ", ".join(s.name for s in all_scopes)
    raise ReplywatchError(f"no store named {name!r} (known: {known})")


def latest_complete_week(session: Session, settings: Settings, now: datetime) -> date:
    """The last week that has ended in every store."""
    return scope_named(scopes(session, settings), None).latest_complete_week(now)
