"""Storing a batch of prepared items: messages and keys in bulk, leads, one candidate look-up, matches.

Statements per batch do not grow with its size: rows go in with one executemany each, and
candidate leads for every message come from a few indexed queries.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from replywatch.domain.vocabulary import Direction, Kind, MatchStatus
from replywatch.ingest.directory import Directory
from replywatch.ingest.leads import LeadInput, add_leads, record_bounces, refresh_contacts
from replywatch.ingest.prepare import Prepared
from replywatch.match.candidates import CandidateIndex
from replywatch.match.evidence import MessageFacts, build_query
from replywatch.match.link import (
    Matching,
    candidate_keys,
    follow_thread,
    follow_touches,
    match_row,
    note_decision,
)
from replywatch.match.policy import MatchPolicy
from replywatch.match.types import MatchQuery
from replywatch.store import Session, repo, sources
from replywatch.store.models import KEY_LENGTH

log = logging.getLogger(__name__)
# A Twilio message SID (SM…, MM… for MMS): unique across every account, so the same text from two sources.
_TWILIO_SID = re.compile(r"(?:SM|MM)[0-9a-f]{32}")


class BatchStore:
    """Writes prepared items; `affected_leads` gathers the leads whose contact state must be recomputed."""

    def __init__(
        self,
        session: Session,
        directory: Directory,
        open_days: int,
        now: datetime,
        default_store: str | None,
        policy: MatchPolicy,
    ) -> None:
        self.session, self.directory, self.open_days, self.now = session, directory, open_days, now
        self.default_store = default_store
        self.matching = Matching(policy, open_days, directory, now)
        self.affected_leads: set[int] = set()
        self.stored = 0  # messages this store inserted; one another writer stored first is skipped
        self.elsewhere = 0  # texts skipped as another source's (the same Twilio SID)

    def store(self, batch: list[Prepared]) -> int:
        """Store the items; returns how many new leads they carried. An item already stored (another
        poller got there first) is skipped silently, with its keys, leads and match."""
        if batch:
            batch = self._not_held_elsewhere(batch)
        if not batch:
            return 0
        inserted = self._insert_messages(batch)
        if len(inserted) < len(batch):
            batch = [p for p in batch if (p.message.source, p.message.external_id) in inserted]
        ids = [inserted[(p.message.source, p.message.external_id)] for p in batch]
        queries = [self._query(p) if p.message.kind != Kind.LEAD else None for p in batch]
        self._insert_keys(batch, queries, ids)
        new_leads = self._leads([(p, i) for p, i in zip(batch, ids, strict=True) if p.leads])
        record_bounces(self.session, _bounce_rows(batch, ids))
        self._match([(p, q, i) for p, q, i in zip(batch, queries, ids, strict=True) if q is not None])
        self.stored += len(batch)
        return new_leads

    def _not_held_elsewhere(self, batch: list[Prepared]) -> list[Prepared]:
        """Texts by Twilio message SID that another source stored already are skipped: the account's API
        log and an export of it (console CSV) overlap, and a text stored twice would count twice. Other
        ids (a generic export's row numbers, mail) are the source's own and are never compared."""
        source = batch[0].message.source
        sids = [p.message.external_id for p in batch if _TWILIO_SID.fullmatch(p.message.external_id)]
        held = sources.texts_held_elsewhere(self.session, source, sids) if sids else set()
        if not held:
            return batch
        log.info("%s: %d texts already stored by another source, skipped", source, len(held))
        self.elsewhere += len(held)
        return [p for p in batch if p.message.external_id not in held]

    def finish(self) -> None:
        refresh_contacts(self.session, self.directory, self.affected_leads, now=self.now)

    def _query(self, prepared: Prepared) -> MatchQuery:
        m = prepared.message
        facts = MessageFacts(
            m.direction,
            m.channel,
            m.sent_at,
            m.sender_name,
            m.subject,
            m.snippet,
            m.store_id,
        )
        return build_query(facts, prepared.keys, self.directory)

    def _insert_messages(self, batch: list[Prepared]) -> dict[tuple[str, str], int]:
        """(source, external id) → id of the messages inserted. A message a concurrent writer stored
        meanwhile is left to it (INSERT … ON CONFLICT DO NOTHING), not an error."""
        return repo.insert_messages(self.session, [p.message.columns() for p in batch])

    def _insert_keys(self, batch: list[Prepared], queries: list[MatchQuery | None], ids: list[int]) -> None:
        rows = [
            {"message_id": message_id, "role": role, "value": value[:KEY_LENGTH]}
            for p, q, message_id in zip(batch, queries, ids, strict=True)
            for role, values in (q.keys if q else p.keys).items()
            for value in dict.fromkeys(values)
        ]
        repo.insert_keys(self.session, rows)

    def _leads(self, notices: list[tuple[Prepared, int]]) -> int:
        inputs = [
            LeadInput(record, prepared.message.sent_at, message_id)
            for prepared, message_id in notices
            for record in prepared.leads
        ]
        if not inputs:
            return 0
        new_ids, affected = add_leads(
            self.session,
            self.directory,
            inputs,
            default_store=self.default_store,
            open_days=self.open_days,
            now=self.now,
            policy=self.matching.policy,
        )
        self.affected_leads |= affected
        return len(new_ids)

    def _match(self, items: list[tuple[Prepared, MatchQuery, int]]) -> None:
        """Decide in time order, so a reply follows a message of ours stored earlier in the same batch."""
        if not items:
            return
        index = CandidateIndex.load(
            self.session, [q for _, q, _ in items], self.open_days, self.matching.notes
        )
        rows: list[dict[str, object]] = []
        key_rows: list[dict[str, object]] = []
        store_fill: dict[int, int] = {}
        headers: list[str] = []
        touches: list[tuple[MatchQuery, int]] = []
        for prepared, query, message_id in sorted(items, key=lambda item: item[1].sent_at):
            decision = self.matching.decide(index, query)
            rows.append(match_row(message_id, decision, self.now))
            key_rows += candidate_keys(message_id, decision)
            if decision.lead is None:
                continue
            lead = decision.lead
            self.affected_leads.add(lead.lead_id)
            if decision.status == MatchStatus.MATCHED and query.direction == Direction.OUTBOUND:
                touches.append((query, lead.lead_id))
            if (
                note_decision(index, query, decision, prepared.message.header_message_id)
                and prepared.message.header_message_id
            ):
                headers.append(prepared.message.header_message_id)
            if prepared.message.store_id is None and lead.store_id is not None:
                store_fill[message_id] = lead.store_id  # a customer's message joins its lead's store
        repo.insert_matches(self.session, rows)
        repo.insert_keys(self.session, key_rows)
        repo.fill_message_stores(self.session, store_fill)
        self.affected_leads |= follow_thread(self.session, headers, self.matching)
        done = {message_id for _, _, message_id in items}
        self.affected_leads |= follow_touches(self.session, touches, self.matching, done)


def _bounce_rows(batch: list[Prepared], ids: list[int]) -> list[dict[str, Any]]:
    """The bounce_recipients rows of the batch's bounces: each address one reported, its status and time."""
    return [
        {"message_id": i, "address": address, "status": status or None, "bounced_at": p.message.sent_at}
        for p, i in zip(batch, ids, strict=True)
        if p.bounced
        for address, status in p.bounced.items()
    ]
