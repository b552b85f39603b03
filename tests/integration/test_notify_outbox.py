"""The outbox delivered: lead events raised with the change that caused them, sent signed to a real HTTP
receiver, in order per lead, retried with backoff, given up after 24 hours, each event once between two
daemons, replayed on demand; and no secret in what `notify status` or the log says."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from clirun import cli
from mailbuild import DANA, Maildir, at, lead_mail, mail, settings
from servers.http_receiver import Receiver, dead_url
from sqlalchemy import func, select
from wiring import pipeline as wired_pipeline

from replywatch.clock import now as clock_now
from replywatch.config import NotifyConfig, Settings
from replywatch.ingest.directory import open_directory
from replywatch.notify.deliver import FIRST_RETRY, Notifier
from replywatch.reports.notify import target_states
from replywatch.sources.factory import build_source
from replywatch.store import Sessions
from replywatch.store.db import open_database
from replywatch.store.models import NotifyDelivery, NotifyEvent
from replywatch.store.outbox import replay

SECRET = "whsec-0123456789abcdef"
LEAD_KEYS = {
    "lead_id",
    "store",
    "source",
    "associate",
    "received_at",
    "first_touch_at",
    "contacted",
    "contact_at",
    "contact_channel",
    "time_to_contact_s",
    "opted_out",
}


def _story(box: Maildir, n: int, day: int = 3) -> None:
    """Lead n arrives, Dana writes, the customer answers an hour later."""
    customer = f"shopper{n}@customer.example"
    box.add(lead_mail(f"L-{n}", "Pat", f"Reyes{n}", customer, None, at(day, 15)), at(day, 15))
    follow_up = f"<f{n}@dealer.example>"
    box.add(mail(DANA, customer, "Your CR-V", "Hi Pat", at(day, 16), follow_up), at(day, 16), "Sent")
    reply = mail(customer, DANA, "Re: Your CR-V", "Yes, Saturday works", at(day, 17), f"<r{n}@c>", follow_up)
    box.add(reply, at(day, 17))


def _setup(
    tmp_path: Path, db_url: str, url: str, stories: int = 1, **target: Any
) -> tuple[Settings, Sessions]:
    box = Maildir(tmp_path / "mail")
    for n in range(stories):
        _story(box, n)
    (tmp_path / "secret").write_text(SECRET + "\n")
    hook = NotifyConfig(
        name="crm",
        type="webhook",
        url=url,
        secret_file=str(tmp_path / "secret"),
        events=["lead.touched", "lead.contacted"],
        **target,
    )
    cfg = settings(tmp_path, db_url, inbox="maildir:mail").model_copy(update={"notify": [hook]})
    _, sessions = open_database(db_url)
    wired_pipeline(sessions, cfg).poll(build_source(cfg.sources[0]))
    return cfg, sessions


def _notifier(cfg: Settings, sessions: Sessions, owner: str = "test-daemon") -> Notifier:
    return Notifier(sessions, cfg, open_directory(sessions, cfg), owner)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at


def _verified(receiver: Receiver) -> list[dict[str, Any]]:
    """The bodies the receiver accepted, each signature checked over the raw body."""
    bodies = []
    for r in receiver.received(ok_only=True):
        expected = "sha256=" + hmac.new(SECRET.encode(), r.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(r.headers["x-replywatch-signature"], expected)
        body = json.loads(r.body)
        assert r.headers["x-replywatch-event-id"] == body["id"]
        bodies.append(body)
    return bodies


def test_lead_events_reach_a_webhook_signed_in_order_with_the_contract(
    tmp_path: Path, db_url: str, http_receiver: Receiver
) -> None:
    # Given a lead Dana followed up at 16:00 that the customer answered at 17:00
    cfg, sessions = _setup(tmp_path, db_url, http_receiver.url())
    # When the outbox is delivered
    done = _notifier(cfg, sessions).drain(clock_now)
    # Then the webhook got the first touch, then the contact, each signed, in the contract's shape
    assert (done.delivered, done.failed) == (2, 0)
    bodies = _verified(http_receiver)
    assert [b["type"] for b in bodies] == ["lead.touched", "lead.contacted"]
    touched, contacted = bodies
    assert list(contacted) == ["id", "type", "occurred_at", "lead"]
    assert set(contacted["lead"]) == LEAD_KEYS
    assert touched["occurred_at"] == "2026-11-03T16:00:00Z"
    assert contacted["occurred_at"] == "2026-11-03T17:00:00Z"
    assert contacted["lead"] == {
        "lead_id": "L-0",
        "store": "Main Street Honda",
        "source": "AutoTrader",
        "associate": "Dana Lee",
        "received_at": "2026-11-03T15:00:00Z",
        "first_touch_at": "2026-11-03T16:00:00Z",
        "contacted": True,
        "contact_at": "2026-11-03T17:00:00Z",
        "contact_channel": "email",
        "time_to_contact_s": 7200,
        "opted_out": False,
    }
    # (both came to light in one batch: each carries the lead as that batch left it)
    assert touched["lead"] == contacted["lead"]
    # And a second pass sends nothing again, and polling the same mail again raises nothing new
    assert _notifier(cfg, sessions).drain(clock_now).attempted == 0
    wired_pipeline(sessions, cfg).poll(build_source(cfg.sources[0]))
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(NotifyEvent)) == 2


def test_a_failing_receiver_is_retried_with_backoff_and_a_lead_keeps_its_order(
    tmp_path: Path, db_url: str, http_receiver: Receiver
) -> None:
    # Given a receiver that answers 500 twice
    cfg, sessions = _setup(tmp_path, db_url, http_receiver.url())
    http_receiver.fail_first("/hook", 2)
    clock = Clock(clock_now())
    start = clock.at
    notifier = _notifier(cfg, sessions)
    # When the first attempt fails, the lead's second event waits behind its first
    first = notifier.drain(clock)
    assert (first.delivered, first.failed) == (0, 1)
    assert first.errors == ["crm: HTTP 500"]
    with sessions() as session:
        (state,) = target_states(session, clock.at)
    assert (state.pending, state.failing, state.last_error) == (2, 1, "HTTP 500")
    assert state.next_retry_at == start + FIRST_RETRY  # the first retry within 10 s
    # And nothing is tried before the retry is due
    clock.at = start + FIRST_RETRY - timedelta(seconds=1)
    assert notifier.drain(clock).attempted == 0
    # Then the second retry waits twice as long, and the third attempt succeeds, then the next event
    clock.at = start + FIRST_RETRY
    assert notifier.drain(clock).failed == 1
    clock.at += 2 * FIRST_RETRY - timedelta(seconds=1)
    assert notifier.drain(clock).attempted == 0
    clock.at += timedelta(seconds=1)
    assert notifier.drain(clock).delivered == 2
    sent = [(json.loads(r.body)["type"], r.status) for r in http_receiver.received()]
    assert sent == [
        ("lead.touched", 500),
        ("lead.touched", 500),
        ("lead.touched", 200),
        ("lead.contacted", 200),
    ]


def test_a_dead_receiver_is_given_up_after_24_hours_and_the_next_event_goes_on(
    tmp_path: Path, db_url: str
) -> None:
    # Given a target whose port nothing listens on
    cfg, sessions = _setup(tmp_path, db_url, dead_url())
    clock = Clock(clock_now())
    start = clock.at
    notifier = _notifier(cfg, sessions)
    # When every attempt is made as soon as it is due
    for _ in range(400):
        if notifier.drain(clock).gave_up:
            break
        with sessions() as session:
            retry = select(func.min(NotifyDelivery.next_attempt_at)).where(NotifyDelivery.attempts > 0)
            due = session.scalar(retry.where(NotifyDelivery.status == "pending"))
        assert due is not None
        clock.at = max(clock.at, due)
    # Then the first event was retried for 24 hours, waits never longer than 10 minutes, then given up
    with sessions() as session:
        rows = {e.type: d for d, e in session.execute(select(NotifyDelivery, NotifyEvent).join(NotifyEvent))}
    touched = rows["lead.touched"]
    assert touched.status == "failed"
    assert timedelta(hours=23, minutes=50) <= clock.at - start <= timedelta(hours=24)
    assert touched.attempts > 100
    assert touched.last_error == "connection refused"
    # And the lead's next event is no longer held behind it: it was tried at once
    assert rows["lead.contacted"].attempts == 1
    with sessions() as session:
        (state,) = target_states(session, clock.at)
    assert (state.failed, state.pending, state.failing) == (1, 1, 1)


def test_two_daemons_deliver_each_event_once(tmp_path: Path, db_url: str, http_receiver: Receiver) -> None:
    # Given forty contacted leads: eighty events for one target
    cfg, sessions = _setup(tmp_path, db_url, http_receiver.url(), stories=40)
    with sessions() as session:
        events = session.scalar(select(func.count()).select_from(NotifyEvent))
    assert events == 80
    # When two daemons deliver at once
    notifiers = [_notifier(cfg, sessions, f"daemon-{i}") for i in range(2)]
    rounds: list[int] = []

    def deliver(notifier: Notifier) -> None:
        rounds.append(notifier.drain(clock_now).delivered)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in notifiers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    # Then every event arrived exactly once, and each lead's touch before its contact
    bodies = _verified(http_receiver)
    assert sum(rounds) == 80
    assert Counter(b["id"] for b in bodies).most_common(1)[0][1] == 1
    assert len(bodies) == 80
    order: dict[str, list[str]] = {}
    for b in bodies:
        order.setdefault(b["lead"]["lead_id"], []).append(b["type"])
    assert set(map(tuple, order.values())) == {("lead.touched", "lead.contacted")}


def test_replay_sends_events_again_and_gives_a_new_target_the_history(
    tmp_path: Path, db_url: str, http_receiver: Receiver
) -> None:
    cfg, sessions = _setup(tmp_path, db_url, http_receiver.url())
    _notifier(cfg, sessions).drain(clock_now)
    first_ids = [b["id"] for b in _verified(http_receiver)]
    # When the events since Nov 3 are replayed to the webhook and to a target added since
    later = NotifyConfig(
        name="later",
        type="webhook",
        url=http_receiver.url("/later"),
        secret_file=str(tmp_path / "secret"),
        events=["lead.contacted"],
    )
    cfg = cfg.model_copy(update={"notify": [*cfg.notify, later]})
    directory = open_directory(sessions, cfg)
    with sessions() as session, session.begin():
        queued = replay(session, at(3, 0), directory.subscriptions, clock_now())
    assert queued == {"crm": 2, "later": 1}
    assert _notifier(cfg, sessions).drain(clock_now).delivered == 3
    # Then the same events (same ids) arrive again, and the new target gets the contact
    again = [b["id"] for b in _verified(http_receiver)]
    assert Counter(again) == Counter({first_ids[0]: 2, first_ids[1]: 3})
    assert [json.loads(r.body)["type"] for r in http_receiver.received("/later")] == ["lead.contacted"]


def test_no_secret_in_notify_status_or_the_log(
    tmp_path: Path, db_url: str, http_receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a Slack target whose secret URL is in a file, and a Slack that answers 500
    secret_path = "/services/T0SECRET/B0SECRET/XyZsecretTokenValue"
    (tmp_path / "slack-url").write_text(http_receiver.url(secret_path))
    http_receiver.answer(secret_path, 500)
    slack = NotifyConfig(
        name="bdc", type="slack", url_file=str(tmp_path / "slack-url"), events=["lead.contacted"]
    )
    cfg, sessions = _setup(tmp_path, db_url, http_receiver.url())
    cfg = cfg.model_copy(update={"notify": [slack]})
    _write_config(tmp_path / "replywatch.toml", db_url, tmp_path)
    with sessions() as session, session.begin():
        replay(session, at(3, 0), open_directory(sessions, cfg).subscriptions, clock_now())
    caplog.set_level(logging.DEBUG, logger="replywatch")
    # When it fails
    done = _notifier(cfg, sessions).drain(clock_now)
    assert done.failed == 1
    assert http_receiver.received(secret_path)
    # Then status (table and JSON) and the log say why, never where
    table = cli("--config", str(tmp_path / "replywatch.toml"), "notify", "status", check=True).stdout
    as_json = cli(
        "--config", str(tmp_path / "replywatch.toml"), "notify", "status", "--format", "json"
    ).stdout
    (row,) = [r for r in json.loads(as_json) if r["target"] == "bdc"]
    assert (row["pending"], row["failing"]) == (1, 1)
    assert row["last_error"].startswith("HTTP 500")  # and Slack's own error code when it gives one
    assert "HTTP 500" in table
    overall = cli("--config", str(tmp_path / "replywatch.toml"), "status").stdout
    assert "notify bdc: 1 pending, 1 failing, 0 given up in 24 h" in overall
    for text in (table, as_json, overall, caplog.text):
        assert "XyZsecretTokenValue" not in text
        assert "T0SECRET" not in text
        assert SECRET not in text


def _write_config(path: Path, db_url: str, tmp_path: Path) -> None:
    path.write_text(
        f"""
