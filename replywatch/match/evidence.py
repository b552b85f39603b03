"""What a message tells about who wrote it, beyond its addresses: names, numbers, the car, whom it reached.

Pure: the same for a message being stored and for one read back to be matched again. The new text is
cut at the first quoted-history line; a reply-text parser can replace `new_text` without other change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from itertools import pairwise
from typing import Protocol

from replywatch.domain.normalize import loose_email, normalize_phone
from replywatch.domain.vocabulary import Direction
from replywatch.match.names import PersonName, address_names, fold, message_keys, parse_name
from replywatch.match.types import MatchQuery
from replywatch.parse.adf import STOCK_MARK


def _words(text: str) -> list[str]:
    return text.split()


_QUOTE_START = re.compile(
    r"^\s*(>|on .+wrote:|el .+escribi[oó]:|le .+a [ée]crit|am .+schrieb|-{2,}\s*original message"
    r"|-{2,}\s*mensaje original|from:\s|de:\s|sent from my |enviado desde mi |_{5,})",
    re.IGNORECASE,
)
_INTRO = re.compile(
    r"\b(?:this is|it'?s|it is|my name is|i am|i'm|im|soy|me llamo|habla|le escribe)\s+"
    r"([^\W\d_][\w'’]*(?:[ -][^\W\d_][\w'’]*){0,3})",
    re.IGNORECASE,
)
# What every _INTRO match holds, in lower case ("i[tm' ]" for it's, its, it is, im, i'm, i am). Only for an
# ASCII text: IGNORECASE also matches some non-ASCII letters to ASCII ones ("ı", "İ", "ſ", the Kelvin sign).
_INTRO_HINT = re.compile(r"i[tm' ]|this is|my name is|soy|me llamo|habla|le escribe")
_HERE = re.compile(r"\b([A-Z][^\W\d_]+(?: [A-Z][^\W\d_]+){0,2}) here\b")
_SIGN_OFF = re.compile(
    r"^\s*(thanks|thank you|thx|best|best regards|regards|cheers|sincerely|respectfully|gracias|saludos"
    r"|atentamente|un saludo|muchas gracias)[\s,.!]*$",
    re.IGNORECASE,
)
_NOT_A_NAME = frozenset(
    _words(
        "a an the and but or so with from for at about to in on interested still here again back good "
        "great fine ok okay sure yes no not just also very really thanks thank you looking ready "
        "available coming going sorry texting writing asking calling me my your our his her their"
    )
)
_GREETING = re.compile(
    r"^\s*(?:hi|hello|hey|hola|dear|good (?:morning|afternoon|evening))[ ,]+([^\W\d_]{2,})\b", re.I
)
_GREETINGS = frozenset({"hi", "hello", "hey", "hola", "buenas", "dear"})
_PHONE_TEXT = re.compile(r"(?<!\d)(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?!\d)")
# What every _PHONE_TEXT match holds (two runs of 3 digits apart by at most ")" and a separator): a text
# without it names no number, and the slower scan is skipped.
_PHONE_HINT = re.compile(r"\d{3}[\s.)-]{0,2}\d{3}")
_VEHICLE_WORD = re.compile(r"[a-z0-9]+")
_VEHICLE_STOP = frozenset(
    _words(
        "new used certified the and for honda toyota ford chevrolet chevy nissan hyundai kia subaru "
        "mazda bmw mercedes benz audi volkswagen jeep ram dodge chrysler gmc buick cadillac lexus "
        "acura infiniti lincoln volvo tesla mitsubishi sport touring limited base premium"
    )
)


class Who(Protocol):
    """Who is ours: the directory as matching needs it."""

    @property
    def associate_store(self) -> Mapping[int, int]: ...

    def associates_of(self, kind: str, value: str | None) -> list[int]: ...

    def region(self, store_id: int | None) -> str: ...


@dataclass(frozen=True)
class MessageFacts:
    """The stored columns of a message that matching reads."""

    direction: str
    channel: str
    sent_at: datetime
    sender_name: str | None
    subject: str | None
    text: str | None
    store_id: int | None = None


def build_query(facts: MessageFacts, keys: Mapping[str, Sequence[str]], who: Who) -> MatchQuery:
    """The message's query: its keys with the derived ones (loose, text_phone, name) and its evidence."""
    inbound = facts.direction == Direction.INBOUND
    roles = ("to", "cc") if inbound else ("from",)
    written: list[str] = []  # ours, in the order of the keys
    found: list[int] = []
    for role in roles:
        for v in keys.get(role, ()):
            of = who.associates_of(_kind(v), v)
            if of:
                written.append(v)
                found += of
    ours = tuple(written)
    associates = frozenset(found)
    stores = frozenset(who.associate_store[a] for a in associates if a in who.associate_store)
    new = new_text(facts.text or "")
    names = _names(facts, keys, new) if inbound else greeting_names(new)
    region = who.region(facts.store_id or next(iter(stores), None))
    derived = (
        ("loose", _loose(keys, ("from", "reply_to") if inbound else ("to", "cc"))),
        ("text_phone", _text_phones(new, region, keys, who) if inbound else []),
        ("name", sorted({k for n in names if n.last for k in _message_keys(n)}) if names else []),
    )
    merged = {role: list(values) for role, values in keys.items()}
    for role, values in derived:
        if values or role in merged:  # a role neither has would be dropped below anyway
            merged[role] = sorted(set(merged.get(role, ())) | set(values))
    about = f"{facts.subject or ''} {facts.text or ''}" if inbound else ""
    return MatchQuery(
        facts.direction,
        facts.sent_at,
        {role: values for role, values in merged.items() if values},
        facts.channel,
        tuple(names),
        about,
        associates,
        stores,
        ours,
    )


