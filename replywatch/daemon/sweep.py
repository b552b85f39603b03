"""Housekeeping the daemon does between polls: re-matching recent unmatched replies when leads arrive.

A lead and a reply stored at the same moment by two daemons (or two sources of one daemon on
PostgreSQL) can miss each other: each transaction looked for the other before it was committed. When
new leads appear, the replies stored lately that are still unmatched or in review (and that no person
decided) are matched again, so such a race costs at most one housekeeping interval.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from replywatch.config import Settings
from replywatch.directory import Directory
from replywatch.leads import refresh_contacts
from replywatch.match.link import Matching, rematch
from replywatch.match.policy import MatchPolicy
from replywatch.match.score import REVIEW_STATUS, UNMATCHED
from replywatch.parse.types import INBOUND
from replywatch.store.models import Lead, Match, Message

log = logging.getLogger(__name__)
RECENT = timedelta(minutes=15)  # far longer than any batch transaction lasts


def sweep_new_leads(
    sessions: sessionmaker[Session], settings: Settings, policy: MatchPolicy, now: datetime, seen_lead_id: int
) -> int:
    """When leads newer than `seen_lead_id` exist, re-match the replies stored in the last RECENT that
    are undecided. Returns the newest lead id seen, the watermark for the next call."""
    with sessions() as session, session.begin():
        newest = session.scalar(select(func.max(Lead.id))) or 0
        if newest <= seen_lead_id:
            return seen_lead_id
        ids = list(
            session.scalars(
                select(Match.message_id)
                .join(Message, Message.id == Match.message_id)
                .where(
                    Match.status.in_((UNMATCHED, REVIEW_STATUS)),
                    Match.decided_by == "auto",
                    Message.direction == INBOUND,
                    Message.ingested_at >= now - RECENT,
                )
            )
        )
        if ids:
            directory = Directory(session, settings)
            matching = Matching(policy, settings.matching.lead_open_days, directory, now)
            affected = rematch(session, ids, matching)
            refresh_contacts(session, directory, affected)
            if affected:
                log.info(
                    "re-matched %d recent replies after new leads; %d leads changed", len(ids), len(affected)
                )
    return newest
