"""Two sources' batches stored at once: the later sees what the earlier committed (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from pathlib import Path

from mailbuild import DANA, Maildir, at, lead_mail, mail, settings
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from replywatch.classify.rules import default_rules_dir, load_rules
from replywatch.ingest.directory import open_directory
from replywatch.ingest.pipeline import Pipeline
from replywatch.sources.factory import build_source
from replywatch.store.db import open_database
from replywatch.store.models import Lead, Match, Message

HELD_S = 1.0  # ample for the other poll to reach its batch transaction meanwhile


def test_a_reply_stored_while_its_lead_is_being_stored_is_matched_at_once(
    tmp_path: Path, db_url: str
) -> None:
    # Given a lead and our follow-up in one source, and the customer's reply in another
    leads = Maildir(tmp_path / "leads")
    leads.add(lead_mail("L-1", "Pat", "Reyes", "pat@customer.example", None, at(3, 9)), at(3, 9))
    touch = mail(DANA, "pat@customer.example", "Your CR-V", "Hi Pat", at(3, 10), "<t1@d.example>")
    leads.add(touch, at(3, 10))
    replies = Maildir(tmp_path / "replies")
    reply = mail("pat@customer.example", DANA, "Re: Your CR-V", "Saturday works", at(3, 12), "<r1@c.example>")
    replies.add(reply, at(3, 12))
    cfg = settings(tmp_path, db_url, leads="maildir:leads", replies="maildir:replies")
    rules = load_rules(default_rules_dir())
    # And two pollers (two daemons, or two threads of one), the lead's holding its batch open once it has
    # stored the lead and looked for the messages it explains, till the other poll ends or HELD_S pass
    _, lead_sessions = open_database(db_url)
    _, reply_sessions = open_database(db_url)
    lead_batch_open, replies_polled = threading.Event(), threading.Event()

    @event.listens_for(lead_sessions, "before_commit")
    def hold_open(session: Session) -> None:
        if not lead_batch_open.is_set() and session.scalar(select(Lead.id)) is not None:
            lead_batch_open.set()
            replies_polled.wait(HELD_S)

    def poll_replies() -> None:
        lead_batch_open.wait(30)
        Pipeline(reply_sessions, cfg, rules, open_directory(reply_sessions, cfg)).poll(
            build_source(cfg.sources[1])
        )
        replies_polled.set()

    # When the reply's poll begins while the lead's batch is open
    other = threading.Thread(target=poll_replies)
    other.start()
    Pipeline(lead_sessions, cfg, rules, open_directory(lead_sessions, cfg)).poll(build_source(cfg.sources[0]))
    other.join(60)
    # Then, with no sweep, the reply is matched to the lead and the lead shows contacted at the reply
    with lead_sessions() as session:
        matched = select(Match.status).join(Message).where(Message.header_message_id == "<r1@c.example>")
        assert session.scalar(matched) == "matched"
        assert session.scalar(select(Lead.contact_at)) == at(3, 12)
