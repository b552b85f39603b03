"""Two writers recomputing one lead's contact state at once (two sources, or two daemons, on PostgreSQL)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from mailbuild import DANA, Maildir, at, lead_mail, mail, settings
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from wiring import pipeline as wired_pipeline

from replywatch.clock import now
from replywatch.ingest.directory import Directory
from replywatch.ingest.leads import refresh_contacts
from replywatch.sources.factory import build_source
from replywatch.store.db import open_database
from replywatch.store.models import Lead, Match, Message


def test_the_second_writer_sees_the_first_writers_touch(tmp_path: Path, pg_db_url: str) -> None:
    # Given a lead and two follow-ups of ours, stored but (as if read by writers that had not seen the
    # lead yet) not matched to it
    box = Maildir(tmp_path / "mail")
    box.add(lead_mail("L-1", "Pat", "Reyes", "pat@customer.example", None, at(3, 9)), at(3, 9))
    for hour, key in ((10, "first"), (11, "second")):
        raw = mail(
            DANA, "pat@customer.example", "Your CR-V", "Hi Pat", at(3, hour), f"<{key}@dealer.example>"
        )
        box.add(raw, at(3, hour))
    cfg = settings(tmp_path, pg_db_url, inbox="maildir:mail")
    _, sessions = open_database(pg_db_url)
    wired_pipeline(sessions, cfg).poll(build_source(cfg.sources[0]))
    with sessions() as s, s.begin():
        lead_id = s.scalar(select(Lead.id))
        assert lead_id is not None
        ours = select(Message.header_message_id, Message.id).where(Message.direction == "outbound")
        touches = {header: message_id for header, message_id in s.execute(ours)}
        s.execute(
            update(Match)
            .where(Match.message_id.in_(touches.values()))
            .values(status="unmatched", lead_id=None)
        )
        s.execute(update(Lead).values(first_touch_at=None, associate_id=None))

    def link(session: Session, message_id: int) -> None:
        session.execute(
            update(Match).where(Match.message_id == message_id).values(status="matched", lead_id=lead_id)
        )
        refresh_contacts(session, Directory.load(session, cfg), [lead_id], now=now())

    # When one writer links the first touch and, before it commits, another links the second
    first = sessions()
    first.begin()
    link(first, touches["<first@dealer.example>"])

    def second_writer() -> None:
        with sessions() as s, s.begin():
            link(s, touches["<second@dealer.example>"])

    other = threading.Thread(target=second_writer)
    other.start()
    time.sleep(0.5)  # the second writer is now waiting for the lead's row
    first.commit()
    first.close()
    other.join(30)
    # Then the lead's first touch is the first follow-up: the second writer read it before writing
    with sessions() as s:
        assert s.scalar(select(Lead.first_touch_at)) == at(3, 10)
