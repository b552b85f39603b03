"""Rule files: load and validate rules/*.toml into an ordered RuleSet of precompiled conditions."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path

from replywatch.errors import RulesError
from replywatch.parse.types import CHANNEL_EMAIL, CHANNEL_SMS, KINDS

RULE_KINDS = (*KINDS, "opt_in")
BODY_LIMIT = 4096  # characters of body text that body_matches reads
_RULE_HEADER = re.compile(r"^\s*\[\[\s*rule\s*\]\]")
_TOML_LINE = re.compile(r"\(at line (\d+),")
_KEYWORD_EDGES = re.compile(r"^[\W_]+|[\W_]+$")


@dataclass(frozen=True, slots=True)
class MessageView:
    """What conditions read of one message; replywatch.classify builds one per message."""

    channel: str
    subject: str = ""
    sender: str = ""  # the address or phone number as written
    body: str = ""  # the first BODY_LIMIT characters of the text
    content_type: str = ""  # MIME type only, lower-case
    report_type: str = ""  # multipart/report's report-type, lower-case
    headers: Mapping[str, Sequence[str]] = field(default_factory=dict)  # lower-case names
    attachment_types: tuple[str, ...] = ()
    attachment_texts: tuple[str, ...] = ()  # the start of the attachments kept with a payload (XML)
    keyword: str = ""  # sms_keyword(body) for SMS, else empty


Predicate = Callable[[MessageView], bool]
Builder = Callable[[object, dict[str, object]], Predicate]


@dataclass(frozen=True)
class ConditionType:
    """How to build one kind of condition from its rule key, and the keys that modify it."""

    build: Builder
    modifiers: tuple[str, ...] = ()


CONDITION_TYPES: dict[str, ConditionType] = {}


class InvalidRule(ValueError):
    """A rule is wrong; `key` points at the offending line when known."""

    def __init__(self, reason: str, key: str | None = None) -> None:
        super().__init__(reason)
        self.key = key


def condition_type(key: str, *modifiers: str) -> Callable[[Builder], Builder]:
    """Register a condition builder under the rule key that names it."""

    def register(build: Builder) -> Builder:
        CONDITION_TYPES[key] = ConditionType(build, modifiers)
        return build

    return register


def sms_keyword(text: str) -> str:
    """An SMS body as a keyword: case-folded, inner spaces collapsed, edge punctuation dropped."""
    return " ".join(_KEYWORD_EDGES.sub("", text).split()).casefold()


def _regex(key: str, value: object) -> re.Pattern[str]:
    if not isinstance(value, str):
        raise InvalidRule(f"{key} must be a string (a regex)", key)
    try:
        return re.compile(value, re.IGNORECASE)
    except re.error as exc:
        raise InvalidRule(f"bad regex in {key}: {exc}", key) from exc


def _text(key: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRule(f"{key} must be a non-empty string", key)
    return value.strip().lower()


@condition_type("channel")
def _channel(value: object, _: dict[str, object]) -> Predicate:
    if value not in (CHANNEL_EMAIL, CHANNEL_SMS):
        raise InvalidRule(f"channel must be {CHANNEL_EMAIL!r} or {CHANNEL_SMS!r}, not {value!r}", "channel")
    return lambda view: view.channel == value


@condition_type("header", "matches", "not_matches", "present")
def _header(value: object, modifiers: dict[str, object]) -> Predicate:
    name = _text("header", value)
    if len(modifiers) != 1:
        raise InvalidRule("header needs exactly one of matches, not_matches, present", "header")
    ((how, arg),) = modifiers.items()
    if how == "present":
        if not isinstance(arg, bool):
            raise InvalidRule("present must be true or false", "present")
        return lambda view: bool(view.headers.get(name)) is arg
    pattern = _regex(how, arg)
    if how == "matches":
        return lambda view: any(pattern.search(v) for v in view.headers.get(name, ()))
    # not_matches: present with a value that does not match, e.g. Auto-Submitted other than "no"
    return lambda view: any(not pattern.search(v) for v in view.headers.get(name, ()))


_REGEX_ON_TEXT = {"subject_matches": "subject", "body_matches": "body", "sender_matches": "sender"}
_REGEX_ON_ANY = {"attachment_type_matches": "attachment_types", "attachment_matches": "attachment_texts"}
_EQUALS = {"content_type": "content_type", "report_type": "report_type"}


def _simple(key: str, attribute: str) -> Builder:
    """A builder for a condition that reads one view attribute: a regex search, or equality."""
    read = attrgetter(attribute)

    def build(value: object, _: dict[str, object]) -> Predicate:
        if key in _EQUALS:
            wanted = _text(key, value)
            return lambda view: read(view) == wanted
        pattern = _regex(key, value)
        if key in _REGEX_ON_ANY:
            return lambda view: any(pattern.search(item) for item in read(view))
        return lambda view: pattern.search(read(view)) is not None

    return build


for _key, _attribute in {**_REGEX_ON_TEXT, **_REGEX_ON_ANY, **_EQUALS}.items():
    CONDITION_TYPES[_key] = ConditionType(_simple(_key, _attribute))


@condition_type("sms_body_is")
def _sms_body_is(value: object, _: dict[str, object]) -> Predicate:
    if not isinstance(value, list) or not value or not all(isinstance(word, str) for word in value):
        raise InvalidRule("sms_body_is must be a non-empty list of strings", "sms_body_is")
    words = frozenset(sms_keyword(word) for word in value) - {""}
    return lambda view: view.keyword in words


@dataclass(frozen=True)
class Condition:
    """One precompiled test of a rule, with the key and value it was written as."""

    key: str
    value: object
    test: Predicate


@dataclass(frozen=True)
class Rule:
    """A named rule: when all its conditions hold, the message is of `kind`."""

    name: str
    kind: str
    file: str
    line: int
    conditions: tuple[Condition, ...]


class RuleSet:
    """Rules in order; the first whose conditions all hold decides."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        # Per channel, drop rules bound to the other channel and their channel test: the hot path is shorter.
        self._plans = {channel: self._plan(channel) for channel in (CHANNEL_EMAIL, CHANNEL_SMS)}

    def _plan(self, channel: str) -> tuple[tuple[Rule, tuple[Predicate, ...]], ...]:
        plan = []
        for rule in self.rules:
            channels = {c.value for c in rule.conditions if c.key == "channel"}
            if channels <= {channel}:
                plan.append((rule, tuple(c.test for c in rule.conditions if c.key != "channel")))
        return tuple(plan)

    def first_match(self, view: MessageView) -> Rule | None:
        for rule, tests in self._plans[view.channel]:
            for test in tests:  # a plain loop: all() over a generator nearly doubles the time here
                if not test(view):
                    break
            else:
                return rule
        return None


