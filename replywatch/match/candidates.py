"""Candidate leads for a message, found through indexed look-ups: thread headers, emails, phones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from replywatch.match.score import Candidate
from replywatch.parse.types import INBOUND
from replywatch.store import repo


@dataclass(frozen=True)
class MatchQuery:
    """What matching needs from a stored message: direction, time, and its keys by role."""

    direction: str
    sent_at: datetime
    keys: Mapping[str, Sequence[str]]  # from, reply_to, to, cc (normalized), ref (Message-IDs)


def is_phone(value: str) -> bool:
    return value.startswith("+")


def find_candidates(session: Session, query: MatchQuery, open_days: int) -> list[Candidate]:
    """Leads open at the message's time that the message names, each with the reasons it does."""
    found: dict[int, list[str]] = {}
    for lead_id in repo.thread_lead_ids(session, list(query.keys.get("ref", ()))):
        found.setdefault(lead_id, []).append("thread")
    for role, reason_prefix in _address_roles(query.direction):
        values = query.keys.get(role, ())
        for kind in ("email", "phone"):
            wanted = [v for v in values if is_phone(v) == (kind == "phone")]
            for lead_id in repo.lead_ids_by_identity(session, kind, wanted):
                found.setdefault(lead_id, []).append(f"{reason_prefix}_{kind}")
    leads = repo.leads_by_ids(session, list(found))
    window = timedelta(days=open_days)
    return [
        Candidate(lead.id, lead.received_at, found[lead.id])
        for lead in leads
        if lead.received_at - timedelta(days=1) <= query.sent_at <= lead.received_at + window
    ]


def _address_roles(direction: str) -> list[tuple[str, str]]:
    if direction == INBOUND:
        return [("reply_to", "reply_to"), ("from", "from")]
    return [("to", "recipient"), ("cc", "recipient")]
