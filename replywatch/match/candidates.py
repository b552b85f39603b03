"""Candidate leads for messages, from two indexed look-ups per batch: addresses and thread headers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from replywatch.match.score import Candidate
from replywatch.parse.types import INBOUND
from replywatch.store import repo
from replywatch.store.repo import LeadRef

# A lead notice may reach the inbox a little after the customer's first mail or text about it.
EARLY_SLACK = timedelta(days=1)


@dataclass(frozen=True)
class MatchQuery:
    """What matching needs from a message: direction, time, and its keys by role."""

    direction: str
    sent_at: datetime
    keys: Mapping[str, Sequence[str]]  # from, reply_to, to, cc (normalized), ref (Message-IDs)


def is_phone(value: str) -> bool:
    return value.startswith("+")


def _address_roles(direction: str) -> list[tuple[str, str]]:
    if direction == INBOUND:
        return [("reply_to", "reply_to"), ("from", "from")]
    return [("to", "recipient"), ("cc", "recipient")]


class CandidateIndex:
    """The leads that a set of messages can reach, loaded at once; `note_thread` adds a message
    decided earlier in the same batch, so a reply can follow it before anything is committed."""

    def __init__(self, by_identity: dict[str, list[LeadRef]], by_header: dict[str, LeadRef]) -> None:
        self.by_identity, self.by_header = by_identity, by_header

    @classmethod
    def load(cls, session: Session, queries: Iterable[MatchQuery]) -> CandidateIndex:
        values: set[str] = set()
        refs: set[str] = set()
        for q in queries:
            refs.update(q.keys.get("ref", ()))
            for role in ("from", "reply_to", "to", "cc"):
                values.update(q.keys.get(role, ()))
        return cls(repo.leads_by_identity_values(session, values), repo.thread_leads(session, refs))

    def note_thread(self, header_message_id: str | None, lead: LeadRef) -> None:
        if header_message_id:
            self.by_header[header_message_id] = lead

    def candidates(self, query: MatchQuery, open_days: int) -> list[Candidate]:
        """Leads open at the message's time that it names, each with the reasons it does."""
        found: dict[int, tuple[LeadRef, list[str]]] = {}
        for ref in query.keys.get("ref", ()):
            lead = self.by_header.get(ref)
            if lead:
                found.setdefault(lead.lead_id, (lead, []))[1].append("thread")
        for role, prefix in _address_roles(query.direction):
            for value in query.keys.get(role, ()):
                kind = "phone" if is_phone(value) else "email"
                for lead in self.by_identity.get(value, ()):
                    found.setdefault(lead.lead_id, (lead, []))[1].append(f"{prefix}_{kind}")
        window = timedelta(days=open_days)
        return [
            Candidate(lead.lead_id, lead.received_at, reasons, lead.store_id)
            for lead, reasons in found.values()
            if lead.received_at - EARLY_SLACK <= query.sent_at <= lead.received_at + window
        ]
