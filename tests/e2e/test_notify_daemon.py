"""Notifications as a user runs them: two real `replywatch run` daemons delivering to a real HTTP receiver
that fails at first, and `replywatch notify send --once` raising a speed-to-lead alert for a lead that
arrived twenty minutes ago and delivering it."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

from clirun import cli
from daemonrun import DaemonProcess
from mailbuild import DANA, Maildir, at, lead_mail, mail
from servers.http_receiver import Receiver
from sqlalchemy import create_engine, text

from replywatch.clock import now

SECRET = "crm-signing-secret-42"
STORIES = 12


def _config(root: Path, db_url: str, hook: str, events: list[str], hours: str = "09:00-20:00") -> Path:
    (root / "secret").write_text(SECRET)
    days = "\n".join(f'{d} = "{hours}"' for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
    config = root / "replywatch.toml"
    config.write_text(
        f"""
[database]
url = "{db_url}"

[[stores]]
name = "Main Street Honda"
timezone = "America/Chicago"
[stores.hours]
{days}

[[associates]]
name = "Dana Lee"
store = "Main Street Honda"
emails = ["{DANA}"]

[[sources]]
name = "inbox"
type = "maildir"
path = "mail"

[alerts]
check_seconds = 1

[[notify]]
name = "crm"
type = "webhook"
url = "{hook}"
secret_file = "{root / "secret"}"
events = {json.dumps(events)}
"""
    )
    return config


def _signed_bodies(receiver: Receiver) -> list[dict[str, object]]:
    bodies = []
    for r in receiver.received(ok_only=True):
        expected = "sha256=" + hmac.new(SECRET.encode(), r.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(r.headers["x-replywatch-signature"], expected)
        bodies.append(json.loads(r.body))
    return bodies


def _pending(db_url: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT count(*) FROM notify_deliveries WHERE status = 'pending'")
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_two_daemons_deliver_every_event_once_through_a_failing_receiver(
    tmp_path: Path, pg_db_url: str, http_receiver: Receiver
) -> None:
    # Given twelve leads, each followed up and answered, and a CRM webhook that fails its first 3 requests
    box = Maildir(tmp_path / "mail")
    for n in range(STORIES):
        customer = f"buyer{n}@customer.example"
        box.add(lead_mail(f"W-{n}", "Sam", f"Ortiz{n}", customer, None, at(4, 15)), at(4, 15))
        box.add(mail(DANA, customer, "CR-V", "Hi Sam", at(4, 16), f"<w{n}@d>"), at(4, 16), "Sent")
        box.add(mail(customer, DANA, "Re: CR-V", "Call me", at(4, 18), f"<v{n}@c>", f"<w{n}@d>"), at(4, 18))
    config = _config(tmp_path, pg_db_url, http_receiver.url(), ["lead.touched", "lead.contacted"])
    http_receiver.fail_first("/hook", 3)
    # When two daemons run on the same database
    env = {"REPLYWATCH_DATABASE_URL": pg_db_url}
    daemons = [DaemonProcess(config, env, ("--interval", "2")).start() for _ in range(2)]
    try:
        first = daemons[0]
        first.wait_until(
            "every event delivered",
            lambda: len({b["id"] for b in _signed_bodies(http_receiver)}) == 2 * STORIES,
            timeout=120,
        )
        first.wait_until("an empty outbox", lambda: _pending(pg_db_url) == 0, timeout=30)
    finally:
        codes = [d.stop()[0] for d in daemons]
    # Then each event arrived exactly once (the failed attempts were retried), touch before contact
    bodies = _signed_bodies(http_receiver)
    assert len(bodies) == 2 * STORIES
    assert max(Counter(b["id"] for b in bodies).values()) == 1
    assert len([r for r in http_receiver.received() if r.status == 500]) == 3
    order: dict[object, list[object]] = {}
    for b in bodies:
        lead = b["lead"]
        assert isinstance(lead, dict)
        order.setdefault(lead["lead_id"], []).append(b["type"])
    assert set(map(tuple, order.values())) == {("lead.touched", "lead.contacted")}
    assert codes == [0, 0]
    for d in daemons:
        assert " ERROR " not in d.log() and SECRET not in d.log()


def test_notify_send_once_alerts_on_a_lead_waiting_and_says_when_a_target_fails(
    tmp_path: Path, http_receiver: Receiver
) -> None:
    # Given a store open around the clock and a lead that arrived twenty minutes ago, still untouched
    db_url = f"sqlite:///{tmp_path / 'rw.db'}"
    arrived = (now() - timedelta(minutes=20)).replace(microsecond=0)
    box = Maildir(tmp_path / "mail")
    box.add(lead_mail("U-1", "Alex", "Kim", "alex@customer.example", None, arrived), arrived)
    config = _config(
        tmp_path, db_url, http_receiver.url(), ["lead.untouched", "lead.untouched.escalated"], "00:00-24:00"
    )
    cli("--config", str(config), "poll", "--once", check=True)
    # When notify send --once runs
    done = cli("--config", str(config), "notify", "send", "--once")
    # Then it raised the 15-minute alert (not yet the 60-minute one) and delivered it
    assert done.returncode == 0, done.stderr
    assert "lead.untouched 1" in done.stdout and "1 delivered, 0 failed" in done.stdout
    (alert,) = _signed_bodies(http_receiver)
    assert alert["type"] == "lead.untouched"
    assert isinstance(alert["lead"], dict) and alert["lead"]["lead_id"] == "U-1"
    assert alert["lead"]["first_touch_at"] is None
    # And running it again raises and sends nothing new
    again = cli("--config", str(config), "notify", "send", "--once")
    assert again.returncode == 0 and "0 delivered" in again.stdout
    # When the receiver starts failing, a replayed alert fails: exit 1, the reason on stderr, no secret
    http_receiver.answer("/hook", 503)
    cli("--config", str(config), "notify", "replay", "--since", arrived.isoformat(), check=True)
    failed = cli("--config", str(config), "notify", "send", "--once")
    assert failed.returncode == 1
    assert "crm: HTTP 503" in failed.stderr
    status = cli("--config", str(config), "notify", "status", "--format", "json", check=True)
    (row,) = json.loads(status.stdout)
    assert (row["target"], row["pending"], row["failing"], row["last_error"]) == ("crm", 1, 1, "HTTP 503")
    assert SECRET not in status.stdout + failed.stdout + failed.stderr