[database]
url = "{db_url}"

[[stores]]
name = "Main Street Honda"
timezone = "America/Chicago"

[[notify]]
name = "bdc"
type = "slack"
url_file = "{tmp_path / "slack-url"}"
events = ["lead.contacted"]
"""
    )


CALLS = """\
id,started_at,from,to,direction,duration_s,status,answered_by
c-1,2026-11-05T15:20:00Z,+15125550100,(512) 555-0134,outbound,95,completed,human
c-4,2026-11-05T16:00:00Z,+15125550188,+15125550100,inbound,0,no-answer,
"""


def test_calls_raise_a_missed_call_and_a_contact_by_call_once(tmp_path: Path, db_url: str) -> None:
    # Given Eva, whom Dana reached by phone, and Hal, whose call to the store nobody took
    (tmp_path / "calls.csv").write_text(CALLS, encoding="utf-8")
    box = Maildir(tmp_path / "mail")
    for lead_id, first, phone in (("P1", "Eva", "5125550134"), ("P3", "Hal", "5125550188")):
        box.add(lead_mail(lead_id, first, "Ruiz", None, phone, at(5, 15)), at(5, 15))
    cfg = settings(tmp_path, db_url, inbox="maildir:mail", calls="calls-csv:calls.csv")
    _, sessions = open_database(db_url)
    # When both sources are read, twice
    for _ in range(2):
        pipeline = wired_pipeline(sessions, cfg)
        for source in cfg.sources:
            pipeline.poll(build_source(source))
    # Then Eva is touched and contacted by call, and Hal's missed call is one event with the call's facts
    with sessions() as session:
        raised = [(e.type, e.data) for e in session.scalars(select(NotifyEvent).order_by(NotifyEvent.id))]
    by_lead = [(kind, data["lead"]["lead_id"]) for kind, data in raised]
    assert sorted(by_lead) == [("lead.contacted", "P1"), ("lead.missed_call", "P3"), ("lead.touched", "P1")]
    contacted = next(d for k, d in raised if k == "lead.contacted")
    assert contacted["lead"]["contact_channel"] == "call"
    missed = next(d for k, d in raised if k == "lead.missed_call")
    assert missed["call"] == {"at": "2026-11-05T16:00:00Z", "status": "no-answer", "duration_s": 0}
    assert missed["lead"]["contacted"] is False
