"""Texts and calls of one Twilio account as two sources, through `poll --once`, `status` and the export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from clirun import cli
from fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, parse_target, running
from mailbuild import DANA_PHONE, Maildir, at, lead_mail

EVA, GIL = "+15125550134", "+15125550177"
ENV = {"NO_PROXY": "127.0.0.1,localhost", "TWILIO_TOKEN": AUTH_TOKEN}


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with running() as fake:
        yield fake


def dealership(root: Path, db_url: str, fake: FakeTwilio) -> None:
    """Eva's and Gil's leads in the inbox; the account's texts and its calls as two sources."""
    box = Maildir(root / "mail")
    box.add(lead_mail("P1", "Eva", "Ruiz", None, "(512) 555-0134", at(5, 15)), at(5, 15))
    box.add(lead_mail("P2", "Gil", "Ruiz", None, "(512) 555-0177", at(5, 15)), at(5, 15))
    account = f'account_sid = "{ACCOUNT_SID}"\nauth_token_env = "TWILIO_TOKEN"\nbase_url = "{fake.base_url}"'
    (root / "replywatch.toml").write_text(
        f"""
[database]
url = "{db_url}"

[[stores]]
name = "Main Street Honda"
timezone = "America/Chicago"

[[associates]]
name = "Dana Lee"
store = "Main Street Honda"
phones = ["{DANA_PHONE}"]

[contact]
min_call_seconds = 45

[[sources]]
name = "inbox"
type = "maildir"
path = "mail"

[[sources]]
name = "texts"
type = "twilio"
{account}

[[sources]]
name = "calls"
type = "twilio-calls"
{account}
""",
        encoding="utf-8",
    )


def test_texts_and_calls_poll_apart_and_the_export_says_call(
    tmp_path: Path, db_url: str, fake: FakeTwilio
) -> None:
    # Given our text to Eva that she never answers and a 50-second call with her the next day; our text
    # to Gil and a 40-second call with him (short of this store's 45 seconds) before his text reply
    dealership(tmp_path, db_url, fake)
    fake.add(at(5, 15, 10), DANA_PHONE, EVA, "Hi Eva, Dana here", direction="outbound-api")
    fake.add_call(at(6, 16), DANA_PHONE, EVA, "outbound-api", "completed", 50, "human")
    fake.add(at(5, 15, 10), DANA_PHONE, GIL, "Hi Gil, Dana here", direction="outbound-api")
    fake.add_call(at(5, 16), GIL, DANA_PHONE, "inbound", "completed", 40)
    fake.add(at(5, 17), GIL, DANA_PHONE, "ok see you Saturday")
    # When the dealer polls once
    polled = cli("poll", "--once", cwd=tmp_path, env=ENV)
    # Then each source reports on its own line, and each listing read its own resource
    assert polled.returncode == 0, polled.stderr
    assert "texts: 3 new items" in polled.stdout and "calls: 2 new items" in polled.stdout
    paths = {parse_target(t)[0].rsplit("/", 1)[-1] for t in fake.requests}
    assert paths == {"Messages.json", "Calls.json"}
    # And Eva is contacted by call, Gil by his text
    exported = cli("contacts", "export", cwd=tmp_path, env=ENV)
    rows = {r["lead_id"]: r for r in csv.DictReader(io.StringIO(exported.stdout))}
    assert (rows["P1"]["contact_channel"], rows["P1"]["contact_at"]) == ("call", "2026-11-06T16:00:00Z")
    assert (rows["P2"]["contact_channel"], rows["P2"]["contact_at"]) == ("sms", "2026-11-05T17:00:00Z")
    # And status lists both sources, healthy; a second poll reads each from its own cursor's day before
    status = json.loads(cli("status", "--format", "json", cwd=tmp_path, env=ENV).stdout)
    assert {s["name"] for s in status["sources"]} >= {"texts", "calls"} and status["failing"] == []
    fake.requests.clear()
    assert cli("poll", "--once", cwd=tmp_path, env=ENV).returncode == 0
    since = {parse_target(t)[0].rsplit("/", 1)[-1]: parse_target(t)[1] for t in fake.requests}
    assert since["Messages.json"]["DateSent>"] == "2026-11-04"
    assert since["Calls.json"]["StartTime>"] == "2026-11-05"
