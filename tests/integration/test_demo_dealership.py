"""The sample dealership through the whole pipeline: replywatch finds exactly the contacts it holds."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from wiring import pipeline as wired_pipeline

from replywatch.config import load_settings
from replywatch.demo import write_sample_dealership
from replywatch.domain.vocabulary import MatchStatus
from replywatch.sources.factory import build_source
from replywatch.store.db import open_database
from replywatch.store.models import Lead, Match, Message, Quarantine


def test_contacts_found_equal_the_generators_ground_truth(tmp_path: Path, db_url: str) -> None:
    # Given five weeks of a two-store dealership (ADF quirks, threads, CRM replies, auto-replies, STOPs)
    sample = write_sample_dealership(tmp_path / "demo", seed=7, end=date(2026, 11, 30))
    settings = load_settings(sample.config_path, environ={"REPLYWATCH_DATABASE_URL": db_url})
    _, sessions = open_database(settings.database.url)
    pipeline = wired_pipeline(sessions, settings)
    # When both sources are polled
    for cfg in settings.sources:
        pipeline.poll(build_source(cfg))
    # Then every lead is stored, nothing is quarantined, and the contacted leads are exactly those
    # the generator made a real contact for
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Lead)) == sample.leads
        assert session.scalar(select(func.count()).select_from(Quarantine)) == 0
        contacted = session.scalar(select(func.count()).where(Lead.contact_at.is_not(None)))
        opted_out = session.scalar(select(func.count()).where(Lead.opted_out_at.is_not(None)))
        review = session.scalar(select(func.count()).where(Match.status == MatchStatus.REVIEW))
        unplaced = session.scalars(
            select(Message.sender)
            .join(Match, Match.message_id == Message.id)
            .where(Match.status == MatchStatus.UNMATCHED, Message.kind == "human")
        ).all()
    assert contacted == sample.expected_contacted
    assert opted_out == 3
    # And the review queue has the three notes written from work, and one shopper's mail no lead explains
    assert review == 3
    assert "pq.garage@example.net" in unplaced
