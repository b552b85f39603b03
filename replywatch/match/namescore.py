"""How well a name found in a message fits a lead's name: one named reason, or none."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

from rapidfuzz.distance import OSA, JaroWinkler

from replywatch.match.names import (
    PersonName,
    canonical_names,
    lead_keys,
    parse_name,
    related_names,
    words,
)

CLOSE = 0.9  # Jaro-Winkler of given names: "Jon"/"John" 0.93, "Steven"/"Stephen" 0.89 stays out


@lru_cache(maxsize=65536)
def lead_names(first: str | None, last: str | None, full: str | None) -> tuple[PersonName, ...]:
    """A lead's name in the form messages are compared with."""
    given = words(first or "")[:1]
    surnames = tuple(w for w in words(last or "") if len(w) > 1)
    if given or surnames:
        return (PersonName(given[0] if given else "", surnames, "lead"),)
    return tuple(parse_name(full, "lead")[:1])


def lead_blocking_keys(first: str | None, last: str | None, full: str | None) -> list[str]:
    """The keys a lead is stored under in lead_name_keys, sorted."""
    return sorted({key for name in lead_names(first, last, full) for key in lead_keys(name)})


def first_likeness(found: str, lead: str) -> tuple[float, str]:
    """(likeness, kind) of two folded given names: same, nickname, fuzzy, initial; (0, "") otherwise."""
    if not found or not lead:
        return 0.0, ""
    if found == lead:
        return 1.0, "same"
    if len(found) == 1 or len(lead) == 1:
        initial, full = (found, lead) if len(found) == 1 else (lead, found)
        return (0.6, "initial") if any(n[0] == initial for n in related_names(full)) else (0.0, "")
    if lead in related_names(found) or found in related_names(lead):
        return 0.95, "nickname"
    if canonical_names(found) & canonical_names(lead) - {found, lead}:
        return 0.95, "nickname"
    likeness = JaroWinkler.similarity(found, lead)
    return (likeness, "fuzzy") if likeness >= CLOSE else (0.0, "")


def surname_likeness(found: Sequence[str], lead: Sequence[str]) -> str:
    """ "same", "close" (one slip: Smyth/Smith, Jonhson/Johnson) or "" for the best pair of surname words;
    a double surname needs only one word in common. Stricter than for given names: Martin is not
    Martinez, Hernández is not Fernández."""
    best = ""
    for a in found:
        for b in lead:
            if a == b:
                return "same"
            slips = 2 if min(len(a), len(b)) >= 8 else 1
            if a[0] == b[0] and min(len(a), len(b)) >= 4 and OSA.distance(a, b) <= slips:
                best = "close"
    return best


def name_reasons(found: Iterable[PersonName], lead: Sequence[PersonName]) -> set[str]:
    """The strongest reason the written names give, and the strongest the address's local part gives:
    two sources that agree count for more than one."""
    best: dict[bool, str] = {}
    for name in found:
        for target in lead:
            reason = _reason(name, target)
            from_address = name.source == "address"
            if reason and (from_address not in best or _stronger(reason, best[from_address])):
                best[from_address] = reason
    return set(best.values())


def name_reason(found: Iterable[PersonName], lead: Sequence[PersonName]) -> str | None:
    """The single strongest reason, or None."""
    reasons = name_reasons(found, lead)
    return min(reasons, key=REASON_ORDER.index) if reasons else None


def _stronger(a: str, b: str) -> bool:
    return REASON_ORDER.index(a) < REASON_ORDER.index(b)


REASON_ORDER = (
    "name",
    "name_nickname",
    "name_fuzzy",
    "address_name",
    "name_initial",
    "address_initial",
    "first_name",
)


def _reason(name: PersonName, lead: PersonName) -> str | None:
    _, kind = first_likeness(name.first, lead.first)
    if not name.last:
        return "first_name" if kind in ("same", "nickname") and name.source != "address" else None
    surname = surname_likeness(name.last, lead.last)
    if not surname or not kind:
        return None
    if name.source == "address":
        if surname != "same":
            return None
        return "address_initial" if kind == "initial" else "address_name"
    if kind == "initial":
        return "name_initial" if surname == "same" else None
    if surname == "same" and kind in ("same", "nickname"):
        return "name" if kind == "same" else "name_nickname"
    return "name_fuzzy"
