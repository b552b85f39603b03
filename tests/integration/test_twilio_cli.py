"""`replywatch poll --once`, `status` and `contacts export` on a Twilio source, as a user runs them."""

from __future__ import annotations

import csv
import io
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from clirun import replywatch
from fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, running
from mailbuild import DANA_PHONE, Maildir, at, lead_mail
from sqlalchemy import select
from twilio_export import row, write_export

from replywatch.store.db import open_database
from replywatch.store.models import Message

EVA = "+15125550134"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with running() as fake:
        yield fake


def cli(*args: str, cwd: Path, token: str) -> subprocess.CompletedProcess[str]:
    env = {"NO_PROXY": "127.0.0.1,localhost", "TEXTS_TOKEN": token}
    return replywatch(*args, cwd=cwd, env=env, scrub=("REPLYWATCH_", "TWILIO_"))


def dealership(root: Path, db_url: str, fake: FakeTwilio, export: str | None = None) -> None:
    """The inbox and the Twilio account; `export`: also a console CSV export of the account (source
    "history", listed before the API)."""
    history = f'\n[[sources]]\nname = "history"\ntype = "sms-csv"\npath = "{export}"\n' if export else ""
    Maildir(root / "mail").add(lead_mail("P1", "Eva", "Ruiz", None, "(512) 555-0134", at(5, 15)), at(5, 15))
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

[[sources]]
name = "inbox"
type = "maildir"
path = "mail"

{history}
[[sources]]
name = "texts"
type = "twilio"
account_sid = "{ACCOUNT_SID}"
auth_token_env = "TEXTS_TOKEN"
numbers = ["{DANA_PHONE}"]
base_url = "{fake.base_url}"
""",
        encoding="utf-8",
    )


def test_poll_status_and_export_with_twilio(tmp_path: Path, db_url: str, fake: FakeTwilio) -> None:
    # Given a lead in the inbox, and our text and her reply in the Twilio account
    dealership(tmp_path, db_url, fake)
    to_eva = fake.add(at(5, 15, 10), DANA_PHONE, EVA, "Hi Eva, Dana here", direction="outbound-api")
    fake.add(at(5, 15, 45), EVA, DANA_PHONE, "sure, call me at 5")
    # When the dealer polls once with a wrong token
    refused = cli("poll", "--once", cwd=tmp_path, token="wrong")
    # Then the poll fails in one line, and status shows the Twilio source failing with the reason
    assert refused.returncode == 1
    assert "texts: Twilio refused the credentials" in " ".join(refused.stderr.split())
    status = cli("status", "--format", "json", cwd=tmp_path, token="wrong")
    assert status.returncode == 1 and "Twilio refused the credentials" in status.stdout
    # When the token is fixed and the dealer polls again
    polled = cli("poll", "--once", cwd=tmp_path, token=AUTH_TOKEN)
    assert polled.returncode == 0, polled.stderr
    assert "texts: 2 new items" in polled.stdout and "updated" not in polled.stdout
    # Then status is clean and the export shows Eva contacted by SMS 45 minutes after her lead
    assert cli("status", cwd=tmp_path, token=AUTH_TOKEN).returncode == 0
    exported = cli("contacts", "export", cwd=tmp_path, token=AUTH_TOKEN)
    row = next(csv.DictReader(io.StringIO(exported.stdout)))
    assert (row["lead_id"], row["contacted"], row["contact_channel"], row["time_to_contact_s"]) == (
        "P1",
        "Y",
        "sms",
        "2700",
    )
    # When the carrier's late receipt says our text never arrived, and the dealer polls again
    fake.deliver(to_eva, "undelivered", error_code=30003)
    again = cli("poll", "--once", cwd=tmp_path, token=AUTH_TOKEN)
    # Then the poll says one status changed, and Eva's lead has no touch anymore
    assert "texts: 0 new items, 0 new leads, 1 statuses updated" in again.stdout, again.stdout
    exported = cli("contacts", "export", cwd=tmp_path, token=AUTH_TOKEN)
    assert next(csv.DictReader(io.StringIO(exported.stdout)))["first_touch_at"] == ""


def test_a_text_in_the_api_and_in_a_console_export_is_stored_once(
    tmp_path: Path, db_url: str, fake: FakeTwilio
) -> None:
    # Given our two texts to Eva in the Twilio account, and a console export for history that holds an
    # older text of ours and, again, the first of the two (same SID)
    older, first, second = at(5, 15, 5), at(5, 15, 10), at(5, 15, 20)
    sid_1 = fake.add(first, DANA_PHONE, EVA, "Hi Eva, Dana here", direction="outbound-api")
    sid_2 = fake.add(second, DANA_PHONE, EVA, "Any questions about the CR-V?", direction="outbound-api")
    history_only, greeting = "SM" + "f" * 32, "Hi Eva, Dana from Main Street Honda"
    write_export(
        tmp_path / "export.csv",
        [
            row(sid_1, first, DANA_PHONE, EVA, "Hi Eva, Dana here", "outbound-api", "delivered"),
            row(history_only, older, DANA_PHONE, EVA, greeting, "outbound-api", "delivered"),
        ],
    )
    dealership(tmp_path, db_url, fake, export="export.csv")
    # When the dealer polls once (the export first)
    polled = cli("poll", "--once", cwd=tmp_path, token=AUTH_TOKEN)
    assert polled.returncode == 0, polled.stderr
    # Then the API source stores only the text the export did not hold, and says why it skipped one
    assert "history: 2 new items" in polled.stdout, polled.stdout
    assert "texts: 1 new item, 0 new leads, 1 already stored from another source" in polled.stdout
    # And each of the three texts is stored once, and the lead's first touch is the older one
    _, sessions = open_database(db_url)
    with sessions() as session:
        stored = session.scalars(select(Message.external_id).where(Message.channel == "sms")).all()
    assert sorted(stored) == sorted([history_only, sid_1, sid_2])
    exported = cli("contacts", "export", cwd=tmp_path, token=AUTH_TOKEN)
    assert next(csv.DictReader(io.StringIO(exported.stdout)))["first_touch_at"] == "2026-11-05T15:05:00Z"
    # When polled again, nothing is new from either source
    again = cli("poll", "--once", cwd=tmp_path, token=AUTH_TOKEN)
    assert "history: 0 new items" in again.stdout and "texts: 0 new items" in again.stdout, again.stdout