def new_text(text: str) -> str:
    """The text above the first quoted-history line (a stand-in until reply text is parsed upstream)."""
    kept = []
    for line in text.splitlines():
        if _QUOTE_START.match(line):
            break
        kept.append(line)
    return "\n".join(kept)


def text_names(text: str) -> list[PersonName]:
    """Names a customer gives in the text: "this is Rob Jones", "soy María", "Rob here", a signature."""
    found = [_intro_name(m.group(1), "text") for m in _INTRO.finditer(text)] if _may_introduce(text) else []
    if " here" in text:  # what every _HERE match holds; the scan costs more than the test
        found += [_intro_name(m.group(1), "text") for m in _HERE.finditer(text)]
    found += [_intro_name(line, "signature") for line in signature_lines(text)]
    return [n for n in found if n is not None]


def _may_introduce(text: str) -> bool:
    """False only when no _INTRO match is possible: an ASCII text without any of its words. A case-blind
    scan for the words alone would cost as much as the scan itself."""
    return not text.isascii() or _INTRO_HINT.search(text.lower()) is not None


def greeting_names(text: str) -> list[PersonName]:
    """Whom our own message greets ("Hi José,"): which of a household's leads we are writing to."""
    found = _GREETING.match(text)
    return [_greeted(fold(found.group(1)))] if found else []


@lru_cache(maxsize=4096)
def _greeted(first: str) -> PersonName:
    """One PersonName per greeted name: caches keyed by names then find it by identity, not field by field."""
    return PersonName(first, (), "greeting")


def signature_lines(text: str) -> list[str]:
    """The line after a sign-off ("Thanks,", "Saludos,"): where people put their name."""
    lines = text.splitlines()
    if len(lines) < 2:  # no line after any
        return []
    lines = [line.strip() for line in lines]
    return [nxt for line, nxt in pairwise(lines) if _SIGN_OFF.match(line) and nxt]


def vehicle_words(text: str) -> frozenset[str]:
    """Folded words, hyphens dropped inside them ("CR-V" → "crv"), for comparing with a lead's car."""
    return frozenset(_VEHICLE_WORD.findall(fold(text).replace("-", "")))


def vehicle_named(lead_vehicle: str | None, message_words: frozenset[str]) -> bool:
    """The message names the lead's car: a model or trim word beyond make and year, or its stock number
    (digits too, from four on: "(stock 48213)" in the lead's vehicle, as ADF's <stock> gives it)."""
    if not lead_vehicle or not message_words:
        return False
    return not _vehicle_marks(lead_vehicle).isdisjoint(message_words)


@lru_cache(maxsize=65536)
def _vehicle_marks(lead_vehicle: str) -> frozenset[str]:
    """The words of a lead's vehicle that name it (vehicle_named), remembered: a lead meets many messages."""
    car, _, stock = lead_vehicle.partition(STOCK_MARK)
    wanted = {w for w in vehicle_words(car) if len(w) > 2 and not w.isdigit()} - _VEHICLE_STOP
    return frozenset(wanted | {w for w in vehicle_words(stock.rstrip(")")) if len(w) >= 4})


def _names(facts: MessageFacts, keys: Mapping[str, Sequence[str]], new: str) -> list[PersonName]:
    found = parse_name(facts.sender_name, "display") + text_names(new)
    for address in (*keys.get("reply_to", ()), *keys.get("from", ())):
        found += address_names(address)
    return list(dict.fromkeys(found))


def _intro_name(text: str, source: str) -> PersonName | None:
    tokens = text.replace("-", " ").split()
    while tokens and fold(tokens[0]) in _GREETINGS:
        tokens.pop(0)
    kept: list[str] = []
    for token in tokens:
        if fold(token) in _NOT_A_NAME:
            break
        kept.append(token)
    if not kept or len(kept) > 3:
        return None
    readings = parse_name(" ".join(kept), source)
    return readings[0] if readings else None


def _loose(keys: Mapping[str, Sequence[str]], roles: Iterable[str]) -> list[str]:
    return sorted(
        {lv for role in roles for v in keys.get(role, ()) if "@" in v and (lv := loose_email(v)) != v}
    )


def _text_phones(text: str, region: str, keys: Mapping[str, Sequence[str]], who: Who) -> list[str]:
    if not _PHONE_HINT.search(text):
        return []
    own = set(keys.get("from", ()))
    found = {normalize_phone(m.group(0), region) for m in _PHONE_TEXT.finditer(text)}
    return sorted(p for p in found if p and p not in own and not who.associates_of("phone", p))


@lru_cache(maxsize=65536)
def _message_keys(name: PersonName) -> frozenset[str]:
    """message_keys, remembered: a poll meets the same names again and again."""
    return frozenset(message_keys(name))


def _kind(value: str) -> str:
    return "phone" if value.startswith("+") else "email"
