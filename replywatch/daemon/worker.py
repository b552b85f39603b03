"""One thread per source: poll when due (IMAP: when IDLE says so), under a lease, and report.

When a source is due is read from the store (`source_states.last_attempt_at`), not from a local timer,
so that several daemons sharing a source poll it once per interval between them, whoever is free first.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from replywatch.clock import as_utc
from replywatch.clock import now as clock_now
from replywatch.config import SecretMixin, SourceConfig
from replywatch.domain.vocabulary import MatchStatus
from replywatch.domain.wording import counted
from replywatch.errors import ConfigError, PermanentSourceError, SourceError, StoreError, describe
from replywatch.ingest.pipeline import Pipeline, PollResult
from replywatch.sources.base import RawItem, Source
from replywatch.sources.factory import build_source
from replywatch.store import Sessions, sources
from replywatch.store.leases import Leases

log = logging.getLogger("replywatch.daemon")
PAUSED_RETRY = timedelta(hours=1)  # a paused source is still tried hourly: the fix may be elsewhere
ITEM_LOG_LIMIT = 200  # per poll; a backfill logs its first items and a summary


@dataclass
class Shared:
    """What the workers of one daemon generation share."""

    sessions: Sessions
    pipeline: Pipeline
    leases: Leases
    stop: threading.Event
    now: Callable[[], datetime] = clock_now
    held: set[str] = field(default_factory=set)
    lost: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hold(self, name: str, holding: bool) -> None:
        with self.lock:
            (self.held.add if holding else self.held.discard)(name)
            self.lost.discard(name)

    def held_now(self) -> set[str]:
        with self.lock:
            return set(self.held)

    def mark_lost(self, names: set[str]) -> None:
        with self.lock:
            self.lost |= names
            self.held -= names


def fingerprint(cfg: SourceConfig) -> str:
    """Identifies a source's configuration and the secrets it reads, without storing a secret: each
    secret is stretched with scrypt first. A paused source runs again when this changes."""
    digest = hashlib.sha256(cfg.model_dump_json().encode())
    for secret in cfg.secret_values() if isinstance(cfg, SecretMixin) else ():
        salt = f"replywatch:{cfg.name}".encode()
        digest.update(hashlib.scrypt(secret.encode(), salt=salt, n=2**14, r=8, p=1, dklen=16))
    return digest.hexdigest()[:32]


class Abandoned(Exception):
    """The source failed after the watchdog gave up on its worker: not news for `status` (the stall was
    recorded, and a new worker may have polled since); the pipeline records only a SourceError."""


class _Stoppable:
    """The source, ending early (after the item in hand) when the daemon stops or loses the lease; the
    pipeline then stores and commits what it has, cursor included. Each item read is progress."""

    def __init__(self, source: Source, worker: SourceWorker) -> None:
        self.source, self.name, self.worker = source, source.name, worker

    def items(self, cursors: Mapping[str, str]) -> Iterator[RawItem]:
        inner = self.source.items(cursors)
        try:
            for item in inner:
                self.worker.progressed()
                log.debug("read %s", item.position, extra={"source": self.name, "item": item.external_id})
                yield item
                if self.worker.should_stop():
                    log.info("stopping after this item", extra={"source": self.name, "item": item.position})
                    return
        except SourceError as exc:
            if self.worker.abandoned.is_set():
                raise Abandoned(str(exc)) from None
            raise
        finally:
            close = getattr(inner, "close", None)
            if close is not None:
                close()  # a generator source logs out and closes its files now, not when collected


class SourceWorker(threading.Thread):
    """Polls one source for the life of a daemon generation, or until the watchdog gives up on it
    (`abandon`): a worker that has made no progress for `stall_limit` seconds inside a turn is stuck."""

    def __init__(self, cfg: SourceConfig, shared: Shared, interval: float | None = None) -> None:
        super().__init__(name=f"source:{cfg.name}", daemon=True)
        self.cfg, self.shared = cfg, shared
        self.interval = float(interval or cfg.interval)
        self.source: Source | None = None
        self.print = ""
        self.idle_ready = False  # IDLE said there is mail: poll now, due or not
        # An IMAP source waits in IDLE between polls, holding its lease; it is never "not due".
        self.idles = cfg.type == "imap"
        self.abandoned = threading.Event()
        self._in_turn = False
        self._progress_at = time.monotonic()  # the last progress, or the start of the turn
        self._down_since: datetime | None = None  # the first failure of the current run of failures

    # -- for the watchdog ------------------------------------------------------------------------
    def progressed(self) -> None:
        self._progress_at = time.monotonic()

    def stuck_for(self) -> float:
        """Seconds without progress inside a turn (0 between turns: waiting for the next is not stuck)."""
        return time.monotonic() - self._progress_at if self._in_turn else 0.0

    def abandon(self) -> None:
        """Given up on by the watchdog: the lease is given back now, and this thread ends as soon as it can
        and touches the lease no more (its successor may hold it); a source that can cut its link
        (`abort`) is asked to, to wake a blocked read."""
        self.abandoned.set()
        self._give_back()
        abort = getattr(self.source, "abort", None)
        if abort is not None:
            with contextlib.suppress(Exception):
                abort()

    def successor(self) -> SourceWorker:
        """A new worker for the same source, to take over from an abandoned one."""
        return SourceWorker(self.cfg, self.shared, self.interval)

    def _over(self) -> bool:
        return self.shared.stop.is_set() or self.abandoned.is_set()

    def should_stop(self) -> bool:
        """Whether a poll should end after the item in hand: stopping, abandoned, or the lease lost."""
        return self._over() or self.cfg.name in self.shared.lost

    def run(self) -> None:
        self.print = fingerprint(self.cfg)
        while not self._over():
            self._in_turn = True
            self.progressed()
            try:
                wait = self._turn()
            except Exception as exc:  # never let one source's surprise end its thread or keep its lease
                if self.abandoned.is_set():
                    break
                log.exception("source worker failed; trying again", extra={"source": self.cfg.name})
                self._failed(_reason(exc), paused=False, recorded=False)
                self._release()
                wait = self._backoff()
            finally:
                self._in_turn = False
            if wait > 0 and not self._over():
                self.shared.stop.wait(wait * random.uniform(0.9, 1.1))
        self._release()

    def _turn(self) -> float:
        """One step; returns how long to wait before the next."""
        name = self.cfg.name
        wait = self._not_due_for()
        if wait > 0 and not (self.idle_ready or self.idles):
            return min(wait, self.interval)
        attempt = self.shared.leases.acquire(name)
        if not attempt.won:
            self.shared.hold(name, False)
            if attempt.busy_until is None:
                return min(self.interval, 1.0)
            # Try again when the holder's lease runs out: a dead daemon's source is taken over at expiry.
            left = (as_utc(attempt.busy_until) - self.shared.now()).total_seconds()
            return min(self.interval, max(0.5, left))
        self.shared.hold(name, True)
        ok = self._poll()
        if self._over():
            return 0
        source = self.source
        if ok and source is not None and hasattr(source, "wait_for_changes"):
            with self.shared.sessions() as session:
                cursors = sources.cursors(session, name)
            # Sits in IDLE holding the lease (renewed by the heartbeat) until mail comes or interval passes.
            self.progressed()
            self.idle_ready = bool(source.wait_for_changes(self.interval, self.shared.stop, cursors))
            if name in self.shared.lost:
                self.idle_ready = False
            return 0
        self._release()
        # After a failure: its backoff (2, 4, 8 … s) or the hour of a pause, not a whole interval.
        return self.interval if ok else self._not_due_for()

    def _release(self) -> None:
        if not self.abandoned.is_set() and self.cfg.name in self.shared.held_now():
            self._give_back()  # (an abandoned worker gave it back already; its successor may hold it now)

    def _give_back(self) -> None:
        name = self.cfg.name
        self.shared.hold(name, False)  # first, so that the heartbeat does not renew it meanwhile
        with contextlib.suppress(Exception):  # the lease expires on its own if the store is down
            self.shared.leases.release([name])

    def _backoff(self) -> float:
        """After a failure outside a poll: its backoff, or a few seconds when the store cannot say."""
        try:
            return self._not_due_for()
        except Exception:
            return min(self.interval, 5.0)

    def _not_due_for(self) -> float:
        """Seconds until the source is due: its interval after the last attempt by any daemon, sooner
        after a failure (2, 4, 8 … s), an hour when paused with the same configuration."""
        with self.shared.sessions() as session:
            timing = sources.source_timing(session, self.cfg.name)
        last, failures, paused = timing.last_attempt_at, timing.failures, timing.paused_config
        if last is None:
            return 0
        if paused is not None and paused == self.print:
            period = PAUSED_RETRY.total_seconds()
        elif failures:
            period = min(self.interval, float(2 ** min(failures, 10)))
        else:
            period = self.interval
        elapsed = (self.shared.now() - as_utc(last)).total_seconds()
        return max(0.0, period - elapsed - 0.5)

    def _poll(self) -> bool:
        name = self.cfg.name
        started = self.shared.now()
        self.idle_ready = False
        try:
            if self.source is None:
                self.source = build_source(self.cfg)
                if hasattr(self.source, "interrupt"):
                    self.source.interrupt = self.shared.stop  # retry waits end when the daemon stops
            stoppable = _Stoppable(self.source, self)
            result = self.shared.pipeline.poll(stoppable, lambda _result: self.progressed())
        except Abandoned as exc:
            log.info("the worker given up on has ended: %s", exc, extra={"source": name})
            return False
        except (PermanentSourceError, ConfigError) as exc:
            self._failed(str(exc), paused=True, recorded=isinstance(exc, SourceError))
            log.error(
                "%s; paused until its configuration changes (retried hourly)", exc, extra={"source": name}
            )
            return False
        except SourceError as exc:
            self._failed(str(exc), paused=False, recorded=True)
            log.warning("%s", exc, extra={"source": name})
            return False
        except StoreError as exc:
            self._failed(str(exc), paused=False, recorded=False)
            log.error("%s", exc, extra={"source": name})
            return False
        except Exception as exc:  # a bug or a surprise: shown in `status`, retried with the backoff
            self._failed(_reason(exc), paused=False, recorded=False)
            log.exception("poll failed: %s", _reason(exc), extra={"source": name})
            return False
        self._succeeded(result, started)
        return True

    def _failed(self, error: str, *, paused: bool, recorded: bool) -> None:
        if self.abandoned.is_set():
            return  # the watchdog recorded why; what the cut link raised since says nothing new
        if self._down_since is None:
            self._down_since = self.shared.now()
        with contextlib.suppress(Exception), self.shared.sessions() as session, session.begin():
            if not recorded:  # the pipeline records source errors itself; these happened outside it
                sources.record_poll(session, self.cfg.name, self.shared.now(), error)
            sources.set_paused(session, self.cfg.name, self.print if paused else None)

    def _succeeded(self, result: PollResult, started: datetime) -> None:
        name = self.cfg.name
        if self._down_since is not None:
            down = (self.shared.now() - self._down_since).total_seconds()
            log.info("polled again after failing for %.0f s", down, extra={"source": name, "down_s": down})
            self._down_since = None
        with self.shared.sessions() as session, session.begin():
            sources.set_paused(session, name, None)
            rows = sources.stored_since(session, name, started, ITEM_LOG_LIMIT)
        for position, external_id, kind, lead_id, status in rows:
            level = logging.INFO if lead_id is not None or status == MatchStatus.REVIEW else logging.DEBUG
            extra = {"source": name, "item": position or external_id, "lead": lead_id, "status": status}
            log.log(level, "stored %s", kind, extra=extra)
        if result.stored or result.quarantined or result.leads:
            counts = f"{counted(result.stored, 'new item')}, {counted(result.leads, 'new lead')}"
            log.info("%s, %d quarantined", counts, result.quarantined, extra={"source": name})


def _reason(exc: Exception) -> str:
    """One line for `status`."""
    return (describe(exc).splitlines() or [type(exc).__name__])[0]
