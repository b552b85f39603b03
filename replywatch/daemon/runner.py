"""The daemon: a generation of workers built from the configuration, replaced whole on SIGHUP.

Threads: one per source (polls under a lease), a heartbeat (renews the leases held), a watchdog
(replaces a source worker that is stuck), housekeeping (the digest schedule and the re-matching sweep).
The main thread only waits for signals: SIGTERM or
SIGINT stop the workers after the item in hand (the pipeline commits what it has) and the process exits
0 within STOP_GRACE_S; SIGHUP loads the configuration and rules again and, if they are valid, restarts
the workers with them (an invalid file is reported and the running configuration kept).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from replywatch.classify.rules import RuleSet, load_rules
from replywatch.clock import now
from replywatch.config import Settings, load_settings
from replywatch.daemon.logs import set_secrets
from replywatch.daemon.sweep import Seen, sweep_recent
from replywatch.daemon.watchdog import Watchdog
from replywatch.daemon.worker import Shared, SourceWorker
from replywatch.digest.schedule import send_due_digests
from replywatch.errors import first_line
from replywatch.ingest.directory import Directory, open_directory
from replywatch.ingest.pipeline import Pipeline
from replywatch.store import Sessions
from replywatch.store.db import Engine, open_database, redact_url, secrets_of
from replywatch.store.digest_runs import worker_id
from replywatch.store.leases import Leases

log = logging.getLogger("replywatch.daemon")
NOTIFY_POLL_S = 1.0  # how often the outbox is looked at when nothing was due
STOP_GRACE_S = 7.0  # joined within this, the process is gone well inside the 10 s systemd/docker allow


@dataclass
class Generation:
    settings: Settings
    rules: RuleSet
    directory: Directory
    shared: Shared
    workers: list[SourceWorker] = field(default_factory=list)  # the watchdog replaces stuck ones
    threads: list[threading.Thread] = field(default_factory=list)  # heartbeat, watchdog, housekeeping


class Daemon:
    def __init__(
        self,
        config_path: Path | None,
        rules_dir: Callable[[Settings], Path],
        interval: int | None = None,
        log_handler: logging.Handler | None = None,
    ) -> None:
        self.config_path, self.rules_dir, self.interval = config_path, rules_dir, interval
        self.log_handler = log_handler
        self.owner = worker_id()
        self.wake = threading.Event()
        self.stopping = False
        self.reload_wanted = False
        self.db: tuple[str, Engine, Sessions] | None = None

    # -- signals ---------------------------------------------------------------------------------
    def _on_stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True
        self.wake.set()

    def _on_reload(self, signum: int, _frame: FrameType | None) -> None:
        self.reload_wanted = True
        self.wake.set()

    def run(self, settings: Settings, rules: RuleSet) -> int:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_reload)
        gen = self._start(settings, rules, self._directory(settings))
        while not self.stopping:
            self.wake.wait(5.0)
            self.wake.clear()
            if self.reload_wanted and not self.stopping:
                self.reload_wanted = False
                gen = self._reload(gen)
        log.info("stopping: finishing the items in hand")
        self._finish(gen)
        log.info("replywatch stopped")
        return 0

    # -- generations -----------------------------------------------------------------------------
    def _sessions(self, url: str) -> Sessions:
        if self.db is None or self.db[0] != url:
            if self.db is not None:
                self.db[1].dispose()
            engine, sessions = open_database(url)
            self.db = (url, engine, sessions)
        return self.db[2]

    def _directory(self, settings: Settings) -> Directory:
        """The configuration synced into the database once per generation (start, reload), never per poll."""
        return open_directory(self._sessions(settings.database.url), settings)

    def _start(self, settings: Settings, rules: RuleSet, directory: Directory) -> Generation:
        sessions = self._sessions(settings.database.url)
        leases = Leases(sessions, self.owner, settings.daemon.lease_seconds)
        pipeline = Pipeline(sessions, settings, rules, directory)
        shared = Shared(sessions, pipeline, leases, threading.Event())
        gen = Generation(settings, rules, directory, shared)
        gen.workers = [SourceWorker(cfg, shared, self.interval) for cfg in settings.sources]
        gen.threads = [
            threading.Thread(target=target, args=(gen,), name=name, daemon=True)
            for name, target in (
                ("heartbeat", self._heartbeat),
                ("watchdog", self._watchdog),
                ("housekeeping", self._housekeeping),
                ("notify", self._notify),
            )
        ]
        for thread in [*gen.workers, *gen.threads]:
            thread.start()
        names = ", ".join(s.name for s in settings.sources) or "none"
        log.info(
            "replywatch running: sources %s; database %s; daemon %s",
            names,
            redact_url(settings.database.url),
            self.owner,
        )
        if not settings.sources:
            log.warning("no sources configured: add a [[sources]] table to the configuration")
        return gen

    def _finish(self, gen: Generation) -> None:
        gen.shared.stop.set()
        deadline = time.monotonic() + STOP_GRACE_S
        threads = [*gen.workers, *gen.threads]
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        busy = [t.name for t in threads if t.is_alive()]
        if busy:
            # Their uncommitted work is rolled back with the process; cursors were not advanced past it.
            log.warning("still busy at the stop deadline, abandoned: %s", ", ".join(busy))
        try:
            gen.shared.leases.release(gen.shared.held_now())
        except Exception:  # the leases expire on their own
            log.warning("could not release leases; they expire in %d s", gen.settings.daemon.lease_seconds)

    def _reload(self, gen: Generation) -> Generation:
        try:
            settings = load_settings(self.config_path)
            rules = load_rules(self.rules_dir(settings))
            directory = self._directory(settings)
        except Exception as exc:  # an invalid file, or a database that refuses the new directory
            log.error("reload refused, still running the previous configuration: %s", first_line(exc))
            return gen
        log.info("reloading configuration and rules")
        if self.log_handler is not None:
            set_secrets(self.log_handler, secrets_of(settings))
        self._finish(gen)
        return self._start(settings, rules, directory)

    # -- background threads ----------------------------------------------------------------------
    def _heartbeat(self, gen: Generation) -> None:
        shared = gen.shared
        every = max(1.0, gen.settings.daemon.lease_seconds / 3)
        while not shared.stop.wait(every):
            try:
                lost = shared.leases.renew(shared.held_now())
            except Exception as exc:
                log.warning("could not renew leases: %s", first_line(exc))
                continue
            if lost:
                log.warning("lease lost to another daemon: %s", ", ".join(sorted(lost)))
                shared.mark_lost(lost)

    def _watchdog(self, gen: Generation) -> None:
        watchdog = Watchdog(gen.shared, gen.settings.daemon)
        every = min(5.0, max(0.5, gen.settings.daemon.watchdog_grace_seconds / 4))
        while not gen.shared.stop.wait(every):
            gen.workers = watchdog.check(gen.workers)

    def _housekeeping(self, gen: Generation) -> None:
        shared, settings = gen.shared, gen.settings
        seen: Seen = (0, 0)
        while not shared.stop.is_set():
            try:
                for o in send_due_digests(shared.sessions, settings, now(), self.owner):
                    level = logging.INFO if o.status == "sent" else logging.WARNING
                    log.log(
                        level,
                        "digest week of %s: %s %s",
                        o.week,
                        o.status,
                        o.detail,
                        extra={"digest": o.scope},
                    )
            except Exception as exc:
                log.error("digest schedule failed: %s", first_line(exc))
            try:
                seen = sweep_recent(shared.sessions, settings, gen.directory, gen.rules.policy, now(), seen)
            except Exception as exc:
                log.error("re-matching sweep failed: %s", first_line(exc))
            shared.stop.wait(settings.daemon.housekeeping_seconds)

    def _notify(self, gen: Generation) -> None:
        """Alerts raised every `[alerts] check_seconds` (the first one after that long); the outbox
        delivered as events come (every second, at once again after a round that sent something)."""
        from replywatch.notify.alerts import raise_alerts
        from replywatch.notify.deliver import Notifier

        shared, settings = gen.shared, gen.settings
        notifier = Notifier(shared.sessions, settings, gen.directory, self.owner, stopping=shared.stop.is_set)
        # Not at once: the workers poll first, or a daemon started after a long stop would find every
        # source unpolled for long, raise source.failing for each, and source.recovered a moment later.
        next_check = time.monotonic() + settings.alerts.check_seconds
        while not shared.stop.is_set():
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + settings.alerts.check_seconds
                try:
                    raise_alerts(shared.sessions, settings, gen.directory, now())
                except Exception as exc:
                    log.error("alert check failed: %s", first_line(exc))
            try:
                busy = notifier.deliver_due(now).attempted > 0
            except Exception as exc:
                log.error("notification delivery failed: %s", first_line(exc))
                busy = False
            shared.stop.wait(0 if busy else NOTIFY_POLL_S)
