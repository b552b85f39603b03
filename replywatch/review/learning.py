"""What a person's decision teaches a lead (the sender's address or number) and how it is taken back.

An accepted message adds its sender to the lead, so the next message matches on its own. When that
decision is overturned or undone, what it added goes again (unless another message a person linked to
the same lead still teaches it), and the messages matched on the strength of it are decided again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from replywatch.domain.normalize import loose_email
from replywatch.domain.vocabulary import Direction, Kind, MatchStatus
from replywatch.ingest.directory import Directory
from replywatch.match.link import Matching, rematch, rematch_for_leads
from replywatch.store import Session, repo, reviews
from replywatch.store import decision_record as record
from replywatch.store.decision_record import StandingDecision
from replywatch.store.reviews import QueuedMessage

# The kinds whose sender is the customer.
CUSTOMER_KINDS = (Kind.HUMAN, Kind.OPT_OUT, Kind.OPT_IN)
SENDER_ROLES = ("from", "reply_to")
# A lead may be received a little after the first message about it (as matching allows).
SLACK = timedelta(days=1)


def learn(session: Session, directory: Directory, item: QueuedMessage, lead_id: int) -> list[tuple[str, str]]:
    """The customer wrote from an address or number the lead lacked: the lead gets it (and its loose
    form). Returns the (kind, value) pairs added."""
    if item.direction != Direction.INBOUND or item.kind not in CUSTOMER_KINDS:
        return []
    senders = reviews.message_keys(session, item.id, SENDER_ROLES)
    wanted = _identities(v for v in senders if not _ours(directory, v))
    added = sorted(wanted - reviews.lead_identities(session, lead_id))
    reviews.add_lead_identities(session, lead_id, added)
    return added


def unlearn(session: Session, item: QueuedMessage, decision: StandingDecision) -> list[tuple[str, str]]:
    """Take back what `decision` taught its lead, but for what the lead's other linked messages teach."""
    if decision.lead_id is None or not decision.learned:
        return []
    still = _identities(record.sender_keys_taught(session, decision.lead_id, item.id))
    gone = [x for x in decision.learned if x not in still]
    record.remove_lead_identities(session, decision.lead_id, gone)
    return gone


def take_from_link(session: Session, item: QueuedMessage, lead_id: int | None) -> list[tuple[str, str, int]]:
    """A person overturns an automatic link: what people's decisions taught its lead about this sender
    goes (the mail followed it there), as (kind, value, lead)."""
    if item.status != MatchStatus.MATCHED or item.lead_id is None or item.lead_id == lead_id:
        return []
    senders = _identities(reviews.message_keys(session, item.id, SENDER_ROLES))
    return [
        (kind, value, item.lead_id) for kind, value in record.take_learned(session, item.lead_id, senders)
    ]


def give_back(session: Session, taken: list[tuple[str, str, int]]) -> list[tuple[str, str]]:
    """Undoing the decision that took them: the identities return to their leads."""
    for lead_id in {lead for _, _, lead in taken}:
        known = reviews.lead_identities(session, lead_id)
        wanted = sorted({(k, v) for k, v, lead in taken if lead == lead_id} - known)
        reviews.add_lead_identities(session, lead_id, wanted)
    return [(k, v) for k, v, _ in taken]


def redecide(session: Session, item: QueuedMessage, values: list[str], matching: Matching) -> set[int]:
    """Messages that depended on what changed are matched again (none that a person decided): those
    from the addresses learned or unlearned, and the replies in the message's thread. Returns the leads
    whose messages changed."""
    since = item.sent_at - SLACK
    affected = rematch_for_leads(session, sorted(set(values)), since, matching) if values else set()
    if item.header_message_id:
        thread = repo.message_ids_by_keys(session, ["ref"], [item.header_message_id], item.sent_at - SLACK)
        affected |= rematch(session, thread, matching) if thread else set()
    return affected


def values_of(identities: list[tuple[str, str]]) -> list[str]:
    return [value for _, value in identities]


def shown(identities: list[tuple[str, str]]) -> list[str]:
    """The addresses and numbers a person would recognise (not their loose forms)."""
    return [value for kind, value in identities if kind != "loose"]


def _identities(values: Iterable[str]) -> set[tuple[str, str]]:
    """(kind, value) of sender keys, with the loose form of each address."""
    found: set[tuple[str, str]] = set()
    for value in values:
        found.add((_kind(value), value))
        if "@" in value and (loose := loose_email(value)) != value:
            found.add(("loose", loose))
    return found


def _ours(directory: Directory, value: str) -> bool:
    return bool(directory.associates_of(_kind(value), value))


def _kind(value: str) -> str:
    return "phone" if value.startswith("+") else "email"
