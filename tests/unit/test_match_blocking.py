"""Name blocking keys: a message finds the leads its name could be scored for, and few others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from replywatch.domain.lead import LeadRef
from replywatch.match.candidates import name_keys
from replywatch.match.names import (
    PersonName,
    exact_keys_to_find_leads,
    keys_to_find_leads,
    lead_keys,
    parse_name,
)
from replywatch.match.namescore import lead_blocking_keys, lead_names, name_reason, surname_likeness

SURNAME = st.text(alphabet="abeiklmnorst", min_size=2, max_size=9)
SLIP = st.tuples(
    st.sampled_from(("swap", "drop", "add", "change")), st.integers(1, 8), st.sampled_from("aeks")
)


def _slipped(word: str, slip: tuple[str, int, str]) -> str:
    kind, at, letter = slip
    at = min(at, len(word) - 1)
    if kind == "swap" and at + 1 < len(word):
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    if kind == "drop":
        return word[:at] + word[at + 1 :]
    if kind == "add":
        return word[:at] + letter + word[at:]
    return word[:at] + letter + word[at + 1 :]


@settings(max_examples=400)
@given(SURNAME, SLIP, st.sampled_from(("robert", "bob", "elizabeth", "liz", "maria", "kevin")))
def test_a_surname_one_slip_away_is_found_whenever_the_score_accepts_it(
    surname: str, slip: tuple[str, int, str], first: str
) -> None:
    # Given a lead and a message whose surname is one slip away (or the same)
    written = _slipped(surname, slip)
    lead = PersonName(first, (surname,), "lead")
    found = PersonName(first, (written,), "display")
    # When the name score would accept the pair
    if surname_likeness((written,), (surname,)):
        # Then the message's look-up keys reach the lead
        assert lead_keys(lead) & keys_to_find_leads(found)


def test_a_block_holds_one_name_not_one_sound() -> None:
    # Given leads whose surnames share a Soundex code (S530) but are not one slip apart
    stored = {last: set(lead_blocking_keys("Robert", last, None)) for last in ("Smith", "Schmidt", "Sandt")}
    looked_up = keys_to_find_leads(parse_name("Robert Smyth", "display")[0])
    # Then "Robert Smyth" reaches Smith only
    assert [last for last, keys in stored.items() if keys & looked_up] == ["Smith"]
    # And a different given name is another block
    assert not set(lead_blocking_keys("Richard", "Smith", None)) & looked_up


def test_an_initial_reaches_the_surname_as_written_with_any_name_it_may_stand_for() -> None:
    stored = set(lead_blocking_keys("Robert", "Jones", None))
    assert keys_to_find_leads(parse_name("B. Jones", "display")[0]) <= stored
    assert not keys_to_find_leads(parse_name("B. Jomes", "display")[0]) & stored
    assert (
        name_reason(parse_name("B. Jones", "display"), lead_names("Robert", "Jones", None)) == "name_initial"
    )


def test_keys_fit_the_column_whatever_the_name() -> None:
    keys = lead_blocking_keys("Maximilianopolous" * 2, "Wolfeschlegelsteinhausenbergerdorff", None)
    assert keys and max(map(len, keys)) <= 48


def _lead(lead_id: int, first: str, last: str, received: datetime) -> LeadRef:
    return LeadRef(lead_id, received, 1, first_name=first, last_name=last, full_name=f"{first} {last}")


def _index(*leads: LeadRef) -> dict[str, list[LeadRef]]:
    by_key: dict[str, list[LeadRef]] = {}
    for lead in leads:
        for key in lead_blocking_keys(lead.first_name, lead.last_name, None):
            by_key.setdefault(key, []).append(lead)
    return by_key


def test_spelling_slips_are_read_only_when_no_open_lead_bears_the_name_as_written() -> None:
    # Given a reply from "Bob Kasa" and the leads under the keys it could read
    at, window = datetime(2026, 11, 30, tzinfo=UTC), timedelta(days=90)
    name = parse_name("Bob Kasa", "display")[0]
    near = [_lead(2, "Robert", "Kesa", at - timedelta(days=3)), _lead(3, "Robert", "Kasat", at)]
    # When a Robert Kasa is open, only the name as written is read
    assert name_keys(_index(_lead(1, "Robert", "Kasa", at), *near), name, at, window) == (
        exact_keys_to_find_leads(name)
    )
    # And when none is (only near-namesakes, or a Robert Kasa closed long ago), the slips are read too
    closed = _lead(1, "Robert", "Kasa", at - timedelta(days=200))
    for by_key in (_index(*near), _index(closed, *near)):
        keys = name_keys(by_key, name, at, window)
        assert keys == keys_to_find_leads(name)
        assert {lead.lead_id for k in keys for lead in by_key.get(k, ())} >= {2, 3}
