"""NUL characters in a reply or a text: stored, without the NUL, on SQLite and PostgreSQL alike (PostgreSQL
refuses NUL in text; a reply quarantined on one backend only is a reply lost)."""

from __future__ import annotations

from pathlib import Path

from mailbuild import DANA, DANA_PHONE, Maildir, at, mail, settings
from sqlalchemy import select
from wiring import pipeline as wired_pipeline

from replywatch.sources.factory import build_source
from replywatch.store.db import open_database
from replywatch.store.models import Message, Quarantine


def test_nul_characters_are_dropped_and_the_messages_stored(tmp_path: Path, db_url: str) -> None:
    # Given a reply whose subject, name and body carry NUL characters, and a text whose body does
    box = Maildir(tmp_path / "mail")
    raw = mail(
        '"Eva\x00 Ruiz" <eva@example.com>', DANA, "Re:\x00 car", "Sat\x00urday works", at(5, 16), "<r1@x>"
    )
    box.add(raw, at(5, 16))
    (tmp_path / "sms.csv").write_text(
        "id,sent_at,from,to,body,direction\n"
        f"t1,2026-11-05T17:00:00Z,+15125550134,{DANA_PHONE},ok\x00 see you,inbound\n",
        encoding="utf-8",
    )
    cfg = settings(tmp_path, db_url, inbox="maildir:mail", texts="sms-csv:sms.csv")
    _, sessions = open_database(db_url)
    pipeline = wired_pipeline(sessions, cfg, now=lambda: at(30, 12))
    # When both are polled
    results = [pipeline.poll(build_source(source)) for source in cfg.sources]
    # Then both are stored, their text without the NUL, and nothing is quarantined
    assert [r.quarantined for r in results] == [0, 0], [r.errors for r in results]
    with sessions() as session:
        assert session.scalars(select(Quarantine.error)).all() == []
        reply = session.scalars(select(Message).where(Message.channel == "email")).one()
        texted = session.scalars(select(Message).where(Message.channel == "sms")).one()
    assert (reply.subject, reply.sender_name) == ("Re: car", "Eva Ruiz")
    assert reply.snippet is not None and reply.snippet.startswith("Saturday works")
    assert texted.snippet == "ok see you"
