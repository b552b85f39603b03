"""What a phone call means for contact: a connected conversation, a voicemail, a missed call.

A call is a conversation when it completed, no machine answered it, and it lasted at least the store's
minimum (`[contact] min_call_seconds`). Pure: the rules of contact read it, the parsers feed it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

DEFAULT_MIN_CALL_SECONDS = 30


class CallStatus(StrEnum):
    """How a call ended, in the words of the call log CSV (Twilio's, with `no-answer` hyphenated)."""

    COMPLETED = "completed"
    NO_ANSWER = "no-answer"
    BUSY = "busy"
    FAILED = "failed"
    CANCELED = "canceled"


# Twilio's answering machine detection: `machine_start`, `machine_end_beep`, `machine_end_silence`,
# `machine_end_other`, `fax`; call-tracking exports write `machine` or `voicemail`.
_MACHINE_PREFIXES = ("machine", "fax", "voicemail")


def is_machine(answered_by: str | None) -> bool:
    """A machine (voicemail, fax) took the call; `human`, `unknown` and nothing at all are not one."""
    return bool(answered_by) and str(answered_by).strip().lower().startswith(_MACHINE_PREFIXES)


@dataclass(frozen=True)
class CallOutcome:
    """The facts of one call that contact reads: how it ended, how long, who picked up."""

    status: str | None
    duration_s: int | None
    answered_by: str | None

    def is_conversation(self, min_seconds: int) -> bool:
        """Two people talked: completed, not a machine, at least `min_seconds` long."""
        return (
            self.status == CallStatus.COMPLETED
            and not is_machine(self.answered_by)
            and (self.duration_s or 0) >= min_seconds
        )

    def is_missed(self) -> bool:
        """Nobody took the call: it did not complete (no answer, busy, failed, canceled) or a machine did
        (our voicemail). Read for the customer's calls to us: a missed one is a lead to call back."""
        if not self.status:
            return False  # a log that does not say how the call ended says nothing of it
        return self.status != CallStatus.COMPLETED or is_machine(self.answered_by)

    def describe(self) -> str:
        """A line a person reads on the lead or in review: `call 1 min 35 s, completed (human)`."""
        parts = [f"call {_length(self.duration_s)}" if self.duration_s else "call"]
        parts.append(f", {self.status}" if self.status else "")
        if self.answered_by:
            parts.append(f" ({'voicemail' if is_machine(self.answered_by) else self.answered_by})")
        return "".join(parts)


def _length(seconds: int | None) -> str:
    minutes, rest = divmod(seconds or 0, 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"
