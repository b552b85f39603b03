"""The watchdog: a source worker stuck in a read that never returns (a server that accepts the connection
and then says nothing) is given up on: its lease released, the stall recorded where `status` shows it,
and a new worker polls the source once the server answers again."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from mailbuild import DANA, STORE, at, lead_mail, mail
from servers.gate import Gate
from sqlalchemy import select
from wiring import pipeline as wired_pipeline

from replywatch.clock import now
from replywatch.config import settings_from_dict
from replywatch.daemon.watchdog import Watchdog
from replywatch.daemon.worker import Shared, SourceWorker
from replywatch.reports.status import source_health
from replywatch.store.db import open_database
from replywatch.store.leases import Leases
from replywatch.store.models import Lead

if TYPE_CHECKING:
    from servers.dovecot import Account

pytest_plugins = ["servers.dovecot"]


def until(what: str, condition: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_worker_stuck_in_a_read_is_replaced_and_the_source_polled_again(
    account: Account, db_url: str
) -> None:
    # Given a lead and its contact in a mailbox behind a gate that accepts connections and answers nothing
    account.save(lead_mail("W-1", "Pat", "Lane", "pat@c.example", None, at(2, 9)))
    account.save(mail("pat@c.example", DANA, "Re: CR-V", "Yes, call me", at(2, 11), "<r@c>"))
    account.create_folder("Sent")
    account.save(mail(DANA, "pat@c.example", "CR-V", "Hi Pat", at(2, 10), "<t@d>"), folder="Sent")
    gate = Gate(account.server.port)
    gate.shut()
    # (a read timeout far beyond the test: the read never returns on its own)
    source = account.source(port=gate.port, timeout=600, interval=1)
    cfg = settings_from_dict(
        {
            "database": {"url": db_url},
            "daemon": {"watchdog_grace_seconds": 1},  # stuck after 3 × 1 s + 1 s without progress
            "stores": [{"name": STORE}],
            "associates": [{"name": "Dana Lee", "store": STORE, "emails": [DANA]}],
            "sources": [source],
        }
    )
    _, sessions = open_database(db_url)
    real = wired_pipeline(sessions, cfg)
    shared = Shared(sessions, real, Leases(sessions, "daemon-a", 30), threading.Event())
    workers = [SourceWorker(cfg.sources[0], shared)]
    watchdog = Watchdog(shared, cfg.daemon)
    stuck = workers[0]

    def watched() -> int:
        """One look of the watchdog (the daemon's does this every few seconds); restarts so far."""
        nonlocal workers
        workers = watchdog.check(workers)
        return watchdog.restarts

    stuck.start()
    try:
        # When the worker has hung in the greeting read for longer than the limit
        until("the worker to hang on the gate", lambda: gate.held_count() == 1)
        until("the watchdog to replace it", lambda: watched() >= 1)
        # Then the stuck worker is abandoned and its lease released: another daemon may take the source
        assert stuck.abandoned.is_set()
        with sessions() as session:
            report = source_health(session, ["lead-inbox"], now())
        assert report["failing"] == ["lead-inbox"]
        error = report["sources"][0]["last_error"]
        assert error.startswith("stuck: no progress for ") and "restarted" in error
        # And once the server answers again, a new worker polls the source and the contact is stored
        gate.reopen()

        def polled() -> bool:
            watched()  # a new worker that met the shut gate in the meantime is replaced in turn
            with sessions() as session:
                return source_health(session, ["lead-inbox"], now())["failing"] == []

        until("a new worker to poll the source", polled, timeout=60)
        with sessions() as session:
            assert session.scalar(select(Lead.contact_at)) == at(2, 11)
    finally:
        shared.stop.set()
        gate.close()  # the abandoned reads end with their connections
        for worker in [stuck, *workers]:
            worker.join(10)
    assert not any(w.is_alive() for w in [stuck, *workers])
