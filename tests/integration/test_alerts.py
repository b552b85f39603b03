"""Alerts on SQLite and PostgreSQL: untouched leads counted in open hours, never for a backfill; sources
down and back; a stale review queue once per store-day; each alert once however many daemons check."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from mailbuild import DANA, STORE, Maildir, lead_mail, mail, two_john_smiths
from sqlalchemy import select
from wiring import pipeline as wired_pipeline

from replywatch.clock import iso_z
from replywatch.config import Settings, settings_from_dict
from replywatch.domain.events import (
    ALERTS,
    LEAD_UNTOUCHED,
    LEAD_UNTOUCHED_ESCALATED,
    REVIEW_BACKLOG,
    SOURCE_FAILING,
    SOURCE_RECOVERED,
)
from replywatch.errors import SourceError
from replywatch.ingest.lead_import import import_leads
from replywatch.ingest.pipeline import Pipeline
from replywatch.notify.alerts import raise_alerts
from replywatch.parse.leads_csv import parse_leads_csv
from replywatch.sources.factory import build_source
from replywatch.store import Session, Sessions, sources
from replywatch.store import alerts as alert_rows
from replywatch.store.db import open_database
from replywatch.store.models import NotifyDelivery, NotifyEvent

CHICAGO = ZoneInfo("America/Chicago")
OTHER = "Harbor Toyota"
OPEN = dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat"), "09:00-20:00")  # closed Sunday
EVERY_ALERT = {"name": "ops", "type": "webhook", "url": "http://127.0.0.1:9/ops", "secret_env": "RW_SECRET"}


def chicago(day: int, hour: int, minute: int = 0) -> datetime:
    """A Main Street Honda wall time in November 2026 (Saturday the 7th; clocks fell back on the 1st)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=CHICAGO)


def config(tmp: Path, db_url: str, *, notify: list[dict[str, Any]] | None = None, **extra: Any) -> Settings:
    """Two stores (Main Street Honda open Mon–Sat 09:00–20:00), Dana, a Maildir, and an `ops` target that
    wants every alert. Sources are down only after a week unless `alerts` says: most tests poll once."""
    inbox = {"name": "inbox", "type": "maildir", "path": str(tmp / "mail"), "store": STORE}
    return settings_from_dict(
        {
            "database": {"url": db_url},
            "stores": [
                {"name": STORE, "timezone": "America/Chicago", "hours": OPEN},
                {"name": OTHER, "timezone": "America/New_York"},
            ],
            "associates": [{"name": "Dana Lee", "store": STORE, "emails": [DANA]}],
            "sources": [inbox, *extra.pop("sources", [])],
            "notify": notify if notify is not None else [{**EVERY_ALERT, "events": list(ALERTS)}],
            "alerts": extra.pop("alerts", {"source_down_minutes": 7 * 24 * 60}),
            **extra,
        }
    )


@dataclass
class Dealership:
    """A wired pipeline whose clock the test sets, and the alert check on its database."""

    cfg: Settings
    sessions: Sessions
    pipeline: Pipeline
    clock: list[datetime] = field(default_factory=list)

    def poll(self, when: datetime, source: int = 0) -> None:
        self.clock[:] = [when]
        self.pipeline.poll(build_source(self.cfg.sources[source]))

    def poll_failing(self, when: datetime, source: int = 0) -> None:
        with pytest.raises(SourceError):
            self.poll(when, source)

    def check(self, when: datetime) -> dict[str, int]:
        return raise_alerts(self.sessions, self.cfg, self.pipeline.directory, when).counts

    def events(self, kind: str | None = None) -> list[NotifyEvent]:
        """The alerts raised (of one type), oldest first: the lead facts the pipeline raises left out."""
        kinds = list(ALERTS) if kind is None else [kind]
        with self.sessions() as session:
            stmt = select(NotifyEvent).where(NotifyEvent.type.in_(kinds)).order_by(NotifyEvent.id)
            return list(session.scalars(stmt))

    def deliveries(self) -> set[tuple[str, str]]:
        with self.sessions() as session:
            stmt = select(NotifyEvent.key, NotifyDelivery.target).join(
                NotifyEvent, NotifyEvent.id == NotifyDelivery.event_pk
            )
            return {(key, target) for key, target in session.execute(stmt)}


