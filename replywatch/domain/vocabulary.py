"""The words of ARCHITECTURE.md as types: message kinds, directions, channels and match statuses.

Each is a StrEnum, so a member is its own string: it is stored, compared and written to CSV/JSON as is.
"""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    CALL = "call"  # a phone call: a touch when ours, contact when a conversation took place


# Channels whose customer is a phone number.
PHONE_CHANNELS = frozenset({Channel.SMS, Channel.CALL})


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Kind(StrEnum):
    LEAD = "lead"
    HUMAN = "human"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    READ_RECEIPT = "read_receipt"
    COMPLAINT = "complaint"
    LIST = "list"
    PROVIDER_NOTICE = "provider_notice"
    INTERNAL = "internal"
    OPT_OUT = "opt_out"  # revokes consent (SMS STOP and kin): its own outcome, never contact
    OPT_IN = "opt_in"  # gives it back (SMS START): counts like a reply


# Stored, never contact.
NOISE_KINDS = frozenset(Kind) - {Kind.LEAD, Kind.HUMAN, Kind.OPT_OUT, Kind.OPT_IN}


class MatchStatus(StrEnum):
    MATCHED = "matched"  # linked to a lead, by the rules or by a person
    REVIEW = "review"  # doubtful: waits for a person in the review queue
    UNMATCHED = "unmatched"  # no lead scored enough
    REJECTED = "rejected"  # a person said it belongs to none of its candidates
