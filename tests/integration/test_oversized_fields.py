"""Header fields longer than their columns (a 600-character Message-ID, a 450-character display name, an
SMS status of 30) are clipped, not refused: PostgreSQL enforces VARCHAR lengths where SQLite does not, and
a batch failing on one of them would quarantine a good message on one backend and keep it on the other.
A reply naming the long Message-ID still follows its thread."""

from __future__ import annotations

import hashlib
from pathlib import Path

from mailbuild import DANA, DANA_PHONE, Maildir, at, lead_mail, mail, settings
from sqlalchemy import delete, func, select
from wiring import pipeline as wired_pipeline

from replywatch.sources.factory import build_source
from replywatch.store.db import open_database
from replywatch.store.models import Lead, Match, Message, Quarantine, SourceCursor

LONG_ID = "<" + "f" * 590 + "@mainstreethonda.example>"
LONG_NAME = "Eva " + "Q" * 446


def test_oversized_fields_are_clipped_and_the_thread_still_links(tmp_path: Path, db_url: str) -> None:
    # Given Eva's lead, our follow-up with a very long Message-ID, and her reply from another address,
    # under a very long display name, naming only that Message-ID; and a text whose status is too long
    box = Maildir(tmp_path / "mail")
    box.add(lead_mail("P1", "Eva", "Ruiz", "eva@example.com", None, at(5, 15)), at(5, 15))
    follow_up = mail(DANA, "eva@example.com", "Your CR-V", "Hi Eva, Dana here.", at(5, 15, 10), LONG_ID)
    box.add(follow_up, at(5, 15, 10), folder="Sent")
    reply = mail(
        f'"{LONG_NAME}" <ruiz.family@example.net>',
        DANA,
        "Re: Your CR-V",
        "Saturday works.",
        at(5, 16),
        "<reply-1@example.net>",
        in_reply_to=LONG_ID,
    )
    (tmp_path / "texts.csv").write_text(
        "id,sent_at,from,to,body,direction,status\n"
        f"t1,2026-11-05T17:00:00Z,{DANA_PHONE},+15125550134,Hi,outbound,{'delivered-by-carrier-' * 2}\n",
        encoding="utf-8",
    )
    cfg = settings(tmp_path, db_url, inbox="maildir:mail", texts="sms-csv:texts.csv")
    _, sessions = open_database(db_url)
    pipeline = wired_pipeline(sessions, cfg, now=lambda: at(30, 12))
    # When every source is polled, and again once her reply has come
    results = [pipeline.poll(build_source(source)) for source in cfg.sources]
    box.add(reply, at(5, 16))
    results += [pipeline.poll(build_source(source)) for source in cfg.sources]
    # Then nothing is quarantined and every message is stored, its long fields clipped to their columns
    assert [r.quarantined for r in results] == [0, 0, 0, 0], [r.errors for r in results]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Quarantine)) == 0
        ours = session.scalars(select(Message).where(Message.subject == "Your CR-V")).one()
        assert ours.header_message_id == LONG_ID[:500]
        theirs = session.scalars(select(Message).where(Message.subject == "Re: Your CR-V")).one()
        assert theirs.sender_name == LONG_NAME[:400]
        text = session.scalars(select(Message).where(Message.channel == "sms")).one()
        assert text.status == ("delivered-by-carrier-" * 2)[:20]
        # And the reply, from an address the lead does not have, is linked to Eva by its thread (what it
        # names is read as the stored follow-up's id is kept)
        match = session.scalars(select(Match).where(Match.message_id == theirs.id)).one()
        lead = session.get(Lead, match.lead_id) if match.lead_id else None
        assert (match.status, lead.external_id if lead else None) == ("matched", "P1")
        assert "thread" in match.reasons[0]["reasons"]


