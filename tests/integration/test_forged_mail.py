"""Forged mail does not count: a mail our own server found failing DMARC or SPF (its Authentication-Results,
from a configured authserv-id) is never a touch when it claims an associate's address, and a would-be
contact from it waits in review. The same header from any other server is not believed. Both backends."""

from __future__ import annotations

from pathlib import Path

from mailbuild import DANA, Maildir, at, lead_mail, mail, settings
from sqlalchemy import select
from wiring import pipeline as wired_pipeline

from replywatch.reports.export import contact_rows
from replywatch.sources.factory import build_source
from replywatch.store.db import open_database
from replywatch.store.models import Match, Message

OURS = "mx.mainstreethonda.example"


def failing(authserv: str) -> dict[str, str]:
    return {
        "Authentication-Results": f"{authserv}; spf=fail (sender IP is 203.0.113.9) smtp.mailfrom=x.example;"
        " dkim=none; dmarc=fail (p=REJECT) header.from=mainstreethonda.example"
    }


def test_mail_failing_dmarc_at_our_server_is_no_touch_and_no_contact(tmp_path: Path, db_url: str) -> None:
    # Given Eva's and Ben's leads; a forged "follow-up" from Dana's address and a forged "reply" from Eva,
    # both failing DMARC at our server; and Ben's real reply to Dana's real follow-up, carrying a failing
    # header that some other server wrote
    box = Maildir(tmp_path / "mail")
    box.add(lead_mail("P1", "Eva", "Ruiz", "eva@example.com", None, at(5, 15)), at(5, 15))
    box.add(lead_mail("P2", "Ben", "Ortiz", "ben@example.com", None, at(5, 15)), at(5, 15))
    box.add(
        mail(DANA, "eva@example.com", "Your CR-V", "Hi", at(5, 15, 5), "<f1@x>", None, failing(OURS)),
        at(5, 15, 5),
    )
    box.add(
        mail("eva@example.com", DANA, "Re: Your CR-V", "yes", at(5, 16), "<f2@x>", None, failing(OURS)),
        at(5, 16),
    )
    box.add(
        mail(DANA, "ben@example.com", "Your Civic", "Hi", at(5, 15, 10), "<t2@msh>"), at(5, 15, 10), "Sent"
    )
    honest = mail(
        "ben@example.com",
        DANA,
        "Re: Your Civic",
        "ok",
        at(5, 17),
        "<r2@x>",
        "<t2@msh>",
        failing("evil.example"),
    )
    box.add(honest, at(5, 17))
    cfg = settings(tmp_path, db_url, inbox="maildir:mail")
    cfg.sources[0] = cfg.sources[0].model_copy(update={"trusted_authserv_ids": [OURS]})
    _, sessions = open_database(db_url)
    pipeline = wired_pipeline(sessions, cfg, now=lambda: at(30, 12))
    # When the Maildir is polled
    pipeline.poll(build_source(cfg.sources[0]))
    # Then Eva has no touch and no contact, her "reply" waits in review; Ben is contacted as before
    with sessions() as session:
        rows = {r["lead_id"]: r for r in contact_rows(session)}
        forged_reply = session.scalars(select(Message).where(Message.header_message_id == "<f2@x>")).one()
        status = session.scalars(select(Match.status).where(Match.message_id == forged_reply.id)).one()
        forged_touch = session.scalars(select(Message).where(Message.header_message_id == "<f1@x>")).one()
    eva, ben = rows["P1"], rows["P2"]
    assert (eva["first_touch_at"], eva["contacted"], eva["pending_review"]) == ("", "N", "Y")
    assert (forged_touch.direction, forged_touch.auth_failed, forged_reply.auth_failed) == (
        "inbound",
        True,
        True,
    )
    assert status == "review"
    assert (ben["contacted"], ben["time_to_contact_s"]) == ("Y", str(2 * 3600))
