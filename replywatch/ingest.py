"""Storing a batch of prepared items: messages and keys in bulk, leads, one candidate look-up, matches.

Statements per batch do not grow with its size: rows go in with one executemany each, and
candidate leads for every message come from two indexed queries.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session

from replywatch.directory import Directory
from replywatch.leads import LeadInput, add_leads, refresh_contacts
from replywatch.match.candidates import CandidateIndex, MatchQuery
from replywatch.match.link import decide_match, follow_thread, match_row
from replywatch.match.score import MATCHED
from replywatch.prepare import Prepared
from replywatch.store.models import Match, Message, MessageKey
from replywatch.store.repo import LeadRef


class BatchStore:
    """Writes prepared items; `affected_leads` gathers the leads whose contact state must be recomputed."""

    def __init__(
        self, session: Session, directory: Directory, open_days: int, now: datetime, default_store: str | None
    ) -> None:
        self.session, self.directory, self.open_days, self.now = session, directory, open_days, now
        self.default_store = default_store
        self.affected_leads: set[int] = set()

    def store(self, batch: list[Prepared]) -> int:
        """Store the items (none may be stored already); returns how many new leads they carried."""
        if not batch:
            return 0
        ids = self._insert_messages(batch)
        self._insert_keys(batch, ids)
        new_leads = self._leads([(p, i) for p, i in zip(batch, ids, strict=True) if p.leads])
        self._match([(p, i) for p, i in zip(batch, ids, strict=True) if p.message["kind"] != "lead"])
        return new_leads

    def finish(self) -> None:
        refresh_contacts(self.session, self.directory, self.affected_leads)

    def _insert_messages(self, batch: list[Prepared]) -> list[int]:
        stmt = insert(Message).returning(Message.id, sort_by_parameter_order=True)
        return list(self.session.scalars(stmt, [p.message for p in batch]))

    def _insert_keys(self, batch: list[Prepared], ids: list[int]) -> None:
        rows = [
            {"message_id": message_id, "role": role, "value": value[:500]}
            for p, message_id in zip(batch, ids, strict=True)
            for role, values in p.keys.items()
            for value in dict.fromkeys(values)
        ]
        if rows:
            self.session.execute(insert(MessageKey), rows)

    def _leads(self, notices: list[tuple[Prepared, int]]) -> int:
        inputs = [
            LeadInput(record, prepared.message["sent_at"], message_id)
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
        )
        self.affected_leads |= affected
        return len(new_ids)

    def _match(self, pairs: list[tuple[Prepared, int]]) -> None:
        """Decide in time order, so a reply follows a message of ours stored earlier in the same batch."""
        if not pairs:
            return
        queries = {i: MatchQuery(p.message["direction"], p.message["sent_at"], p.keys) for p, i in pairs}
        index = CandidateIndex.load(self.session, queries.values())
        rows: list[dict[str, object]] = []
        store_fill: list[dict[str, int]] = []
        headers: list[str] = []
        for prepared, message_id in sorted(pairs, key=lambda pair: pair[0].message["sent_at"]):
            decision = decide_match(index, queries[message_id], self.open_days)
            rows.append(match_row(message_id, decision, self.now))
            if decision.lead_id is None:
                continue
            lead = decision.lead
            assert lead is not None
            self.affected_leads.add(lead.lead_id)
            if decision.status == MATCHED and prepared.header_message_id:
                index.note_thread(
                    prepared.header_message_id, LeadRef(lead.lead_id, lead.received_at, lead.store_id)
                )
                headers.append(prepared.header_message_id)
            if prepared.message.get("store_id") is None and lead.store_id is not None:
                store_fill.append({"b_id": message_id, "b_store": lead.store_id})
        self.session.execute(insert(Match), rows)
        self._fill_stores(store_fill)
        self.affected_leads |= follow_thread(self.session, headers, self.open_days, self.now)

    def _fill_stores(self, rows: list[dict[str, int]]) -> None:
        """A customer's message belongs to the store of the lead it answers."""
        if rows:
            stmt = (
                update(Message).where(Message.id == bindparam("b_id")).values(store_id=bindparam("b_store"))
            )
            self.session.connection().execute(stmt, rows)
