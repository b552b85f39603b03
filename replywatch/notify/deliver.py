"""Delivering the outbox: each target's due deliveries claimed, sent in order, and marked; a failure is
retried with backoff (5 s, doubling to 10 minutes) for 24 hours from the first attempt, then given up.

One round claims a handful per target and sends the targets side by side, so that a slow or dead
receiver delays only its own deliveries. A target that fails in a round is left for its next retry; the
rest of its claims are given back untried, so one lead's later events never overtake an earlier one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from replywatch.config import NotifyConfig, Settings, SmtpConfig
from replywatch.errors import ReplywatchError, first_line
from replywatch.ingest.directory import Directory
from replywatch.store import Sessions, outbox

log = logging.getLogger("replywatch.notify")

FIRST_RETRY = timedelta(seconds=5)
LONGEST_WAIT = timedelta(minutes=10)
RETRY_WINDOW = timedelta(hours=24)
PER_ROUND = 10  # deliveries a target is sent in one round (claimed for 10 × its timeout + 60 s)
_PARALLEL_TARGETS = 4

Send = Callable[[NotifyConfig, Mapping[str, Any], SmtpConfig, tzinfo], None]


def retry_delay(attempts: int) -> timedelta:
    """How long after its `attempts`-th failure a delivery is tried again: 5 s, 10 s, 20 s … 10 min."""
    return min(LONGEST_WAIT, FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 16))


@dataclass
class Round:
    """What one pass over the outbox did."""

    delivered: int = 0
    failed: int = 0  # attempts that failed (and will be retried)
    gave_up: int = 0  # deliveries given up for good
    errors: list[str] = field(default_factory=list)  # "target: reason", one per failed attempt

    def add(self, other: Round) -> None:
        self.delivered += other.delivered
        self.failed += other.failed
        self.gave_up += other.gave_up
        self.errors += other.errors

    @property
    def attempted(self) -> int:
        return self.delivered + self.failed + self.gave_up


def default_send(target: NotifyConfig, body: Mapping[str, Any], smtp: SmtpConfig, zone: tzinfo) -> None:
    from replywatch.notify.targets import deliver  # requests and the wording load when something is due

    deliver(target, body, smtp=smtp, zone=zone)


class Notifier:
    """Delivers the outbox to the configured targets; shared by `replywatch run` and `notify send`."""

    def __init__(
        self,
        sessions: Sessions,
        settings: Settings,
        directory: Directory,
        owner: str,
        send: Send = default_send,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.sessions, self.settings, self.directory, self.owner = sessions, settings, directory, owner
        self.targets = {t.name: t for t in settings.notify}
        self.send, self.stopping = send, stopping

    def deliver_due(self, now: Callable[[], datetime]) -> Round:
        """One round: every target's due deliveries (up to PER_ROUND each), targets side by side."""
        done = Round()
        if not self.targets:
            return done
        workers = min(_PARALLEL_TARGETS, len(self.targets))
        with ThreadPoolExecutor(workers, thread_name_prefix="notify") as pool:
            for result in pool.map(lambda t: self._target_round(t, now), self.targets.values()):
                done.add(result)
        return done

    def drain(self, now: Callable[[], datetime], max_rounds: int = 1000) -> Round:
        """Rounds until nothing is due now (what failed waits for its retry): `notify send --once`."""
        done = Round()
        for _ in range(max_rounds):
            result = self.deliver_due(now)
            done.add(result)
            if result.attempted == 0:
                break
        return done

    def _target_round(self, target: NotifyConfig, now: Callable[[], datetime]) -> Round:
        done = Round()
        hold = timedelta(seconds=PER_ROUND * target.timeout + 60)  # outlasts a round of timeouts
        claims = outbox.claim_due(self.sessions, target.name, self.owner, now(), hold, PER_ROUND)
        for i, claimed in enumerate(claims):
            if self.stopping():
                outbox.release(self.sessions, claims[i:], self.owner)
                break
            if not self._attempt(target, claimed, now, done):
                outbox.release(self.sessions, claims[i + 1 :], self.owner)
                break
        return done

    def _attempt(
        self, target: NotifyConfig, claimed: outbox.Claimed, now: Callable[[], datetime], done: Round
    ) -> bool:
        info = self.directory.by_id.get(claimed.store_id) if claimed.store_id else None
        try:
            self.send(target, claimed.body(), self.settings.digest.smtp, info.zone if info else UTC)
        except ReplywatchError as exc:
            reason = first_line(exc)
        except Exception as exc:  # a fault of ours must not stop delivery of the rest
            log.exception("notify %s: unexpected error delivering %s", target.name, claimed.event_id)
            reason = f"internal error: {type(exc).__name__}"
        else:
            outbox.mark_delivered(self.sessions, claimed, now())
            done.delivered += 1
            log.debug("notify %s: delivered %s %s", target.name, claimed.type, claimed.event_id)
            return True
        at = now()
        first = claimed.first_attempt_at or at
        retry_at = at + retry_delay(claimed.attempts + 1)
        give_up = retry_at - first > RETRY_WINDOW
        outbox.mark_failed(self.sessions, claimed, at, reason, None if give_up else retry_at)
        done.errors.append(f"{target.name}: {reason}")
        if give_up:
            done.gave_up += 1
            log.error(
                "notify %s: gave up on %s %s after %d attempts over %s: %s",
                target.name,
                claimed.type,
                claimed.event_id,
                claimed.attempts + 1,
                _hours(at - first),
                reason,
            )
        else:
            done.failed += 1
            log.warning(
                "notify %s: %s %s not delivered (%s); retry in %d s",
                target.name,
                claimed.type,
                claimed.event_id,
                reason,
                (retry_at - at).total_seconds(),
            )
        return False


def _hours(span: timedelta) -> str:
    return f"{span.total_seconds() / 3600:.1f} h"
