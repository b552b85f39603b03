"""The Twilio source end to end: the real SDK against the fake API, into SQLite and PostgreSQL."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, parse_target, running
from mailbuild import DANA_PHONE, Maildir, at, lead_mail, settings
from sqlalchemy import event, func, select
from wiring import CrashingSource
from wiring import pipeline as wired_pipeline

import replywatch.ingest.pipeline as pipeline_module
from replywatch.config import Settings, TwilioSourceConfig
from replywatch.errors import PermanentSourceError, TransientSourceError
from replywatch.ingest.pipeline import Pipeline, PollResult
from replywatch.reports.export import contact_rows, write_csv
from replywatch.reports.status import source_health
from replywatch.sources.factory import build_source
from replywatch.sources.twilio import TwilioSource
from replywatch.sources.twilio_http import RetryPolicy
from replywatch.store.db import open_database
from replywatch.store.models import Lead, Message

TOKEN_ENV = "REPLYWATCH_TEST_TWILIO_TOKEN"
FAST = RetryPolicy(attempts=8, max_total_s=20, initial_s=0.01, max_wait_s=2, timeout_s=5)
EVA, GIL, HAL = "+15125550134", "+15125550177", "+15125550188"
SHARED = "+15125550199"  # the store's second texting number


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTwilio]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv(TOKEN_ENV, AUTH_TOKEN)
    with running() as fake:
        yield fake


def dealership(tmp: Path, db_url: str, fake: FakeTwilio, **twilio: object) -> Settings:
    """Dana's store with a lead inbox (Maildir) and the Twilio account."""
    cfg = settings(tmp, db_url, inbox="maildir:mail")
    texts = TwilioSourceConfig.model_validate(
        {"name": "texts", "type": "twilio", "account_sid": ACCOUNT_SID, "auth_token_env": TOKEN_ENV}
        | {"base_url": fake.base_url}
        | twilio
    )
    return cfg.model_copy(update={"sources": [*cfg.sources, texts]})


def leads(root: Path, *people: tuple[str, str, str, datetime]) -> None:
    box = Maildir(root / "mail")
    for lead_id, first, phone, when in people:
        box.add(lead_mail(lead_id, first, "Ruiz", None, phone, when), when)


def pipeline(cfg: Settings) -> Pipeline:
    _, sessions = open_database(cfg.database.url)
    return wired_pipeline(sessions, cfg, now=lambda: at(30, 12))


def poll_inbox(p: Pipeline) -> None:
    p.poll(build_source(p.settings.sources[0]))


def texts(p: Pipeline, page_size: int = 1000, now: datetime | None = None) -> TwilioSource:
    cfg = p.settings.sources[-1]
    assert isinstance(cfg, TwilioSourceConfig)
    return TwilioSource(cfg, FAST, page_size, now=lambda: now or at(30, 12))


def export_csv(p: Pipeline) -> str:
    out = io.StringIO()
    with p.sessions() as session:
        write_csv(contact_rows(session), out)
    return out.getvalue()


def rows(p: Pipeline) -> dict[str, dict[str, str]]:
    with p.sessions() as session:
        return {r["lead_id"]: r for r in contact_rows(session)}


def stored(p: Pipeline) -> int:
    with p.sessions() as session:
        return session.scalar(select(func.count()).select_from(Message).where(Message.source == "texts")) or 0


def chatter(fake: FakeTwilio, days: int, per_day: int, start: datetime) -> int:
    """Dana texting customers and their answers, spread over `days`; a note to the shared number too."""
    count = 0
    for day in range(days):
        for n in range(per_day):
            customer = f"+1512555{1000 + n:04d}"
            when = start + timedelta(days=day, minutes=7 * n)
            fake.add(when, DANA_PHONE, customer, f"Hi #{n}", direction="outbound-api")
            fake.add(when + timedelta(minutes=3), customer, DANA_PHONE, f"hello back #{n}")
            count += 2
        fake.add(start + timedelta(days=day, hours=5), DANA_PHONE, SHARED, "covering for me?", "outbound-api")
        count += 1
    return count


