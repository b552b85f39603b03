"""Rule files: load and validate rules/*.toml into an ordered RuleSet of precompiled conditions."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from replywatch.classify.conditions import (
    BODY_LIMIT,
    CONDITION_TYPES,
    Builder,
    Condition,
    ConditionType,
    InvalidRule,
    MessageView,
    Predicate,
    build_conditions,
    condition_type,
    sms_keyword,
)
from replywatch.domain.vocabulary import Channel, Kind
from replywatch.errors import RulesError
from replywatch.match.policy import MatchPolicy, check_policy, load_policy, matching_file
from replywatch.parse.providers import FormatError, NoticeFormat, notice_format

__all__ = [
    "BODY_LIMIT",
    "CONDITION_TYPES",
    "RULE_KINDS",
    "Builder",
    "Condition",
    "ConditionType",
    "InvalidRule",
    "MessageView",
    "NoticeFormat",
    "Predicate",
    "Rule",
    "RuleSet",
    "check_rules",
    "condition_type",
    "default_rules_dir",
    "load_rules",
    "sms_keyword",
]

RULE_KINDS = tuple(Kind)
_RULE_HEADER = re.compile(r"^\s*\[\[\s*rule\s*\]\]")
_TOML_LINE = re.compile(r"\(at line (\d+),")


@dataclass(frozen=True)
class Rule:
    """A named rule: when all its conditions hold, the message is of `kind`."""

    name: str
    kind: str
    file: str
    line: int
    conditions: tuple[Condition, ...]
    notice: NoticeFormat | None = None  # how to read a provider's plain-text lead notice ([rule.lead])


_Plan = tuple[tuple[Rule, tuple[Predicate, ...]], ...]  # per channel: its rules and their tests


class RuleSet:
    """Rules in order; the first whose conditions all hold decides. `policy` is the matching policy of
    the same folder (its 30-matching.toml), so that what classifies and what matches come from one place."""

    def __init__(self, rules: Sequence[Rule], policy: MatchPolicy) -> None:
        self.rules = tuple(rules)
        self.policy = policy
        self._notices = {rule.name: rule.notice for rule in self.rules if rule.notice is not None}
        # Per channel, drop rules bound to the other channel and their channel test: the hot path is shorter.
        self._plans: dict[str, _Plan] = {channel: self._plan(channel) for channel in Channel}

    def _plan(self, channel: str) -> _Plan:
        plan = []
        for rule in self.rules:
            channels = {c.value for c in rule.conditions if c.key == "channel"}
            if channels <= {channel}:
                plan.append((rule, tuple(c.test for c in rule.conditions if c.key != "channel")))
        return tuple(plan)

    def notice_format(self, rule_name: str) -> NoticeFormat | None:
        """The plain-text notice format of a lead rule; None for ADF rules and every other rule."""
        return self._notices.get(rule_name)

    def first_match(self, view: MessageView) -> Rule | None:
        for rule, tests in self._plans[view.channel]:
            for test in tests:  # a plain loop: all() over a generator nearly doubles the time here
                if not test(view):
                    break
            else:
                return rule
        return None


def default_rules_dir() -> Path:
    """The rules shipped with replywatch (replywatch/default_rules, package data)."""
    return Path(__file__).resolve().parents[1] / "default_rules"


def load_rules(directory: Path) -> RuleSet:
    """Every *.toml file of `directory` in file-name order; RulesError names the first problem."""
    rules, errors = _read_directory(directory)
    if errors:
        raise RulesError(errors[0])
    return RuleSet(rules, load_policy(directory))


def check_rules(directory: Path) -> list[str]:
    """Every problem of the rule files of `directory` as `file:line: reason`; empty when all is well."""
    return _read_directory(directory)[1]


def _read_directory(directory: Path) -> tuple[list[Rule], list[str]]:
    if not directory.is_dir():
        return [], [f"{directory}: not a directory"]
    paths = sorted(directory.glob("*.toml"), key=lambda path: path.name)
    if not paths:
        return [], [f"{directory}: no rule files (*.toml)"]
    rules: list[Rule] = []
    errors: list[str] = []
    first_of: dict[str, Rule] = {}
    for path in paths:
        file_rules, file_errors = _read_file(path)
        errors += file_errors
        for rule in file_rules:
            first = first_of.setdefault(rule.name, rule)
            if first is rule:
                rules.append(rule)
            else:
                where = f"{first.file}:{first.line}"
                errors.append(
                    f"{rule.file}:{rule.line}: duplicate rule name {rule.name!r} (first at {where})"
                )
    return rules, errors


def _read_file(path: Path) -> tuple[list[Rule], list[str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [f"{path}:1: cannot read: {exc}"]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return [], [_toml_error(path, exc)]
    if matching_file(data):  # rules/30-matching.toml: the matching policy, checked by its own module
        return [], check_policy(path, text)
    errors = [
        f"{path}:1: unknown top-level key {key!r} (expected [[rule]] tables)" for key in data if key != "rule"
    ]
    tables = data.get("rule", [])
    if not isinstance(tables, list):
        return [], [*errors, f"{path}:1: 'rule' must be written as [[rule]] tables"]
    lines = text.splitlines()
    # tomllib keeps no positions: the N-th [[rule]] header line is taken as rule N's line.
    starts = [number for number, line in enumerate(lines, 1) if _RULE_HEADER.match(line)]
    rules: list[Rule] = []
    for index, table in enumerate(tables):
        start = starts[index] if index < len(starts) else 1
        end = starts[index + 1] if index + 1 < len(starts) else len(lines) + 1
        try:
            rules.append(_build_rule(table, str(path), start))
        except InvalidRule as exc:
            errors.append(f"{path}:{_key_line(lines, start, end, exc.key)}: {exc}")
    return rules, errors


def _toml_error(path: Path, exc: tomllib.TOMLDecodeError) -> str:
    where = _TOML_LINE.search(str(exc))
    return f"{path}:{where.group(1) if where else 1}: {exc}"


def _key_line(lines: list[str], start: int, end: int, key: str | None) -> int:
    if key is not None:
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for number in range(start, min(end, len(lines) + 1)):
            if pattern.match(lines[number - 1]):
                return number
    return start


def _build_rule(table: object, file: str, line: int) -> Rule:
    if not isinstance(table, dict):
        raise InvalidRule("a rule must be a table")
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidRule("rule has no name (a non-empty string)", "name" if "name" in table else None)
    kind = table.get("kind")
    if kind is None:
        raise InvalidRule(f"rule {name!r} has no kind")
    if kind not in RULE_KINDS:
        raise InvalidRule(f"rule {name!r}: unknown kind {kind!r} (one of {', '.join(RULE_KINDS)})", "kind")
    conditions = build_conditions(name, {k: v for k, v in table.items() if k not in ("name", "kind", "lead")})
    if not conditions:
        raise InvalidRule(f"rule {name!r} has no condition")
    return Rule(name, kind, file, line, conditions, _notice(name, kind, table.get("lead")))


def _notice(name: str, kind: str, table: object) -> NoticeFormat | None:
    """The [rule.lead] table of a provider's plain-text lead rule."""
    if table is None:
        return None
    if kind != "lead" or not isinstance(table, dict):
        raise InvalidRule(f"rule {name!r}: a [rule.lead] table belongs to a rule of kind 'lead'", "kind")
    try:
        return notice_format(table)
    except FormatError as exc:
        raise InvalidRule(f"rule {name!r}: {exc}", exc.key) from exc
