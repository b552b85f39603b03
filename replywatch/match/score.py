"""Scoring and the decision: one score per candidate lead with named reasons; auto, review or unmatched.

Pure: candidates come in, a decision goes out. What each reason is worth and the thresholds come
from the policy (rules/30-matching.toml).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from replywatch.domain.lead import LeadRef
from replywatch.domain.vocabulary import MatchStatus
from replywatch.match.namescore import lead_names, name_reason
from replywatch.match.policy import MatchPolicy

_SAME_PERSON = frozenset({"name", "name_nickname", "name_fuzzy"})
IDENTITY = frozenset(
    {
        "reply_to_email",
        "from_email",
        "recipient_email",
        "loose_email",
        "from_phone",
        "recipient_phone",
        "text_phone",
    }
)


@dataclass
class Candidate:
    lead: LeadRef
    reasons: set[str] = field(default_factory=set)
    touched_before: bool = False  # we wrote to this lead before the message was sent
    strength: float = 0.0  # the score before its cap at 1, for ranking and the margin

    @property
    def score(self) -> float:
        return min(1.0, self.strength)

    @property
    def lead_id(self) -> int:
        return self.lead.lead_id


@dataclass(frozen=True)
class Decision:
    status: str
    lead_id: int | None
    score: float
    reasons: list[dict[str, object]]  # the ranked candidates: lead, score, reasons
    lead: LeadRef | None = None  # the chosen lead (matched or for review)


def decide(
    candidates: Iterable[Candidate], sent_at: datetime, policy: MatchPolicy, ours: bool = False
) -> Decision:
    """The best candidate decides the status; a rival person within the margin sends it to review,
    unless the message names the best one's car and not the rival's.
    Among one person's leads: the one the thread names, else the one written to its associate or store,
    else the one whose car it names, else the latest touched before the message (`chosen_by` says which).
    Our own message (`ours`) never waits for review over a rival: it follows up the latest lead."""
    scored = [c for c in candidates if _scored(c, policy) > 0]
    if not scored:
        return Decision(MatchStatus.UNMATCHED, None, 0.0, [])
    if len(scored) == 1:  # what _ranked gives for one, in half the time: no rival, no family
        return _alone(scored[0], policy)
    return _ranked(scored, sent_at, policy, ours)


def _ranked(scored: list[Candidate], sent_at: datetime, policy: MatchPolicy, ours: bool) -> Decision:
    """Two or more scoring candidates."""
    ranked = sorted(scored, key=lambda c: (c.strength, *_recency(c, sent_at)), reverse=True)
    top = ranked[0]
    if top.score < policy.review:
        return Decision(MatchStatus.UNMATCHED, None, top.score, _explain(ranked))
    close = [c for c in ranked if c.strength >= top.strength - policy.margin - 1e-9]
    rivals = [c for c in close if not one_shopper(c, top)]
    if not ours and rivals and not _set_apart(top, rivals):
        return Decision(MatchStatus.REVIEW, top.lead_id, top.score, _explain(ranked), top.lead)
    family = [c for c in ranked if one_shopper(c, top)]  # outside the margin too: the evidence decides
    chosen, why = _answered(family, sent_at, ours)
    status = MatchStatus.MATCHED if top.score >= policy.auto else MatchStatus.REVIEW
    ordered = [chosen, *(c for c in ranked if c is not chosen)]
    explained = _explain(ordered)
    if len(family) > 1:
        explained[0]["chosen_by"] = why  # why this lead of the shopper's several
    return Decision(status, chosen.lead_id, chosen.score, explained, chosen.lead)


def _set_apart(top: Candidate, rivals: Sequence[Candidate]) -> bool:
    """Another person's lead is as likely by name, but the message names the top lead's car (a model or
    stock number) and no rival's: what a reviewer would decide on. The associate or store written to is
    not enough between two people: a stranger bearing a lead's name writes to the same associates
    (on bench/match_eval.py it cost six wrong links for six right ones)."""
    return "vehicle" in top.reasons and all("vehicle" not in r.reasons for r in rivals)


def _alone(top: Candidate, policy: MatchPolicy) -> Decision:
    """The one scoring candidate."""
    if top.score < policy.review:
        return Decision(MatchStatus.UNMATCHED, None, top.score, _explain([top]))
    status = MatchStatus.MATCHED if top.score >= policy.auto else MatchStatus.REVIEW
    return Decision(status, top.lead_id, top.score, _explain([top]), top.lead)


def one_shopper(a: Candidate, b: Candidate) -> bool:
    """Two candidates are one shopper's leads when the same address or number names both and their names
    agree; two people of one name, found by name alone, are two people."""
    return a.lead_id == b.lead_id or (bool(a.reasons & b.reasons & IDENTITY) and same_person(a.lead, b.lead))


def same_person(a: LeadRef, b: LeadRef) -> bool:
    """Two leads of one shopper (a repeat visit, two providers) rather than two people: names agree,
    or one of them has none."""
    if a.lead_id == b.lead_id:
        return True
    names_a = lead_names(a.first_name, a.last_name, a.full_name)
    names_b = lead_names(b.first_name, b.last_name, b.full_name)
    if not names_a or not names_b or not names_a[0].first or not names_b[0].first:
        return True
    return name_reason(names_a, names_b) in _SAME_PERSON


def _scored(c: Candidate, policy: MatchPolicy) -> float:
    c.strength = policy.strength(c.reasons)
    return c.strength


# What tells one shopper's open leads apart, strongest first, after the thread: the associate or store the
# reply was written to, the car it names, then the latest lead we wrote to (the latest received, for ours).
FAMILY_EVIDENCE = ("associate", "store", "vehicle")


def _answered(family: Sequence[Candidate], sent_at: datetime, ours: bool) -> tuple[Candidate, str]:
    """The lead a reply answers, and what chose it: named by the thread, else the one its evidence names
    (FAMILY_EVIDENCE, in order), else the latest touched before it, else the latest received before it.
    Our own message follows up the latest lead received before it."""
    threaded = [c for c in family if "thread" in c.reasons]
    if threaded:
        return max(threaded, key=lambda c: c.strength), "thread"
    if ours:
        return max(family, key=lambda c: _recency(c, sent_at)), "latest"
    ranked = sorted(family, key=lambda c: _evidence(c, sent_at), reverse=True)
    chosen = ranked[0]
    return chosen, _why(chosen, ranked[1:], sent_at)


def _why(chosen: Candidate, others: Sequence[Candidate], sent_at: datetime) -> str:
    """The first piece of evidence that sets the chosen lead above another of the shopper's leads."""
    mine = _evidence(chosen, sent_at)
    for tier, name in enumerate((*FAMILY_EVIDENCE, "touched")):
        if any(_evidence(c, sent_at)[tier] != mine[tier] for c in others):
            return name
    return "latest"


def _evidence(c: Candidate, sent_at: datetime) -> tuple[Any, ...]:
    return (*(r in c.reasons for r in FAMILY_EVIDENCE), c.touched_before, *_recency(c, sent_at))


def _recency(c: Candidate, sent_at: datetime) -> tuple[int, float]:
    received_before = c.lead.received_at <= sent_at
    return int(received_before), c.lead.received_at.timestamp() * (1 if received_before else -1)


def _explain(ranked: Sequence[Candidate]) -> list[dict[str, object]]:
    return [{"lead_id": c.lead_id, "score": c.score, "reasons": sorted(c.reasons)} for c in ranked]