def test_texts_make_contact_and_a_failed_text_is_no_touch(
    tmp_path: Path, db_url: str, fake: FakeTwilio
) -> None:
    # Given three phone leads; Eva answers, Gil says STOP, Hal's first text failed and he answers with a photo
    leads(
        tmp_path,
        ("P1", "Eva", "(512) 555-0134", at(5, 15)),
        ("P2", "Gil", "512.555.0177", at(5, 15, 30)),
        ("P3", "Hal", "1-512-555-0188", at(5, 15)),
    )
    fake.add(at(5, 15, 10), DANA_PHONE, EVA, "Hi Eva, Dana here", direction="outbound-api")
    fake.add(at(5, 15, 45), EVA, DANA_PHONE, "sure, call me at 5")
    fake.add(at(5, 15, 40), DANA_PHONE, GIL, "Hi Gil, Dana here", direction="outbound-reply")
    fake.add(at(5, 15, 50), GIL, DANA_PHONE, "STOP")
    fake.add(
        at(5, 15, 5), DANA_PHONE, HAL, "Hi Hal", direction="outbound-api", status="failed", error_code=30006
    )
    fake.add(at(5, 15, 30), DANA_PHONE, HAL, "Hi Hal, again", direction="outbound-api")
    fake.add(at(5, 15, 55), HAL, DANA_PHONE, "", num_media=1)
    fake.add(at(5, 16), "55512", DANA_PHONE, "Your code is 1234")
    p = pipeline(dealership(tmp_path, db_url, fake, numbers=[DANA_PHONE]))
    # When the inbox and the Twilio account are polled
    poll_inbox(p)
    result = p.poll(texts(p))
    # Then Eva is contacted by SMS 45 minutes after her lead, Gil opted out, Hal's photo is contact
    found = rows(p)
    assert (found["P1"]["contacted"], found["P1"]["contact_channel"], found["P1"]["time_to_contact_s"]) == (
        "Y",
        "sms",
        "2700",
    )
    assert (found["P2"]["contacted"], found["P2"]["opted_out"]) == ("N", "Y")
    assert (found["P3"]["first_touch_at"], found["P3"]["contact_at"]) == (
        "2026-11-05T15:30:00Z",
        "2026-11-05T15:55:00Z",
    )
    # And all eight texts are stored, read by our number in both directions, 1000 to a page
    assert (result.stored, result.quarantined) == (8, 0)
    queries = [parse_target(t)[1] for t in fake.requests]
    assert [(q.get("To"), q.get("From"), q["PageSize"]) for q in queries] == [
        (DANA_PHONE, None, "1000"),
        (None, DANA_PHONE, "1000"),
    ]


def test_a_text_on_its_way_waits_and_once_undelivered_is_no_touch(
    tmp_path: Path, db_url: str, fake: FakeTwilio
) -> None:
    # Given Eva's lead, our text to her ten minutes ago still `sent` (no carrier receipt yet), and a text
    # to Gil two hours ago that stayed `sent` (his carrier sends no receipts)
    leads(tmp_path, ("P1", "Eva", EVA, at(5, 15)))
    to_eva = fake.add(at(5, 15, 10), DANA_PHONE, EVA, "Hi Eva", direction="outbound-api", status="sent")
    fake.add(at(5, 13, 20), DANA_PHONE, GIL, "Hi Gil", direction="outbound-api", status="sent")
    p = pipeline(dealership(tmp_path, db_url, fake))
    poll_inbox(p)
    # When polled now; Then Gil's text is stored, Eva's waits for its receipt
    assert p.poll(texts(p, now=at(5, 15, 20))).stored == 1
    assert rows(p)["P1"]["first_touch_at"] == ""
    # When the receipt says undelivered, a second text is delivered, and the account is polled an hour on
    fake.deliver(to_eva, "undelivered", error_code=30003)
    fake.add(at(5, 15, 30), DANA_PHONE, EVA, "Hi Eva, again", direction="outbound-api")
    assert p.poll(texts(p, now=at(5, 16, 40))).stored == 2
    # Then the undelivered text is kept but the first touch is the delivered one
    assert rows(p)["P1"]["first_touch_at"] == "2026-11-05T15:30:00Z"
    with p.sessions() as session:
        assert session.scalar(select(Message.status).where(Message.external_id == to_eva)) == "undelivered"


