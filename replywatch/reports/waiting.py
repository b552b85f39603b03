"""What waits on someone: leads of a week that nobody has touched yet (no follow-up, no reply), replies
waiting in review, and addresses that bounced."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session

from replywatch.domain.vocabulary import Kind, MatchStatus
from replywatch.reports.directory import UNASSIGNED
from replywatch.reports.metrics import Window, in_window, without_jit
from replywatch.store.models import Associate, Lead, LeadIdentity, Match, Message


@dataclass(frozen=True)
class WaitingLead:
    lead_id: str  # the provider's id, as `contacts export` and the CRM show it
    name: str
    source: str
    associate: str
    store_id: int | None
    received_at: datetime


@dataclass(frozen=True)
class Waiting:
    total: int
    first: list[WaitingLead]  # the oldest `limit` of them


@dataclass(frozen=True)
class Attention:
    awaiting_review: int  # leads with a reply waiting in the review queue
    bouncing: int  # leads with an address a bounce reported as failing


def needs_attention(session: Session, window: Window) -> Attention:
    """Of the window's leads: how many have a reply in review, and how many an address that bounced."""
    without_jit(session)
    bounced = or_(
        _bounced_addresses() > 0, _matched_count(Match.status == MatchStatus.MATCHED, bounce=True) > 0
    )
    flags = (_flag(_matched_count(Match.status == MatchStatus.REVIEW) > 0), _flag(bounced))
    rows = select(flags[0].label("review"), flags[1].label("bounced")).where(in_window(window)).subquery()
    review, bouncing = session.execute(select(func.sum(rows.c.review), func.sum(rows.c.bounced))).one()
    return Attention(int(review or 0), int(bouncing or 0))


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _matched_count(*conditions: ColumnElement[bool], bounce: bool = False) -> ColumnElement[int]:
    """How many matches of the row's lead meet the conditions: a correlated scalar subquery, which both
    backends run per lead on ix_matches_lead_status (PostgreSQL turns EXISTS into a hash of every match)."""
    stmt = select(func.count()).select_from(Match).where(Match.lead_id == Lead.id, *conditions)
    if bounce:
        stmt = stmt.join(Message, Message.id == Match.message_id).where(Message.kind == Kind.BOUNCE)
    return stmt.scalar_subquery()


def _bounced_addresses() -> ColumnElement[int]:
    """How many of the row's lead's addresses a bounce reported as failing (on the lead_id index)."""
    stmt = select(func.count()).select_from(LeadIdentity)
    return stmt.where(LeadIdentity.lead_id == Lead.id, LeadIdentity.bounced_at.is_not(None)).scalar_subquery()


def untouched_leads(session: Session, window: Window, now: datetime, limit: int = 10) -> Waiting:
    """Leads of the window with no touch and no contact by `now` (opted-out ones have answered)."""
    never = (
        in_window(window),
        Lead.received_at <= now,
        Lead.first_touch_at.is_(None),
        Lead.contact_at.is_(None),
        Lead.opted_out_at.is_(None),
    )
    total = session.scalar(select(func.count()).select_from(Lead).where(*never)) or 0
    stmt = (
        select(Lead.external_id, Lead.full_name, Lead.first_name, Lead.last_name, Lead.source)
        .add_columns(Associate.name, Lead.store_id, Lead.received_at)
        .outerjoin(Associate, Associate.id == Lead.associate_id)
        .where(*never)
        .order_by(Lead.received_at, Lead.id)
        .limit(limit)
    )
    first = [
        WaitingLead(lead_id, _name(full, given, family), source, associate or UNASSIGNED, store_id, received)
        for lead_id, full, given, family, source, associate, store_id, received in session.execute(stmt)
    ]
    return Waiting(total, first)


def _name(full: str | None, given: str | None, family: str | None) -> str:
    return full or " ".join(p for p in (given, family) if p) or "(no name)"
