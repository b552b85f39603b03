"""Corrections that stick, on SQLite and PostgreSQL: overturning or undoing a review decision takes back
what it taught, and the messages that followed it are decided again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mailbuild import DANA, Maildir, at, mail, settings
from sqlalchemy import select
from test_review import export, run, two_john_smiths

from replywatch.classify.rules import default_rules_dir
from replywatch.config import Settings
from replywatch.ingest.directory import Directory
from replywatch.ingest.pipeline import Pipeline
from replywatch.match.link import Matching
from replywatch.match.policy import load_policy
from replywatch.review.decisions import Reviewer
from replywatch.store.models import Lead, LeadIdentity, Match, Message, ReviewDecision

WORK = "john@plumbing.example"


@contextmanager
def reviewer(pipeline: Pipeline, cfg: Settings) -> Iterator[Reviewer]:
    with pipeline.sessions() as session, session.begin():
        directory = Directory.load(session, cfg)
        matching = Matching(load_policy(default_rules_dir()), 90, directory, at(30, 13))
        yield Reviewer(session, directory, matching, "dana")


def ids(pipeline: Pipeline) -> tuple[dict[str, int], dict[str, int]]:
    """Leads by external id and messages by Message-ID header."""
    with pipeline.sessions() as session:
        leads = {x.external_id: x.id for x in session.scalars(select(Lead))}
        messages = {m.header_message_id: m.id for m in session.scalars(select(Message))}
    return leads, messages


def linked(pipeline: Pipeline, message: str) -> tuple[str | None, str, str]:
    """(lead external id, status, decided_by) of a message's match."""
    with pipeline.sessions() as session:
        match = session.scalars(
            select(Match)
            .join(Message, Message.id == Match.message_id)
            .where(Message.header_message_id == message)
        ).one()
        lead = session.get(Lead, match.lead_id) if match.lead_id else None
        return (lead.external_id if lead else None, match.status, match.decided_by)


def has_work_address(pipeline: Pipeline, lead: str) -> bool:
    with pipeline.sessions() as session:
        values = session.scalars(
            select(LeadIdentity.value)
            .join(Lead, Lead.id == LeadIdentity.lead_id)
            .where(Lead.external_id == lead)
        )
        return WORK in set(values)


def wrong_then_more_mail(tmp_path: Path, db_url: str) -> tuple[Pipeline, Settings, Maildir]:
    """The work-address mail accepted for the wrong John Smith (S1), then a second mail from that
    address, which follows the link the decision taught."""
    box = two_john_smiths(tmp_path / "mail")
    cfg = settings(tmp_path, db_url, inbox="maildir:mail")
    pipeline = run(cfg)
    leads, messages = ids(pipeline)
    with reviewer(pipeline, cfg) as r:
        r.accept(messages["<r1@x>"], leads["S1"])
    box.add(mail(f"John Smith <{WORK}>", DANA, "hi", "Friday?", at(6, 15), "<r2@x>"), at(6, 15))
    return run(cfg), cfg, box


def test_a_correction_takes_back_what_the_overturned_link_taught(tmp_path: Path, db_url: str) -> None:
    # Given a reply wrongly accepted for S1 (S1 learned the work address) and a later mail that followed it
    pipeline, cfg, box = wrong_then_more_mail(tmp_path, db_url)
    assert linked(pipeline, "<r2@x>") == ("S1", "matched", "auto")
    # When the reviewer corrects the first decision to S2
    leads, messages = ids(pipeline)
    with reviewer(pipeline, cfg) as r:
        decided = r.accept(messages["<r1@x>"], leads["S2"])
    # Then S1 forgets the address, S2 learns it, and the later mail follows the correction
    assert decided.unlearned == [WORK] and decided.learned == [WORK]
    assert (has_work_address(pipeline, "S1"), has_work_address(pipeline, "S2")) == (False, True)
    assert linked(pipeline, "<r2@x>") == ("S2", "matched", "auto")
    rows = export(pipeline)
    assert (rows["S1"]["contacted"], rows["S2"]["contacted"]) == ("N", "Y")
    # And the next mail from that address goes to S2 on its own
    box.add(mail(f"John Smith <{WORK}>", DANA, "hi", "Saturday then", at(8, 15), "<r3@x>"), at(8, 15))
    pipeline = run(cfg)
    assert linked(pipeline, "<r3@x>") == ("S2", "matched", "auto")


def test_rejecting_an_accepted_reply_takes_back_its_address(tmp_path: Path, db_url: str) -> None:
    pipeline, cfg, _ = wrong_then_more_mail(tmp_path, db_url)
    _, messages = ids(pipeline)
    with reviewer(pipeline, cfg) as r:
        r.reject(messages["<r1@x>"])
    assert not has_work_address(pipeline, "S1")
    assert linked(pipeline, "<r1@x>") == (None, "rejected", "review")
    assert linked(pipeline, "<r2@x>")[0] != "S1"  # no longer follows the rejected link
    assert export(pipeline)["S1"]["contacted"] == "N"


