"""`quarantine retry`: an item kept in quarantine is read again from its kept raw bytes (a mail, or an SMS
row), after the rule or the reading that refused it was fixed. Stored, it leaves the quarantine in the
same transaction; refused again, it stays with the new reason."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from datetime import datetime

from replywatch.classify.rules import RuleSet
from replywatch.config import Settings
from replywatch.domain.vocabulary import Channel
from replywatch.errors import describe
from replywatch.ingest.batch import BatchStore
from replywatch.ingest.directory import Directory
from replywatch.ingest.prepare import Preparer
from replywatch.parse.sms import DIALECT_COLUMNS, GENERIC
from replywatch.sources.base import RawItem
from replywatch.store import Sessions
from replywatch.store import quarantine as kept
from replywatch.store.db import batch_transaction
from replywatch.store.quarantine import QuarantinedItem


@dataclass
class Retried:
    stored: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)  # (id, the new reason)


@dataclass(frozen=True)
class Retrier:
    """What a poll knows (settings, rules, who is who, now), to read quarantined items again."""

    sessions: Sessions
    settings: Settings
    rules: RuleSet
    directory: Directory
    now: datetime

    def retry(self, ids: list[int] | None) -> Retried:
        """Each item (every one when `ids` is None) stored and out of quarantine, or kept with why not."""
        with self.sessions() as session:
            items = kept.quarantined(session, ids)
        done = Retried()
        for item in items:
            reason = self._retry_one(item)
            if reason is None:
                done.stored.append(item.id)
                continue
            done.failed.append((item.id, reason))
            with self.sessions() as session, session.begin():
                kept.set_error(session, item.id, reason)
        return done

    def _retry_one(self, item: QuarantinedItem) -> str | None:
        if item.raw is None:
            return "its raw content was purged: it cannot be read again (drop it)"
        home = next((s.store for s in self.settings.sources if s.name == item.source), None)
        open_days = self.settings.matching.lead_open_days
        try:
            prepared = Preparer(self.directory, self.rules, self.now, home).prepare(self.raw_item(item))
            with batch_transaction(self.sessions) as session:
                kept.drop(session, item.id)
                store = BatchStore(session, self.directory, open_days, self.now, home, self.rules.policy)
                store.store([prepared])
                store.finish()
        except Exception as exc:  # refused again: the item stays in quarantine with the new reason
            return describe(exc)
        return None

    def raw_item(self, item: QuarantinedItem) -> RawItem:
        """The RawItem the source once yielded, rebuilt from what quarantine kept: an SMS row (kept as
        the text of its columns) or a mail's bytes (from a sent folder when its position names one)."""
        assert item.raw is not None
        row = _sms_row(item.raw)
        if row is not None:
            channel, dialect = Channel.SMS, _dialect(row)
            return RawItem(item.source, item.external_id, item.position, row, channel, dialect=dialect)
        return RawItem(
            item.source, item.external_id, item.position, item.raw, in_sent_folder=self._sent(item)
        )

    def _sent(self, item: QuarantinedItem) -> bool:
        """A Maildir path through `.Sent/`, or an IMAP position such as `Sent uid 42`."""
        config = next((s for s in self.settings.sources if s.name == item.source), None)
        folders = [f.casefold() for f in getattr(config, "sent_folders", [])]
        where = item.position.casefold()
        return any(f"/.{f}/" in where or where.startswith(f"{f} uid") for f in folders)


def _sms_row(raw: bytes) -> dict[str, str] | None:
    if not raw.startswith(b"{"):
        return None
    try:
        value = ast.literal_eval(raw.decode("utf-8"))
    except (ValueError, SyntaxError, UnicodeDecodeError):
        return None
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else None


def _dialect(row: dict[str, str]) -> str:
    return next((d for d, columns in DIALECT_COLUMNS.items() if all(c in row for c in columns)), GENERIC)
