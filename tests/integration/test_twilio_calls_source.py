"""The Twilio calls source end to end: the real SDK against the fake Calls API, into SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, parse_target, running
from mailbuild import DANA_PHONE, Maildir, at, lead_mail, settings
from sqlalchemy import func, select
from wiring import CrashingSource, contacts_by_lead
from wiring import pipeline as wired_pipeline

import replywatch.ingest.pipeline as pipeline_module
from replywatch.config import ContactConfig, Settings, TwilioCallsSourceConfig
from replywatch.daemon.worker import Shared, SourceWorker
from replywatch.errors import PermanentSourceError
from replywatch.ingest.pipeline import Pipeline
from replywatch.reports.status import source_health
from replywatch.sources.factory import build_source
from replywatch.sources.twilio_calls import TwilioCallsSource
from replywatch.sources.twilio_http import RetryPolicy
from replywatch.store.db import open_database
from replywatch.store.leases import Leases
from replywatch.store.models import Match, Message, SourceState

TOKEN_ENV = "REPLYWATCH_TEST_TWILIO_TOKEN"
FAST = RetryPolicy(attempts=8, max_total_s=20, initial_s=0.01, max_wait_s=2, timeout_s=5)
EVA, GIL, HAL = "+15125550134", "+15125550177", "+15125550188"
DANA_CELL = "+15125550101"  # where the store's number forwards Dana's calls


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTwilio]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv(TOKEN_ENV, AUTH_TOKEN)
    with running() as fake:
        yield fake


def dealership(tmp: Path, db_url: str, fake: FakeTwilio, min_call_seconds: int = 30) -> Settings:
    """Dana's store (her desk number and her mobile) with a lead inbox and the account's call log."""
    cfg = settings(tmp, db_url, inbox="maildir:mail")
    dana = cfg.associates[0].model_copy(update={"phones": [DANA_PHONE, DANA_CELL]})
    calls = TwilioCallsSourceConfig.model_validate(
        {"name": "calls", "type": "twilio-calls", "account_sid": ACCOUNT_SID, "auth_token_env": TOKEN_ENV}
        | {"base_url": fake.base_url}
    )
    return cfg.model_copy(
        update={
            "associates": [dana],
            "sources": [*cfg.sources, calls],
            "contact": ContactConfig(min_call_seconds=min_call_seconds),
        }
    )


def leads(root: Path, *people: tuple[str, str, str, datetime]) -> None:
    box = Maildir(root / "mail")
    for lead_id, first, phone, when in people:
        box.add(lead_mail(lead_id, first, "Ruiz", None, phone, when), when)


def pipeline(cfg: Settings) -> Pipeline:
    _, sessions = open_database(cfg.database.url)
    p = wired_pipeline(sessions, cfg, now=lambda: at(30, 12))
    if (Path(cfg.sources[0].path)).exists():  # type: ignore[union-attr]
        p.poll(build_source(cfg.sources[0]))  # the lead inbox
    return p


def calls(p: Pipeline, page_size: int = 1000, retry: RetryPolicy = FAST) -> TwilioCallsSource:
    cfg = p.settings.sources[-1]
    assert isinstance(cfg, TwilioCallsSourceConfig)
    return TwilioCallsSource(cfg, retry, page_size, now=lambda: at(30, 12))


def rows(p: Pipeline) -> dict[str, dict[str, str]]:
    return contacts_by_lead(p)


def stored(p: Pipeline) -> int:
    with p.sessions() as session:
        return session.scalar(select(func.count()).select_from(Message).where(Message.source == "calls")) or 0


def until(condition: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def dial_around(fake: FakeTwilio, days: int, per_day: int, start: datetime) -> int:
    """Dana calling customers who are no leads, some answered, some not, spread over `days`."""
    for day in range(days):
        for n in range(per_day):
            when = start + timedelta(days=day, minutes=9 * n)
            status, length = ("completed", 60 + n) if n % 2 else ("no-answer", None)
            fake.add_call(when, DANA_PHONE, f"+1512555{2000 + n:04d}", "outbound-api", status, length)
    return days * per_day


def test_a_connected_call_is_contact_and_voicemail_or_a_missed_call_is_not(
    tmp_path: Path, db_url: str, fake: FakeTwilio
) -> None:
    # Given three phone leads: Dana talks to Eva for two minutes, reaches Gil's voicemail, and misses
    # Hal's call back (and a 20-second call from Hal later, forwarded to her mobile, is too short)
    leads(
        tmp_path,
        ("P1", "Eva", "(512) 555-0134", at(5, 15)),
        ("P2", "Gil", "512.555.0177", at(5, 15)),
        ("P3", "Hal", "1-512-555-0188", at(5, 15)),
    )
    fake.add_call(at(5, 15, 20), DANA_PHONE, EVA, "outbound-api", "completed", 120, "human")
    fake.add_call(at(5, 15, 25), DANA_PHONE, GIL, "outbound-api", "completed", 75, "machine_end_beep")
    fake.add_call(at(5, 15, 30), DANA_PHONE, HAL, "outbound-api", "no-answer")
    fake.add_call(at(5, 16), HAL, DANA_PHONE, "inbound", "no-answer")
    short = fake.add_call(at(5, 16, 10), HAL, DANA_PHONE, "inbound", "completed", 25)
    fake.add_call(at(5, 16, 10), DANA_PHONE, DANA_CELL, "outbound-dial", "completed", 20, parent=short)
    p = pipeline(dealership(tmp_path, db_url, fake))
    # When the call log is polled
    result = p.poll(calls(p))
    # Then Eva is contacted by call at the call's start, which is also her first touch
    found = rows(p)
    assert (found["P1"]["contacted"], found["P1"]["contact_channel"]) == ("Y", "call")
    assert found["P1"]["contact_at"] == found["P1"]["first_touch_at"] == "2026-11-05T15:20:00Z"
    assert found["P1"]["time_to_contact_s"] == "1200"
    # And the voicemail and the unanswered call are touches, never contact
    assert (found["P2"]["first_touch_at"], found["P2"]["contacted"]) == ("2026-11-05T15:25:00Z", "N")
    assert (found["P3"]["first_touch_at"], found["P3"]["contacted"]) == ("2026-11-05T15:30:00Z", "N")
    # And Hal's missed and short calls are recorded on his lead as inbound calls, with how they went
    assert (result.stored, result.quarantined) == (5, 0)
    with p.sessions() as session:
        halls = session.execute(
            select(Message.direction, Message.status, Message.snippet)
            .join(Match, Match.message_id == Message.id)
            .where(Message.sender == HAL, Match.status == "matched")
            .order_by(Message.sent_at)
        ).all()
    assert [tuple(r) for r in halls] == [
        ("inbound", "no-answer", "call, no-answer"),
        ("inbound", "completed", "call 20 s, completed"),
    ]


def test_the_threshold_is_the_stores_min_call_seconds(tmp_path: Path, db_url: str, fake: FakeTwilio) -> None:
    # Given a 20-second conversation with Eva, and a dealer who counts calls from 15 seconds
    leads(tmp_path, ("P1", "Eva", EVA, at(5, 15)))
    fake.add_call(at(5, 15, 20), DANA_PHONE, EVA, "outbound-api", "completed", 20, "human")
    p = pipeline(dealership(tmp_path, db_url, fake, min_call_seconds=15))
    p.poll(calls(p))
    # Then it is contact
    assert rows(p)["P1"]["contact_channel"] == "call"


def test_a_forwarded_call_counts_once_with_the_associate_it_rang(
    tmp_path: Path, db_url: str, fake: FakeTwilio
) -> None:
    # Given Eva's lead without an associate, and Eva calling the store's number, forwarded by <Dial> to
    # Dana's mobile, which first rang out on the desk phone (a child leg that was not answered)
    leads(tmp_path, ("P1", "Eva", EVA, at(5, 15)))
    parent = fake.add_call(at(5, 15, 40), EVA, DANA_PHONE, "inbound", "completed", 160)
    fake.add_call(at(5, 15, 40), DANA_PHONE, "+15125550999", "outbound-dial", "no-answer", parent=parent)
    fake.add_call(at(5, 15, 41), DANA_PHONE, DANA_CELL, "outbound-dial", "completed", 140, parent=parent)
    # and a call nobody picked up: Twilio's voicemail (<Record>) took it, no <Dial> leg
    fake.add_call(at(5, 17), EVA, DANA_PHONE, "inbound", "completed", 50)
    p = pipeline(dealership(tmp_path, db_url, fake))
    # When polled
    result = p.poll(calls(p))
    # Then each call is one message: the conversation is contact once, at the parent's start
    assert (result.stored, stored(p)) == (2, 2)
    found = rows(p)
    assert (found["P1"]["contact_at"], found["P1"]["associate"]) == ("2026-11-05T15:40:00Z", "Dana Lee")
    with p.sessions() as session:
        kept = session.execute(
            select(Message.external_id, Message.duration_s, Message.answered_by).order_by(Message.sent_at)
        ).all()
    assert [tuple(r) for r in kept][-2:] == [(parent, 140, None), (kept[-1][0], 50, "machine")]


def test_pages_day_overlap_and_duplicate_sids_add_each_call_once(
    tmp_path: Path, db_url: str, fake: FakeTwilio
) -> None:
    # Given three days of Dana's calls
    total = dial_around(fake, days=3, per_day=8, start=at(2, 14))
    p = pipeline(dealership(tmp_path, db_url, fake))
    # When polled seven to a page
    first = p.poll(calls(p, page_size=7))
    # Then every page was followed (24 calls: four pages) and each call stored once
    assert (first.stored, stored(p)) == (total, total)
    assert [parse_target(t)[1].get("PageToken", "")[:2] for t in fake.requests] == ["", "PA", "PA", "PA"]
    assert {parse_target(t)[1]["PageSize"] for t in fake.requests} == {"7"}
    # When more calls come on the cursor's day and the next, and the log is polled again
    fake.add_call(at(4, 23), GIL, DANA_PHONE, "inbound", "busy")
    fake.add_call(at(5, 1), DANA_PHONE, GIL, "outbound-api", "completed", 31)
    fake.requests.clear()
    second = p.poll(calls(p, page_size=7))
    # Then only from the day before the cursor is read again, the known SIDs skipped, the new two kept
    assert {parse_target(t)[1].get("StartTime>") for t in fake.requests} == {"2026-11-03"}
    assert (second.stored, stored(p), second.seen > 2) == (2, total + 2, True)
    assert p.poll(calls(p, page_size=7)).stored == 0


def test_a_call_in_progress_waits_for_the_next_poll(tmp_path: Path, db_url: str, fake: FakeTwilio) -> None:
    # Given Eva's lead and Dana on the phone with her right now
    leads(tmp_path, ("P1", "Eva", EVA, at(5, 15)))
    now = fake.add_call(at(5, 15, 20), DANA_PHONE, EVA, "outbound-api", "in-progress", None, "human")
    p = pipeline(dealership(tmp_path, db_url, fake))
    assert p.poll(calls(p)).stored == 0
    # When the call ends after three minutes and the log is polled again
    fake.end_call(now, "completed", 180)
    # Then it is stored, once, and is contact
    assert p.poll(calls(p)).stored == 1
    assert rows(p)["P1"]["contact_channel"] == "call"


def test_a_429_storm_is_ridden_out(tmp_path: Path, db_url: str, fake: FakeTwilio) -> None:
    total = dial_around(fake, days=2, per_day=5, start=at(3, 9))

    fake.storm(page=1)
    p = pipeline(dealership(tmp_path, db_url, fake))
    started = time.monotonic()
    assert p.poll(calls(p, page_size=4)).stored == total
    assert time.monotonic() - started >= 1.0
    assert sum(1 for t in fake.requests if "Page=2" in t) == 7
    with p.sessions() as session:
        assert source_health(session, ["calls"], at(30, 12))["failing"] == []


def test_a_restart_mid_poll_loses_and_doubles_nothing(
    tmp_path: Path, db_url: str, fake: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given leads that Dana reaches by phone over several days among other calls
    leads(
        tmp_path, ("P1", "Eva", EVA, at(2, 15)), ("P2", "Gil", GIL, at(3, 15)), ("P3", "Hal", HAL, at(4, 15))
    )
    for day, customer in ((2, EVA), (3, GIL), (4, HAL)):
        fake.add_call(at(day + 1, 9), DANA_PHONE, customer, "outbound-api", "completed", 90, "human")
    total = 3 + dial_around(fake, days=4, per_day=2, start=at(2, 10))
    # When a poll dies after 7 items (two batches of 3 committed), then runs again
    monkeypatch.setattr(pipeline_module, "BATCH_SIZE", 3)
    p = pipeline(dealership(tmp_path, db_url, fake))
    with pytest.raises(SystemExit):
        p.poll(CrashingSource(calls(p), 7))
    assert stored(p) == 6
    result = p.poll(calls(p))
    # Then nothing is lost or doubled and every lead is contacted
    assert (stored(p), result.stored) == (total, total - 6)
    assert [r["contacted"] for r in rows(p).values()] == ["Y", "Y", "Y"]


def test_refused_credentials_stop_the_source_with_a_clear_status(
    tmp_path: Path, db_url: str, fake: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "not-the-token")
    p = pipeline(dealership(tmp_path, db_url, fake))
    with pytest.raises(PermanentSourceError, match="Twilio refused the credentials"):
        p.poll(calls(p))
    assert len(fake.requests) == 1
    with p.sessions() as session:
        report = source_health(session, ["calls"], at(30, 12))
    assert report["failing"] == ["calls"] and "HTTP 401" in report["sources"][0]["last_error"]


def test_the_daemon_pauses_the_calls_source_on_refused_credentials(
    tmp_path: Path, db_url: str, fake: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a wrong auth token, and the call log source under a daemon's worker
    monkeypatch.setenv(TOKEN_ENV, "not-the-token")
    cfg = dealership(tmp_path, db_url, fake)
    _, sessions = open_database(db_url)
    shared = Shared(
        sessions, wired_pipeline(sessions, cfg), Leases(sessions, "daemon-a", 30), threading.Event()
    )
    worker = SourceWorker(cfg.sources[-1], shared, interval=1)

    def state() -> SourceState | None:
        with sessions() as session:
            return session.scalar(select(SourceState).where(SourceState.source == "calls"))

    # When the worker runs
    worker.start()
    try:
        until(lambda: (s := state()) is not None and s.paused_config is not None)
    finally:
        shared.stop.set()
        worker.join(10)
    # Then it is paused after one request, with Twilio's reason, and due again only in an hour (or when
    # its configuration or secret changes), not after its one-second interval
    paused = state()
    assert paused is not None and "Twilio refused the credentials" in (paused.last_error or "")
    assert len(fake.requests) == 1
    assert worker._not_due_for() > 3000


def test_with_numbers_only_calls_with_a_leg_on_them_are_kept(
    tmp_path: Path, db_url: str, fake: FakeTwilio
) -> None:
    # Given the account's calls on the store's number, one forwarded to Dana's mobile, and a call on
    # another of the account's numbers (another business)
    parent = fake.add_call(at(5, 15), EVA, "+15125550999", "inbound", "completed", 100)
    fake.add_call(at(5, 15), "+15125550999", DANA_CELL, "outbound-dial", "completed", 90, parent=parent)
    fake.add_call(at(5, 16), DANA_PHONE, GIL, "outbound-api", "no-answer")
    fake.add_call(at(5, 17), HAL, "+14155550100", "inbound", "completed", 60)
    cfg = dealership(tmp_path, db_url, fake)
    only = cfg.sources[-1].model_copy(update={"numbers": [DANA_PHONE, DANA_CELL]})
    p = pipeline(cfg.model_copy(update={"sources": [*cfg.sources[:-1], only]}))
    # When polled; Then the call whose child leg rang Dana's mobile and Dana's own call are kept
    assert p.poll(calls(p)).stored == 2
    with p.sessions() as session:
        senders = set(session.scalars(select(Message.sender).where(Message.source == "calls")))
    assert senders == {EVA, DANA_PHONE}
