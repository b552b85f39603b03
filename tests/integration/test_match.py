"""Matching the hard cases end to end, on SQLite and PostgreSQL: work addresses, nicknames, Gmail
variants, shared household phones, repeat shoppers, a lead that arrives after its reply."""

from __future__ import annotations

import csv
from pathlib import Path

from mailbuild import DANA, DANA_PHONE, Maildir, at, lead_mail, mail, settings
from sqlalchemy import select
from wiring import pipeline as wired_pipeline

from replywatch.config import Settings
from replywatch.ingest.pipeline import Pipeline
from replywatch.reports.export import contact_rows
from replywatch.review.queue import load_item, queue_ids
from replywatch.sources.factory import build_source
from replywatch.store.db import open_database
from replywatch.store.models import Match, Message


def run(cfg: Settings) -> Pipeline:
    _, sessions = open_database(cfg.database.url)
    pipeline = wired_pipeline(sessions, cfg, now=lambda: at(30, 12))
    for source in cfg.sources:
        pipeline.poll(build_source(source))
    return pipeline


def contacts(pipeline: Pipeline) -> dict[str, dict[str, str]]:
    with pipeline.sessions() as session:
        return {r["lead_id"]: r for r in contact_rows(session)}


def match_of(pipeline: Pipeline, header: str) -> Match:
    with pipeline.sessions() as session:
        stmt = (
            select(Match)
            .join(Message, Message.id == Match.message_id)
            .where(Message.header_message_id == header)
        )
        return session.scalars(stmt).one()