def dealership(cfg: Settings) -> Dealership:
    _, sessions = open_database(cfg.database.url)
    clock: list[datetime] = [datetime(2026, 11, 1, tzinfo=UTC)]
    pipeline = wired_pipeline(sessions, cfg, now=lambda: clock[0])
    return Dealership(cfg, sessions, pipeline, clock)


def a_lead(box: Maildir, lead_id: str, when: datetime, email: str | None = None) -> None:
    address = email or f"{lead_id.lower()}@mail.example"
    box.add(lead_mail(lead_id, "Ana", f"Diaz{lead_id}", address, None, when), when)


def test_a_lead_at_saturday_closing_alerts_monday_morning_then_escalates(tmp_path: Path, db_url: str) -> None:
    # Given a lead at 19:55 on Saturday, five minutes before closing, stored a minute later
    box = Maildir(tmp_path / "mail")
    a_lead(box, "W1", chicago(7, 19, 55))
    shop = dealership(config(tmp_path, db_url))
    shop.poll(chicago(7, 19, 56))
    # When the alerts are checked Saturday night, on closed Sunday and at 09:09 on Monday
    quiet = [shop.check(when) for when in (chicago(7, 20, 30), chicago(8, 12), chicago(9, 9, 9))]
    # Then nothing is due: 5 open minutes on Saturday and 9 on Monday make 14
    assert quiet == [{}, {}, {}]
    # And at 09:10 it has waited 15 open minutes: one lead.untouched, at that instant
    assert shop.check(chicago(9, 9, 10)) == {LEAD_UNTOUCHED: 1}
    assert shop.check(chicago(9, 9, 30)) == {}
    # And at 60 open minutes (09:55 Monday) it is escalated, once
    assert shop.check(chicago(9, 9, 54)) == {}
    assert shop.check(chicago(9, 9, 55)) == {LEAD_UNTOUCHED_ESCALATED: 1}
    assert shop.check(chicago(9, 14)) == {}
    untouched, escalated = shop.events()
    assert (untouched.type, untouched.occurred_at, untouched.data["waited_minutes"]) == (
        LEAD_UNTOUCHED,
        chicago(9, 9, 10),
        15,
    )
    assert (escalated.type, escalated.occurred_at, escalated.data["waited_minutes"]) == (
        LEAD_UNTOUCHED_ESCALATED,
        chicago(9, 9, 55),
        60,
    )
    lead = untouched.data["lead"]
    assert (lead["lead_id"], lead["store"], lead["received_at"], lead["contacted"]) == (
        "W1",
        STORE,
        "2026-11-08T01:55:00Z",
        False,
    )
    assert untouched.key == f"{LEAD_UNTOUCHED}:{untouched.lead_id}"
    assert untouched.store_id is not None and untouched.lead_id == escalated.lead_id


def test_a_touched_lead_never_alerts(tmp_path: Path, db_url: str) -> None:
    # Given two leads at 10:00 on Tuesday; Dana writes to one of them at 10:05
    box = Maildir(tmp_path / "mail")
    a_lead(box, "T1", chicago(10, 10), "t1@mail.example")
    a_lead(box, "U1", chicago(10, 10), "u1@mail.example")
    box.add(
        mail(DANA, "t1@mail.example", "Your CR-V", "Hi Ana", chicago(10, 10, 5), "<f1@msh>"),
        chicago(10, 10, 5),
        "Sent",
    )
    shop = dealership(config(tmp_path, db_url))
    shop.poll(chicago(10, 10, 6))
    # When the alerts are checked through the day
    for when in (chicago(10, 10, 15), chicago(10, 11), chicago(10, 19)):
        shop.check(when)
    # Then only the untouched lead alerted, and was escalated
    alerted = {(e.type, e.data["lead"]["lead_id"]) for e in shop.events()}
    assert alerted == {(LEAD_UNTOUCHED, "U1"), (LEAD_UNTOUCHED_ESCALATED, "U1")}


