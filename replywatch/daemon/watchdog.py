"""The watchdog: a source worker that has made no progress inside a turn for three of its intervals plus
`[daemon] watchdog_grace_seconds` is stuck (a read that never returns, a thread waiting on nothing).

Python cannot kill a thread, so the stuck worker is abandoned instead: it is told to end as soon as it can
(and its source to cut its link, which wakes a blocked read), its lease is released at once so that another
daemon may take the source, the stall is recorded where `status` shows it (a failure: `status --check`
fails), and a new worker takes its place in this daemon. Progress is any item read, any batch stored, any
turn finished or any IDLE begun: a long backfill that keeps reading is never stuck.
"""

from __future__ import annotations

import contextlib
import logging

from replywatch.config import DaemonConfig
from replywatch.daemon.worker import Shared, SourceWorker
from replywatch.store import sources

log = logging.getLogger("replywatch.daemon")


class Watchdog:
    """Replaces the stuck workers of one daemon generation; `check` is called every few seconds."""

    def __init__(self, shared: Shared, config: DaemonConfig) -> None:
        self.shared, self.config = shared, config
        self.restarts = 0

    def check(self, workers: list[SourceWorker]) -> list[SourceWorker]:
        """The workers, each stuck one abandoned and replaced by a started new one."""
        return [self._replace(w) if self._stuck(w) else w for w in workers]

    def _stuck(self, worker: SourceWorker) -> bool:
        return worker.is_alive() and worker.stuck_for() > self.config.stall_limit(worker.interval)

    def _replace(self, worker: SourceWorker) -> SourceWorker:
        name, stuck = worker.cfg.name, worker.stuck_for()
        reason = f"stuck: no progress for {stuck:.0f} s; the worker was restarted"
        log.error("%s (lease released)", reason, extra={"source": name, "stuck_s": round(stuck)})
        worker.abandon()  # its lease is given back at once
        with contextlib.suppress(Exception), self.shared.sessions() as session, session.begin():
            sources.record_poll(session, name, self.shared.now(), reason)
        self.restarts += 1
        fresh = worker.successor()
        fresh.start()
        return fresh