def write_sms(path: Path, rows: list[tuple[str, str, str, str, str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "sent_at", "from", "to", "body", "direction"])
        writer.writerows(rows)


def test_a_reply_from_a_work_address_matches_by_name_and_nickname(tmp_path: Path, db_url: str) -> None:
    # Given Robert's lead with his personal address, and our follow-up to it
    box = Maildir(tmp_path / "mail")
    box.add(lead_mail("L1", "Robert", "Jones", "robert.jones@mail.example", None, at(2, 15)), at(2, 15))
    box.add(
        mail(DANA, "robert.jones@mail.example", "Your CR-V", "Hi Robert", at(2, 16), "<t1@msh>"),
        at(2, 16),
        "Sent",
    )
    # When he writes a fresh mail from work as "Bob Jones", about the CR-V
    box.add(
        mail(
            "Bob Jones <rjones@acme-corp.example>",
            DANA,
            "CR-V question",
            "Is it still there?",
            at(3, 15),
            "<r1@x>",
        ),
        at(3, 15),
    )
    pipeline = run(settings(tmp_path, db_url, inbox="maildir:mail"))
    # Then the reply is matched to his lead, with the reasons that say why
    decision = match_of(pipeline, "<r1@x>")
    assert decision.status == "matched", decision.reasons
    assert set(decision.reasons[0]["reasons"]) >= {"name_nickname", "address_initial", "associate", "vehicle"}
    assert contacts(pipeline)["L1"]["contact_at"] == "2026-11-03T15:00:00Z"


def test_gmail_dots_and_plus_tags_are_the_same_mailbox(tmp_path: Path, db_url: str) -> None:
    box = Maildir(tmp_path / "mail")
    box.add(lead_mail("L1", "Ana", "Diaz", "ana.diaz@gmail.com", None, at(2, 15)), at(2, 15))
    box.add(mail(DANA, "ana.diaz@gmail.com", "Your CR-V", "Hi Ana", at(2, 16), "<t1@msh>"), at(2, 16), "Sent")
    box.add(
        mail("anadiaz+cars@gmail.com", DANA, "price?", "What's the price?", at(3, 15), "<r1@x>"), at(3, 15)
    )
    pipeline = run(settings(tmp_path, db_url, inbox="maildir:mail"))
    decision = match_of(pipeline, "<r1@x>")
    assert (decision.status, "loose_email" in decision.reasons[0]["reasons"]) == ("matched", True)
    assert contacts(pipeline)["L1"]["contacted"] == "Y"


def test_a_shared_household_phone_belongs_to_the_lead_we_were_texting(tmp_path: Path, db_url: str) -> None:
    # Given a couple's two leads with one phone; we texted María, then José
    box = Maildir(tmp_path / "mail")
    box.add(lead_mail("M", "María", "García", None, "512-555-0150", at(2, 15)), at(2, 15))
    box.add(lead_mail("J", "José", "García", None, "512-555-0150", at(4, 15)), at(4, 15))
    write_sms(
        tmp_path / "sms.csv",
        [
            ("S1", "2026-11-02T16:00:00Z", DANA_PHONE, "+15125550150", "Hi María, Dana here", "outbound"),
            ("S2", "2026-11-04T16:00:00Z", DANA_PHONE, "+15125550150", "Hi José, Dana here", "outbound"),
            ("S3", "2026-11-04T17:00:00Z", "+15125550150", DANA_PHONE, "yes tomorrow works", "inbound"),
            (
                "S4",
                "2026-11-05T17:00:00Z",
                "+15125550150",
                DANA_PHONE,
                "Hola, soy María. ¿Y el CR-V?",
                "inbound",
            ),
        ],
    )
    pipeline = run(settings(tmp_path, db_url, inbox="maildir:mail", texts="sms-csv:sms.csv"))
    rows = contacts(pipeline)
    # Then the plain answer goes to José (our last text there); María naming herself is for a person to decide
    assert (rows["J"]["contacted"], rows["J"]["contact_at"]) == ("Y", "2026-11-04T17:00:00Z")
    assert rows["M"]["contacted"] == "N"
    with pipeline.sessions() as session:
        (item,) = [load_item(session, i) for i in queue_ids(session)]
    reasons = {c.lead_id: set(c.reasons) for c in item.candidates}
    assert reasons["M"] >= {"from_phone", "first_name"}
    assert reasons["J"] >= {"from_phone", "last_texted"}


def test_three_john_smiths_are_never_a_coin_toss(tmp_path: Path, db_url: str) -> None:
    # Given two open leads named John Smith, neither with the address he writes from
    box = Maildir(tmp_path / "mail")
    box.add(lead_mail("S1", "John", "Smith", "jsmith@mail.example", None, at(2, 15)), at(2, 15))
    box.add(lead_mail("S2", "John", "Smith", "john.smith77@example.net", None, at(3, 15)), at(3, 15))
    box.add(
        mail("John Smith <john@smithplumbing.example>", DANA, "hello", "Call me", at(4, 15), "<r1@x>"),
        at(4, 15),
    )
    pipeline = run(settings(tmp_path, db_url, inbox="maildir:mail"))
    # Then the mail waits in the review queue with both leads, and neither is contacted
    decision = match_of(pipeline, "<r1@x>")
    assert decision.status == "review"
    assert len(decision.reasons) == 2
    assert {r["contacted"] for r in contacts(pipeline).values()} == {"N"}


def test_a_repeat_shopper_reply_goes_to_the_lead_we_touched_last(tmp_path: Path, db_url: str) -> None:
    # Given a shopper's lead in early November and a new one two weeks later, each followed up
    box = Maildir(tmp_path / "mail")
    box.add(lead_mail("OLD", "Ana", "Diaz", "ana@example.com", None, at(2, 15)), at(2, 15))
    box.add(mail(DANA, "ana@example.com", "CR-V", "Hi Ana", at(2, 16), "<t1@msh>"), at(2, 16), "Sent")
    box.add(lead_mail("NEW", "Ana", "Diaz", "ana@example.com", None, at(16, 15)), at(16, 15))
    box.add(mail(DANA, "ana@example.com", "Pilot", "Hi again", at(16, 16), "<t2@msh>"), at(16, 16), "Sent")
    # When she answers the old thread, and writes a fresh mail
    box.add(mail("ana@example.com", DANA, "Re: CR-V", "sold?", at(17, 15), "<r1@x>", "<t1@msh>"), at(17, 15))
    box.add(mail("ana@example.com", DANA, "Pilot", "price?", at(17, 16), "<r2@x>"), at(17, 16))
    pipeline = run(settings(tmp_path, db_url, inbox="maildir:mail"))
    # Then each goes to the lead it answers: the thread's, else the latest one touched
    old, new = match_of(pipeline, "<r1@x>"), match_of(pipeline, "<r2@x>")
    with pipeline.sessions() as session:
        from replywatch.store.models import Lead

        ids = {lead.external_id: lead.id for lead in session.scalars(select(Lead))}
    assert (old.status, old.lead_id, new.status, new.lead_id) == (
        "matched",
        ids["OLD"],
        "matched",
        ids["NEW"],
    )


def test_a_text_from_an_unknown_number_waits_for_its_lead(tmp_path: Path, db_url: str) -> None:
    # Given a text "this is Rob Jones" from a number no lead has, before his lead is known
    write_sms(
        tmp_path / "sms.csv",
        [
            (
                "S1",
                "2026-11-05T15:10:00Z",
                "+15125550199",
                DANA_PHONE,
                "Hi, this is Rob Jones about the CR-V",
                "inbound",
            )
        ],
    )
    cfg = settings(tmp_path, db_url, texts="sms-csv:sms.csv")
    pipeline = run(cfg)
    # When his lead arrives afterwards (received that morning)
    box = Maildir(tmp_path / "mail")
    box.add(lead_mail("R1", "Robert", "Jones", "rj@mail.example", "512-555-0123", at(5, 14)), at(5, 16))
    pipeline = run(settings(tmp_path, db_url, inbox="maildir:mail", texts="sms-csv:sms.csv"))
    # Then the text is looked at again and offered for review with his lead on top
    with pipeline.sessions() as session:
        items = [load_item(session, i) for i in queue_ids(session)]
    assert [(i.channel, i.candidates[0].lead_id) for i in items] == [("sms", "R1")]
    assert "name_nickname" in items[0].candidates[0].reasons