def test_undo_puts_the_reply_back_in_the_queue_and_unlearns(tmp_path: Path, db_url: str) -> None:
    # Given an accepted reply (S1 learned the address) and a mail that followed it
    pipeline, cfg, _ = wrong_then_more_mail(tmp_path, db_url)
    _, messages = ids(pipeline)
    # When the reviewer undoes the decision
    with reviewer(pipeline, cfg) as r:
        undone = r.undo(messages["<r1@x>"])
    # Then the reply waits for review again, S1 forgot the address and is not contacted
    assert (undone.status, undone.unlearned) == ("review", [WORK])
    assert linked(pipeline, "<r1@x>")[1:] == ("review", "auto")
    assert not has_work_address(pipeline, "S1")
    assert export(pipeline)["S1"]["contacted"] == "N"
    with pipeline.sessions() as session:
        (audit,) = session.scalars(select(ReviewDecision))
        assert (audit.undone_by, audit.undone_at is not None) == ("dana", True)


def test_undoing_a_correction_puts_the_earlier_decision_back(tmp_path: Path, db_url: str) -> None:
    pipeline, cfg, _ = wrong_then_more_mail(tmp_path, db_url)
    leads, messages = ids(pipeline)
    with reviewer(pipeline, cfg) as r:
        r.accept(messages["<r1@x>"], leads["S2"])
    with reviewer(pipeline, cfg) as r:
        undone = r.undo(messages["<r1@x>"])
    assert undone.lead is not None and undone.lead.external_id == "S1"
    assert (has_work_address(pipeline, "S1"), has_work_address(pipeline, "S2")) == (True, False)
    assert linked(pipeline, "<r1@x>") == ("S1", "matched", "review")
    assert linked(pipeline, "<r2@x>") == ("S1", "matched", "auto")


def test_an_address_another_accepted_reply_teaches_stays(tmp_path: Path, db_url: str) -> None:
    # Given two replies from the work address, both accepted by a person for S2
    pipeline, cfg, _ = wrong_then_more_mail(tmp_path, db_url)
    leads, messages = ids(pipeline)
    with reviewer(pipeline, cfg) as r:
        r.accept(messages["<r1@x>"], leads["S2"])
        r.accept(messages["<r2@x>"], leads["S2"])
    # When the first one is rejected after all
    with reviewer(pipeline, cfg) as r:
        r.reject(messages["<r1@x>"])
    # Then S2 keeps the address the second reply still teaches
    assert has_work_address(pipeline, "S2")


def test_overturning_an_automatic_link_takes_away_what_led_the_mail_there(
    tmp_path: Path, db_url: str
) -> None:
    # Given r2 matched to S1 on its own, following the address a person taught S1 from r1
    pipeline, cfg, box = wrong_then_more_mail(tmp_path, db_url)
    leads, messages = ids(pipeline)
    # When the reviewer corrects that automatic match to S2 (`review accept ID --lead S2`)
    with reviewer(pipeline, cfg) as r:
        decided = r.accept(messages["<r2@x>"], leads["S2"])
    # Then S1 no longer has the address, S2 has it, and the next mail from it goes to S2 on its own
    assert decided.unlearned == [WORK]
    assert (has_work_address(pipeline, "S1"), has_work_address(pipeline, "S2")) == (False, True)
    box.add(mail(f"John Smith <{WORK}>", DANA, "hi", "Saturday then", at(8, 15), "<r3@x>"), at(8, 15))
    pipeline = run(cfg)
    assert linked(pipeline, "<r3@x>") == ("S2", "matched", "auto")
    # And undoing the correction gives S1 its address back
    with reviewer(pipeline, cfg) as r:
        r.undo(messages["<r2@x>"])
    assert has_work_address(pipeline, "S1")


def test_undoing_twice_walks_back_through_every_correction(tmp_path: Path, db_url: str) -> None:
    # Given r2's automatic match corrected to S2 (taking the address from S1), then put back on S1
    pipeline, cfg, _ = wrong_then_more_mail(tmp_path, db_url)
    leads, messages = ids(pipeline)
    with reviewer(pipeline, cfg) as r:
        r.accept(messages["<r2@x>"], leads["S2"])
    with reviewer(pipeline, cfg) as r:
        r.accept(messages["<r2@x>"], leads["S1"])
    # When both decisions are undone, latest first
    with reviewer(pipeline, cfg) as r:
        assert r.undo(messages["<r2@x>"]).lead.external_id == "S2"  # type: ignore[union-attr]
    assert (has_work_address(pipeline, "S1"), has_work_address(pipeline, "S2")) == (False, True)
    with reviewer(pipeline, cfg) as r:
        r.undo(messages["<r2@x>"])
    # Then S1 has the address r1's accept taught it again, and r2 follows it on its own as before
    assert has_work_address(pipeline, "S1")
    assert linked(pipeline, "<r2@x>") == ("S1", "matched", "auto")
