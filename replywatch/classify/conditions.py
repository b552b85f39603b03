"""Rule conditions: what they read of a message, the registry of condition types by key, each type."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter

from replywatch.domain.vocabulary import Channel

BODY_LIMIT = 4096  # characters of body text that body_matches reads
_PHRASE_CHARS = 80  # reply_is compares only short replies: a keyword or a phrase, never a letter


@dataclass(slots=True)  # not frozen: building a frozen one costs twice as much, and one is built per message
class MessageView:
    """What conditions read of one message; classify.classify builds one per message. Conditions only
    read it."""

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
    reply: str = ""  # the new text of the message (quotes and signature removed), first BODY_LIMIT characters


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
    # The edges are what str.isalnum() refuses (regex `[\W_]`), walked over: a body has few of them, and
    # a regex for the trailing ones would try every position of the body.
    start, end = 0, len(text)
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return " ".join(text[start:end].split()).casefold()


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
    if value not in (Channel.EMAIL, Channel.SMS):
        raise InvalidRule(
            f"channel must be {Channel.EMAIL.value!r} or {Channel.SMS.value!r}, not {value!r}", "channel"
        )
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


_REGEX_ON_TEXT = {
    "subject_matches": "subject",
    "body_matches": "body",
    "sender_matches": "sender",
    "reply_matches": "reply",
}
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


def _words(key: str, value: object) -> frozenset[str]:
    if not isinstance(value, list) or not value or not all(isinstance(word, str) for word in value):
        raise InvalidRule(f"{key} must be a non-empty list of strings", key)
    return frozenset(sms_keyword(word) for word in value) - {""}


@condition_type("sms_body_is")
def _sms_body_is(value: object, _: dict[str, object]) -> Predicate:
    words = _words("sms_body_is", value)
    return lambda view: view.keyword in words


@condition_type("reply_is")
def _reply_is(value: object, _: dict[str, object]) -> Predicate:
    words = _words("reply_is", value)
    return lambda view: len(view.reply) <= _PHRASE_CHARS and sms_keyword(view.reply) in words


@dataclass(frozen=True)
class Condition:
    """One precompiled test of a rule, with the key and value it was written as."""

    key: str
    value: object
    test: Predicate


def build_conditions(name: str, keys: dict[str, object]) -> tuple[Condition, ...]:
    """The conditions of rule `name` from its keys; unknown keys and stray modifiers are refused."""
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
