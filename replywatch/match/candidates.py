"""Candidate leads for messages, from a few indexed look-ups per batch: addresses and numbers, thread
headers, name blocking keys, and the texts we sent to the customers' numbers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from replywatch.domain.lead import LeadRef
from replywatch.domain.vocabulary import PHONE_CHANNELS, Direction
from replywatch.match.evidence import vehicle_named, vehicle_words
from replywatch.match.names import PersonName, exact_keys_to_find_leads, keys_to_find_leads
from replywatch.match.namescore import lead_names, name_reasons
from replywatch.match.score import Candidate
from replywatch.match.types import MatchQuery
from replywatch.store import Session, repo

# A lead notice may reach the inbox a little after the customer's first mail or text about it.
EARLY_SLACK = timedelta(days=1)
RECENT = timedelta(days=14)  # a conversation still going on
_Add = Callable[[LeadRef, str], None]


@dataclass
class TouchNotes:
    """Our messages matched in this unit of work and not yet in the leads' stored state: first touch,
    who wrote, and the texts to each customer number. Shared by every index of one batch."""

    first: dict[int, datetime] = field(default_factory=dict)
    by: dict[int, set[int]] = field(default_factory=dict)
    texts: dict[str, list[tuple[datetime, int]]] = field(default_factory=dict)

    def note(self, query: MatchQuery, lead: LeadRef) -> None:
        earlier = self.first.get(lead.lead_id)
        if earlier is None or query.sent_at < earlier:
            self.first[lead.lead_id] = query.sent_at
        self.by.setdefault(lead.lead_id, set()).update(query.associates)
        if query.channel in PHONE_CHANNELS:  # our calls to a number tell whose household it is, as texts do
            for number in query.keys.get("to", ()):
                self.texts.setdefault(number, []).append((query.sent_at, lead.lead_id))


_PRIMARY_NAMES = frozenset(
    {"name", "name_nickname", "name_fuzzy", "name_initial", "address_name", "address_initial"}
)


def is_phone(value: str) -> bool:
    return value.startswith("+")


_INBOUND_ROLES = (("reply_to", "reply_to"), ("from", "from"))
_OUTBOUND_ROLES = (("to", "recipient"), ("cc", "recipient"))
# The roles whose values are looked up as lead identities.
_IDENTITY_ROLES = frozenset({"from", "reply_to", "to", "cc", "loose", "text_phone"})


def _address_roles(direction: str) -> tuple[tuple[str, str], ...]:
    return _INBOUND_ROLES if direction == Direction.INBOUND else _OUTBOUND_ROLES


@dataclass
class CandidateIndex:
    """The leads a set of messages can reach, loaded at once. `note_*` add what was decided earlier in
    the same batch (a thread, a touch, a text), so later messages see it before anything is committed."""

    by_identity: dict[str, list[tuple[str, LeadRef]]]
    by_header: dict[str, LeadRef]
    by_name_key: dict[str, list[LeadRef]] = field(default_factory=dict)
    texts: dict[str, list[tuple[datetime, int]]] = field(default_factory=dict)  # customer number → (at, lead)
    notes: TouchNotes = field(default_factory=TouchNotes)

    @classmethod
    def load(
        cls, session: Session, queries: Iterable[MatchQuery], open_days: int, notes: TouchNotes | None = None
    ) -> CandidateIndex:
        queries = list(queries)
        values: set[str] = set()
        refs: set[str] = set()
        for q in queries:
            for role, keyed in q.keys.items():  # a message has few of the roles
                if role in _IDENTITY_ROLES:
                    values.update(keyed)
                elif role == "ref":
                    refs.update(keyed)
        notes = notes if notes is not None else TouchNotes()
        if not queries:
            return cls({}, {}, notes=notes)
        start = min(q.sent_at for q in queries) - timedelta(days=open_days)
        end = max(q.sent_at for q in queries) + EARLY_SLACK
        by_identity = repo.leads_by_identity_values(session, values)
        by_header = repo.thread_leads(session, refs)
        by_name_key = _leads_by_name(session, queries, timedelta(days=open_days), start, end)
        # Our texts to a number only corroborate a candidate (last_texted): the numbers of texts that can
        # have none (no lead has their number or an address of theirs, no name, no thread) are not read.
        phones = {
            number
            for q in queries
            if q.channel in PHONE_CHANNELS and q.direction == Direction.INBOUND and _may_reach(q, by_identity)
            for number in q.keys.get("from", ())
        }
        texts = repo.texts_to_numbers(session, phones, start, end)
        return cls(by_identity, by_header, by_name_key, texts, notes)

    def note_thread(self, header_message_id: str | None, lead: LeadRef) -> None:
        if header_message_id:
            self.by_header[header_message_id] = lead

    def note_touch(self, query: MatchQuery, lead: LeadRef) -> None:
        self.notes.note(query, lead)

    def candidates(self, query: MatchQuery, open_days: int) -> list[Candidate]:
        """Leads open at the message's time that it names, each with the reasons it does."""
        found: dict[int, Candidate] = {}

        def add(lead: LeadRef, reason: str) -> None:
            candidate = found.get(lead.lead_id)
            if candidate is None:
                candidate = found[lead.lead_id] = Candidate(lead)
            candidate.reasons.add(reason)

        for ref in query.keys.get("ref", ()):
            if ref in self.by_header:
                add(self.by_header[ref], "thread")
        self._identities(query, add)
        window = timedelta(days=open_days)
        if query.direction == Direction.INBOUND and query.names:
            self._names(query, add, window)
        open_ = [
            c
            for c in found.values()
            if c.lead.received_at - EARLY_SLACK <= query.sent_at <= c.lead.received_at + window
        ]
        if open_:
            texts = query.channel in PHONE_CHANNELS and query.direction == Direction.INBOUND
            texted = self._last_texted(query) if texts else None
            for c in open_:
                self._corroborate(c, query, texted)
        return open_

    def _identities(self, query: MatchQuery, add: _Add) -> None:
        for role, prefix in _address_roles(query.direction):
            for value in query.keys.get(role, ()):
                leads = self.by_identity.get(value)
                if leads:
                    reason = f"{prefix}_{'phone' if is_phone(value) else 'email'}"
                    for _, lead in leads:
                        add(lead, reason)
        for value in query.keys.get("loose", ()):
            for kind, lead in self.by_identity.get(value, ()):
                if kind in ("email", "loose"):
                    add(lead, "loose_email")
        for value in query.keys.get("text_phone", ()):
            for kind, lead in self.by_identity.get(value, ()):
                if kind == "phone":
                    add(lead, "text_phone")

    def _names(self, query: MatchQuery, add: _Add, window: timedelta) -> None:
        seen: set[int] = set()
        for name in query.names:
            for key in name_keys(self.by_name_key, name, query.sent_at, window):
                for lead in self.by_name_key.get(key, ()):
                    if lead.lead_id in seen:
                        continue
                    seen.add(lead.lead_id)
                    for reason in _name_reasons(query.names, lead) & _PRIMARY_NAMES:
                        add(lead, reason)

    def _corroborate(self, c: Candidate, query: MatchQuery, texted: int | None) -> None:
        """`texted`: the lead we last texted at the number the text came from (_last_texted)."""
        lead = c.lead
        names = query.names
        if names:
            c.reasons |= _name_reasons(names, lead)  # for our own message: whom it greets
        if query.direction == Direction.INBOUND:
            if lead.vehicle and vehicle_named(lead.vehicle, _vehicle_words(query.about)):
                c.reasons.add("vehicle")
            if query.associates and self._by_associate(lead, query.associates):
                c.reasons.add("associate")
            if names and _PRIMARY_NAMES & _name_reasons(tuple(n for n in names if n.source == "text"), lead):
                c.reasons.add("intro")  # they introduced themselves: people do when writing from elsewhere
            if lead.store_id is not None and lead.store_id in query.stores:
                c.reasons.add("store")
            if texted == lead.lead_id:  # an inbound text only has a lead last texted
                c.reasons.add("last_texted")
        noted, first = self.notes.first.get(lead.lead_id), lead.first_touch_at
        touched = min(noted, first) if noted and first else noted or first
        c.touched_before = touched is not None and touched <= query.sent_at
        if (
            c.touched_before
            and touched
            and query.direction == Direction.INBOUND
            and query.sent_at - touched <= RECENT
        ):
            c.reasons.add("recent_touch")

    def _by_associate(self, lead: LeadRef, associates: frozenset[int]) -> bool:
        """The lead's associate, or one who wrote to it in this unit of work, is among `associates`."""
        return lead.associate_id in associates or not associates.isdisjoint(
            self.notes.by.get(lead.lead_id, ())
        )

    def _last_texted(self, query: MatchQuery) -> int | None:
        numbers = query.keys.get("from", ())
        sent = [t for n in numbers for t in (*self.texts.get(n, ()), *self.notes.texts.get(n, ()))]
        before = [t for t in sent if t[0] <= query.sent_at]
        return max(before)[1] if before else None


