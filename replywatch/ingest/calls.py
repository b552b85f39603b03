"""Who is on a call: the customer's number, our side's numbers and associate, and so its direction.

A call log names up to three numbers: the caller, the number called, and the number a forwarded call
rang (`dialed`). Ours are the associates' phones; the customer is the one that is not. A call the
customer placed is inbound, one we placed (from our number, a softphone `client:…`, or a click-to-call
that rang the associate first) outbound. A call between our own numbers is internal.
"""

from __future__ import annotations

from dataclasses import dataclass

from replywatch.domain.normalize import normalize_phone
from replywatch.domain.vocabulary import Direction, Kind
from replywatch.ingest.directory import Directory
from replywatch.parse.types import ParsedCall


@dataclass(frozen=True)
class CallParties:
    direction: str
    kind: str  # human, or internal between our own numbers
    customer: str | None  # E.164; None when the caller hid their number
    ours: tuple[str, ...]  # our numbers on the call, E.164
    associate_id: int | None

    @property
    def sender(self) -> str | None:
        return self.customer if self.direction == Direction.INBOUND else next(iter(self.ours), None)

    def keys(self) -> dict[str, list[str]]:
        """The message keys matching reads: the customer as sender or recipient, ours on the other side."""
        customer = [self.customer] if self.customer else []
        if self.direction == Direction.INBOUND:
            return {"from": customer, "to": list(self.ours)}
        return {"from": list(self.ours), "to": customer}


def call_parties(call: ParsedCall, directory: Directory, region: str) -> CallParties:
    caller, called = normalize_phone(call.sender, region), normalize_phone(call.recipient, region)
    dialed = normalize_phone(call.dialed, region) if call.dialed else None

    def ours(number: str | None) -> bool:
        return bool(directory.associates_of("phone", number))

    placed_by_us = ours(caller) or ":" in call.sender  # a softphone or SIP identity is one of ours
    if call.direction == Direction.INBOUND and not placed_by_us:
        direction, customer = Direction.INBOUND, caller  # None when the caller hid the number
    else:
        direction = Direction.OUTBOUND
        # The leg a <Dial> rang is the far end (click-to-call rings the associate first), unless it is ours.
        customer = next((n for n in (dialed, called) if n and not ours(n)), None)
    numbers = [n for n in (dialed, called, caller) if n]
    our_numbers = tuple(dict.fromkeys(n for n in numbers if ours(n)))
    associates = [a for n in our_numbers for a in directory.associates_of("phone", n)]
    between_us = customer is None and bool(our_numbers) and len(our_numbers) == len(set(numbers))
    return CallParties(
        direction=direction,
        kind=Kind.INTERNAL if between_us else Kind.HUMAN,
        customer=customer,
        ours=our_numbers,
        associate_id=associates[0] if associates else None,
    )
