"""Review decisions on SQLite and PostgreSQL: audited, contact recomputed, never undone by re-polling."""

from __future__ import annotations

from pathlib import Path

from mailbuild import DANA, Maildir, at, lead_mail, mail, settings
from sqlalchemy import select
from wiring import pipeline as wired_pipeline

from replywatch.classify.rules import default_rules_dir
from replywatch.config import Settings
from replywatch.ingest.directory import Directory
from replywatch.ingest.pipeline import Pipeline
from replywatch.match.link import Matching
from replywatch.match.policy import load_policy
from replywatch.reports.export import contact_rows
from replywatch.review.decisions import Reviewer
from replywatch.review.queue import load_item, queue_ids
from replywatch.sources.factory import build_source
from replywatch.store.db import open_database
from replywatch.store.models import Match, ReviewDecision


def run(cfg: Settings) -> Pipeline:
    _, sessions = open_database(cfg.database.url)
    pipeline = wired_pipeline(sessions, cfg, now=lambda: at(30, 12))
    for source in cfg.sources:
        pipeline.poll(build_source(source))
    return pipeline


def two_john_smiths(root: Path) -> Maildir:
    """Two open leads named John Smith, both followed up; one writes from an address neither gave."""
    box = Maildir(root)
    box.add(lead_mail("S1", "John", "Smith", "jsmith@mail.example", None, at(2, 15)), at(2, 15))
    box.add(lead_mail("S2", "John", "Smith", "john.smith77@example.net", None, at(3, 15)), at(3, 15))
    box.add(mail(DANA, "jsmith@mail.example", "CR-V", "Hi John", at(2, 16), "<t1@msh>"), at(2, 16), "Sent")
    box.add(
        mail(DANA, "john.smith77@example.net", "CR-V", "Hi John", at(3, 16), "<t2@msh>"), at(3, 16), "Sent"
    )
    box.add(mail("John Smith <john@plumbing.example>", DANA, "hi", "Call me", at(4, 15), "<r1@x>"), at(4, 15))
    return box


def decide(pipeline: Pipeline, cfg: Settings, act: str, lead: str | None = None) -> None:
    with pipeline.sessions() as session, session.begin():
        directory = Directory.load(session, cfg)
        reviewer = Reviewer(
            session, directory, Matching(load_policy(default_rules_dir()), 90, directory, at(30, 13)), "dana"
        )
        (message_id,) = queue_ids(session)
        if act == "reject":
            reviewer.reject(message_id)
            return
        item = load_item(session, message_id)
        reviewer.accept(message_id, next(c.id for c in item.candidates if c.lead_id == lead))


def export(pipeline: Pipeline) -> dict[str, dict[str, str]]:
    with pipeline.sessions() as session:
        return {r["lead_id"]: r for r in contact_rows(session)}


def test_accepting_a_candidate_makes_contact_and_is_audited(tmp_path: Path, db_url: str) -> None:
    # Given a mail that two John Smiths' leads could explain, waiting for review
    two_john_smiths(tmp_path / "mail")
    cfg = settings(tmp_path, db_url, inbox="maildir:mail")
    pipeline = run(cfg)
    assert {r["lead_id"]: r["pending_review"] for r in export(pipeline).values()}["S2"] in ("Y", "N")
    # When Dana accepts it for the second lead
    decide(pipeline, cfg, "accept", "S2")
    # Then that lead is contacted at the mail's time, nothing waits, and the decision is on record
    rows = export(pipeline)
    assert (rows["S2"]["contacted"], rows["S2"]["contact_at"]) == ("Y", "2026-11-04T15:00:00Z")
    assert (rows["S1"]["contacted"], rows["S1"]["pending_review"], rows["S2"]["pending_review"]) == (
        "N",
        "N",
        "N",
    )
    with pipeline.sessions() as session:
        (audit,) = session.scalars(select(ReviewDecision))
        assert (audit.action, audit.decided_by, audit.previous_status) == ("accept", "dana", "review")
        assert queue_ids(session) == []


def test_a_decision_survives_re_polling_and_teaches_the_lead_the_address(tmp_path: Path, db_url: str) -> None:
    # Given an accepted review item
    box = two_john_smiths(tmp_path / "mail")
    cfg = settings(tmp_path, db_url, inbox="maildir:mail")
    pipeline = run(cfg)
    decide(pipeline, cfg, "accept", "S2")
    before = export(pipeline)
    # When he writes again from the same work address, and the inbox is polled again
    box.add(mail("John Smith <john@plumbing.example>", DANA, "hi", "Friday?", at(6, 15), "<r2@x>"), at(6, 15))
    pipeline = run(cfg)
    # Then the first decision stands, and the new mail matched his lead on its own
    assert export(pipeline)["S2"]["contact_at"] == before["S2"]["contact_at"]
    with pipeline.sessions() as session:
        statuses = sorted((m.status, m.decided_by) for m in session.scalars(select(Match)) if m.lead_id)
        assert queue_ids(session) == []
    assert ("matched", "review") in statuses


def test_a_rejected_item_counts_for_no_lead_and_never_comes_back(tmp_path: Path, db_url: str) -> None:
    two_john_smiths(tmp_path / "mail")
    cfg = settings(tmp_path, db_url, inbox="maildir:mail")
    pipeline = run(cfg)
    decide(pipeline, cfg, "reject")
    pipeline = run(cfg)
    rows = export(pipeline)
    assert {(r["contacted"], r["pending_review"]) for r in rows.values()} == {("N", "N")}
    with pipeline.sessions() as session:
        assert queue_ids(session) == []
        assert session.scalar(select(Match.status).where(Match.decided_by == "review")) == "rejected"