def _may_reach(query: MatchQuery, by_identity: dict[str, list[tuple[str, LeadRef]]]) -> bool:
    """The query can have a candidate: a lead has one of its addresses or numbers, or it names someone
    or a thread (a thread may be noted later in the batch: any reference counts)."""
    if query.names or query.keys.get("ref"):
        return True
    return any(
        v in by_identity for role, keyed in query.keys.items() if role in _IDENTITY_ROLES for v in keyed
    )


@lru_cache(maxsize=256)
def _vehicle_words(about: str) -> frozenset[str]:
    """vehicle_words of a message, read only when a candidate has a car, once for all its candidates."""
    return vehicle_words(about)


def name_keys(
    by_key: dict[str, list[LeadRef]], name: PersonName, at: datetime, window: timedelta
) -> frozenset[str]:
    """The keys a name reads: the surname as written when a lead open at `at` bears it so (or with a
    nickname), else its one-slip spellings too. A namesake as written outranks a near-namesake (name 0.8,
    name_fuzzy 0.72), so slips are looked for only when there is none: a block then holds the namesakes
    of the name, not its neighbours as well."""
    exact = exact_keys_to_find_leads(name)
    if any(_bears(lead, name, at, window) for key in exact for lead in by_key.get(key, ())):
        return exact
    return keys_to_find_leads(name)


