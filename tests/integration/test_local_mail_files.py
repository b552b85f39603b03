"""Local mail files as they are found: an mbox compacted by its mail client (a message deleted, the file
rewritten, mail appended) is read again and deduped, never cut into fragments; a symbolic link in a Maildir
or an .eml folder is never followed out of it. On both backends."""

from __future__ import annotations

import mailbox
from pathlib import Path

from mailbuild import DANA, Maildir, at, lead_mail, mail, settings
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


def test_symbolic_links_in_mail_folders_are_not_followed(tmp_path: Path, db_url: str) -> None:
    # Given a file of customers' data outside the folders, a Maildir and an .eml folder each holding a
    # real reply and a link to that file
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"Subject: stolen\n\nSSN 078-05-1120\n")
    box = Maildir(tmp_path / "mail")
    box.add(mail("ana@example.com", DANA, "Re: car", "ok", at(3, 9), "<r1@example.com>"), at(3, 9))
    (tmp_path / "mail" / "cur" / "evil:2,S").symlink_to(secret)
    (tmp_path / "eml").mkdir()
    (tmp_path / "eml" / "r2.eml").write_bytes(mail("ana@example.com", DANA, "Re", "ok", at(3, 10), "<r2@x>"))
    (tmp_path / "eml" / "evil.eml").symlink_to(secret)
    cfg = settings(tmp_path, db_url, inbox="maildir:mail", files="eml-dir:eml")
    _, sessions = open_database(db_url)
    pipeline = wired_pipeline(sessions, cfg, now=lambda: at(30, 12))
    # When both are polled
    for source in cfg.sources:
        pipeline.poll(build_source(source))
    # Then each link is quarantined by name, none of the file's bytes are stored, and the replies are
    with sessions() as session:
        held = session.execute(select(Quarantine.position, Quarantine.error, Quarantine.raw)).all()
        subjects = sorted(s or "" for s in session.scalars(select(Message.subject)))
    assert sorted(Path(position).name for position, _, _ in held) == ["evil.eml", "evil:2,S"]
    assert all("symbolic link" in error and b"SSN" not in (raw or b"") for _, error, raw in held)
    assert subjects == ["Re", "Re: car"]
