"""Local mail files changed under the cursor: an mbox compacted by its mail client (a message deleted, the
file rewritten, mail appended) is read again and deduped, never cut into fragments. On both backends."""

from __future__ import annotations

import mailbox
from pathlib import Path

from mailbuild import DANA, at, lead_mail, mail, settings
from sqlalchemy import select
from wiring import pipeline as wired_pipeline

from replywatch.sources.factory import build_source
from replywatch.store.db import open_database
from replywatch.store.models import Message, Quarantine


def test_a_compacted_mbox_is_read_again_without_fragments_or_duplicates(tmp_path: Path, db_url: str) -> None:
    # Given an mbox whose first mail is long, followed by three short ones, polled once
    box = mailbox.mbox(tmp_path / "leads.mbox")
    box.add(lead_mail("M1", "Ana", "Diaz", "ana@example.com", None, at(2, 15)) + b"\n" + b"x" * 8000 + b"\n")
    for n in range(3):
        box.add(mail("ana@example.com", DANA, f"Re: car {n}", "ok", at(2, 16 + n), f"<r{n}@example.com>"))
    box.flush()
    cfg = settings(tmp_path, db_url, leads="mbox:leads.mbox")
    _, sessions = open_database(db_url)
    pipeline = wired_pipeline(sessions, cfg, now=lambda: at(30, 12))
    pipeline.poll(build_source(cfg.sources[0]))
    # When the mail client deletes the second mail, compacts the file, and a new reply is appended
    box.remove(1)
    box.add(mail("ana@example.com", DANA, "Re: car", "Saturday", at(3, 9), "<r9@example.com>"))
    box.flush()
    box.close()
    result = pipeline.poll(build_source(cfg.sources[0]))
    # Then the new reply is stored, nothing is quarantined, and nothing is stored twice
    with sessions() as session:
        ids = sorted(session.scalars(select(Message.header_message_id)))
        assert session.scalars(select(Quarantine.position)).all() == []
    replies = [f"<r{n}@example.com>" for n in (0, 1, 2, 9)]
    assert ids == ["<lead-M1@autotrader.example>", *replies]
    assert (result.stored, result.quarantined) == (1, 0)
