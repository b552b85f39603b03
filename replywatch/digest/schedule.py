"""Which digests are due: `send_at` in each store's time zone (right across DST), and failed ones again."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from replywatch.config import DigestConfig, Settings
from replywatch.digest.scope import WEEK, Scope, monday, scopes
from replywatch.digest.send import Outcome, deliver
from replywatch.store import Session, Sessions
from replywatch.store.digest_runs import busy_reason, runs_for, unfinished, worker_id


def send_moment(cfg: DigestConfig, scope: Scope, week_of: date) -> datetime:
    """When the digest of the week before `week_of` (a Monday) goes: send_at in the scope's zone.

    A local time that a DST change skips is taken at the offset before the change, so it still comes.
    """
    return datetime.combine(week_of + timedelta(days=cfg.send_weekday), cfg.send_time, scope.zone)


def due_week(cfg: DigestConfig, scope: Scope, now: datetime) -> date | None:
    """The week whose digest is due at `now` (the last complete one once send_at has passed), else None."""
    this_monday = monday(now.astimezone(scope.zone).date())
    if now < send_moment(cfg, scope, this_monday):
        return None
    week = this_monday - WEEK
    return week if scope.is_complete(week, now) else None


def due_digests(session: Session, settings: Settings, now: datetime) -> list[tuple[Scope, date]]:
    """Each scope's due week not sent yet, and every earlier failed or abandoned run whose retry is due."""
    by_name = {s.name: s for s in scopes(session, settings) if s.recipients}
    wanted: list[tuple[str, date]] = []
    for scope in by_name.values():
        week = due_week(settings.digest, scope, now)
        if week is not None:
            wanted.append((scope.name, week))
    wanted += [key for key in unfinished(session) if key[0] in by_name and key not in wanted]
    runs = runs_for(session, wanted)
    first_retry = timedelta(seconds=settings.digest.retry_seconds)
    return [
        (by_name[name], week)
        for name, week in wanted
        if (name, week) not in runs or busy_reason(runs[(name, week)], now, first_retry=first_retry) is None
    ]


def send_due_digests(
    sessions: Sessions, settings: Settings, now: datetime, worker: str | None = None
) -> list[Outcome]:
    """The daemon's hook, cheap to call every poll: sends what is due, each digest once across daemons."""
    with sessions() as session:
        due = due_digests(session, settings, now)
    me = worker or worker_id()
    return [deliver(sessions, settings, scope, week, now, me) for scope, week in due]
