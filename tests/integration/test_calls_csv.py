"""Call-tracking exports (source `calls-csv`): the generic columns and CallRail's, bad rows, re-imports."""

from __future__ import annotations

from pathlib import Path

import pytest
from mailbuild import Maildir, at, lead_mail, settings
from sqlalchemy import func, select
from wiring import contacts_by_lead, run_sources
from wiring import pipeline as wired_pipeline

from replywatch.classify.rules import default_rules_dir
from replywatch.config import Settings
from replywatch.errors import PermanentSourceError
from replywatch.ingest.pipeline import Pipeline
from replywatch.match.link import Matching
from replywatch.match.policy import load_policy
from replywatch.review.decisions import Reviewer
from replywatch.review.queue import load_item, queue_ids
from replywatch.sources.factory import build_source
from replywatch.store.db import open_database
from replywatch.store.models import Message, Quarantine

# CallRail's export: its fields as its API v3 names them, written as column titles; times store-local.
CALLRAIL = (Path(__file__).parents[1] / "fixtures" / "calls" / "callrail.csv").read_text(encoding="utf-8")
GENERIC = """\
id,started_at,from,to,direction,duration_s,status,answered_by
c-1,2026-11-05T15:20:00Z,+15125550100,(512) 555-0134,outbound,95,completed,human
c-2,2026-11-05T15:25:00Z,+15125550100,512.555.0177,outbound,48,completed,machine
c-3,not a time,+15125550188,+15125550100,inbound,0,no-answer,
c-4,2026-11-05T16:00:00Z,+15125550188,+15125550100,inbound,0,no-answer,
"""


def dealership(tmp: Path, db_url: str, export: str) -> Settings:
    (tmp / "calls.csv").write_text(export, encoding="utf-8")
    box = Maildir(tmp / "mail")
    for lead_id, first, phone in (
        ("P1", "Eva", "5125550134"),
        ("P2", "Gil", "5125550177"),
        ("P3", "Hal", "5125550188"),
    ):
        box.add(lead_mail(lead_id, first, "Ruiz", None, phone, at(5, 15)), at(5, 15))
    return settings(tmp, db_url, inbox="maildir:mail", calls="calls-csv:calls.csv")


def run(cfg: Settings) -> Pipeline:
    return run_sources(cfg, now=lambda: at(30, 12))


def rows(p: Pipeline) -> dict[str, dict[str, str]]:
    return contacts_by_lead(p)


def test_a_callrail_export_makes_contact_by_call(tmp_path: Path, db_url: str) -> None:
    # Given CallRail's export of the store's calls, in Chicago time: Eva's call answered, our call that
    # reached Gil's voicemail, Hal's call missed
    p = run(dealership(tmp_path, db_url, CALLRAIL))
    found = rows(p)
    # Then Eva is contacted by call when her call started (09:20 Chicago is 15:20 UTC)
    assert (found["P1"]["contact_channel"], found["P1"]["contact_at"]) == ("call", "2026-11-05T15:20:00Z")
    assert found["P1"]["associate"] == "Dana Lee"
    # And the voicemail is a touch, not contact; Hal's missed call is kept on his lead, no contact
    assert (found["P2"]["first_touch_at"], found["P2"]["contacted"]) == ("2026-11-05T15:25:00Z", "N")
    assert (found["P3"]["first_touch_at"], found["P3"]["contacted"]) == ("", "N")
    with p.sessions() as session:
        missed = session.execute(
            select(Message.direction, Message.status, Message.sender).where(Message.external_id == "CAL102")
        ).one()
    assert tuple(missed) == ("inbound", "no-answer", "+15125550188")


def test_a_malformed_row_is_quarantined_with_its_line_and_reimports_add_nothing(
    tmp_path: Path, db_url: str
) -> None:
    # Given a generic export whose third row has no readable time
    cfg = dealership(tmp_path, db_url, GENERIC)
    p = run(cfg)
    # Then the row is quarantined with its line and the reason, and the other calls count
    with p.sessions() as session:
        bad = session.execute(select(Quarantine.position, Quarantine.error)).one()
        stored = session.scalar(select(func.count()).select_from(Message).where(Message.channel == "call"))
    assert (
        bad.position.endswith("calls.csv:4")
        and "column started_at: cannot read time 'not a time'" in bad.error
    )
    assert stored == 3
    assert rows(p)["P1"]["contact_channel"] == "call" and rows(p)["P2"]["contacted"] == "N"
    # When the same file is read again from the top (a replaced export: another first line) plus a new call
    export = GENERIC.replace("id,started_at", "ID,Started_At") + (
        "c-5,2026-11-05T17:00:00Z,+15125550188,+15125550100,inbound,120,completed,human\n"
    )
    (tmp_path / "calls.csv").write_text(export, encoding="utf-8")
    result = p.poll(build_source(cfg.sources[-1]))
    # Then only the new call is stored, nothing is quarantined twice, and Hal is now contacted
    assert (result.stored, result.quarantined) == (1, 0)
    with p.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Quarantine)) == 1
    assert rows(p)["P3"]["contact_at"] == "2026-11-05T17:00:00Z"


def test_a_header_without_the_columns_stops_the_source(tmp_path: Path, db_url: str) -> None:
    cfg = dealership(tmp_path, db_url, "when,who\n1,2\n")
    _, sessions = open_database(cfg.database.url)
    p = wired_pipeline(sessions, cfg, now=lambda: at(30, 12))
    with pytest.raises(
        PermanentSourceError, match=r"calls.csv:1: call CSV header lacks column\(s\) id, started_at"
    ):
        p.poll(build_source(cfg.sources[-1]))


