"""A sender's Date: is not trusted blindly: missing, in the future, or far before our server received the
mail, the transport time is used instead (our Received:, else the mailbox's delivery time), and which one
is recorded. A reply that forges an early Date cannot make a contact before our follow-up. Both backends."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from pathlib import Path

from mailbuild import DANA, Maildir, at, lead_mail, mail, settings
from sqlalchemy import select
from wiring import pipeline as wired_pipeline

from replywatch.reports.export import contact_rows
from replywatch.sources.factory import build_source
from replywatch.store.db import open_database
from replywatch.store.models import Message


def received(when: datetime) -> dict[str, str]:
    """The Received: header our own server writes on arrival."""
    return {"Received": f"from mx.example.net by imap.mainstreethonda.example; {format_datetime(when)}"}


def test_the_transport_time_replaces_a_date_that_cannot_be_true(tmp_path: Path, db_url: str) -> None:
    # Given Eva's lead and our follow-up, then mail whose Date: is 1970, 2100, missing, or forged to an
    # hour before our follow-up, and one honest reply
    box = Maildir(tmp_path / "mail")
    box.add(lead_mail("P1", "Eva", "Ruiz", "eva@example.com", None, at(5, 15)), at(5, 15))
    box.add(
        mail(DANA, "eva@example.com", "Your CR-V", "Hi", at(5, 15, 10), "<t1@msh>"), at(5, 15, 10), "Sent"
    )
    forged = mail(
        "eva@example.com", DANA, "Re: Your CR-V", "yes", at(5, 14), "<r1@x>", "<t1@msh>", received(at(5, 16))
    )
    box.add(forged, at(5, 16))
    old = mail("spam@example.net", DANA, "hi", "x", datetime(1970, 1, 1), "<r2@x>", None, received(at(6, 9)))
    box.add(old, at(6, 9))
    box.add(mail("spam@example.net", DANA, "hi", "x", datetime(2100, 1, 1), "<r3@x>"), at(6, 10))
    undated = b"".join(
        line
        for line in mail("spam@example.net", DANA, "hi", "x", at(6, 11), "<r4@x>").splitlines(True)
        if not line.startswith(b"Date:")
    )
    box.add(undated, at(6, 11))
    box.add(
        mail("ana@example.com", DANA, "hi", "x", at(6, 12), "<r5@x>", None, received(at(6, 12, 5))),
        at(6, 12, 5),
    )
    cfg = settings(tmp_path, db_url, inbox="maildir:mail")
    _, sessions = open_database(db_url)
    pipeline = wired_pipeline(sessions, cfg, now=lambda: at(30, 12))
    # When the Maildir is polled
    pipeline.poll(build_source(cfg.sources[0]))
    # Then each mail carries the time that can be true, and says which it is
    with sessions() as session:
        times = {m.header_message_id: (m.sent_at, m.time_source) for m in session.scalars(select(Message))}
        [row] = contact_rows(session)
    assert times["<r1@x>"] == (at(5, 16), "received")
    assert times["<r2@x>"] == (at(6, 9), "received")
    assert times["<r3@x>"] == (at(6, 10), "delivery")
    assert times["<r4@x>"] == (at(6, 11), "delivery")
    assert times["<r5@x>"] == (at(6, 12), "date")
    # And Eva's forged-early reply is a contact after our follow-up, not before it
    assert (row["contact_at"], row["time_to_contact_s"]) == ("2026-11-05T16:00:00Z", "3600")
