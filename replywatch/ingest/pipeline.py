"""RawItems end to end: parse, classify, match, store; batched commits that carry the source's cursor.

One transaction per batch; each item inside a savepoint, so a failing item is quarantined with its
error and position while the rest of the batch and the cursor commit together.

An item read again that the store holds already is skipped, unless it is a text whose delivery status
changed since (a late carrier receipt): then only the stored status changes, and the contact state of
its lead is recomputed (an undelivered text is no touch).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from replywatch.classify.rules import RuleSet
from replywatch.clock import now as clock_now
from replywatch.config import Settings
from replywatch.domain.vocabulary import Channel
from replywatch.errors import SourceError, StoreError, describe
from replywatch.ingest import collector
from replywatch.ingest.batch import BatchStore
from replywatch.ingest.directory import Directory
from replywatch.ingest.prepare import Prepared, Preparer
from replywatch.parse.sms import sms_status
from replywatch.sources.base import RawItem, Source
from replywatch.store import Sessions, repo, sources
from replywatch.store.db import DATABASE_ERRORS, batch_transaction, database_error_reason
from replywatch.store.statistics import GrowingTables

log = logging.getLogger(__name__)
BATCH_SIZE = 500


@dataclass
class PollResult:
    source: str
    seen: int = 0
    stored: int = 0
    quarantined: int = 0
    leads: int = 0
    updated: int = 0  # stored texts whose delivery status changed
    elsewhere: int = 0  # texts another source had stored already (the same Twilio SID)
    errors: list[str] = field(default_factory=list)


ProgressFn = Callable[[PollResult], None]


class Pipeline:
    """Runs sources into the store. Built once per run with the settings and rules it applies."""

    def __init__(
        self,
        sessions: Sessions,
        settings: Settings,
        rules: RuleSet,
        directory: Directory,
        now: Callable[[], datetime] = clock_now,
    ) -> None:
        self.sessions, self.settings, self.rules, self.now = sessions, settings, rules, now
        self.directory = directory

    def poll(self, source: Source, progress: ProgressFn | None = None) -> PollResult:
        """Read the source until caught up. Source errors are recorded on the source and re-raised."""
        result = PollResult(source.name)
        directory = self.directory
        with self.sessions() as session, session.begin():
            cursors = sources.cursors(session, source.name)
        growing = GrowingTables(self.sessions)
        try:
            for batch in _batches(source.items(cursors), BATCH_SIZE):
                with collector.paused():
                    self._store_batch(source.name, directory, batch, result)
                collector.set_aside()
                growing.grown(result.stored)
                if progress:
                    progress(result)
        except SourceError as exc:
            self._record_health(source.name, result, str(exc))
            raise
        except DATABASE_ERRORS as exc:
            # Work since the last commit is rolled back; its cursor was not advanced, so it is read again.
            reason = database_error_reason(exc)
            raise StoreError(f"{source.name}: database error, the poll stopped: {reason}") from exc
        finally:
            collector.release()
        self._record_health(source.name, result, None)
        return result

    def _store_batch(
        self, source: str, directory: Directory, batch: list[RawItem], result: PollResult
    ) -> None:
        with self.sessions() as session:
            ids = [i.external_id for i in batch] + [alias for i in batch for alias in i.aliases]
            known, statuses = sources.known_statuses(session, source, ids)
        changes = _status_changes(batch, statuses)
        preparer = Preparer(
            directory, self.rules, self.now(), self._source_store(source), self._trusted_authserv_ids(source)
        )
        prepared: list[Prepared] = []
        bad: list[tuple[RawItem, str]] = []
        for item in _new_items(batch, known):
            try:
                prepared.append(preparer.prepare(item))
            except Exception as exc:  # one bad item must never block the source: keep it, with why
                bad.append((item, describe(exc)))
        cursors = _latest_cursors(batch)
        result.seen += len(batch)
        try:
            leads, stored, updated, elsewhere = self._commit(
                source, directory, prepared, bad, changes, cursors, isolate=False
            )
        except DATABASE_ERRORS:
            raise  # the database itself failed: nothing of the batch is kept, its cursor not advanced
        except Exception:
            # An item that passed preparation failed in the store: redo the batch one item at a time.
            log.warning("%s: a batch failed to store; storing its items one by one", source, exc_info=True)
            leads, stored, updated, elsewhere = self._commit(
                source, directory, prepared, bad, changes, cursors, isolate=True
            )
        result.leads += leads
        result.stored += stored
        result.updated += updated
        result.elsewhere += elsewhere
        result.quarantined += len(bad)
        result.errors.extend(f"{item.position}: {reason}" for item, reason in bad)

    def _commit(
        self,
        source: str,
        directory: Directory,
        prepared: list[Prepared],
        bad: list[tuple[RawItem, str]],
        changes: dict[str, str],
        cursors: dict[str, str],
        *,
        isolate: bool,
    ) -> tuple[int, int, int, int]:
        """One transaction: the items, the changed statuses, the quarantined ones, the cursor. Isolated: a
        savepoint per item. Returns (new leads, messages stored, statuses updated, texts another source
        had stored)."""
        with batch_transaction(self.sessions) as session:
            store = BatchStore(
                session,
                directory,
                self.settings.matching.lead_open_days,
                self.now(),
                self._source_store(source),
                self.rules.policy,
            )
            leads = 0
            if not isolate:
                leads = store.store(prepared)
            else:
                for p in prepared:
                    try:
                        with session.begin_nested():
                            leads += store.store([p])
                    except DATABASE_ERRORS:
                        raise
                    except Exception as exc:
                        bad.append((p.item, describe(exc)))
            changed = sources.update_statuses(session, source, changes) if changes else []
            if changed:
                store.affected_leads |= sources.matched_lead_ids(session, changed)
            store.finish()
            for item, reason in bad:
                log.warning("quarantined %s: %s", item.position, reason)
            rows = [_quarantine(item, reason, self.now()) for item, reason in bad]
            repo.quarantine(session, rows)
            for key, value in cursors.items():
                sources.save_cursor(session, source, key, value, self.now())
        return leads, store.stored, len(changed), store.elsewhere

    def _source_store(self, source: str) -> str | None:
        configured = [s for s in self.settings.sources if s.name == source]
        return configured[0].store if configured else None

    def _trusted_authserv_ids(self, source: str) -> tuple[str, ...]:
        configured = [s for s in self.settings.sources if s.name == source]
        return tuple(getattr(configured[0], "trusted_authserv_ids", ())) if configured else ()

    def _record_health(self, source: str, result: PollResult, error: str | None) -> None:
        with self.sessions() as session, session.begin():
            sources.record_poll(session, source, self.now(), error, result.stored)


def _quarantine(item: RawItem, reason: str, now: datetime) -> dict[str, Any]:
    """The quarantine row of an item, as the columns to insert."""
    payload = item.payload
    raw = payload if isinstance(payload, bytes) else _row_text(payload)
    return {
        "source": item.source,
        "external_id": item.external_id,
        "position": item.position[:1000],
        "error": reason,
        "raw": raw,
        "created_at": now,
    }


def _row_text(row: Mapping[str, str]) -> bytes:
    return repr(dict(row)).encode("utf-8")


def _batches(items: Iterator[RawItem], size: int) -> Iterator[list[RawItem]]:
    batch: list[RawItem] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _new_items(batch: list[RawItem], known: set[str]) -> Iterator[RawItem]:
    """Items the store does not hold yet, each id once."""
    seen = set(known)
    for item in batch:
        if item.external_id not in seen and not any(alias in known for alias in item.aliases):
            seen.add(item.external_id)
            yield item


def _status_changes(batch: list[RawItem], stored: Mapping[str, str | None]) -> dict[str, str]:
    """External id → delivery status, for the stored texts read again whose status is not the stored one
    (the latest reading of an id wins). An item that carries no status changes nothing."""
    changes: dict[str, str] = {}
    for item in batch:
        if item.external_id not in stored or item.channel != Channel.SMS or isinstance(item.payload, bytes):
            continue
        status = sms_status(item.payload)
        if status is not None and status != stored[item.external_id]:
            changes[item.external_id] = status
        else:
            changes.pop(item.external_id, None)
    return changes


def _latest_cursors(batch: list[RawItem]) -> dict[str, str]:
    latest: dict[str, str] = {}
    for item in batch:
        if item.cursor:
            latest[item.cursor[0]] = item.cursor[1]
    return latest
