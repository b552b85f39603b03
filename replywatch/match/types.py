"""What matching knows of a lead and of a message: plain records, no database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from replywatch.match.names import PersonName


@dataclass(frozen=True)
class LeadRef:
    """A lead as matching sees it: when it was received, where, by whom, the customer's name, the car."""

    lead_id: int
    received_at: datetime
    store_id: int | None
    associate_id: int | None = None
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    vehicle: str | None = None
    first_touch_at: datetime | None = None


@dataclass(frozen=True)
class MatchQuery:
    """What matching needs from a message: direction, time, keys by role, and what its text tells."""

    direction: str
    sent_at: datetime
    keys: Mapping[str, Sequence[str]]  # from, reply_to, to, cc, ref, loose, text_phone, name
    channel: str = "email"
    names: tuple[PersonName, ...] = ()  # display name, text, signature, address readings
    about: str = ""  # subject and text of an inbound message, whose words may name the lead's car
    associates: frozenset[int] = frozenset()  # our associates it was written to (or from)
    stores: frozenset[int] = frozenset()  # their stores
    ours: tuple[str, ...] = ()  # our addresses or numbers it was written to