def test_a_backfill_of_a_year_raises_no_untouched_alert(tmp_path: Path, db_url: str) -> None:
    # Given a year of leads imported on Monday 08:00: 300 every 29 hours, one at Saturday's closing (due
    # Monday 09:10, but 36 hours old when stored: history) and one from Sunday (21 hours old: live)
    rows = [f"B{i},{(chicago(7, 12) - timedelta(hours=29 * i)).isoformat()}" for i in range(300)]
    rows += [f"SAT,{chicago(7, 19, 55).isoformat()}", f"SUN,{chicago(8, 11).isoformat()}"]
    text = "lead_id,received_at,first_name,last_name,email,phone,source,associate,store\n" + "".join(
        f"{lead_id},{when},Ana,Diaz,{lead_id.lower()}@mail.example,,Website,,{STORE}\n"
        for lead_id, when in (row.split(",") for row in rows)
    )
    Maildir(tmp_path / "mail")
    shop = dealership(config(tmp_path, db_url))
    with shop.sessions() as session, session.begin():
        imported = import_leads(
            session,
            shop.pipeline.directory,
            shop.cfg,
            parse_leads_csv(text),
            chicago(9, 8),
            shop.pipeline.rules.policy,
        )
    assert imported.new == 302
    # When the alerts are checked every hour on Monday and Tuesday
    for hour in range(8, 48):
        shop.check(chicago(9, 0) + timedelta(hours=hour))
    # Then only the lead from Sunday, which arrived while someone could still act on it, alerted
    assert {(e.type, e.data["lead"]["lead_id"]) for e in shop.events()} == {
        (LEAD_UNTOUCHED, "SUN"),
        (LEAD_UNTOUCHED_ESCALATED, "SUN"),
    }


