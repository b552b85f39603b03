"""A source worker that meets a surprise (any exception, not only a source's own error) records it where
`status` shows it, gives its lease back at once, and tries again after the short backoff."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from mailbuild import DANA, Maildir, at, lead_mail, mail, settings
from sqlalchemy import select
from wiring import pipeline as wired_pipeline

from replywatch.daemon.worker import Shared, SourceWorker
from replywatch.ingest.pipeline import Pipeline, PollResult, ProgressFn
from replywatch.sources.base import Source
from replywatch.store.db import open_database
from replywatch.store.leases import Leases
from replywatch.store.models import SourceState


class FailingOnce(Pipeline):
    """The real pipeline, but its first poll dies of an error nobody planned for (as the per-poll
    directory sync once did with a UniqueViolation)."""

    polls = 0  # per instance, once the first poll has set it

    def poll(self, source: Source, progress: ProgressFn | None = None) -> PollResult:
        self.polls += 1
        if self.polls == 1:
            raise RuntimeError("surprise in the store")
        return super().poll(source, progress)


def until(condition: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_a_surprise_is_recorded_the_lease_given_back_and_the_poll_retried(
    tmp_path: Path, db_url: str
) -> None:
    # Given a CSV source polled every 300 s whose first poll fails with an unexpected exception
    (tmp_path / "texts.csv").write_text("id,sent_at,from,to,body,direction\n", encoding="utf-8")
    cfg = settings(tmp_path, db_url, texts="sms-csv:texts.csv")
    _, sessions = open_database(db_url)
    real = wired_pipeline(sessions, cfg)
    pipeline = FailingOnce(sessions, cfg, real.rules, real.directory)
    shared = Shared(sessions, pipeline, Leases(sessions, "daemon-a", 30), threading.Event())
    worker = SourceWorker(cfg.sources[0], shared, interval=300)
    other_daemon = Leases(sessions, "daemon-b", 1)

    def state() -> SourceState | None:
        with sessions() as session:
            return session.scalar(select(SourceState).where(SourceState.source == "texts"))

    # When the worker runs
    worker.start()
    try:
        until(lambda: (s := state()) is not None and s.consecutive_failures == 1)
        # Then the failure is recorded as `status` shows it, with its type and words
        failed = state()
        assert failed is not None and failed.last_error == "RuntimeError: surprise in the store"
        # And the lease is given back at once: another daemon can take the source before the retry
        until(lambda: other_daemon.acquire("texts").won, timeout=1.0)
        # And the source is polled again after the backoff (seconds), not after the 300 s interval
        until(lambda: pipeline.polls >= 2, timeout=20)
        until(lambda: (s := state()) is not None and s.last_success_at is not None, timeout=20)
    finally:
        shared.stop.set()
        worker.join(10)
    done = state()
    assert done is not None and done.consecutive_failures == 0 and done.last_error is None


def test_the_item_log_names_leads_by_their_lead_id_and_counts_read_right(
    tmp_path: Path, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a Maildir with one lead notice (lead id AT-77) and the customer's reply to our follow-up
    box = Maildir(tmp_path / "mail")
    box.add(lead_mail("AT-77", "Ana", "Diaz", "ana@example.com", None, at(2, 15)), at(2, 15))
    box.add(mail("ana@example.com", DANA, "Re: Hi", "yes", at(2, 16), "<r1@x>"), at(2, 16))
    cfg = settings(tmp_path, db_url, inbox="maildir:mail")
    _, sessions = open_database(db_url)
    shared = Shared(
        sessions, wired_pipeline(sessions, cfg), Leases(sessions, "daemon-a", 30), threading.Event()
    )
    worker = SourceWorker(cfg.sources[0], shared, interval=300)
    # When the daemon's worker polls it once
    caplog.set_level(logging.INFO, logger="replywatch")
    worker.start()
    try:
        until(lambda: any("new lead" in r.getMessage() for r in caplog.records))
    finally:
        shared.stop.set()
        worker.join(10)
    # Then the reply's line names the lead as people know it (AT-77), not its row number
    leads = [getattr(r, "lead", None) for r in caplog.records if r.getMessage().startswith("stored")]
    assert "AT-77" in leads and not any(isinstance(lead, int) for lead in leads)
    # And the summary's counts read as English: one lead, two items
    assert any(r.getMessage() == "2 new items, 1 new lead, 0 quarantined" for r in caplog.records)
