"""`replywatch quarantine`: list, show, retry and drop the items no source could store."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

from clirun import cli as run_cli
from mailbuild import DANA, Maildir, at, lead_mail, mail

from replywatch.config import load_settings
from replywatch.store import repo
from replywatch.store.db import open_database


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=cwd)


def dealership(root: Path, db_url: str) -> None:
    """A lead we followed up by mail; the customer's answer never got stored (below)."""
    (root / "replywatch.toml").write_text(
        f'[database]\nurl = "{db_url}"\n\n'
        '[[stores]]\nname = "Main Street Honda"\ntimezone = "America/Chicago"\n\n'
        f'[[associates]]\nname = "Dana Lee"\nstore = "Main Street Honda"\nemails = ["{DANA}"]\n'
        'phones = ["+15125550100"]\n\n'
        '[[sources]]\nname = "inbox"\ntype = "maildir"\npath = "mail"\n',
        encoding="utf-8",
    )
    box = Maildir(root / "mail")
    box.add(lead_mail("L1", "Ana", "Diaz", "ana@example.com", "+15125550134", at(2, 15)), at(2, 15))
    box.add(mail(DANA, "ana@example.com", "Hi", "Hi Ana", at(2, 15, 30), "<t1@msh>"), at(2, 15, 30), "Sent")
    assert cli("poll", "--once", cwd=root).returncode == 0


def quarantine_as_an_older_version_did(root: Path) -> None:
    """Ana's answer (a mail and a text) refused by a bug of an older version, and a truly broken row."""
    settings = load_settings(root / "replywatch.toml", environ={})
    _, sessions = open_database(settings.database.url)
    answer = mail("ana@example.com", DANA, "Re: Hi", "yes please", at(2, 16), "<r1@x>", "<t1@msh>")
    text = {"id": "SM1", "sent_at": "2026-11-02T17:00:00Z", "from": "+15125550134", "to": "+15125550100"}
    broken = {"id": "SM2", "sent_at": "yesterday", "from": "+15125550134", "to": "+15125550100"}
    rows = [
        ("inbox", "<r1@x>", "mail/cur/r1:2,S", "KeyError: 'charset'", answer),
        (
            "texts",
            "SM1",
            "sms.csv:2",
            "ValueError: old bug",
            repr(text | {"body": "ok", "direction": "inbound"}),
        ),
        (
            "texts",
            "SM2",
            "sms.csv:3",
            "column sent_at",
            repr(broken | {"body": "hm", "direction": "inbound"}),
        ),
    ]
    with sessions() as session, session.begin():
        repo.quarantine(
            session,
            [
                {"source": s, "external_id": e, "position": p, "error": r, "created_at": at(2, 17)}
                | {"raw": raw if isinstance(raw, bytes) else raw.encode()}
                for s, e, p, r, raw in rows
            ],
        )


def test_quarantined_items_are_listed_shown_retried_and_dropped(tmp_path: Path, db_url: str) -> None:
    # Given a followed-up lead whose answers sit in quarantine, and one row that is really broken
    dealership(tmp_path, db_url)
    quarantine_as_an_older_version_did(tmp_path)
    # When the manager lists and opens them
    listed = json.loads(cli("quarantine", "list", "--format", "json", cwd=tmp_path).stdout)
    shown = cli("quarantine", "show", str(listed[0]["id"]), cwd=tmp_path).stdout
    # Then each has its id, place and reason, and show prints the raw mail
    assert [(q["source"], q["position"]) for q in listed] == [
        ("inbox", "mail/cur/r1:2,S"),
        ("texts", "sms.csv:2"),
        ("texts", "sms.csv:3"),
    ]
    assert "refused: KeyError: 'charset'" in shown and "yes please" in shown
    # When every item is retried (the bug fixed)
    retried = cli("quarantine", "retry", cwd=tmp_path)
    # Then the mail and the text are stored and Ana is contacted; the broken row stays, with its new reason
    assert retried.returncode == 1
    assert retried.stdout.strip() == "2 stored, 1 still quarantined"
    assert f"item {listed[2]['id']}: still refused:" in retried.stderr and "yesterday" in retried.stderr
    [lead] = csv.DictReader(io.StringIO(cli("contacts", "export", cwd=tmp_path).stdout))
    assert (lead["lead_id"], lead["contacted"], lead["contact_at"]) == ("L1", "Y", "2026-11-02T16:00:00Z")
    left = json.loads(cli("quarantine", "list", "--format", "json", cwd=tmp_path).stdout)
    assert [q["id"] for q in left] == [listed[2]["id"]] and "yesterday" in left[0]["error"]
    # When the broken one is dropped, Then the quarantine is empty, and dropping again says so
    assert cli("quarantine", "drop", str(listed[2]["id"]), cwd=tmp_path).returncode == 0
    assert json.loads(cli("quarantine", "list", "--format", "json", cwd=tmp_path).stdout) == []
    again = cli("quarantine", "drop", str(listed[2]["id"]), cwd=tmp_path)
    assert again.returncode == 1 and "no quarantined item" in again.stderr
