"""What matching knows of a message: a plain record, no database (a lead: domain.lead.LeadRef)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from replywatch.match.names import PersonName


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