def _bears(lead: LeadRef, name: PersonName, at: datetime, window: timedelta) -> bool:
    """The lead is open at `at` and has the name's surname as written (a key of the surname as written
    also holds the leads with one letter more: their slips)."""
    if not lead.received_at - EARLY_SLACK <= at <= lead.received_at + window:
        return False
    written = set(name.last)
    return any(
        written.intersection(n.last) for n in lead_names(lead.first_name, lead.last_name, lead.full_name)
    )


def _leads_by_name(
    session: Session, queries: list[MatchQuery], window: timedelta, start: datetime, end: datetime
) -> dict[str, list[LeadRef]]:
    """Leads under the names' keys as written, then under the slips of the names no open lead bears."""
    # A name without a surname (a greeting, "this is Maria") has no keys.
    named = [(q.sent_at, name) for q in queries for name in q.names if name.last]
    exact = {key for _, name in named for key in exact_keys_to_find_leads(name)}
    found = repo.leads_by_name_keys(session, exact, start, end)
    slipped = {key for at, name in named for key in name_keys(found, name, at, window)} - exact
    if slipped:
        found.update(repo.leads_by_name_keys(session, slipped, start, end))
    return found


def _name_reasons(names: tuple[PersonName, ...], lead: LeadRef) -> set[str]:
    if not names:
        return set()
    return set(_cached_reasons(names, lead_names(lead.first_name, lead.last_name, lead.full_name)))


@lru_cache(maxsize=65536)
def _cached_reasons(names: tuple[PersonName, ...], lead: tuple[PersonName, ...]) -> frozenset[str]:
    return frozenset(name_reasons(names, lead))
