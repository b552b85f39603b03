"""Housekeeping the daemon does between polls: matching again what a writer outside the pipeline hid.

The pipeline stores batches, of every source and daemon, one after another (store.db.batch_transaction),
each seeing what the ones before it committed; `leads import` and review decisions take the same turn, and
so does this sweep when it writes. A writer that does not (an older replywatch during an upgrade, a script
writing to the store) can still look for the other's rows before they were committed: the reply or the
touch then stays unmatched. Whenever new leads or messages have been stored since the last sweep, the
messages stored in the last RECENT that are still unmatched or in review, that a person has not decided
and that are not noise, are matched again (in time order, so a touch found again explains the replies
after it), and the contact state of the leads they move is recomputed.

Since every batch takes that turn, the sweep is a safety net that should find nothing: whenever it does
change a match it says so (WARNING, with the messages), for that means some writer bypassed the turn.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from replywatch.config import Settings
from replywatch.ingest.directory import Directory
from replywatch.ingest.leads import refresh_contacts
from replywatch.match.link import Matching, rematch
from replywatch.match.policy import MatchPolicy
from replywatch.store import Sessions, repo
from replywatch.store.db import batch_transaction

log = logging.getLogger(__name__)
RECENT = timedelta(minutes=15)  # far longer than any batch transaction lasts

Seen = tuple[int, int]  # the newest lead id and message id a sweep has looked at


def sweep_recent(
    sessions: Sessions,
    settings: Settings,
    directory: Directory,
    policy: MatchPolicy,
    now: datetime,
    seen: Seen,
) -> Seen:
    """Re-match the recent undecided messages if anything was stored since `seen`; the new watermark."""
    with sessions() as session:
        newest = repo.newest_ids(session)
    if newest[0] <= seen[0] and newest[1] <= seen[1]:
        return seen
    with batch_transaction(sessions) as session:  # the write lock only when there is something to look at
        ids = repo.undecided_since(session, now - RECENT)
        if ids:
            before = repo.match_states(session, ids)
            matching = Matching(policy, settings.matching.lead_open_days, directory, now)
            affected = rematch(session, ids, matching)
            refresh_contacts(session, directory, affected, now=now)
            after = repo.match_states(session, ids)
            changed = sorted(m for m in set(before) | set(after) if before.get(m) != after.get(m))
            if changed:
                log.warning(
                    "the sweep changed %d of %d recent matches (messages %s): a writer stored them outside"
                    " the batch turn",
                    len(changed),
                    len(ids),
                    ", ".join(map(str, changed[:20])),
                    extra={"changed": len(changed)},
                )
    return newest
