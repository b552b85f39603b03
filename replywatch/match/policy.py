"""The matching policy from rules/30-matching.toml: thresholds, margin, and what each reason is worth."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from math import fsum
from pathlib import Path
from typing import Any

from replywatch.errors import RulesError

POLICY_FILE = "30-matching.toml"
# Every reason a candidate can have. Those with weight 0 only corroborate a candidate found otherwise.
REASONS = (
    "thread",
    "reply_to_email",
    "from_email",
    "recipient_email",
    "loose_email",
    "from_phone",
    "recipient_phone",
    "text_phone",
    "name",
    "name_nickname",
    "name_fuzzy",
    "name_initial",
    "address_name",
    "address_initial",
    "first_name",
    "intro",
    "last_texted",
    "recent_touch",
    "associate",
    "store",
    "vehicle",
    "review",
)
_THRESHOLDS = ("auto", "review", "margin")


@dataclass(frozen=True)
class MatchPolicy:
    """A candidate's score is the weight of its strongest reason plus the boosts of the others, at most 1;
    candidates are ranked and compared within the margin before that cap."""

    auto: float = 0.9
    review: float = 0.6
    margin: float = 0.05
    weights: dict[str, float] = field(default_factory=dict)
    boosts: dict[str, float] = field(default_factory=dict)
    # strength by the reasons as a set yields them (any order gives the same strength)
    _strengths: dict[tuple[str, ...], float] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def strength(self, reasons: set[str]) -> float:
        """The score before the cap at 1: two strong candidates still compare within the margin."""
        ordered = tuple(reasons)
        known = self._strengths.get(ordered)
        if known is None:
            known = self._strengths[ordered] = self._strength(ordered)
        return known

    def _strength(self, reasons: tuple[str, ...]) -> float:
        """Of reasons tied for the greatest weight, the one with the least boost is the strongest, so that
        the others' boosts count: the strength of a set never depends on the order it yields them in (a
        set's order of strings changes from run to run)."""
        if not reasons:
            return 0.0
        strongest = max(reasons, key=lambda r: (self.weights.get(r, 0.0), -self.boosts.get(r, 0.0)))
        base = self.weights.get(strongest, 0.0)
        if base <= 0.0:
            return 0.0  # corroboration alone names no lead
        return round(base + fsum(self.boosts.get(r, 0.0) for r in reasons if r != strongest), 4)

    def score(self, reasons: set[str]) -> float:
        return min(1.0, self.strength(reasons))


def matching_file(data: dict[str, Any]) -> bool:
    """A rules/*.toml document that holds the matching policy rather than classification rules."""
    return "matching" in data and "rule" not in data


def load_policy(directory: Path) -> MatchPolicy:
    """The policy of a rules folder; the shipped one when the folder has no 30-matching.toml."""
    path = directory / POLICY_FILE
    if not path.is_file():
        path = Path(__file__).resolve().parents[1] / "default_rules" / POLICY_FILE
    return _cached(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=8)
def _cached(path: Path, _mtime: int) -> MatchPolicy:
    text = path.read_text(encoding="utf-8")
    errors = check_policy(path, text)
    if errors:
        raise RulesError(errors[0])
    table = tomllib.loads(text)["matching"]
    values = {k: float(table[k]) for k in _THRESHOLDS if k in table}
    weights = {k: float(v) for k, v in table.get("weights", {}).items()}
    boosts = {k: float(v) for k, v in table.get("boosts", {}).items()}
    return MatchPolicy(**values, weights=weights, boosts=boosts)


def check_policy(path: Path, text: str) -> list[str]:
    """Every problem of a matching file as `file:line: reason`; empty when all is well."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return [f"{path}:1: {exc}"]
    lines = text.splitlines()
    table = data.get("matching")
    if not isinstance(table, dict):
        return [f"{path}:1: expected a [matching] table"]
    errors = [f"{path}:1: unknown top-level key {k!r} (expected [matching])" for k in data if k != "matching"]
    for key, value in table.items():
        if key in ("weights", "boosts"):
            errors += _check_reasons(path, lines, key, value)
        elif key not in _THRESHOLDS:
            errors.append(f"{path}:{_line(lines, key)}: unknown key {key!r} in [matching]")
        elif not _fraction(value):
            errors.append(f"{path}:{_line(lines, key)}: {key} must be a number from 0 to 1")
    if not errors and float(table.get("review", 0.6)) > float(table.get("auto", 0.9)):
        errors.append(f"{path}:{_line(lines, 'review')}: review must not be above auto")
    return errors


def _check_reasons(path: Path, lines: list[str], name: str, table: object) -> list[str]:
    if not isinstance(table, dict):
        return [f"{path}:{_line(lines, name)}: {name} must be a table of reason = number"]
    errors = []
    for reason, value in table.items():
        if reason not in REASONS:
            errors.append(f"{path}:{_line(lines, reason)}: unknown reason {reason!r} in {name}")
        elif not _fraction(value):
            errors.append(f"{path}:{_line(lines, reason)}: {name}.{reason} must be a number from 0 to 1")
    return errors


def _fraction(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= float(value) <= 1.0


def _line(lines: list[str], key: str) -> int:
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    return next((n for n, line in enumerate(lines, 1) if pattern.match(line)), 1)