def test_an_sms_export_id_too_long_for_the_store_is_kept_as_its_digest(tmp_path: Path, db_url: str) -> None:
    # Given an export whose platform writes 600-character ids
    long_id = "x" * 600
    (tmp_path / "texts.csv").write_text(
        "id,sent_at,from,to,body,direction\n"
        f"{long_id},2026-11-05T17:00:00Z,{DANA_PHONE},+15125550134,Hi,outbound\n",
        encoding="utf-8",
    )
    cfg = settings(tmp_path, db_url, texts="sms-csv:texts.csv")
    _, sessions = open_database(db_url)
    pipeline = wired_pipeline(sessions, cfg, now=lambda: at(30, 12))
    # When imported, and imported again from the top (the file replaced by the same content)
    first = pipeline.poll(build_source(cfg.sources[0]))
    with sessions() as session:
        session.execute(delete(SourceCursor))
        session.commit()
    again = pipeline.poll(build_source(cfg.sources[0]))
    # Then the text is stored once, under the digest of its id
    assert (first.stored, again.stored, first.quarantined) == (1, 0, 0)
    with sessions() as session:
        stored = session.scalars(select(Message.external_id)).all()
    assert stored == ["sha256:" + hashlib.sha256(long_id.encode()).hexdigest()]


def test_a_lead_with_oversized_names_and_car_is_stored_clipped(tmp_path: Path, db_url: str) -> None:
    # Given an ADF lead whose surname and model run past their columns (a CRM pasting notes into them)
    surname, model = "Ruiz" + "z" * 246, "CR-V " + "EX-L " * 90
    notice = lead_mail("P7", "Eva", surname, "eva@example.com", None, at(5, 15)).replace(
        b"<model>CR-V</model>", f"<model>{model}</model>".encode()
    )
    Maildir(tmp_path / "mail").add(notice, at(5, 15))
    cfg = settings(tmp_path, db_url, inbox="maildir:mail")
    _, sessions = open_database(db_url)
    pipeline = wired_pipeline(sessions, cfg, now=lambda: at(30, 12))
    # When polled
    result = pipeline.poll(build_source(cfg.sources[0]))
    # Then the lead is stored, not quarantined, its long texts clipped to their columns on both backends
    assert (result.leads, result.quarantined) == (1, 0), result.errors
    with sessions() as session:
        lead = session.scalars(select(Lead)).one()
    assert (lead.last_name, lead.full_name, len(lead.vehicle or "")) == (surname[:200], f"Eva {surname}", 400)


def test_a_lead_the_store_refuses_is_quarantined_alone_and_the_batch_goes_on(
    tmp_path: Path, pg_db_url: str
) -> None:
    """PostgreSQL refuses a lead id longer than its column (an id is never clipped: it would collide): the
    batch fails in the store, is stored again one item at a time under the batch lock, and only that
    notice is quarantined, with the database's reason; the others and the cursor are kept."""
    # Given a good lead, a notice whose lead id runs past its column, and the good lead's reply
    box = Maildir(tmp_path / "mail")
    box.add(lead_mail("P1", "Eva", "Ruiz", "eva@example.com", None, at(5, 15)), at(5, 15))
    box.add(lead_mail("Q" * 250, "Gil", "Sosa", "gil@example.com", None, at(5, 15, 30)), at(5, 15, 30))
    box.add(
        mail("eva@example.com", DANA, "CR-V", "Is it still there?", at(5, 16), "<r1@example.com>"), at(5, 16)
    )
    cfg = settings(tmp_path, pg_db_url, inbox="maildir:mail")
    _, sessions = open_database(pg_db_url)
    pipeline = wired_pipeline(sessions, cfg, now=lambda: at(30, 12))
    # When polled, and polled again
    first = pipeline.poll(build_source(cfg.sources[0]))
    again = pipeline.poll(build_source(cfg.sources[0]))
    # Then only the refused notice is quarantined, with the reason, once; the rest is stored and matched
    assert (first.stored, first.leads, first.quarantined) == (2, 1, 1), first.errors
    assert "value too long" in first.errors[0]
    assert (again.stored, again.quarantined) == (0, 0)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Quarantine)) == 1
        reply = session.scalars(select(Message).where(Message.subject == "CR-V")).one()
        match = session.scalars(select(Match).where(Match.message_id == reply.id)).one()
        lead = session.get(Lead, match.lead_id) if match.lead_id else None
        assert (match.status, lead.external_id if lead else None) == ("matched", "P1")
