"""The daemon's sweep: a lead and its messages stored by transactions that did not see each other meet."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from mailbuild import DANA, Maildir, at, mail, settings
from sqlalchemy import select
from wiring import pipeline as wired_pipeline

from replywatch.clock import now
from replywatch.daemon.sweep import sweep_recent
from replywatch.sources.factory import build_source
from replywatch.store.db import open_database
from replywatch.store.models import Lead, LeadIdentity, Match


def test_messages_stored_beside_a_lead_they_could_not_see_are_matched_by_the_sweep(
    tmp_path: Path, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Given our follow-up and the customer's reply stored while no lead explained them
    box = Maildir(tmp_path / "mail")
    box.add(
        mail(DANA, "pat@customer.example", "Your CR-V", "Hi Pat", at(3, 10), "<t1@dealer.example>"), at(3, 10)
    )
    box.add(
        mail("pat@customer.example", DANA, "Re: Your CR-V", "Saturday works", at(3, 12), "<r1@c.example>"),
        at(3, 12),
        folder="",
    )
    cfg = settings(tmp_path, db_url, inbox="maildir:mail")
    _, sessions = open_database(db_url)
    pipeline = wired_pipeline(sessions, cfg)
    pipeline.poll(build_source(cfg.sources[0]))
    # And the lead stored by a transaction that looked for them before they were committed
    with sessions() as session, session.begin():
        lead = Lead(source="AutoTrader", external_id="L-1", received_at=at(3, 9), first_name="Pat")
        lead.identities.append(LeadIdentity(kind="email", value="pat@customer.example"))
        session.add(lead)
    with sessions() as session:
        assert session.scalar(select(Lead.contact_at)) is None
    # When the daemon's housekeeping sweeps
    caplog.set_level(logging.WARNING, logger="replywatch.daemon.sweep")
    seen = sweep_recent(sessions, cfg, pipeline.directory, pipeline.rules.policy, now(), (0, 0))
    # Then both messages belong to the lead and it shows contacted at the reply
    with sessions() as session:
        statuses = set(session.scalars(select(Match.status)))
        contact = session.scalar(select(Lead.contact_at))
    assert statuses == {"matched"}
    assert contact == at(3, 12)
    # And it says so, for a writer went around the batch turn: the sweep should change nothing
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "the sweep changed 2 of 2 recent matches" in warned[0], warned
    # And a sweep with nothing new stored does nothing
    assert sweep_recent(sessions, cfg, pipeline.directory, pipeline.rules.policy, now(), seen) == seen