def test_many_pages_then_overlapping_days_add_each_message_once(
    tmp_path: Path, db_url: str, fake: FakeTwilio
) -> None:
    # Given three days of texts on two of our numbers, one text between them (listed under both)
    total = chatter(fake, days=3, per_day=8, start=at(2, 14))
    p = pipeline(dealership(tmp_path, db_url, fake, numbers=[DANA_PHONE, SHARED]))
    # When polled seven to a page
    first = p.poll(texts(p, page_size=7))
    # Then every page was followed and each message stored once
    assert (first.stored, stored(p)) == (total, total)
    # (27 texts from Dana's number and 24 to it take four pages each; the shared number's one page each)
    assert (len(fake.requests), sum("PageToken=PA" in t for t in fake.requests)) == (10, 6)
    # When more arrive on the cursor's day and the next, and the account is polled again
    fake.add(at(4, 23), GIL, DANA_PHONE, "still there?")
    fake.add(at(5, 1), DANA_PHONE, GIL, "yes!", direction="outbound-api")
    fake.requests.clear()
    second = p.poll(texts(p, page_size=7))
    # Then only the day before the cursor is read again, its known SIDs skipped, the two new ones kept
    assert {parse_target(t)[1].get("DateSent>") for t in fake.requests} == {"2026-11-03"}
    assert (second.stored, stored(p)) == (2, total + 2)
    assert second.seen > 2
    # And a third poll adds nothing
    assert p.poll(texts(p, page_size=7)).stored == 0


def test_messages_arriving_during_a_poll_are_read_by_the_next(
    tmp_path: Path, db_url: str, fake: FakeTwilio
) -> None:
    # Given a lead, our text to her and a listing that is still paging when her reply arrives
    leads(tmp_path, ("P1", "Eva", EVA, at(5, 15)))
    chatter(fake, days=1, per_day=6, start=at(5, 9))
    fake.add(at(5, 15, 10), DANA_PHONE, EVA, "Hi Eva", direction="outbound-api")

    def reply_arrives(page: int) -> None:
        if page == 2 and len(fake) == 14:
            fake.add(at(5, 15, 20), EVA, DANA_PHONE, "call me")

    fake.on_page = reply_arrives
    p = pipeline(dealership(tmp_path, db_url, fake))
    poll_inbox(p)
    # When the account is polled while the reply arrives, then polled again
    first = p.poll(texts(p, page_size=4))
    assert (first.stored, rows(p)["P1"]["contacted"]) == (14, "N")
    second = p.poll(texts(p, page_size=4))
    # Then the next poll stores the reply, once, and Eva is contacted
    assert (second.stored, stored(p)) == (1, 15)
    assert rows(p)["P1"]["contact_at"] == "2026-11-05T15:20:00Z"


def test_a_429_storm_is_ridden_out_honouring_retry_after(
    tmp_path: Path, db_url: str, fake: FakeTwilio
) -> None:
    # Given a listing that meets a storm of 429s on its third page, the first asking for one second
    total = chatter(fake, days=2, per_day=5, start=at(3, 9))

    fake.storm(page=2)
    p = pipeline(dealership(tmp_path, db_url, fake))
    # When polled
    started = time.monotonic()
    result = p.poll(texts(p, page_size=4))
    # Then every message is stored, after waiting as told, and the source is healthy
    assert (result.stored, stored(p)) == (total, total)
    assert time.monotonic() - started >= 1.0
    assert sum(1 for t in fake.requests if "Page=3" in t) == 7
    with p.sessions() as session:
        assert source_health(session, ["texts"], at(30, 12))["failing"] == []


