"""Scoring and the decision: one score per candidate lead with named reasons; auto, review or unmatched.

Pure: candidates come in, a decision goes out. Fuzzy names and the review queue slot in here by
adding reasons and weights; the thresholds move to rules/30-matching.toml with that work.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

# Strongest first. A thread header names our own message; an address or number is the customer's.
REASON_SCORES = {
    "thread": 1.0,
    "reply_to_email": 0.95,
    "from_email": 0.95,
    "recipient_email": 0.95,
    "from_phone": 0.9,
    "recipient_phone": 0.9,
}
AUTO = 0.9
REVIEW = 0.6
MATCHED, REVIEW_STATUS, UNMATCHED = "matched", "review", "unmatched"


@dataclass
class Candidate:
    lead_id: int
    received_at: datetime
    reasons: list[str] = field(default_factory=list)
    store_id: int | None = None

    @property
    def score(self) -> float:
        return max((REASON_SCORES[r] for r in self.reasons), default=0.0)


@dataclass(frozen=True)
class Decision:
    status: str
    lead_id: int | None
    score: float
    reasons: list[dict[str, object]]  # the ranked candidates: lead, score, reasons
    lead: Candidate | None = None  # the chosen candidate (matched or for review)


def decide(candidates: Iterable[Candidate], sent_at: datetime) -> Decision:
    """Highest score wins; among equals (one shopper, several leads) the latest lead received before it."""
    ranked = sorted(candidates, key=lambda c: _rank(c, sent_at), reverse=True)
    explained: list[dict[str, object]] = [
        {"lead_id": c.lead_id, "score": c.score, "reasons": sorted(set(c.reasons))} for c in ranked
    ]
    if not ranked or ranked[0].score < REVIEW:
        return Decision(UNMATCHED, None, ranked[0].score if ranked else 0.0, explained)
    top = ranked[0]
    status = MATCHED if top.score >= AUTO else REVIEW_STATUS
    return Decision(status, top.lead_id, top.score, explained, top)


def _rank(c: Candidate, sent_at: datetime) -> tuple[float, int, float]:
    received_before = c.received_at <= sent_at
    return (c.score, int(received_before), c.received_at.timestamp() * (1 if received_before else -1))