def test_a_household_phone_call_goes_to_the_lead_we_called_last(tmp_path: Path, db_url: str) -> None:
    # Given a couple's two leads with one phone; Dana's call reached María's voicemail, later she called
    # about José's lead and nobody answered; then a call from that phone, answered by Dana
    box = Maildir(tmp_path / "mail")
    box.add(lead_mail("M", "María", "García", None, "512-555-0150", at(2, 15)), at(2, 15))
    box.add(lead_mail("J", "José", "García", None, "512-555-0150", at(4, 15)), at(4, 15))
    (tmp_path / "calls.csv").write_text(
        "id,started_at,from,to,direction,duration_s,status,answered_by\n"
        "k1,2026-11-02T16:00:00Z,+15125550100,+15125550150,outbound,35,completed,machine\n"
        "k2,2026-11-04T16:00:00Z,+15125550100,+15125550150,outbound,0,no-answer,\n"
        "k3,2026-11-04T17:00:00Z,+15125550150,+15125550100,inbound,240,completed,human\n",
        encoding="utf-8",
    )
    p = run(settings(tmp_path, db_url, inbox="maildir:mail", calls="calls-csv:calls.csv"))
    # Then the conversation is José's contact (the lead we called last at that number), not María's
    found = rows(p)
    assert (found["J"]["contact_channel"], found["J"]["contact_at"]) == ("call", "2026-11-04T17:00:00Z")
    assert (found["M"]["first_touch_at"], found["M"]["contacted"]) == ("2026-11-02T16:00:00Z", "N")


def test_a_line_the_csv_reader_cannot_read_is_quarantined_and_the_next_lines_are_read(
    tmp_path: Path, db_url: str
) -> None:
    # Given an export whose second call has a field far past the csv module's limit (a pasted recording)
    lines = GENERIC.splitlines(keepends=True)
    lines[2] = lines[2].rstrip("\n") + "," + "x" * 200_000 + "\n"
    p = run(dealership(tmp_path, db_url, "".join(lines[:3]) + lines[4]))
    # Then that line is quarantined with the reason, and the calls before and after it count
    with p.sessions() as session:
        bad = session.execute(select(Quarantine.position, Quarantine.error)).one()
        stored = session.scalars(select(Message.external_id).where(Message.channel == "call")).all()
    assert (
        bad.position.endswith("calls.csv:3") and "unreadable row: field larger than field limit" in bad.error
    )
    assert sorted(stored) == ["c-1", "c-4"]


def test_a_doubtful_call_waits_in_the_review_queue_and_a_decision_makes_it_contact(
    tmp_path: Path, db_url: str
) -> None:
    # Given a couple's two leads with one phone and no call or text of ours to it yet, and a two-minute
    # call from that phone that Dana answered
    box = Maildir(tmp_path / "mail")
    box.add(lead_mail("M", "María", "García", None, "512-555-0150", at(2, 15)), at(2, 15))
    box.add(lead_mail("J", "José", "García", None, "512-555-0150", at(2, 16)), at(2, 16))
    (tmp_path / "calls.csv").write_text(
        "id,started_at,from,to,direction,duration_s,status,answered_by\n"
        "k1,2026-11-03T17:00:00Z,+15125550150,+15125550100,inbound,120,completed,human\n",
        encoding="utf-8",
    )
    p = run(settings(tmp_path, db_url, inbox="maildir:mail", calls="calls-csv:calls.csv"))
    # Then it waits for a person, shown as a call with how it went, both leads as candidates
    with p.sessions() as session:
        (item,) = [load_item(session, i).to_json() for i in queue_ids(session)]
    assert (item["message"]["channel"], item["message"]["text"]) == (
        "call",
        "call 2 min 0 s, completed (human)",
    )
    assert {c["lead_id"] for c in item["candidates"]} == {"M", "J"}
    assert not any(r["contacted"] == "Y" for r in rows(p).values())
    # When a person accepts it for José's lead; Then José is contacted by call at the call's start
    with p.sessions() as session, session.begin():
        matching = Matching(load_policy(default_rules_dir()), 90, p.directory, at(30, 13))
        found = load_item(session, item["id"])
        chosen = next(c.id for c in found.candidates if c.lead_id == "J")
        Reviewer(session, p.directory, matching, "dana").accept(item["id"], chosen)
    assert (rows(p)["J"]["contact_channel"], rows(p)["J"]["contact_at"]) == ("call", "2026-11-03T17:00:00Z")


def test_calls_read_before_their_lead_arrives_count_once_it_does(tmp_path: Path, db_url: str) -> None:
    # Given the call log polled before the lead inbox (the lead comes in later, as a late CSV import would)
    cfg = dealership(tmp_path, db_url, GENERIC)
    calls_first = cfg.model_copy(update={"sources": [cfg.sources[1], cfg.sources[0]]})
    # When both are polled, calls first
    found = rows(run(calls_first))
    # Then the leads found their calls: Eva's conversation is contact, Gil's voicemail a touch
    assert (found["P1"]["contact_channel"], found["P1"]["contact_at"]) == ("call", "2026-11-05T15:20:00Z")
    assert (found["P2"]["first_touch_at"], found["P2"]["contacted"]) == ("2026-11-05T15:25:00Z", "N")