def test_a_storm_past_the_limit_fails_the_poll_and_the_next_catches_up(
    tmp_path: Path, db_url: str, fake: FakeTwilio
) -> None:
    # Given Twilio answering 503 longer than the retries last
    total = chatter(fake, days=2, per_day=4, start=at(3, 9))
    fake.fail(503, times=50)
    p = pipeline(dealership(tmp_path, db_url, fake))
    source = TwilioSource(texts(p).cfg, RetryPolicy(attempts=3, initial_s=0.01, max_wait_s=0.05), 1000)
    # When polled, the poll fails with a transient error that `status` shows
    with pytest.raises(TransientSourceError, match="HTTP 503"):
        p.poll(source)
    with p.sessions() as session:
        health = source_health(session, ["texts"], at(30, 12))["sources"][0]
    assert health["consecutive_failures"] == 1 and "HTTP 503" in health["last_error"]
    # Then once Twilio recovers the next poll stores everything and the source is healthy again
    fake.clear_faults()
    assert p.poll(source).stored == total
    with p.sessions() as session:
        assert source_health(session, ["texts"], at(30, 12))["sources"][0]["consecutive_failures"] == 0


def test_a_restart_mid_poll_exports_the_same_as_a_clean_run(
    tmp_path: Path, db_url: str, fake: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given leads answering over several days, and the export of one clean run on its own database
    leads(
        tmp_path, ("P1", "Eva", EVA, at(2, 15)), ("P2", "Gil", GIL, at(3, 15)), ("P3", "Hal", HAL, at(4, 15))
    )
    for day, customer in ((2, EVA), (3, GIL), (4, HAL)):
        fake.add(at(day, 15, 10), DANA_PHONE, customer, "Hi", direction="outbound-api")
        fake.add(at(day + 1, 9), customer, DANA_PHONE, "yes please")
    total = 6 + chatter(fake, days=4, per_day=2, start=at(2, 10))
    clean = pipeline(dealership(tmp_path, f"sqlite:///{tmp_path / 'clean.db'}", fake))
    poll_inbox(clean)
    clean.poll(texts(clean))
    # When a poll on the real database dies after 7 items (two batches of 3 committed), then runs again
    monkeypatch.setattr(pipeline_module, "BATCH_SIZE", 3)
    p = pipeline(dealership(tmp_path, db_url, fake))
    poll_inbox(p)
    with pytest.raises(SystemExit):
        p.poll(CrashingSource(texts(p), 7))
    assert stored(p) == 6
    result: PollResult = p.poll(texts(p))
    # Then nothing is lost or doubled, and the export equals the clean run's
    assert (stored(p), result.stored) == (total, total - 6)
    assert export_csv(p) == export_csv(clean)
    assert rows(p)["P3"]["contacted"] == "Y"


def test_refused_credentials_stop_the_source_with_a_clear_status(
    tmp_path: Path, db_url: str, fake: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a wrong auth token
    monkeypatch.setenv(TOKEN_ENV, "not-the-token")
    p = pipeline(dealership(tmp_path, db_url, fake))
    # When polled; Then the source stops on a permanent error after one request, and status says why
    with pytest.raises(PermanentSourceError, match="Twilio refused the credentials"):
        p.poll(texts(p))
    assert len(fake.requests) == 1
    with p.sessions() as session:
        report = source_health(session, ["texts"], at(30, 12))
    assert report["failing"] == ["texts"]
    assert "HTTP 401 from 127.0.0.1" in report["sources"][0]["last_error"]
    assert report["sources"][0]["last_error"].endswith("Twilio error 20003: Authenticate")


def message_updates(p: Pipeline) -> list[str]:
    """The UPDATE statements on messages this pipeline's engine runs from now on."""
    seen: list[str] = []
    engine = p.sessions.kw["bind"]

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE MESSAGES"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    return seen


def message_row(p: Pipeline, sid: str) -> dict[str, object]:
    with p.sessions() as session:
        message = session.scalars(select(Message).where(Message.external_id == sid)).one()
        return {c.key: getattr(message, c.key) for c in Message.__table__.columns}


def test_a_late_receipt_of_undelivered_takes_back_the_touch(
    tmp_path: Path, db_url: str, fake: FakeTwilio
) -> None:
    # Given Eva's lead and our text to her that stayed `sent` past the settle window, stored as her touch
    leads(tmp_path, ("P1", "Eva", EVA, at(5, 15)))
    to_eva = fake.add(at(5, 15, 10), DANA_PHONE, EVA, "Hi Eva", direction="outbound-api", status="sent")
    p = pipeline(dealership(tmp_path, db_url, fake))
    poll_inbox(p)
    first = p.poll(texts(p, now=at(5, 16, 20)))
    assert (first.stored, first.updated) == (1, 0)
    assert rows(p)["P1"]["first_touch_at"] == "2026-11-05T15:10:00Z"
    before = message_row(p, to_eva)
    # When the carrier's receipt says undelivered and the account is polled again
    fake.deliver(to_eva, "undelivered", error_code=30003)
    updates = message_updates(p)
    second = p.poll(texts(p, now=at(5, 18)))
    # Then the stored text's status, and nothing else of it, changed; Eva's lead has no touch anymore
    assert (second.stored, second.updated, second.seen, len(updates)) == (0, 1, 1, 1)
    assert message_row(p, to_eva) == before | {"status": "undelivered"}
    assert rows(p)["P1"]["first_touch_at"] == ""
    with p.sessions() as session:
        lead = session.scalars(select(Lead).where(Lead.external_id == "P1")).one()
        assert (lead.first_touch_at, lead.first_response_s) == (None, None)
    # And reading it again unchanged writes nothing to the messages
    updates.clear()
    third = p.poll(texts(p, now=at(5, 19)))
    assert (third.stored, third.updated, third.seen, updates) == (0, 0, 1, [])
    assert message_row(p, to_eva) == before | {"status": "undelivered"}


def test_a_queued_text_later_delivered_stays_the_touch(tmp_path: Path, db_url: str, fake: FakeTwilio) -> None:
    # Given Eva's lead and our text to her stored while still `queued` at the carrier, with Eva's answer
    leads(tmp_path, ("P1", "Eva", EVA, at(5, 15)))
    to_eva = fake.add(at(5, 15, 10), DANA_PHONE, EVA, "Hi Eva", direction="outbound-api", status="queued")
    fake.add(at(5, 15, 45), EVA, DANA_PHONE, "sure, call me at 5")
    p = pipeline(dealership(tmp_path, db_url, fake))
    poll_inbox(p)
    assert p.poll(texts(p, now=at(5, 16, 20))).stored == 2
    touched = {k: rows(p)["P1"][k] for k in ("first_touch_at", "contacted", "contact_at")}
    assert touched == {
        "first_touch_at": "2026-11-05T15:10:00Z",
        "contacted": "Y",
        "contact_at": at_z(5, 15, 45),
    }
    # When it is delivered and the account is polled again
    fake.deliver(to_eva, "delivered")
    second = p.poll(texts(p, now=at(5, 18)))
    # Then its status is updated and it is still the touch, Eva still contacted
    assert (second.stored, second.updated) == (0, 1)
    assert message_row(p, to_eva)["status"] == "delivered"
    assert {k: rows(p)["P1"][k] for k in touched} == touched
    # And the next poll, with nothing changed, updates nothing
    assert p.poll(texts(p, now=at(5, 19))).updated == 0


def at_z(day: int, hour: int, minute: int = 0) -> str:
    return at(day, hour, minute).strftime("%Y-%m-%dT%H:%M:%SZ")