def test_two_daemons_checking_at_once_raise_each_alert_once(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given five untouched leads and a review item, and two daemons (each its own engine)
    box = Maildir(tmp_path / "mail")
    for i in range(5):
        a_lead(box, f"C{i}", chicago(10, 10, i))
    two_john_smiths(box)
    box.add(
        mail("John Smith <john@plumbing.example>", DANA, "hi", "Call me", chicago(4, 9), "<r1@x>"),
        chicago(4, 9),
    )
    shop = dealership(config(tmp_path, db_url))
    shop.poll(chicago(10, 10, 5))
    daemons = [dealership(shop.cfg) for _ in range(2)]
    # When both check at once, each having looked for the alerts raised already before either writes
    both_looked = threading.Barrier(len(daemons), timeout=30)
    real_known_keys = alert_rows.known_keys

    def known_keys_then_wait(session: Session, keys: Sequence[str]) -> set[str]:
        found = real_known_keys(session, keys)
        both_looked.wait()
        return found

    monkeypatch.setattr(alert_rows, "known_keys", known_keys_then_wait)
    raised: list[dict[str, int]] = []
    for when in (chicago(10, 10, 30), chicago(11, 10, 30)):
        with ThreadPoolExecutor(len(daemons)) as pool:
            raised += list(pool.map(lambda d, when=when: d.check(when), daemons))
        both_looked.reset()
    # Then between them they raised each alert once, and each has one delivery
    totals: dict[str, int] = {}
    for counts in raised:
        for kind, n in counts.items():
            totals[kind] = totals.get(kind, 0) + n
    assert totals == {LEAD_UNTOUCHED: 5, LEAD_UNTOUCHED_ESCALATED: 5, REVIEW_BACKLOG: 1}
    events = shop.events()
    assert len({e.key for e in events}) == len(events) == 11
    assert len(shop.deliveries()) == 11


def test_a_failing_source_alerts_after_the_down_minutes_and_recovers_once(
    tmp_path: Path, db_url: str
) -> None:
    # Given the inbox polled at 15:00, then its folder gone: every poll fails
    Maildir(tmp_path / "mail")
    shop = dealership(config(tmp_path, db_url, alerts={}))
    t0 = datetime(2026, 11, 10, 15, tzinfo=UTC)
    shop.poll(t0)
    (tmp_path / "mail").rename(tmp_path / "gone")
    for minute in (1, 3, 7, 12, 14):
        shop.poll_failing(t0 + timedelta(minutes=minute))
    # When checked at 14 and 15 minutes without a success
    assert shop.check(t0 + timedelta(minutes=14)) == {}
    assert shop.check(t0 + timedelta(minutes=15)) == {SOURCE_FAILING: 1}
    # Then it alerted once for the outage, however long it lasts
    shop.poll_failing(t0 + timedelta(minutes=20))
    assert shop.check(t0 + timedelta(minutes=21)) == {}
    (failing,) = shop.events(SOURCE_FAILING)
    assert failing.key == f"{SOURCE_FAILING}:inbox:{iso_z(t0)}"
    assert failing.data["source"] == "inbox" and failing.data["since"] == iso_z(t0)
    assert "does not exist" in failing.data["error"]
    assert failing.source == "inbox" and failing.store_id is not None
    # And once the folder is back and a poll succeeds, it recovered, once
    (tmp_path / "gone").rename(tmp_path / "mail")
    shop.poll(t0 + timedelta(minutes=25))
    assert shop.check(t0 + timedelta(minutes=26)) == {SOURCE_RECOVERED: 1}
    assert shop.check(t0 + timedelta(minutes=27)) == {}
    (recovered,) = shop.events(SOURCE_RECOVERED)
    assert recovered.key == f"{SOURCE_RECOVERED}:inbox:{iso_z(t0)}"
    assert recovered.data == {"source": "inbox", "error": None, "since": iso_z(t0), "down_minutes": 25}
    assert recovered.occurred_at == t0 + timedelta(minutes=25)
    # And a later outage is a new one, with its own recovery
    (tmp_path / "mail").rename(tmp_path / "gone")
    shop.poll_failing(t0 + timedelta(minutes=30))
    assert shop.check(t0 + timedelta(minutes=39)) == {}
    assert shop.check(t0 + timedelta(minutes=40)) == {SOURCE_FAILING: 1}
    assert (
        shop.events(SOURCE_FAILING)[-1].key == f"{SOURCE_FAILING}:inbox:{iso_z(t0 + timedelta(minutes=25))}"
    )


def test_a_source_nobody_polls_is_down_and_one_never_working_is_down_at_once(
    tmp_path: Path, db_url: str
) -> None:
    # Given the inbox polled at 15:00 and then not at all, and a text log that was never there
    Maildir(tmp_path / "mail")
    texts = {"name": "texts", "type": "sms-csv", "path": str(tmp_path / "texts.csv")}
    shop = dealership(config(tmp_path, db_url, sources=[texts], alerts={}))
    t0 = datetime(2026, 11, 10, 15, tzinfo=UTC)
    shop.poll(t0)
    shop.poll_failing(t0, source=1)
    # When checked
    assert shop.check(t0) == {SOURCE_FAILING: 1}
    assert shop.check(t0 + timedelta(minutes=14)) == {}
    assert shop.check(t0 + timedelta(minutes=15)) == {SOURCE_FAILING: 1}
    # Then the text log is failing since its one attempt, and the inbox since its last poll
    never, unpolled = shop.events(SOURCE_FAILING)
    assert (never.key, never.data["since"], never.store_id) == (
        f"{SOURCE_FAILING}:texts:never",
        iso_z(t0),
        None,
    )
    assert unpolled.key == f"{SOURCE_FAILING}:inbox:{iso_z(t0)}"
    assert unpolled.data["error"] == f"not polled since {iso_z(t0)}"


def test_a_stale_review_queue_alerts_once_per_store_day(tmp_path: Path, db_url: str) -> None:
    # Given a reply only a person can place, stored at 10:00 on Wednesday
    box = Maildir(tmp_path / "mail")
    two_john_smiths(box)
    box.add(
        mail("John Smith <john@plumbing.example>", DANA, "hi", "Call me", chicago(4, 9), "<r1@x>"),
        chicago(4, 9),
    )
    shop = dealership(config(tmp_path, db_url))
    shop.poll(chicago(4, 10))
    # When checked before and after it is 24 hours old, late that evening and after midnight (store time)
    assert shop.check(chicago(5, 9, 59)) == {}
    assert shop.check(chicago(5, 10, 1)) == {REVIEW_BACKLOG: 1}
    assert shop.check(chicago(5, 23)) == {}  # 05:00 UTC the next day: still Thursday in Chicago
    assert shop.check(chicago(6, 0, 30)) == {REVIEW_BACKLOG: 1}
    # Then one event per store-day, saying how many wait and since when
    thursday, friday = shop.events(REVIEW_BACKLOG)
    assert thursday.key.endswith(":2026-11-05") and friday.key.endswith(":2026-11-06")
    assert thursday.data["count"] == 1 and thursday.data["oldest_at"] == iso_z(chicago(4, 10))


def test_deliveries_go_only_to_targets_subscribed_to_the_type_and_store(tmp_path: Path, db_url: str) -> None:
    # Given `ops` (every alert), `harbor` (untouched leads and failing sources of Harbor Toyota only) and
    # `crm` (contacts only); an untouched Main Street lead, and Harbor's text log failing
    box = Maildir(tmp_path / "mail")
    a_lead(box, "D1", chicago(10, 10))
    targets = [
        {**EVERY_ALERT, "events": list(ALERTS)},
        {**EVERY_ALERT, "name": "harbor", "events": [LEAD_UNTOUCHED, SOURCE_FAILING], "stores": [OTHER]},
        {**EVERY_ALERT, "name": "crm", "events": ["lead.contacted"]},
    ]
    texts = {"name": "texts", "type": "sms-csv", "path": str(tmp_path / "texts.csv"), "store": OTHER}
    shop = dealership(config(tmp_path, db_url, notify=targets, sources=[texts]))
    shop.poll(chicago(10, 10, 1))
    shop.poll_failing(chicago(10, 10, 2), source=1)
    # When checked
    assert shop.check(chicago(10, 10, 20)) == {LEAD_UNTOUCHED: 1, SOURCE_FAILING: 1}
    # Then the lead's alert went to ops only, Harbor's source to ops and harbor, nothing to crm
    (lead_event,) = shop.events(LEAD_UNTOUCHED)
    assert shop.deliveries() == {
        (lead_event.key, "ops"),
        (f"{SOURCE_FAILING}:texts:never", "ops"),
        (f"{SOURCE_FAILING}:texts:never", "harbor"),
    }


def test_a_paused_source_alerts_at_once_and_its_error_keeps_no_secret(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an IMAP inbox whose login error quotes its password and a database URL, paused by the daemon
    # (its configuration is wrong), and the Maildir, working until a minute ago, paused as well
    monkeypatch.setenv("RW_IMAP_PASSWORD", "hunter2-horse")
    imap = {"name": "imap", "type": "imap", "host": "127.0.0.1", "port": 143, "username": "leads"}
    Maildir(tmp_path / "mail")
    cfg = config(tmp_path, db_url, sources=[{**imap, "password_env": "RW_IMAP_PASSWORD"}], alerts={})
    shop = dealership(cfg)
    t0 = datetime(2026, 11, 10, 15, tzinfo=UTC)
    shop.poll(t0)
    error = "login refused for leads:hunter2-horse (postgresql://rw:db-pass@db/rw)\nTraceback: hunter2-horse"
    with shop.sessions() as session, session.begin():
        sources.record_poll(session, "imap", t0, error)
        sources.set_paused(session, "imap", "fingerprint-1")
        sources.record_poll(session, "inbox", t0 + timedelta(minutes=1), "Maildir is not readable")
        sources.set_paused(session, "inbox", "fingerprint-2")
    # When checked a minute later
    assert shop.check(t0 + timedelta(minutes=2)) == {SOURCE_FAILING: 2}
    # Then both are failing, and the error is its first line with every secret hidden
    paused = "paused (fix the configuration, then reload): "
    errors = {e.data["source"]: e.data["error"] for e in shop.events(SOURCE_FAILING)}
    assert errors == {
        "imap": f"{paused}login refused for leads:*** (postgresql://rw:***@db/rw)",
        "inbox": f"{paused}Maildir is not readable",
    }