def default_rules_dir() -> Path:
    """The rules shipped with replywatch (the repository's rules/ folder)."""
    return Path(__file__).resolve().parent / "default_rules"


def load_rules(directory: Path) -> RuleSet:
    """Every *.toml file of `directory` in file-name order; RulesError names the first problem."""
    rules, errors = _read_directory(directory)
    if errors:
        raise RulesError(errors[0])
    return RuleSet(rules)


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
    conditions = _build_conditions(name, {k: v for k, v in table.items() if k not in ("name", "kind")})
    if not conditions:
        raise InvalidRule(f"rule {name!r} has no condition")
    return Rule(name, kind, file, line, conditions)


def _build_conditions(name: str, keys: dict[str, object]) -> tuple[Condition, ...]:
    owner_of = {mod: key for key, ctype in CONDITION_TYPES.items() for mod in ctype.modifiers}
    for key in keys:
        if key not in CONDITION_TYPES and key not in owner_of:
            known = [*CONDITION_TYPES, *owner_of]
            hint = "".join(f", did you mean {near!r}?" for near in difflib.get_close_matches(key, known, 1))
            raise InvalidRule(f"rule {name!r}: unknown condition {key!r}{hint}", key)
        if key in owner_of and owner_of[key] not in keys:
            raise InvalidRule(f"rule {name!r}: {key} needs {owner_of[key]}", key)
    conditions = []
    for key, value in keys.items():
        ctype = CONDITION_TYPES.get(key)
        if ctype is not None:
            modifiers = {mod: keys[mod] for mod in ctype.modifiers if mod in keys}
            conditions.append(Condition(key, value, ctype.build(value, modifiers)))
    return tuple(conditions)
