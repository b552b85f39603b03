"""The pipeline end to end on a real Maildir, mbox and SMS CSV, on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
import mailbox
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path

import pytest
from mailbuild import DANA, DANA_PHONE, Maildir, at, lead_mail, mail, settings
from sqlalchemy import func, select
from wiring import pipeline as wired_pipeline

from replywatch.config import Settings
from replywatch.ingest.pipeline import Pipeline
from replywatch.reports.export import contact_rows, write_csv
from replywatch.sources.base import RawItem
from replywatch.sources.factory import build_source
from replywatch.store.db import open_database
from replywatch.store.models import Message, Quarantine


def run(cfg: Settings) -> Pipeline:
    _, sessions = open_database(cfg.database.url)
    pipeline = wired_pipeline(sessions, cfg, now=lambda: at(30, 12))
    for source in cfg.sources:
        pipeline.poll(build_source(source))
    return pipeline


def export(pipeline: Pipeline) -> list[dict[str, str]]:
    with pipeline.sessions() as session:
        return list(contact_rows(session))


def export_csv(pipeline: Pipeline) -> str:
    out = io.StringIO()
    with pipeline.sessions() as session:
        write_csv(contact_rows(session), out)
    return out.getvalue()


def dealership_week(root: Path) -> Maildir:
    """Three leads: Ana answers our email in the thread, Ben never answers, Cruz replies without headers."""
    box = Maildir(root)
    box.add(lead_mail("L1", "Ana", "Diaz", "ana@example.com", None, at(2, 15)), at(2, 15))
    box.add(lead_mail("L2", "Ben", "Ortiz", "ben@example.com", None, at(2, 16)), at(2, 16))
    box.add(lead_mail("L3", "Cruz", "Vega", "Cruz.Vega@Example.com", None, at(3, 15)), at(3, 15))
    box.add(
        mail(DANA, "ana@example.com", "Your CR-V", "Hi Ana", at(2, 15, 20), "<t1@msh>"), at(2, 15, 20), "Sent"
    )
    box.add(mail(DANA, "ben@example.com", "Your CR-V", "Hi Ben", at(2, 17), "<t2@msh>"), at(2, 17), "Sent")
    box.add(mail(DANA, "cruz.vega@example.com", "Hello", "Hi Cruz", at(3, 16), "<t3@msh>"), at(3, 16), "Sent")
    box.add(
        mail(
            "ana@example.com", DANA, "Re: Your CR-V", "Yes, Saturday works", at(2, 18), "<r1@x>", "<t1@msh>"
        ),
        at(2, 18),
    )
    box.add(mail("cruz.vega@example.com", DANA, "question", "Is it blue?", at(4, 15), "<r3@x>"), at(4, 15))
    return box


def test_threaded_and_address_replies_make_contact(tmp_path: Path, db_url: str) -> None:
    # Given a week of leads, follow-ups in Sent and replies in the INBOX
    dealership_week(tmp_path / "mail")
    # When the Maildir is polled
    rows = {r["lead_id"]: r for r in export(run(settings(tmp_path, db_url, inbox="maildir:mail")))}
    # Then Ana (thread) and Cruz (address, case folded) are contacted, Ben is not
    assert rows["L1"]["contacted"] == "Y"
    assert rows["L1"]["contact_channel"] == "email"
    assert rows["L1"]["first_touch_at"] == "2026-11-02T15:20:00Z"
    assert rows["L1"]["time_to_contact_s"] == str(3 * 3600)
    assert rows["L1"]["associate"] == "Dana Lee"
    assert rows["L2"]["contacted"] == "N"
    assert rows["L2"]["first_touch_at"] == "2026-11-02T17:00:00Z"
    assert rows["L3"]["contacted"] == "Y"
    assert rows["L3"]["contact_at"] == "2026-11-04T15:00:00Z"
    # And the business-hours variant counts only open hours (09:00-20:00 Chicago = 15:00-02:00 UTC)
    assert rows["L1"]["time_to_contact_business_s"] == str(3 * 3600)


def test_polling_twice_adds_nothing(tmp_path: Path, db_url: str) -> None:
    # Given a polled Maildir
    dealership_week(tmp_path / "mail")
    cfg = settings(tmp_path, db_url, inbox="maildir:mail")
    first = export_csv(run(cfg))
    # When it is polled again
    pipeline = run(cfg)
    # Then the export is the same and no message is stored twice
    assert export_csv(pipeline) == first
    with pipeline.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 8


class CrashingSource:
    """The real source, interrupted after `limit` items as a killed process would be."""

    def __init__(self, inner: object, limit: int) -> None:
        self.inner, self.limit, self.name = inner, limit, inner.name

    def items(self, cursors: Mapping[str, str]) -> Iterator[RawItem]:
        for count, item in enumerate(self.inner.items(cursors)):  # type: ignore[attr-defined]
            if count == self.limit:
                raise SystemExit("killed")
            yield item


def test_a_crash_midway_then_a_rerun_equals_one_clean_run(tmp_path: Path, db_url: str) -> None:
    # Given a clean run over a copy of the data, on its own database
    dealership_week(tmp_path / "mail")
    clean_url = db_url if db_url.startswith("postgresql") else f"sqlite:///{tmp_path / 'clean.db'}"
    clean = export_csv(run(settings(tmp_path, clean_url, inbox="maildir:mail")))
    crash_url = f"sqlite:///{tmp_path / 'crash.db'}" if db_url.startswith("sqlite") else db_url
    if db_url.startswith("postgresql"):
        _wipe(db_url)
    cfg = settings(tmp_path, crash_url, inbox="maildir:mail")
    _, sessions = open_database(cfg.database.url)
    pipeline = wired_pipeline(sessions, cfg, now=lambda: at(30, 12))
    import replywatch.ingest.pipeline as pipeline_module

    pipeline_module.BATCH_SIZE, saved = 3, pipeline_module.BATCH_SIZE
    try:
        # When a poll dies after 5 items (one batch of 3 committed, 2 in flight)
        with pytest.raises(SystemExit):
            pipeline.poll(CrashingSource(build_source(cfg.sources[0]), 5))
        # And the poll is run again
        pipeline.poll(build_source(cfg.sources[0]))
    finally:
        pipeline_module.BATCH_SIZE = saved
    # Then the export equals the clean run's
    assert export_csv(pipeline) == clean


def _wipe(url: str) -> None:
    from replywatch.store.models import Base

    engine, _ = open_database(url)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


def test_an_unparseable_mail_is_quarantined_and_the_poll_goes_on(tmp_path: Path, db_url: str) -> None:
    # Given a Maildir holding garbage and an ADF bomb among good mail
    box = dealership_week(tmp_path / "mail")
    box.add(b"\x00\x01 not a mail at all", at(2, 19))
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        "<adf><prospect><id>X</id><customer><contact><name>&lol2;</name></contact></customer></prospect></adf>"
    )
    box.add(mail("leads@autotrader.example", "leads@x", "Lead", bomb, at(2, 19, 5), "<bomb@x>"), at(2, 19, 5))
    cfg = settings(tmp_path, db_url, inbox="maildir:mail")
    # When polled twice
    run(cfg)
    pipeline = run(cfg)
    # Then both bad items are in quarantine once, with a reason, and the good mail made contact
    with pipeline.sessions() as session:
        kept = list(session.scalars(select(Quarantine).order_by(Quarantine.id)))
    assert len(kept) == 2
    assert "not an email" in kept[0].error
    assert kept[0].raw == b"\x00\x01 not a mail at all"
    assert "DOCTYPE" in kept[1].error or "entit" in kept[1].error.lower()
    rows = {r["lead_id"]: r for r in export(pipeline)}
    assert rows["L1"]["contacted"] == "Y"
    assert "X" not in rows


def write_sms(path: Path, rows: list[tuple[str, str, str, str, str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "sent_at", "from", "to", "body", "direction"])
        writer.writerows(rows)


def test_sms_contact_and_opt_out(tmp_path: Path, db_url: str) -> None:
    # Given two phone leads, our texts to both, a reply from one and STOP from the other
    box = Maildir(tmp_path / "mail")
    box.add(lead_mail("P1", "Eva", "Ruiz", None, "(512) 555-0134", at(5, 15)), at(5, 15))
    box.add(lead_mail("P2", "Gil", "Sosa", None, "512.555.0177", at(5, 15, 30)), at(5, 15, 30))
    write_sms(
        tmp_path / "sms.csv",
        [
            ("SM1", "2026-11-05T15:10:00Z", DANA_PHONE, "+15125550134", "Hi Eva, Dana here", "outbound"),
            ("SM2", "2026-11-05T15:40:00Z", DANA_PHONE, "5125550177", "Hi Gil, Dana here", "outbound"),
            ("SM3", "2026-11-05T15:45:00Z", "1-512-555-0134", DANA_PHONE, "sure, call me at 5", "inbound"),
            ("SM4", "2026-11-05T15:50:00Z", "+1 512 555 0177", DANA_PHONE, "STOP", "inbound"),
        ],
    )
    # When the inbox and the SMS log are polled
    rows = {
        r["lead_id"]: r
        for r in export(run(settings(tmp_path, db_url, inbox="maildir:mail", texts="sms-csv:sms.csv")))
    }
    # Then Eva is contacted by SMS 45 minutes after her lead; Gil opted out and is not contacted
    assert (rows["P1"]["contacted"], rows["P1"]["contact_channel"], rows["P1"]["time_to_contact_s"]) == (
        "Y",
        "sms",
        "2700",
    )
    assert (rows["P2"]["contacted"], rows["P2"]["opted_out"]) == ("N", "Y")


def test_a_failed_text_is_not_a_touch(tmp_path: Path, db_url: str) -> None:
    # Given a Twilio console export where our first text failed and the second was delivered
    box = Maildir(tmp_path / "mail")
    box.add(lead_mail("P1", "Eva", "Ruiz", None, "(512) 555-0134", at(5, 15)), at(5, 15))
    with (tmp_path / "sms.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Sid", "SentDate", "From", "To", "Body", "Status", "Direction", "NumMedia"])
        writer.writerow(
            ["SM1", "2026-11-05T15:05:00Z", DANA_PHONE, "+15125550134", "Hi", "failed", "outbound-api", "0"]
        )
        writer.writerow(
            [
                "SM2",
                "2026-11-05T15:30:00Z",
                DANA_PHONE,
                "+15125550134",
                "Hi",
                "delivered",
                "outbound-api",
                "0",
            ]
        )
        writer.writerow(
            ["SM3", "2026-11-05T15:40:00Z", "+15125550134", DANA_PHONE, "", "received", "inbound", "1"]
        )
    # When both are polled
    rows = export(run(settings(tmp_path, db_url, inbox="maildir:mail", texts="sms-csv:sms.csv")))
    # Then the first touch is the delivered text, and the picture-only reply is contact
    assert rows[0]["first_touch_at"] == "2026-11-05T15:30:00Z"
    assert (rows[0]["contacted"], rows[0]["contact_at"]) == ("Y", "2026-11-05T15:40:00Z")


def test_a_late_lead_import_rematches_earlier_messages(tmp_path: Path, db_url: str) -> None:
    # Given texts polled before their lead is known
    write_sms(
        tmp_path / "sms.csv",
        [
            ("SM1", "2026-11-05T15:10:00Z", DANA_PHONE, "+15125550134", "Hi Eva", "outbound"),
            ("SM2", "2026-11-05T16:00:00Z", "+15125550134", DANA_PHONE, "hi! yes", "inbound"),
        ],
    )
    cfg = settings(tmp_path, db_url, texts="sms-csv:sms.csv")
    pipeline = run(cfg)
    assert export(pipeline) == []
    # When the lead arrives late by CSV import (naive time = store-local)
    from replywatch.ingest.lead_import import import_leads
    from replywatch.parse.leads_csv import parse_leads_csv

    records = parse_leads_csv(
        "lead_id,received_at,first_name,last_name,email,phone,source,associate,store\n"
        "C9,2026-11-05 09:00,Eva,Ruiz,,512-555-0134,Website,Dana Lee,Main Street Honda\n"
    )
    with pipeline.sessions() as session, session.begin():
        imported = import_leads(session, pipeline.directory, cfg, records, at(30, 12), pipeline.rules.policy)
        assert (imported.new, imported.updated, imported.unchanged) == (1, 0, 0)
    # Then the earlier texts are matched to it and it shows contacted
    row = export(pipeline)[0]
    assert (row["lead_id"], row["received_at"], row["contacted"]) == ("C9", "2026-11-05T15:00:00Z", "Y")
    assert row["first_touch_at"] == "2026-11-05T15:10:00Z"


def test_mbox_and_eml_dir_sources(tmp_path: Path, db_url: str) -> None:
    # Given the same conversation as an mbox (leads and replies) and a folder of .eml (our Sent mail)
    box = mailbox.mbox(tmp_path / "leads.mbox")
    box.add(lead_mail("M1", "Ana", "Diaz", "ana@example.com", None, at(2, 15)))
    box.add(mail("ana@example.com", DANA, "Re: hi", "From the top: yes", at(2, 18), "<r1@x>", "<t1@msh>"))
    box.flush()
    (tmp_path / "sent").mkdir()
    (tmp_path / "sent" / "t1.eml").write_bytes(
        mail(DANA, "ana@example.com", "hi", "Hi", at(2, 16), "<t1@msh>")
    )
    # When both are polled
    pipeline = run(settings(tmp_path, db_url, leads="mbox:leads.mbox", sent="eml-dir:sent"))
    # Then the lead is contacted, and the mbox's escaped ">From" line was restored
    row = export(pipeline)[0]
    assert (row["lead_id"], row["contacted"], row["first_touch_at"]) == ("M1", "Y", "2026-11-02T16:00:00Z")
    with pipeline.sessions() as session:
        snippet = session.scalar(select(Message.snippet).where(Message.header_message_id == "<r1@x>"))
    assert snippet is not None and snippet.startswith("From the top")


def test_an_item_another_daemon_quarantined_meanwhile_does_not_fail_the_batch(
    tmp_path: Path, db_url: str
) -> None:
    # Given an SMS log with a good text and a row no one can read
    write_sms(
        tmp_path / "sms.csv",
        [
            ("SM1", "2026-11-05T15:10:00Z", DANA_PHONE, "+15125550134", "Hi Eva", "outbound"),
            ("SM2", "2026-11-05T15:20:00Z", DANA_PHONE, "+15125550134", "Hi again", "sideways"),
        ],
    )
    cfg = settings(tmp_path, db_url, texts="sms-csv:sms.csv")
    _, sessions = open_database(cfg.database.url)
    rival = "quarantined by the other daemon"

    def now_with_a_rival() -> datetime:
        """Our clock; read first after our look-up of known ids, when the other daemon quarantines SM2."""
        with sessions() as session, session.begin():
            if not session.scalar(select(func.count()).select_from(Quarantine)):
                position = f"{tmp_path / 'sms.csv'}:3"
                session.add(
                    Quarantine(
                        source="texts",
                        external_id="SM2",
                        position=position,
                        error=rival,
                        raw=b"SM2",
                        created_at=at(30, 11),
                    )
                )
        return at(30, 12)

    pipeline = wired_pipeline(sessions, cfg, now=now_with_a_rival)
    # When our poll quarantines the same row after the other daemon did
    result = pipeline.poll(build_source(cfg.sources[0]))
    # Then our batch commits: the good text stored, the other daemon's quarantine row kept, the cursor moved
    assert (result.stored, result.quarantined) == (1, 1)
    with sessions() as session:
        kept = list(session.scalars(select(Quarantine)))
        assert [(q.external_id, q.error) for q in kept] == [("SM2", rival)]
        assert session.scalar(select(func.count()).select_from(Message)) == 1
    assert pipeline.poll(build_source(cfg.sources[0])).seen == 0


def test_a_console_export_read_again_updates_changed_statuses(tmp_path: Path, db_url: str) -> None:
    # Given Eva's lead and a console export where our text to her is still `sent`
    box = Maildir(tmp_path / "mail")
    box.add(lead_mail("P1", "Eva", "Ruiz", None, "(512) 555-0134", at(5, 15)), at(5, 15))
    header = ["Sid", "SentDate", "From", "To", "Body", "Status", "Direction", "NumMedia"]

    def export_with(status: str) -> None:
        with (tmp_path / "sms.csv").open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerow(
                ["SM1", "2026-11-05T15:10:00Z", DANA_PHONE, "+15125550134", "Hi", status, "outbound-api", "0"]
            )

    export_with("sent")
    cfg = settings(tmp_path, db_url, inbox="maildir:mail", texts="sms-csv:sms.csv")
    pipeline = run(cfg)
    assert export(pipeline)[0]["first_touch_at"] == "2026-11-05T15:10:00Z"
    # When a later export of the same day says it failed, and is polled
    export_with("Failed")
    result = pipeline.poll(build_source(cfg.sources[1]))
    # Then the stored text is failed, no longer a touch
    assert (result.stored, result.updated) == (0, 1)
    assert export(pipeline)[0]["first_touch_at"] == ""
    with pipeline.sessions() as session:
        assert session.scalar(select(Message.status).where(Message.external_id == "SM1")) == "failed"
