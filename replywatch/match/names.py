"""People's names as messages and leads write them: folding, parsing, nicknames and blocking keys."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from nicknames import NickNamer, name_triplets

_TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr", "sir", "sr", "sra", "srta", "don", "dona", "prof"})
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "phd", "md", "esq"})
# Joining words of Spanish, Portuguese, Dutch and German surnames ("García de la Cruz").
_PARTICLES = frozenset(
    {
        "de",
        "del",
        "la",
        "las",
        "los",
        "y",
        "e",
        "da",
        "das",
        "do",
        "dos",
        "van",
        "von",
        "der",
        "den",
        "di",
        "du",
        "le",
        "st",
    }
)
# The nicknames package is English; Spanish-speaking customers sign with these.
_SPANISH_NICKNAMES = {
    "jose": ("pepe", "chepe"),
    "francisco": ("paco", "pancho", "curro"),
    "guadalupe": ("lupe", "lupita"),
    "jesus": ("chuy", "chucho"),
    "ignacio": ("nacho",),
    "eduardo": ("lalo",),
    "guillermo": ("memo",),
    "antonio": ("tono", "tonio"),
    "roberto": ("beto",),
    "alberto": ("beto",),
    "enrique": ("quique",),
    "rosario": ("charo",),
    "concepcion": ("concha", "conchita"),
    "dolores": ("lola",),
    "alejandro": ("alex", "ale"),
    "manuel": ("manolo", "manny"),
    "refugio": ("cuca",),
}
_WORD = re.compile(r"[a-z]+")
# Lead name keys stay within lead_name_keys.key (48): a longer name is cut, which only widens its block.
_KEY_SURNAME, _KEY_GIVEN = 24, 20
_SOUNDEX = {
    c: str(d) for d, group in enumerate(("", "bfpv", "cgjkqsxz", "dt", "l", "mn", "r")) for c in group
}


@dataclass(frozen=True)
class PersonName:
    """A name found somewhere, folded: given name (one letter for an initial, "" when unknown) and
    surname words. `source` says where it was found: display, text, signature, address or lead."""

    first: str
    last: tuple[str, ...]
    source: str


_APOSTROPHES = re.compile(r"['’`´]")


def fold(text: str) -> str:
    """`"José  O’Brien-Núñez"` → `"jose obrien-nunez"`: accents and case folded, apostrophes dropped."""
    if text.isascii():  # nothing to decompose, no combining marks: the same result, without the walk
        return _APOSTROPHES.sub("", text.casefold())
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return _APOSTROPHES.sub("", bare)


def words(text: str) -> list[str]:
    """Folded words; a hyphenated name gives each of its parts."""
    return _WORD.findall(fold(text))


@lru_cache(maxsize=1)
def _namer() -> tuple[NickNamer, frozenset[str]]:
    namer = NickNamer()
    known = {t.name1 for t in name_triplets()} | {t.name2 for t in name_triplets()}
    return namer, frozenset(
        known | set(_SPANISH_NICKNAMES) | {n for v in _SPANISH_NICKNAMES.values() for n in v}
    )


def known_first_name(word: str) -> bool:
    return word in _namer()[1]


@lru_cache(maxsize=65536)
def canonical_names(first: str) -> frozenset[str]:
    """The name itself and the formal names it is short for (bob → robert; pepe → jose)."""
    namer = _namer()[0]
    spanish = {formal for formal, nicks in _SPANISH_NICKNAMES.items() if first in nicks}
    return frozenset({first} | namer.canonicals_of(first) | spanish)


@lru_cache(maxsize=65536)
def related_names(first: str) -> frozenset[str]:
    """Every name that may stand for the same person: formal names and all their nicknames."""
    namer = _namer()[0]
    found = set(canonical_names(first))
    for formal in list(found):
        found |= namer.nicknames_of(formal) | set(_SPANISH_NICKNAMES.get(formal, ()))
    return frozenset(found)


def parse_name(text: str | None, source: str) -> list[PersonName]:
    """Readings of a written name: "Jones, Robert", "Robert A. Jones", "María García López"; a bare
    "JONES ROBERT" is read both ways unless only the first word is a given name. Empty for an address
    shown as a name."""
    if not text or "@" in text:
        return []
    if "," in text:
        last_part, first_part = text.split(",", 1)
        given, surnames = _clean(words(first_part)), _surnames(words(last_part))
        return [PersonName(given[0], tuple(surnames), source)] if given and surnames else []
    tokens = _clean(words(text))
    if not tokens:
        return []
    readings = [PersonName(tokens[0], tuple(_surnames(tokens[1:])), source)]
    swapped = len(tokens) == 2 and len(tokens[1]) > 1
    if swapped and (known_first_name(tokens[1]) or not known_first_name(tokens[0])):
        readings.append(PersonName(tokens[1], (tokens[0],), source))
    return readings


def _clean(tokens: list[str]) -> list[str]:
    return [t for t in tokens if t not in _TITLES and t not in _SUFFIXES]


def _surnames(tokens: list[str]) -> list[str]:
    return [t for t in tokens if len(t) > 1 and t not in _PARTICLES]


def address_names(address: str | None) -> list[PersonName]:
    """Readings of an email local part: robert.jones, jones_r, rjones77, bobjones."""
    if not address or "@" not in address:
        return []
    parts = words(address.split("@", 1)[0].split("+", 1)[0])
    if len(parts) >= 2:
        first, last = parts[0], parts[-1]
        readings = [PersonName(first, (last,), "address")] if len(last) > 1 else []
        return readings + ([PersonName(last, (first,), "address")] if len(first) > 1 else [])
    if len(parts) != 1 or len(parts[0]) < 4:
        return []
    word = parts[0]
    readings = [PersonName(word[0], (word[1:],), "address"), PersonName(word[-1], (word[:-1],), "address")]
    for cut in range(2, len(word) - 1):
        if known_first_name(word[:cut]):
            readings.append(PersonName(word[:cut], (word[cut:],), "address"))
        if known_first_name(word[cut:]):
            readings.append(PersonName(word[cut:], (word[:cut],), "address"))
    return readings


@lru_cache(maxsize=65536)
def soundex(word: str) -> str:
    """American Soundex: spelling slips in a surname (Smyth, Jonhson) keep the same code."""
    codes = _SOUNDEX
    head, tail, last = word[0], [], codes.get(word[0], "")
    for ch in word[1:]:
        code = codes.get(ch, "")
        if code and code != last:
            tail.append(code)
        if ch not in "hw":
            last = code
    return (head + "".join(tail) + "000")[:4]


@lru_cache(maxsize=65536)
def slips(word: str) -> frozenset[str]:
    """The word and its spellings with one letter left out, the first letter kept: two surnames one slip
    apart (Smyth/Smith, Jonhson/Johnson, Johnsen/Johnson) share one of them. Only words of four letters
    or more, as `surname_likeness` allows a slip only there."""
    if len(word) < 4:
        return frozenset({word})
    return frozenset({word} | {word[:i] + word[i + 1 :] for i in range(1, len(word))})


def _block(surname: str, given: str) -> str:
    return f"{surname[:_KEY_SURNAME]}:{given[:_KEY_GIVEN]}"


def _lead_blocks(
    name: PersonName, spellings: Callable[[str], Iterable[str]], given: Iterable[str]
) -> set[str]:
    """Keys "<surname spelling>:<given name or initial>" for each surname word."""
    given = [g for g in given if g]
    return {_block(s, g) for last in name.last if len(last) > 1 for s in spellings(last) for g in given}


def _exact(word: str) -> tuple[str]:
    return (word,)


def _initial(name: PersonName) -> bool:
    return len(name.first) == 1


def lead_keys(name: PersonName) -> set[str]:
    """What a lead is stored under in lead_name_keys: each formal form of its given name with its surname
    and the surname's one-slip spellings, and the initials of every name it may go by with the surname as
    written (an address like bjones@ names Robert Jones by the initial of Bob). A key names one given
    name and one surname, near enough: a block holds the namesakes of one person, not a share of every
    open lead as a sound code of the surname alone would."""
    if not name.first:
        return set()
    if _initial(name):
        return _lead_blocks(name, _exact, [name.first])
    initials = {n[0] for n in related_names(name.first)}
    return _lead_blocks(name, slips, canonical_names(name.first)) | _lead_blocks(name, _exact, initials)


@lru_cache(maxsize=65536)
def keys_to_find_leads(name: PersonName) -> frozenset[str]:
    """The lead keys a name in a message looks up: its formal forms (Bob and Robert meet at "robert")
    with its surname's one-slip spellings, or an initial with the surname as written (name_initial
    wants the same surname)."""
    if not name.first:
        return frozenset()
    if _initial(name):
        return frozenset(_lead_blocks(name, _exact, [name.first]))
    return frozenset(_lead_blocks(name, slips, canonical_names(name.first)))


@lru_cache(maxsize=65536)
def exact_keys_to_find_leads(name: PersonName) -> frozenset[str]:
    """The part of `keys_to_find_leads` that reads the surname as written."""
    if not name.first:
        return frozenset()
    given = [name.first] if _initial(name) else canonical_names(name.first)
    return frozenset(_lead_blocks(name, _exact, given))


def _sound_keys(name: PersonName, given: Iterable[str]) -> set[str]:
    """Keys "<soundex of a surname word>:<given name or initial>" of messages (message_keys, role name)."""
    return {f"{soundex(last)}:{g}" for last in name.last if len(last) > 1 for g in given if g}


def message_keys(name: PersonName) -> set[str]:
    """What a message naming someone is stored under: the given name's formal forms, or its initial. A
    new lead looks for the messages of its window by these; that block grows with the messages since the
    lead arrived, not with the leads open."""
    if not name.first:
        return set()
    return _sound_keys(name, [name.first] if _initial(name) else canonical_names(name.first))


def keys_to_find_messages(name: PersonName) -> set[str]:
    """The message keys a new lead looks up: its formal forms, and the initials it may go by."""
    if not name.first:
        return set()
    formal = canonical_names(name.first)
    return _sound_keys(name, formal) | _sound_keys(name, {n[0] for n in related_names(name.first)})
